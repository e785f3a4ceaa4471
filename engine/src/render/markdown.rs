//! The plan as GitHub-flavoured Markdown for a pull-request comment or a CI step summary: the
//! summary tables first, then one collapsed `<details>` per customer, then the log; cut to fit
//! GitHub's 65,536-character limit with a note of what was left out.

use std::fmt::Write as _;

use super::text::{change, customer_header, deprovisioned_customers, mark, short_id, subject};
use super::{
    amount_cell, escape_controls, escape_controls_line, escape_html, html_entity, log_counts, money_line,
    price_cell, signed_money, time,
};
use crate::codes::LogLevel;
use crate::plan::{Action, ActionKind, Plan};

/// GitHub refuses a comment longer than this many characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// Room kept for the truncation note (it is far shorter).
const NOTE_ROOM: usize = 1_024;

/// Options of the Markdown rendering.
#[derive(Clone, Debug, Default)]
pub struct MarkdownOptions {
    /// The least important log level shown; `None`: the plan's own `logLevel` setting.
    pub log_level: Option<LogLevel>,
    /// Where the full report is, as Markdown (a link, or a command); `None`: the `billsync show`
    /// command that writes it.
    pub full_report: Option<String>,
    /// The most bytes (hence characters) of the result; `None`: [`GITHUB_COMMENT_LIMIT`] less one.
    pub limit: Option<usize>,
}

