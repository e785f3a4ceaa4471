//! mock-atria integration tests, in one binary to keep link time down on a 2-core CI.

mod common;
mod controls;
mod handlers;
mod paging;
mod periods;
mod seed;
mod socket;
