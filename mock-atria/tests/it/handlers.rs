//! Handler tests through `oneshot`: auth, every endpoint, parameter and error status.

use mock_atria::{DEFAULT_EXPIRED_TOKEN, DEFAULT_NO_DEVELOPER_TOKEN};
use serde_json::{Value, json};

use crate::common::{app, control, get, send};

#[tokio::test]
async fn auth_missing_wrong_expired_and_non_developer_tokens() {
    let (app, _) = app();
    let uri = "/api/v2/customers";
    let missing = send(&app, "GET", uri, None, None).await;
    missing.error(401, "missing_token");
    assert_eq!(missing.header("www-authenticate"), Some("Bearer"));
    send(&app, "GET", uri, Some("not-a-token"), None).await.error(401, "invalid_token");
    send(&app, "GET", uri, Some(DEFAULT_EXPIRED_TOKEN), None).await.error(401, "token_expired");
    send(&app, "GET", uri, Some(DEFAULT_NO_DEVELOPER_TOKEN), None)
        .await
        .error(403, "missing_developer_permission");
    let basic = axum::http::Request::builder()
        .uri(uri)
        .header("authorization", "Basic bW9jazptb2Nr")
        .body(axum::body::Body::empty())
        .expect("request");
    let response = tower::ServiceExt::oneshot(app.clone(), basic).await.expect("infallible");
    assert_eq!(response.status(), 401);
    // Every API endpoint is behind auth; the controls are not.
    for uri in [
        "/api/v2/billingperiods",
        "/api/v2/billingperiods/current",
        "/api/v2/billingperiods/previous",
        "/api/v2/billingperiods/2026-11-25",
        "/api/v2/billingperiods/resolve?at=2026-11-01",
        "/api/v2/customers/ASP",
        "/api/v2/services",
        "/api/billing/2026-11-25",
        "/api/billing/2026-11-25/detail",
    ] {
        send(&app, "GET", uri, None, None).await.error(401, "missing_token");
    }
    assert_eq!(control(&app, "GET", "/__mock/clock", None).await.status, 200);
}

#[tokio::test]
async fn periods_list_current_previous_by_end_date_and_resolve() {
    let (app, _) = app();
    let expected = json!({"id": 20261125, "startDate": "2026-10-26", "endDate": "2026-11-25", "status": "open", "isCurrent": true});
    assert_eq!(get(&app, "/api/v2/billingperiods").await.ok(), &json!([expected.clone()]));
    assert_eq!(get(&app, "/api/v2/billingperiods/current").await.ok(), &expected);
    assert_eq!(get(&app, "/api/v2/billingperiods/2026-11-25").await.ok(), &expected);
    assert_eq!(get(&app, "/api/v2/billingperiods/resolve?at=2026-10-26").await.ok(), &expected);
    assert_eq!(get(&app, "/api/v2/billingperiods/resolve?at=2026-11-25").await.ok(), &expected);
    get(&app, "/api/v2/billingperiods/previous").await.error(404, "no_previous_period");
    get(&app, "/api/v2/billingperiods/2026-11-24").await.error(404, "unknown_period");
    get(&app, "/api/v2/billingperiods/25-11-2026").await.error(400, "invalid_date");
    get(&app, "/api/v2/billingperiods/resolve?at=2026-10-25").await.error(404, "unknown_period");
    get(&app, "/api/v2/billingperiods/resolve?at=2026-11-26").await.error(404, "unknown_period");
    get(&app, "/api/v2/billingperiods/resolve").await.error(400, "invalid_parameter");
    get(&app, "/api/v2/billingperiods/resolve?at=2026-02-30").await.error(400, "invalid_date");
    get(&app, "/api/v2/billingperiods?page=1").await.error(400, "invalid_parameter");
}

#[tokio::test]
async fn a_seed_file_that_says_closed_has_no_current_period() {
    let mut snapshot = crate::common::seed();
    snapshot.period.status = mock_atria::seed::PeriodStatus::Closed;
    let (app, state) = crate::common::app_with(mock_atria::MockConfig::from_snapshot(snapshot));
    assert_eq!(state.clock().to_string(), "2026-11-26", "the day after the period");
    get(&app, "/api/v2/billingperiods/current").await.error(404, "no_current_period");
    let previous = get(&app, "/api/v2/billingperiods/previous").await;
    assert_eq!(previous.ok()["status"], "closed");
    assert_eq!(previous.ok()["isCurrent"], false);
}

