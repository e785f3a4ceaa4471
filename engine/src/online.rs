//! The online commands over the clients: `apply`, `schedule`; each builds its own tokio runtime
//! so the rest of the command line stays synchronous.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Args;

use crate::apply::executor::{ApplyError, ApplyOptions, ApplyReport, TimedEntry, apply};
use crate::apply::journal::Journal;
use crate::autotask::{AutotaskClient, ClientOptions};
use crate::codes::LogLevel;
use crate::history::{ApplyCounts, RunMode, RunRecord, RunStatus};
use crate::notify::{Event, Notifier, Pending};
use crate::partial::CustomerFilter;
use crate::plan::Plan;
use crate::schedule::Schedule;
use crate::secrets::AutotaskCredentials;
use crate::spec::{self, AutotaskConnection, JobSpec};

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
    /// Apply only if the plan's digest is this one (or starts with these 12+ hex digits): what
    /// the reviewers approved
    #[arg(long, value_name = "SHA")]
    pub expect_digest: Option<String>,
    /// Stop (exit 1, journal intact) when no change has completed for this long: `90s`, `2m`,
    /// `500ms`
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse_duration)]
    pub give_up_after: Duration,
    /// Who approves this apply, recorded in the run's history; default: the OS user
    #[arg(long, value_name = "NAME")]
    pub approved_by: Option<String>,
    /// Apply only these customers' changes (Atria codes); the rest stay pending in the journal
    /// and a later apply finishes them
    #[arg(long = "customer", value_name = "CODE", num_args = 1..)]
    pub customers: Vec<String>,
    /// Apply every customer's changes except these, which stay pending
    #[arg(long = "exclude-customer", value_name = "CODE", num_args = 1.., conflicts_with = "customers")]
    pub exclude_customers: Vec<String>,
}

/// `500ms`, `90s`, `2m`, `1h`, or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let seconds_per_unit = match unit.trim() {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("`{text}`: expected a duration such as `90s`, `2m` or `500ms`")),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}`: expected a duration such as `90s`, `2m` or `500ms`"))?;
    Duration::try_from_secs_f64(value * seconds_per_unit)
        .ok()
        .filter(|duration| !duration.is_zero())
        .ok_or_else(|| format!("`{text}`: expected a duration above zero"))
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
    /// Who approves the apply, as `billsync runs` shows it; default: the OS user
    #[arg(long, value_name = "NAME")]
    pub approved_by: Option<String>,
}

