//! `cargo xtask bench`: times the release `billsync plan` on generated 100k- and 1M-row
//! snapshots, several runs each, beside the parse floor and `jq` in the same run, and reports
//! medians and peak memory against the targets.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use nix::sys::resource::{UsageWho, getrusage};

use crate::{flag, gen_into, workspace_root};

/// One benchmark size: the generator's shape and the targets.
struct Case {
    name: &'static str,
    customers: usize,
    rows_per_customer: usize,
    target: Target,
}

/// What `billsync plan`'s median must beat.
#[derive(Clone, Copy)]
enum Target {
    /// An absolute wall time.
    Time(Duration),
    /// A fraction of `jq -c length`'s median wall time on the same two files, measured in the
    /// same run: on a shared, busy machine a ratio holds where absolute times drift.
    OfJq(f64),
}

const CASES: [Case; 2] = [
    Case {
        name: "100k",
        customers: 2_000,
        rows_per_customer: 50,
        target: Target::Time(Duration::from_millis(150)),
    },
    Case { name: "1M", customers: 20_000, rows_per_customer: 50, target: Target::OfJq(0.25) },
];

/// Peak memory target for every `billsync plan` run.
const MEMORY_TARGET_MIB: i64 = 800;

const AS_OF: &str = "2026-11-24T22:00:00Z";

/// One command timed in a case.
struct Timed {
    label: &'static str,
    program: PathBuf,
    arguments: Vec<String>,
    /// Whether the case's time and memory targets apply to it.
    checked: bool,
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let runs: usize = flag(args, "--runs").map_or(Ok(5), |text| text.parse()).context("--runs")?;
    if runs == 0 {
        bail!("--runs must be at least 1");
    }
    let root = workspace_root();
    // The binary, and the parse floor (an example of the engine package: serde_json into
    // `IgnoredAny`), both release builds.
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--quiet", "--package", "billsync", "--bin", "billsync"])
        .args(["--example", "parse_floor"])
        .current_dir(&root)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --release failed");
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let binary = target_dir.join("release/billsync");
    let parse_floor = target_dir.join("release/examples/parse_floor");
    let jq = which("jq");

    println!("billsync plan, release build, {runs} runs per row after one warm-up run; medians");
    println!(
        "machine: {} cores, load average {} at the start; stdout to /dev/null; the commands of a case run in turn, run by run",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
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
        let files = vec![path("atria.json"), path("autotask.json")];
        let mut commands = vec![
            Timed { label: "billsync plan", program: binary.clone(), arguments: plan_args, checked: true },
            Timed {
                label: "billsync plan --out plan.json",
                program: binary.clone(),
                arguments: with_out,
                checked: false,
            },
            Timed {
                label: "parse floor (serde_json into IgnoredAny, two threads)",
                program: parse_floor.clone(),
                arguments: files.clone(),
                checked: false,
            },
        ];
        if jq {
            let mut arguments = vec!["-c".to_owned(), "length".to_owned()];
            arguments.extend(files);
            commands.push(Timed {
                label: "jq -c length (reading the two files)",
                program: PathBuf::from("jq"),
                arguments,
                checked: false,
            });
        }
        let timings = time_in_turn(&commands, runs)?;
        let jq_median = jq.then(|| timings[timings.len() - 1].median);
        for (command, timing) in commands.iter().zip(&timings) {
            let target = match (command.checked, case.target) {
                (false, _) => "–".to_owned(),
                (true, Target::Time(limit)) => format!("≤ {:.3} s", limit.as_secs_f64()),
                (true, Target::OfJq(ratio)) => match jq_median {
                    Some(jq) => format!("≤ {ratio}× jq = {:.2} s", jq.as_secs_f64() * ratio),
                    None => format!("≤ {ratio}× jq"),
                },
            };
            print_row(case.name, &format!("`{}`", command.label), timing, &target);
            if !command.checked {
                continue;
            }
            let limit = match case.target {
                Target::Time(limit) => Some(limit),
                Target::OfJq(ratio) => jq_median.map(|jq| jq.mul_f64(ratio)),
            };
            match limit {
                Some(limit) if timing.median > limit => failures
                    .push(format!("{} rows: median {:.2?} is over {:.2?}", case.name, timing.median, limit)),
                Some(_) => {}
                None => failures.push(format!(
                    "{} rows: jq is not installed, so its target cannot be checked",
                    case.name
                )),
            }
            if timing.peak_kib >= MEMORY_TARGET_MIB * 1024 {
                failures.push(format!(
                    "{} rows: peak RSS {} MiB is over {MEMORY_TARGET_MIB} MiB",
                    case.name,
                    timing.peak_kib / 1024
                ));
            }
        }
        if let Some(jq) = jq_median {
            let plan = timings[0].median.as_secs_f64();
            println!(
                "| {} | ratio: `billsync plan` ÷ jq {:.2}, ÷ parse floor {:.1} | | | | | |",
                case.name,
                plan / jq.as_secs_f64(),
                plan / timings[2].median.as_secs_f64()
            );
        }
    }
    println!();
    println!("load average {} at the end", load_average());
    if failures.is_empty() {
        println!("all targets met");
        Ok(())
    } else {
        bail!("targets missed:\n{}", failures.join("\n"))
    }
}

/// The 1-, 5- and 15-minute load averages: how busy the machine was while it measured.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".to_owned(),
        |text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    )
}

fn print_row(rows: &str, command: &str, timing: &Timing, target: &str) {
    println!(
        "| {rows} | {command} | {:.3} s | {:.3} s | {:.3} s | {target} | {} MiB |",
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

/// Runs every command once per round, `runs` rounds after a warm-up round, so that a change in
/// the machine's load falls on all of them alike.
fn time_in_turn(commands: &[Timed], runs: usize) -> anyhow::Result<Vec<Timing>> {
    let mut times = vec![Vec::with_capacity(runs); commands.len()];
    let mut peaks = vec![0; commands.len()];
    for round in 0..=runs {
        for (index, command) in commands.iter().enumerate() {
            let (elapsed, kib) = measure(&command.program, &command.arguments)?;
            peaks[index] = peaks[index].max(kib);
            if round > 0 {
                times[index].push(elapsed);
            }
        }
    }
    Ok(times
        .into_iter()
        .zip(peaks)
        .map(|(mut times, peak_kib)| {
            times.sort();
            Timing { median: times[times.len() / 2], min: times[0], max: times[times.len() - 1], peak_kib }
        })
        .collect())
}

/// One run in a fresh xtask process, so that its children's peak memory is this run's alone.
fn measure(program: &Path, arguments: &[String]) -> anyhow::Result<(Duration, i64)> {
    let xtask = std::env::current_exe().context("finding the xtask binary")?;
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
    Ok((Duration::from_nanos(nanos as u64), kib))
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
