//! Case tests of the summary import: each input goes through one `check` helper per reader,
//! which renders the snapshot compactly, or the problems as the user reads them.

use chrono::NaiveDate;

use super::{atria_summary, column_letters, csv_file, xlsx_file};
use crate::problems::Problems;
use crate::snapshot::{AtriaSnapshot, BillingPeriod, PeriodStatus};

const HEADER: &str = "Customer Code,Customer Name,Customer Account Code,Product SKU,Billable Flag,Summary Grouping,Last Month Count,Difference,This Month Count,ResultCount";

fn period() -> BillingPeriod {
    BillingPeriod {
        start_date: NaiveDate::from_ymd_opt(2026, 10, 26).expect("date"),
        end_date: NaiveDate::from_ymd_opt(2026, 11, 25).expect("date"),
        status: PeriodStatus::Closed,
    }
}

/// One line per customer (`code | name | billing identifier`), then one per row
/// (`  code sku | grouping | billable | last -> this`); `-` stands for null.
fn render(result: Result<AtriaSnapshot, Problems>) -> String {
    let snapshot = match result {
        Ok(snapshot) => snapshot,
        Err(problems) => return format!("{problems}\n"),
    };
    let mut out = String::new();
    for customer in &snapshot.customers {
        assert_eq!(customer.status, crate::snapshot::CustomerStatus::Active);
        out.push_str(&format!(
            "{} | {} | {}\n",
            customer.short_name,
            customer.name,
            customer.billing_identifier.as_deref().unwrap_or("-")
        ));
    }
    for row in &snapshot.billing {
        out.push_str(&format!(
            "  {} {} | {} | {} | {} -> {}\n",
            row.customer_code,
            row.product_sku.as_deref().unwrap_or("-"),
            row.summary_grouping,
            if row.billable { "billable" } else { "not billable" },
            row.last_month_count,
            row.this_month_count
        ));
    }
    out
}

#[track_caller]
fn check_bytes(csv: &[u8], expect: &str) {
    let result = csv_file::read(csv).and_then(|table| atria_summary(&table, period()));
    if let Ok(snapshot) = &result {
        // What the import makes, `plan --atria` loads unchanged.
        let json = serde_json::to_vec(snapshot).expect("serializes");
        assert_eq!(&crate::snapshot::parse_atria(&json).expect("parses back"), snapshot);
    }
    assert_eq!(render(result), expect);
}

#[track_caller]
fn check(csv: &str, expect: &str) {
    check_bytes(csv.as_bytes(), expect);
}

#[test]
fn column_names_are_spreadsheet_letters() {
    let names: Vec<String> = [0, 4, 25, 26, 27, 51, 52, 701, 702].into_iter().map(column_letters).collect();
    assert_eq!(names, ["A", "E", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]);
}

#[test]
fn the_report_as_excel_saves_it() {
    let csv = format!(
        "\u{feff}{HEADER}\r\nASP,ASP Cloud,29683541,12,Yes,Microsoft 365 Business Premium,20,5,25,4\r\nASP,ASP Cloud,29683541,,Yes,Tenants,1,0,1,4\r\nSample,\"Sample Customer, Pty Ltd\",,40,No,\"Azure Backup \"\"trial\"\"\",2,0,2,4\r\n"
    );
    check(
        &csv,
        "ASP | ASP Cloud | 29683541\n\
         Sample | Sample Customer, Pty Ltd | -\n  \
         ASP 12 | Microsoft 365 Business Premium | billable | 20 -> 25\n  \
         ASP - | Tenants | billable | 1 -> 1\n  \
         Sample 40 | Azure Backup \"trial\" | not billable | 2 -> 2\n",
    );
}

#[test]
fn headers_in_any_order_any_case_with_extra_columns() {
    check(
        "  this month count ,Region,CUSTOMER   CODE,customer name,Billable flag,product sku,summary grouping,Last Month Count,Customer Account Code\n\
         7,EU,ASP,ASP Cloud,yes, 12 ,M365,6,29683541\n\
         ,,,,,,,,\n\
         3,EU,ASP,ASP Cloud,NO,40,Backup,3,29683541\n",
        "ASP | ASP Cloud | 29683541\n  \
         ASP 12 | M365 | billable | 6 -> 7\n  \
         ASP 40 | Backup | not billable | 3 -> 3\n",
    );
}