#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// The job spec, with its `schedule`
    #[arg(long)]
    pub spec: PathBuf,
    /// Where each run leaves its folder
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// plan: each run makes its plan, renderings and summary, notifies, and waits for
    /// `billsync approve RUN_DIR`; apply: each run applies its plan unattended, without review
    #[arg(long, value_enum, default_value_t = DaemonMode::Plan)]
    pub mode: DaemonMode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DaemonMode {
    Plan,
    Apply,
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
    // Apply exactly what was reviewed, with the settings it was made with; nothing is sent
    // before both hold.
    plan.check(args.expect_digest.as_deref())
        .map_err(|error| anyhow::anyhow!("{}: {error}; nothing was sent", args.plan.display()))?;
    let differences = plan.settings.differences(&spec);
    if !differences.is_empty() {
        let keys: Vec<String> = differences.iter().map(|key| format!("`{key}`")).collect();
        anyhow::bail!(
            "{}: the spec's compile settings differ from the plan's ({}): the plan was made with another spec; apply it with the spec it was made from, or make the plan again from this one. Nothing was sent",
            args.spec.display(),
            keys.join(", ")
        );
    }
    let connection = autotask_connection(&spec)?;
    let holder = Holder::new("apply", &args.plan.display().to_string(), &plan.plan_id);
    // Hashed: a plan id is only as trustworthy as the file, and names a file here.
    let plan_lock_name = {
        use sha2::Digest as _;
        format!("plan-{}", &hex::encode(sha2::Sha256::digest(plan.plan_id.as_bytes()))[..16])
    };
    let _plan_lock = writer_lock(&plan_lock_name, &holder, "this plan")?;
    let _database_lock = writer_lock(&database_lock_name(connection)?, &holder, "this Autotask database")?;
    let journal_path = args.journal.clone().unwrap_or_else(|| Journal::path_for(&args.plan));
    let approved_by = args.approved_by.clone().unwrap_or_else(crate::history::os_user);
    let customers = CustomerFilter::new(&args.customers, &args.exclude_customers);
    customers.check(&plan).map_err(|message| anyhow::anyhow!("{}: {message}", args.plan.display()))?;
    let (left_out, left_out_customers) = customers.left_out(&plan);
    let notifier = Notifier::from_spec(spec.notify.as_ref());
    let options = ApplyOptions {
        journal_path: journal_path.clone(),
        progress: std::io::stderr().is_terminal(),
        give_up_after: args.give_up_after,
        customers: customers.clone(),
    };
    let report = runtime()?.block_on(async {
        match connect_autotask(&spec).await {
            Ok(client) => {
                // The spec's name for the database may differ from another writer's (a
                // `baseUrl` here, zone discovery there): the zone found is locked too. Only
                // zone discovery, which carries no credentials, has been sent.
                let _resolved_lock = writer_lock(
                    &resolved_lock_name(&client, connection)?,
                    &holder,
                    "this Autotask database",
                )?;
                anyhow::Ok(apply(&plan, &client, &options).await?)
            }
            // Nothing was sent with the credentials; the log still says why apply stopped.
            Err(error) => stopped_before_start(error),
        }
    });
    let report = match report {
        Ok(report) => report,
        Err(error) => {
            if let Some(notifier) = &notifier {
                notifier.send(Event::Failed, &format!("{}: {error:#}", plan.job.label)).finish();
            }
            return Err(error);
        }
    };
    let counts = counts_of(&report, left_out);
    // A run folder's plan applied by hand is recorded in that run's history too.
    if let Some(folder) = args.plan.parent()
        && let Some(mut record) = RunRecord::load(folder)?
    {
        record.applied(counts, &approved_by, Utc::now());
        record.save(folder)?;
    }
    let pending = notifier.as_ref().map(|notifier| {
        let text = crate::notify::applied_text(&plan, &counts, &approved_by, &args.plan);
        notifier.send(crate::notify::event_of(&counts), &text)
    });
    let code = finish_apply(&report, spec.log_level, args.log.as_deref(), &journal_path);
    if left_out > 0 {
        let codes: Vec<&str> = left_out_customers.iter().map(String::as_str).collect();
        print_line!(
            "Left out: {left_out} changes of {} ({}); they stay pending: `billsync apply {}` without --customer/--exclude-customer finishes them",
            if codes.len() == 1 { "customer" } else { "customers" },
            codes.join(", "),
            args.plan.display()
        );
    }
    crate::notify::finish_all(pending);
    code
}

/// The report of an apply that could not connect (zone discovery, a refused host): it still
/// prints and writes its log. Any other error (a missing secret) stays an error of its own.
fn stopped_before_start(error: anyhow::Error) -> anyhow::Result<ApplyReport> {
    let error = ApplyError::Client(error.downcast::<crate::autotask::ClientError>()?);
    let text = error.to_string();
    let message = text.strip_prefix(&format!("{} ", error.code())).unwrap_or(&text).to_owned();
    Ok(ApplyReport {
        log: vec![TimedEntry::now(error.code(), None, message)],
        stopped: Some(error),
        ..ApplyReport::default()
    })
}

fn autotask_connection(spec: &JobSpec) -> anyhow::Result<&AutotaskConnection> {
    spec.autotask.as_ref().context("the spec has no `autotask` section; apply needs one")
}