#[tokio::test]
async fn customers_are_paged_and_found_by_short_name() {
    let (app, _) = app();
    let all = get(&app, "/api/v2/customers").await;
    let all = all.ok();
    assert_eq!(
        (all["page"].as_u64(), all["pageSize"].as_u64(), all["totalCount"].as_u64()),
        (Some(1), Some(100), Some(3))
    );
    assert_eq!(
        all["items"][0],
        json!({"id": 1001, "shortName": "ASP", "name": "ASP Cloud", "billingIdentifier": "29683541",
               "parentCustomerId": null, "billedByCustomerId": 1, "enabled": true})
    );
    let second = get(&app, "/api/v2/customers?page=2&pageSize=2").await;
    assert_eq!(second.ok()["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(second.ok()["items"][0]["shortName"], "NOTFILTERED");
    let beyond = get(&app, "/api/v2/customers?page=9&pageSize=2").await;
    assert_eq!(beyond.ok()["items"], json!([]));
    assert_eq!(beyond.ok()["totalCount"], 3);
    assert_eq!(get(&app, "/api/v2/customers?pageSize=1000").await.ok()["totalCount"], 3);
    get(&app, "/api/v2/customers?pageSize=1001").await.error(400, "invalid_parameter");
    get(&app, "/api/v2/customers?pageSize=0").await.error(400, "invalid_parameter");
    get(&app, "/api/v2/customers?page=0").await.error(400, "invalid_parameter");
    get(&app, "/api/v2/customers?page=abc").await.error(400, "invalid_parameter");
    get(&app, "/api/v2/customers?page=1&page=2").await.error(400, "invalid_parameter");
    get(&app, "/api/v2/customers?period=2026-11-26").await.error(404, "unknown_period");
    assert_eq!(get(&app, "/api/v2/customers?period=2026-11-25").await.ok()["totalCount"], 3);

    let one = get(&app, "/api/v2/customers/SampleCustomerShortCodeName").await;
    assert_eq!(one.ok()["billingIdentifier"], "29683542");
    assert_eq!(one.ok()["id"], 1002);
    get(&app, "/api/v2/customers/asp").await.error(404, "unknown_customer");
    get(&app, "/api/v2/customers/ASP?period=2026-11-25").await.ok();
    get(&app, "/api/v2/customers/ASP?verbose=1").await.error(400, "invalid_parameter");
}

#[tokio::test]
async fn disabled_customers_read_as_not_enabled() {
    let mut snapshot = crate::common::seed();
    snapshot.customers[2].status = mock_atria::seed::CustomerStatus::Deprovisioned;
    snapshot.customers[2].billing_identifier = None;
    let (app, _) = crate::common::app_with(mock_atria::MockConfig::from_snapshot(snapshot));
    let customer = get(&app, "/api/v2/customers/NOTFILTERED").await;
    assert_eq!(customer.ok()["enabled"], false);
    assert_eq!(customer.ok()["billingIdentifier"], Value::Null);
}

#[tokio::test]
async fn services_come_from_groupings_and_skus() {
    let (app, _) = app();
    let services = get(&app, "/api/v2/services").await;
    let services = services.ok().as_array().cloned().unwrap_or_default();
    assert_eq!(services.len(), 7);
    assert_eq!(
        services[0],
        json!({"serviceId": 1, "name": "Microsoft 365 Business Premium",
               "plans": [{"planName": "Microsoft 365 Business Premium (SKU 12)", "sku": "12", "skuType": "User"}]})
    );
    let tenants = services.iter().find(|s| s["name"] == "Tenants").expect("Tenants");
    assert_eq!(tenants["plans"][0], json!({"planName": "Tenants", "sku": null, "skuType": "Customer"}));
    get(&app, "/api/v2/services?x=1").await.error(400, "invalid_parameter");
}

fn counts(rows: &Value) -> Vec<(String, u64)> {
    rows["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|row| {
                    (
                        row["summaryGrouping"].as_str().unwrap_or("").to_owned(),
                        row["thisMonthCount"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn billing_summary_filters_and_aggregation() {
    let (app, _) = app();
    let all = get(&app, "/api/billing/2026-11-25").await;
    assert_eq!(all.ok()["totalCount"], 9);
    assert_eq!(
        all.ok()["items"][0],
        json!({"customerCode": "ASP", "customerName": "ASP Cloud", "customerAccountCode": "29683541",
               "productSku": "12", "skuType": "User", "billable": true,
               "summaryGrouping": "Microsoft 365 Business Premium",
               "lastMonthCount": 20, "difference": 5, "thisMonthCount": 25})
    );
    assert_eq!(all.ok()["items"][2]["difference"], -3);
    assert_eq!(get(&app, "/api/billing/2026-11-25?billable=true").await.ok()["totalCount"], 8);
    let non_billable = get(&app, "/api/billing/2026-11-25?billable=false").await;
    assert_eq!(counts(non_billable.ok()), vec![("Azure Backup (trial)".to_owned(), 2)]);
    let asp = get(&app, "/api/billing/2026-11-25?customer=ASP&billable=true").await;
    assert_eq!(asp.ok()["totalCount"], 4);
    let explicit = get(&app, "/api/billing/2026-11-25?aggregateByCustomer=true").await;
    assert_eq!(explicit.ok(), all.ok());

    let merged = get(&app, "/api/billing/2026-11-25?aggregateByCustomer=false").await;
    assert_eq!(merged.ok()["totalCount"], 7);
    assert_eq!(
        merged.ok()["items"][0],
        json!({"customerCode": null, "customerName": null, "customerAccountCode": null,
               "productSku": "12", "skuType": "User", "billable": true,
               "summaryGrouping": "Microsoft 365 Business Premium",
               "lastMonthCount": 37, "difference": 6, "thisMonthCount": 43})
    );
    let merged_one =
        get(&app, "/api/billing/2026-11-25?aggregateByCustomer=false&customer=NOTFILTERED").await;
    assert_eq!(counts(merged_one.ok()), vec![("Microsoft 365 Business Premium".to_owned(), 8)]);

    let paged = get(&app, "/api/billing/2026-11-25?page=3&pageSize=4").await;
    assert_eq!(counts(paged.ok()), vec![("Microsoft 365 Business Premium".to_owned(), 8)]);

    get(&app, "/api/billing/2026-11-25?customer=NOPE").await.error(404, "unknown_customer");
    get(&app, "/api/billing/2026-11-25?billable=yes").await.error(400, "invalid_parameter");
    get(&app, "/api/billing/2026-11-25?aggregateByCustomer=1").await.error(400, "invalid_parameter");
    get(&app, "/api/billing/2026-11-25?pageSize=5000").await.error(400, "invalid_parameter");
    get(&app, "/api/billing/2026-11-25?AggregateByCustomer=true").await.error(400, "invalid_parameter");
    get(&app, "/api/billing/2026-10-25").await.error(404, "unknown_period");
    get(&app, "/api/billing/2026-13-01").await.error(400, "invalid_date");
    get(&app, "/api/billing/latest").await.error(400, "invalid_date");
}

#[tokio::test]
async fn billing_detail_has_one_row_per_unit() {
    let (app, _) = app();
    let all = get(&app, "/api/billing/2026-11-25/detail?pageSize=1000").await;
    let all = all.ok();
    // Units per row are max(last, this): 25 + 4 + 3 + 1 + 2 + 10 + 5 + 2 + 8.
    assert_eq!(all["totalCount"], 60);
    let items = all["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 60);
    let count = |sku: &str, action: &str| {
        items
            .iter()
            .filter(|row| row["customerCode"] == "ASP" && row["sku"] == sku && row["action"] == action)
            .count()
    };
    assert_eq!((count("12", "Carried"), count("12", "Added"), count("12", "Removed")), (20, 5, 0));
    assert_eq!((count("17", "Carried"), count("17", "Removed")), (0, 3));
    assert_eq!(
        items[0],
        json!({"id": 1, "customerCode": "ASP", "serviceName": "Microsoft 365 Business Premium",
               "servicePlanName": "Microsoft 365 Business Premium (SKU 12)", "sku": "12", "skuType": "User",
               "billable": true, "nonBillableReason": null,
               "lineDescription": "Microsoft 365 Business Premium, Microsoft 365 Business Premium (SKU 12)",
               "summaryDescription": "Microsoft 365 Business Premium", "action": "Carried",
               "actionedDate": "2026-10-26", "actionedBy": "Atria billing (carried)",
               "userUpn": "user1@asp.example.com", "userFullName": "User 1 of ASP Cloud"})
    );
    let tenant = items.iter().find(|row| row["serviceName"] == "Tenants").expect("tenant row");
    assert_eq!(tenant["userUpn"], Value::Null);
    assert_eq!(tenant["lineDescription"], "Tenants (Assigned to Customer)");

    let non_billable = get(&app, "/api/billing/2026-11-25/detail?billable=false").await;
    assert_eq!(non_billable.ok()["totalCount"], 2);
    assert_eq!(non_billable.ok()["items"][0]["nonBillableReason"], "Excluded by billing rule");
    let asp = get(&app, "/api/billing/2026-11-25/detail?customer=ASP&billable=true").await;
    assert_eq!(asp.ok()["totalCount"], 33);
    let page = get(&app, "/api/billing/2026-11-25/detail?page=2&pageSize=25").await;
    assert_eq!(page.ok()["items"][0]["id"], 26, "ids stay the same whatever the page");
    assert_eq!(page.ok()["items"].as_array().map(Vec::len), Some(25));

    get(&app, "/api/billing/2026-11-25/detail?customer=NOPE").await.error(404, "unknown_customer");
    get(&app, "/api/billing/2026-11-25/detail?aggregateByCustomer=true")
        .await
        .error(400, "invalid_parameter");
    get(&app, "/api/billing/2026-11-25/detail?pageSize=1001").await.error(400, "invalid_parameter");
    get(&app, "/api/billing/2026-10-25/detail").await.error(404, "unknown_period");
    get(&app, "/api/billing/2026-11-5/detail").await.error(400, "invalid_date");
}

#[tokio::test]
async fn unknown_routes_and_methods_speak_the_error_shape() {
    let (app, _) = app();
    get(&app, "/api/v2/nothing").await.error(404, "not_found");
    send(&app, "POST", "/api/v2/customers", Some(mock_atria::DEFAULT_TOKEN), None)
        .await
        .error(405, "method_not_allowed");
    control(&app, "PUT", "/__mock/clock", None).await.error(405, "method_not_allowed");
}
