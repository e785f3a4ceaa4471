//! The `billsync` binary: parse the command line, run it, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

// Compile allocates millions of small strings for a big plan; mimalloc does that several times
// faster than the system allocator (see README, "Benchmarks").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = billsync::cli::Cli::parse();
    match billsync::cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("billsync: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