#[test]
fn title_rows_above_the_header_are_skipped() {
    check(
        &format!(
            "Service Billing Summary,,,\r\nPeriod ending 2026-11-25,,,\r\n\r\n{HEADER}\r\nASP,ASP Cloud,7,12,Yes,M365,1,0,-2,1\r\n"
        ),
        "row 5, column \"This Month Count\" (I5): expected a whole number of at least 0, found the negative number `-2`\n",
    );
}

#[test]
fn semicolons_as_some_locales_save_it() {
    check(
        "Customer Code;Customer Name;Customer Account Code;Product SKU;Billable Flag;Summary Grouping;Last Month Count;This Month Count\n\
         ASP;ASP, Cloud;29683541;12;Yes;M365;1;2\n",
        "ASP | ASP, Cloud | 29683541\n  ASP 12 | M365 | billable | 1 -> 2\n",
    );
}

#[test]
fn a_missing_column_names_the_header_row() {
    check(
        "Customer Code,Customer Name,Customer Account Code,Product SKU,Billable Flag,Summary Grouping,Last Month Count\nASP,ASP Cloud,1,12,Yes,M365,1\n",
        "row 1: missing column \"This Month Count\"; the header row has \"Customer Code\", \"Customer Name\", \"Customer Account Code\", \"Product SKU\", \"Billable Flag\", \"Summary Grouping\", \"Last Month Count\"\n",
    );
}

#[test]
fn a_column_twice_is_ambiguous() {
    check(
        &format!("{HEADER},This Month Count\nASP,ASP Cloud,1,12,Yes,M365,1,1,2,1,3\n"),
        "row 1, column K: column \"This Month Count\" appears twice (I1 and K1); keep one\n",
    );
}

#[test]
fn counts_must_be_whole_and_not_negative() {
    check(
        &format!(
            "{HEADER}\nASP,ASP Cloud,1,12,Yes,M365,-1,0,2.5,3\nASP,ASP Cloud,1,17,Yes,EXO,,0,ten,3\nASP,ASP Cloud,1,31,Yes,Defender,1e3,0,3000000000,3\nASP,ASP Cloud,1,40,Yes,Backup, 4 ,0,5.0,3\n"
        ),
        "row 2, column \"Last Month Count\" (G2): expected a whole number of at least 0, found the negative number `-1`\n\
         row 2, column \"This Month Count\" (I2): expected a whole number of at least 0, found `2.5`, which is not a whole number\n\
         row 3, column \"Last Month Count\" (G3): expected a whole number of at least 0, found an empty cell\n\
         row 3, column \"This Month Count\" (I3): expected a whole number of at least 0, found `ten`\n\
         row 4, column \"Last Month Count\" (G4): expected a whole number of at least 0, found `1e3`\n\
         row 4, column \"This Month Count\" (I4): expected a whole number of at least 0, found `3000000000`, more than Autotask's units allow (2147483647)\n",
    );
}

#[test]
fn the_billable_flag_is_yes_or_no() {
    check(
        &format!("{HEADER}\nASP,ASP Cloud,1,12,True,M365,1,0,1,2\nASP,ASP Cloud,1,17,,EXO,1,0,1,2\n"),
        "row 2, column \"Billable Flag\" (E2): expected `Yes` or `No`, found `True`\n\
         row 3, column \"Billable Flag\" (E3): expected `Yes` or `No`, found an empty cell\n",
    );
}

