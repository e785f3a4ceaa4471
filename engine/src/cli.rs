//! The command line: argument parsing and the commands, over the library's pure core.
//! `main` only maps the outcome to an exit code.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::compile::{CompileInput, compile_undigested};
use crate::files::write_atomically;
use crate::online::load_spec;
use crate::plan::Plan;
use crate::render::markdown::{MarkdownOptions, markdown};
use crate::render::{
    TableOptions, TextOptions, colour, diff, plan_diff, write_body, write_header, write_text,
};
use crate::{codes::LogLevel, snapshot, spec};

#[derive(Debug, Parser)]
#[command(name = "billsync", version, about = "Keep Autotask contract quantities equal to Atria billing")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile a plan from a job spec and two snapshots, or from what `fetch` reads when the
    /// snapshots are not given
    Plan(PlanArgs),
    /// Read both snapshots from Atria and Autotask into a folder (`atria.json`, `autotask.json`)
    Fetch(FetchArgs),
    /// Render a saved plan as text, JSON, Markdown, CSV or HTML
    Show(ShowArgs),
    /// Month over month: two plans line by line (targets, units, money), or the unified diff of
    /// two snapshots of one kind (exit 0 same, 2 different)
    Diff(DiffArgs),
    /// Job spec tools: validate, schema, import
    #[command(subcommand)]
    Spec(SpecCommand),
    /// Convert an export of Atria's into a snapshot (`import atria-summary`)
    #[command(subcommand)]
    Import(ImportCommand),
    /// Apply a reviewed plan to Autotask, exactly once (journaled, drift-checked)
    Apply(crate::online::ApplyArgs),
    /// Fetch, plan, show, then apply after a confirmation (Atria's "Run Now")
    Run(crate::online::RunArgs),
    /// Print the next run times of the spec's cron schedule
    Schedule(crate::online::ScheduleArgs),
    /// Run the job at its schedule's times until SIGTERM or SIGINT
    Daemon(crate::online::DaemonArgs),
    /// List past runs: when, plan digest, status, counts, applied or not, by whom
    Runs(crate::history::RunsArgs),
    /// Apply a reviewed run's plan (`daemon --mode plan`, or a `run` not applied), as `apply` does
    Approve(crate::approve::ApproveArgs),
    /// Write the plan that undoes an applied plan: opposing changes at the same effective dates
    Revert(crate::revert::RevertArgs),
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The job spec (YAML)
    #[arg(long)]
    pub spec: PathBuf,
    /// The Atria billing snapshot (`billsync.atria/v1`); with `--autotask`. Without both,
    /// the snapshots are fetched from the spec's `atria` and `autotask` hosts
    #[arg(long, requires = "autotask")]
    pub atria: Option<PathBuf>,
    /// The Autotask contract snapshot (`billsync.autotask/v1`); with `--atria`
    #[arg(long, requires = "atria")]
    pub autotask: Option<PathBuf>,
    /// Keep the fetched snapshots in this folder (only when fetching)
    #[arg(long, conflicts_with = "atria")]
    pub save_snapshots: Option<PathBuf>,
    /// The plan's time (RFC 3339, e.g. 2026-11-24T22:00:00Z); default: now
    #[arg(long)]
    pub as_of: Option<String>,
    /// Also write the plan JSON to this file
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the plan JSON instead of the text rendering
    #[arg(long)]
    pub json: bool,
    /// Exit 2 when the plan has changes (0 when none, 1 on error)
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Also write the Markdown summary there (e.g. `$GITHUB_STEP_SUMMARY`)
    #[arg(long, value_name = "FILE")]
    pub summary_md: Option<PathBuf>,
    /// Colour the text: on a terminal without NO_COLOR (auto), always, or never
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// When to colour terminal text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    fn wanted(self) -> bool {
        match self {
            ColorChoice::Auto => stdout_wants_colour(),
            ColorChoice::Always => true,
            ColorChoice::Never => false,
        }
    }
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The job spec (YAML), with its `atria` and `autotask` sections
    #[arg(long)]
    pub spec: PathBuf,
    /// The folder to write `atria.json` and `autotask.json` into (created if missing)
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan JSON file written by `billsync plan --out`
    pub plan: PathBuf,
    /// Show log entries down to this level instead of the plan's logLevel
    #[arg(long)]
    pub log_level: Option<LogLevel>,
    /// What to render: text (colour on a terminal), the plan JSON, Markdown, CSV, an HTML report
    /// or an Excel workbook (xlsx, with `--out`)
    #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
    pub format: ShowFormat,
    /// Write the rendering to this file instead of stdout (required for xlsx)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Start the CSV with a UTF-8 byte-order mark, so that Excel reads its accents right
    #[arg(long)]
    pub bom: bool,
    /// Colour the text: on a terminal without NO_COLOR (auto), always, or never
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    Text,
    Json,
    Markdown,
    Csv,
    Html,
    Xlsx,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older plan or snapshot (JSON)
    pub old: PathBuf,
    /// The newer plan or snapshot, of the same kind
    pub new: PathBuf,
    /// How to show a diff of two plans (snapshots always show a unified diff)
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Colour the text: on a terminal without NO_COLOR (auto), always, or never
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum SpecCommand {
    /// Validate job spec files; every problem is reported with its line and column
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the job spec's JSON Schema
    Schema,
    /// Convert the Atria job's JSON parameters (and secrets) into spec YAML on stdout
    Import {
        /// The job's "Configuration" JSON
        #[arg(long)]
        params: PathBuf,
        /// The job's "Secrets" JSON: checked, never copied
        #[arg(long)]
        secrets: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Convert Atria's Service Billing Summary report (exported as .csv or .xlsx) into an Atria
    /// snapshot (`billsync.atria/v1`) for `plan --atria`
    AtriaSummary(AtriaSummaryArgs),
}

#[derive(Debug, Args)]
pub struct AtriaSummaryArgs {
    /// The exported report: `.csv` (UTF-8, with or without BOM, as Excel saves it) or `.xlsx`
    pub report: PathBuf,
    /// The first day of the report's billing period
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub period_start: String,
    /// The last day of the report's billing period
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub period_end: String,
    /// Whether the billing period is still open or already closed
    #[arg(long, value_enum, default_value_t = snapshot::PeriodStatus::Closed)]
    pub period_status: snapshot::PeriodStatus,
    /// The worksheet to read from an .xlsx workbook; default: the first
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
    /// Where to write the Atria snapshot (written only when the whole report converts)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

impl clap::ValueEnum for snapshot::PeriodStatus {
    fn value_variants<'a>() -> &'a [Self] {
        &[snapshot::PeriodStatus::Open, snapshot::PeriodStatus::Closed]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(match self {
            snapshot::PeriodStatus::Open => "open",
            snapshot::PeriodStatus::Closed => "closed",
        }))
    }
}

impl clap::ValueEnum for LogLevel {
    fn value_variants<'a>() -> &'a [Self] {
        &[LogLevel::Error, LogLevel::Warning, LogLevel::Info, LogLevel::Verbose]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

/// Runs a parsed command line; the exit code for success and "changes" comes back here,
/// errors come back as `Err` (exit 1), their text with control characters escaped (errors quote
/// names and server text, and are printed on a terminal).
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    run_command(cli).map_err(|error| {
        let text = format!("{error:#}");
        match crate::render::escape_controls(&text) {
            std::borrow::Cow::Borrowed(_) => error,
            std::borrow::Cow::Owned(escaped) => anyhow::anyhow!(escaped),
        }
    })
}

fn run_command(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Plan(args) => plan(args),
        Command::Fetch(args) => {
            let spec = load_spec(&args.spec)?;
            let fetched = crate::online::fetch_online(&spec)?;
            let files = save_snapshots(&fetched, &args.out)?;
            print_line!("{}: {}", files.display(), fetched.summary());
            Ok(ExitCode::SUCCESS)
        }
        Command::Show(args) => show(args),
        Command::Diff(args) => diff_files(&args),
        Command::Apply(args) => crate::online::apply_command(args),
        Command::Run(args) => crate::online::run_command(args),
        Command::Schedule(args) => crate::online::schedule_command(args),
        Command::Daemon(args) => crate::online::daemon_command(args),
        Command::Import(ImportCommand::AtriaSummary(args)) => import_atria_summary(&args),
        Command::Runs(args) => crate::history::runs_command(args),
        Command::Approve(args) => crate::approve::approve_command(args),
        Command::Revert(args) => crate::revert::revert_command(args),
        Command::Spec(SpecCommand::Validate { files }) => validate(&files),
        Command::Spec(SpecCommand::Schema) => {
            print(&crate::schemas::schema_text(&spec::JobSpec::schema()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Spec(SpecCommand::Import { params, secrets }) => {
            let params_text = read_text(&params)?;
            let secrets_text = secrets.as_deref().map(read_text).transpose()?;
            // A zone unknown to the IANA database (or none found) stays out: UTC is the default.
            let zone =
                iana_time_zone::get_timezone().ok().filter(|zone| crate::schedule::parse_zone(zone).is_ok());
            let yaml = spec::import_legacy_in_zone(&params_text, secrets_text.as_deref(), zone.as_deref())
                .map_err(|error| {
                    let spec::ImportError::Invalid(problems) = error;
                    let file = if problems
                        .iter()
                        .any(|p| p.place.starts_with("$.UserName") || p.place.starts_with("$.Secret"))
                    {
                        secrets.clone().unwrap_or(params.clone())
                    } else {
                        params.clone()
                    };
                    anyhow::anyhow!("{}", problems.in_file(&file))
                })?;
            print(&yaml)?;
            // What the imported spec still needs (the Atria host is a placeholder until set).
            if let Ok((_, warnings)) = spec::parse_with_warnings(&yaml) {
                let imported = Path::new("the imported spec");
                for warning in warnings.in_file(imported).iter() {
                    eprint_line!("billsync: {}", crate::render::escape_controls(&warning.to_string()));
                }
            }
            if secrets.is_some() {
                eprint_line!(
                    "billsync: the secrets were checked but not copied; set AUTOTASK_USERNAME, AUTOTASK_SECRET and AUTOTASK_INTEGRATION_CODE in the environment"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))
}

fn print(text: &str) -> anyhow::Result<()> {
    print_with(|stdout| stdout.write_all(text.as_bytes()))
}

fn print_with(
    write: impl FnOnce(&mut std::io::StdoutLock<'static>) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match write(&mut stdout).and_then(|()| stdout.flush()) {
        // A closed pipe (`billsync show plan.json | head`) is not an error.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to stdout"),
    }
}

/// Colour only for a person at a terminal who has not asked for none (<https://no-color.org>).
fn stdout_wants_colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

fn show(args: ShowArgs) -> anyhow::Result<ExitCode> {
    if args.bom && args.format != ShowFormat::Csv {
        bail!("--bom is for `--format csv` only");
    }
    if args.format == ShowFormat::Xlsx && args.out.is_none() {
        bail!("`--format xlsx` writes a workbook: name the file with `--out FILE.xlsx`");
    }
    let plan = Plan::load(&args.plan)?;
    let table = TableOptions { log_level: args.log_level };
    let workbook = match args.format {
        ShowFormat::Xlsx => Some(
            crate::render::xlsx::xlsx(&plan, table)
                .with_context(|| format!("{}: cannot render as xlsx", args.plan.display()))?,
        ),
        _ => None,
    };
    // Streamed to the file or stdout: a big plan's rendering need not sit in memory.
    let render = |writer: &mut dyn std::io::Write| -> std::io::Result<()> {
        match args.format {
            ShowFormat::Json => plan.write_json(writer),
            ShowFormat::Text if args.out.is_none() && args.color.wanted() => {
                colour::write_plan_text(&plan, TextOptions { log_level: args.log_level }, writer)
            }
            ShowFormat::Text => write_text(&plan, TextOptions { log_level: args.log_level }, writer),
            ShowFormat::Markdown => {
                let options = MarkdownOptions {
                    log_level: args.log_level,
                    full_report: Some(format!("`billsync show {} --format html`", args.plan.display())),
                    limit: None,
                };
                writer.write_all(markdown(&plan, &options).as_bytes())
            }
            ShowFormat::Csv => {
                if args.bom {
                    writer.write_all("\u{feff}".as_bytes())?;
                }
                crate::render::csv::write_csv(&plan, table, writer)
            }
            ShowFormat::Html => crate::render::html::write_html(&plan, table, writer),
            ShowFormat::Xlsx => writer.write_all(workbook.as_deref().unwrap_or_default()),
        }
    };
    match &args.out {
        Some(out) => write_atomically(out, |file| render(file))?,
        None => print_with(|stdout| render(stdout))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `billsync diff`: 0 when the two plans have the same lines (or the snapshots are equal), 2
/// when not; a mismatch of kinds is an error.
fn diff_files(args: &DiffArgs) -> anyhow::Result<ExitCode> {
    let (old, new) = (args.old.as_path(), args.new.as_path());
    let document = |path: &Path| -> anyhow::Result<(diff::DocumentKind, Vec<u8>)> {
        let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
        let kind =
            diff::document_kind(&bytes).map_err(|problems| anyhow::anyhow!("{}", problems.in_file(path)))?;
        Ok((kind, bytes))
    };
    let ((old_kind, old_bytes), (new_kind, new_bytes)) = (document(old)?, document(new)?);
    if old_kind != new_kind {
        bail!(
            "cannot compare {} (`{}`) with {} (`{}`): diff takes two plans or two snapshots of one kind",
            old.display(),
            old_kind.format(),
            new.display(),
            new_kind.format()
        );
    }
    if old_kind == diff::DocumentKind::Plan {
        let load = |path: &Path, bytes: &[u8]| {
            Plan::from_json(bytes).map_err(|problems| anyhow::anyhow!("{}", problems.in_file(path)))
        };
        let (old_plan, new_plan) = (load(old, &old_bytes)?, load(new, &new_bytes)?);
        let compared = plan_diff::plan_diff(
            &old.display().to_string(),
            &old_plan,
            &new.display().to_string(),
            &new_plan,
        );
        let rendered = match args.format {
            // Like `diff`, nothing to say when nothing differs.
            DiffFormat::Text if compared.is_empty() => String::new(),
            DiffFormat::Text => {
                let plain = plan_diff::text(&compared);
                if args.color.wanted() { colour::plan_diff(&plain) } else { plain }
            }
            DiffFormat::Markdown => plan_diff::markdown(&compared),
            DiffFormat::Json => plan_diff::json(&compared),
        };
        print(&rendered)?;
        return Ok(if compared.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) });
    }
    if args.format != DiffFormat::Text {
        bail!("`--format {:?}` is for two plans; snapshots show a unified diff", args.format);
    }
    let text = |path: &Path, bytes: &[u8]| {
        diff::document_text(bytes)
            .map(|(_, text)| text)
            .map_err(|problems| anyhow::anyhow!("{}", problems.in_file(path)))
    };
    let (old_text, new_text) = (text(old, &old_bytes)?, text(new, &new_bytes)?);
    let old_label = old.display().to_string();
    let new_label = new.display().to_string();
    match diff::unified(&old_label, &old_text, &new_label, &new_text) {
        None => Ok(ExitCode::SUCCESS),
        Some(unified) => {
            // Snapshot JSON escapes C0 controls but not DEL or C1; names reach the diff as they are.
            let unified = crate::render::escape_controls(&unified).into_owned();
            print(&if args.color.wanted() { colour::diff(&unified) } else { unified })?;
            Ok(ExitCode::from(2))
        }
    }
}

fn validate(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut failed = 0;
    for file in files {
        match spec::load_with_warnings(file) {
            Ok((_, warnings)) => {
                print_line!("{}: ok", file.display());
                for warning in warnings.iter() {
                    eprint_line!("{}", crate::render::escape_controls(&warning.to_string()));
                }
            }
            Err(problems) => {
                failed += 1;
                eprint_line!("{}", crate::render::escape_controls(&problems.to_string()));
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} spec files are invalid", files.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// `billsync import atria-summary`: the whole report converts and re-parses as a snapshot, or
/// nothing is written.
fn import_atria_summary(args: &AtriaSummaryArgs) -> anyhow::Result<ExitCode> {
    let date = |flag: &str, text: &str| {
        chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .with_context(|| format!("{flag} `{text}`: expected a date such as 2026-10-26 (YYYY-MM-DD)"))
    };
    let start_date = date("--period-start", &args.period_start)?;
    let end_date = date("--period-end", &args.period_end)?;
    if end_date < start_date {
        bail!("--period-end {end_date} is before --period-start {start_date}");
    }
    let period = snapshot::BillingPeriod { start_date, end_date, status: args.period_status };
    let atria = crate::import::load_atria_summary(&args.report, args.sheet.as_deref(), period)
        .map_err(|problems| anyhow::anyhow!("{problems}"))?;
    let mut bytes = serde_json::to_vec_pretty(&atria).context("the snapshot serializes")?;
    bytes.push(b'\n');
    // What `plan --atria` will load is checked before anything is written.
    snapshot::parse_atria(&bytes).map_err(|problems| {
        anyhow::anyhow!("{}: the converted snapshot does not load back: {problems}", args.report.display())
    })?;
    write_atomically(&args.out, |file| file.write_all(&bytes))?;
    let billable = atria.billing.iter().filter(|row| row.billable).count();
    let without_account_code = atria.customers.iter().filter(|c| c.billing_identifier.is_none()).count();
    let count = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    print_line!(
        "{}: {}, {} ({billable} billable) from {}, period {start_date} to {end_date} ({})",
        args.out.display(),
        count(atria.customers.len(), "customer", "customers"),
        count(atria.billing.len(), "billing row", "billing rows"),
        args.report.display(),
        match args.period_status {
            snapshot::PeriodStatus::Open => "open",
            snapshot::PeriodStatus::Closed => "closed",
        }
    );
    if without_account_code > 0 {
        print_line!(
            "{} no Customer Account Code (Billing Identifier): AT04 when planned",
            count(without_account_code, "customer has", "customers have")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_as_of(text: Option<&str>) -> anyhow::Result<DateTime<Utc>> {
    match text {
        None => Ok(Utc::now()),
        Some(text) => {
            DateTime::parse_from_rfc3339(text.trim()).map(|time| time.with_timezone(&Utc)).with_context(
                || format!("--as-of `{text}`: expected an RFC 3339 time such as 2026-11-24T22:00:00Z"),
            )
        }
    }
}

/// Writes `atria.json` and `autotask.json` (checked by re-parsing) into `folder`.
fn save_snapshots(fetched: &crate::fetch::Fetched, folder: &Path) -> anyhow::Result<PathBuf> {
    let files = fetched.to_files()?;
    std::fs::create_dir_all(folder).with_context(|| format!("{}: cannot create", folder.display()))?;
    write_atomically(&folder.join("atria.json"), |file| file.write_all(&files.atria))?;
    write_atomically(&folder.join("autotask.json"), |file| file.write_all(&files.autotask))?;
    Ok(folder.to_owned())
}

fn plan(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let as_of = parse_as_of(args.as_of.as_deref())?;
    let (spec, atria, autotask, atria_sha256) = match (&args.atria, &args.autotask) {
        (Some(atria), Some(autotask)) => load_inputs(&args.spec, atria, autotask)?,
        _ => {
            let spec = load_spec(&args.spec)?;
            let fetched = crate::online::fetch_online(&spec)?;
            if let Some(folder) = &args.save_snapshots {
                save_snapshots(&fetched, folder)?;
            }
            (spec, fetched.atria, fetched.autotask, None)
        }
    };
    let input = CompileInput { spec: &spec, atria: &atria, autotask: &autotask, as_of };
    let mut plan = compile_undigested(input, atria_sha256)
        .with_context(|| format!("{}: billingPeriod", args.spec.display()))?;
    // The digest (all of the plan serialized and hashed) and the text body (which does not show
    // it) are made side by side; only the three header lines wait for the digest.
    let plain_text = !args.json && !args.color.wanted();
    let (digest, body) = std::thread::scope(|scope| {
        let digest = scope.spawn(|| plan.content_digest());
        // The snapshots are not needed past this point: freed beside the digest (the longer of
        // the two), their memory then holds the text body, and a big run's peak stays lower.
        drop((atria, autotask));
        let body = plain_text.then(|| {
            // Sized once (about 80 bytes a line; capacity never written costs no memory): grown
            // by doubling, a big plan's text held two copies at the last step.
            let mut body = Vec::with_capacity((plan.actions.len() + plan.log.len()) * 128 + (1 << 16));
            write_body(&plan, TextOptions::default(), &mut body).map(|()| body)
        });
        (digest.join().expect("hashing does not panic"), body)
    });
    plan.digest = digest;
    if let Some(out) = &args.out {
        write_atomically(out, |file| plan.write_json(file))?;
    }
    if let Some(summary) = &args.summary_md {
        let full_report = match &args.out {
            Some(out) => format!("`billsync show {} --format html`", out.display()),
            None => "`billsync show PLAN --format html` on the plan written by `billsync plan --out PLAN`"
                .to_owned(),
        };
        let options = MarkdownOptions { log_level: None, full_report: Some(full_report), limit: None };
        let text = markdown(&plan, &options);
        write_atomically(summary, |file| file.write_all(text.as_bytes()))?;
    }
    if args.json {
        print_with(|stdout| plan.write_json(stdout))?;
    } else if args.color.wanted() {
        print_with(|stdout| colour::write_plan_text(&plan, TextOptions::default(), stdout))?;
    } else {
        let body = body.expect("rendered for plain text").context("rendering the plan")?;
        print_with(|stdout| {
            write_header(&plan, &mut *stdout)?;
            stdout.write_all(&body)
        })?;
    }
    let code =
        if args.detailed_exitcode && plan.has_changes() { ExitCode::from(2) } else { ExitCode::SUCCESS };
    // The process ends here: its memory goes back whole, without freeing a big plan's million
    // strings one by one first.
    std::mem::forget(plan);
    Ok(code)
}

/// Reads and checks the spec and both snapshot files, naming every broken file in one error;
/// with them, the Atria snapshot's digest.
fn load_inputs(
    spec_path: &Path,
    atria_path: &Path,
    autotask_path: &Path,
) -> anyhow::Result<(spec::JobSpec, snapshot::AtriaSnapshot, snapshot::AutotaskSnapshot, Option<String>)> {
    // The two snapshots load side by side. The Autotask file is the bigger one: the Atria
    // thread computes its snapshot's digest (which compile needs) in the meantime, then loads
    // the spec (milliseconds: its JSON Schema is built and compiled).
    let ((atria, spec), autotask) = std::thread::scope(|scope| {
        let atria_and_spec = scope.spawn(|| {
            let atria = snapshot::load_atria(atria_path).map(|atria| {
                let digest = snapshot::atria_sha256(&atria);
                (atria, digest)
            });
            (atria, spec::load(spec_path))
        });
        let autotask = snapshot::load_autotask(autotask_path);
        (atria_and_spec.join().expect("loading does not panic"), autotask)
    });
    match (spec, atria, autotask) {
        (Ok(spec), Ok((atria, atria_sha256)), Ok(autotask)) => {
            Ok((spec, atria, autotask, Some(atria_sha256)))
        }
        (spec, atria, autotask) => {
            let mut problems = crate::problems::Problems::default();
            for result in [spec.err(), atria.err(), autotask.err()] {
                problems.extend(result.unwrap_or_default());
            }
            Err(anyhow::anyhow!("{problems}"))
        }
    }
}
