//! billsync: keeps Autotask recurring-service contract quantities equal to Atria billing.
//!
//! The pure core (`spec`, `snapshot`, `codes`, `compile`, `plan`, `render`) turns a job spec and
//! two snapshots into a plan; `secrets`, `autotask`, `atria` and `fetch` are the online edge
//! (HTTP clients and snapshot fetching); `cli` is the command line over it.

/// `println!` that never panics: with stdout closed (`billsync apply … | head -3`) the line is
/// lost and the command goes on, where `println!` would panic and exit 101 halfway (an apply
/// then skipped its `--log` file and its notification).
#[macro_export]
macro_rules! print_line {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stdout(), $($arg)*);
    }};
}

/// `print!` that never panics (see [`print_line!`]).
#[macro_export]
macro_rules! print_text {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::write!(::std::io::stdout(), $($arg)*);
    }};
}

/// `eprintln!` that never panics: an error or warning to a closed stderr (`2>&1 | head`) is
/// lost, and the exit code stays the command's own.
#[macro_export]
macro_rules! eprint_line {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stderr(), $($arg)*);
    }};
}

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
