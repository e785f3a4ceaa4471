//! Atria's Service Billing Summary export (CSV or XLSX) into an Atria snapshot (`billsync.atria/v1`).
//!
//! Two readers (`csv_file`, `xlsx_file`) turn a file into a [`Table`] of cells that keep their
//! spreadsheet places; [`atria_summary`] turns a table into a snapshot without any I/O, and names
//! the cell of every problem (`row 7, column "This Month Count" (I7)`). Atria's billing API is not
//! public, but every Atria site can export this report from its UI.

mod csv_file;
mod xlsx_file;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::Path;

use crate::problems::{Problem, Problems};
use crate::snapshot::{
    ATRIA_FORMAT, AtriaCustomer, AtriaSnapshot, BillingPeriod, BillingRow, CustomerStatus, check_atria,
};

/// A sheet of cells. Rows carry their spreadsheet row number (1-based) because blank rows are
/// left out; `cells[i]` is column `i` (0 = `A`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub rows: Vec<TableRow>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TableRow {
    pub number: u32,
    pub cells: Vec<Cell>,
}

/// One cell as the file holds it: CSV gives text only, XLSX typed values.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    /// A date, time or duration cell, as Excel would show it.
    Date(String),
    /// An error value such as `#N/A`.
    Error(String),
}

impl Cell {
    fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(text) => text.trim().is_empty(),
            _ => false,
        }
    }
}

/// Which file a report is, from its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    Csv,
    Xlsx,
}

impl ReportKind {
    pub fn of(path: &Path) -> Option<ReportKind> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "csv" => Some(ReportKind::Csv),
            "xlsx" | "xlsm" => Some(ReportKind::Xlsx),
            _ => None,
        }
    }
}

/// Reads a report file into a table: CSV (UTF-8 with or without BOM, as Excel saves it) or the
/// first visible worksheet of an XLSX workbook (or the one named `sheet`).
pub fn read_report(path: &Path, sheet: Option<&str>) -> Result<Table, Problems> {
    let in_file = |problems: Problems| problems.in_file(path);
    let kind = ReportKind::of(path).ok_or_else(|| {
        Problems::one(Problem::file(
            path,
            "expected a `.csv` or `.xlsx` export of the Service Billing Summary report",
        ))
    })?;
    let bytes = std::fs::read(path)
        .map_err(|error| Problems::one(Problem::file(path, format!("cannot read: {error}"))))?;
    match kind {
        ReportKind::Csv => {
            if let Some(sheet) = sheet {
                return Err(Problems::one(Problem::file(
                    path,
                    format!(
                        "a CSV file has no sheets (sheet `{}` was asked for); it is one table",
                        shown(sheet)
                    ),
                )));
            }
            csv_file::read(&bytes).map_err(in_file)
        }
        ReportKind::Xlsx => xlsx_file::read(&bytes, sheet).map_err(in_file),
    }
}

/// Reads a report file and converts it; every problem names the file.
pub fn load_atria_summary(
    path: &Path,
    sheet: Option<&str>,
    period: BillingPeriod,
) -> Result<AtriaSnapshot, Problems> {
    let table = read_report(path, sheet)?;
    atria_summary(&table, period).map_err(|problems| problems.in_file(path))
}

/// The report's columns, as its header row names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Column {
    CustomerCode,
    CustomerName,
    CustomerAccountCode,
    ProductSku,
    BillableFlag,
    SummaryGrouping,
    LastMonthCount,
    ThisMonthCount,
}

impl Column {
    /// The columns billsync needs; `Difference`, `ResultCount` and any others are ignored.
    const ALL: [Column; 8] = [
        Column::CustomerCode,
        Column::CustomerName,
        Column::CustomerAccountCode,
        Column::ProductSku,
        Column::BillableFlag,
        Column::SummaryGrouping,
        Column::LastMonthCount,
        Column::ThisMonthCount,
    ];

