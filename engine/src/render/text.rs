//! The text rendering of a plan: header, actions grouped by customer, summary line, filtered log.
//! Names come from Atria and Autotask, so every line shows control characters escaped.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;

use crate::codes::{Code, LogLevel};
use crate::plan::{Action, ActionKind, Plan};
use crate::terminal::escape_controls_line;

/// Options of the text rendering.
#[derive(Clone, Copy, Debug, Default)]
pub struct TextOptions {
    /// The least important log level shown; `None`: the plan's own `logLevel` setting.
    pub log_level: Option<LogLevel>,
}

/// The plan as a reviewer reads it: header, actions by customer, summary, then the AT log.
pub fn text(plan: &Plan, options: TextOptions) -> String {
    let mut out = Vec::new();
    write_text(plan, options, &mut out).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("the rendering is UTF-8")
}

/// [`text`], written straight to `writer` (a big plan's text need not sit in memory).
pub fn write_text(plan: &Plan, options: TextOptions, writer: impl std::io::Write) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, writer);
    write_header(plan, &mut out)?;
    write_body(plan, options, &mut out)?;
    out.flush()
}

/// The three header lines: plan id and job, period and dates, digest.
pub fn write_header(plan: &Plan, mut out: impl std::io::Write) -> std::io::Result<()> {
    let period = &plan.period;
    writeln!(out, "billsync plan {} — {}", short_id(&plan.plan_id), escape_controls_line(&plan.job.label))?;
    writeln!(
        out,
        "Period {} – {} ({}), as of {}, effective {}",
        period.start_date,
        period.end_date,
        match period.status {
            crate::snapshot::PeriodStatus::Open => "open",
            crate::snapshot::PeriodStatus::Closed => "closed",
        },
        plan.as_of.format("%Y-%m-%dT%H:%M:%SZ"),
        plan.settings.effective_date.format("%Y-%m-%dT%H:%M:%SZ"),
    )?;
    // What apply checks and `apply --expect-digest` binds an approval to.
    writeln!(out, "Digest {}", plan.short_digest())
}

