//! Queries per second against a 1M-line in-memory fixture, over real HTTP on loopback, for the
//! indexed filters billsync's fetch and apply use (id, companyID, contractID, contractServiceID,
//! `in` lists). Run with `cargo bench -p mock-autotask`; `BENCH_SECONDS` sets each run's length.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use mock_autotask::entity::{Company, Contract, ContractService, ContractServiceUnit, Service};
use mock_autotask::seed::{AUTOTASK_FORMAT, AutotaskSnapshot};
use mock_autotask::{MockConfig, spawn};
use serde_json::{Value as Json, json};

const COMPANIES: i64 = 10_000;
const LINES_PER_CONTRACT: i64 = 100;
const SERVICES: i64 = 50;
/// Concurrent clients; billsync itself keeps at most 3 in flight per endpoint.
const CLIENTS: usize = 4;

/// 10,000 companies, one Recurring Service contract each, 100 lines per contract (1,000,000
/// ContractServices) and one ContractServiceUnits row per line (1,000,000).
fn million_lines() -> AutotaskSnapshot {
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let end = Utc.with_ymd_and_hms(2027, 12, 31, 0, 0, 0).unwrap();
    let period_start = Utc.with_ymd_and_hms(2026, 10, 26, 0, 0, 0).unwrap();
    let period_end = Utc.with_ymd_and_hms(2026, 11, 25, 23, 59, 59).unwrap();
    let companies = (0..COMPANIES)
        .map(|n| Company {
            id: 1_000_000 + n,
            company_name: format!("Company {n}"),
            company_number: Some(format!("C-{n}")),
            company_type: Some(1),
            is_active: true,
            extra: Default::default(),
        })
        .collect();
    let contracts = (0..COMPANIES)
        .map(|n| Contract {
            id: 2_000_000 + n,
            company_id: 1_000_000 + n,
            contract_name: "Recurring Services".to_owned(),
            contract_number: None,
            contract_type: 7,
            status: 1,
            start_date: start,
            end_date: end,
            extra: Default::default(),
        })
        .collect();
    let services = (0..SERVICES)
        .map(|n| Service {
            id: n + 1,
            name: format!("Service {n}"),
            description: None,
            invoice_description: None,
            unit_price: Some(10.0),
            unit_cost: Some(7.0),
            is_active: true,
            extra: Default::default(),
        })
        .collect();
    let mut contract_services = Vec::with_capacity((COMPANIES * LINES_PER_CONTRACT) as usize);
    let mut units = Vec::with_capacity((COMPANIES * LINES_PER_CONTRACT) as usize);
    for contract in 0..COMPANIES {
        for line in 0..LINES_PER_CONTRACT {
            let id = 10_000_000 + contract * LINES_PER_CONTRACT + line;
            let service_id = line % SERVICES + 1;
            contract_services.push(ContractService {
                id,
                contract_id: 2_000_000 + contract,
                service_id,
                unit_price: Some(10.0),
                unit_cost: Some(7.0),
                invoice_description: None,
                internal_description: None,
                extra: Default::default(),
            });
            units.push(ContractServiceUnit {
                id: id + 20_000_000,
                contract_id: 2_000_000 + contract,
                contract_service_id: id,
                service_id,
                start_date: period_start,
                end_date: period_end,
                units: (line % 40) as u32,
                price: Some(10.0),
                cost: Some(7.0),
                approve_and_post_date: None,
                extra: Default::default(),
            });
        }
    }
    AutotaskSnapshot {
        format: AUTOTASK_FORMAT.to_owned(),
        companies,
        contracts,
        services,
        contract_services,
        contract_service_units: units,
    }
}

/// A cheap deterministic sequence, so every run asks the same queries.
fn pick(counter: u64, modulo: i64) -> i64 {
    (counter.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) >> 33) as i64 % modulo
}

