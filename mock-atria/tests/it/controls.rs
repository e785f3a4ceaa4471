//! The `/__mock/*` controls: clock, faults, stats, state and ledger, recalculation, reset, seed.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use mock_atria::{DEFAULT_TOKEN, MockConfig};
use serde_json::json;
use tower::ServiceExt;

use crate::common::{app, app_with, control, get, seed};

#[tokio::test]
async fn clock_get_and_set() {
    let (app, _) = app();
    let clock = control(&app, "GET", "/__mock/clock", None).await;
    assert_eq!(clock.ok()["today"], "2026-11-25");
    assert_eq!(clock.ok()["currentPeriod"]["endDate"], "2026-11-25");
    let moved = control(&app, "POST", "/__mock/clock", Some(json!({"today": "2026-12-01"}))).await;
    assert_eq!(moved.ok()["currentPeriod"], serde_json::Value::Null);
    assert_eq!(moved.ok()["previousPeriod"]["status"], "closed");
    get(&app, "/api/v2/billingperiods/current").await.error(404, "no_current_period");
    control(&app, "POST", "/__mock/clock", Some(json!({"today": "tomorrow"})))
        .await
        .error(400, "invalid_body");
    control(&app, "POST", "/__mock/clock", Some(json!({}))).await.error(400, "invalid_body");
    control(&app, "POST", "/__mock/clock", Some(json!({"today": "2026-11-01", "extra": 1})))
        .await
        .error(400, "invalid_body");
}

#[tokio::test]
async fn an_explicit_clock_and_expired_tokens() {
    let (app, _) =
        app_with(MockConfig::from_snapshot(seed()).with_clock("2026-11-01".parse().expect("date")));
    assert_eq!(get(&app, "/api/v2/billingperiods/current").await.ok()["endDate"], "2026-11-25");
    let token = mock_atria::ApiToken {
        token: "short-lived".to_owned(),
        user: "temp".to_owned(),
        developer: true,
        expires_on: "2026-11-30".parse().ok(),
    };
    let (app, _) = app_with(MockConfig::from_snapshot(seed()).with_tokens(vec![token]));
    crate::common::send(&app, "GET", "/api/v2/services", Some("short-lived"), None).await.ok();
    control(&app, "POST", "/__mock/clock", Some(json!({"today": "2026-12-01"}))).await.ok();
    crate::common::send(&app, "GET", "/api/v2/services", Some("short-lived"), None)
        .await
        .error(401, "token_expired");
}

#[tokio::test]
async fn fault_status_after_n_requests_with_retry_after_and_times() {
    let (app, _) = app();
    let rule = json!({"endpoint": "billing_summary", "status": 503, "afterRequests": 2, "times": 1, "retryAfterSeconds": 7});
    let added = control(&app, "POST", "/__mock/faults", Some(rule)).await;
    assert_eq!(added.status, 201);
    assert_eq!(added.json["faults"][0]["id"], 1);
    let uri = "/api/billing/2026-11-25";
    get(&app, uri).await.ok();
    get(&app, uri).await.ok();
    get(&app, "/api/v2/services").await.ok();
    let hit = get(&app, uri).await;
    hit.error(503, "period_recalculating");
    assert_eq!(hit.header("retry-after"), Some("7"));
    get(&app, uri).await.ok();
    let listed = control(&app, "GET", "/__mock/faults", None).await;
    assert_eq!(
        (listed.json["faults"][0]["seen"].as_u64(), listed.json["faults"][0]["fired"].as_u64()),
        (Some(4), Some(1))
    );
    let cleared = control(&app, "DELETE", "/__mock/faults", None).await;
    assert_eq!(cleared.ok()["faults"], json!([]));
}

#[tokio::test]
async fn fault_429_for_every_endpoint_and_method_filter() {
    let (app, _) = app();
    let rules = json!([{"endpoint": "*", "method": "GET", "status": 429}, {"endpoint": "*", "method": "POST", "status": 500}]);
    control(&app, "POST", "/__mock/faults", Some(rules)).await;
    let limited = get(&app, "/api/v2/customers").await;
    limited.error(429, "rate_limited");
    assert_eq!(limited.header("retry-after"), Some("1"));
    // Faults come before auth: an injected status needs no token.
    crate::common::send(&app, "GET", "/api/v2/services", None, None).await.error(429, "rate_limited");
}

#[tokio::test]
async fn fault_rates_follow_the_seeded_rng() {
    let fired = |seed: u64| async move {
        let (app, _) = app_with(MockConfig::from_snapshot(crate::common::seed()).with_rng_seed(seed));
        control(
            &app,
            "POST",
            "/__mock/faults",
            Some(json!({"endpoint": "services", "status": 500, "rate": 0.5})),
        )
        .await;
        let mut statuses = Vec::new();
        for _ in 0..40 {
            statuses.push(get(&app, "/api/v2/services").await.status.as_u16());
        }
        statuses
    };
    let first = fired(7).await;
    assert_eq!(first, fired(7).await, "same seed, same faults");
    let failures = first.iter().filter(|status| **status == 500).count();
    assert!((5..=35).contains(&failures), "{failures} of 40 at rate 0.5");

    let (app, _) = app();
    control(&app, "POST", "/__mock/faults", Some(json!({"status": 500, "rate": 0.0}))).await;
    for _ in 0..5 {
        get(&app, "/api/v2/services").await.ok();
    }
}

