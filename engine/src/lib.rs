//! billsync: keeps Autotask recurring-service contract quantities equal to Atria billing.
//!
//! The pure core (`spec`, `snapshot`, `codes`, `compile`, `plan`, `render`) turns a job spec and
//! two snapshots into a plan; `secrets`, `autotask`, `atria` and `fetch` are the online edge
//! (HTTP clients and snapshot fetching); `cli` is the command line over it.

pub mod apply;
pub mod approve;
pub mod atria;
pub mod autotask;
pub mod cli;
pub mod codes;
pub mod compile;
pub mod fetch;
pub mod files;
pub mod history;
mod http;
pub mod import;
pub mod notify;
pub mod online;
pub mod partial;
pub mod plan;
pub mod problems;
pub mod render;
pub mod revert;
pub mod schedule;
pub mod schemas;
pub mod secrets;
pub mod snapshot;
pub mod spec;
pub mod synth;
pub mod terminal;
