//! The parse floor `cargo xtask bench` reports: both snapshot files read and parsed by the JSON
//! library billsync uses (serde_json, from a slice, as `plan` does) into `serde::de::IgnoredAny`,
//! side by side on two threads as `plan` loads them. Nothing is built, so no compile can be faster.

use std::process::ExitCode;

fn parse(path: &str) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|error| format!("{path}: {error}"))?;
    serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).map_err(|error| format!("{path}: {error}"))?;
    Ok(())
}

fn main() -> ExitCode {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    let results: Vec<Result<(), String>> = std::thread::scope(|scope| {
        let threads: Vec<_> = paths.iter().map(|path| scope.spawn(|| parse(path))).collect();
        threads.into_iter().map(|thread| thread.join().unwrap_or_else(|_| Err("panicked".into()))).collect()
    });
    let mut code = ExitCode::SUCCESS;
    for error in results.into_iter().filter_map(Result::err) {
        eprintln!("parse_floor: {error}");
        code = ExitCode::FAILURE;
    }
    code
}
