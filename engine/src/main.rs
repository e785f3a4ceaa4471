//! The `billsync` binary: parse the command line, run it, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

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
