//! `billsync approve RUN_DIR`: applies a reviewed run's plan later (a `daemon --mode plan` run, or
//! a `run` that was not applied) through exactly the path of `billsync apply`, and records who
//! approved it in the run's history.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, FromArgMatches as _};

use crate::history::RunRecord;
use crate::online::ApplyArgs;
use crate::plan::Plan;

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// A run folder (`runs/2026-11-26T220000Z`) holding the reviewed `plan.json` and `run.json`
    pub run_dir: PathBuf,
    /// The job spec: where Autotask is and the credentials' references
    #[arg(long)]
    pub spec: PathBuf,
    /// Who approves, as `billsync runs` shows it; default: the OS user
    #[arg(long, value_name = "NAME")]
    pub approved_by: Option<String>,
    /// Apply only these customers' changes (Atria codes); the rest stay pending
    #[arg(long = "customer", value_name = "CODE", num_args = 1..)]
    pub customers: Vec<String>,
    /// Apply every customer's changes except these; they stay pending
    #[arg(long = "exclude-customer", value_name = "CODE", num_args = 1.., conflicts_with = "customers")]
    pub exclude_customers: Vec<String>,
}

pub fn approve_command(args: ApproveArgs) -> anyhow::Result<ExitCode> {
    let folder = &args.run_dir;
    let record = RunRecord::load(folder)?.with_context(|| {
        format!(
            "{}: not a run folder (no `run.json`); apply a plan file with `billsync apply PLAN`",
            folder.display()
        )
    })?;
    let plan_path = folder.join("plan.json");
    let plan = Plan::load(&plan_path).map_err(|problems| anyhow::anyhow!("{problems}"))?;
    if !plan.has_changes() {
        print_line!("{}: the plan has no changes; nothing to approve", folder.display());
        return Ok(ExitCode::SUCCESS);
    }
    // One run at a time per runs folder: a daemon's run must not plan while this one applies.
    let runs_dir = folder.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(".".as_ref());
    let _run_lock = crate::online::exclusive_lock(runs_dir, ".run.lock", "another billsync run is using")?;
    print_line!(
        "Approving the {} run of {} ({} changes)",
        record.mode.as_str(),
        record.started_at.format("%Y-%m-%d %H:%M %:z"),
        plan.summary.changes()
    );

    // The arguments of `billsync apply`, parsed by its own definition so that every apply
    // option keeps its default and the two commands cannot drift apart.
    let mut argv: Vec<std::ffi::OsString> = vec![plan_path.into(), "--spec".into()];
    argv.push(args.spec.clone().into());
    argv.extend(["--log".into(), folder.join("apply-log.jsonl").into_os_string()]);
    if let Some(name) = &args.approved_by {
        argv.extend(["--approved-by".into(), name.into()]);
    }
    for code in &args.customers {
        argv.extend(["--customer".into(), code.into()]);
    }
    for code in &args.exclude_customers {
        argv.extend(["--exclude-customer".into(), code.into()]);
    }
    let command = <ApplyArgs as Args>::augment_args(clap::Command::new("apply").no_binary_name(true));
    let matches = command.try_get_matches_from(argv).context("cannot pass the approval on to apply")?;
    let apply_args = ApplyArgs::from_arg_matches(&matches).context("cannot pass the approval on to apply")?;
    crate::online::apply_command(apply_args)
}