    fn header(self) -> &'static str {
        match self {
            Column::CustomerCode => "Customer Code",
            Column::CustomerName => "Customer Name",
            Column::CustomerAccountCode => "Customer Account Code",
            Column::ProductSku => "Product SKU",
            Column::BillableFlag => "Billable Flag",
            Column::SummaryGrouping => "Summary Grouping",
            Column::LastMonthCount => "Last Month Count",
            Column::ThisMonthCount => "This Month Count",
        }
    }
}

/// Headers match trimmed, case-insensitive, with runs of whitespace as one space.
fn normalize_header(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// `A`, `B`, …, `Z`, `AA`, … for a 0-based column index.
pub fn column_letters(index: usize) -> String {
    let mut letters = Vec::new();
    let mut rest = index + 1;
    while rest > 0 {
        let digit = (rest - 1) % 26;
        letters.push(b'A' + digit as u8);
        rest = (rest - 1) / 26;
    }
    letters.reverse();
    String::from_utf8(letters).expect("ASCII letters")
}

/// A value quoted back to the user: control characters escaped, long values cut.
fn shown(text: &str) -> String {
    const LIMIT: usize = 80;
    let escaped: String = text.escape_debug().collect();
    if escaped.chars().count() > LIMIT {
        format!("{}…", escaped.chars().take(LIMIT).collect::<String>())
    } else {
        escaped
    }
}

/// An integral float as an integer (`12.0` → `12`): spreadsheets store every number as a float.
fn number_text(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 9.0e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// Where a value sits: its row, its column's header and its cell name.
struct Place<'a> {
    row: u32,
    column: usize,
    header: &'a str,
}

impl Place<'_> {
    fn text(&self) -> String {
        format!("row {}, column \"{}\" ({}{})", self.row, self.header, column_letters(self.column), self.row)
    }
}

/// The text of a cell, trimmed; `None` when empty.
fn text_of(cell: &Cell) -> Result<Option<String>, String> {
    match cell {
        Cell::Empty => Ok(None),
        Cell::Text(text) => {
            let trimmed = text.trim();
            Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
        }
        Cell::Number(value) => Ok(Some(number_text(*value))),
        Cell::Bool(value) => Ok(Some(if *value { "TRUE" } else { "FALSE" }.to_owned())),
        Cell::Date(text) => Err(format!("expected text, found the date `{}`", shown(text))),
        Cell::Error(text) => Err(format!("the cell holds the error `{}`", shown(text))),
    }
}

const COUNT_EXPECTED: &str = "expected a whole number of at least 0";

/// A count: a whole number from 0 up to Autotask's int32 units.
fn count_of(cell: &Cell) -> Result<u32, String> {
    let value = match cell {
        Cell::Empty => return Err(format!("{COUNT_EXPECTED}, found an empty cell")),
        Cell::Number(value) => *value,
        Cell::Text(text) => {
            let trimmed = text.trim();
            if trimmed.is_empty() {
                return Err(format!("{COUNT_EXPECTED}, found an empty cell"));
            }
            match trimmed.parse::<f64>() {
                // Only plain decimal notation: `inf`, `NaN` and `1e3` are not counts in a report.
                Ok(value) if trimmed.bytes().all(|b| b.is_ascii_digit() || b"+-.".contains(&b)) => value,
                _ => return Err(format!("{COUNT_EXPECTED}, found `{}`", shown(trimmed))),
            }
        }
        Cell::Bool(value) => return Err(format!("{COUNT_EXPECTED}, found the boolean `{value}`")),
        Cell::Date(text) => return Err(format!("{COUNT_EXPECTED}, found the date `{}`", shown(text))),
        Cell::Error(text) => return Err(format!("the cell holds the error `{}`", shown(text))),
    };
    if value < 0.0 {
        return Err(format!("{COUNT_EXPECTED}, found the negative number `{}`", number_text(value)));
    }
    if value.fract() != 0.0 {
        return Err(format!("{COUNT_EXPECTED}, found `{}`, which is not a whole number", number_text(value)));
    }
    if value > f64::from(i32::MAX) {
        return Err(format!(
            "{COUNT_EXPECTED}, found `{}`, more than Autotask's units allow ({})",
            number_text(value),
            i32::MAX
        ));
    }
    Ok(value as u32)
}