/// Prints the run's log and summary, writes `--log`, and gives apply's exit code; when apply
/// stopped early, an error that says a rerun resumes (after the log of what landed).
pub(crate) fn finish_apply(
    report: &ApplyReport,
    level: LogLevel,
    log_path: Option<&Path>,
    journal_path: &Path,
) -> anyhow::Result<ExitCode> {
    for entry in report.log.iter().filter(|entry| entry.level.shown_at(level)) {
        print_line!(
            "{} {} {:<7} {}",
            entry.at.format("%Y-%m-%dT%H:%M:%SZ"),
            entry.code,
            entry.level.as_str(),
            crate::render::escape_controls_line(&entry.message)
        );
    }
    let unfinished = if report.unfinished > 0 {
        format!(", {} not done (apply stopped)", report.unfinished)
    } else {
        String::new()
    };
    print_line!(
        "Apply: {} applied, {} already done, {} refused (line changed since the plan), {} failed{unfinished}",
        report.applied,
        report.already_done,
        report.refused,
        report.failed
    );
    if let Some(path) = log_path {
        crate::files::write_atomically(path, |file| {
            use std::io::Write as _;
            file.write_all(log_text(&report.log, path).as_bytes())
        })?;
    }
    if let Some(error) = &report.stopped {
        anyhow::bail!(
            "{error}. What landed before is in the log above; the journal `{}` is intact: run the same apply again to resume",
            journal_path.display()
        );
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
    let options = RunOptions {
        approval,
        mode: RunMode::Run,
        approved_by: args.approved_by.unwrap_or_else(crate::history::os_user),
    };
    let outcome = run_once(&spec, &args.runs_dir, &options)?;
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
    /// `daemon --mode plan`: plan only, for review and `billsync approve`.
    Review,
}

/// How one run goes: whether it may apply, how it was started, and who approves.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub approval: Approval,
    pub mode: RunMode,
    pub approved_by: String,
}

/// One run of the job, as Atria's "Run Now": fetch, plan, show, then apply when approved. The
/// run's folder keeps the snapshots, the plan (JSON and text), the journal, the log and
/// `run.json` (what became of the run, for `billsync runs`).
/// Returns apply's exit code (0 when nothing needed applying).
pub fn run_once(spec: &JobSpec, runs_dir: &Path, options: &RunOptions) -> anyhow::Result<u8> {
    let notifier = Notifier::from_spec(spec.notify.as_ref());
    let mut pending = Vec::new();
    let result = run_steps(spec, runs_dir, options, notifier.as_ref(), &mut pending);
    if let (Err(error), Some(notifier)) = (&result, &notifier) {
        pending.push(notifier.send(Event::Failed, &format!("{}: {error:#}", spec.label)));
    }
    crate::notify::finish_all(pending);
    result
}

