//! Loading `atria.json`: a bad fixture is refused with the file, the JSON path and what is
//! expected; a good one seeds the mock.

use mock_atria::MockConfig;
use serde_json::{Value as Json, json};

use crate::common::fixture_dir;

fn seed_json() -> Json {
    serde_json::from_slice(&std::fs::read(fixture_dir().join("atria.json")).expect("fixture")).expect("JSON")
}

/// Seeds from `input` and expects exactly the problems `expect`.
fn check(input: &str, expect: &[&str]) {
    let error = MockConfig::from_json(input.as_bytes()).expect_err("a bad fixture is refused");
    assert_eq!(error.problems, expect, "{error}");
}

fn damaged(change: impl FnOnce(&mut Json)) -> String {
    let mut value = seed_json();
    change(&mut value);
    value.to_string()
}

#[test]
fn the_seed_fixture_loads() {
    MockConfig::from_json(seed_json().to_string().as_bytes()).expect("the seed loads");
}

/// Customers and rows may carry the export's other columns, as billsync's snapshots may; only
/// the top level and the period are strict.
#[test]
fn vendor_columns_on_customers_and_rows_are_accepted() {
    let seed = damaged(|seed| {
        seed["customers"][0]["customerAccountCode"] = json!("29683541");
        seed["billing"][0]["resultCount"] = json!(1);
    });
    MockConfig::from_json(seed.as_bytes()).expect("vendor columns load");
}

#[test]
fn bad_fixtures_name_the_json_path() {
    check("  ", &["$: the file is empty; expected a `billsync.atria/v1` JSON object"]);
    check("{\"format\":", &["line 1 column 10: not valid JSON: EOF while parsing a value"]);
    check(
        &damaged(|seed| seed["format"] = json!("billsync.autotask/v1")),
        &["$.format: expected `billsync.atria/v1`, found \"billsync.autotask/v1\""],
    );
    check(
        &damaged(|seed| seed["billing"][3]["thisMonthCount"] = json!("25")),
        &["$.billing[3].thisMonthCount: invalid type: string \"25\", expected a whole number from 0 up"],
    );
    check(
        &damaged(|seed| seed["period"]["endDate"] = json!("25 November")),
        &["$.period.endDate: input contains invalid characters"],
    );
    check(
        &damaged(|seed| seed["colour"] = json!("red")),
        &["$.colour: unknown field `colour`, expected one of `format`, `period`, `customers`, `billing`"],
    );
    check(
        &damaged(|seed| {
            let first = seed["customers"][0].clone();
            seed["customers"].as_array_mut().unwrap().push(first);
            seed["billing"][0]["customerCode"] = json!("NOBODY");
        }),
        &[
            "$.customers[3].shortName: duplicate customer code `ASP`",
            "$.billing[0].customerCode: customer `NOBODY` is not in `customers`",
        ],
    );
}

#[test]
fn a_fixture_file_is_named_in_every_problem() {
    let dir = std::env::temp_dir().join(format!("mock-atria-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("atria.json");
    std::fs::write(&file, damaged(|seed| seed["billing"][0]["billable"] = json!("yes"))).expect("write");
    let error = MockConfig::from_fixture(&dir).expect_err("refused");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        error.problems,
        [format!(
            "{}: $.billing[0].billable: invalid type: string \"yes\", expected a boolean",
            file.display()
        )]
    );
}

/// Every `fixtures/*/atria.json` seeds the mock, which then holds the period exactly as given.
#[test]
fn every_fixture_seeds_the_mock_as_it_is_written() {
    let root = fixture_dir().join("..");
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .expect("fixtures")
        .map(|entry| entry.expect("entry").path().join("atria.json"))
        .filter(|file| file.is_file())
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    for file in files {
        let given = mock_atria::seed::load(&file).unwrap_or_else(|problems| panic!("{problems:?}"));
        let config = MockConfig::from_fixture(file.parent().unwrap()).expect("the fixture seeds the mock");
        let state = mock_atria::AppState::new(config).expect("a valid seed");
        assert_eq!(state.snapshot(given.period.end_date), Some(given), "{}", file.display());
    }
}
