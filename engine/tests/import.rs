//! `billsync import atria-summary` end to end: the committed sample exports (made by the
//! generator below from the seed example's `atria.json`) import into snapshots that plan exactly
//! as the JSON fixture does, and each kind of bad report exits 1 naming the file, row and column,
//! with nothing written.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use billsync::snapshot::{AtriaSnapshot, canonical_atria, load_atria};
use common::{AS_OF, fixtures};
use serde_json::Value;

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn billsync(args: &[&str]) -> Outcome {
    let output = Command::new(env!("CARGO_BIN_EXE_billsync"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("billsync runs");
    Outcome {
        code: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn seed() -> PathBuf {
    fixtures().join("seed-example")
}

fn exports() -> PathBuf {
    seed().join("export")
}

/// `billsync import atria-summary REPORT` for the seed example's period, into `out`.
fn import(report: &Path, out: &Path, extra: &[&str]) -> Outcome {
    let (report, out) = (report.to_string_lossy(), out.to_string_lossy());
    let mut args = vec![
        "import",
        "atria-summary",
        &report,
        "--period-start",
        "2026-10-26",
        "--period-end",
        "2026-11-25",
        "--period-status",
        "open",
        "--out",
        &out,
    ];
    args.extend_from_slice(extra);
    billsync(&args)
}

/// The seed example's plan JSON, on `atria`, with the fields that name the inputs taken out
/// (`planId`, the input digests, the plan digest): what is left is what the plan does.
fn plan_without_input_names(dir: &Path, atria: &Path, name: &str) -> Value {
    let out = dir.join(name);
    let mut args = common::plan_args(&seed().join("job.yaml"), atria, &seed().join("autotask.json"), AS_OF);
    args.extend(["--out".to_owned(), out.to_string_lossy().into_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let outcome = billsync(&args);
    assert_eq!(outcome.code, 0, "plan --atria {}: {}", atria.display(), outcome.stderr);
    let mut plan: Value =
        serde_json::from_slice(&std::fs::read(&out).expect("plan written")).expect("plan JSON");
    let object = plan.as_object_mut().expect("a plan is an object");
    for field in ["planId", "inputs", "digest"] {
        object.remove(field);
    }
    plan
}

#[test]
fn each_sample_export_plans_as_the_json_fixture() {
    let dir = tempfile::tempdir().expect("temp dir");
    let expected = plan_without_input_names(dir.path(), &seed().join("atria.json"), "plan-json.json");
    assert!(expected["actions"].as_array().is_some_and(|actions| actions.len() == 7), "{expected:#}");
    let fixture = load_atria(&seed().join("atria.json")).expect("fixture loads");
    let mut reports: Vec<PathBuf> = std::fs::read_dir(exports())
        .expect("fixtures/seed-example/export")
        .map(|entry| entry.expect("entry").path())
        .collect();
    reports.sort();
    let names: Vec<String> =
        reports.iter().map(|path| path.file_name().expect("name").to_string_lossy().into_owned()).collect();
    assert!(names.iter().any(|name| name.ends_with(".xlsx")), "{names:?}");
    assert!(names.iter().filter(|name| name.ends_with(".csv")).count() >= 2, "{names:?}");

    for report in &reports {
        let name = report.file_name().expect("name").to_string_lossy();
        let out = dir.path().join(format!("{name}.atria.json"));
        let outcome = import(report, &out, &[]);
        assert_eq!(outcome.code, 0, "{name}: {}", outcome.stderr);
        assert!(
            outcome.stdout.contains("3 customers, 9 billing rows (8 billable)"),
            "{name}: {}",
            outcome.stdout
        );
        let imported = load_atria(&out).expect("the imported snapshot loads");
        assert_eq!(
            canonical_atria(&imported),
            canonical_atria(&fixture),
            "{name}: the same customers and rows"
        );
        let plan = plan_without_input_names(dir.path(), &out, &format!("{name}.plan.json"));
        assert_eq!(plan, expected, "{name}: the same period, settings, summary, actions and log");
    }
}

#[test]
fn the_period_comes_from_the_flags() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("atria.json");
    let report = exports().join("service-billing-summary.xlsx");
    let outcome = billsync(&[
        "import",
        "atria-summary",
        &report.to_string_lossy(),
        "--period-start",
        "2026-11-26",
        "--period-end",
        "2026-12-25",
        "--out",
        &out.to_string_lossy(),
    ]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let snapshot = load_atria(&out).expect("loads");
    assert_eq!(
        serde_json::to_value(&snapshot.period).expect("json"),
        serde_json::json!({ "startDate": "2026-11-26", "endDate": "2026-12-25", "status": "closed" }),
        "closed unless --period-status open"
    );

    for (flags, expected) in [
        (
            ["2026-11-31", "2026-12-25"],
            "--period-start `2026-11-31`: expected a date such as 2026-10-26 (YYYY-MM-DD)",
        ),
        (["2026-12-26", "2026-12-25"], "--period-end 2026-12-25 is before --period-start 2026-12-26"),
    ] {
        let bad = dir.path().join("bad.json");
        let outcome = billsync(&[
            "import",
            "atria-summary",
            &report.to_string_lossy(),
            "--period-start",
            flags[0],
            "--period-end",
            flags[1],
            "--out",
            &bad.to_string_lossy(),
        ]);
        assert_eq!(outcome.code, 1, "{}", outcome.stderr);
        assert!(outcome.stderr.contains(expected), "{}", outcome.stderr);
        assert!(!bad.exists());
    }
}

#[test]
fn sheets_are_chosen_by_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let report = exports().join("service-billing-summary.xlsx");
    let out = dir.path().join("atria.json");
    let named = import(&report, &out, &["--sheet", "Service Billing Summary"]);
    assert_eq!(named.code, 0, "{}", named.stderr);
    let missing = import(&report, &dir.path().join("other.json"), &["--sheet", "Sheet9"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("service-billing-summary.xlsx: has no worksheet `Sheet9`; its worksheets: `Service Billing Summary`"),
        "{}",
        missing.stderr
    );
    assert!(!dir.path().join("other.json").exists());
    let csv = import(
        &exports().join("service-billing-summary.csv"),
        &dir.path().join("other.json"),
        &["--sheet", "x"],
    );
    assert_eq!(csv.code, 1);
    assert!(csv.stderr.contains("service-billing-summary.csv: a CSV file has no sheets"), "{}", csv.stderr);
    assert!(!dir.path().join("other.json").exists());
}

// ---------------------------------------------------------------------------------------------
// Bad reports: one test per kind. Each exits 1, names the file, row and column, writes nothing,
// and leaves an `--out` that already exists as it was.

/// A scratch report: the committed Excel-style CSV with one edit, imported over an existing
/// `atria.json` that must survive the failure untouched.
fn fails_with(edit: impl FnOnce(&str) -> String, expected: &[&str]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let original = std::fs::read_to_string(exports().join("service-billing-summary.csv")).expect("sample");
    let edited = edit(&original);
    assert_ne!(edited, original, "the edit changes the report");
    let report = dir.path().join("report.csv");
    std::fs::write(&report, edited).expect("write");
    let out = dir.path().join("atria.json");
    std::fs::write(&out, "previous contents").expect("write");
    let outcome = import(&report, &out, &[]);
    assert_eq!(outcome.code, 1, "stderr: {}", outcome.stderr);
    assert!(outcome.stderr.contains("report.csv: row "), "names the file and the row: {}", outcome.stderr);
    for text in expected {
        assert!(outcome.stderr.contains(text), "stderr lacks `{text}`:\n{}", outcome.stderr);
    }
    assert!(!outcome.stderr.contains("panicked"), "{}", outcome.stderr);
    assert!(outcome.stdout.is_empty(), "nothing on stdout: {}", outcome.stdout);
    assert_eq!(std::fs::read_to_string(&out).expect("out"), "previous contents", "nothing written");
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert_eq!(left.len(), 2, "no temporary file left behind");
}

/// The sample CSV's line `row` (1-based, header = 1) with `field` (0-based) replaced.
fn replace_field(text: &str, row: usize, field: usize, value: &str) -> String {
    let mut lines: Vec<String> = text.split("\r\n").map(str::to_owned).collect();
    let mut fields: Vec<&str> = lines[row - 1].split(',').collect();
    fields[field] = value;
    lines[row - 1] = fields.join(",");
    lines.join("\r\n")
}

#[test]
fn a_missing_column() {
    fails_with(
        |text| text.replacen("This Month Count", "This Month", 1),
        &["report.csv: row 1: missing column \"This Month Count\"; the header row has \"Customer Code\""],
    );
}

#[test]
fn a_count_that_is_not_a_whole_number() {
    fails_with(
        |text| replace_field(text, 4, 8, "2.5"),
        &[
            "report.csv: row 4, column \"This Month Count\" (I4): expected a whole number of at least 0, found `2.5`, which is not a whole number",
        ],
    );
}

#[test]
fn a_negative_count() {
    fails_with(
        |text| replace_field(text, 7, 6, "-3"),
        &[
            "report.csv: row 7, column \"Last Month Count\" (G7): expected a whole number of at least 0, found the negative number `-3`",
        ],
    );
}

#[test]
fn a_customer_code_with_two_names() {
    fails_with(
        |text| replace_field(text, 3, 1, "ASP Cloud Limited"),
        &[
            "report.csv: row 3, column \"Customer Name\" (B3): customer `ASP` is named `ASP Cloud` in row 2 and `ASP Cloud Limited` here",
        ],
    );
}

#[test]
fn a_customer_code_with_two_account_codes() {
    fails_with(
        |text| replace_field(text, 8, 2, "29683999"),
        &[
            "report.csv: row 8, column \"Customer Account Code\" (C8): customer `SampleCustomerShortCodeName` has account code `29683542` in row 7 and account code `29683999` here",
        ],
    );
}

#[test]
fn a_billable_flag_other_than_yes_or_no() {
    fails_with(
        |text| replace_field(text, 2, 4, "Y"),
        &["report.csv: row 2, column \"Billable Flag\" (E2): expected `Yes` or `No`, found `Y`"],
    );
}

#[test]
fn a_bad_xlsx_cell_is_named_like_excel_names_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut table = export_table(&seed_snapshot());
    table[3][8] = Field::Number(2.5);
    let report = dir.path().join("report.xlsx");
    std::fs::write(&report, xlsx(&table)).expect("write");
    let out = dir.path().join("atria.json");
    let outcome = import(&report, &out, &[]);
    assert_eq!(outcome.code, 1, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains(
            "report.xlsx: row 4, column \"This Month Count\" (I4): expected a whole number of at least 0, found `2.5`"
        ),
        "{}",
        outcome.stderr
    );
    assert!(!out.exists());
}

#[test]
fn a_file_that_is_no_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    let report = dir.path().join("report.txt");
    std::fs::write(&report, "x").expect("write");
    let out = dir.path().join("atria.json");
    let outcome = import(&report, &out, &[]);
    assert_eq!(outcome.code, 1);
    assert!(
        outcome.stderr.contains(
            "report.txt: expected a `.csv` or `.xlsx` export of the Service Billing Summary report"
        ),
        "{}",
        outcome.stderr
    );
    let renamed = dir.path().join("report.xlsx");
    std::fs::write(&renamed, "Customer Code\n").expect("write");
    let outcome = import(&renamed, &out, &[]);
    assert_eq!(outcome.code, 1);
    assert!(outcome.stderr.contains("report.xlsx: is not a readable .xlsx workbook"), "{}", outcome.stderr);
    assert!(!out.exists());
}

// ---------------------------------------------------------------------------------------------
// The sample exports' generator. The committed files must be exactly what it makes; after a
// deliberate change, `BILLSYNC_UPDATE_EXPORTS=1 cargo test -p billsync --test import`
// rewrites them (then read `git diff fixtures/seed-example/export`).

#[derive(Clone, Debug)]
enum Field {
    Text(String),
    Number(f64),
    Empty,
}

impl Field {
    fn text(&self) -> String {
        match self {
            Field::Text(text) => text.clone(),
            Field::Number(value) => format!("{value}"),
            Field::Empty => String::new(),
        }
    }
}

const COLUMNS: [&str; 10] = [
    "Customer Code",
    "Customer Name",
    "Customer Account Code",
    "Product SKU",
    "Billable Flag",
    "Summary Grouping",
    "Last Month Count",
    "Difference",
    "This Month Count",
    "ResultCount",
];

fn seed_snapshot() -> AtriaSnapshot {
    load_atria(&seed().join("atria.json")).expect("the seed example loads")
}

/// The report as Atria shows it: a header, then one row per billing row, with the customer's
/// name and account code repeated. Identifiers made of digits are numbers, as in a
/// spreadsheet; `ResultCount` is the number of result rows.
fn export_table(snapshot: &AtriaSnapshot) -> Vec<Vec<Field>> {
    let number_or_text = |text: Option<&str>| match text {
        None => Field::Empty,
        Some(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
            Field::Number(text.parse().expect("digits"))
        }
        Some(text) => Field::Text(text.to_owned()),
    };
    let mut table = vec![COLUMNS.iter().map(|column| Field::Text((*column).to_owned())).collect()];
    for row in &snapshot.billing {
        let customer = snapshot
            .customers
            .iter()
            .find(|c| *c.short_name == *row.customer_code)
            .expect("a known customer");
        table.push(vec![
            Field::Text(customer.short_name.to_string()),
            Field::Text(customer.name.to_string()),
            number_or_text(customer.billing_identifier.as_deref()),
            number_or_text(row.product_sku.as_deref()),
            Field::Text(if row.billable { "Yes" } else { "No" }.to_owned()),
            Field::Text(row.summary_grouping.to_string()),
            Field::Number(f64::from(row.last_month_count)),
            Field::Number(f64::from(row.this_month_count) - f64::from(row.last_month_count)),
            Field::Number(f64::from(row.this_month_count)),
            Field::Number(snapshot.billing.len() as f64),
        ]);
    }
    table
}

/// CSV as Excel's "CSV UTF-8" saves it: a BOM, CRLF after every row, a field quoted only when
/// it holds a comma, a quote or a line break.
fn excel_csv(table: &[Vec<Field>]) -> Vec<u8> {
    let mut text = String::from("\u{feff}");
    for row in table {
        let fields: Vec<String> = row
            .iter()
            .map(|field| {
                let value = field.text();
                if value.contains([',', '"', '\r', '\n']) {
                    format!("\"{}\"", value.replace('"', "\"\""))
                } else {
                    value
                }
            })
            .collect();
        text.push_str(&fields.join(","));
        text.push_str("\r\n");
    }
    text.into_bytes()
}

/// The same report as other tools write it: no BOM, LF, every field quoted, the columns in
/// another order with one extra column that billsync ignores.
fn quoted_csv(table: &[Vec<Field>]) -> Vec<u8> {
    const ORDER: [usize; 10] = [5, 3, 0, 1, 2, 4, 8, 6, 7, 9];
    let mut text = String::new();
    for (index, row) in table.iter().enumerate() {
        let mut fields: Vec<String> = ORDER.iter().map(|&column| row[column].text()).collect();
        fields.push(if index == 0 { "Billing Period End".to_owned() } else { "2026-11-25".to_owned() });
        let quoted: Vec<String> =
            fields.iter().map(|value| format!("\"{}\"", value.replace('"', "\"\""))).collect();
        text.push_str(&quoted.join(","));
        text.push('\n');
    }
    text.into_bytes()
}

/// The report as an .xlsx workbook: one sheet, a bold header, numbers stored as numbers, empty
/// cells left out. Fixed document properties (the creation time above all) keep the bytes
/// the same from run to run.
fn xlsx(table: &[Vec<Field>]) -> Vec<u8> {
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};
    let mut workbook = Workbook::new();
    let created =
        ExcelDateTime::from_ymd(2026, 11, 25).and_then(|date| date.and_hms(22, 0, 0)).expect("a date");
    workbook.set_properties(
        &DocProperties::new()
            .set_title("Service Billing Summary")
            .set_author("billsync test fixtures")
            .set_creation_datetime(&created),
    );
    let bold = Format::new().set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Service Billing Summary").expect("sheet name");
    for (row, fields) in table.iter().enumerate() {
        for (column, field) in fields.iter().enumerate() {
            let (row, column) = (u32::try_from(row).expect("rows"), u16::try_from(column).expect("columns"));
            match field {
                Field::Text(text) if row == 0 => {
                    sheet.write_string_with_format(row, column, text, &bold).map(drop)
                }
                Field::Text(text) => sheet.write_string(row, column, text).map(drop),
                Field::Number(value) => sheet.write_number(row, column, *value).map(drop),
                Field::Empty => Ok(()),
            }
            .expect("cell written");
        }
    }
    sheet.set_column_width(1, 28).and_then(|sheet| sheet.set_column_width(5, 32)).expect("widths");
    workbook.save_to_buffer().expect("the workbook is written")
}

/// Every sample export, by file name.
fn generated_exports() -> Vec<(&'static str, Vec<u8>)> {
    let table = export_table(&seed_snapshot());
    vec![
        ("service-billing-summary.csv", excel_csv(&table)),
        ("service-billing-summary-quoted.csv", quoted_csv(&table)),
        ("service-billing-summary.xlsx", xlsx(&table)),
    ]
}

#[test]
fn committed_exports_are_what_the_generator_makes() {
    let generated = generated_exports();
    assert_eq!(generated[2].1, xlsx(&export_table(&seed_snapshot())), "the xlsx bytes are stable");
    let update = std::env::var_os("BILLSYNC_UPDATE_EXPORTS").is_some();
    let mut stale = Vec::new();
    for (name, bytes) in &generated {
        let path = exports().join(name);
        if std::fs::read(&path).ok().as_ref() != Some(bytes) {
            if update {
                std::fs::create_dir_all(exports()).expect("export folder");
                // Through a rename: other tests of this file read the samples meanwhile.
                let temporary = path.with_extension("tmp");
                std::fs::write(&temporary, bytes).expect("write the sample export");
                std::fs::rename(&temporary, &path).expect("rename the sample export");
            } else {
                stale.push(*name);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "{stale:?} in fixtures/seed-example/export differ from what the generator makes; run \
         `BILLSYNC_UPDATE_EXPORTS=1 cargo test -p billsync --test import` and read the diff"
    );
    let csv = &generated[0].1;
    assert!(csv.starts_with(b"\xEF\xBB\xBFCustomer Code,") && csv.ends_with(b"\r\n"), "BOM and CRLF");
}