/// `Yes` or `No`, in any case.
fn flag_of(cell: &Cell) -> Result<bool, String> {
    let text = text_of(cell)?;
    match text.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("yes") => Ok(true),
        Some("no") => Ok(false),
        Some(_) => Err(format!("expected `Yes` or `No`, found `{}`", shown(text.as_deref().unwrap_or("")))),
        None => Err("expected `Yes` or `No`, found an empty cell".to_owned()),
    }
}

/// What the first row of a customer said, for the rows after it.
struct SeenCustomer {
    index: usize,
    row: u32,
}

/// Converts the report's table into a snapshot of `period`. Every customer becomes an active
/// customer with its Account Code as Billing Identifier (none: null, so AT04 when planned).
/// Every problem is reported, each at its cell; nothing is half-converted.
pub fn atria_summary(table: &Table, period: BillingPeriod) -> Result<AtriaSnapshot, Problems> {
    let mut rows = table.rows.iter().filter(|row| !row.cells.iter().all(Cell::is_blank)).peekable();
    // The header is the first row naming "Customer Code" (title rows above it are skipped), or
    // failing that the first row, which the missing-column error then shows.
    let names_customer_code = |row: &TableRow| {
        row.cells.iter().any(|cell| {
            matches!(text_of(cell), Ok(Some(text)) if normalize_header(&text) == normalize_header(Column::CustomerCode.header()))
        })
    };
    if table.rows.iter().any(names_customer_code) {
        while rows.next_if(|row| !names_customer_code(row)).is_some() {}
    }
    let Some(header_row) = rows.next() else {
        return Err(Problems::one(Problem::at(
            "row 1",
            format!(
                "the report is empty; expected a header row with the columns {}",
                Column::ALL.map(|column| format!("\"{}\"", column.header())).join(", ")
            ),
        )));
    };
    let columns = header_columns(header_row)?;

    let mut problems = Problems::default();
    let mut customers: Vec<AtriaCustomer> = Vec::new();
    let mut seen: HashMap<String, SeenCustomer> = HashMap::new();
    let mut billing = Vec::new();
    for row in rows {
        let mut reader = RowReader { row, columns: &columns, problems: &mut problems };
        let code = reader.text(Column::CustomerCode);
        let name = reader.text(Column::CustomerName);
        let account_code = reader.text(Column::CustomerAccountCode);
        let sku = reader.text(Column::ProductSku);
        let grouping = reader.text(Column::SummaryGrouping);
        let billable = reader.read(Column::BillableFlag, flag_of);
        let last = reader.read(Column::LastMonthCount, count_of);
        let this = reader.read(Column::ThisMonthCount, count_of);
        let code = match code {
            Some(Some(code)) => code,
            Some(None) => {
                reader.problem(
                    Column::CustomerCode,
                    "is empty; every row needs its customer's code".to_owned(),
                );
                continue;
            }
            None => continue,
        };
        let (name, account_code, sku, grouping) =
            (name.flatten(), account_code.flatten(), sku.flatten(), grouping.flatten());

        match seen.get(&code) {
            None => {
                seen.insert(code.clone(), SeenCustomer { index: customers.len(), row: row.number });
                customers.push(AtriaCustomer {
                    short_name: code.as_str().into(),
                    name: name.clone().unwrap_or_default().into(),
                    billing_identifier: account_code.clone(),
                    status: CustomerStatus::Active,
                });
            }
            Some(first) => {
                let known = &customers[first.index];
                let name = name.clone().unwrap_or_default();
                if *known.name != *name {
                    reader.problem(
                        Column::CustomerName,
                        format!(
                            "customer `{}` is named `{}` in row {} and `{}` here; one customer code needs one name",
                            shown(&code),
                            shown(&known.name),
                            first.row,
                            shown(&name)
                        ),
                    );
                }
                if known.billing_identifier != account_code {
                    let describe = |value: &Option<String>| match value {
                        Some(value) => format!("account code `{}`", shown(value)),
                        None => "no account code".to_owned(),
                    };
                    reader.problem(
                        Column::CustomerAccountCode,
                        format!(
                            "customer `{}` has {} in row {} and {} here; one customer code needs one account code",
                            shown(&code),
                            describe(&known.billing_identifier),
                            first.row,
                            describe(&account_code)
                        ),
                    );
                }
            }
        }
        if let (Some(billable), Some(last_month_count), Some(this_month_count)) = (billable, last, this) {
            billing.push(BillingRow {
                customer_code: code.into(),
                product_sku: sku.map(Into::into),
                summary_grouping: grouping.unwrap_or_default().into(),
                billable,
                last_month_count,
                this_month_count,
            });
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let snapshot = AtriaSnapshot { format: ATRIA_FORMAT.to_owned(), period, customers, billing };
    // The snapshot checks (period order, ranges) hold for what `plan --atria` will load.
    check_atria(&snapshot).into_result(snapshot)
}

/// Reads one row's cells, reporting each problem at its cell.
struct RowReader<'a> {
    row: &'a TableRow,
    columns: &'a HashMap<Column, usize>,
    problems: &'a mut Problems,
}

impl RowReader<'_> {
    fn problem(&mut self, column: Column, message: String) {
        let place = Place { row: self.row.number, column: self.columns[&column], header: column.header() };
        self.problems.push(Problem::at(place.text(), message));
    }

    /// The cell's value through `convert`; `None` (and a problem) when it does not convert.
    fn read<T>(&mut self, column: Column, convert: impl FnOnce(&Cell) -> Result<T, String>) -> Option<T> {
        let cell = self.row.cells.get(self.columns[&column]).unwrap_or(&Cell::Empty);
        convert(cell).map_err(|message| self.problem(column, message)).ok()
    }

    /// The cell's text: `Some(None)` when empty, `None` when it holds no text (a problem).
    fn text(&mut self, column: Column) -> Option<Option<String>> {
        self.read(column, text_of)
    }
}

