//! The online edge against both mocks, in-process on 127.0.0.1:0, over real HTTP: the Autotask
//! and Atria clients, `fetch`, and the `billsync fetch` / `plan --spec` commands.

use std::path::{Path, PathBuf};
use std::time::Duration;

use billsync::autotask::{AutotaskClient, AutotaskCredentials, ClientError, ClientOptions, wire};
use billsync::codes::Code;
use billsync::secrets::Secret;
use billsync::spec::{AutotaskConnection, SecretRef};
use mock_autotask::{FaultRule, MockConfig, RunningMock};
use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(name)
}

fn fast_options() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(5),
        max_retries: 8,
        retry_base_delay: Duration::from_millis(5),
        concurrency_per_endpoint: 3,
    }
}

fn mock_credentials() -> AutotaskCredentials {
    let defaults = mock_autotask::Credentials::default();
    AutotaskCredentials {
        username: Secret::new(defaults.username),
        secret: Secret::new(defaults.secret),
        integration_code: Secret::new(defaults.integration_code),
    }
}

/// A connection that discovers the mock's zone (the spec's references are unused here).
fn discovery(mock: &RunningMock) -> AutotaskConnection {
    AutotaskConnection {
        base_url: String::new(),
        zone_user: Some(mock_autotask::state::DEFAULT_USERNAME.to_owned()),
        zone_discovery_url: format!("{}/atservicesrest/", mock.base_url()),
        username: SecretRef::Env("UNUSED".into()),
        secret: SecretRef::Env("UNUSED".into()),
        integration_code: SecretRef::Env("UNUSED".into()),
        allow_hosts: Vec::new(),
    }
}

async fn autotask_mock(config: MockConfig) -> RunningMock {
    let config = config.with_threshold_latency(Duration::ZERO, Duration::ZERO);
    mock_autotask::spawn(config).await.expect("the mock starts")
}

/// Adds a fault rule through `POST /__mock/faults` (checked against the mock's rule type first).
async fn add_fault(mock: &RunningMock, rule: Value) {
    let _: FaultRule = serde_json::from_value(rule.clone()).expect("a valid fault rule");
    let answer = reqwest::Client::new()
        .post(format!("{}/__mock/faults", mock.base_url()))
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.text().await.unwrap());
}

async fn clear_faults(mock: &RunningMock) {
    reqwest::Client::new().delete(format!("{}/__mock/faults", mock.base_url())).send().await.unwrap();
}

