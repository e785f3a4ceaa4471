//! The online commands over the clients: `apply`, `schedule`; each builds its own tokio runtime
//! so the rest of the command line stays synchronous.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Args;

use crate::apply::executor::{ApplyOptions, ApplyReport, TimedEntry, apply};
use crate::apply::journal::Journal;
use crate::autotask::{AutotaskClient, ClientOptions};
use crate::codes::LogLevel;
use crate::plan::Plan;
use crate::schedule::Schedule;
use crate::secrets::AutotaskCredentials;
use crate::spec::{self, JobSpec};

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The reviewed plan (`billsync plan --out plan.json`)
    pub plan: PathBuf,
    /// The job spec: where Autotask is and the credentials' references
    #[arg(long)]
    pub spec: PathBuf,
    /// The journal; default: beside the plan, `PLAN.journal.jsonl`
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// Also write the run's AT log here: CSV when the name ends in `.csv`, else JSON lines
    #[arg(long)]
    pub log: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The job spec
    #[arg(long)]
    pub spec: PathBuf,
    /// Apply without asking (needed when standard input is not a terminal)
    #[arg(long)]
    pub auto_approve: bool,
    /// Where each run leaves its folder of snapshots, plan, journal and log
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// The job spec, with its `schedule`
    #[arg(long)]
    pub spec: PathBuf,
    /// Where each run leaves its folder
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// The job spec whose `schedule` to read
    #[arg(long)]
    pub spec: PathBuf,
    /// How many run times to print
    #[arg(long, default_value_t = 5)]
    pub next: usize,
    /// Count from this time (RFC 3339) instead of now
    #[arg(long)]
    pub from: Option<String>,
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub(crate) fn load_spec(path: &Path) -> anyhow::Result<JobSpec> {
    spec::load(path).map_err(|problems| anyhow::anyhow!("{problems}"))
}

/// Resolves the credentials and connects (zone discovery), or says why not with its code.
pub(crate) async fn connect_autotask(spec: &JobSpec) -> anyhow::Result<AutotaskClient> {
    let connection = spec.autotask.as_ref().context("the spec has no `autotask` section; apply needs one")?;
    let credentials =
        AutotaskCredentials::resolve(connection).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    Ok(AutotaskClient::connect(connection, credentials, ClientOptions::default()).await?)
}

pub fn apply_command(args: ApplyArgs) -> anyhow::Result<ExitCode> {
    let plan = Plan::load(&args.plan).map_err(|problems| anyhow::anyhow!("{problems}"))?;
    let spec = load_spec(&args.spec)?;
    let journal_path = args.journal.clone().unwrap_or_else(|| Journal::path_for(&args.plan));
    let report = runtime()?.block_on(async {
        let client = connect_autotask(&spec).await?;
        let options = ApplyOptions { journal_path, progress: std::io::stderr().is_terminal() };
        anyhow::Ok(apply(&plan, &client, &options).await?)
    })?;
    finish_apply(&report, spec.log_level, args.log.as_deref())
}

/// Prints the run's log and summary, writes `--log`, and gives apply's exit code.
pub(crate) fn finish_apply(
    report: &ApplyReport,
    level: LogLevel,
    log_path: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    for entry in report.log.iter().filter(|entry| entry.level.shown_at(level)) {
        println!(
            "{} {} {:<7} {}",
            entry.at.format("%Y-%m-%dT%H:%M:%SZ"),
            entry.code,
            entry.level.as_str(),
            crate::render::escape_controls_line(&entry.message)
        );
    }
    println!(
        "Apply: {} applied, {} already done, {} refused (line changed since the plan), {} failed",
        report.applied, report.already_done, report.refused, report.failed
    );
    if let Some(path) = log_path {
        crate::files::write_atomically(path, |file| {
            use std::io::Write as _;
            file.write_all(log_text(&report.log, path).as_bytes())
        })?;
    }
    Ok(ExitCode::from(report.exit_code()))
}

/// The AT log as JSON lines, or as CSV (RFC 4180, like `show --format csv`) for a `.csv` path.
pub fn log_text(entries: &[TimedEntry], path: &Path) -> String {
    if !path.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("csv")) {
        return entries
            .iter()
            .map(|entry| serde_json::to_string(entry).expect("log entries serialize") + "\n")
            .collect();
    }
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    let mut write = || -> csv::Result<Vec<u8>> {
        writer.write_record(["at", "code", "level", "customer_code", "message"])?;
        for entry in entries {
            let at = entry.at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
            let customer = entry.customer_code.as_deref().unwrap_or_default();
            writer.write_record([
                at.as_str(),
                entry.code.as_str(),
                entry.level.as_str(),
                customer,
                &entry.message,
            ])?;
        }
        writer.flush()?;
        Ok(writer.get_ref().clone())
    };
    String::from_utf8(write().expect("writing CSV to memory cannot fail")).expect("the log is UTF-8")
}

