//! Month over month: two plans compared line by line, per customer and service (old target,
//! new target, change in units and in money, lines that appeared or went away), rendered as text,
//! Markdown or JSON. Pure, like every rendering.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rust_decimal::Decimal;
use serde::Serialize;

use super::text::short_id;
use super::{NO_PRICE, signed_money};
use crate::codes::Code;
use crate::plan::{Action, ActionKind, Plan};
use crate::terminal::escape_controls_line;

pub const PLAN_DIFF_FORMAT: &str = "billsync.plan-diff/v1";

/// What happened to one line between the two plans.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LineStatus {
    /// In both plans, with another target, or skipped in one of them (or for another reason).
    Changed,
    /// Only in the new plan.
    Appeared,
    /// Only in the old plan.
    Gone,
}

impl LineStatus {
    fn mark(self) -> char {
        match self {
            LineStatus::Changed => '~',
            LineStatus::Appeared => '+',
            LineStatus::Gone => '-',
        }
    }
}

/// One side of the comparison.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanRef {
    pub label: String,
    pub plan_id: String,
    pub period_start: String,
    pub period_end: String,
    pub monthly_amount_change: Decimal,
}

/// One customer's line (a service, or a billing row that maps to none) that differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineDiff {
    pub status: LineStatus,
    pub customer_code: String,
    pub customer_name: String,
    /// The old plan's name for the customer, when Atria renamed it since.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_customer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Kind and code in each plan (`null` where the line is absent).
    pub old_kind: Option<ActionKind>,
    pub new_kind: Option<ActionKind>,
    pub old_code: Option<Code>,
    pub new_code: Option<Code>,
    /// The line's units in Autotask when each plan was made.
    pub old_current: Option<u32>,
    pub new_current: Option<u32>,
    /// The billed quantity each plan aims at; an absent line counts as 0.
    pub old_target: Option<u32>,
    pub new_target: Option<u32>,
    pub units_change: i64,
    /// The new plan's unit price, else the old one's; `null` when neither plan priced the line.
    pub unit_price: Option<Decimal>,
    /// `unitsChange × unitPrice` per month; `null` with no price.
    pub amount_change: Option<Decimal>,
}

/// Totals over the differing lines.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffSummary {
    pub changed: usize,
    pub appeared: usize,
    pub gone: usize,
    pub units_change: i64,
    pub amount_change: Decimal,
    /// Differing lines with no price: left out of `amountChange`.
    pub unpriced_lines: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanDiff {
    pub format: &'static str,
    pub old: PlanRef,
    pub new: PlanRef,
    pub summary: DiffSummary,
    pub lines: Vec<LineDiff>,
}

impl PlanDiff {
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// What identifies a line across months: customer, then service (or, for a row that maps to no
/// service, its code, SKU and description; those sort last, as in plans).
type LineKey<'a> = (&'a str, bool, Option<i64>, Option<&'a str>, Option<&'a str>, Option<Code>);

fn key(action: &Action) -> LineKey<'_> {
    match action.service_id {
        Some(service_id) => (&action.customer_code, false, Some(service_id), None, None, None),
        None => (
            &action.customer_code,
            true,
            None,
            action.sku.as_deref(),
            action.description.as_deref(),
            Some(action.code),
        ),
    }
}

fn lines_of(plan: &Plan) -> BTreeMap<LineKey<'_>, Vec<&Action>> {
    let mut lines: BTreeMap<LineKey<'_>, Vec<&Action>> = BTreeMap::new();
    for action in &plan.actions {
        lines.entry(key(action)).or_default().push(action);
    }
    lines
}

fn plan_ref(label: &str, plan: &Plan) -> PlanRef {
    PlanRef {
        label: label.to_owned(),
        plan_id: plan.plan_id.clone(),
        period_start: plan.period.start_date.to_string(),
        period_end: plan.period.end_date.to_string(),
        monthly_amount_change: plan.summary.monthly_amount_change,
    }
}