/// Requests the fault rules hit so far.
async fn fault_hits(mock: &RunningMock) -> u64 {
    let faults: Value = reqwest::Client::new()
        .get(format!("{}/__mock/faults", mock.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    faults["rules"].as_array().unwrap().iter().map(|rule| rule["hit"].as_u64().unwrap()).sum()
}

/// `n` companies with ids 1..=n.
fn many_companies(n: i64) -> MockConfig {
    let mut seed = mock_autotask::state::empty_snapshot();
    seed.companies = (1..=n)
        .map(|id| billsync::snapshot::Company {
            id,
            company_name: format!("Company {id}"),
            company_number: Some(format!("C-{id}")),
            company_type: Some(1),
            is_active: true,
        })
        .collect();
    MockConfig::new(seed)
}

fn requests_to(mock: &RunningMock, endpoint: &str) -> u64 {
    mock.state().stats().requests.get(endpoint).map_or(0, |methods| methods.values().sum())
}

// ---------------------------------------------------------------------------------------------
// Autotask client

#[tokio::test]
async fn autotask_discovers_the_zone_reads_and_creates() {
    let mock = autotask_mock(MockConfig::from_fixture(&fixture("seed-example")).unwrap()).await;
    let client =
        AutotaskClient::connect(&discovery(&mock), mock_credentials(), fast_options()).await.unwrap();
    assert_eq!(client.api_url().as_str(), format!("{}/ATServicesRest/V1.0/", mock.base_url()));
    assert_eq!(requests_to(&mock, "ZoneInformation"), 1);

    let contracts: Vec<wire::Contract> = client
        .query("Contracts", json!([{ "op": "eq", "field": "contractType", "value": 7 }]))
        .await
        .unwrap();
    assert_eq!(contracts.iter().map(|c| c.id).collect::<Vec<_>>(), [991, 992, 994]);
    let lines: Vec<wire::ContractService> =
        client.query_in("ContractServices", "contractID", &[992, 991]).await.unwrap();
    assert_eq!(lines.iter().map(|l| l.id).collect::<Vec<_>>(), {
        let mut ids: Vec<i64> = lines.iter().map(|l| l.id).collect();
        ids.sort_unstable();
        ids
    });
    assert_eq!(lines.len(), 4);
    let none: Vec<wire::Company> = client.query_in("Companies", "id", &[]).await.unwrap();
    assert!(none.is_empty());

    let before = client.threshold().await.unwrap();
    let line = &lines[0];
    let item_id = client
        .create(
            "ContractServiceAdjustments",
            &json!({ "contractServiceID": line.id, "effectiveDate": "2026-11-26T00:00:00Z", "unitChange": 2 }),
        )
        .await
        .unwrap();
    assert!(item_id > 0);
    let after = client.threshold().await.unwrap();
    assert_eq!(after.external_request_threshold, 10_000);
    assert!(after.current_timeframe_request_count > before.current_timeframe_request_count);
    assert_eq!(mock.state().ledger().len(), 1);
    assert_eq!(client.request_count(), mock.state().stats().total);
}

#[tokio::test]
async fn autotask_pages_and_chunks_in_filters_at_500() {
    let mock = autotask_mock(many_companies(1_203)).await;
    let client =
        AutotaskClient::connect(&discovery(&mock), mock_credentials(), fast_options()).await.unwrap();
    let all: Vec<wire::Company> =
        client.query("Companies", json!({ "op": "gte", "field": "id", "value": 0 })).await.unwrap();
    assert_eq!(all.len(), 1_203);
    assert_eq!(requests_to(&mock, "Companies"), 3, "three pages of at most 500");

    let ids: Vec<i64> = (1..=1_203).rev().chain([5, 7]).collect();
    let some: Vec<wire::Company> = client.query_in("Companies", "id", &ids).await.unwrap();
    assert_eq!(some.iter().map(|c| c.id).collect::<Vec<_>>(), (1..=1_203).collect::<Vec<_>>());
    assert_eq!(requests_to(&mock, "Companies"), 6, "⌈1203/500⌉ = 3 more");
    assert!(mock.state().stats().max_in_flight.get("Companies").copied().unwrap_or(0) <= 3);

    let numbers: Vec<Value> = (1..=600).map(|id| json!(format!("C-{id}"))).collect();
    let by_number: Vec<wire::Company> =
        client.query_in_values("Companies", "companyNumber", numbers).await.unwrap();
    assert_eq!(by_number.len(), 600);
}

#[tokio::test]
async fn autotask_concurrency_stays_at_three_per_endpoint() {
    let mock = autotask_mock(many_companies(3_000)).await;
    add_fault(&mock, json!({ "endpoint": "Companies", "latencyMs": 30 })).await;
    let client =
        AutotaskClient::connect(&discovery(&mock), mock_credentials(), fast_options()).await.unwrap();
    let ids: Vec<i64> = (1..=3_000).collect();
    let queries = (0..4).map(|_| client.query_in::<wire::Company>("Companies", "id", &ids));
    for result in futures::future::join_all(queries).await {
        assert_eq!(result.unwrap().len(), 3_000);
    }
    let stats = mock.state().stats();
    assert_eq!(stats.max_in_flight.get("Companies"), Some(&3), "{stats:?}");
}

#[tokio::test]
async fn autotask_refuses_a_zone_outside_the_allowed_hosts_before_sending_credentials() {
    let mut config = MockConfig::from_fixture(&fixture("seed-example")).unwrap();
    config.public_base_url = Some("https://webservices14.autotask.net.attacker.example".into());
    let mock = autotask_mock(config).await;
    let error =
        AutotaskClient::connect(&discovery(&mock), mock_credentials(), fast_options()).await.unwrap_err();
    assert!(matches!(&error, ClientError::Refused { host } if host.contains("attacker.example")), "{error}");
    assert_eq!(error.code(), Code::AT02);
    let stats = mock.state().stats();
    assert_eq!(stats.total, 1, "only the unauthenticated zone lookup: {stats:?}");
    assert_eq!(requests_to(&mock, "ZoneInformation"), 1);

    // A plain-http base URL that is not loopback is refused without any request at all.
    let mut connection = discovery(&mock);
    connection.base_url = "http://webservices14.autotask.net/ATServicesRest/".into();
    let error = AutotaskClient::connect(&connection, mock_credentials(), fast_options()).await.unwrap_err();
    assert!(matches!(error, ClientError::Refused { .. }), "{error}");
    assert_eq!(mock.state().stats().total, 1);
}

#[tokio::test]
async fn autotask_wrong_credentials_and_unknown_zone_user() {
    let mock = autotask_mock(MockConfig::from_fixture(&fixture("seed-example")).unwrap()).await;
    let mut credentials = mock_credentials();
    credentials.secret = Secret::new("canary-7f3a9c-wrong");
    let client = AutotaskClient::connect(&discovery(&mock), credentials, fast_options()).await.unwrap();
    let error = client
        .query::<wire::Company>("Companies", json!([{ "op": "gte", "field": "id", "value": 0 }]))
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::Auth), "{error}");
    assert_eq!(error.code(), Code::AT02);
    assert!(!format!("{error} {error:?} {client:?}").contains("canary-7f3a9c"));
    assert_eq!(requests_to(&mock, "Companies"), 1, "401 is not retried");

    let mut connection = discovery(&mock);
    connection.zone_user = Some("nobody@example.com".into());
    let error = AutotaskClient::connect(&connection, mock_credentials(), fast_options()).await.unwrap_err();
    assert_eq!(error.code(), Code::AT17, "{error}");
}