pub fn run_command(args: RunArgs) -> anyhow::Result<ExitCode> {
    let spec = load_spec(&args.spec)?;
    let approval = if args.auto_approve {
        Approval::Given
    } else if std::io::stdin().is_terminal() {
        Approval::Ask
    } else {
        Approval::Refused
    };
    let outcome = run_once(&spec, &args.runs_dir, approval)?;
    Ok(ExitCode::from(outcome))
}

/// Whether `run` may apply the plan it made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Approval {
    Given,
    /// Ask on the terminal.
    Ask,
    /// No terminal and no `--auto-approve`: plan only.
    Refused,
}

/// One run of the job, as Atria's "Run Now": fetch, plan, show, then apply when approved. The
/// run's folder keeps the snapshots, the plan (JSON and text), the journal and the log.
/// Returns apply's exit code (0 when nothing needed applying).
pub fn run_once(spec: &JobSpec, runs_dir: &Path, approval: Approval) -> anyhow::Result<u8> {
    // Two runs on one runs folder (a daemon's and a manual one, say) would plan from the same
    // state and both apply; the second waits for nothing and stops.
    let _run_lock = exclusive_lock(runs_dir, ".run.lock", "another billsync run is using")?;
    let started = Utc::now();
    let folder = new_run_folder(runs_dir, started)?;
    println!("Run {} in {}", started.format("%Y-%m-%dT%H:%M:%SZ"), folder.display());
    let write = |file: &str, bytes: &[u8]| {
        crate::files::write_atomically(&folder.join(file), |out| {
            use std::io::Write as _;
            out.write_all(bytes)
        })
    };
    let runtime = runtime()?;
    let fetched = match runtime.block_on(crate::fetch::fetch(spec, ClientOptions::default())) {
        Ok(fetched) => fetched,
        Err(error) => {
            let entry = TimedEntry::now(error.code(), None, error.to_string());
            write("log.jsonl", log_text(std::slice::from_ref(&entry), Path::new("log.jsonl")).as_bytes())?;
            return Err(error.into());
        }
    };
    let files = fetched.to_files()?;
    write("atria.json", &files.atria)?;
    write("autotask.json", &files.autotask)?;
    println!("Fetched: {}", fetched.summary());

    let plan = crate::compile::compile(crate::compile::CompileInput {
        spec,
        atria: &fetched.atria,
        autotask: &fetched.autotask,
        as_of: started,
    })?;
    write("plan.json", plan.to_json().as_bytes())?;
    let text = crate::render::text(&plan, crate::render::TextOptions::default());
    write("plan.txt", text.as_bytes())?;
    print!("{text}");

    let plan_log: Vec<TimedEntry> = plan
        .log
        .iter()
        .map(|entry| TimedEntry {
            at: started,
            code: entry.code,
            level: entry.level,
            customer_code: entry.customer_code.clone(),
            message: entry.message.clone(),
        })
        .collect();
    let write_log =
        |entries: &[TimedEntry]| write("log.jsonl", log_text(entries, Path::new("log.jsonl")).as_bytes());
    if !plan.has_changes() {
        println!("No changes to apply.");
        write_log(&plan_log)?;
        return Ok(0);
    }
    let approved = match approval {
        Approval::Given => true,
        Approval::Refused => {
            println!(
                "Not applied: standard input is not a terminal; pass --auto-approve to apply without asking."
            );
            false
        }
        Approval::Ask => confirm(plan.summary.changes())?,
    };
    if !approved {
        write_log(&plan_log)?;
        return Ok(0);
    }
    let options = ApplyOptions {
        journal_path: folder.join("plan.json.journal.jsonl"),
        progress: std::io::stderr().is_terminal(),
    };
    let report = runtime.block_on(async {
        let client = connect_autotask(spec).await?;
        anyhow::Ok(apply(&plan, &client, &options).await?)
    })?;
    let mut log = plan_log;
    log.extend(report.log.iter().cloned());
    write_log(&log)?;
    finish_apply(&report, spec.log_level, None)?;
    Ok(report.exit_code())
}

/// An exclusive advisory lock on `runs_dir/name`, held until the file is dropped; the operating
/// system releases it when the process ends, however it ends.
fn exclusive_lock(runs_dir: &Path, name: &str, held_message: &str) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(runs_dir).with_context(|| format!("{}: cannot create", runs_dir.display()))?;
    let path = runs_dir.join(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("{}: cannot open", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            anyhow::bail!("{held_message} {} (lock `{}`)", runs_dir.display(), path.display())
        }
        Err(std::fs::TryLockError::Error(error)) => {
            Err(error).with_context(|| format!("{}: cannot lock", path.display()))
        }
    }
}

/// `runs/2026-11-26T220000Z`, with a suffix when two runs start in the same second.
fn new_run_folder(runs_dir: &Path, started: DateTime<Utc>) -> anyhow::Result<PathBuf> {
    let stamp = started.format("%Y-%m-%dT%H%M%SZ").to_string();
    for attempt in 0..100 {
        let name = if attempt == 0 { stamp.clone() } else { format!("{stamp}-{attempt}") };
        let folder = runs_dir.join(name);
        std::fs::create_dir_all(runs_dir)
            .with_context(|| format!("{}: cannot create", runs_dir.display()))?;
        match std::fs::create_dir(&folder) {
            Ok(()) => return Ok(folder),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error).with_context(|| format!("{}: cannot create", folder.display())),
        }
    }
    anyhow::bail!("{}: too many runs in one second", runs_dir.display())
}

