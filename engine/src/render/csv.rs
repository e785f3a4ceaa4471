//! The plan as CSV (RFC 4180: CRLF line ends, quotes only where needed): one row per action and
//! per log entry, the `record` column says which. README lists the columns.

use super::{Row, TableOptions, rows};
use crate::plan::Plan;

/// The header row, in column order.
pub const COLUMNS: [&str; 19] = [
    "record",
    "kind",
    "code",
    "level",
    "customer_code",
    "customer_name",
    "company_id",
    "contract_id",
    "service_id",
    "contract_service_id",
    "sku",
    "description",
    "from",
    "to",
    "effective_date",
    "unit_price",
    "monthly_amount_change",
    "prorated_amount_change",
    "message",
];

/// The CSV text: [`COLUMNS`], then every action, then the log entries shown at the options' level.
pub fn csv(plan: &Plan, options: TableOptions) -> String {
    let mut bytes = Vec::new();
    write_csv(plan, options, &mut bytes).expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("the fields are UTF-8")
}

/// [`csv`], written straight to `writer` (a big plan's CSV need not sit in memory).
pub fn write_csv(plan: &Plan, options: TableOptions, writer: impl std::io::Write) -> std::io::Result<()> {
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .buffer_capacity(1 << 16)
        .from_writer(writer);
    writer.write_record(COLUMNS).map_err(io_error)?;
    for row in rows(plan, options) {
        writer.write_record(fields(&row)).map_err(io_error)?;
    }
    writer.flush()
}

/// The writer's own error, whose kind says what happened (a closed pipe is not a failure to
/// `show`); `csv`'s conversion would call every error `Other`.
fn io_error(error: ::csv::Error) -> std::io::Error {
    match error.into_kind() {
        ::csv::ErrorKind::Io(error) => error,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

fn fields(row: &Row<'_>) -> [String; 19] {
    // Exact decimals, as in the plan JSON (a spreadsheet rounds for display); `no price` says
    // that the amount is unknown.
    let amount = |value: Option<Option<rust_decimal::Decimal>>| match value {
        Some(Some(value)) => value.to_string(),
        Some(None) => super::NO_PRICE.to_owned(),
        None => String::new(),
    };
    let number = |value: Option<i64>| value.map(|value| value.to_string()).unwrap_or_default();
    let count = |value: Option<u32>| value.map(|value| value.to_string()).unwrap_or_default();
    [
        row.record.as_str().to_owned(),
        row.kind.map(|kind| kind.as_str()).unwrap_or_default().to_owned(),
        row.code.as_str().to_owned(),
        row.level.as_str().to_owned(),
        defuse(row.customer_code),
        defuse(row.customer_name),
        number(row.company_id),
        number(row.contract_id),
        number(row.service_id),
        number(row.contract_service_id),
        defuse(row.sku),
        defuse(row.description),
        count(row.from),
        count(row.to),
        row.effective_date.map(super::time).unwrap_or_default(),
        amount(row.unit_price),
        // Numbers we wrote, not untrusted text: a leading `-` is a sign, so no defusing.
        amount(row.monthly_amount_change),
        amount(row.prorated_amount_change),
        defuse(row.message),
    ]
}

/// Customer names and SKUs are untrusted text, and a spreadsheet runs a cell that starts with
/// `=`, `+`, `-` or `@` as a formula: such a cell gets a leading `'` (OWASP's advice), which
/// spreadsheets show as text (a cell that starts with `'` gets one too, so that [`undefuse`]
/// reverses it exactly).
pub fn defuse(text: &str) -> String {
    if text.starts_with(FORMULA_STARTS) { format!("'{text}") } else { text.to_owned() }
}

const FORMULA_STARTS: [char; 7] = ['=', '+', '-', '@', '\t', '\r', '\''];

/// The original text of a cell written by [`defuse`].
pub fn undefuse(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest,
        _ => cell,
    }
}
