//! `billsync apply` against the in-process Autotask mock over real HTTP: convergence,
//! idempotence, crashes at many points, faults, drift, call counts and secrets.

mod common;

use std::collections::BTreeMap;

use common::{Online, stderr, stdout};
use proptest::prelude::*;
use serde_json::json;

/// The seed example's targets after apply: contract line → units at the period start.
fn seed_targets(online: &Online) -> BTreeMap<(i64, i64), u32> {
    let state = online.autotask_state();
    let snapshot: billsync::snapshot::AutotaskSnapshot =
        serde_json::from_value(state["snapshot"].clone()).expect("the mock's state is a snapshot");
    let at = "2026-10-26T00:00:00Z".parse().expect("time");
    snapshot
        .contract_services
        .iter()
        .filter(|line| [991, 992].contains(&line.contract_id))
        .map(|line| ((line.contract_id, line.service_id), snapshot.units_at(line.id, at)))
        .collect()
}

fn expected_targets() -> BTreeMap<(i64, i64), u32> {
    BTreeMap::from([((991, 12), 25), ((991, 17), 0), ((991, 31), 4), ((992, 12), 10), ((992, 40), 5)])
}

/// Converged: the units are the plan's targets, every line got one adjustment, one new line.
fn assert_converged(online: &Online) {
    assert_eq!(seed_targets(online), expected_targets());
    let per_line = online.adjustments_per_line();
    assert_eq!(per_line.len(), 4, "four lines adjusted: {per_line:?}");
    assert!(per_line.values().all(|count| *count == 1), "each adjustment once: {per_line:?}");
    let created = online.autotask_state()["ledger"]
        .as_array()
        .expect("ledger")
        .iter()
        .filter(|entry| entry["entity"] == "ContractServices" && entry["method"] == "POST")
        .count();
    assert_eq!(created, 1, "one contract line created");
    assert!(!online.plan_against_mock().has_changes(), "a new plan has nothing left to change");
}

#[test]
fn an_apply_whose_output_is_closed_still_finishes_and_writes_its_log() {
    let online = Online::start("seed-example");
    online.plan_from_fixture();
    // Pipes whose reading ends are gone, as under `billsync apply … 2>&1 | head -0`: every print
    // fails with a broken pipe. The lines are lost; the apply, its log file and its exit code not.
    let (stdout_reader, stdout_writer) = std::io::pipe().expect("a pipe");
    let (stderr_reader, stderr_writer) = std::io::pipe().expect("a pipe");
    drop((stdout_reader, stderr_reader));
    let log = online.arg("log.jsonl");
    let status = online
        .command(&["apply", &online.arg("plan.json"), "--spec", &online.arg("job.yaml"), "--log", &log])
        .stdout(stdout_writer)
        .stderr(stderr_writer)
        .status()
        .expect("billsync runs");
    assert_eq!(status.code(), Some(0), "not a panic's 101");
    assert_converged(&online);
    let log = std::fs::read_to_string(online.path("log.jsonl")).expect("the log was written");
    // Writes run three at a time: their entries come in the order the answers came.
    let mut logged: Vec<&str> = log
        .lines()
        .filter_map(|line| ["AT09", "AT11", "AT13", "AT24"].into_iter().find(|code| line.contains(code)))
        .collect();
    logged.sort_unstable();
    assert_eq!(logged, ["AT09", "AT09", "AT11", "AT13", "AT24"], "{log}");
    assert!(log.lines().last().is_some_and(|line| line.contains("status Success")), "{log}");
}

#[test]
fn plan_apply_plan_converges_and_a_second_apply_posts_nothing() {
    let online = Online::start("seed-example");
    online.plan_from_fixture();
    let output = online.apply();
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));
    assert!(stdout(&output).contains("Apply: 4 applied, 0 already done, 0 refused"), "{}", stdout(&output));
    assert_converged(&online);
    let ledger_before = online.autotask_state()["ledger"].as_array().expect("ledger").len();

    let again = online.apply();
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(stdout(&again).matches(" AT32 ").count(), 4, "{}", stdout(&again));
    assert_eq!(
        online.autotask_state()["ledger"].as_array().expect("ledger").len(),
        ledger_before,
        "nothing posted"
    );

    let log = std::fs::read_to_string(online.path("log.jsonl")).expect("--log written");
    assert!(log.lines().all(|line| serde_json::from_str::<serde_json::Value>(line).is_ok()));
    assert!(log.contains("\"code\":\"AT32\""));
}

