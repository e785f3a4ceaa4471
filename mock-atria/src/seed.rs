//! `atria.json` (`billsync.atria/v1`), read by the mock itself: one billing period with its
//! customers and summary rows, and the checks the mock's answers rely on (the format, unique
//! customer codes, rows of known customers, int32 counts), each problem with its JSON path.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// The `format` of `atria.json`.
pub const ATRIA_FORMAT: &str = "billsync.atria/v1";
/// The `format` of `autotask.json`, which may lie beside Atria snapshots in a fixture folder.
pub const AUTOTASK_FORMAT: &str = "billsync.autotask/v1";

/// One billing period of Atria with its summary rows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AtriaSnapshot {
    /// Always `billsync.atria/v1`.
    pub format: String,
    pub period: BillingPeriod,
    pub customers: Vec<AtriaCustomer>,
    pub billing: Vec<BillingRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BillingPeriod {
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub status: PeriodStatus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeriodStatus {
    Open,
    Closed,
}

// Customers and rows may carry the export's other columns (`customerAccountCode`, …): the mock
// ignores them, as billsync does; only the top level and the period are strict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AtriaCustomer {
    /// Atria's unique, immutable customer code (ShortName), e.g. `ASP`.
    pub short_name: String,
    pub name: String,
    /// The Autotask company id (or company number), as typed into Atria; null when missing.
    pub billing_identifier: Option<String>,
    pub status: CustomerStatus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CustomerStatus {
    Active,
    Deprovisioned,
}

/// One row of Atria's billing summary export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingRow {
    pub customer_code: String,
    pub product_sku: Option<String>,
    pub summary_grouping: String,
    pub billable: bool,
    pub last_month_count: u32,
    pub this_month_count: u32,
}

/// Reads and checks one Atria snapshot file; problems come as `file: $.path: message`.
pub fn load(path: &Path) -> Result<AtriaSnapshot, Vec<String>> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|err| vec![format!("{name}: cannot read: {err}")])?;
    parse(&bytes)
        .map_err(|problems| problems.into_iter().map(|problem| format!("{name}: {problem}")).collect())
}

/// Parses and checks the text of an `atria.json`; the problems come as `$.path: message`.
pub fn parse(bytes: &[u8]) -> Result<AtriaSnapshot, Vec<String>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(vec![format!("$: the file is empty; expected a `{ATRIA_FORMAT}` JSON object")]);
    }
    let value: Json = serde_json::from_slice(bytes).map_err(|err| {
        let message = err.to_string();
        let message = message.rfind(" at line ").map_or(message.as_str(), |index| &message[..index]);
        vec![format!("line {} column {}: not valid JSON: {message}", err.line(), err.column())]
    })?;
    from_value(&value)
}

/// Checks an Atria snapshot already parsed as JSON.
pub fn from_value(value: &Json) -> Result<AtriaSnapshot, Vec<String>> {
    let format = value.get("format").and_then(Json::as_str);
    if format != Some(ATRIA_FORMAT) {
        let found = value.get("format").map_or("nothing".to_owned(), Json::to_string);
        return Err(vec![format!("$.format: expected `{ATRIA_FORMAT}`, found {found}")]);
    }
    let snapshot: AtriaSnapshot = serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let place = if path == "." { "$".to_owned() } else { format!("$.{path}") };
        vec![format!("{place}: {}", plain(err.inner().to_string()))]
    })?;
    let problems = check(&snapshot);
    if problems.is_empty() { Ok(snapshot) } else { Err(problems) }
}

/// serde's message with Rust's type names put in the words of a JSON file's author.
fn plain(message: String) -> String {
    [
        ("expected i64", "expected an integer"),
        ("expected i32", "expected an integer (int32)"),
        ("expected u32", "expected a whole number from 0 up"),
        ("expected f64", "expected a number"),
    ]
    .iter()
    .fold(message, |text, (rust, words)| text.replace(rust, words))
}

/// What the types cannot say: the period's order, unique codes, known customers, int32 counts.
pub fn check(snapshot: &AtriaSnapshot) -> Vec<String> {
    let mut problems = Vec::new();
    if snapshot.format != ATRIA_FORMAT {
        problems.push(format!("$.format: expected `{ATRIA_FORMAT}`, found `{}`", snapshot.format));
    }
    if snapshot.period.end_date < snapshot.period.start_date {
        problems.push("$.period.endDate: the period ends before it starts".to_owned());
    }
    let mut codes = BTreeSet::new();
    for (index, customer) in snapshot.customers.iter().enumerate() {
        if customer.short_name.trim().is_empty() {
            problems.push(format!("$.customers[{index}].shortName: is empty"));
        }
        if !codes.insert(customer.short_name.as_str()) {
            problems.push(format!(
                "$.customers[{index}].shortName: duplicate customer code `{}`",
                customer.short_name
            ));
        }
    }
    for (index, row) in snapshot.billing.iter().enumerate() {
        if !codes.contains(row.customer_code.as_str()) {
            problems.push(format!(
                "$.billing[{index}].customerCode: customer `{}` is not in `customers`",
                row.customer_code
            ));
        }
        for (field, count) in
            [("lastMonthCount", row.last_month_count), ("thisMonthCount", row.this_month_count)]
        {
            if count > i32::MAX as u32 {
                problems.push(format!(
                    "$.billing[{index}].{field}: {count} is larger than Autotask's int32 units allow"
                ));
            }
        }
    }
    problems
}
