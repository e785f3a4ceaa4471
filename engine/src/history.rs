//! Run history: each run folder's `run.json` record (mode, status, who approved and when), and
//! `billsync runs`, which lists the folders of a runs directory with their plans' facts.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

/// `billsync runs`: the run history of a runs folder.
#[derive(Debug, clap::Args)]
pub struct RunsArgs {
    /// The runs folder that `run` and `daemon` write into
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// Print the runs as a JSON array instead of a table
    #[arg(long)]
    pub json: bool,
}

pub fn runs_command(args: RunsArgs) -> anyhow::Result<std::process::ExitCode> {
    let runs = list(&args.runs_dir)?;
    if args.json {
        let mut json = serde_json::to_string_pretty(&runs).expect("runs serialize");
        json.push('\n');
        print_text!("{json}");
    } else if runs.is_empty() {
        print_line!("No runs in {}", args.runs_dir.display());
    } else {
        print_text!("{}", text(&runs));
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// The file beside a run's `plan.json` that says what became of it.
pub const RECORD_FILE: &str = "run.json";

/// How a run was started, and so whether its plan was applied without review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RunMode {
    /// `run` by hand: applied after a `y` or `--auto-approve`.
    Run,
    /// `daemon --mode plan`: planned, reviewed, then `billsync approve`.
    Plan,
    /// `daemon --mode apply`: applied unattended, without review.
    Apply,
}

impl RunMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RunMode::Run => "run",
            RunMode::Plan => "plan",
            RunMode::Apply => "apply",
        }
    }
}

/// Where a run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RunStatus {
    /// Under way, or stopped before it had a plan (killed, or the machine went down).
    Started,
    /// The plan has changes and waits for `billsync approve`.
    Planned,
    /// Nothing to change.
    NoChanges,
    /// Every change is applied (or was already).
    Applied,
    /// Applied, except for customers left out by `--customer`/`--exclude-customer`.
    Partial,
    /// Some lines moved since the plan was made (AT29); the rest were applied.
    Refused,
    /// Fetch, plan or apply failed.
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Started => "started",
            RunStatus::Planned => "planned",
            RunStatus::NoChanges => "no changes",
            RunStatus::Applied => "applied",
            RunStatus::Partial => "partial",
            RunStatus::Refused => "refused",
            RunStatus::Failed => "failed",
        }
    }
}

/// What apply did, in numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyCounts {
    pub applied: usize,
    pub already_done: usize,
    pub refused: usize,
    pub failed: usize,
    /// Changes of customers left out of this apply; they stay pending.
    #[serde(default)]
    pub left_out: usize,
}

/// `run.json`: one run's record, rewritten (atomically) as the run moves on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    /// When the run started, in the spec's time zone.
    pub started_at: DateTime<FixedOffset>,
    pub mode: RunMode,
    pub status: RunStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_at: Option<DateTime<Utc>>,
    /// Who approved the apply (`--approved-by`, default the OS user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply: Option<ApplyCounts>,
    /// Why the run failed, when it did (never a secret: the errors hold none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RunRecord {
    pub fn new(started_at: DateTime<FixedOffset>, mode: RunMode) -> RunRecord {
        RunRecord {
            started_at,
            mode,
            status: RunStatus::Started,
            applied_at: None,
            approved_by: None,
            apply: None,
            error: None,
        }
    }

    /// The record of `folder`, if the run wrote one.
    pub fn load(folder: &Path) -> anyhow::Result<Option<RunRecord>> {
        let path = folder.join(RECORD_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .with_context(|| format!("{}: not a billsync run record", path.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error).with_context(|| format!("{}: cannot read", path.display())),
        }
    }

    pub fn save(&self, folder: &Path) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(self).expect("records serialize");
        text.push('\n');
        crate::files::write_atomically(&folder.join(RECORD_FILE), |file| {
            use std::io::Write as _;
            file.write_all(text.as_bytes())
        })
    }

    /// Records an apply's outcome and who approved it.
    pub fn applied(&mut self, counts: ApplyCounts, approved_by: &str, at: DateTime<Utc>) {
        self.status = if counts.failed > 0 {
            RunStatus::Failed
        } else if counts.refused > 0 {
            RunStatus::Refused
        } else if counts.left_out > 0 {
            RunStatus::Partial
        } else {
            RunStatus::Applied
        };
        self.applied_at = Some(at);
        self.approved_by = Some(approved_by.to_owned());
        self.apply = Some(counts);
    }
}

/// The OS user running billsync: the default approver.
pub fn os_user() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|user| user.name)
        .or_else(|| std::env::var("USER").ok().filter(|name| !name.is_empty()))
        .unwrap_or_else(|| format!("uid {}", nix::unistd::getuid()))
}