#[test]
fn a_crash_at_any_point_then_a_rerun_applies_everything_exactly_once() {
    let online = Online::start("seed-example");
    online.plan_from_fixture();
    // Hold a write, kill apply while it waits, let the write go on, and apply again.
    let mut kill_points = Vec::new();
    for after in 0..4 {
        for phase in ["before", "after"] {
            kill_points.push(json!({"endpoint": "ContractServiceAdjustments", "method": "POST", "pause": true, "times": 1, "afterRequests": after, "phase": phase}));
        }
    }
    for phase in ["before", "after"] {
        kill_points.push(json!({"endpoint": "ContractServices", "method": "POST", "pause": true, "times": 1, "phase": phase}));
    }
    kill_points
        .push(json!({"endpoint": "ContractServiceUnits", "pause": true, "times": 1, "afterRequests": 1}));
    kill_points.push(json!({"endpoint": "ThresholdInformation", "pause": true, "times": 1}));
    for rule in kill_points {
        online.reset();
        online.faults(rule.clone());
        let mut child = online.spawn_apply();
        online.wait_for_pause();
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        online.clear_faults();
        let rerun = online.apply();
        assert_eq!(rerun.status.code(), Some(0), "after {rule}: {}\n{}", stdout(&rerun), stderr(&rerun));
        assert_converged(&online);
    }
}

#[test]
fn a_line_changed_after_the_plan_is_refused_and_the_rest_applies() {
    let online = Online::start("seed-example");
    online.plan_from_fixture();
    // Someone adds 1 unit to Azure Backup (line 5004, planned 3 → 5) between plan and apply: it
    // holds neither the plan's `from` nor its `to`.
    online.send_as_api_user(
        reqwest::Method::POST,
        "/ATServicesRest/V1.0/ContractServiceAdjustments",
        Some(json!({"contractID": 992, "contractServiceID": 5004, "serviceID": 40, "effectiveDate": "2026-10-26T00:00:00Z", "unitChange": 1})),
    );
    let output = online.apply();
    assert_eq!(output.status.code(), Some(3), "{}\n{}", stdout(&output), stderr(&output));
    assert!(stdout(&output).contains(" AT29 "), "{}", stdout(&output));
    assert!(stdout(&output).contains("Apply: 3 applied, 0 already done, 1 refused"), "{}", stdout(&output));
    let targets = seed_targets(&online);
    assert_eq!(targets[&(992, 40)], 4, "3 + 1 by someone else; not touched by apply");
    assert_eq!(targets[&(991, 12)], 25);
}

#[test]
fn faults_at_a_rate_still_converge_without_duplicates() {
    let online = Online::start("seed-example");
    online.plan_from_fixture();
    online.faults(json!([
        {"endpoint": "ContractServiceAdjustments", "method": "POST", "status": 503, "rate": 0.3, "phase": "after"},
        {"endpoint": "ContractServiceAdjustments", "method": "POST", "status": 429, "rate": 0.2},
        {"endpoint": "ContractServiceUnits", "dropConnection": true, "rate": 0.2},
        {"endpoint": "*", "latencyMs": 5, "rate": 0.5}
    ]));
    converge(&online);
    assert_converged(&online);
}

/// Applies until apply exits 0, at most a few times.
fn converge(online: &Online) {
    for _ in 0..6 {
        let output = online.apply();
        if output.status.code() == Some(0) {
            online.clear_faults();
            return;
        }
    }
    online.clear_faults();
    let output = online.apply();
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn random_fault_schedules_converge(
        status in prop::sample::select(vec![500u16, 502, 503, 429]),
        rate in 0.1f64..0.5,
        drop_reads in any::<bool>(),
        after_write in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let online = Online::start("seed-example");
        online.plan_from_fixture();
        let _ = seed;
        // Autotask's 429 is a refusal before any work (its thread and hourly limits), so only
        // a 5xx stands for an answer lost after the write was made.
        let phase = if after_write && status != 429 { "after" } else { "before" };
        online.faults(json!([
            {"endpoint": "ContractServiceAdjustments", "method": "POST", "status": status, "rate": rate, "phase": phase},
            {"endpoint": "ContractServiceUnits", "dropConnection": drop_reads, "status": if drop_reads { serde_json::Value::Null } else { json!(503) }, "rate": rate / 2.0},
        ]));
        converge(&online);
        assert_converged(&online);
    }
}