fn run_steps(
    spec: &JobSpec,
    runs_dir: &Path,
    options: &RunOptions,
    notifier: Option<&Notifier>,
    pending: &mut Vec<Pending>,
) -> anyhow::Result<u8> {
    let approval = options.approval;
    // Two runs on one runs folder (a daemon's and a manual one, say) would plan from the same
    // state and both apply; the second waits for nothing and stops.
    let _run_lock = exclusive_lock(runs_dir, ".run.lock", "another billsync run is using")?;
    // One writer per Autotask database on this machine, for the whole run: a second run on
    // another folder, an apply or a daemon's run stops here before it reads or writes anything.
    let _database_lock = match &spec.autotask {
        Some(connection) => {
            let holder = Holder::new("run", &runs_dir.display().to_string(), "");
            Some(writer_lock(&database_lock_name(connection)?, &holder, "this Autotask database")?)
        }
        None => None,
    };
    let started = Utc::now();
    let folder = new_run_folder(runs_dir, started.with_timezone(&spec.zone()))?;
    print_line!("Run {} in {}", started.format("%Y-%m-%dT%H:%M:%SZ"), folder.display());
    let mut record = RunRecord::new(started.with_timezone(&spec.zone()).fixed_offset(), options.mode);
    record.save(&folder)?;
    // From here on a plan exists; the record says so once it is written.
    record.status = RunStatus::Planned;
    match options.mode {
        RunMode::Apply => {
            print_line!("Mode: apply (daemon --mode apply): the plan is applied without review")
        }
        RunMode::Plan => {
            print_line!("Mode: plan (daemon --mode plan): the plan waits for `billsync approve`")
        }
        RunMode::Run => {}
    }
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
            record.status = RunStatus::Failed;
            record.error = Some(error.to_string());
            record.save(&folder)?;
            return Err(error.into());
        }
    };
    let files = fetched.to_files()?;
    write("atria.json", &files.atria)?;
    write("autotask.json", &files.autotask)?;
    print_line!("Fetched: {}", fetched.summary());

    let plan = crate::compile::compile(crate::compile::CompileInput {
        spec,
        atria: &fetched.atria,
        autotask: &fetched.autotask,
        as_of: started,
    });
    let plan = match plan {
        Ok(plan) => plan,
        Err(error) => {
            record.status = RunStatus::Failed;
            record.error = Some(error.to_string());
            record.save(&folder)?;
            return Err(error.into());
        }
    };
    write("plan.json", plan.to_json().as_bytes())?;
    let text = crate::render::text(&plan, crate::render::TextOptions::default());
    write("plan.txt", text.as_bytes())?;
    write_renderings(&plan, &folder)?;
    print_text!("{text}");

    let plan_log: Vec<TimedEntry> = plan
        .log
        .iter()
        .map(|entry| TimedEntry {
            at: started,
            code: entry.code,
            level: entry.level,
            customer_code: entry.customer_code.as_deref().map(str::to_owned),
            message: entry.message.to_string(),
        })
        .collect();
    let write_log =
        |entries: &[TimedEntry]| write("log.jsonl", log_text(entries, Path::new("log.jsonl")).as_bytes());
    if !plan.has_changes() {
        print_line!("No changes to apply.");
        write_log(&plan_log)?;
        record.status = RunStatus::NoChanges;
        record.save(&folder)?;
        return Ok(0);
    }
    let approved = match approval {
        Approval::Given => true,
        Approval::Review => {
            print_line!(
                "Not applied (daemon --mode plan): review {}/plan.md, then `billsync approve {} --spec SPEC`.",
                folder.display(),
                folder.display()
            );
            false
        }
        Approval::Refused => {
            print_line!(
                "Not applied: standard input is not a terminal; pass --auto-approve to apply without asking."
            );
            false
        }
        Approval::Ask => confirm(plan.summary.changes())?,
    };
    if !approved {
        write_log(&plan_log)?;
        record.save(&folder)?;
        if let Some(notifier) = notifier {
            pending.push(notifier.send(Event::Ready, &crate::notify::ready_text(&plan, &folder)));
        }
        return Ok(0);
    }
    let journal_path = folder.join("plan.json.journal.jsonl");
    let apply_options = ApplyOptions {
        journal_path: journal_path.clone(),
        progress: std::io::stderr().is_terminal(),
        give_up_after: crate::apply::executor::DEFAULT_GIVE_UP_AFTER,
        customers: CustomerFilter::All,
    };
    let report = runtime.block_on(async {
        match connect_autotask(spec).await {
            Ok(client) => {
                let _resolved_lock = match &spec.autotask {
                    Some(connection) => {
                        let holder = Holder::new("run", &runs_dir.display().to_string(), &plan.plan_id);
                        let name = resolved_lock_name(&client, connection)?;
                        Some(writer_lock(&name, &holder, "this Autotask database")?)
                    }
                    None => None,
                };
                anyhow::Ok(apply(&plan, &client, &apply_options).await?)
            }
            Err(error) => stopped_before_start(error),
        }
    });
    let report = match report {
        Ok(report) => report,
        Err(error) => {
            record.status = RunStatus::Failed;
            record.error = Some(format!("{error:#}"));
            record.save(&folder)?;
            return Err(error);
        }
    };
    let mut log = plan_log;
    log.extend(report.log.iter().cloned());
    write_log(&log)?;
    let counts = counts_of(&report, 0);
    record.applied(counts, &options.approved_by, Utc::now());
    if let Some(error) = &report.stopped {
        record.error = Some(error.to_string());
    }
    record.save(&folder)?;
    if let Some(notifier) = notifier {
        let text =
            crate::notify::applied_text(&plan, &counts, &options.approved_by, &folder.join("plan.json"));
        pending.push(notifier.send(crate::notify::event_of(&counts), &text));
    }
    finish_apply(&report, spec.log_level, None, &journal_path)?;
    Ok(report.exit_code())
}

/// The reviewer's renderings beside `plan.json`: the Markdown summary, the HTML report and CSV.
fn write_renderings(plan: &Plan, folder: &Path) -> anyhow::Result<()> {
    use std::io::Write as _;

    use crate::files::write_atomically;
    use crate::render::markdown::{MarkdownOptions, markdown};
    let report = format!(
        "`{}` (or `billsync show {} --format html`)",
        folder.join("plan.html").display(),
        folder.join("plan.json").display()
    );
    let summary =
        markdown(plan, &MarkdownOptions { log_level: None, full_report: Some(report), limit: None });
    write_atomically(&folder.join("plan.md"), |out| out.write_all(summary.as_bytes()))?;
    // Streamed: a big plan's report and CSV need not sit in memory.
    let table = crate::render::TableOptions { log_level: None };
    write_atomically(&folder.join("plan.html"), |out| crate::render::html::write_html(plan, table, out))?;
    write_atomically(&folder.join("plan.csv"), |out| crate::render::csv::write_csv(plan, table, out))
}