/// Finds each needed column in the header row; a missing or repeated one is an error.
fn header_columns(header_row: &TableRow) -> Result<HashMap<Column, usize>, Problems> {
    let mut problems = Problems::default();
    let mut columns: HashMap<Column, usize> = HashMap::new();
    let mut found_headers = Vec::new();
    for (index, cell) in header_row.cells.iter().enumerate() {
        let Ok(Some(text)) = text_of(cell) else { continue };
        found_headers.push(format!("\"{}\"", shown(&text)));
        let normalized = normalize_header(&text);
        let Some(column) =
            Column::ALL.into_iter().find(|column| normalize_header(column.header()) == normalized)
        else {
            continue;
        };
        if let Some(first) = columns.get(&column) {
            problems.push(Problem::at(
                format!("row {}, column {}", header_row.number, column_letters(index)),
                format!(
                    "column \"{}\" appears twice ({}{} and {}{}); keep one",
                    column.header(),
                    column_letters(*first),
                    header_row.number,
                    column_letters(index),
                    header_row.number
                ),
            ));
        } else {
            columns.insert(column, index);
        }
    }
    let missing: Vec<String> = Column::ALL
        .into_iter()
        .filter(|column| !columns.contains_key(column))
        .map(|column| format!("\"{}\"", column.header()))
        .collect();
    if !missing.is_empty() {
        problems.push(Problem::at(
            format!("row {}", header_row.number),
            format!(
                "missing {} {}; the header row has {}",
                if missing.len() == 1 { "column" } else { "columns" },
                missing.join(", "),
                if found_headers.is_empty() { "no names".to_owned() } else { found_headers.join(", ") }
            ),
        ));
    }
    problems.into_result(columns)
}
