//! The `billsync` binary: parse the command line, run it, map the outcome to an exit code.

#[cfg(feature = "demo")]
mod demo;

use std::process::ExitCode;

use billsync::eprint_line;

use clap::{Parser, Subcommand};

// Compile allocates millions of small strings for a big plan; mimalloc does that several times
// faster than the system allocator (see README, "Benchmarks").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "billsync", version, about = "Keep Autotask contract quantities equal to Atria billing")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
// Parsed once per process: the size of the unboxed command costs nothing.
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Start mock Autotask and Atria servers on the seed example, then fetch, plan, apply, plan again
    #[cfg(feature = "demo")]
    Demo,
    #[command(flatten)]
    Engine(billsync::cli::Command),
}

fn main() -> ExitCode {
    // mimalloc asks for transparent huge pages, and on a machine whose memory another process
    // just freed (a CI runner, the benchmark's jq) the kernel then compacts memory on the first
    // touch of each 2 MiB: a 1M-row plan spent more time there (2.3 s of system time) than in
    // compile. Ordinary pages are faulted in without it (0.6 s); a refusal changes nothing else.
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_thp_disable(true);
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // clap exits 2 on a usage error, but 2 is a result here ("the plan has changes" under
        // `--detailed-exitcode`, "differ" in `diff`): a usage error is an error, exit 1.
        // `--help` and `--version` also arrive here, and stay successes.
        Err(error) => {
            let _ = error.print();
            return if error.exit_code() == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE };
        }
    };
    let outcome = match cli.command {
        #[cfg(feature = "demo")]
        Command::Demo => demo::demo(),
        Command::Engine(command) => billsync::cli::run(billsync::cli::Cli { command }),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprint_line!("billsync: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