fn confirm(changes: usize) -> anyhow::Result<bool> {
    use std::io::Write as _;
    print!("Apply {changes} changes to Autotask? [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// The spec and its `schedule`, which the scheduling commands need.
fn spec_with_schedule(path: &Path) -> anyhow::Result<(JobSpec, Schedule)> {
    let spec = load_spec(path)?;
    let expression = spec
        .schedule
        .as_deref()
        .with_context(|| format!("{}: the spec has no `schedule`", path.display()))?;
    let schedule = Schedule::parse(expression)?;
    Ok((spec, schedule))
}

/// Runs the job at its schedule's times, one run at a time, until SIGTERM or SIGINT; a signal
/// during a run lets that run finish first.
pub fn daemon_command(args: DaemonArgs) -> anyhow::Result<ExitCode> {
    let (spec, schedule) = spec_with_schedule(&args.spec)?;
    let _daemon_lock = exclusive_lock(&args.runs_dir, ".daemon.lock", "another billsync daemon is using")?;
    let stop = stop_signals()?;
    println!("billsync daemon: `{}` (UTC); stop with SIGTERM or Ctrl-C", schedule.expression());
    loop {
        let Some(next) = schedule.next_after(Utc::now()) else {
            println!("The schedule has no further run; stopping.");
            return Ok(ExitCode::SUCCESS);
        };
        println!("Next run at {}", next.format("%Y-%m-%dT%H:%M:%SZ"));
        let wait = (next - Utc::now()).to_std().unwrap_or_default();
        match stop.recv_timeout(wait) {
            Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                println!("Stopping: signal received.");
                return Ok(ExitCode::SUCCESS);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        // A failed run is logged in its folder and printed; the daemon goes on to the next.
        match run_once(&spec, &args.runs_dir, Approval::Given) {
            Ok(code) => println!("Run finished with exit code {code}"),
            Err(error) => {
                eprintln!("billsync: run failed: {}", crate::render::escape_controls(&format!("{error:#}")))
            }
        }
        if stop.try_recv().is_ok() {
            println!("Stopping: signal received during the run, which finished first.");
            return Ok(ExitCode::SUCCESS);
        }
    }
}

/// A channel that receives one message per SIGTERM or SIGINT.
fn stop_signals() -> anyhow::Result<std::sync::mpsc::Receiver<()>> {
    let (sender, receiver) = std::sync::mpsc::channel();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (ready_sender, ready) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        runtime.block_on(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut terminate), Ok(mut interrupt)) =
                (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
            else {
                let _ = ready_sender.send(false);
                return;
            };
            let _ = ready_sender.send(true);
            loop {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = interrupt.recv() => {}
                }
                if sender.send(()).is_err() {
                    return;
                }
            }
        });
    });
    anyhow::ensure!(ready.recv().unwrap_or(false), "cannot listen for SIGTERM and SIGINT");
    Ok(receiver)
}

pub fn schedule_command(args: ScheduleArgs) -> anyhow::Result<ExitCode> {
    let (_, schedule) = spec_with_schedule(&args.spec)?;
    let from: DateTime<Utc> = match &args.from {
        Some(text) => DateTime::parse_from_rfc3339(text.trim())
            .map(|time| time.with_timezone(&Utc))
            .with_context(|| format!("--from `{text}`: expected an RFC 3339 time"))?,
        None => Utc::now(),
    };
    println!(
        "{} (UTC), next {} runs after {}:",
        schedule.expression(),
        args.next,
        from.format("%Y-%m-%dT%H:%M:%SZ")
    );
    for time in schedule.upcoming(from, args.next) {
        println!("  {}", time.format("%Y-%m-%dT%H:%M:%SZ %a"));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_json_lines_or_csv_by_file_name() {
        let entry = TimedEntry {
            at: "2026-11-24T22:00:00Z".parse().expect("time"),
            code: crate::codes::Code::AT09,
            level: LogLevel::Info,
            customer_code: Some("ASP".to_owned()),
            message: "ASP Cloud, \"quoted\" from 20 to 25".to_owned(),
        };
        let lines = log_text(std::slice::from_ref(&entry), Path::new("run.log"));
        let parsed: serde_json::Value = serde_json::from_str(lines.trim_end()).expect("one JSON line");
        assert_eq!(parsed["code"], "AT09");
        assert_eq!(parsed["at"], "2026-11-24T22:00:00Z");

        let csv_text = log_text(std::slice::from_ref(&entry), Path::new("run.CSV"));
        let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
        let headers = reader.headers().expect("headers").clone();
        assert_eq!(headers.iter().collect::<Vec<_>>(), ["at", "code", "level", "customer_code", "message"]);
        let record = reader.records().next().expect("one record").expect("valid CSV");
        assert_eq!(
            record.iter().collect::<Vec<_>>(),
            ["2026-11-24T22:00:00Z", "AT09", "info", "ASP", &entry.message]
        );
    }
}
