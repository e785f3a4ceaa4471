//! Loading `autotask.json`: every field an entity carries is kept and served back, and every bad
//! fixture is refused with the file, the JSON path and what is expected.

mod common;

use std::time::Duration;

use common::Ctx;
use mock_autotask::MockConfig;
use serde_json::{Value as Json, json};

/// The seed fixture as JSON, to be damaged or extended by a test.
fn seed_json() -> Json {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/seed-example/autotask.json");
    serde_json::from_slice(&std::fs::read(path).expect("the seed fixture")).expect("JSON")
}

/// Seeds from `input` and expects exactly the problems `expect`, in order.
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
fn bad_json_and_bad_shapes_name_the_place() {
    check("", &["$: the file is empty; expected a `billsync.autotask/v1` JSON object"]);
    check("{\n  \"format\": ", &["line 2 column 12: not valid JSON: EOF while parsing a value"]);
    check("[]", &["$: expected a JSON object, found an array"]);
    check(
        r#"{"format":"billsync.atria/v1","companies":[],"contracts":[],"services":[],"contractServices":[],"contractServiceUnits":[]}"#,
        &["$.format: expected `billsync.autotask/v1`, found \"billsync.atria/v1\""],
    );
    check(
        r#"{"format":"billsync.autotask/v1","companies":{},"contracts":[],"services":[],"contractServices":[],"contractServiceUnits":[],"tickets":[]}"#,
        &[
            "$.tickets: unknown key; expected one of format, companies, contracts, services, contractServices, contractServiceUnits",
            "$.companies: expected an array, found an object",
        ],
    );
}

#[test]
fn every_bad_entity_is_named_with_its_field() {
    let input = damaged(|seed| {
        seed["companies"][1]["companyName"] = json!(5);
        seed["contracts"][0]["startDate"] = json!("first of January");
        seed["contractServiceUnits"][2]["units"] = json!(-1);
        seed["services"][0] = json!("Microsoft 365");
        seed["contractServices"][0].as_object_mut().unwrap().remove("serviceID");
    });
    check(
        &input,
        &[
            "$.companies[1].companyName: invalid type: integer `5`, expected a string",
            "$.contracts[0].startDate: `first of January` is not a date-time; expected `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DD`",
            "$.services[0]: expected an object, found a string",
            "$.contractServices[0]: missing field `serviceID`",
            "$.contractServiceUnits[2].units: invalid value: integer `-1`, expected a whole number from 0 up",
        ],
    );
}

#[test]
fn duplicate_ids_dangling_references_and_reversed_dates_are_refused() {
    let input = damaged(|seed| {
        seed["companies"][1]["id"] = seed["companies"][0]["id"].clone();
        seed["contractServices"][0]["contractID"] = json!(4242);
        seed["contractServiceUnits"][0]["endDate"] = json!("2020-01-01T00:00:00Z");
    });
    let error = MockConfig::from_json(input.as_bytes()).expect_err("refused");
    let text = error.to_string();
    assert!(
        text.starts_with("cannot seed mock-autotask:\n  $.companies[1].id: duplicate id 29683541"),
        "{text}"
    );
    assert!(text.contains("$.contractServices[0].contractID: contract 4242 does not exist"), "{text}");
    assert!(text.contains("$.contractServiceUnits[0].endDate: ends before it starts"), "{text}");
}

#[test]
fn a_missing_file_is_named() {
    let error = MockConfig::from_fixture(std::path::Path::new("/nonexistent/fixture")).expect_err("no file");
    assert_eq!(error.problems.len(), 1);
    assert!(error.problems[0].starts_with("/nonexistent/fixture/autotask.json: cannot read"), "{error}");
}

