//! Real sockets: `spawn` on an ephemeral port, reqwest over loopback, the snapshot round trip,
//! folder seeding, a dropped connection, shutdown, and the binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use mock_atria::seed::{
    AtriaCustomer, AtriaSnapshot, BillingPeriod, BillingRow, CustomerStatus, PeriodStatus,
};
use mock_atria::wire::{CustomerView, Page, PeriodView, SummaryRowView};
use mock_atria::{DEFAULT_TOKEN, MockConfig, spawn};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::common::{fixture_dir, seed, seed_for};

async fn fetch<T: DeserializeOwned>(client: &reqwest::Client, url: String) -> T {
    let response = client.get(url).bearer_auth(DEFAULT_TOKEN).send().await.expect("send");
    assert_eq!(response.status(), 200);
    response.json().await.expect("JSON")
}

async fn fetch_all<T: DeserializeOwned>(client: &reqwest::Client, url: &str, page_size: u32) -> Vec<T> {
    let mut items = Vec::new();
    for page in 1.. {
        let batch: Page<T> = fetch(client, format!("{url}page={page}&pageSize={page_size}")).await;
        let done = batch.items.is_empty() || (page * page_size) as u64 >= batch.total_count;
        items.extend(batch.items);
        if done {
            break;
        }
    }
    items
}

/// What `billsync fetch` does against Atria: current period, customers, summary rows.
async fn rebuild_snapshot(client: &reqwest::Client, base: &str) -> AtriaSnapshot {
    let period: PeriodView = fetch(client, format!("{base}/api/v2/billingperiods/current")).await;
    let customers: Vec<CustomerView> = fetch_all(client, &format!("{base}/api/v2/customers?"), 2).await;
    let rows: Vec<SummaryRowView> =
        fetch_all(client, &format!("{base}/api/billing/{}?aggregateByCustomer=true&", period.end_date), 4)
            .await;
    AtriaSnapshot {
        format: mock_atria::seed::ATRIA_FORMAT.to_owned(),
        period: BillingPeriod {
            start_date: period.start_date,
            end_date: period.end_date,
            status: period.status,
        },
        customers: customers
            .into_iter()
            .map(|customer| AtriaCustomer {
                short_name: customer.short_name,
                name: customer.name,
                billing_identifier: customer.billing_identifier,
                status: if customer.enabled { CustomerStatus::Active } else { CustomerStatus::Deprovisioned },
            })
            .collect(),
        billing: rows
            .into_iter()
            .map(|row| BillingRow {
                customer_code: row.customer_code.unwrap_or_default(),
                product_sku: row.product_sku,
                summary_grouping: row.summary_grouping,
                billable: row.billable,
                last_month_count: u32::try_from(row.last_month_count).expect("fits"),
                this_month_count: u32::try_from(row.this_month_count).expect("fits"),
            })
            .collect(),
    }
}