/// One line of `billsync runs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunEntry {
    /// The run folder.
    pub folder: PathBuf,
    /// When the run started (from its record, else its plan's `asOf`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<FixedOffset>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<RunMode>,
    /// `planned`, `no changes`, `applied`, … ; `unknown` for a folder without a record.
    pub status: String,
    /// The plan's digest (what a reviewer approves), when the plan carries one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<PlanCounts>,
    /// The plan's monthly amount change, when the plan carries one (as the plan writes it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub money_total: Option<String>,
    pub applied: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply: Option<ApplyCounts>,
}

/// The plan's action counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanCounts {
    pub update: u64,
    pub create: u64,
    pub zero: u64,
    pub unchanged: u64,
    pub skip: u64,
}

/// Every run folder of `runs_dir` (a folder with a `plan.json` or a `run.json`), oldest first.
pub fn list(runs_dir: &Path) -> anyhow::Result<Vec<RunEntry>> {
    let entries = std::fs::read_dir(runs_dir)
        .with_context(|| format!("{}: cannot read the runs folder", runs_dir.display()))?;
    let mut folders: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir() && (path.join(RECORD_FILE).exists() || path.join("plan.json").exists()))
        .collect();
    folders.sort();
    let mut runs = Vec::with_capacity(folders.len());
    for folder in folders {
        runs.push(entry_of(&folder)?);
    }
    // Folder names sort by local time; the record's instant is the truth (a zone change, DST).
    runs.sort_by_key(|run| run.started_at.map(|at| at.with_timezone(&Utc)));
    Ok(runs)
}

fn entry_of(folder: &Path) -> anyhow::Result<RunEntry> {
    let record = RunRecord::load(folder)?;
    // The plan is read loosely: history shows what any plan version carries (a digest, a money
    // total) without refusing an older or newer one.
    let plan: Option<serde_json::Value> =
        std::fs::read(folder.join("plan.json")).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let summary = plan.as_ref().map(|plan| &plan["summary"]);
    let counts = summary.filter(|summary| summary.is_object()).map(|summary| {
        let count = |kind: &str| summary[kind].as_u64().unwrap_or_default();
        PlanCounts {
            update: count("update"),
            create: count("create"),
            zero: count("zero"),
            unchanged: count("unchanged"),
            skip: count("skip"),
        }
    });
    let money_total = summary.and_then(|summary| {
        ["monthlyAmountChange", "totalMonthlyAmountChange"].iter().find_map(|key| match &summary[*key] {
            serde_json::Value::String(text) => Some(text.clone()),
            serde_json::Value::Number(number) => Some(number.to_string()),
            _ => None,
        })
    });
    let plan_digest = plan.as_ref().and_then(|plan| plan["digest"].as_str()).map(str::to_owned);
    let started_at = record.as_ref().map(|record| record.started_at).or_else(|| {
        plan.as_ref()
            .and_then(|plan| plan["asOf"].as_str())
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
    });
    Ok(RunEntry {
        folder: folder.to_owned(),
        started_at,
        mode: record.as_ref().map(|record| record.mode),
        status: record.as_ref().map_or("unknown", |record| record.status.as_str()).to_owned(),
        plan_digest,
        counts,
        money_total,
        applied: record.as_ref().is_some_and(|record| record.applied_at.is_some()),
        applied_at: record.as_ref().and_then(|record| record.applied_at),
        approved_by: record.as_ref().and_then(|record| record.approved_by.clone()),
        apply: record.and_then(|record| record.apply),
    })
}