#[tokio::test]
async fn fields_beyond_the_mocks_own_are_kept_and_served() {
    let input = damaged(|seed| {
        let contract = seed["contracts"][0].as_object_mut().unwrap();
        contract.insert("isDefaultContract".to_owned(), json!(false));
        contract.insert("contractPeriodType".to_owned(), json!(3));
        contract.insert("userDefinedFields".to_owned(), json!([{ "name": "Region", "value": "AU" }]));
        seed["services"][0]["periodType"] = json!(2);
        seed["contracts"][0]["startDate"] = json!("2026-01-01");
    });
    let ctx = Ctx::with(MockConfig::from_json(input.as_bytes()).expect("the seed with vendor fields loads"));
    let contract = ctx.get("Contracts/991").await.expect(200)["item"].clone();
    assert_eq!(contract["isDefaultContract"], false);
    assert_eq!(contract["contractPeriodType"], 3);
    assert_eq!(contract["userDefinedFields"], json!([{ "name": "Region", "value": "AU" }]));
    assert_eq!(
        contract["startDate"], "2026-01-01T00:00:00Z",
        "a calendar date is served as Autotask writes it"
    );
    let page =
        ctx.post("Services/query", json!({ "filter": [{ "op": "eq", "field": "id", "value": 12 }] })).await;
    let service = &page.expect(200)["items"][0];
    assert_eq!(service["periodType"], 2);
    assert_eq!(service["userDefinedFields"], json!([]));
    // The state dump keeps them too, so a fixture round-trips through the mock.
    let state = ctx.send(Ctx::request("GET", "/__mock/state", None, false)).await.expect(200);
    assert_eq!(state["snapshot"]["contracts"][0]["contractPeriodType"], 3);
}

/// Whether `served` says what `given` says: numbers as numbers (`22` is `22.0`), date-times as
/// instants (`2026-01-01` is `2026-01-01T00:00:00Z`), everything else exactly.
fn same(given: &Json, served: &Json) -> bool {
    match (given, served) {
        (Json::Number(a), Json::Number(b)) => a.as_f64() == b.as_f64(),
        (Json::String(a), Json::String(b)) if a != b => {
            let (a, b) = (mock_autotask::dates::parse(a), mock_autotask::dates::parse(b));
            a.is_some() && a == b
        }
        (Json::Array(a), Json::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b)),
        (Json::Object(a), Json::Object(b)) => {
            a.len() == b.len()
                && a.iter().all(|(key, value)| b.get(key).is_some_and(|other| same(value, other)))
        }
        _ => given == served,
    }
}

/// Every `fixtures/*/autotask.json` seeds the mock, and every entity comes back from
/// `GET /{E}/{id}` with every field it was given, meaning the same.
#[tokio::test]
async fn every_fixture_loads_and_every_entity_is_served_with_every_field_it_carries() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut folders: Vec<_> = std::fs::read_dir(&root)
        .expect("fixtures")
        .map(|entry| entry.expect("entry").path())
        .filter(|folder| folder.join("autotask.json").is_file())
        .collect();
    folders.sort();
    assert!(folders.len() >= 4, "{folders:?}");
    for folder in folders {
        let name = folder.file_name().unwrap().to_string_lossy().into_owned();
        let config = MockConfig::from_fixture(&folder).unwrap_or_else(|err| panic!("{name}: {err}"));
        let ctx = Ctx::with(config.with_threshold_latency(Duration::ZERO, Duration::ZERO));
        let given: Json =
            serde_json::from_slice(&std::fs::read(folder.join("autotask.json")).unwrap()).unwrap();
        for (array, entity) in [
            ("companies", "Companies"),
            ("contracts", "Contracts"),
            ("services", "Services"),
            ("contractServices", "ContractServices"),
            ("contractServiceUnits", "ContractServiceUnits"),
        ] {
            for item in given[array].as_array().unwrap() {
                let served = ctx.get(&format!("{entity}/{}", item["id"])).await.expect(200)["item"].clone();
                for (field, value) in item.as_object().unwrap() {
                    assert!(
                        same(value, &served[field]),
                        "{name}: {entity} {}: {field} given {value}, served {}",
                        item["id"],
                        served[field]
                    );
                }
            }
        }
    }
}
