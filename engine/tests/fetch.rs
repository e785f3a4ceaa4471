//! The online edge against both mocks, in-process on 127.0.0.1:0, over real HTTP: the Autotask
//! and Atria clients, `fetch`, and the `billsync fetch` / `plan --spec` commands.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use billsync::autotask::{AutotaskClient, AutotaskCredentials, ClientError, ClientOptions, wire};
use billsync::codes::Code;
use billsync::compile::{CompileInput, compile};
use billsync::fetch::fetch;
use billsync::secrets::Secret;
use billsync::snapshot::{self, AtriaSnapshot, AutotaskSnapshot};
use billsync::spec::{
    self, AtriaConnection, AutotaskConnection, CustomerMatch, JobSpec, SecretRef, SkuField,
};
use billsync::synth::SynthConfig;
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
        .map(|id| mock_autotask::entity::Company {
            id,
            company_name: format!("Company {id}"),
            company_number: Some(format!("C-{id}")),
            company_type: Some(1),
            is_active: true,
            extra: Default::default(),
        })
        .collect();
    MockConfig::new(seed)
}

/// A mock seeded with billsync's own snapshot, through the file format both read.
fn autotask_config(seed: &AutotaskSnapshot) -> MockConfig {
    MockConfig::from_json(&serde_json::to_vec(seed).unwrap()).expect("a valid seed")
}