/// Apply's numbers as a run's record keeps them.
pub(crate) fn counts_of(report: &ApplyReport, left_out: usize) -> ApplyCounts {
    ApplyCounts {
        applied: report.applied,
        already_done: report.already_done,
        refused: report.refused,
        // Changes an apply that stopped early never reached count as not done.
        failed: report.failed + report.unfinished,
        left_out,
    }
}

/// An exclusive advisory lock on `runs_dir/name`, held until the file is dropped; the operating
/// system releases it when the process ends, however it ends.
pub(crate) fn exclusive_lock(
    runs_dir: &Path,
    name: &str,
    held_message: &str,
) -> anyhow::Result<std::fs::File> {
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

/// Where billsync keeps state between runs (the writers' locks): `BILLSYNC_STATE_DIR`, else
/// `$XDG_STATE_HOME/billsync`, else `~/.local/state/billsync`.
pub fn state_dir() -> anyhow::Result<PathBuf> {
    let from_env = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty()).map(PathBuf::from);
    if let Some(dir) = from_env("BILLSYNC_STATE_DIR") {
        return Ok(dir);
    }
    if let Some(dir) = from_env("XDG_STATE_HOME") {
        return Ok(dir.join("billsync"));
    }
    let home = from_env("HOME")
        .context("cannot find a state folder for billsync's locks: set BILLSYNC_STATE_DIR (or HOME)")?;
    Ok(home.join(".local/state/billsync"))
}

/// Who holds a writer's lock, as the lock file says it (no secret: a command, a path, a plan id).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Holder {
    pid: u32,
    command: String,
    /// The plan file (apply) or the runs folder (run).
    what: String,
    #[serde(default)]
    plan_id: String,
    since: DateTime<Utc>,
}

impl Holder {
    fn new(command: &str, what: &str, plan_id: &str) -> Holder {
        Holder {
            pid: std::process::id(),
            command: command.to_owned(),
            what: what.to_owned(),
            plan_id: plan_id.get(..12).unwrap_or(plan_id).to_owned(),
            since: Utc::now(),
        }
    }

    fn describe(&self) -> String {
        let plan = if self.plan_id.is_empty() { String::new() } else { format!(" (plan {})", self.plan_id) };
        let what = if self.command == "apply" { "plan" } else { "runs folder" };
        format!(
            "pid {}, `billsync {}` of {what} `{}`{plan}, since {}",
            self.pid,
            self.command,
            self.what,
            self.since.format("%Y-%m-%dT%H:%M:%SZ")
        )
    }
}

/// The lock name of an Autotask database: a hash of where it is (the base URL, or the zone
/// discovery URL and zone user) and the API user, so no credential is ever in a file name.
fn database_lock_name(connection: &AutotaskConnection) -> anyhow::Result<String> {
    let place = if connection.base_url.trim().is_empty() {
        format!(
            "zone {} {}",
            connection.zone_discovery_url.trim().trim_end_matches('/').to_ascii_lowercase(),
            connection.zone_user.as_deref().unwrap_or_default().trim().to_ascii_lowercase()
        )
    } else {
        format!("base {}", connection.base_url.trim().trim_end_matches('/').to_ascii_lowercase())
    };
    lock_name_of(&place, connection)
}

/// The lock name of the database a connected client talks to: its zone's API URL, however the
/// spec named it (a `baseUrl`, or zone discovery), and the API user.
fn resolved_lock_name(client: &AutotaskClient, connection: &AutotaskConnection) -> anyhow::Result<String> {
    lock_name_of(&format!("api {}", client.api_url().as_str().to_ascii_lowercase()), connection)
}

fn lock_name_of(place: &str, connection: &AutotaskConnection) -> anyhow::Result<String> {
    use sha2::Digest as _;
    let username = crate::secrets::resolve("autotask.username", &connection.username)
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let mut hasher = sha2::Sha256::new();
    hasher.update(place.as_bytes());
    hasher.update(b"\n");
    hasher.update(username.expose().trim().to_ascii_lowercase().as_bytes());
    Ok(format!("autotask-{}", &hex::encode(hasher.finalize())[..16]))
}

