//! `cargo xtask bench`: times the release `billsync plan` on generated 100k- and 1M-row
//! snapshots, several runs each, and reports medians and peak memory against the targets.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use nix::sys::resource::{UsageWho, getrusage};

use crate::{flag, gen_into, workspace_root};

/// One benchmark size: the generator's shape and the time target.
struct Case {
    name: &'static str,
    customers: usize,
    rows_per_customer: usize,
    target: Duration,
}

const CASES: [Case; 2] = [
    Case { name: "100k", customers: 2_000, rows_per_customer: 50, target: Duration::from_millis(300) },
    Case { name: "1M", customers: 20_000, rows_per_customer: 50, target: Duration::from_secs(3) },
];

/// Peak memory target for every run.
const MEMORY_TARGET_KIB: i64 = 1536 * 1024;

const AS_OF: &str = "2026-11-24T22:00:00Z";

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let runs: usize = flag(args, "--runs").map_or(Ok(5), |text| text.parse()).context("--runs")?;
    if runs == 0 {
        bail!("--runs must be at least 1");
    }
    let root = workspace_root();
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--quiet", "--package", "billsync"])
        .current_dir(&root)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --release failed");
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let binary = target_dir.join("release/billsync");

    println!("billsync plan, release build, {runs} runs per row after one warm-up run; medians");
    println!(
        "machine: {} cores; stdout to /dev/null",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("| rows | command | median | min | max | target | peak RSS |");
    println!("|---|---|---|---|---|---|---|");
    let mut failures = Vec::new();
    for case in &CASES {
        let data = target_dir.join("bench-data").join(case.name);
        if !data.join("autotask.json").exists() {
            let config = billsync::synth::SynthConfig {
                customers: case.customers,
                rows_per_customer: case.rows_per_customer,
                seed: 1,
            };
            gen_into(config, &data)?;
        }
        let path = |file: &str| data.join(file).to_string_lossy().into_owned();
        let plan_args = vec![
            "plan".to_owned(),
            "--spec".to_owned(),
            path("job.yaml"),
            "--atria".to_owned(),
            path("atria.json"),
            "--autotask".to_owned(),
            path("autotask.json"),
            "--as-of".to_owned(),
            AS_OF.to_owned(),
        ];
        let mut with_out = plan_args.clone();
        with_out.extend(["--out".to_owned(), path("plan.json")]);
        for (label, arguments, has_target) in
            [("billsync plan", plan_args, true), ("billsync plan --out plan.json", with_out, false)]
        {
            let timing = time_runs(&binary, &arguments, runs)?;
            let target =
                if has_target { format!("< {:.1} s", case.target.as_secs_f64()) } else { "–".to_owned() };
            print_row(case.name, &format!("`{label}`"), &timing, &target);
            if has_target && timing.median >= case.target {
                failures.push(format!(
                    "{} rows: median {:.2?} is over {:.2?}",
                    case.name, timing.median, case.target
                ));
            }
            if timing.peak_kib >= MEMORY_TARGET_KIB {
                failures.push(format!(
                    "{} rows: peak RSS {} MiB is over 1.5 GiB",
                    case.name,
                    timing.peak_kib / 1024
                ));
            }
        }
        if which("jq") {
            let arguments =
                vec!["-c".to_owned(), "length".to_owned(), path("atria.json"), path("autotask.json")];
            let timing = time_runs(Path::new("jq"), &arguments, runs.min(3))?;
            print_row(case.name, "`jq -c length` (reading the two files)", &timing, "–");
        }
    }
    println!();
    if failures.is_empty() {
        println!("all targets met");
        Ok(())
    } else {
        bail!("targets missed:\n{}", failures.join("\n"))
    }
}

fn print_row(rows: &str, command: &str, timing: &Timing, target: &str) {
    println!(
        "| {rows} | {command} | {:.2} s | {:.2} s | {:.2} s | {target} | {} MiB |",
        timing.median.as_secs_f64(),
        timing.min.as_secs_f64(),
        timing.max.as_secs_f64(),
        timing.peak_kib / 1024
    );
}

struct Timing {
    median: Duration,
    min: Duration,
    max: Duration,
    /// The largest resident set of any run, in KiB.
    peak_kib: i64,
}

fn time_runs(program: &Path, arguments: &[String], runs: usize) -> anyhow::Result<Timing> {
    let mut times = Vec::with_capacity(runs);
    let mut peak_kib = 0;
    let xtask = std::env::current_exe().context("finding the xtask binary")?;
    for run in 0..=runs {
        // A fresh xtask process runs the program, so its children's peak memory is this run's alone.
        let output = Command::new(&xtask)
            .arg("measure-one")
            .arg(program)
            .args(arguments)
            .stderr(Stdio::inherit())
            .output()
            .context("starting a measurement")?;
        if !output.status.success() {
            bail!("{} {} failed", program.display(), arguments.join(" "));
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let mut fields = text.split_whitespace().map(str::parse::<i64>);
        let (Some(Ok(nanos)), Some(Ok(kib))) = (fields.next(), fields.next()) else {
            bail!("measure-one printed `{text}`");
        };
        peak_kib = peak_kib.max(kib);
        if run > 0 {
            times.push(Duration::from_nanos(nanos as u64));
        }
    }
    times.sort();
    Ok(Timing { median: times[times.len() / 2], min: times[0], max: times[times.len() - 1], peak_kib })
}

/// `cargo xtask measure-one PROGRAM ARGS…`: runs it once with stdout to /dev/null and prints
/// the wall time in nanoseconds and the peak resident set in KiB.
pub fn measure_one(args: &[String]) -> anyhow::Result<()> {
    let (program, arguments) = args.split_first().context("measure-one needs a program")?;
    let started = Instant::now();
    let status = Command::new(program).args(arguments).stdout(Stdio::null()).status()?;
    let elapsed = started.elapsed();
    if !status.success() {
        bail!("{program} failed: {status}");
    }
    println!("{} {}", elapsed.as_nanos(), getrusage(UsageWho::RUSAGE_CHILDREN)?.max_rss());
    Ok(())
}

fn which(program: &str) -> bool {
    Command::new(program).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}