/// The lines that differ between `old` and `new`, by customer code, then service.
pub fn plan_diff(old_label: &str, old: &Plan, new_label: &str, new: &Plan) -> PlanDiff {
    let (old_lines, new_lines) = (lines_of(old), lines_of(new));
    let mut keys: Vec<&LineKey<'_>> = old_lines.keys().chain(new_lines.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut lines = Vec::new();
    let mut summary = DiffSummary::default();
    for key in keys {
        let olds = old_lines.get(key).map_or(&[][..], Vec::as_slice);
        let news = new_lines.get(key).map_or(&[][..], Vec::as_slice);
        // Look-alike rows (the same row twice) pair up in plan order.
        for index in 0..olds.len().max(news.len()) {
            let (before, after) = (olds.get(index).copied(), news.get(index).copied());
            let status = match (before, after) {
                (Some(before), Some(after)) => {
                    // A new target is a change; so is a line that became blocked or unblocked
                    // (a skip on one side only, or another skip code). An applied update that is
                    // now unchanged at the same target is not news.
                    let skip_differs = (before.kind == ActionKind::Skip || after.kind == ActionKind::Skip)
                        && (before.kind, before.code) != (after.kind, after.code);
                    // And a change planned from other current units than last time (the line
                    // moved in Autotask since).
                    let base_differs = after.kind.is_change() && before.from != after.from;
                    let renamed = before.customer_name != after.customer_name;
                    if before.to == after.to && !skip_differs && !base_differs && !renamed {
                        continue;
                    }
                    LineStatus::Changed
                }
                (None, Some(_)) => LineStatus::Appeared,
                (Some(_), None) => LineStatus::Gone,
                (None, None) => continue,
            };
            let either = after.or(before).expect("one side holds the line");
            let old_target = before.and_then(|action| action.to);
            let new_target = after.and_then(|action| action.to);
            let units_change = i64::from(new_target.unwrap_or(0)) - i64::from(old_target.unwrap_or(0));
            let unit_price = after
                .and_then(|action| action.unit_price.flatten())
                .or_else(|| before.and_then(|action| action.unit_price.flatten()));
            let amount_change = unit_price.and_then(|price| price.checked_mul(Decimal::from(units_change)));
            match status {
                LineStatus::Changed => summary.changed += 1,
                LineStatus::Appeared => summary.appeared += 1,
                LineStatus::Gone => summary.gone += 1,
            }
            summary.units_change += units_change;
            match amount_change {
                Some(amount) => summary.amount_change += amount,
                None if units_change != 0 => summary.unpriced_lines += 1,
                None => {}
            }
            lines.push(LineDiff {
                status,
                customer_code: either.customer_code.to_string(),
                customer_name: either.customer_name.to_string(),
                old_customer_name: before
                    .zip(after)
                    .filter(|(before, after)| before.customer_name != after.customer_name)
                    .map(|(before, _)| before.customer_name.to_string()),
                service_id: either.service_id,
                sku: either.sku.as_deref().map(str::to_owned),
                description: either.description.as_deref().map(str::to_owned),
                old_kind: before.map(|action| action.kind),
                new_kind: after.map(|action| action.kind),
                old_code: before.map(|action| action.code),
                new_code: after.map(|action| action.code),
                old_current: before.and_then(|action| action.from),
                new_current: after.and_then(|action| action.from),
                old_target,
                new_target,
                units_change,
                unit_price,
                amount_change,
            });
        }
    }
    PlanDiff {
        format: PLAN_DIFF_FORMAT,
        old: plan_ref(old_label, old),
        new: plan_ref(new_label, new),
        summary,
        lines,
    }
}

fn subject(line: &LineDiff) -> String {
    let description = line.description.as_deref().unwrap_or_default();
    match line.service_id {
        Some(service_id) => format!("{description} (service {service_id})"),
        None => match &line.sku {
            Some(sku) if !sku.is_empty() => format!("row \"{description}\" (SKU \"{sku}\")"),
            _ => format!("row \"{description}\""),
        },
    }
}

fn target(target: Option<u32>) -> String {
    target.map_or("—".to_owned(), |target| target.to_string())
}

