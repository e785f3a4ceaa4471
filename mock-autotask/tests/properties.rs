//! Properties: the filter evaluator (with its index planner) agrees with a deliberately plain
//! reference over random entities and random nested filters; following `nextPageUrl` yields
//! every match once, in id order, for every MaxRecords, and `prevPageUrl` walks back the same pages.

mod common;

use std::cmp::Ordering;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use common::Ctx;
use mock_autotask::MockConfig;
use mock_autotask::entity::{Company, ContractServiceUnit, Entity, EntityKind};
use mock_autotask::filter::parse_query;
use mock_autotask::state::empty_snapshot;
use mock_autotask::store::{Table, Window};
use proptest::prelude::*;
use serde_json::{Value as Json, json};

// ---------------------------------------------------------------------------------------------
// The reference: JSON in, JSON filter in, no types, no indexes.

fn reference_matches(item: &Json, filter: &Json) -> bool {
    let op = filter["op"].as_str().unwrap().to_lowercase();
    if op == "and" {
        return filter["items"].as_array().unwrap().iter().all(|child| reference_matches(item, child));
    }
    if op == "or" {
        return filter["items"].as_array().unwrap().iter().any(|child| reference_matches(item, child));
    }
    let field = filter["field"].as_str().unwrap().to_lowercase();
    let actual = item
        .as_object()
        .unwrap()
        .iter()
        .find(|(key, _)| key.to_lowercase() == field)
        .map(|(_, value)| value.clone())
        .unwrap_or(Json::Null);
    let value = &filter["value"];
    let equal = |expected: &Json| plain_compare(&actual, expected) == Some(Ordering::Equal);
    let text = |test: fn(&str, &str) -> bool| match (&actual, value) {
        (Json::String(a), Json::String(b)) => test(&a.to_lowercase(), &b.to_lowercase()),
        _ => false,
    };
    match op.as_str() {
        "exist" => !actual.is_null(),
        "notexist" => actual.is_null(),
        "eq" => equal(value),
        "noteq" => !equal(value),
        "gt" => plain_compare(&actual, value) == Some(Ordering::Greater),
        "gte" => matches!(plain_compare(&actual, value), Some(Ordering::Greater | Ordering::Equal)),
        "lt" => plain_compare(&actual, value) == Some(Ordering::Less),
        "lte" => matches!(plain_compare(&actual, value), Some(Ordering::Less | Ordering::Equal)),
        "beginswith" => text(|a, b| a.starts_with(b)),
        "endswith" => text(|a, b| a.ends_with(b)),
        "contains" => text(|a, b| a.contains(b)),
        "in" => value.as_array().unwrap().iter().any(equal),
        "notin" => !value.as_array().unwrap().iter().any(equal),
        other => panic!("unknown operator {other}"),
    }
}

fn as_date(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).map(|at| at.to_utc()).ok().or_else(|| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .map(|date| date.and_hms_opt(0, 0, 0).unwrap().and_utc())
    })
}

fn plain_compare(actual: &Json, expected: &Json) -> Option<Ordering> {
    match (actual, expected) {
        (Json::Number(a), Json::Number(b)) => a.as_f64().unwrap().partial_cmp(&b.as_f64().unwrap()),
        (Json::Bool(a), Json::Bool(b)) => Some(a.cmp(b)),
        (Json::String(a), Json::String(b)) => match (as_date(a), as_date(b)) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => Some(a.to_lowercase().cmp(&b.to_lowercase())),
        },
        _ => None,
    }
}

fn reference_ids<T: Entity>(rows: &[T], filters: &[Json]) -> Vec<i64> {
    let mut ids: Vec<i64> = rows
        .iter()
        .filter(|row| {
            let item = serde_json::to_value(row).unwrap();
            filters.iter().all(|filter| reference_matches(&item, filter))
        })
        .map(Entity::id)
        .collect();
    ids.sort_unstable();
    ids
}

// ---------------------------------------------------------------------------------------------
// Generators

fn random_case(name: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<bool>(), name.len()).prop_map(move |upper| {
        name.chars()
            .zip(upper)
            .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
            .collect()
    })
}

fn day(offset: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap() + Duration::days(offset)
}

fn date_value() -> impl Strategy<Value = Json> {
    (0i64..12, any::<bool>()).prop_map(|(offset, date_only)| {
        let at = day(offset * 3);
        Json::String(if date_only {
            at.format("%Y-%m-%d").to_string()
        } else {
            at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
        })
    })
}

fn int_condition(field: &'static str, values: std::ops::Range<i64>) -> impl Strategy<Value = Json> {
    let ops = prop_oneof![
        Just("eq"),
        Just("noteq"),
        Just("gt"),
        Just("gte"),
        Just("lt"),
        Just("lte"),
        Just("exist"),
        Just("notExist"),
        Just("in"),
        Just("notIn")
    ];
    (random_case(field), ops, values.clone(), proptest::collection::vec(values, 0..5)).prop_map(
        |(field, op, one, many)| match op {
            "exist" | "notExist" => json!({ "op": op, "field": field }),
            "in" | "notIn" => json!({ "op": op, "field": field, "value": many }),
            _ => json!({ "op": op, "field": field, "value": one }),
        },
    )
}

