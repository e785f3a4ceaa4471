//! billsync: keeps Autotask recurring-service contract quantities equal to Atria billing.
//!
//! The pure core (`spec`, `snapshot`, `codes`, `compile`, `plan`, `render`) turns a job spec and
//! two snapshots into a plan without any I/O beyond reading the input files.

pub mod problems;
pub mod snapshot;