#[test]
fn one_customer_code_has_one_name_and_one_account_code() {
    check(
        &format!(
            "{HEADER}\nASP,ASP Cloud,29683541,12,Yes,M365,1,0,1,3\nASP,ASP Cloud Ltd,29683541,17,Yes,EXO,1,0,1,3\nASP,ASP Cloud,,31,Yes,Defender,1,0,1,3\nASP,ASP Cloud,29683999,40,Yes,Backup,1,0,1,3\n"
        ),
        "row 3, column \"Customer Name\" (B3): customer `ASP` is named `ASP Cloud` in row 2 and `ASP Cloud Ltd` here; one customer code needs one name\n\
         row 4, column \"Customer Account Code\" (C4): customer `ASP` has account code `29683541` in row 2 and no account code here; one customer code needs one account code\n\
         row 5, column \"Customer Account Code\" (C5): customer `ASP` has account code `29683541` in row 2 and account code `29683999` here; one customer code needs one account code\n",
    );
}

#[test]
fn a_row_without_customer_code() {
    check(
        &format!("{HEADER}\n ,Nobody,1,12,Yes,M365,1,0,1,1\n"),
        "row 2, column \"Customer Code\" (A2): is empty; every row needs its customer's code\n",
    );
}

#[test]
fn rows_are_counted_as_excel_shows_them() {
    // A line break inside a quoted field and a blank line: Excel shows the bad count in row 4, on line 6.
    check(
        &format!(
            "{HEADER}\r\nASP,\"ASP\r\nCloud\",1,12,Yes,M365,1,0,1,2\r\n\r\nASP,\"ASP\r\nCloud\",1,17,Yes,EXO,1,0,x,2\r\n"
        ),
        "row 4, column \"This Month Count\" (I4): expected a whole number of at least 0, found `x`\n",
    );
}

#[test]
fn text_that_is_not_a_csv_report() {
    check(
        "",
        "row 1: the report is empty; expected a header row with the columns \"Customer Code\", \"Customer Name\", \"Customer Account Code\", \"Product SKU\", \"Billable Flag\", \"Summary Grouping\", \"Last Month Count\", \"This Month Count\"\n",
    );
    check_bytes(
        b"Customer Code\nASP\n\xE9t\xE9\n",
        "line 3: is not UTF-8 text; save the report as \"CSV UTF-8 (Comma delimited)\" or .xlsx\n",
    );
    check_bytes(
        b"PK\x03\x04rest",
        "line 1: is a zip archive, not CSV text: an .xlsx workbook must be named `.xlsx`\n",
    );
    check_bytes(
        b"\xFF\xFEC\x00",
        "line 1: is UTF-16 text (Excel's \"Unicode Text\"); save the report as \"CSV UTF-8 (Comma delimited)\" or .xlsx\n",
    );
}

#[test]
fn control_characters_in_values_are_escaped() {
    check(
        &format!("{HEADER}\nASP,ASP Cloud,1,12,\"\x1b[31mYes\",M365,1,0,1,1\n"),
        "row 2, column \"Billable Flag\" (E2): expected `Yes` or `No`, found `\\u{1b}[31mYes`\n",
    );
}

// ---------------------------------------------------------------------------------------------
// XLSX

/// A cell to write: text, a number (stored as a float, as Excel does), or nothing.
enum W {
    T(&'static str),
    N(f64),
    B(bool),
    None,
}

fn workbook(sheets: &[(&str, &[&[W]])]) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    for (name, rows) in sheets {
        let sheet = workbook.add_worksheet();
        sheet.set_name(*name).expect("sheet name");
        for (row, cells) in rows.iter().enumerate() {
            for (column, cell) in cells.iter().enumerate() {
                let (row, column) = (row as u32, column as u16);
                match cell {
                    W::T(text) => sheet.write_string(row, column, *text).map(drop),
                    W::N(value) => sheet.write_number(row, column, *value).map(drop),
                    W::B(value) => sheet.write_boolean(row, column, *value).map(drop),
                    W::None => Ok(()),
                }
                .expect("cell written");
            }
        }
    }
    workbook.save_to_buffer().expect("workbook")
}

#[track_caller]
fn check_xlsx(bytes: &[u8], sheet: Option<&str>, expect: &str) {
    let result = xlsx_file::read(bytes, sheet).and_then(|table| atria_summary(&table, period()));
    assert_eq!(render(result), expect);
}