fn unit_condition() -> BoxedStrategy<Json> {
    let comparisons =
        prop_oneof![Just("eq"), Just("noteq"), Just("gt"), Just("gte"), Just("lt"), Just("lte")];
    prop_oneof![
        int_condition("id", 0..45),
        int_condition("contractID", 1..5),
        int_condition("contractServiceID", 1..9),
        int_condition("serviceID", 1..4),
        int_condition("units", 0..6),
        (random_case("price"), comparisons.clone(), prop_oneof![Just(1.0), Just(2.5), Just(10.0), Just(3.0)])
            .prop_map(|(field, op, value)| json!({ "op": op, "field": field, "value": value })),
        (random_case("startDate"), comparisons.clone(), date_value())
            .prop_map(|(field, op, value)| json!({ "op": op, "field": field, "value": value })),
        (
            random_case("approveAndPostDate"),
            prop_oneof![Just("exist"), Just("notExist"), Just("lt"), Just("gte")],
            date_value()
        )
            .prop_map(|(field, op, value)| json!({ "op": op, "field": field, "value": value })),
        (random_case("endDate"), Just("in"), proptest::collection::vec(date_value(), 0..3))
            .prop_map(|(field, op, value)| json!({ "op": op, "field": field, "value": value })),
    ]
    .boxed()
}

/// Top-level `eq`/`in` on the indexed fields, so the index planner is exercised often.
fn indexed_condition() -> BoxedStrategy<Json> {
    let field = prop_oneof![Just("id"), Just("contractID"), Just("contractServiceID"), Just("serviceID")];
    (field, any::<bool>(), proptest::collection::vec(0i64..45, 1..6))
        .prop_map(|(field, single, values)| {
            let bound = if field == "id" { 45 } else { 9 };
            let values: Vec<i64> = values.into_iter().map(|v| v % bound).collect();
            if single {
                json!({ "op": "eq", "field": field, "value": values[0] })
            } else {
                json!({ "op": "in", "field": field, "value": values })
            }
        })
        .boxed()
}

fn unit_filters() -> impl Strategy<Value = Vec<Json>> {
    proptest::collection::vec(prop_oneof![2 => nested(unit_condition()), 1 => indexed_condition()], 1..4)
}

const NAMES: [&str; 6] = ["Alpha", "alpha co", "Beta Ltd", "GAMMA", "delta ltd", "Ωmega"];
const NEEDLES: [&str; 7] = ["al", "LTD", "a", "", "Ω", "beta ltd", "zz"];

fn company_condition() -> BoxedStrategy<Json> {
    let text_ops = prop_oneof![
        Just("eq"),
        Just("noteq"),
        Just("gt"),
        Just("lte"),
        Just("beginsWith"),
        Just("endsWith"),
        Just("contains"),
        Just("exist"),
        Just("notExist")
    ];
    let needle = prop_oneof![proptest::sample::select(&NEEDLES[..]), proptest::sample::select(&NAMES[..])];
    prop_oneof![
        (random_case("companyName"), text_ops.clone(), needle.clone(), any::<bool>()).prop_map(
            |(field, op, value, upper)| {
                let value = if upper { value.to_uppercase() } else { value.to_owned() };
                json!({ "op": op, "field": field, "value": value })
            }
        ),
        (random_case("companyNumber"), text_ops, proptest::sample::select(&["a-1", "B-2", "c", "-"][..]))
            .prop_map(|(field, op, value)| json!({ "op": op, "field": field, "value": value })),
        (
            random_case("companyNumber"),
            prop_oneof![Just("in"), Just("notIn")],
            proptest::collection::vec(proptest::sample::select(&["A-1", "b-2", "x"][..]), 0..3)
        )
            .prop_map(|(field, op, value)| json!({ "op": op, "field": field, "value": value })),
        (random_case("isActive"), prop_oneof![Just("eq"), Just("noteq")], any::<bool>())
            .prop_map(|(field, op, value)| json!({ "op": op, "field": field, "value": value })),
        int_condition("companyType", 0..4),
        int_condition("id", 0..30),
    ]
    .boxed()
}

/// Nested `and`/`or` groups over `leaf`, three levels at most.
fn nested(leaf: BoxedStrategy<Json>) -> impl Strategy<Value = Json> {
    leaf.prop_recursive(3, 24, 3, |inner| {
        (
            prop_oneof![Just("and"), Just("or"), Just("AND"), Just("Or")],
            proptest::collection::vec(inner, 1..4),
        )
            .prop_map(|(op, items)| json!({ "op": op, "items": items }))
    })
}

