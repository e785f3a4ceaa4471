//! Money and review outputs through the binary: the Excel workbook read back with calamine, the
//! CSV's byte-order mark, one set of column names for every CSV.

mod common;

use std::path::Path;
use std::process::Command;

use billsync::plan::Plan;
use billsync::render::csv::COLUMNS;
use calamine::{Data, Reader as _, Xlsx};
use common::{AS_OF, fixtures};

struct Outcome {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

fn billsync(args: &[&str]) -> Outcome {
    let output = Command::new(env!("CARGO_BIN_EXE_billsync")).args(args).output().expect("billsync runs");
    Outcome {
        code: output.status.code().expect("exited, not killed"),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `billsync plan --out` of a fixture folder into `dir`; the plan's path.
fn plan_of(fixture: &str, dir: &Path) -> String {
    let folder = fixtures().join(fixture);
    let out = dir.join(format!("{fixture}.json")).to_string_lossy().into_owned();
    let mut args = common::plan_args(
        &folder.join("job.yaml"),
        &folder.join("atria.json"),
        &folder.join("autotask.json"),
        AS_OF,
    );
    args.extend(["--out".to_owned(), out.clone()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let outcome = billsync(&args);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    out
}

fn number(cell: &Data) -> Option<f64> {
    match cell {
        Data::Float(value) => Some(*value),
        Data::Int(value) => Some(*value as f64),
        _ => None,
    }
}

#[test]
fn the_workbook_has_one_typed_row_per_action_with_the_plans_numbers() {
    let dir = tempfile::tempdir().expect("a temp dir");
    for fixture in ["every-code", "compile-edge-cases", "seed-example"] {
        let plan_path = plan_of(fixture, dir.path());
        let plan = Plan::load(Path::new(&plan_path)).expect("the plan loads");
        let workbook_path = dir.path().join(format!("{fixture}.xlsx"));
        let outcome =
            billsync(&["show", &plan_path, "--format", "xlsx", "--out", &workbook_path.to_string_lossy()]);
        assert_eq!(outcome.code, 0, "{}", outcome.stderr);
        assert!(outcome.stdout.is_empty());

        let mut workbook: Xlsx<_> = calamine::open_workbook(&workbook_path).expect("an .xlsx workbook");
        assert_eq!(workbook.sheet_names(), ["Plan", "Log"]);
        let sheet = workbook.worksheet_range("Plan").expect("the Plan sheet");
        let rows: Vec<&[Data]> = sheet.rows().collect();
        let header: Vec<String> = rows[0].iter().map(|cell| cell.to_string()).collect();
        assert_eq!(header, COLUMNS[1..], "the CSV's column names, less `record`");
        assert_eq!(rows.len() - 1, plan.actions.len(), "{fixture}: one row per action");
        let column = |name: &str| header.iter().position(|column| column == name).expect("a column");
        let exact = |amount: rust_decimal::Decimal| amount.to_string().parse::<f64>().expect("a number");
        for (row, action) in rows[1..].iter().zip(&plan.actions) {
            assert_eq!(row[column("kind")].to_string(), action.kind.as_str());
            assert_eq!(row[column("customer_code")].to_string(), &*action.customer_code);
            assert_eq!(
                number(&row[column("contract_service_id")]),
                action.contract_service_id.map(|id| id as f64)
            );
            assert_eq!(number(&row[column("from")]), action.from.map(f64::from));
            assert_eq!(number(&row[column("to")]), action.to.map(f64::from));
            for (name, amount) in [
                ("unit_price", action.unit_price),
                ("monthly_amount_change", action.monthly_amount_change),
                ("prorated_amount_change", action.prorated_amount_change),
            ] {
                let cell = &row[column(name)];
                match amount {
                    Some(Some(amount)) => assert_eq!(number(cell), Some(exact(amount)), "{fixture} {name}"),
                    Some(None) => assert_eq!(cell.to_string(), "no price"),
                    None => assert_eq!(cell, &Data::Empty, "{fixture} {name}: not a change"),
                }
            }
            // A typed date: Excel shows it as a date, not as text.
            match action.effective_date {
                Some(date) => {
                    let cell = &row[column("effective_date")];
                    let Data::DateTime(shown) = cell else { panic!("{fixture}: a date cell, got {cell:?}") };
                    // Excel counts days from 1899-12-30.
                    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).expect("a date");
                    assert_eq!(shown.as_f64(), (date.date_naive() - epoch).num_days() as f64);
                }
                None => assert_eq!(row[column("effective_date")], Data::Empty),
            }
        }
        // The workbook's money adds up to the plan's total, to the cent.
        let sum: f64 = rows[1..].iter().filter_map(|row| number(&row[column("monthly_amount_change")])).sum();
        assert!((sum - exact(plan.summary.monthly_amount_change)).abs() < 0.005, "{fixture}: {sum}");

        let log = workbook.worksheet_range("Log").expect("the Log sheet");
        let shown = plan.log.iter().filter(|entry| entry.level.shown_at(plan.settings.log_level)).count();
        assert_eq!(log.rows().count() - 1, shown, "{fixture}: the log in a sheet of its own");
    }
}

#[test]
fn a_workbook_needs_a_file_and_nothing_is_written_without_one() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let plan_path = plan_of("seed-example", dir.path());
    let outcome = billsync(&["show", &plan_path, "--format", "xlsx"]);
    assert_eq!(outcome.code, 1);
    assert!(outcome.stderr.contains("--out FILE.xlsx"), "{}", outcome.stderr);
    assert!(outcome.stdout.is_empty(), "no workbook bytes on a terminal");
}

#[test]
fn the_csv_carries_a_byte_order_mark_when_asked_and_one_set_of_column_names() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let plan_path = plan_of("seed-example", dir.path());
    let plain = billsync(&["show", &plan_path, "--format", "csv"]);
    let bom = billsync(&["show", &plan_path, "--format", "csv", "--bom"]);
    assert_eq!((plain.code, bom.code), (0, 0), "{}", bom.stderr);
    assert_eq!(&bom.stdout[..3], b"\xef\xbb\xbf");
    assert_eq!(&bom.stdout[3..], &plain.stdout[..]);
    let header = String::from_utf8(plain.stdout).expect("UTF-8");
    let header = header.lines().next().expect("a header");
    assert!(header.contains(",customer_code,") && header.contains(",monthly_amount_change,"), "{header}");

    // `apply --log FILE.csv` names its columns as `show --format csv` does.
    let log = billsync::online::log_text(&[], Path::new("log.csv"));
    let log_header: Vec<&str> = log.trim_end().split(',').collect();
    assert_eq!(log_header, ["at", "code", "level", "customer_code", "message"]);
    assert!(log_header[1..].iter().all(|name| COLUMNS.contains(name)), "{log_header:?}");

    let wrong = billsync(&["show", &plan_path, "--format", "html", "--bom"]);
    assert_eq!(wrong.code, 1);
    assert!(wrong.stderr.contains("--bom is for `--format csv` only"), "{}", wrong.stderr);
}

#[test]
fn plan_show_and_diff_colour_their_text_when_asked() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let folder = fixtures().join("seed-example");
    let plan = |color: Option<&str>| {
        let mut args = common::plan_args(
            &folder.join("job.yaml"),
            &folder.join("atria.json"),
            &folder.join("autotask.json"),
            AS_OF,
        );
        if let Some(color) = color {
            args.extend(["--color".to_owned(), color.to_owned()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let outcome = billsync(&args);
        assert_eq!(outcome.code, 0, "{}", outcome.stderr);
        String::from_utf8(outcome.stdout).expect("UTF-8")
    };
    let always = plan(Some("always"));
    assert!(always.contains("\x1b[33m  ~ update    AT09"), "{always:?}");
    assert!(always.contains("\x1b[32m  + create"), "{always:?}");
    assert!(always.contains("\x1b[1mMonthly amount change: +130.00\x1b[0m"), "{always:?}");
    // Piped (auto) and never: plain, and the same text once the colour is taken out.
    let (auto, never) = (plan(None), plan(Some("never")));
    assert!(!auto.contains('\x1b') && !never.contains('\x1b'));
    assert_eq!(auto, never);
    let stripped = always.replace("\x1b[0m", "").replace("\x1b[33m", "").replace("\x1b[32m", "");
    let stripped = stripped.replace("\x1b[31m", "").replace("\x1b[35m", "").replace("\x1b[2m", "");
    assert_eq!(stripped.replace("\x1b[1m", ""), never);

    let plan_path = plan_of("seed-example", dir.path());
    let show = billsync(&["show", &plan_path, "--color", "always"]);
    assert!(String::from_utf8_lossy(&show.stdout).contains("\x1b[33m  ~ update"));
    let next = plan_of("seed-example-next-month", dir.path());
    let diff = billsync(&["diff", &plan_path, &next, "--color", "always"]);
    assert_eq!(diff.code, 2, "{}", diff.stderr);
    assert!(String::from_utf8_lossy(&diff.stdout).contains("\x1b[32m  + Exchange Online Plan 1"));
    let bad = billsync(&["show", &plan_path, "--color", "sometimes"]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("auto") && bad.stderr.contains("never"), "{}", bad.stderr);
}