const XLSX_HEADER: [W; 10] = [
    W::T("Customer Code"),
    W::T("Customer Name"),
    W::T("Customer Account Code"),
    W::T("Product SKU"),
    W::T("Billable Flag"),
    W::T("Summary Grouping"),
    W::T("Last Month Count"),
    W::T("Difference"),
    W::T("This Month Count"),
    W::T("ResultCount"),
];

/// Two rows as a spreadsheet types them: counts and the account code as floats, one SKU a
/// number, one empty, one count typed as text.
const ASP_ROWS: [&[W]; 2] = [
    &[
        W::T("ASP"),
        W::T("ASP Cloud"),
        W::N(29683541.0),
        W::N(12.0),
        W::T("Yes"),
        W::T("M365"),
        W::N(20.0),
        W::N(5.0),
        W::N(25.0),
        W::N(2.0),
    ],
    &[
        W::T("ASP"),
        W::T("ASP Cloud"),
        W::N(29683541.0),
        W::None,
        W::T("yes"),
        W::T("Tenants"),
        W::T("1"),
        W::N(0.0),
        W::N(1.0),
        W::N(2.0),
    ],
];

#[test]
fn xlsx_numbers_are_floats_and_skus_may_be_numbers() {
    let bytes = workbook(&[(
        "Summary",
        &[
            &XLSX_HEADER,
            ASP_ROWS[0],
            ASP_ROWS[1],
            &[W::T("Other"), W::T("Other Ltd"), W::None, W::T("M-E3"), W::T("No"), W::None, W::N(0.0)],
        ],
    )]);
    check_xlsx(
        &bytes,
        None,
        "row 4, column \"This Month Count\" (I4): expected a whole number of at least 0, found an empty cell\n",
    );
    let bytes = workbook(&[("Summary", &[&XLSX_HEADER, ASP_ROWS[0], ASP_ROWS[1]])]);
    check_xlsx(
        &bytes,
        None,
        "ASP | ASP Cloud | 29683541\n  \
         ASP 12 | M365 | billable | 20 -> 25\n  \
         ASP - | Tenants | billable | 1 -> 1\n",
    );
}

#[test]
fn xlsx_bad_cells_are_named_by_their_cell() {
    let bytes = workbook(&[(
        "Summary",
        &[
            &XLSX_HEADER,
            &[
                W::T("ASP"),
                W::T("ASP Cloud"),
                W::N(1.0),
                W::N(12.5),
                W::B(true),
                W::T("M365"),
                W::N(-2.0),
                W::N(0.0),
                W::N(2.5),
            ],
        ],
    )]);
    check_xlsx(
        &bytes,
        None,
        "row 2, column \"Billable Flag\" (E2): expected `Yes` or `No`, found `TRUE`\n\
         row 2, column \"Last Month Count\" (G2): expected a whole number of at least 0, found the negative number `-2`\n\
         row 2, column \"This Month Count\" (I2): expected a whole number of at least 0, found `2.5`, which is not a whole number\n",
    );
}

#[test]
fn xlsx_the_first_worksheet_or_the_one_named() {
    let row: &[W] = &[
        W::T("ASP"),
        W::T("ASP Cloud"),
        W::N(1.0),
        W::N(12.0),
        W::T("Yes"),
        W::T("M365"),
        W::N(1.0),
        W::N(1.0),
        W::N(2.0),
    ];
    let other: &[W] = &[
        W::T("B"),
        W::T("Bee"),
        W::None,
        W::T("17"),
        W::T("No"),
        W::T("EXO"),
        W::N(0.0),
        W::N(0.0),
        W::N(0.0),
    ];
    let bytes =
        workbook(&[("Summary", &[&XLSX_HEADER, row]), ("Other", &[&[W::T("notes")], &XLSX_HEADER, other])]);
    check_xlsx(&bytes, None, "ASP | ASP Cloud | 1\n  ASP 12 | M365 | billable | 1 -> 2\n");
    check_xlsx(&bytes, Some("Other"), "B | Bee | -\n  B 17 | EXO | not billable | 0 -> 0\n");
    check_xlsx(&bytes, Some("Nope"), "has no worksheet `Nope`; its worksheets: `Summary`, `Other`\n");
    let error = xlsx_file::read(b"not a zip at all", None).expect_err("not a workbook").to_string();
    assert!(error.starts_with("is not a readable .xlsx workbook: "), "{error}");
}

