//! Snapshot loading case by case: the seed example edited as JSON in, the problems (or the
//! parsed value) out.

use serde_json::{Value, json};

use super::*;

const SEED_ATRIA: &str = include_str!("../../../fixtures/seed-example/atria.json");
const SEED_AUTOTASK: &str = include_str!("../../../fixtures/seed-example/autotask.json");

/// The seed snapshot of `kind` as a JSON value, after `edit`, as bytes.
fn edited(kind: SnapshotKind, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let text = match kind {
        SnapshotKind::Atria => SEED_ATRIA,
        SnapshotKind::Autotask => SEED_AUTOTASK,
    };
    let mut value: Value = serde_json::from_str(text).expect("seed JSON");
    edit(&mut value);
    serde_json::to_vec(&value).expect("JSON")
}

/// Parses the edited snapshot and compares its problems, one per line, with `expected`.
fn check_problems(kind: SnapshotKind, edit: impl FnOnce(&mut Value), expected: &str) {
    let bytes = edited(kind, edit);
    let problems = match kind {
        SnapshotKind::Atria => parse_atria(&bytes).map(|_| ()),
        SnapshotKind::Autotask => parse_autotask(&bytes).map(|_| ()),
    }
    .expect_err("the edit makes the snapshot invalid");
    assert_eq!(problems.to_string(), expected.trim());
}

#[test]
fn a_timestamp_without_offset_names_its_path_and_the_expected_form() {
    check_problems(
        SnapshotKind::Autotask,
        |value| value["contractServiceUnits"][3]["endDate"] = json!("2026-11-25T00:00:00"),
        "$.contractServiceUnits[3].endDate: expected a timestamp with a UTC offset, like \
         `2026-11-25T00:00:00Z`, found a timestamp without an offset: `2026-11-25T00:00:00`",
    );
}

#[test]
fn a_date_only_timestamp_names_its_path_and_the_expected_form() {
    check_problems(
        SnapshotKind::Autotask,
        |value| value["contracts"][1]["startDate"] = json!("2026-01-01"),
        "$.contracts[1].startDate: expected a timestamp with a UTC offset, like \
         `2026-11-25T00:00:00Z`, found a date without a time: `2026-01-01`",
    );
    check_problems(
        SnapshotKind::Autotask,
        |value| value["contractServiceUnits"][0]["approveAndPostDate"] = json!("soon"),
        "$.contractServiceUnits[0].approveAndPostDate: expected a timestamp with a UTC offset, like \
         `2026-11-25T00:00:00Z`, found text that is not a timestamp: `soon`",
    );
}

#[test]
fn a_period_date_with_a_time_names_its_path() {
    check_problems(
        SnapshotKind::Atria,
        |value| value["period"]["endDate"] = json!("2026-11-25T00:00:00Z"),
        "$.period.endDate: expected a calendar date like `2026-11-25`, found `2026-11-25T00:00:00Z`",
    );
}

#[test]
fn an_integral_float_count_is_the_integer() {
    let bytes = edited(SnapshotKind::Atria, |value| {
        value["billing"][0]["thisMonthCount"] = json!(25.0);
        value["billing"][0]["lastMonthCount"] = json!(2e1);
    });
    let atria = parse_atria(&bytes).expect("25.0 is an integer");
    assert_eq!((atria.billing[0].this_month_count, atria.billing[0].last_month_count), (25, 20));
    let bytes =
        edited(SnapshotKind::Autotask, |value| value["contractServiceUnits"][0]["units"] = json!(20.0));
    let autotask = parse_autotask(&bytes).expect("Autotask's 20.0000 units are 20");
    assert_eq!(autotask.contract_service_units[0].units, 20);
    // The schema agrees (JSON Schema's integers include 20.0): beside a real problem, only
    // that problem is reported.
    check_problems(
        SnapshotKind::Autotask,
        |value| {
            value["contractServiceUnits"][0]["units"] = json!(20.0);
            value["contractServiceUnits"][1]["startDate"] = json!("2026-10-26");
        },
        "$.contractServiceUnits[1].startDate: expected a timestamp with a UTC offset, like \
         `2026-11-25T00:00:00Z`, found a date without a time: `2026-10-26`",
    );
}