/// The table `billsync runs` prints: one line per run, oldest first.
pub fn text(runs: &[RunEntry]) -> String {
    let with_money = runs.iter().any(|run| run.money_total.is_some());
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header = vec!["WHEN", "RUN", "MODE", "STATUS", "DIGEST", "UPD/CRE/ZERO/UNCH/SKIP"];
    if with_money {
        header.push("MONTHLY CHANGE");
    }
    header.extend(["APPLIED", "BY"]);
    rows.push(header.iter().map(|cell| (*cell).to_owned()).collect());
    for run in runs {
        let mut row = vec![
            run.started_at.map_or("-".to_owned(), |at| at.format("%Y-%m-%d %H:%M %:z").to_string()),
            run.folder.file_name().map_or(String::new(), |name| name.to_string_lossy().into_owned()),
            run.mode.map_or("-", RunMode::as_str).to_owned(),
            run.status.clone(),
            run.plan_digest.as_deref().map_or("-".to_owned(), |digest| digest.chars().take(12).collect()),
            run.counts.map_or("-".to_owned(), |c| {
                format!("{}/{}/{}/{}/{}", c.update, c.create, c.zero, c.unchanged, c.skip)
            }),
        ];
        if with_money {
            row.push(run.money_total.clone().unwrap_or_else(|| "-".to_owned()));
        }
        row.push(match (&run.applied_at, &run.apply) {
            (Some(at), Some(counts)) => format!(
                "{} ({} applied, {} already done{}{}{})",
                at.format("%Y-%m-%dT%H:%M:%SZ"),
                counts.applied,
                counts.already_done,
                if counts.refused > 0 { format!(", {} refused", counts.refused) } else { String::new() },
                if counts.failed > 0 { format!(", {} failed", counts.failed) } else { String::new() },
                if counts.left_out > 0 { format!(", {} left out", counts.left_out) } else { String::new() },
            ),
            _ => "no".to_owned(),
        });
        row.push(run.approved_by.clone().unwrap_or_else(|| "-".to_owned()));
        rows.push(row);
    }
    let columns = rows[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|column| rows.iter().map(|row| row[column].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(column, cell)| format!("{cell:<width$}", width = widths[column]))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(folder: &Path, file: &str, text: &str) {
        std::fs::create_dir_all(folder).expect("folder");
        std::fs::write(folder.join(file), text).expect("write");
    }

    #[test]
    fn runs_list_oldest_first_with_their_plans_facts_and_approver() {
        let runs = tempfile::tempdir().expect("temp dir");
        let plan = r#"{"format":"billsync.plan/v1","asOf":"2026-11-26T11:00:00Z","digest":"0123456789abcdef0123",
            "summary":{"update":2,"create":1,"zero":0,"unchanged":3,"skip":1,"byCode":{},"monthlyAmountChange":"-12.50"}}"#;
        let first = runs.path().join("2026-11-26T220000+1100");
        write(&first, "plan.json", plan);
        let mut record = RunRecord::new(
            DateTime::parse_from_rfc3339("2026-11-26T22:00:00+11:00").expect("time"),
            RunMode::Plan,
        );
        assert_eq!(record.status, RunStatus::Started);
        record.status = RunStatus::Planned;
        record.save(&first).expect("save");
        let second = runs.path().join("2026-12-26T220000+1100");
        write(&second, "plan.json", &plan.replace("\"digest\":\"0123456789abcdef0123\",", ""));
        let mut applied = RunRecord::new(
            DateTime::parse_from_rfc3339("2026-12-26T22:00:00+11:00").expect("time"),
            RunMode::Run,
        );
        applied.applied(
            ApplyCounts { applied: 3, ..ApplyCounts::default() },
            "alice",
            "2026-12-26T11:05:00Z".parse().expect("time"),
        );
        applied.save(&second).expect("save");
        // A folder that is not a run is left out.
        std::fs::create_dir_all(runs.path().join("notes")).expect("folder");

        let listed = list(runs.path()).expect("list");
        assert_eq!(listed.len(), 2);
        assert_eq!((listed[0].status.as_str(), listed[0].applied), ("planned", false));
        assert_eq!(listed[0].plan_digest.as_deref(), Some("0123456789abcdef0123"));
        assert_eq!(listed[1].plan_digest, None);
        assert_eq!((listed[1].status.as_str(), listed[1].approved_by.as_deref()), ("applied", Some("alice")));
        let table = text(&listed);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("WHEN") && lines[0].contains("MONTHLY CHANGE"), "{table}");
        assert!(
            lines[1].starts_with("2026-11-26 22:00 +11:00  2026-11-26T220000+1100  plan  planned"),
            "{table}"
        );
        assert!(lines[1].contains("0123456789ab  2/1/0/3/1") && lines[1].contains("-12.50"), "{table}");
        assert!(lines[1].split_whitespace().rev().take(2).eq(["-", "no"]), "{table}");
        assert!(lines[2].contains("2026-12-26T11:05:00Z (3 applied, 0 already done)"), "{table}");
        assert!(lines[2].ends_with("  alice"), "{table}");
        // Without money in any plan, the column is left out.
        let mut plain = listed.clone();
        plain.iter_mut().for_each(|run| run.money_total = None);
        assert!(!text(&plain).contains("MONTHLY CHANGE"));
    }

    #[test]
    fn a_damaged_record_names_its_file() {
        let runs = tempfile::tempdir().expect("temp dir");
        write(&runs.path().join("r1"), RECORD_FILE, "{ not json");
        let error = list(runs.path()).expect_err("damaged");
        assert!(format!("{error:#}").contains("run.json: not a billsync run record"), "{error:#}");
        let error = list(&runs.path().join("missing")).expect_err("no folder");
        assert!(format!("{error:#}").contains("cannot read the runs folder"), "{error:#}");
    }
}
