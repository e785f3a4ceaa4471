//! Period resolution through the API over several seeded periods, at the edges: first and last
//! days, the boundaries a moved Bill Process Day creates (26th–25th), `previous` in January.

use mock_atria::MockConfig;
use mock_atria::seed::PeriodStatus::{Closed, Open};
use serde_json::{Value, json};

use crate::common::{app_with, control, get, seed_for};

/// Calendar months, a short transition when the Bill Process Day moves to the 25th, then
/// 26th–25th periods across the new year; the files are given out of order on purpose.
fn config() -> MockConfig {
    MockConfig::new(vec![
        seed_for("2026-12-26", "2027-01-25", Open),
        seed_for("2026-09-01", "2026-09-30", Closed),
        seed_for("2026-10-26", "2026-11-25", Closed),
        seed_for("2026-10-01", "2026-10-25", Closed),
        seed_for("2026-11-26", "2026-12-25", Closed),
    ])
}

fn end(reply: &Value) -> &str {
    reply["endDate"].as_str().unwrap_or("none")
}

#[tokio::test]
async fn periods_are_sorted_with_stable_ids_and_the_default_clock_is_in_the_open_one() {
    let (app, state) = app_with(config());
    assert_eq!(state.clock().to_string(), "2027-01-25");
    let list = get(&app, "/api/v2/billingperiods").await;
    let ids: Vec<u64> = list
        .ok()
        .as_array()
        .map(|all| all.iter().filter_map(|p| p["id"].as_u64()).collect())
        .unwrap_or_default();
    assert_eq!(ids, vec![20260930, 20261025, 20261125, 20261225, 20270125]);
    let current: Vec<bool> = list
        .ok()
        .as_array()
        .map(|all| all.iter().map(|p| p["isCurrent"] == true).collect())
        .unwrap_or_default();
    assert_eq!(current, vec![false, false, false, false, true]);
}

#[tokio::test]
async fn current_and_previous_follow_the_clock_at_the_edges() {
    let (app, _) = app_with(config());
    let at = |today: &'static str| {
        let app = app.clone();
        async move {
            control(&app, "POST", "/__mock/clock", Some(json!({"today": today}))).await.ok();
            let current = get(&app, "/api/v2/billingperiods/current").await;
            let previous = get(&app, "/api/v2/billingperiods/previous").await;
            (current.status.as_u16(), end(&current.json).to_owned(), end(&previous.json).to_owned())
        }
    };
    // First and last day of the open period.
    assert_eq!(at("2026-12-26").await, (200, "2027-01-25".to_owned(), "2026-12-25".to_owned()));
    assert_eq!(at("2027-01-25").await, (200, "2027-01-25".to_owned(), "2026-12-25".to_owned()));
    // `previous` in January is the period that ended in December of the prior year.
    assert_eq!(at("2027-01-01").await, (200, "2027-01-25".to_owned(), "2026-12-25".to_owned()));
    // Past the last period nothing is current; it becomes `previous` and reads closed.
    assert_eq!(at("2027-01-26").await, (404, "none".to_owned(), "2027-01-25".to_owned()));
    let last = get(&app, "/api/v2/billingperiods/2027-01-25").await;
    assert_eq!(last.ok()["status"], "closed");
    // Inside a period the seed closed, nothing is current; the one before is `previous`.
    assert_eq!(at("2026-11-25").await, (404, "none".to_owned(), "2026-10-25".to_owned()));
}

#[tokio::test]
async fn previous_in_january_with_calendar_months() {
    let (app, _) = app_with(
        MockConfig::new(vec![
            seed_for("2026-12-01", "2026-12-31", Closed),
            seed_for("2027-01-01", "2027-01-31", Open),
        ])
        .with_clock("2027-01-01".parse().expect("date")),
    );
    assert_eq!(end(get(&app, "/api/v2/billingperiods/current").await.ok()), "2027-01-31");
    assert_eq!(end(get(&app, "/api/v2/billingperiods/previous").await.ok()), "2026-12-31");
}

#[tokio::test]
async fn resolve_across_the_moved_boundaries() {
    let (app, _) = app_with(config());
    for (at, expected) in [
        ("2026-09-30", "2026-09-30"),
        ("2026-10-01", "2026-10-25"),
        ("2026-10-25", "2026-10-25"),
        ("2026-10-26", "2026-11-25"),
        ("2026-11-25", "2026-11-25"),
        ("2026-11-26", "2026-12-25"),
        ("2026-12-25", "2026-12-25"),
        ("2026-12-26", "2027-01-25"),
    ] {
        let reply = get(&app, &format!("/api/v2/billingperiods/resolve?at={at}")).await;
        assert_eq!(end(reply.ok()), expected, "at {at}");
    }
    get(&app, "/api/v2/billingperiods/resolve?at=2026-08-31").await.error(404, "unknown_period");
    get(&app, "/api/v2/billingperiods/resolve?at=2027-01-26").await.error(404, "unknown_period");
}

#[tokio::test]
async fn each_period_has_its_own_billing_and_customers() {
    let mut older = seed_for("2026-09-26", "2026-10-25", Closed);
    older.customers.truncate(1);
    older.billing.retain(|row| row.customer_code == "ASP");
    older.customers.push(mock_atria::seed::AtriaCustomer {
        short_name: "GONE".to_owned(),
        name: "Gone Ltd".to_owned(),
        billing_identifier: None,
        status: mock_atria::seed::CustomerStatus::Deprovisioned,
    });
    let (app, _) = app_with(MockConfig::new(vec![older, seed_for("2026-10-26", "2026-11-25", Open)]));
    assert_eq!(get(&app, "/api/billing/2026-10-25").await.ok()["totalCount"], 5);
    assert_eq!(get(&app, "/api/v2/customers?period=2026-10-25").await.ok()["totalCount"], 2);
    // The directory lists the current period's customers first, then those only seen earlier.
    let directory = get(&app, "/api/v2/customers").await;
    assert_eq!(directory.ok()["totalCount"], 4);
    assert_eq!(directory.ok()["items"][3]["shortName"], "GONE");
    assert_eq!(directory.ok()["items"][3]["id"], 1002, "ids by first appearance over sorted periods");
}

#[tokio::test]
async fn overlapping_seeds_are_refused() {
    let error = mock_atria::AppState::new(MockConfig::new(vec![
        seed_for("2026-10-01", "2026-10-31", Closed),
        seed_for("2026-10-26", "2026-11-25", Open),
    ]))
    .expect_err("overlap");
    assert!(error.to_string().contains("overlaps"), "{error}");
}