fn companies() -> impl Strategy<Value = Vec<Company>> {
    proptest::collection::btree_map(
        0i64..30,
        (
            proptest::sample::select(&NAMES[..]),
            proptest::option::of(proptest::sample::select(&["A-1", "b-2", "C-3"][..])),
            proptest::option::of(1i32..4),
            any::<bool>(),
        ),
        0..20,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .map(|(id, (name, number, company_type, is_active))| Company {
                id,
                company_name: name.to_owned(),
                company_number: number.map(str::to_owned),
                company_type,
                is_active,
                extra: Default::default(),
            })
            .collect()
    })
}

fn units_rows(max: usize) -> impl Strategy<Value = Vec<ContractServiceUnit>> {
    proptest::collection::btree_map(
        0i64..45,
        (
            1i64..5,
            1i64..9,
            1i64..4,
            0i64..12,
            0u32..6,
            proptest::option::of(proptest::sample::select(&[1.0, 2.5, 10.0][..])),
            proptest::option::of(0i64..12),
        ),
        0..max,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .map(|(id, (contract_id, line, service_id, start, units, price, posted))| ContractServiceUnit {
                id,
                contract_id,
                contract_service_id: line,
                service_id,
                start_date: day(start * 3),
                end_date: day(start * 3 + 2) + Duration::seconds(86399),
                units,
                price,
                cost: price.map(|p| p / 2.0),
                approve_and_post_date: posted.map(|offset| day(offset * 3)),
                extra: Default::default(),
            })
            .collect()
    })
}

fn check_evaluator<T: Entity>(
    kind: EntityKind,
    rows: Vec<T>,
    filters: Vec<Json>,
) -> Result<(), TestCaseError> {
    let spec = parse_query(kind, &json!({ "filter": filters.clone() }))
        .map_err(|err| TestCaseError::fail(format!("generated filter refused: {err}")))?;
    let expected = reference_ids(&rows, &filters);
    let table = Table::new(rows);
    let got: Vec<i64> =
        table.select(&spec.filter, Window::After(None), usize::MAX).iter().map(|row| row.id()).collect();
    prop_assert_eq!(&got, &expected, "filter {}", Json::Array(filters));
    prop_assert_eq!(table.count(&spec.filter), expected.len());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn unit_filters_agree_with_the_reference(rows in units_rows(40), filters in unit_filters()) {
        check_evaluator(EntityKind::ContractServiceUnits, rows, filters)?;
    }

    #[test]
    fn company_filters_agree_with_the_reference(rows in companies(), filters in proptest::collection::vec(nested(company_condition()), 1..4)) {
        check_evaluator(EntityKind::Companies, rows, filters)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Paging through the HTTP surface

async fn follow_pages(ctx: &Ctx, body: &Json, max_records: usize) -> Vec<Vec<i64>> {
    let mut pages = Vec::new();
    let mut reply = ctx.post("ContractServiceUnits/query", body.clone()).await.expect(200);
    loop {
        let page = common::ids(&reply["items"]);
        assert!(page.len() <= max_records);
        assert_eq!(reply["pageDetails"]["count"], page.len());
        assert_eq!(reply["pageDetails"]["requestCount"], max_records);
        pages.push(page);
        match reply["pageDetails"]["nextPageUrl"].as_str() {
            Some(next) => reply = ctx.call("POST", next, Some(body.clone())).await.expect(200),
            None => break,
        }
    }
    // Walk back with prevPageUrl from the last page: the same pages, reversed.
    let mut back = vec![pages.last().cloned().unwrap_or_default()];
    while let Some(prev) = reply["pageDetails"]["prevPageUrl"].as_str() {
        reply = ctx.call("POST", prev, Some(body.clone())).await.expect(200);
        back.push(common::ids(&reply["items"]));
        assert!(back.len() <= pages.len(), "prevPageUrl goes past the first page");
    }
    back.reverse();
    let forward: Vec<Vec<i64>> = pages.iter().filter(|page| !page.is_empty()).cloned().collect();
    let backward: Vec<Vec<i64>> = back.into_iter().filter(|page| !page.is_empty()).collect();
    assert_eq!(backward, forward, "prevPageUrl pages differ from nextPageUrl pages");
    pages
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn following_next_page_urls_yields_every_match_once_in_id_order(
        rows in units_rows(40),
        filters in unit_filters(),
    ) {
        let expected = reference_ids(&rows, &filters);
        let mut snapshot = empty_snapshot();
        snapshot.contract_service_units = rows;
        let ctx = Ctx::with(MockConfig::new(snapshot));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        for max_records in (1..=12).chain([499, 500]) {
            let body = json!({ "filter": filters.clone(), "MaxRecords": max_records });
            let pages = runtime.block_on(follow_pages(&ctx, &body, max_records));
            let all: Vec<i64> = pages.iter().flatten().copied().collect();
            prop_assert_eq!(&all, &expected, "MaxRecords {}", max_records);
            // Only the last page may be short, and only an empty result has an empty page.
            for page in &pages[..pages.len() - 1] {
                prop_assert_eq!(page.len(), max_records);
            }
        }
    }
}