/// The Markdown summary; never longer than the limit.
pub fn markdown(plan: &Plan, options: &MarkdownOptions) -> String {
    let log_level = options.log_level.unwrap_or(plan.settings.log_level);
    let limit = options.limit.unwrap_or(GITHUB_COMMENT_LIMIT - 1);
    let head = head(plan);

    let show_unchanged = LogLevel::Verbose.shown_at(log_level);
    let deprovisioned = deprovisioned_customers(plan);
    let customers: Vec<&[Action]> = plan
        .actions
        .chunk_by(|a, b| a.customer_code == b.customer_code)
        .filter(|group| group.iter().any(|action| show_unchanged || action.kind != ActionKind::Unchanged))
        .collect();
    let entries: Vec<_> = plan.log.iter().filter(|entry| entry.level.shown_at(log_level)).collect();

    // Lay out as much as fits, customers first, then log entries one by one.
    let budget = limit.saturating_sub(head.len() + NOTE_ROOM);
    let mut body = String::new();
    let mut customers_shown = 0;
    for group in &customers {
        let section =
            customer_section(group, deprovisioned.contains(&*group[0].customer_code), show_unchanged);
        if body.len() + section.len() > budget {
            break;
        }
        body.push_str(&section);
        customers_shown += 1;
    }
    let mut entries_shown = 0;
    if customers_shown == customers.len() {
        let log_head = format!(
            "<details>\n<summary>Log ({log_level} and above, {} of {} entries)</summary>\n\n| code | level | customer | message |\n|---|---|---|---|\n",
            entries.len(),
            plan.log.len()
        );
        const LOG_TAIL: &str = "\n</details>\n\n";
        if body.len() + log_head.len() + LOG_TAIL.len() <= budget {
            let mut log = log_head;
            for entry in &entries {
                let row = format!(
                    "| {} | {} | {} | {} |\n",
                    entry.code,
                    entry.level,
                    cell(entry.customer_code.as_deref().unwrap_or_default()),
                    cell(&entry.message)
                );
                if body.len() + log.len() + row.len() + LOG_TAIL.len() > budget {
                    break;
                }
                log.push_str(&row);
                entries_shown += 1;
            }
            log.push_str(LOG_TAIL);
            body.push_str(&log);
        }
    }

    let mut out = head;
    let customers_left = customers.len() - customers_shown;
    let entries_left = entries.len() - entries_shown;
    if customers_left > 0 || entries_left > 0 {
        let actions_left: usize = customers[customers_shown..].iter().map(|group| group.len()).sum();
        let full_report = options.full_report.clone().unwrap_or_else(|| {
            "`billsync show PLAN --format html` (or `--format csv`) on the plan JSON".to_owned()
        });
        let _ = writeln!(
            out,
            "> [!NOTE]\n> **Truncated to fit {} characters.** Left out: {customers_left} of {} customers ({actions_left} actions) and {entries_left} of {} log entries. The counts above are complete. Full report: {full_report}\n",
            group_digits(limit + 1),
            customers.len(),
            entries.len(),
        );
    }
    out.push_str(&body);
    // The note's room was kept free; a very long `full_report` is the one way to overrun it.
    if out.len() > limit {
        let mut end = limit;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out
}

/// Title, period, and the two summary tables: by action and by code.
fn head(plan: &Plan) -> String {
    let mut head = String::new();
    let summary = &plan.summary;
    let period = &plan.period;
    let _ = writeln!(head, "## billsync plan `{}` — {}\n", short_id(&plan.plan_id), cell(&plan.job.label));
    let _ = writeln!(
        head,
        "Period {} – {}, as of {}, effective {}. **{} changes.**\n",
        period.start_date,
        period.end_date,
        time(plan.as_of),
        time(plan.settings.effective_date),
        summary.changes()
    );
    // Money first: it is what a billing admin decides on.
    let _ = writeln!(head, "**{}**\n", money_line(plan));
    head.push_str(&biggest_movers(plan));
    let _ = writeln!(head, "Digest `{}` (`billsync apply --expect-digest`).\n", cell(plan.short_digest()));
    head.push_str("| action | count |\n|---|---:|\n");
    for (kind, count) in [
        (ActionKind::Update, summary.update),
        (ActionKind::Create, summary.create),
        (ActionKind::Zero, summary.zero),
        (ActionKind::Unchanged, summary.unchanged),
        (ActionKind::Skip, summary.skip),
    ] {
        let _ = writeln!(head, "| `{}` {} | {count} |", mark(kind), kind.as_str());
    }
    if !summary.by_code.is_empty() {
        head.push_str("\n| code | level | meaning | actions |\n|---|---|---|---:|\n");
        for (code, count) in &summary.by_code {
            let _ = writeln!(head, "| {code} | {} | {} | {count} |", code.level(), cell(code.title()));
        }
    }
    let counts = log_counts(plan);
    let count = |level| counts.get(&level).copied().unwrap_or(0);
    let _ = writeln!(
        head,
        "\nLog entries by level: {} error, {} warning, {} info, {} verbose.\n",
        count(LogLevel::Error),
        count(LogLevel::Warning),
        count(LogLevel::Info),
        count(LogLevel::Verbose)
    );
    head
}

/// How many changes the "biggest movers" table lists.
const MOVERS: usize = 10;

/// The changes with the largest amounts (either sign), largest first, plan order on ties.
fn biggest_movers(plan: &Plan) -> String {
    let mut priced: Vec<(usize, &Action, rust_decimal::Decimal)> = plan
        .actions
        .iter()
        .enumerate()
        .filter_map(|(index, action)| Some((index, action, action.monthly_amount_change.flatten()?)))
        .filter(|(_, _, amount)| !amount.is_zero())
        .collect();
    if priced.is_empty() {
        return String::new();
    }
    priced.sort_by(|a, b| b.2.abs().cmp(&a.2.abs()).then(a.0.cmp(&b.0)));
    let mut table = format!(
        "Biggest movers ({} of {} priced changes):\n\n| customer | service | change | amount / month |\n|---|---|---|---:|\n",
        priced.len().min(MOVERS),
        priced.len()
    );
    for (_, action, amount) in priced.iter().take(MOVERS) {
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} |",
            cell(&action.customer_code),
            cell(&subject(action)),
            cell(&change(action)),
            signed_money(*amount)
        );
    }
    table.push('\n');
    table
}

