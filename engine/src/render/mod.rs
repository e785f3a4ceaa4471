//! Renderings of a plan for people: text, Markdown (pull requests), CSV, a self-contained HTML
//! report, colour for terminals and unified diffs. All pure: a plan (or texts) in, a string out;
//! no I/O, no clock, and order only from the plan's own sorted vectors.

pub mod colour;
pub mod csv;
pub mod diff;
pub mod html;
pub mod markdown;
mod text;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

pub use self::text::{TextOptions, summary_line, text, write_text};
use crate::codes::{Code, LogLevel};
use crate::plan::{ActionKind, Plan};
pub use crate::terminal::{escape_controls, escape_controls_line};

/// Options of the tabular renderings (CSV, HTML): every action, and the log entries down to
/// `log_level`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TableOptions {
    /// The least important log level included; `None`: the plan's own `logLevel` setting.
    pub log_level: Option<LogLevel>,
}

/// Which list of the plan a table row comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    Action,
    Log,
}

impl Record {
    pub fn as_str(self) -> &'static str {
        match self {
            Record::Action => "action",
            Record::Log => "log",
        }
    }
}

/// One row of the CSV export and of the HTML report's table: an action or a log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row<'a> {
    pub record: Record,
    /// The action's kind; `None` for a log entry.
    pub kind: Option<ActionKind>,
    pub code: Code,
    /// A log entry's level; for an action, the level of its code.
    pub level: LogLevel,
    pub customer_code: &'a str,
    /// From the customer's actions when the row is a log entry.
    pub customer_name: &'a str,
    pub company_id: Option<i64>,
    pub contract_id: Option<i64>,
    pub service_id: Option<i64>,
    pub contract_service_id: Option<i64>,
    pub sku: &'a str,
    pub description: &'a str,
    pub from: Option<u32>,
    pub to: Option<u32>,
    pub effective_date: Option<DateTime<Utc>>,
    pub message: &'a str,
}

/// Every action in plan order, then the log entries shown at the options' level in log order.
pub fn rows(plan: &Plan, options: TableOptions) -> Vec<Row<'_>> {
    let log_level = options.log_level.unwrap_or(plan.settings.log_level);
    let names: BTreeMap<&str, &str> = plan
        .actions
        .iter()
        .map(|action| (action.customer_code.as_str(), action.customer_name.as_str()))
        .collect();
    let actions = plan.actions.iter().map(|action| Row {
        record: Record::Action,
        kind: Some(action.kind),
        code: action.code,
        level: action.code.level(),
        customer_code: &action.customer_code,
        customer_name: &action.customer_name,
        company_id: action.company_id,
        contract_id: action.contract_id,
        service_id: action.service_id,
        contract_service_id: action.contract_service_id,
        sku: action.sku.as_deref().unwrap_or_default(),
        description: action.description.as_deref().unwrap_or_default(),
        from: action.from,
        to: action.to,
        effective_date: action.effective_date,
        message: &action.message,
    });
    let log = plan.log.iter().filter(|entry| entry.level.shown_at(log_level)).map(|entry| {
        let customer_code = entry.customer_code.as_deref().unwrap_or_default();
        Row {
            record: Record::Log,
            kind: None,
            code: entry.code,
            level: entry.level,
            customer_code,
            customer_name: names.get(customer_code).copied().unwrap_or_default(),
            company_id: None,
            contract_id: None,
            service_id: None,
            contract_service_id: None,
            sku: "",
            description: "",
            from: None,
            to: None,
            effective_date: None,
            message: &entry.message,
        }
    });
    actions.chain(log).collect()
}

/// How many log entries of each level the plan holds (all of them, whatever the setting).
pub(crate) fn log_counts(plan: &Plan) -> BTreeMap<LogLevel, usize> {
    let mut counts = BTreeMap::new();
    for entry in &plan.log {
        *counts.entry(entry.level).or_default() += 1;
    }
    counts
}

/// Text safe in HTML element content and in quoted attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match html_entity(character) {
            Some(entity) => escaped.push_str(entity),
            None => escaped.push(character),
        }
    }
    escaped
}

/// The entity that stands for a character with a meaning in HTML.
pub(crate) fn html_entity(character: char) -> Option<&'static str> {
    match character {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        '\'' => Some("&#39;"),
        _ => None,
    }
}

/// `2026-11-24T22:00:00Z`: the one time format of every rendering.
pub(crate) fn time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