fn atria_config(seed: &AtriaSnapshot) -> mock_atria::MockConfig {
    mock_atria::MockConfig::from_json(&serde_json::to_vec(seed).unwrap()).expect("a valid seed")
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
    assert!(matches!(error, ClientError::Auth { status: 401, .. }), "{error}");
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

// ---------------------------------------------------------------------------------------------
// fetch

/// Both mocks seeded with one data set, and a spec pointing at them with secrets in files.
struct World {
    atria: mock_atria::RunningMock,
    autotask: RunningMock,
    secrets: tempfile::TempDir,
}

impl World {
    async fn new(atria: mock_atria::MockConfig, autotask: MockConfig) -> World {
        World {
            atria: mock_atria::spawn(atria).await.expect("mock-atria starts"),
            autotask: autotask_mock(autotask).await,
            secrets: tempfile::tempdir().unwrap(),
        }
    }

    async fn of_fixture(name: &str) -> World {
        World::new(
            mock_atria::MockConfig::from_fixture(&fixture(name)).unwrap(),
            MockConfig::from_fixture(&fixture(name)).unwrap(),
        )
        .await
    }

    /// `spec` with `atria` and `autotask` sections for these mocks (secrets as files).
    fn connect(&self, mut spec: JobSpec) -> JobSpec {
        let credentials = mock_autotask::Credentials::default();
        let secret = |name: &str, value: &str| {
            let path = self.secrets.path().join(name);
            std::fs::write(&path, format!("{value}\n")).unwrap();
            SecretRef::File(path)
        };
        spec.atria = Some(AtriaConnection {
            base_url: self.atria.base_url(),
            token: secret("atria", "mock-atria-token"),
        });
        spec.autotask = Some(AutotaskConnection {
            username: secret("username", &credentials.username),
            secret: secret("secret", &credentials.secret),
            integration_code: secret("integration-code", &credentials.integration_code),
            ..discovery(&self.autotask)
        });
        spec
    }
}

fn job_of(name: &str) -> JobSpec {
    spec::load(&fixture(name).join("job.yaml")).unwrap_or_else(|problems| panic!("{problems}"))
}

/// The reference for what fetch reads from Autotask (see `billsync::fetch`): the entities
/// reachable from the billing identifiers of the Atria customers in scope.
fn reachable(spec: &JobSpec, atria: &AtriaSnapshot, autotask: &AutotaskSnapshot) -> AutotaskSnapshot {
    let in_scope = |code: &str| {
        (spec.customers.is_empty() || spec.customers.iter().any(|c| c.trim() == code.trim()))
            && !spec.overrides.get(code).is_some_and(|o| o.skip)
    };
    let identifiers: BTreeSet<String> = atria
        .customers
        .iter()
        .filter(|c| in_scope(&c.short_name))
        .filter_map(|c| c.billing_identifier.as_deref().map(|id| id.trim().to_lowercase()))
        .collect();
    let companies: Vec<_> = autotask
        .companies
        .iter()
        .filter(|c| match spec.customer_match {
            CustomerMatch::Id => identifiers.contains(&c.id.to_string()),
            CustomerMatch::CompanyNumber => {
                c.company_number.as_deref().is_some_and(|n| identifiers.contains(&n.trim().to_lowercase()))
            }
        })
        .cloned()
        .collect();
    let override_ids: BTreeSet<i64> =
        spec.overrides.iter().filter(|(code, _)| in_scope(code)).filter_map(|(_, o)| o.contract_id).collect();
    let contracts: Vec<_> = autotask
        .contracts
        .iter()
        .filter(|k| companies.iter().any(|c| c.id == k.company_id) || override_ids.contains(&k.id))
        .cloned()
        .collect();
    let lines: Vec<_> = autotask
        .contract_services
        .iter()
        .filter(|l| contracts.iter().any(|k| k.id == l.contract_id))
        .cloned()
        .collect();
    let units: Vec<_> = autotask
        .contract_service_units
        .iter()
        .filter(|u| contracts.iter().any(|k| k.id == u.contract_id))
        .cloned()
        .collect();
    let services = if spec.sku_type.name == SkuField::ServiceId {
        let mut ids: BTreeSet<i64> = lines.iter().map(|l| l.service_id).collect();
        ids.extend(spec.sku_map.values());
        ids.extend(
            atria
                .billing
                .iter()
                .filter(|r| in_scope(&r.customer_code))
                .filter_map(|r| r.product_sku.as_deref()?.trim().parse::<i64>().ok()),
        );
        autotask.services.iter().filter(|s| ids.contains(&s.id)).cloned().collect()
    } else {
        autotask.services.clone()
    };
    snapshot::canonical_autotask(&AutotaskSnapshot {
        format: autotask.format.clone(),
        companies,
        contracts,
        services,
        contract_services: lines,
        contract_service_units: units,
    })
}

const AS_OF: &str = "2026-11-24T22:00:00Z";

fn plan_of(spec: &JobSpec, atria: &AtriaSnapshot, autotask: &AutotaskSnapshot) -> billsync::plan::Plan {
    compile(CompileInput { spec, atria, autotask, as_of: AS_OF.parse().unwrap() }).expect("compiles")
}

/// ⌈n/500⌉ per entity read, at least one query each.
fn call_budget(autotask: &AutotaskSnapshot) -> u64 {
    let queries = |n: usize| (n as u64).div_ceil(500).max(1);
    1 + queries(autotask.companies.len())
        + queries(autotask.contracts.len())
        + queries(autotask.services.len())
        + queries(autotask.contract_services.len())
        + queries(autotask.contract_service_units.len())
}

#[tokio::test]
async fn fetch_returns_each_fixture_with_the_fewest_calls() {
    for name in ["seed-example", "every-code", "no-billing-rows"] {
        let world = World::of_fixture(name).await;
        let spec = world.connect(job_of(name));
        let fetched = fetch(&spec, fast_options()).await.unwrap_or_else(|error| panic!("{name}: {error}"));
        let files = fetched.to_files().unwrap();
        let atria_fixture = snapshot::load_atria(&fixture(name).join("atria.json")).unwrap();
        let autotask_fixture = snapshot::load_autotask(&fixture(name).join("autotask.json")).unwrap();

        assert_eq!(snapshot::parse_atria(&files.atria).unwrap(), fetched.atria);
        assert_eq!(
            snapshot::canonical_atria(&fetched.atria),
            snapshot::canonical_atria(&atria_fixture),
            "{name}"
        );
        assert_eq!(
            snapshot::canonical_autotask(&fetched.autotask),
            reachable(&spec, &atria_fixture, &autotask_fixture),
            "{name}"
        );
        // The same plan as from the fixture files.
        let online = plan_of(&spec, &fetched.atria, &fetched.autotask);
        let offline = plan_of(&spec, &atria_fixture, &autotask_fixture);
        assert_eq!(
            (&online.actions, &online.log, &online.summary),
            (&offline.actions, &offline.log, &offline.summary),
            "{name}"
        );

        let stats = world.autotask.state().stats();
        assert_eq!(fetched.autotask_requests, stats.total, "{name}");
        assert!(stats.total <= call_budget(&fetched.autotask), "{name}: {stats:?}");
        // Atria: the period, one page of customers, one page of billing.
        assert_eq!(fetched.atria_requests, 3, "{name}");
    }

    // With every customer in scope (no filter, no skipped customer), every fixture comes back
    // exactly as its files hold it.
    for name in ["seed-example", "seed-example-next-month", "every-code", "no-billing-rows"] {
        let world = World::of_fixture(name).await;
        let mut job = job_of(name);
        job.customers.clear();
        job.overrides.retain(|_, customer_override| !customer_override.skip);
        let fetched = fetch(&world.connect(job), fast_options()).await.unwrap();
        let atria_fixture = snapshot::load_atria(&fixture(name).join("atria.json")).unwrap();
        let autotask_fixture = snapshot::load_autotask(&fixture(name).join("autotask.json")).unwrap();
        assert_eq!(
            snapshot::canonical_atria(&fetched.atria),
            snapshot::canonical_atria(&atria_fixture),
            "{name}"
        );
        assert_eq!(
            snapshot::canonical_autotask(&fetched.autotask),
            snapshot::canonical_autotask(&autotask_fixture),
            "{name}"
        );
        assert_eq!(world.autotask.state().stats().total, 6, "{name}: zone + one query per entity");
    }
}

fn synthetic(customers: usize) -> (AtriaSnapshot, AutotaskSnapshot) {
    billsync::synth::generate(SynthConfig { customers, rows_per_customer: 3, seed: 7 })
}

fn synthetic_job() -> JobSpec {
    spec::parse("version: 1\nlabel: synthetic\nbillingPeriod: previous\n").unwrap()
}

#[tokio::test]
async fn fetch_chunks_more_than_500_ids_within_the_call_budget() {
    let (atria, autotask) = synthetic(1_300);
    let world = World::new(atria_config(&atria), autotask_config(&autotask)).await;
    let spec = world.connect(synthetic_job());
    let fetched = fetch(&spec, fast_options()).await.unwrap();
    assert_eq!(snapshot::canonical_atria(&fetched.atria), snapshot::canonical_atria(&atria));
    assert_eq!(snapshot::canonical_autotask(&fetched.autotask), reachable(&spec, &atria, &autotask));
    assert!(fetched.autotask.companies.len() > 1_000, "{}", fetched.autotask.companies.len());
    let stats = world.autotask.state().stats();
    let budget = call_budget(&fetched.autotask);
    eprintln!("fetch: {} (budget {budget}, mock count {})", fetched.summary(), stats.total);
    // Chunks of ids and pages of rows do not always line up: one extra call per entity at most.
    assert!(stats.total <= budget + 5, "{stats:?}");
    assert!(stats.max_in_flight.values().all(|&n| n <= 3), "{stats:?}");
}

#[tokio::test]
async fn fetch_gets_the_same_snapshots_through_faults() {
    let (atria, autotask) = synthetic(700);
    let world = World::new(atria_config(&atria), autotask_config(&autotask)).await;
    let spec = world.connect(synthetic_job());
    let clean = fetch(&spec, fast_options()).await.unwrap();
    for rule in [
        json!({ "endpoint": "*", "status": 429, "rate": 0.2 }),
        json!({ "endpoint": "*", "status": 503, "rate": 0.2 }),
        json!({ "endpoint": "*", "dropConnection": true, "rate": 0.15 }),
    ] {
        add_fault(&world.autotask, rule).await;
    }
    let atria_faults = json!([
        { "endpoint": "*", "status": 429, "retryAfterSeconds": 0, "rate": 0.2 },
        { "endpoint": "*", "status": 503, "retryAfterSeconds": 0, "rate": 0.2 },
        { "endpoint": "*", "dropConnection": true, "rate": 0.15 },
    ]);
    let answer = reqwest::Client::new()
        .post(format!("{}/__mock/faults", world.atria.base_url()))
        .json(&atria_faults)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.text().await.unwrap());
    for _ in 0..2 {
        let faulty = fetch(&spec, fast_options()).await.unwrap();
        assert_eq!(faulty.atria, clean.atria);
        assert_eq!(faulty.autotask, clean.autotask);
    }
    assert!(fault_hits(&world.autotask).await > 0);
}