type QueryMaker = fn(u64) -> (&'static str, Json);

fn scenarios() -> Vec<(&'static str, QueryMaker)> {
    vec![
        ("ContractServiceUnits id eq", |n| {
            let id = 30_000_000 + pick(n, COMPANIES * LINES_PER_CONTRACT);
            ("ContractServiceUnits", json!({ "filter": [{ "op": "eq", "field": "id", "value": id }] }))
        }),
        ("Contracts companyID eq", |n| {
            let company = 1_000_000 + pick(n, COMPANIES);
            (
                "Contracts",
                json!({ "filter": [{ "op": "eq", "field": "companyID", "value": company }, { "op": "eq", "field": "contractType", "value": 7 }] }),
            )
        }),
        ("ContractServiceUnits contractServiceID eq", |n| {
            let line = 10_000_000 + pick(n, COMPANIES * LINES_PER_CONTRACT);
            (
                "ContractServiceUnits",
                json!({ "filter": [{ "op": "eq", "field": "contractServiceID", "value": line }] }),
            )
        }),
        ("ContractServices contractID eq (100 rows)", |n| {
            let contract = 2_000_000 + pick(n, COMPANIES);
            (
                "ContractServices",
                json!({ "filter": [{ "op": "eq", "field": "contractID", "value": contract }] }),
            )
        }),
        ("Companies id in 50", |n| {
            let ids: Vec<i64> = (0..50).map(|k| 1_000_000 + pick(n * 50 + k, COMPANIES)).collect();
            ("Companies", json!({ "filter": [{ "op": "in", "field": "id", "value": ids }] }))
        }),
        ("ContractServiceUnits contractServiceID in 500 (500 rows)", |n| {
            let lines: Vec<i64> =
                (0..500).map(|k| 10_000_000 + pick(n * 500 + k, COMPANIES * LINES_PER_CONTRACT)).collect();
            (
                "ContractServiceUnits",
                json!({ "filter": [{ "op": "in", "field": "contractServiceID", "value": lines }] }),
            )
        }),
    ]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let built = Instant::now();
    let mut config = MockConfig::new(million_lines());
    config.limits.hourly_request_limit = u64::MAX;
    config.limits.thread_limit = usize::MAX;
    let mock = spawn(config).await.expect("the mock starts");
    println!("1M-line fixture built and indexed in {:.1} s", built.elapsed().as_secs_f64());
    let client = reqwest::Client::new();
    let api = mock.api_url();
    println!(
        "{:<58} {:>10} {:>10}",
        "query (POST /{E}/query, real HTTP, 4 clients)", "queries/s", "rows/query"
    );
    for (name, make) in scenarios() {
        let done = Arc::new(AtomicU64::new(0));
        let rows = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let started = Instant::now();
        let mut workers = Vec::new();
        for worker in 0..CLIENTS {
            let (client, api, done, rows) =
                (client.clone(), api.clone(), Arc::clone(&done), Arc::clone(&rows));
            workers.push(tokio::spawn(async move {
                let mut n = worker as u64 * 1_000_003;
                while Instant::now() < deadline {
                    n += 1;
                    let (entity, body) = make(n);
                    let response = client
                        .post(format!("{api}/{entity}/query"))
                        .header("ApiIntegrationCode", mock_autotask::state::DEFAULT_INTEGRATION_CODE)
                        .header("UserName", mock_autotask::state::DEFAULT_USERNAME)
                        .header("Secret", mock_autotask::state::DEFAULT_SECRET)
                        .json(&body)
                        .send()
                        .await
                        .expect("the mock answers");
                    assert_eq!(response.status(), 200, "{name}");
                    let page: Json = response.json().await.expect("JSON");
                    rows.fetch_add(page["items"].as_array().map_or(0, Vec::len) as u64, Ordering::Relaxed);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        for worker in workers {
            worker.await.expect("worker");
        }
        let queries = done.load(Ordering::Relaxed);
        let per_second = queries as f64 / started.elapsed().as_secs_f64();
        let rows_per_query = rows.load(Ordering::Relaxed) as f64 / queries.max(1) as f64;
        println!("{name:<58} {per_second:>10.0} {rows_per_query:>10.1}");
    }
    mock.shutdown().await.expect("shutdown");
}