fn what(line: &LineDiff) -> String {
    let kind = |kind: Option<ActionKind>, code: Option<Code>| match (kind, code) {
        (Some(kind), Some(code)) => format!("{} {code}", kind.as_str()),
        _ => "absent".to_owned(),
    };
    let what = match line.status {
        LineStatus::Appeared => format!("appeared ({})", kind(line.new_kind, line.new_code)),
        LineStatus::Gone => format!("went away (was {})", kind(line.old_kind, line.old_code)),
        LineStatus::Changed if (line.old_kind, line.old_code) != (line.new_kind, line.new_code) => {
            format!("{} → {}", kind(line.old_kind, line.old_code), kind(line.new_kind, line.new_code))
        }
        LineStatus::Changed => kind(line.new_kind, line.new_code),
    };
    let what = match (line.status, line.old_current, line.new_current) {
        (LineStatus::Changed, Some(old), Some(new)) if old != new => {
            format!("{what}, in Autotask {old} → {new}")
        }
        _ => what,
    };
    match &line.old_customer_name {
        Some(old) => format!("{what}, customer renamed from \"{old}\""),
        None => what,
    }
}

fn units(change: i64) -> String {
    if change > 0 { format!("+{change}") } else { change.to_string() }
}

fn amount(line: &LineDiff) -> String {
    match line.amount_change {
        Some(amount) => format!("{}/month", signed_money(amount)),
        None if line.units_change == 0 => String::new(),
        None => NO_PRICE.to_owned(),
    }
}

fn totals(diff: &PlanDiff) -> String {
    let summary = &diff.summary;
    let mut line = format!(
        "{} lines differ ({} changed, {} appeared, {} went away); units {}; money {}/month",
        diff.lines.len(),
        summary.changed,
        summary.appeared,
        summary.gone,
        units(summary.units_change),
        signed_money(summary.amount_change)
    );
    if summary.unpriced_lines > 0 {
        let lines = if summary.unpriced_lines == 1 { "line" } else { "lines" };
        let _ = write!(line, " ({} {lines} with no price not counted)", summary.unpriced_lines);
    }
    line
}

fn side(plan: &PlanRef) -> String {
    format!(
        "{} (plan {}, period {} – {})",
        plan.label,
        short_id(&plan.plan_id),
        plan.period_start,
        plan.period_end
    )
}

/// The diff for a terminal: one block per customer, one line per differing line, totals last.
pub fn text(diff: &PlanDiff) -> String {
    let mut out = format!("--- {}\n+++ {}\n", side(&diff.old), side(&diff.new));
    if diff.is_empty() {
        out.push_str("\nNo line differs.\n");
        return escape_controls_line_by_line(&out);
    }
    for group in diff.lines.chunk_by(|a, b| a.customer_code == b.customer_code) {
        let _ = writeln!(out, "\n{} — {}", group[0].customer_code, group[0].customer_name);
        for line in group {
            let mut text = format!(
                "  {} {}   target {} → {}   {} units   {}",
                line.status.mark(),
                subject(line),
                target(line.old_target),
                target(line.new_target),
                units(line.units_change),
                what(line)
            );
            let money = amount(line);
            if !money.is_empty() {
                let _ = write!(text, "   {money}");
            }
            out.push_str(&text);
            out.push('\n');
        }
    }
    let _ = writeln!(out, "\n{}", totals(diff));
    escape_controls_line_by_line(&out)
}

fn escape_controls_line_by_line(text: &str) -> String {
    text.lines().map(|line| escape_controls_line(line).into_owned() + "\n").collect()
}

/// The diff for a pull request: totals first, then one table.
pub fn markdown(diff: &PlanDiff) -> String {
    let cell = super::markdown::cell;
    let mut out = format!(
        "## billsync plan diff\n\n{} → {}\n\n**{}**\n\n",
        cell(&side(&diff.old)),
        cell(&side(&diff.new)),
        cell(&totals(diff))
    );
    if diff.is_empty() {
        out.push_str("No line differs.\n");
        return out;
    }
    out.push_str(
        "| | customer | line | old target | new target | units | what | amount / month |\n|---|---|---|---:|---:|---:|---|---:|\n",
    );
    for line in &diff.lines {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} |",
            line.status.mark(),
            cell(&line.customer_code),
            cell(&subject(line)),
            target(line.old_target),
            target(line.new_target),
            units(line.units_change),
            cell(&what(line)),
            cell(&amount(line))
        );
    }
    out
}

/// The diff as pretty JSON (amounts as exact decimal strings, as in plans).
pub fn json(diff: &PlanDiff) -> String {
    let mut text = serde_json::to_string_pretty(diff).expect("diffs always serialize");
    text.push('\n');
    text
}