/// An exclusive advisory lock `STATE/locks/NAME.lock` for one writer, held until dropped (the
/// system releases it when the process ends, however it ends). Taken at once or not at all:
/// a second writer stops with the holder named instead of waiting.
fn writer_lock(name: &str, holder: &Holder, subject: &str) -> anyhow::Result<std::fs::File> {
    use std::io::{Read as _, Seek as _, Write as _};
    let folder = state_dir()?.join("locks");
    std::fs::create_dir_all(&folder).with_context(|| format!("{}: cannot create", folder.display()))?;
    let path = folder.join(format!("{name}.lock"));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .with_context(|| format!("{}: cannot open", path.display()))?;
    match file.try_lock() {
        Ok(()) => {
            let text = serde_json::to_string(holder).expect("a holder serializes");
            file.set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| file.write_all(text.as_bytes()))
                .and_then(|()| file.sync_data())
                .with_context(|| format!("{}: cannot write", path.display()))?;
            Ok(file)
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            // The holder writes its name just after it locks; give it a moment to.
            let mut other = None;
            for _ in 0..20 {
                let mut text = String::new();
                let _ = file.rewind().and_then(|()| file.read_to_string(&mut text));
                if let Ok(holder) = serde_json::from_str::<Holder>(&text) {
                    other = Some(holder.describe());
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let other = other.unwrap_or_else(|| "another billsync process".to_owned());
            anyhow::bail!(
                "another billsync is writing to {subject}: {other}. Nothing was sent; run again when it has finished (lock `{}`)",
                path.display()
            )
        }
        Err(std::fs::TryLockError::Error(error)) => {
            Err(error).with_context(|| format!("{}: cannot lock", path.display()))
        }
    }
}

/// `runs/2026-11-26T220000Z` (UTC) or `runs/2026-11-26T220000+1100` (the spec's zone), with a
/// suffix when two runs start in the same second.
fn new_run_folder(runs_dir: &Path, started: DateTime<chrono_tz::Tz>) -> anyhow::Result<PathBuf> {
    let stamp = if started.timezone() == chrono_tz::Tz::UTC {
        started.format("%Y-%m-%dT%H%M%SZ").to_string()
    } else {
        started.format("%Y-%m-%dT%H%M%S%z").to_string()
    };
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
    print_text!("Apply {changes} changes to Autotask? [y/N] ");
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
    let schedule = Schedule::parse_in(expression, spec.zone())?;
    Ok((spec, schedule))
}

/// Runs the job at its schedule's times, one run at a time, until SIGTERM or SIGINT; a signal
/// during a run lets that run finish first.
pub fn daemon_command(args: DaemonArgs) -> anyhow::Result<ExitCode> {
    let (spec, schedule) = spec_with_schedule(&args.spec)?;
    let _daemon_lock = exclusive_lock(&args.runs_dir, ".daemon.lock", "another billsync daemon is using")?;
    let stop = stop_signals()?;
    print_line!(
        "billsync daemon: `{}` ({}), mode {}; stop with SIGTERM or Ctrl-C",
        schedule.expression(),
        schedule.zone().name(),
        match args.mode {
            DaemonMode::Plan => "plan (each plan waits for `billsync approve`)",
            DaemonMode::Apply => "apply (each plan is applied without review)",
        }
    );
    loop {
        let Some(next) = schedule.next_after(Utc::now()) else {
            print_line!("The schedule has no further run; stopping.");
            return Ok(ExitCode::SUCCESS);
        };
        print_line!("Next run at {}", crate::schedule::zoned_and_utc(&next));
        let next = next.with_timezone(&Utc);
        while let Some(wait) = wait_before_run(Utc::now(), next) {
            match stop.recv_timeout(wait) {
                Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    print_line!("Stopping: signal received.");
                    return Ok(ExitCode::SUCCESS);
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
        // A failed run is logged in its folder and printed; the daemon goes on to the next.
        let options = match args.mode {
            DaemonMode::Apply => RunOptions {
                approval: Approval::Given,
                mode: RunMode::Apply,
                approved_by: format!("{} (daemon --mode apply)", crate::history::os_user()),
            },
            DaemonMode::Plan => {
                RunOptions { approval: Approval::Review, mode: RunMode::Plan, approved_by: String::new() }
            }
        };
        match run_once(&spec, &args.runs_dir, &options) {
            Ok(code) => print_line!("Run finished with exit code {code}"),
            Err(error) => {
                eprint_line!(
                    "billsync: run failed: {}",
                    crate::render::escape_controls(&format!("{error:#}"))
                )
            }
        }
        if stop.try_recv().is_ok() {
            print_line!("Stopping: signal received during the run, which finished first.");
            return Ok(ExitCode::SUCCESS);
        }
    }
}

/// The longest the daemon waits before it reads the wall clock again.
const WAKE_AT_LEAST_EVERY: Duration = Duration::from_secs(60);

/// How long to wait before looking again, or `None` when the run is due. A wait is measured on
/// the monotonic clock, which stops while the machine sleeps and does not follow a corrected
/// wall clock, so a month's wait in one piece could start a run late, or early by the wall
/// clock (and so in another billing period): the daemon waits a minute at most, then asks the
/// wall clock again.
fn wait_before_run(now: DateTime<Utc>, next: DateTime<Utc>) -> Option<Duration> {
    let left = (next - now).to_std().ok().filter(|left| !left.is_zero())?;
    Some(left.min(WAKE_AT_LEAST_EVERY))
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
    print_line!(
        "{} ({}), next {} runs after {}:",
        schedule.expression(),
        schedule.zone().name(),
        args.next,
        from.format("%Y-%m-%dT%H:%M:%SZ")
    );
    for time in schedule.upcoming(from, args.next) {
        print_line!("  {}", crate::schedule::zoned_and_utc(&time));
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `fetch` on a small runtime of its own: the CLI stays synchronous.
pub fn fetch_online(spec: &JobSpec) -> anyhow::Result<crate::fetch::Fetched> {
    let runtime = runtime()?;
    // The error's text starts with its AT code; it never holds a secret.
    runtime
        .block_on(crate::fetch::fetch(spec, crate::autotask::ClientOptions::default()))
        .map_err(anyhow::Error::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemon_reads_the_wall_clock_at_least_every_minute_and_never_starts_early() {
        let at = |time: &str| time.parse::<DateTime<Utc>>().expect("a time");
        let next = at("2026-12-26T22:00:00Z");
        // A month ahead: a minute, then the wall clock is read again.
        assert_eq!(wait_before_run(at("2026-11-26T22:00:00Z"), next), Some(Duration::from_secs(60)));
        assert_eq!(wait_before_run(at("2026-12-26T21:59:30Z"), next), Some(Duration::from_secs(30)));
        assert_eq!(wait_before_run(at("2026-12-26T21:59:59.999Z"), next), Some(Duration::from_millis(1)));
        // Due at its time, or late after the machine slept through it.
        assert_eq!(wait_before_run(next, next), None);
        assert_eq!(wait_before_run(at("2026-12-27T08:00:00Z"), next), None);
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration(" 90s "), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["", "0s", "soon", "-1s", "2 weeks", "1e400s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_database_lock_is_named_by_a_hash_without_the_user() {
        let dir = tempfile::tempdir().expect("dir");
        for (file, user) in [("alice", "alice@example.com"), ("bob", "bob@example.com")] {
            std::fs::write(dir.path().join(file), user).expect("write");
        }
        let name = |base: &str, user_file: &str| {
            let path = dir.path().join(user_file);
            let yaml = format!(
                "version: 1\nlabel: x\nautotask:\n  baseUrl: \"{base}\"\n  zoneUser: a@b.c\n  username: {{ file: \"{}\" }}\n  secret: {{ env: S }}\n  integrationCode: {{ env: I }}\n",
                path.display()
            );
            let spec = crate::spec::parse(&yaml).expect("spec");
            database_lock_name(spec.autotask.as_ref().expect("autotask")).expect("name")
        };
        let alice = name("https://webservices14.autotask.net/ATServicesRest/", "alice");
        assert!(alice.starts_with("autotask-") && !alice.contains("alice"), "{alice}");
        assert_eq!(alice, name("https://WEBSERVICES14.autotask.net/ATServicesRest", "alice"));
        assert_ne!(alice, name("https://webservices14.autotask.net/ATServicesRest/", "bob"));
        assert_ne!(alice, name("https://webservices2.autotask.net/ATServicesRest/", "alice"));
    }

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