#[test]
fn a_fractional_or_negative_count_is_refused_at_its_path() {
    check_problems(
        SnapshotKind::Atria,
        |value| {
            value["billing"][2]["thisMonthCount"] = json!(5.5);
            value["billing"][4]["lastMonthCount"] = json!(-1);
        },
        "
$.billing[2].thisMonthCount: 5.5 is not of type \"integer\" (schema /$defs/BillingRow/properties/thisMonthCount/type)
$.billing[4].lastMonthCount: -1 is less than the minimum of 0 (schema /$defs/BillingRow/properties/lastMonthCount/minimum)",
    );
}

#[test]
fn autotask_entities_accept_every_vendor_field() {
    let bytes = edited(SnapshotKind::Autotask, |value| {
        let udfs = json!([{ "name": "Billing Contact", "value": null }, { "name": "Tier", "value": "Gold" }]);
        value["companies"][0]["userDefinedFields"] = udfs.clone();
        value["companies"][0]["sicCode"] = json!("7372");
        value["contracts"][0]["isDefaultContract"] = json!(true);
        value["contracts"][0]["contractPeriodType"] = json!(1);
        value["services"][0]["periodType"] = json!(1);
        value["services"][0]["userDefinedFields"] = udfs;
        value["contractServices"][0]["quoteItemID"] = Value::Null;
        value["contractServices"][0]["soapParentPropertyId"] = Value::Null;
        value["contractServiceUnits"][0]["vendorCompanyID"] = json!(29683540);
        value["contractServiceUnits"][0]["units"] = json!(20.0);
    });
    let with_fields = parse_autotask(&bytes).expect("vendor fields are accepted");
    let plain = parse_autotask(SEED_AUTOTASK.as_bytes()).expect("seed");
    // Ignored: the typed snapshot, and so its digest and every plan, is the same.
    assert_eq!(with_fields, plain);
    assert_eq!(autotask_sha256(&with_fields), autotask_sha256(&plain));
}

#[test]
fn atria_rows_and_customers_accept_extra_columns() {
    let bytes = edited(SnapshotKind::Atria, |value| {
        value["billing"][0]["difference"] = json!(5);
        value["billing"][0]["resultCount"] = json!(1);
        value["customers"][0]["customerAccountCode"] = json!("29683541");
    });
    let with_columns = parse_atria(&bytes).expect("extra columns are accepted");
    assert_eq!(with_columns, parse_atria(SEED_ATRIA.as_bytes()).expect("seed"));
}

#[test]
fn the_top_level_and_the_period_stay_strict() {
    check_problems(
        SnapshotKind::Autotask,
        |value| value["contacts"] = json!([]),
        "$: Additional properties are not allowed ('contacts' was unexpected) (schema /additionalProperties)",
    );
    check_problems(
        SnapshotKind::Atria,
        |value| value["period"]["name"] = json!("November"),
        "$.period: Additional properties are not allowed ('name' was unexpected) (schema /$defs/BillingPeriod/additionalProperties)",
    );
    check_problems(
        SnapshotKind::Autotask,
        |value| value["format"] = json!("billsync.autotask/v2"),
        "$.format: expected `billsync.autotask/v1`, found `billsync.autotask/v2`",
    );
}