#[tokio::test]
async fn fault_latency_short_page_and_duplicate_row() {
    let (app, _) = app();
    control(&app, "POST", "/__mock/faults", Some(json!({"endpoint": "services", "latencyMs": 60}))).await;
    let started = Instant::now();
    get(&app, "/api/v2/services").await.ok();
    assert!(started.elapsed() >= Duration::from_millis(60));

    control(
        &app,
        "POST",
        "/__mock/faults",
        Some(json!({"endpoint": "customers", "shortPage": true, "times": 1})),
    )
    .await;
    let short = get(&app, "/api/v2/customers").await;
    assert_eq!(short.ok()["items"].as_array().map(Vec::len), Some(1), "3 items cut to half");
    assert_eq!(short.ok()["totalCount"], 3, "totalCount stays");

    control(
        &app,
        "POST",
        "/__mock/faults",
        Some(json!({"endpoint": "billing_summary", "duplicateRow": true})),
    )
    .await;
    let duplicated = get(&app, "/api/billing/2026-11-25?pageSize=3").await;
    let items = duplicated.ok()["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 4);
    assert_eq!(items[0], items[3]);
    control(
        &app,
        "POST",
        "/__mock/faults",
        Some(json!({"endpoint": "billing_periods", "duplicateRow": true})),
    )
    .await;
    assert_eq!(get(&app, "/api/v2/billingperiods").await.ok().as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn fault_dropped_connection_breaks_the_body() {
    let (app, _) = app();
    control(&app, "POST", "/__mock/faults", Some(json!({"endpoint": "customer", "dropConnection": true})))
        .await;
    let request = Request::builder()
        .uri("/api/v2/customers/ASP")
        .header("authorization", format!("Bearer {DEFAULT_TOKEN}"))
        .body(Body::empty())
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    assert!(response.into_body().collect().await.is_err());
}

#[tokio::test]
async fn invalid_fault_rules_are_refused() {
    let (app, _) = app();
    for rule in [
        json!({"endpoint": "nope", "status": 500}),
        json!({"endpoint": "services"}),
        json!({"status": 200}),
        json!({"status": 500, "rate": 2}),
        json!({"status": 500, "bogus": true}),
        json!([]),
    ] {
        control(&app, "POST", "/__mock/faults", Some(rule)).await.error(400, "invalid_body");
    }
    let bad_json =
        Request::builder().method("POST").uri("/__mock/faults").body(Body::from("{")).expect("request");
    assert_eq!(app.clone().oneshot(bad_json).await.expect("infallible").status(), 400);
}

#[tokio::test]
async fn stats_count_requests_per_endpoint_and_method() {
    let (app, _) = app();
    get(&app, "/api/v2/customers").await;
    get(&app, "/api/v2/customers?page=2").await;
    crate::common::send(&app, "GET", "/api/billing/2026-11-25", None, None).await;
    crate::common::send(&app, "POST", "/api/v2/services", Some(DEFAULT_TOKEN), None).await;
    let stats = control(&app, "GET", "/__mock/stats", None).await;
    assert_eq!(
        stats.ok(),
        &json!({"totalRequests": 4, "byEndpoint": {
            "billing_summary": {"GET": 1}, "customers": {"GET": 2}, "services": {"POST": 1}}})
    );
}

#[tokio::test]
async fn state_dump_has_periods_customers_rows_and_the_ledger() {
    let (app, _) = app();
    get(&app, "/api/v2/customers/NOPE").await;
    crate::common::send(&app, "GET", "/api/v2/services", Some(mock_atria::DEFAULT_NO_DEVELOPER_TOKEN), None)
        .await;
    let state = control(&app, "GET", "/__mock/state", None).await;
    let state = state.ok();
    assert_eq!(state["clock"], "2026-11-25");
    assert_eq!(state["periods"][0]["billing"].as_array().map(Vec::len), Some(9));
    assert_eq!(state["periods"][0]["seededStatus"], "open");
    assert_eq!(state["customers"].as_array().map(Vec::len), Some(3));
    assert_eq!(state["services"].as_array().map(Vec::len), Some(7));
    let ledger = state["ledger"].as_array().cloned().unwrap_or_default();
    assert_eq!(ledger.len(), 2);
    assert_eq!(ledger[0]["uri"], "/api/v2/customers/NOPE");
    assert_eq!(ledger[0]["status"], 404);
    assert_eq!(ledger[0]["user"], "api-developer");
    assert!(ledger[0]["traceId"].is_string());
    assert_eq!((ledger[1]["status"].as_u64(), ledger[1]["seq"].as_u64()), (Some(403), Some(2)));
}

#[tokio::test]
async fn recalculation_changes_the_open_period_and_can_answer_503_meanwhile() {
    let (app, state) = app();
    let report = control(
        &app,
        "POST",
        "/__mock/recalculate",
        Some(json!({"busyForRequests": 2, "retryAfterSeconds": 3})),
    )
    .await;
    let changes: Vec<(u64, u64, u64)> = report.ok()["changes"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|c| {
                    (
                        c["rowIndex"].as_u64().unwrap_or(99),
                        c["before"].as_u64().unwrap_or(0),
                        c["after"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(changes, vec![(0, 25, 26), (1, 4, 3), (3, 1, 2), (6, 5, 6)]);
    assert_eq!(
        (report.ok()["generation"].as_u64(), report.ok()["periodId"].as_u64()),
        (Some(1), Some(20261125))
    );

    let busy = get(&app, "/api/billing/2026-11-25").await;
    busy.error(503, "period_recalculating");
    assert_eq!(busy.header("retry-after"), Some("3"));
    get(&app, "/api/billing/2026-11-25/detail").await.error(503, "period_recalculating");
    let after = get(&app, "/api/billing/2026-11-25").await;
    assert_eq!(after.ok()["items"][0]["thisMonthCount"], 26);
    assert_eq!(after.ok()["items"][0]["lastMonthCount"], 20, "last month is history");
    let snapshot = state.snapshot("2026-11-25".parse().expect("date")).expect("period");
    assert_eq!(snapshot.billing[1].this_month_count, 3);

    // The second generation touches other rows.
    let second = control(&app, "POST", "/__mock/recalculate", None).await;
    assert_eq!(second.ok()["changes"][0]["rowIndex"], 1);
    assert_eq!(second.ok()["busyForRequests"], 0);

    control(&app, "POST", "/__mock/clock", Some(json!({"today": "2027-01-01"}))).await;
    control(&app, "POST", "/__mock/recalculate", None).await.error(409, "no_open_period");
    control(&app, "POST", "/__mock/recalculate", Some(json!({"busy": 1}))).await.error(400, "invalid_body");
}

#[tokio::test]
async fn reset_restores_the_seed_clock_and_clears_everything() {
    let (app, state) = app();
    control(&app, "POST", "/__mock/recalculate", None).await.ok();
    control(&app, "POST", "/__mock/faults", Some(json!({"endpoint": "customers", "status": 500}))).await;
    control(&app, "POST", "/__mock/clock", Some(json!({"today": "2030-01-01"}))).await;
    get(&app, "/api/v2/customers").await;
    let reset = control(&app, "POST", "/__mock/reset", None).await;
    assert_eq!(reset.ok()["clock"], "2026-11-25");
    assert_eq!(reset.ok()["faults"], json!([]));
    assert_eq!(reset.ok()["ledger"], json!([]));
    assert_eq!(reset.ok()["recalculations"], json!([]));
    assert_eq!(reset.ok()["stats"]["totalRequests"], 0);
    assert_eq!(state.snapshots(), vec![seed()]);
    get(&app, "/api/v2/customers").await.ok();
}

#[tokio::test]
async fn seed_replaces_the_periods_and_the_reset_baseline() {
    let (app, _) = app();
    let mut other = seed();
    other.period.start_date = "2026-11-26".parse().expect("date");
    other.period.end_date = "2026-12-25".parse().expect("date");
    other.billing.truncate(2);
    let seeded = control(&app, "POST", "/__mock/seed", Some(json!([other]))).await;
    assert_eq!(seeded.ok()["clock"], "2026-12-25");
    assert_eq!(get(&app, "/api/billing/2026-12-25").await.ok()["totalCount"], 2);
    control(&app, "POST", "/__mock/reset", None).await.ok();
    assert_eq!(get(&app, "/api/billing/2026-12-25").await.ok()["totalCount"], 2);
    let mut broken = seed();
    broken.billing[0].customer_code = "UNKNOWN".to_owned();
    let refused = control(&app, "POST", "/__mock/seed", Some(json!([seed(), broken]))).await;
    refused.error(400, "invalid_body");
    assert_eq!(
        refused.json["message"], "$[1].billing[0].customerCode: customer `UNKNOWN` is not in `customers`",
        "the seed in force is kept"
    );
    let refused = control(&app, "POST", "/__mock/seed", Some(json!({"format": "nope"}))).await;
    refused.error(400, "invalid_body");
    assert_eq!(refused.json["message"], "$.format: expected `billsync.atria/v1`, found \"nope\"");
    assert_eq!(get(&app, "/api/billing/2026-12-25").await.ok()["totalCount"], 2);
}
