//! A real Autotask client written by others drives the mock over HTTP on loopback: npm
//! `@apigrate/autotask-restapi` 2.0.1, pinned in `tests/real-client/package-lock.json`, installed
//! here with `npm ci` when `node_modules` is missing, unmodified but for its base URL. The script
//! `tests/real-client/scenario.js` makes the calls; this test checks their answers and the mock's
//! ledger. Node 18 or later and npm must be on the PATH (CI reaches the npm registry).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mock_autotask::state::{DEFAULT_INTEGRATION_CODE, DEFAULT_SECRET, DEFAULT_USERNAME};
use mock_autotask::{MockConfig, spawn};
use serde_json::{Value as Json, json};

fn client_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/real-client")
}

/// `npm ci` from the committed lock file, unless the client is installed already.
fn install(dir: &Path) {
    if dir.join("node_modules/@apigrate/autotask-restapi/package.json").is_file() {
        return;
    }
    let output = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .output()
        .unwrap_or_else(|err| panic!("npm is needed to install the real client: {err}"));
    assert!(
        output.status.success(),
        "npm ci in {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apigrate_autotask_restapi_queries_creates_and_updates_through_the_mock() {
    let dir = client_dir();
    tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || install(&dir)
    })
    .await
    .expect("install");

    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/seed-example");
    let config = MockConfig::from_fixture(&fixture)
        .expect("the seed fixture")
        .with_threshold_latency(Duration::ZERO, Duration::ZERO);
    let mock = spawn(config).await.expect("the mock starts");
    let base = mock.base_url();

    let run = tokio::process::Command::new("node")
        .arg("scenario.js")
        .args([base.as_str(), DEFAULT_USERNAME, DEFAULT_SECRET, DEFAULT_INTEGRATION_CODE])
        .current_dir(&dir)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the scenario ends within 60 s")
        .unwrap_or_else(|err| panic!("node is needed to run the real client: {err}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "scenario.js failed:\n{stderr}");
    let out: Json = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("scenario.js printed no JSON ({err}):\n{stderr}"));

    // Zone discovery without credentials, then everything under the zone's URL.
    assert_eq!(out["zone"]["url"], format!("{base}/ATServicesRest/"));
    let company = &out["company"]["ok"]["item"];
    assert_eq!(
        (company["id"].clone(), company["companyName"].clone()),
        (json!(29683541), json!("ASP Cloud"))
    );
    assert_eq!(company["userDefinedFields"], json!([]));
    assert_eq!(out["missingCompany"], json!({ "ok": null }), "the client reads a 404 as null");

    let contracts = out["recurringContracts"]["ok"]["items"].as_array().expect("items");
    let ids: Vec<i64> = contracts.iter().map(|item| item["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [991, 992, 994]);
    for item in contracts {
        let mut keys: Vec<&str> = item.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["companyID", "contractName", "id", "userDefinedFields"], "IncludeFields honoured");
    }
    assert_eq!(out["linesOn991"]["ok"], json!({ "queryCount": 2 }));
    let first_page = &out["firstLinePage"]["ok"];
    assert_eq!(first_page["pageDetails"]["count"], 2);
    assert!(
        first_page["pageDetails"]["nextPageUrl"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{base}/ATServicesRest/V1.0/ContractServices/query/next?paging="))
    );
    let fields: Vec<&str> = out["contractFields"]["ok"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|field| field["name"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"contractType") && fields.contains(&"isDefaultContract"), "{fields:?}");

    // The writes, sent with numbers as strings, land as numbers.
    assert_eq!(out["createdLine"]["ok"], json!({ "itemId": 5006 }));
    assert_eq!(out["adjustment"]["ok"], json!({ "itemId": 1 }));
    assert_eq!(out["updatedLine"]["ok"], json!({ "itemId": 5006 }));
    let line = &out["line"]["ok"]["item"];
    // Numbers come back through JavaScript, where 3.0 prints as 3: compare them as numbers.
    let number = |value: &Json| value.as_f64();
    assert_eq!(
        [
            number(&line["contractID"]),
            number(&line["serviceID"]),
            number(&line["unitPrice"]),
            number(&line["adjustedPrice"])
        ],
        [Some(994.0), Some(31.0), Some(3.0), Some(2.5)],
        "an update changes adjustedPrice and invoiceDescription, never unitPrice"
    );
    assert_eq!(line["invoiceDescription"], "Defender for Business");
    let rows = out["units"]["ok"]["items"].as_array().expect("units rows");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((number(&rows[0]["units"]), number(&rows[0]["price"])), (Some(6.0), Some(2.75)));
    assert_eq!(
        (&rows[0]["startDate"], &rows[0]["endDate"]),
        (&json!("2026-10-26T00:00:00Z"), &json!("2026-11-25T00:00:00Z")),
        "the new row runs to the end of the period of the contract's other lines"
    );

    // Refusals, as the client surfaces them.
    assert_eq!(out["badCompany"]["error"]["status"], 500);
    assert_eq!(out["badCompany"]["error"]["details"], json!({ "errors": ["companyName is required."] }));
    assert_eq!(out["deleteCompany"]["error"]["status"], 405);
    assert_eq!(out["wrongSecret"]["error"]["status"], 401);

    // The ledger: exactly the three writes, in order, with the bodies the client sent.
    let ledger = mock.state().ledger();
    let shape: Vec<(&str, &str, i64)> =
        ledger.iter().map(|entry| (entry.method.as_str(), entry.path.as_str(), entry.item_id)).collect();
    assert_eq!(
        shape,
        [
            ("POST", "/ATServicesRest/V1.0/Contracts/994/Services", 5006),
            ("POST", "/ATServicesRest/V1.0/Contracts/994/ServiceAdjustments", 1),
            ("PATCH", "/ATServicesRest/V1.0/Contracts/994/Services", 5006),
        ]
    );
    assert_eq!(ledger[0].body["serviceID"], "31");
    assert_eq!(ledger[1].body["adjustedUnitPrice"], "2.75");
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z").unwrap().to_utc();
    assert_eq!(mock.state().snapshot().units_at(5006, at), 6);
    mock.shutdown().await.expect("shutdown");
}