#[test]
fn api_calls_stay_within_the_budget() {
    let online = Online::start("seed-example");
    online.plan_from_fixture();
    let output = online.apply();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stats = online.get("/__mock/stats");
    let total = stats["total"].as_u64().expect("total");
    // W writes (4 adjustments + 1 line) + 2·⌈T/500⌉ reads (refresh and verification of the
    // touched lines) + ⌈C/500⌉ (the lines of the C contracts with a planned create), plus zone
    // and threshold.
    let writes = 5;
    let touched: u64 = 4;
    let create_contracts: u64 = 1;
    let allowed = writes + 2 * touched.div_ceil(500) + create_contracts.div_ceil(500) + 2;
    assert!(total <= allowed, "{total} calls > {allowed}: {stats}");
}

#[test]
fn wrong_credentials_are_at02_and_no_secret_is_ever_printed() {
    let online = Online::start("seed-example");
    online.plan_from_fixture();
    let canary = "canary-3b8f1c2e";
    let output = online
        .command(&[
            "apply",
            &online.arg("plan.json"),
            "--spec",
            &online.arg("job.yaml"),
            "--log",
            &online.arg("log.jsonl"),
        ])
        .env("AUTOTASK_SECRET", canary)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("AT02"), "{}", stderr(&output));
    for text in [stdout(&output), stderr(&output)] {
        assert!(!text.contains(canary), "{text}");
    }
    for file in ["plan.json", "plan.json.journal.jsonl", "log.jsonl", "job.yaml"] {
        let text = std::fs::read_to_string(online.path(file)).unwrap_or_default();
        assert!(!text.contains(canary), "{file} holds the secret");
    }
    assert!(online.adjustments_per_line().is_empty(), "nothing written");
}

#[test]
fn a_zone_outside_the_allowed_hosts_gets_no_credentials() {
    let online = Online::start("seed-example");
    online.plan_from_fixture();
    // The zone answer names the mock by `localhost`; pointing baseUrl at a foreign host is refused.
    let spec = std::fs::read_to_string(online.path("job.yaml")).expect("spec");
    std::fs::write(
        online.path("job.yaml"),
        spec.replace(
            "  baseUrl: \"\"\n  zoneUser",
            "  baseUrl: \"https://billing.example.com/ATServicesRest/\"\n  zoneUser",
        ),
    )
    .expect("write");
    let output = online.apply();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("may not receive the Autotask credentials"), "{}", stderr(&output));
    assert_eq!(online.get("/__mock/stats")["total"].as_u64(), Some(0), "no request reached Autotask");
}

#[test]
fn rejected_writes_are_at33_and_at14_and_exit_1() {
    let online = Online::start("seed-example");
    online.plan_from_fixture();
    online.faults(json!([
        {"endpoint": "ContractServiceAdjustments", "method": "POST", "status": 500,
         "body": {"errors": ["The adjustment's effective date falls in a posted period"]}},
        // The first POST to ContractServices is the refresh's query of the lines; the create
        // comes after it.
        {"endpoint": "ContractServices", "method": "POST", "status": 400, "afterRequests": 1,
         "body": {"errors": ["Service is inactive"]}}
    ]));
    let output = online.apply();
    assert_eq!(output.status.code(), Some(1), "{}\n{}", stdout(&output), stderr(&output));
    let text = stdout(&output);
    assert_eq!(text.matches(" AT33 ").count(), 3, "{text}");
    assert!(text.contains("posted period"), "{text}");
    assert_eq!(text.matches(" AT14 ").count(), 1, "{text}");
    assert!(
        text.contains("Apply: 0 applied, 0 already done, 0 refused (line changed since the plan), 4 failed"),
        "{text}"
    );
    assert!(online.adjustments_per_line().is_empty(), "nothing was written");
}