#[test]
fn xlsx_a_table_that_does_not_start_at_a1() {
    let bytes = workbook(&[(
        "Summary",
        &[
            &[],
            &[
                W::None,
                W::T("Customer Code"),
                W::T("Customer Name"),
                W::T("Customer Account Code"),
                W::T("Product SKU"),
                W::T("Billable Flag"),
                W::T("Summary Grouping"),
                W::T("Last Month Count"),
                W::T("This Month Count"),
            ],
            &[
                W::None,
                W::T("ASP"),
                W::T("ASP Cloud"),
                W::N(7.0),
                W::N(12.0),
                W::T("Yes"),
                W::T("M365"),
                W::N(1.0),
                W::T("x"),
            ],
        ],
    )]);
    check_xlsx(
        &bytes,
        None,
        "row 3, column \"This Month Count\" (I3): expected a whole number of at least 0, found `x`\n",
    );
}

// ---------------------------------------------------------------------------------------------
// No input makes the import panic: random text through the CSV reader, damaged workbooks
// through the XLSX reader, each then converted.

mod no_panic {
    use proptest::prelude::*;

    use super::{HEADER, W, XLSX_HEADER, period, workbook};
    use crate::import::{atria_summary, csv_file, xlsx_file};

    fn sample_workbook() -> Vec<u8> {
        workbook(&[(
            "Summary",
            &[
                &XLSX_HEADER,
                &[
                    W::T("ASP"),
                    W::T("ASP Cloud"),
                    W::N(1.0),
                    W::N(12.0),
                    W::T("Yes"),
                    W::T("M365"),
                    W::N(1.0),
                    W::N(0.0),
                    W::N(2.0),
                ],
            ],
        )])
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn csv_text(body in "[A-Za-z0-9 ,;\"\r\n\t.-]{0,200}") {
            let text = format!("{HEADER}\r\n{body}");
            let _ = csv_file::read(text.as_bytes()).and_then(|table| atria_summary(&table, period()));
        }

        #[test]
        fn csv_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = csv_file::read(&bytes).and_then(|table| atria_summary(&table, period()));
        }

        #[test]
        fn damaged_workbooks(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
            let mut bytes = sample_workbook();
            for (index, value) in flips {
                let at = index.index(bytes.len());
                bytes[at] = value;
            }
            let _ = xlsx_file::read(&bytes, None).and_then(|table| atria_summary(&table, period()));
        }
    }
}

#[test]
fn xlsx_a_hidden_first_sheet_is_passed_over() {
    let mut book = rust_xlsxwriter::Workbook::new();
    let hidden = book.add_worksheet();
    hidden.set_name("Lookup").expect("name");
    hidden.write_string(0, 0, "not the report").expect("cell");
    hidden.set_hidden(true);
    let sheet = book.add_worksheet();
    sheet.set_name("Summary").expect("name").set_active(true);
    let header = XLSX_HEADER.map(|cell| match cell {
        W::T(text) => text,
        _ => unreachable!("the header is text"),
    });
    for (column, text) in header.iter().enumerate() {
        sheet.write_string(0, column as u16, *text).expect("header");
    }
    for (column, text) in ["ASP", "ASP Cloud", "7", "12", "No", "M365", "1", "0", "1"].iter().enumerate() {
        sheet.write_string(1, column as u16, *text).expect("cell");
    }
    let bytes = book.save_to_buffer().expect("workbook");
    check_xlsx(&bytes, None, "ASP | ASP Cloud | 7\n  ASP 12 | M365 | not billable | 1 -> 1\n");
}
