//! `billsync revert`: the plan that undoes an applied plan. Autotask adjustments can never be
//! deleted, so an undo is opposing adjustments at the same effective dates: each changed line
//! goes from the plan's `to` back to its `from` (a created line back to 0: the API cannot delete
//! it). A line whose units are no longer the applied `to` moved since, and is refused (AT29)
//! for a person to look at. The result is a normal plan, reviewed and applied like any other.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Args;

use crate::codes::{Code, JobStatus};
use crate::plan::{Action, ActionKind, LogEntry, Plan, Summary};
use crate::snapshot::AutotaskSnapshot;

#[derive(Debug, Args)]
pub struct RevertArgs {
    /// The applied plan to undo
    pub applied_plan: PathBuf,
    /// The job spec (its `autotask` section, to fetch the lines' units now)
    #[arg(long)]
    pub spec: PathBuf,
    /// Where to write the reversal plan
    #[arg(long)]
    pub out: PathBuf,
    /// The Autotask snapshot to read the lines' units from, offline; default: fetched
    #[arg(long)]
    pub autotask: Option<PathBuf>,
    /// The reversal plan's time (RFC 3339); default: now
    #[arg(long)]
    pub as_of: Option<String>,
}

/// The reversal of `applied`, from the contract lines' units in `autotask` (pure).
pub fn revert(applied: &Plan, autotask: &AutotaskSnapshot, as_of: DateTime<Utc>) -> Plan {
    let mut actions = Vec::new();
    for action in applied.actions.iter().filter(|action| action.kind.is_change()) {
        actions.push(opposing(action, autotask));
    }
    let mut log = vec![
        entry(Code::AT22, None, Code::AT22.message(&[("job", &applied.job.label)])),
        entry(
            Code::AT01,
            None,
            Code::AT01.message(&[("periodEndDate", &applied.period.end_date.to_string())]),
        ),
    ];
    for action in &actions {
        log.push(entry(action.code, Some(&action.customer_code), action.message.clone()));
    }
    let status = JobStatus::of(log.iter().map(|entry| entry.level));
    log.push(entry(Code::AT24, None, Code::AT24.message(&[("status", status.as_str())])));
    let autotask_sha256 = crate::snapshot::autotask_sha256(autotask);
    let plan_id = crate::snapshot::sha256_json(&serde_json::json!({
        "revert": applied.plan_id,
        "autotask": autotask_sha256,
        "asOf": as_of,
    }));
    // Everything but what the reversal decides stays as the applied plan had it (job, period,
    // settings): apply checks the spec against the plan's settings, and the spec is the same.
    let mut reversal = applied.clone();
    reversal.plan_id = plan_id;
    reversal.as_of = as_of;
    reversal.inputs.autotask_sha256 = autotask_sha256;
    reversal.summary = Summary::of(&actions);
    reversal.actions = actions;
    reversal.log = log;
    // Sealed like any plan, so that apply takes exactly this reversal and nothing edited since.
    reversal.digest = reversal.content_digest();
    reversal
}

fn entry(code: Code, customer_code: Option<&str>, message: impl Into<std::sync::Arc<str>>) -> LogEntry {
    LogEntry {
        code,
        level: code.level(),
        customer_code: customer_code.map(Into::into),
        message: message.into(),
    }
}

/// The action that undoes one applied change.
fn opposing(action: &Action, autotask: &AutotaskSnapshot) -> Action {
    let name = action.description.clone().unwrap_or_default();
    let applied_to = action.to.unwrap_or_default();
    // A create has no `from`: the line did not exist, and 0 is as near as Autotask allows.
    let original = if action.kind == ActionKind::Create { 0 } else { action.from.unwrap_or_default() };
    let line = action.contract_service_id.or_else(|| {
        autotask
            .contract_services
            .iter()
            .find(|line| {
                Some(line.contract_id) == action.contract_id && Some(line.service_id) == action.service_id
            })
            .map(|line| line.id)
    });
    let base = Action {
        kind: ActionKind::Unchanged,
        code: Code::AT10,
        contract_service_id: line,
        from: None,
        to: None,
        message: "".into(),
        ..action.clone()
    };
    let Some(line) = line else {
        let message =
            format!("{} Contract line for {name} was never created: nothing to revert", action.customer_name);
        return Action { message: message.into(), ..base };
    };
    let effective = action.effective_date.unwrap_or_default();
    let current = autotask.units_at(line, effective);
    if current == original && current != applied_to {
        let message = format!(
            "{} Contract line {line} for {name} is at {current}, its units before the plan: nothing to revert",
            action.customer_name
        );
        return Action { from: Some(current), to: Some(current), message: message.into(), ..base };
    }
    if current != applied_to {
        let message = Code::AT29.message(&[
            ("customerName", &action.customer_name),
            ("contractServiceId", &line.to_string()),
            ("name", &name),
            ("current", &current.to_string()),
            ("from", &applied_to.to_string()),
        ]);
        return Action {
            kind: ActionKind::Skip,
            code: Code::AT29,
            from: Some(current),
            message: message.into(),
            ..base
        };
    }
    let (kind, code, message) = if original == 0 {
        let message = Code::AT13.message(&[
            ("customerName", &action.customer_name),
            ("description", &name),
            ("name", &name),
            ("from", &format!("{applied_to}.00")),
        ]);
        (ActionKind::Zero, Code::AT13, message)
    } else {
        let message = Code::AT09.message(&[
            ("customerName", &action.customer_name),
            ("lineDescription", &name),
            ("sku", action.sku.as_deref().unwrap_or_default()),
            ("from", &applied_to.to_string()),
            ("to", &original.to_string()),
        ]);
        (ActionKind::Update, Code::AT09, message)
    };
    Action {
        kind,
        code,
        from: Some(applied_to),
        to: Some(original),
        message: format!("Revert: {message}").into(),
        ..base
    }
}

pub fn revert_command(args: RevertArgs) -> anyhow::Result<ExitCode> {
    let applied = Plan::load(&args.applied_plan).map_err(|problems| anyhow::anyhow!("{problems}"))?;
    let spec = crate::online::load_spec(&args.spec)?;
    let as_of = match &args.as_of {
        None => Utc::now(),
        Some(text) => {
            DateTime::parse_from_rfc3339(text.trim()).map(|time| time.with_timezone(&Utc)).map_err(|_| {
                anyhow::anyhow!("--as-of `{text}`: expected an RFC 3339 time such as 2026-11-24T22:00:00Z")
            })?
        }
    };
    let autotask = match &args.autotask {
        Some(path) => {
            crate::snapshot::load_autotask(path).map_err(|problems| anyhow::anyhow!("{problems}"))?
        }
        None => crate::online::fetch_online(&spec)?.autotask,
    };
    let reversal = revert(&applied, &autotask, as_of);
    crate::files::write_atomically(&args.out, |file| reversal.write_json(file))?;
    let summary = &reversal.summary;
    print_line!(
        "{}: reversal of {}: {} update, {} zero, {} unchanged, {} refused (AT29: the line moved since)",
        args.out.display(),
        args.applied_plan.display(),
        summary.update,
        summary.zero,
        summary.unchanged,
        summary.skip
    );
    for action in reversal.actions.iter().filter(|action| action.kind == ActionKind::Skip) {
        print_line!("  AT29 {}", action.message);
    }
    Ok(ExitCode::SUCCESS)
}