#[tokio::test]
async fn a_fetch_over_http_rebuilds_the_seed_snapshot() {
    let mock = spawn(MockConfig::from_fixture(&fixture_dir()).expect("fixture")).await.expect("spawn");
    assert!(mock.base_url().starts_with("http://127.0.0.1:"));
    let client = reqwest::Client::new();
    let rebuilt = rebuild_snapshot(&client, &mock.base_url()).await;
    assert_eq!(rebuilt, seed());

    // Every other endpoint answers over the socket too.
    for path in [
        "/api/v2/billingperiods",
        "/api/v2/billingperiods/2026-11-25",
        "/api/v2/billingperiods/resolve?at=2026-11-01",
        "/api/v2/customers/ASP",
        "/api/v2/services",
        "/api/billing/2026-11-25/detail?customer=ASP&billable=true&page=1&pageSize=10",
    ] {
        let response =
            client.get(format!("{}{path}", mock.base_url())).bearer_auth(DEFAULT_TOKEN).send().await;
        assert_eq!(response.expect("send").status(), 200, "{path}");
    }
    let previous = client
        .get(format!("{}/api/v2/billingperiods/previous", mock.base_url()))
        .bearer_auth(DEFAULT_TOKEN)
        .send()
        .await
        .expect("send");
    assert_eq!(previous.status(), 404);
    mock.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn auth_errors_faults_and_controls_over_the_socket() {
    let mock = spawn(MockConfig::from_snapshot(seed())).await.expect("spawn");
    let base = mock.base_url();
    let client = reqwest::Client::new();
    let unauthorised = client.get(format!("{base}/api/v2/customers")).send().await.expect("send");
    assert_eq!(unauthorised.status(), 401);
    let body: serde_json::Value = unauthorised.json().await.expect("JSON");
    assert_eq!(body["error"], "missing_token");

    let rules = json!([
        {"endpoint": "services", "dropConnection": true},
        {"endpoint": "customers", "status": 429, "retryAfterSeconds": 2, "times": 1}
    ]);
    let added = client.post(format!("{base}/__mock/faults")).json(&rules).send().await.expect("send");
    assert_eq!(added.status(), 201);
    let dropped = async {
        let response =
            client.get(format!("{base}/api/v2/services")).bearer_auth(DEFAULT_TOKEN).send().await?;
        response.bytes().await
    };
    assert!(dropped.await.is_err(), "the connection breaks");
    let limited =
        client.get(format!("{base}/api/v2/customers")).bearer_auth(DEFAULT_TOKEN).send().await.expect("send");
    assert_eq!(
        (limited.status().as_u16(), limited.headers().get("retry-after").and_then(|v| v.to_str().ok())),
        (429, Some("2"))
    );
    let retried =
        client.get(format!("{base}/api/v2/customers")).bearer_auth(DEFAULT_TOKEN).send().await.expect("send");
    assert_eq!(retried.status(), 200);

    let stats: serde_json::Value =
        client.get(format!("{base}/__mock/stats")).send().await.expect("send").json().await.expect("JSON");
    assert_eq!(stats["byEndpoint"]["customers"]["GET"], 3);
    assert_eq!(mock.state().stats().total_requests, 4);
    let reset = client.post(format!("{base}/__mock/reset")).send().await.expect("send");
    assert_eq!(reset.status(), 200);
    let clock =
        client.post(format!("{base}/__mock/clock")).json(&json!({"today": "2026-11-01"})).send().await;
    assert_eq!(clock.expect("send").status(), 200);
    assert_eq!(mock.state().clock().to_string(), "2026-11-01");
    let recalculated = client.post(format!("{base}/__mock/recalculate")).send().await.expect("send");
    assert_eq!(recalculated.status(), 200);
    let state = client.get(format!("{base}/__mock/state")).send().await.expect("send");
    assert_eq!(state.status(), 200);
    drop(mock);
    // Dropping the mock stops the server (abort takes effect at the task's next poll, so allow
    // a busy CI machine a moment); new connections are then refused.
    let mut refused = false;
    for _ in 0..100 {
        if reqwest::Client::new().get(format!("{base}/__mock/state")).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(refused, "the server still answers after the mock was dropped");
}

#[tokio::test]
async fn a_folder_of_snapshots_seeds_several_periods() {
    let folder = std::env::temp_dir().join(format!("mock-atria-periods-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("temp dir");
    let write = |name: &str, snapshot: &AtriaSnapshot| {
        std::fs::write(folder.join(name), serde_json::to_vec(snapshot).expect("json")).expect("write");
    };
    let older = seed_for("2026-09-26", "2026-10-25", PeriodStatus::Closed);
    write("2026-10.json", &older);
    write("2026-11.json", &seed());
    std::fs::copy(fixture_dir().join("autotask.json"), folder.join("autotask.json")).expect("copy");
    let loaded = mock_atria::load_fixture(&folder);
    std::fs::write(folder.join("broken.json"), b"{}").expect("write");
    let broken = mock_atria::load_fixture(&folder);
    let _ = std::fs::remove_dir_all(&folder);

    let snapshots = loaded.expect("two periods");
    assert_eq!(snapshots.len(), 2);
    assert!(broken.is_err());
    let mock = spawn(MockConfig::new(snapshots)).await.expect("spawn");
    let client = reqwest::Client::new();
    let periods: Vec<PeriodView> = fetch(&client, format!("{}/api/v2/billingperiods", mock.base_url())).await;
    let ends: Vec<String> =
        periods.iter().map(|p| format!("{}:{:?}:{}", p.end_date, p.status, p.is_current)).collect();
    assert_eq!(ends, vec!["2026-10-25:Closed:false", "2026-11-25:Open:true"]);
    let previous: PeriodView =
        fetch(&client, format!("{}/api/v2/billingperiods/previous", mock.base_url())).await;
    assert_eq!(previous.id, 20261025);
    assert_eq!(rebuild_snapshot(&client, &mock.base_url()).await, seed());
}

#[tokio::test]
async fn spawn_refuses_a_bad_seed() {
    let error = spawn(MockConfig::new(Vec::new())).await.expect_err("no periods");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn the_binary_serves_a_fixture() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-atria"))
        .args(["--fixture", &fixture_dir().display().to_string(), "--port", "0", "--token", "cli-token"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the binary");
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        BufReader::new(stdout).read_line(&mut line).expect("banner");
    }
    let base =
        line.split_whitespace().find(|word| word.starts_with("http://")).unwrap_or_default().to_owned();
    let client = reqwest::Client::new();
    let current =
        client.get(format!("{base}/api/v2/billingperiods/current")).bearer_auth("cli-token").send().await;
    let old_token = client.get(format!("{base}/api/v2/services")).bearer_auth(DEFAULT_TOKEN).send().await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(current.expect("send").status(), 200, "{line}");
    assert_eq!(old_token.expect("send").status(), 401);

    let failed = Command::new(env!("CARGO_BIN_EXE_mock-atria"))
        .args(["--fixture", "/nonexistent-fixture", "--port", "0"])
        .output()
        .expect("run the binary");
    assert!(!failed.status.success());
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains("cannot"),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
}