/// Everything after the header. It does not read `digest`, so a big plan's body can be rendered
/// while its digest is still being computed.
pub fn write_body(plan: &Plan, options: TextOptions, writer: impl std::io::Write) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, writer);
    let log_level = options.log_level.unwrap_or(plan.settings.log_level);
    let show_unchanged = LogLevel::Verbose.shown_at(log_level);
    let deprovisioned = deprovisioned_customers(plan);
    let shown = |action: &&Action| show_unchanged || action.kind != ActionKind::Unchanged;
    let mut writer = LineWriter::default();
    // Align the `from → to` column over the lines that have one.
    let subject_width = plan
        .actions
        .iter()
        .filter(shown)
        .filter(|action| action.kind != ActionKind::Skip)
        .map(|action| writer.subject_width(action))
        .max()
        .unwrap_or(0);
    // And the money after it, over the changes.
    let change_width = plan
        .actions
        .iter()
        .filter(|action| action.kind.is_change())
        .map(|action| writer.change_width(action))
        .max()
        .unwrap_or(0);
    let mut shown_any = false;
    // Actions come grouped by customer: one header per run of the same customer code.
    for group in plan.actions.chunk_by(|a, b| a.customer_code == b.customer_code) {
        let visible: Vec<&Action> = group.iter().filter(shown).collect();
        if visible.is_empty() {
            continue;
        }
        shown_any = true;
        out.write_all(b"\n")?;
        let mut header = customer_header(group, deprovisioned.contains(&*group[0].customer_code));
        // The customer's subtotal, when a change of theirs has a price.
        if let Some(subtotal) = plan.summary.monthly_amount_change_by_customer.get(&*group[0].customer_code) {
            let _ = write!(header, "   {}/month", super::signed_money(*subtotal));
        }
        out.write_all(escape_controls_line(&header).as_bytes())?;
        out.write_all(b"\n")?;
        for action in visible {
            let line = writer.action_line(action, subject_width, change_width);
            out.write_all(b"  ")?;
            out.write_all(escape_controls_line(line).as_bytes())?;
            out.write_all(b"\n")?;
        }
    }
    if !shown_any {
        out.write_all(b"\nNo actions.\n")?;
    }
    out.write_all(b"\n")?;
    out.write_all(summary_line(plan).as_bytes())?;
    out.write_all(b"\n")?;
    out.write_all(super::money_line(plan).as_bytes())?;
    out.write_all(b"\n")?;

    let entries: Vec<_> = plan.log.iter().filter(|entry| entry.level.shown_at(log_level)).collect();
    writeln!(out, "\nLog ({} and above, {} of {} entries):", log_level, entries.len(), plan.log.len())?;
    // `  AT09 info    message`: written piece by piece, a big plan has 800k of these lines.
    for entry in entries {
        let level = entry.level.as_str();
        out.write_all(b"  ")?;
        out.write_all(entry.code.as_str().as_bytes())?;
        out.write_all(b" ")?;
        out.write_all(level.as_bytes())?;
        out.write_all(&b"        "[..8 - level.len().min(7)])?;
        out.write_all(escape_controls_line(&entry.message).as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

pub(crate) fn short_id(plan_id: &str) -> &str {
    &plan_id[..plan_id.len().min(12)]
}

/// Customers the plan processed in the deprovisioned phase (between AT20 and AT21).
pub(crate) fn deprovisioned_customers(plan: &Plan) -> BTreeSet<&str> {
    let mut inside = false;
    let mut codes = BTreeSet::new();
    for entry in &plan.log {
        match entry.code {
            Code::AT20 => inside = true,
            Code::AT21 => inside = false,
            _ if inside => {
                if let Some(code) = &entry.customer_code {
                    codes.insert(&**code);
                }
            }
            _ => {}
        }
    }
    codes
}

pub(crate) fn customer_header(group: &[Action], deprovisioned: bool) -> String {
    let first = &group[0];
    let mut header = format!("{} — {}", first.customer_code, first.customer_name);
    // The company and contract are the same on every action of the customer that names them.
    let company = group.iter().find_map(|action| action.company_id);
    let contract = group.iter().find_map(|action| action.contract_id);
    let mut details = Vec::new();
    if deprovisioned {
        details.push("deprovisioned".to_owned());
    }
    if let Some(company) = company {
        details.push(format!("company {company}"));
    }
    if let Some(contract) = contract {
        details.push(format!("contract {contract}"));
    }
    if !details.is_empty() {
        let _ = write!(header, " ({})", details.join(", "));
    }
    header
}

/// What an action is about: a service, or a billing row.
pub(crate) fn subject(action: &Action) -> String {
    let mut subject = String::new();
    write_subject(&mut subject, action);
    subject
}

/// [`subject`], appended to `out`.
fn write_subject(out: &mut String, action: &Action) {
    let _ = match (action.code, &action.description, action.service_id) {
        (_, Some(description), Some(service_id)) => {
            // The usual line: pieces pushed, not formatted.
            out.push_str(description);
            out.push_str(" (service ");
            out.push_str(itoa::Buffer::new().format(service_id));
            out.push(')');
            Ok(())
        }
        (Code::AT07, Some(description), None) => write!(out, "row \"{description}\" has no SKU"),
        (Code::AT08, Some(description), None) => write!(
            out,
            "row \"{description}\": SKU \"{}\" matches no Autotask service",
            action.sku.as_deref().unwrap_or_default()
        ),
        (Code::AT26, Some(description), None) => write!(
            out,
            "row \"{description}\": SKU \"{}\" matches several services",
            action.sku.as_deref().unwrap_or_default()
        ),
        _ => {
            out.push_str(&action.message);
            Ok(())
        }
    };
}

/// The columns of one action's line, built in buffers that every line reuses: a big plan has
/// 800k lines.
#[derive(Default)]
struct LineWriter {
    line: String,
    subject: String,
    change: String,
}

impl LineWriter {
    /// The width of the `subject` column of `action`, in characters.
    fn subject_width(&mut self, action: &Action) -> usize {
        self.subject.clear();
        write_subject(&mut self.subject, action);
        self.subject.chars().count()
    }

    /// The width of the `change` column of `action`, in characters.
    fn change_width(&mut self, action: &Action) -> usize {
        self.change.clear();
        write_change(&mut self.change, action);
        self.change.chars().count()
    }

    /// `~ update    AT09  Name (service 36)   21 → 78   @ 37.00 = +2,109.00/month`, aligned.
    fn action_line(&mut self, action: &Action, subject_width: usize, change_width: usize) -> &str {
        let (mark, kind) = (mark(action.kind), action.kind.as_str());
        let change_chars = self.change_width(action);
        let subject_chars = self.subject_width(action);
        let line = &mut self.line;
        line.clear();
        // `{mark} {kind:<9} {code}  {subject}`, pushed piece by piece.
        line.push(mark);
        line.push(' ');
        line.push_str(kind);
        pad(line, 9usize.saturating_sub(kind.len()) + 1);
        line.push_str(action.code.as_str());
        line.push_str("  ");
        line.push_str(&self.subject);
        if !self.change.is_empty() {
            let padding =
                if action.kind == ActionKind::Skip { 0 } else { subject_width.saturating_sub(subject_chars) };
            pad(line, padding + 3);
            line.push_str(&self.change);
        }
        if action.unit_price.is_some() {
            pad(line, change_width.saturating_sub(change_chars) + 3);
            write_money(line, action);
        }
        line.truncate(line.trim_end().len());
        line
    }
}

fn pad(line: &mut String, spaces: usize) {
    const SPACES: &str = "                                ";
    let mut left = spaces;
    while left > 0 {
        let now = left.min(SPACES.len());
        line.push_str(&SPACES[..now]);
        left -= now;
    }
}

/// A change's money, appended to `out`: `@ 12.50 = +62.50/month` (and the pro-rated amount), or
/// `no price`.
fn write_money(out: &mut String, action: &Action) {
    match (action.unit_price, action.monthly_amount_change) {
        (Some(Some(price)), Some(Some(monthly))) => {
            out.push_str("@ ");
            super::write_money(out, price, false);
            out.push_str(" = ");
            super::write_money(out, monthly, true);
            out.push_str("/month");
            if let Some(Some(prorated)) = action.prorated_amount_change {
                out.push_str(" (");
                super::write_money(out, prorated, true);
                out.push_str(" pro-rated)");
            }
        }
        (Some(None), _) => out.push_str(super::NO_PRICE),
        _ => {}
    }
}

/// The one-character sign of an action kind, as in the text rendering.
pub(crate) fn mark(kind: ActionKind) -> char {
    match kind {
        ActionKind::Update => '~',
        ActionKind::Create => '+',
        ActionKind::Zero => '-',
        ActionKind::Unchanged => '=',
        ActionKind::Skip => '!',
    }
}

/// The quantity part of an action: `20 → 25`, `10`, or why a skip changed nothing.
pub(crate) fn change(action: &Action) -> String {
    let mut change = String::new();
    write_change(&mut change, action);
    change
}

/// [`change`], appended to `out`.
fn write_change(out: &mut String, action: &Action) {
    let _ = match (action.kind, action.from, action.to) {
        (ActionKind::Skip, _, _) => match action.code {
            Code::AT12 => write!(out, "no line on the contract"),
            Code::AT27 => write!(out, "several lines on the contract"),
            Code::AT35 => write!(out, "rows sum past Autotask's int32 units"),
            Code::AT30 => {
                write!(out, "{} → {} blocked by a guard", action.from.unwrap_or(0), action.to.unwrap_or(0))
            }
            _ => Ok(()),
        },
        (_, Some(from), Some(to)) if from == to => {
            out.push_str(itoa::Buffer::new().format(to));
            Ok(())
        }
        (_, Some(from), Some(to)) => {
            out.push_str(itoa::Buffer::new().format(from));
            out.push_str(" → ");
            out.push_str(itoa::Buffer::new().format(to));
            Ok(())
        }
        _ => Ok(()),
    };
}

/// `Plan: 1 update, 1 create, 1 zero, 6 unchanged, 3 skipped (AT04 ×1, AT07 ×1, AT12 ×1)`
pub fn summary_line(plan: &Plan) -> String {
    let summary = &plan.summary;
    let mut skips_by_code: BTreeMap<Code, usize> = BTreeMap::new();
    for action in plan.actions.iter().filter(|action| action.kind == ActionKind::Skip) {
        *skips_by_code.entry(action.code).or_default() += 1;
    }
    let skipped: Vec<String> = skips_by_code.iter().map(|(code, count)| format!("{code} ×{count}")).collect();
    let mut line = format!(
        "Plan: {} update, {} create, {} zero, {} unchanged, {} skipped",
        summary.update, summary.create, summary.zero, summary.unchanged, summary.skip
    );
    if !skipped.is_empty() {
        let _ = write!(line, " ({})", skipped.join(", "));
    }
    line
}