#[tokio::test]
async fn fetch_needs_both_sections_and_every_secret_before_any_request() {
    let world = World::of_fixture("seed-example").await;
    let mut spec = world.connect(job_of("seed-example"));
    let autotask = spec.autotask.take();
    let error = fetch(&spec, fast_options()).await.unwrap_err();
    assert_eq!(error.code(), Code::AT02);
    assert!(error.to_string().contains("`autotask`"), "{error}");

    spec.autotask = autotask;
    if let Some(autotask) = spec.autotask.as_mut() {
        autotask.secret = SecretRef::Env("BILLSYNC_TEST_NO_SUCH_VARIABLE".into());
        autotask.username = SecretRef::File(world.secrets.path().join("no-such-file"));
    }
    let error = fetch(&spec, fast_options()).await.unwrap_err();
    let text = error.to_string();
    assert!(text.contains("`BILLSYNC_TEST_NO_SUCH_VARIABLE`") && text.contains("no-such-file"), "{text}");
    assert!(matches!(error.code(), Code::AT16 | Code::AT18));
    assert_eq!(world.autotask.state().stats().total, 0);
    let atria_stats: Value =
        reqwest::get(format!("{}/__mock/stats", world.atria.base_url())).await.unwrap().json().await.unwrap();
    assert_eq!(atria_stats["totalRequests"], 0, "{atria_stats}");
}