#[tokio::test]
async fn autotask_reads_retry_through_429_503_and_dropped_connections() {
    let mock = autotask_mock(many_companies(1_500)).await;
    for rule in [
        json!({ "endpoint": "Companies", "status": 429, "rate": 0.25 }),
        json!({ "endpoint": "Companies", "status": 503, "rate": 0.2 }),
        json!({ "endpoint": "Companies", "status": 500, "body": { "errors": ["Itgenatr005: Thread Threshold Exceeded"] }, "rate": 0.1 }),
        json!({ "endpoint": "Companies", "dropConnection": true, "rate": 0.15 }),
    ] {
        add_fault(&mock, rule).await;
    }
    let client =
        AutotaskClient::connect(&discovery(&mock), mock_credentials(), fast_options()).await.unwrap();
    let ids: Vec<i64> = (1..=1_500).collect();
    for _ in 0..3 {
        let companies: Vec<wire::Company> = client.query_in("Companies", "id", &ids).await.unwrap();
        assert_eq!(companies.len(), 1_500);
        let all: Vec<wire::Company> =
            client.query("Companies", json!([{ "op": "gte", "field": "id", "value": 0 }])).await.unwrap();
        assert_eq!(all.len(), 1_500);
    }
    let hits = fault_hits(&mock).await;
    assert!(hits > 0, "the faults fired");
}

#[tokio::test]
async fn autotask_creates_retry_only_when_certainly_not_processed() {
    let mock = autotask_mock(MockConfig::from_fixture(&fixture("seed-example")).unwrap()).await;
    let client =
        AutotaskClient::connect(&discovery(&mock), mock_credentials(), fast_options()).await.unwrap();
    let adjustment =
        json!({ "contractServiceID": 1, "effectiveDate": "2026-11-26T00:00:00Z", "unitChange": 1 });
    let line_id = mock.state().snapshot().contract_services[0].id;
    let adjustment = {
        let mut body = adjustment;
        body["contractServiceID"] = json!(line_id);
        body
    };

    // Throttled twice: not processed, so retried, and written once.
    add_fault(&mock, json!({ "endpoint": "ContractServiceAdjustments", "status": 429, "times": 2 })).await;
    client.create("ContractServiceAdjustments", &adjustment).await.unwrap();
    assert_eq!(mock.state().ledger().len(), 1);
    assert_eq!(requests_to(&mock, "ContractServiceAdjustments"), 3);

    // A 503 after the write happened, a dropped answer: ambiguous, never retried.
    for rule in [
        json!({ "endpoint": "ContractServiceAdjustments", "status": 503, "times": 1, "phase": "after" }),
        json!({ "endpoint": "ContractServiceAdjustments", "dropConnection": true, "times": 1, "phase": "after" }),
    ] {
        clear_faults(&mock).await;
        add_fault(&mock, rule).await;
        let sent = requests_to(&mock, "ContractServiceAdjustments");
        let error = client.create("ContractServiceAdjustments", &adjustment).await.unwrap_err();
        assert!(matches!(error, ClientError::Ambiguous { .. }), "{error}");
        assert_eq!(requests_to(&mock, "ContractServiceAdjustments"), sent + 1, "not retried");
    }
    assert_eq!(mock.state().ledger().len(), 3, "each write happened exactly once");

    // A rejection the server states (500 with errors) on a create is ambiguous too: the caller
    // reads back; the server's own message is kept.
    clear_faults(&mock).await;
    let error = client
        .create(
            "ContractServiceAdjustments",
            &json!({ "contractServiceID": line_id, "effectiveDate": "2026-11-26", "unitChange": -100000 }),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ClientError::Ambiguous { message, .. } if message.contains("HTTP 500")),
        "{error}"
    );
    assert_eq!(mock.state().ledger().len(), 3);
}