fn customer_section(group: &[Action], deprovisioned: bool, show_unchanged: bool) -> String {
    let mut kinds: Vec<(ActionKind, usize)> = Vec::new();
    for action in group {
        match kinds.iter_mut().find(|(kind, _)| *kind == action.kind) {
            Some((_, count)) => *count += 1,
            None => kinds.push((action.kind, 1)),
        }
    }
    kinds.sort();
    let mut counts: Vec<String> =
        kinds.iter().map(|(kind, count)| format!("{count} {}", kind.as_str())).collect();
    let amounts: Vec<rust_decimal::Decimal> =
        group.iter().filter_map(|action| action.monthly_amount_change.flatten()).collect();
    if !amounts.is_empty() {
        counts.push(format!("{} / month", signed_money(amounts.iter().sum())));
    }
    let mut section = format!(
        "<details>\n<summary>{}: {}</summary>\n\n| | action | code | subject | change | unit price | amount / month |\n|---|---|---|---|---|---:|---:|\n",
        escape_html(&escape_controls_line(&customer_header(group, deprovisioned))),
        counts.join(", ")
    );
    for action in group.iter().filter(|action| show_unchanged || action.kind != ActionKind::Unchanged) {
        let _ = writeln!(
            section,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            mark(action.kind),
            action.kind.as_str(),
            action.code,
            cell(&subject(action)),
            cell(&change(action)),
            price_cell(action.unit_price),
            amount_cell(action.monthly_amount_change)
        );
    }
    section.push_str("\n</details>\n\n");
    section
}

/// Untrusted text inside a Markdown table cell: HTML special characters as entities, Markdown
/// punctuation escaped, one line (a newline as a space); other control characters and the
/// bidirectional formatting ones shown as `\u{202e}`, as in the text rendering, so that a name
/// cannot reorder what a reviewer reads.
pub(crate) fn cell(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    // `escape_controls` has already turned every control character but newline and tab into text.
    for character in escape_controls(text).chars() {
        match (html_entity(character), character) {
            (Some(entity), _) => escaped.push_str(entity),
            (None, '\n') => escaped.push(' '),
            (None, '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' | '!' | '$') => {
                escaped.push('\\');
                escaped.push(character);
            }
            (None, other) => escaped.push(other),
        }
    }
    escaped
}

/// `65536` → `65,536`.
fn group_digits(number: usize) -> String {
    let digits = number.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    #[test]
    fn cells_escape_markup() {
        assert_eq!(super::cell("<img src=x> | *a*\nb"), "&lt;img src=x&gt; \\| \\*a\\* b");
        assert_eq!(super::cell("Backup \u{202e}5 → 3\u{1b}[2K"), "Backup \\\\u{202e}5 → 3\\\\u{1b}\\[2K");
        assert_eq!(super::group_digits(65_536), "65,536");
        assert_eq!(super::group_digits(999), "999");
    }

    /// A 100,000-row plan: the comment stays under GitHub's limit and says what it left out.
    #[test]
    fn a_big_plan_is_cut_to_the_limit_with_a_note() {
        use crate::synth::{JOB_YAML, SynthConfig, generate};
        let (atria, autotask) = generate(SynthConfig { customers: 2000, rows_per_customer: 50, seed: 1 });
        let spec = crate::spec::parse(JOB_YAML).expect("the synthetic job parses");
        let as_of = "2026-11-24T22:00:00Z".parse().expect("a time");
        let input = crate::compile::CompileInput { spec: &spec, atria: &atria, autotask: &autotask, as_of };
        let plan = crate::compile::compile(input).expect("the synthetic plan compiles");
        assert!(plan.actions.len() > 50_000, "{} actions", plan.actions.len());

        let markdown = super::markdown(&plan, &super::MarkdownOptions::default());
        assert!(markdown.len() < super::GITHUB_COMMENT_LIMIT, "{} bytes", markdown.len());
        assert!(markdown.contains("**Truncated to fit 65,536 characters.** Left out: "), "{markdown}");
        assert!(markdown.contains("Full report: `billsync show PLAN --format html`"));
        // Whole sections only: every opened <details> is closed.
        assert_eq!(markdown.matches("<details>").count(), markdown.matches("</details>").count());
        // The summary counts stay complete.
        assert!(markdown.contains(&format!("| `~` update | {} |", plan.summary.update)));
        // Money first: the plan's total comes before every count and every customer.
        let total =
            format!("**Monthly amount change: {}", super::signed_money(plan.summary.monthly_amount_change));
        let total_at = markdown.find(&total).unwrap_or_else(|| panic!("no `{total}` in the summary"));
        assert!(total_at < markdown.find("| action | count |").expect("the counts table"));
        assert!(total_at < markdown.find("Biggest movers (10 of ").expect("the movers table"));
        assert!(!plan.summary.monthly_amount_change.is_zero());
    }
}