/// `de::presized_vec` reserves document length ÷ `MIN_JSON_BYTES` elements: the smallest element
/// that loads (required keys only, shortest values) must be at least that long.
#[test]
fn the_smallest_loadable_elements_are_no_shorter_than_the_array_bound_assumes() {
    fn check<T: serde::de::DeserializeOwned + de::MinJsonBytes>(smallest: &str) {
        serde_json::from_str::<T>(smallest).expect("the smallest element loads");
        assert!(smallest.len() >= T::MIN_JSON_BYTES, "{smallest} is shorter than {}", T::MIN_JSON_BYTES);
    }
    check::<BillingRow>(
        r#"{"customerCode":"","summaryGrouping":"","billable":true,"lastMonthCount":0,"thisMonthCount":0}"#,
    );
    check::<ContractService>(r#"{"id":0,"contractID":0,"serviceID":0}"#);
    check::<ContractServiceUnit>(
        r#"{"id":0,"contractID":0,"contractServiceID":0,"serviceID":0,"startDate":"2026-01-01T00:00:00Z","endDate":"2026-01-01T00:00:00Z","units":0}"#,
    );
}

/// A big array grows past the reserved bound when a document is shorter than it claims (a
/// caller's wrong hint costs a copy, never a row).
#[test]
fn an_array_longer_than_its_reserved_bound_still_loads_every_row() {
    let bytes = edited(SnapshotKind::Atria, |value| {
        let row = value["billing"][0].clone();
        value["billing"] = Value::Array(vec![row; 500]);
    });
    let atria = de::with_document_length(1, || serde_json::from_slice::<AtriaSnapshot>(&bytes))
        .expect("the snapshot loads");
    assert_eq!(atria.billing.len(), 500);
}

/// The fast reading of `YYYY-MM-DDTHH:MM:SSZ` gives what chrono's parser gives, and leaves every
/// other form (and every impossible date or time) to it.
#[test]
fn timestamps_read_fast_are_the_timestamps_chrono_reads() {
    for text in [
        "2026-11-25T00:00:00Z",
        "2024-02-29T23:59:59Z",
        "2026-11-25T13:45:07Z",
        "2026-11-25T00:00:00.5Z",
        "2026-11-25T00:00:00+02:00",
        "2026-11-25t00:00:00z",
        "2025-02-29T00:00:00Z",
        "2026-11-25T24:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-1a-01T00:00:00Z",
        "+026-11-25T00:00:00Z",
    ] {
        let fast: Result<DateTime<Utc>, serde_json::Error> = de::timestamp(serde_json::json!(text));
        assert_eq!(fast.ok(), text.parse::<DateTime<Utc>>().ok(), "{text}");
    }
}

/// A reference to a missing line is found whether the lines come in id order (searched) or not
/// (mapped), and a duplicate id breaks the order and is named.
#[test]
fn references_are_checked_with_lines_in_id_order_or_not() {
    let missing_line =
        |value: &mut Value| value["contractServiceUnits"][1]["contractServiceID"] = json!(5999);
    let expected = "$.contractServiceUnits[1].contractServiceID: contract service 5999 does not exist";
    check_problems(SnapshotKind::Autotask, missing_line, expected);
    check_problems(
        SnapshotKind::Autotask,
        |value| {
            value["contractServices"].as_array_mut().expect("lines").reverse();
            missing_line(value);
        },
        expected,
    );
    check_problems(
        SnapshotKind::Autotask,
        |value| value["contractServices"][3]["id"] = json!(5001),
        "$.contractServices[3].id: duplicate id 5001 (first at $.contractServices[0])\n\
         $.contractServiceUnits[3].contractServiceID: contract service 5004 does not exist",
    );
}

/// Within one document, a customer code, SKU or product name is one allocation however many rows
/// repeat it; a string read outside a document's parse is simply its own.
#[test]
fn repeated_row_strings_share_one_allocation_per_document() {
    let atria = parse_atria(SEED_ATRIA.as_bytes()).expect("the seed loads");
    let asp: Vec<&BillingRow> = atria.billing.iter().filter(|row| &*row.customer_code == "ASP").collect();
    assert!(asp.len() >= 2, "the seed has several ASP rows");
    assert!(asp.windows(2).all(|pair| Arc::ptr_eq(&pair[0].customer_code, &pair[1].customer_code)));
    let again = parse_atria(SEED_ATRIA.as_bytes()).expect("the seed loads");
    assert!(!Arc::ptr_eq(&again.billing[0].customer_code, &atria.billing[0].customer_code));
    let row: BillingRow = serde_json::from_value(serde_json::to_value(&atria.billing[0]).expect("JSON"))
        .expect("a row reads back");
    assert_eq!(row, atria.billing[0]);
}

mod id_index {
    use proptest::prelude::*;

    use super::super::{IdIndex, unique_ids};
    use crate::problems::Problems;

    proptest! {
        // Increasing ids keep the last position found; any order of look-ups finds what a map finds.
        #[test]
        fn look_ups_in_any_order_find_each_ids_position(
            mut ids in proptest::collection::vec(-50i64..50, 0..40),
            look_ups in proptest::collection::vec(-55i64..55, 0..80),
        ) {
            ids.sort_unstable();
            ids.dedup();
            let index = unique_ids(&mut Problems::default(), "ids", ids.iter().copied());
            prop_assert!(matches!(index, IdIndex::Increasing { .. }), "increasing ids are not mapped");
            for id in look_ups {
                prop_assert_eq!(index.get(id), ids.iter().position(|&known| known == id));
            }
        }
    }
}

#[test]
fn a_file_read_in_two_parts_is_the_whole_file() {
    let folder = tempfile::tempdir().expect("a temp dir");
    for length in [1, 2, 3, 4, 5, 7, 8, 9, 1000, 65_537] {
        let contents: Vec<u8> = (0..length).map(|at| (at * 7 % 251) as u8).collect();
        let path = folder.path().join(format!("{length}.json"));
        std::fs::write(&path, &contents).expect("write");
        for helper_part in [0, 1, 2, 4] {
            let read = read_file(&path, helper_part).expect("readable");
            assert_eq!(&*read, &contents[..], "{length} bytes, helper part 1/{helper_part}");
        }
    }
}

#[test]
fn a_byte_that_is_not_utf8_is_named_where_it_is_and_valid_text_parses_alike() {
    // The seed, with one name's byte replaced by 0xff: parsed from the bytes, the error says where.
    let mut bytes = SEED_AUTOTASK.as_bytes().to_vec();
    let at = SEED_AUTOTASK.find("ASP Cloud").expect("a company name in the seed");
    bytes[at] = 0xff;
    let problems = parse_autotask(&bytes).expect_err("not UTF-8").to_string();
    let line = SEED_AUTOTASK[..at].matches('\n').count() + 1;
    assert!(problems.contains(&format!("line {line}")), "{problems}");
    // Valid text is read as text; the snapshot is the one the bytes give.
    let from_text = parse_autotask(SEED_AUTOTASK.as_bytes()).expect("the seed");
    let from_bytes: AutotaskSnapshot = serde_json::from_slice(SEED_AUTOTASK.as_bytes()).expect("the seed");
    assert_eq!(from_text, from_bytes);
}

#[test]
fn the_atria_digest_does_not_depend_on_the_order_of_rows_within_or_across_customers() {
    let mut snapshot = parse_atria(SEED_ATRIA.as_bytes()).expect("the seed");
    snapshot.billing.sort_by(|a, b| billing_order(a).cmp(&billing_order(b)));
    let canonical = atria_sha256(&snapshot);
    // Customers in order, each one's rows reversed: sorted customer by customer.
    let mut within = snapshot.clone();
    for rows in within.billing.chunk_by_mut(|a, b| a.customer_code == b.customer_code) {
        rows.reverse();
    }
    assert_ne!(within.billing, snapshot.billing, "the seed has a customer with several rows");
    assert_eq!(atria_sha256(&within), canonical);
    // Customers out of order: sorted whole.
    let mut across = snapshot.clone();
    across.billing.reverse();
    assert_eq!(atria_sha256(&across), canonical);
}

/// Every kind of problem the Autotask check finds, at once, in the order it always listed them:
/// duplicate ids array by array, references to nothing array by array, then each unit row's
/// and each contract's own rules (the unit rows are checked on a thread of their own).
#[test]
fn the_autotask_checks_list_their_problems_in_one_order() {
    let problems = edited(SnapshotKind::Autotask, |value| {
        value["companies"][1]["id"] = value["companies"][0]["id"].clone();
        value["contractServiceUnits"][2]["id"] = value["contractServiceUnits"][0]["id"].clone();
        value["contracts"][1]["companyID"] = json!(1);
        value["contractServices"][1]["contractID"] = json!(2);
        value["contractServiceUnits"][4]["serviceID"] = json!(3);
        value["contractServiceUnits"][5]["endDate"] = json!("2020-01-01T00:00:00Z");
        value["contracts"][2]["endDate"] = json!("2020-01-01T00:00:00Z");
    });
    let problems = parse_autotask(&problems).map(|_| ()).expect_err("the edits make it invalid");
    let listed: Vec<String> = problems.to_string().lines().map(str::to_owned).collect();
    assert_eq!(listed, EXPECTED_ORDER, "{problems}");
}

const EXPECTED_ORDER: [&str; 10] = [
    "$.companies[1].id: duplicate id 29683541 (first at $.companies[0])",
    "$.contractServiceUnits[2].id: duplicate id 7001 (first at $.contractServiceUnits[0])",
    "$.contracts[1].companyID: company 1 does not exist",
    "$.contracts[2].companyID: company 29683542 does not exist",
    "$.contractServices[1].contractID: contract 2 does not exist",
    "$.contractServiceUnits[4].serviceID: service 3 does not exist",
    "$.contractServiceUnits[1].contractServiceID: contract service 5002 belongs to contract 2 and service 17, not 991 and 17",
    "$.contractServiceUnits[4].contractServiceID: contract service 5005 belongs to contract 994 and service 12, not 994 and 3",
    "$.contractServiceUnits[5].endDate: ends before it starts",
    "$.contracts[2].endDate: ends before it starts",
];