// ---------------------------------------------------------------------------------------------
// The commands, with secrets in the environment

const CANARY: &str = "canary-7f3a91c2-secret";

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the binary off the runtime's threads, so the in-process mocks keep answering.
async fn billsync(args: Vec<String>, env: Vec<(&'static str, String)>) -> Run {
    tokio::task::spawn_blocking(move || {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_billsync"))
            .args(&args)
            .env_remove("AUTOTASK_USERNAME")
            .env_remove("AUTOTASK_SECRET")
            .env_remove("AUTOTASK_INTEGRATION_CODE")
            .env_remove("ATRIA_TOKEN")
            .envs(env)
            .output()
            .expect("billsync runs");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

fn secret_env(secret: &str) -> Vec<(&'static str, String)> {
    let defaults = mock_autotask::Credentials::default();
    vec![
        ("ATRIA_TOKEN", "mock-atria-token".to_owned()),
        ("AUTOTASK_USERNAME", defaults.username),
        ("AUTOTASK_SECRET", secret.to_owned()),
        ("AUTOTASK_INTEGRATION_CODE", defaults.integration_code),
    ]
}

/// Every file under `folder`, as text.
fn texts_under(folder: &Path) -> Vec<(PathBuf, String)> {
    let mut texts = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            texts.extend(texts_under(&path));
        } else {
            texts.push((path.clone(), String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned()));
        }
    }
    texts
}

#[tokio::test]
async fn cli_fetch_and_online_plan_never_show_a_secret() {
    let mut autotask = MockConfig::from_fixture(&fixture("seed-example")).unwrap();
    autotask.credentials.secret = CANARY.to_owned();
    let world =
        World::new(mock_atria::MockConfig::from_fixture(&fixture("seed-example")).unwrap(), autotask).await;
    let work = tempfile::tempdir().unwrap();
    // The fixture's job with its env references, pointed at these mocks; JSON is YAML.
    let mut spec = job_of("seed-example");
    spec.atria.as_mut().unwrap().base_url = world.atria.base_url();
    spec.autotask.as_mut().unwrap().zone_discovery_url =
        format!("{}/atservicesrest/", world.autotask.base_url());
    let spec_path = work.path().join("job.yaml");
    std::fs::write(&spec_path, serde_json::to_string_pretty(&spec).unwrap()).unwrap();
    let arg = |path: &Path| path.display().to_string();
    let out = work.path().join("fetched");

    let fetched = billsync(
        vec!["fetch".into(), "--spec".into(), arg(&spec_path), "--out".into(), arg(&out)],
        secret_env(CANARY),
    )
    .await;
    assert_eq!(fetched.code, Some(0), "{}", fetched.stderr);
    assert!(fetched.stdout.contains("Autotask calls"), "{}", fetched.stdout);
    let atria_fixture = snapshot::load_atria(&fixture("seed-example").join("atria.json")).unwrap();
    assert_eq!(snapshot::load_atria(&out.join("atria.json")).unwrap(), atria_fixture);
    snapshot::load_autotask(&out.join("autotask.json")).unwrap();

    let plan_out = work.path().join("plan.json");
    let saved = work.path().join("saved");
    let planned = billsync(
        vec![
            "plan".into(),
            "--spec".into(),
            arg(&spec_path),
            "--as-of".into(),
            AS_OF.into(),
            "--out".into(),
            arg(&plan_out),
            "--save-snapshots".into(),
            arg(&saved),
        ],
        secret_env(CANARY),
    )
    .await;
    assert_eq!(planned.code, Some(0), "{}", planned.stderr);
    let offline = billsync(
        vec![
            "plan".into(),
            "--spec".into(),
            arg(&spec_path),
            "--as-of".into(),
            AS_OF.into(),
            "--atria".into(),
            arg(&saved.join("atria.json")),
            "--autotask".into(),
            arg(&saved.join("autotask.json")),
        ],
        vec![],
    )
    .await;
    assert_eq!(offline.code, Some(0), "{}", offline.stderr);
    assert_eq!(offline.stdout, planned.stdout, "planning the saved snapshots gives the same plan");

    // Wrong credentials: AT02, exit 1.
    let wrong_secret = "canary-wrong-55e1d0";
    let refused = billsync(
        vec!["fetch".into(), "--spec".into(), arg(&spec_path), "--out".into(), arg(&out)],
        secret_env(wrong_secret),
    )
    .await;
    assert_eq!(refused.code, Some(1));
    assert!(refused.stderr.contains("AT02") && refused.stderr.contains("401"), "{}", refused.stderr);

    // A missing secret: AT18 naming the variable, exit 1.
    let mut env = secret_env(CANARY);
    env.retain(|(name, _)| *name != "AUTOTASK_SECRET");
    let missing = billsync(vec!["plan".into(), "--spec".into(), arg(&spec_path)], env).await;
    assert_eq!(missing.code, Some(1));
    assert!(
        missing.stderr.contains("AT18") && missing.stderr.contains("`AUTOTASK_SECRET`"),
        "{}",
        missing.stderr
    );

    // Atria refuses a bad token: AT03.
    let mut env = secret_env(CANARY);
    env[0].1 = "not-a-token".into();
    let atria_refused = billsync(vec!["plan".into(), "--spec".into(), arg(&spec_path)], env).await;
    assert_eq!(atria_refused.code, Some(1));
    assert!(atria_refused.stderr.contains("AT03"), "{}", atria_refused.stderr);

    for run in [&fetched, &planned, &offline, &refused, &missing, &atria_refused] {
        for secret in [CANARY, wrong_secret] {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "{}{}",
                run.stdout,
                run.stderr
            );
        }
    }
    for (path, text) in texts_under(work.path()) {
        assert!(!text.contains(CANARY) && !text.contains(wrong_secret), "{}", path.display());
    }
}
