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
            entry.message
        );
    }
    println!(
        "Apply: {} applied, {} already done, {} refused (line changed since the plan), {} failed",
        report.applied, report.already_done, report.refused, report.failed
    );
    if let Some(path) = log_path {
        crate::cli::write_atomically(path, |file| {
            use std::io::Write as _;
            file.write_all(log_text(&report.log, path).as_bytes())
        })?;
    }
    Ok(ExitCode::from(report.exit_code()))
}

/// The AT log as JSON lines, or as CSV (RFC 4180) for a `.csv` path.
pub fn log_text(entries: &[TimedEntry], path: &Path) -> String {
    let csv = path.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("csv"));
    let mut out = String::new();
    if csv {
        out.push_str("at,code,level,customerCode,message\r\n");
    }
    for entry in entries {
        if csv {
            let fields = [
                entry.at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                entry.code.to_string(),
                entry.level.as_str().to_owned(),
                entry.customer_code.clone().unwrap_or_default(),
                entry.message.clone(),
            ];
            let quoted: Vec<String> = fields.iter().map(|field| csv_field(field)).collect();
            out.push_str(&quoted.join(","));
            out.push_str("\r\n");
        } else {
            out.push_str(&serde_json::to_string(entry).expect("log entries serialize"));
            out.push('\n');
        }
    }
    out
}

fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

pub fn schedule_command(args: ScheduleArgs) -> anyhow::Result<ExitCode> {
    let spec = load_spec(&args.spec)?;
    let expression = spec
        .schedule
        .as_deref()
        .with_context(|| format!("{}: the spec has no `schedule`", args.spec.display()))?;
    let schedule = Schedule::parse(expression)?;
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
