//! Real-socket tests: `spawn` on 127.0.0.1:0 and reqwest over loopback, as a real client would.

mod common;

use common::{CODE, SECRET, USER, seed_config};
use mock_autotask::spawn;
use serde_json::{Value as Json, json};

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

fn authed(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    request.header("ApiIntegrationCode", CODE).header("UserName", USER).header("Secret", SECRET)
}

#[tokio::test]
async fn zone_discovery_then_paging_over_loopback() {
    let mock = spawn(seed_config()).await.unwrap();
    let zone: Json = client()
        .get(format!("{}/atservicesrest/v1.0/zoneInformation", mock.base_url()))
        .query(&[("user", USER)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let zone_url = zone["url"].as_str().unwrap().to_owned();
    assert_eq!(zone_url, mock.zone_url());
    assert!(zone_url.ends_with("/ATServicesRest/"));

    let body = json!({ "filter": [{ "op": "exist", "field": "id" }], "MaxRecords": 2 });
    let mut url = format!("{zone_url}V1.0/ContractServiceUnits/query");
    let mut seen = Vec::new();
    loop {
        let response = authed(client().post(&url)).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let page: Json = response.json().await.unwrap();
        seen.extend(common::ids(&page["items"]));
        match page["pageDetails"]["nextPageUrl"].as_str() {
            Some(next) => {
                let by_get = authed(client().get(next)).send().await.unwrap();
                assert_eq!(by_get.status(), 405);
                url = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(seen, vec![6001, 7001, 7002, 7003, 7004, 7005]);
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_drop_connection_fault_gives_the_client_no_answer() {
    let mock = spawn(seed_config()).await.unwrap();
    let rule = json!({ "endpoint": "Companies", "dropConnection": true, "times": 1 });
    let added = client().post(format!("{}/__mock/faults", mock.base_url())).json(&rule).send().await.unwrap();
    assert_eq!(added.status(), 200);
    let url = format!("{}/Companies/29683541", mock.api_url());
    let dropped = match authed(client().get(&url)).send().await {
        Ok(response) => response.bytes().await.map(|_| ()),
        Err(error) => Err(error),
    };
    assert!(dropped.is_err(), "the connection should have dropped");
    let answered = authed(client().get(&url)).send().await.unwrap();
    assert_eq!(answered.status(), 200);
}

#[tokio::test]
async fn a_paused_write_waits_for_release_and_a_killed_client_frees_its_slot() {
    let mock = spawn(seed_config()).await.unwrap();
    let base = mock.base_url();
    let rule = json!({ "endpoint": "ContractServiceAdjustments", "pause": true });
    client().post(format!("{base}/__mock/faults")).json(&rule).send().await.unwrap();
    let adjustment = json!({ "contractServiceID": 5001, "effectiveDate": "2026-11-01", "unitChange": 1 });
    let url = format!("{}/ContractServiceAdjustments", mock.api_url());

    // A client killed while its write is held before handling: the write never happens.
    let killed = tokio::spawn(authed(client().post(&url)).json(&adjustment).send());
    wait_for_paused(&mock, 1).await;
    killed.abort();
    wait_for_paused(&mock, 0).await;

    let waiting = tokio::spawn(authed(client().post(&url)).json(&adjustment).send());
    wait_for_paused(&mock, 1).await;
    let released: Json =
        client().post(format!("{base}/__mock/faults/release")).send().await.unwrap().json().await.unwrap();
    assert_eq!(released, json!({ "released": 1 }));
    let response = waiting.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(mock.state().ledger().len(), 1);
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_client_killed_while_an_after_phase_pause_holds_its_answer_still_wrote() {
    let mock = spawn(seed_config()).await.unwrap();
    let rule = json!({ "endpoint": "ContractServiceAdjustments", "pause": true, "phase": "after" });
    client().post(format!("{}/__mock/faults", mock.base_url())).json(&rule).send().await.unwrap();
    let adjustment = json!({ "contractServiceID": 5001, "effectiveDate": "2026-11-01", "unitChange": 1 });
    let url = format!("{}/ContractServiceAdjustments", mock.api_url());
    let killed = tokio::spawn(authed(client().post(&url)).json(&adjustment).send());
    wait_for_paused(&mock, 1).await;
    killed.abort();
    wait_for_paused(&mock, 0).await;
    assert_eq!(mock.state().ledger().len(), 1);
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-02T00:00:00Z").unwrap().to_utc();
    assert_eq!(mock.state().snapshot().units_at(5001, at), 21);
}

async fn wait_for_paused(mock: &mock_autotask::RunningMock, expected: usize) {
    for _ in 0..400 {
        if mock.state().paused_requests() == expected {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("expected {expected} paused requests, found {}", mock.state().paused_requests());
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let mock = spawn(seed_config()).await.unwrap();
    let url = format!("{}/atservicesrest/versioninformation", mock.base_url());
    assert_eq!(client().get(&url).send().await.unwrap().status(), 200);
    mock.shutdown().await.unwrap();
    assert!(reqwest::Client::new().get(&url).send().await.is_err());
}
