//! Operations against both in-process mocks over real HTTP: run history (`runs`), notifications,
//! reviewed schedules (`daemon --mode plan`, `approve`), partial apply and revert.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::{Online, stderr, stdout};
use serde_json::Value;

fn run_folders(runs: &Path) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(runs)
        .map(|entries| {
            entries.filter_map(Result::ok).map(|entry| entry.path()).filter(|path| path.is_dir()).collect()
        })
        .unwrap_or_default();
    folders.sort();
    folders
}

fn runs_json(online: &Online) -> Vec<Value> {
    let output = online.run(&["runs", "--runs-dir", &online.arg("runs"), "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    serde_json::from_slice::<Value>(&output.stdout).expect("JSON").as_array().expect("an array").clone()
}

#[test]
fn runs_lists_each_run_with_its_status_counts_and_approver() {
    let online = Online::start("seed-example");
    let runs = online.arg("runs");
    let spec = online.arg("job.yaml");
    let applied = online.run(&[
        "run",
        "--spec",
        &spec,
        "--auto-approve",
        "--approved-by",
        "alice",
        "--runs-dir",
        &runs,
    ]);
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    let again = online.run(&["run", "--spec", &spec, "--auto-approve", "--runs-dir", &runs]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));

    let listed = runs_json(&online);
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0]["status"], "applied");
    assert_eq!(listed[0]["applied"], true);
    assert_eq!(listed[0]["approvedBy"], "alice");
    assert_eq!(listed[0]["mode"], "run");
    assert_eq!(listed[0]["apply"]["applied"], 4);
    assert_eq!(
        listed[0]["counts"]["update"].as_u64().unwrap()
            + listed[0]["counts"]["create"].as_u64().unwrap()
            + listed[0]["counts"]["zero"].as_u64().unwrap(),
        4
    );
    assert_eq!(listed[1]["status"], "no changes");
    assert_eq!(listed[1]["applied"], false);

    let table = online.run(&["runs", "--runs-dir", &runs]);
    let text = stdout(&table);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("WHEN") && lines[0].contains("STATUS") && lines[0].contains("BY"), "{text}");
    assert!(lines[1].contains(" applied ") && lines[1].contains("(4 applied, 0 already done)"), "{text}");
    assert!(lines[1].ends_with("  alice"), "{text}");
    assert!(lines[2].contains("no changes"), "{text}");
    assert!(lines[2].split_whitespace().rev().take(2).eq(["-", "no"]), "{text}");
    assert_eq!(run_folders(&online.path("runs")).len(), 2);

    // A runs folder that does not exist is an error naming it.
    let missing = online.run(&["runs", "--runs-dir", &online.arg("nowhere")]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("nowhere: cannot read the runs folder"), "{}", stderr(&missing));
}

/// A webhook receiver on 127.0.0.1:0 in the test's runtime: its URL (with a secret token in the
/// path, as Slack's and Teams' have) and the JSON bodies it received.
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Value>>>,
}

const WEBHOOK_TOKEN: &str = "T0KEN-canary-8c1f";

impl Receiver {
    fn start(online: &Online) -> Receiver {
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        let app = axum::Router::new().route(
            "/services/{token}",
            axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
                let store = store.clone();
                async move {
                    store.lock().expect("lock").push(body);
                    "ok"
                }
            }),
        );
        let listener =
            online.runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind a port");
        let address = listener.local_addr().expect("address");
        online.runtime.spawn(async move { axum::serve(listener, app).await });
        Receiver { url: format!("http://{address}/services/{WEBHOOK_TOKEN}"), received }
    }

    fn texts(&self) -> Vec<String> {
        let received = self.received.lock().expect("lock");
        received.iter().map(|body| body["text"].as_str().expect("a text field").to_owned()).collect()
    }
}

/// The spec with `notify:` pointing at `BILLSYNC_WEBHOOK`.
fn with_webhook(online: &Online) {
    let spec = std::fs::read_to_string(online.path("job.yaml")).expect("spec");
    let notify = "notify:\n  webhook:\n    url: { env: BILLSYNC_WEBHOOK }\n";
    std::fs::write(online.path("job.yaml"), spec.replacen("atria:", &format!("{notify}atria:"), 1))
        .expect("write");
}

/// Every file under `dir`, read as text where it is text.
fn all_text_under(dir: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).expect("dir").filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            text.push_str(&all_text_under(&path));
        } else if let Ok(content) = std::fs::read_to_string(&path) {
            text.push_str(&content);
        }
    }
    text
}

#[test]
fn a_ready_plan_and_an_apply_are_notified_and_the_url_appears_nowhere() {
    let online = Online::start("seed-example");
    let receiver = Receiver::start(&online);
    with_webhook(&online);
    let runs = online.arg("runs");
    let spec = online.arg("job.yaml");
    let planned = online
        .command(&["run", "--spec", &spec, "--runs-dir", &runs])
        .env("BILLSYNC_WEBHOOK", &receiver.url)
        .output()
        .expect("runs");
    assert_eq!(planned.status.code(), Some(0), "{}", stderr(&planned));
    let texts = receiver.texts();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0].starts_with("**billsync: plan ready for review**"), "{}", texts[0]);
    assert!(
        texts[0].contains("2 update, 1 create, 1 zero") && texts[0].contains("billsync approve"),
        "{}",
        texts[0]
    );
    assert!(online.adjustments_per_line().is_empty());

    let applied = online
        .command(&["run", "--spec", &spec, "--runs-dir", &runs, "--auto-approve", "--approved-by", "bob"])
        .env("BILLSYNC_WEBHOOK", &receiver.url)
        .output()
        .expect("runs");
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    let texts = receiver.texts();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[1].starts_with("**billsync: plan applied**"), "{}", texts[1]);
    assert!(texts[1].contains("4 applied") && texts[1].contains("Approved by bob"), "{}", texts[1]);

    // The URL is a secret: not in any output, run file or message.
    for output in [&planned, &applied] {
        assert!(!stdout(output).contains(WEBHOOK_TOKEN) && !stderr(output).contains(WEBHOOK_TOKEN));
    }
    assert!(!all_text_under(&online.path("runs")).contains(WEBHOOK_TOKEN));
    assert!(texts.iter().all(|text| !text.contains(WEBHOOK_TOKEN)));
}

#[test]
fn a_webhook_that_is_down_neither_blocks_nor_fails_the_run() {
    let online = Online::start("seed-example");
    with_webhook(&online);
    // Nobody listens on this port: every attempt is refused at once, and the run goes on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/services/{WEBHOOK_TOKEN}", listener.local_addr().expect("address"));
    drop(listener);
    let started = std::time::Instant::now();
    let output = online
        .command(&[
            "run",
            "--spec",
            &online.arg("job.yaml"),
            "--runs-dir",
            &online.arg("runs"),
            "--auto-approve",
        ])
        .env("BILLSYNC_WEBHOOK", &url)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("Apply: 4 applied"), "{}", stdout(&output));
    assert!(stderr(&output).contains("warning: notification not sent"), "{}", stderr(&output));
    assert!(!stderr(&output).contains(WEBHOOK_TOKEN), "{}", stderr(&output));
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());

    // Unset, the variable is named and the run still succeeds.
    let output = online
        .command(&["run", "--spec", &online.arg("job.yaml"), "--runs-dir", &online.arg("runs")])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("notify.webhook.url (env `BILLSYNC_WEBHOOK`): not set or empty"),
        "{}",
        stderr(&output)
    );
}

/// Lines touched in the mock's ledger, with the sum of their unit changes.
fn ledger(online: &Online) -> Vec<Value> {
    online.autotask_state()["adjustments"].as_array().expect("adjustments").clone()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "{what} within 30 s");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn a_plan_mode_daemon_applies_nothing_until_approve_and_runs_shows_both() {
    let online = Online::start("seed-example");
    let receiver = Receiver::start(&online);
    with_webhook(&online);
    let spec = std::fs::read_to_string(online.path("job.yaml")).expect("spec");
    std::fs::write(online.path("job.yaml"), spec.replace("\"0 22 26 * *\"", "\"*/2 * * * * *\""))
        .expect("write");
    let runs = online.path("runs");
    // The default mode is plan.
    let daemon = online
        .command(&["daemon", "--spec", &online.arg("job.yaml"), "--runs-dir", &online.arg("runs")])
        .env("BILLSYNC_WEBHOOK", &receiver.url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the daemon starts");
    let planned = |folder: &PathBuf| {
        std::fs::read_to_string(folder.join("run.json"))
            .is_ok_and(|text| text.contains("\"status\": \"planned\""))
    };
    wait_for("a planned run", || run_folders(&runs).iter().any(planned));
    wait_for("the ready notification", || !receiver.texts().is_empty());
    let status =
        std::process::Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let output = daemon.wait_with_output().expect("the daemon exits");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let printed = stdout(&output);
    assert!(printed.contains("mode plan (each plan waits for `billsync approve`)"), "{printed}");
    assert!(printed.contains("Not applied (daemon --mode plan)"), "{printed}");

    // Nothing was applied: the ledger is empty; the run folder holds what a reviewer reads.
    assert!(ledger(&online).is_empty(), "{:?}", ledger(&online));
    let folder = run_folders(&runs).into_iter().find(planned).expect("a planned run");
    for file in ["plan.json", "plan.txt", "plan.md", "plan.html", "plan.csv", "run.json", "log.jsonl"] {
        assert!(folder.join(file).exists(), "{file} is written");
    }
    assert!(receiver.texts()[0].starts_with("**billsync: plan ready for review**"), "{:?}", receiver.texts());
    assert!(receiver.texts()[0].contains(&folder.display().to_string()));

    // approve applies it through apply's path, and records who.
    let approved = online
        .command(&[
            "approve",
            &folder.to_string_lossy(),
            "--spec",
            &online.arg("job.yaml"),
            "--approved-by",
            "carol",
        ])
        .env("BILLSYNC_WEBHOOK", &receiver.url)
        .output()
        .expect("approve runs");
    assert_eq!(approved.status.code(), Some(0), "{}\n{}", stdout(&approved), stderr(&approved));
    assert!(stdout(&approved).contains("Apply: 4 applied"), "{}", stdout(&approved));
    assert_eq!(ledger(&online).len(), 4);
    assert!(online.adjustments_per_line().values().all(|count| *count == 1));
    assert!(folder.join("plan.json.journal.jsonl").exists() && folder.join("apply-log.jsonl").exists());
    let texts = receiver.texts();
    assert!(
        texts
            .last()
            .is_some_and(|text| text.starts_with("**billsync: plan applied**") && text.contains("carol")),
        "{texts:?}"
    );

    // History shows the run planned by the daemon and applied by carol.
    let listed = runs_json(&online);
    let entry = listed
        .iter()
        .find(|run| run["folder"].as_str() == Some(&folder.to_string_lossy()))
        .expect("the approved run is listed");
    assert_eq!((entry["mode"].as_str(), entry["status"].as_str()), (Some("plan"), Some("applied")));
    assert_eq!((entry["applied"].as_bool(), entry["approvedBy"].as_str()), (Some(true), Some("carol")));
    assert!(
        listed
            .iter()
            .filter(|run| *run != entry)
            .all(|run| run["status"] == "planned" && run["applied"] == false)
    );

    // Approving again posts nothing: every line is found done (AT32).
    let again = online.run(&["approve", &folder.to_string_lossy(), "--spec", &online.arg("job.yaml")]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(stdout(&again).contains("Apply: 0 applied, 4 already done"), "{}", stdout(&again));
    assert_eq!(ledger(&online).len(), 4);

    // A folder that is not a run is refused, naming it.
    let not_a_run = online.run(&["approve", &online.arg("nowhere"), "--spec", &online.arg("job.yaml")]);
    assert_eq!(not_a_run.status.code(), Some(1));
    assert!(stderr(&not_a_run).contains("nowhere: not a run folder"), "{}", stderr(&not_a_run));
}

#[test]
fn partial_apply_touches_only_the_named_customer_and_a_later_apply_finishes_the_rest() {
    let online = Online::start("every-code");
    online.plan_from_fixture();
    let plan = billsync::plan::Plan::load(&online.path("plan.json")).expect("plan");
    let lines_of = |keep: &dyn Fn(&str) -> bool| -> std::collections::BTreeSet<i64> {
        plan.actions
            .iter()
            .filter(|action| action.kind.is_change() && keep(&action.customer_code))
            .filter_map(|action| action.contract_service_id)
            .collect()
    };
    let customers: std::collections::BTreeSet<&str> = plan
        .actions
        .iter()
        .filter(|action| action.kind.is_change() && action.contract_service_id.is_some())
        .map(|action| &*action.customer_code)
        .collect();
    assert!(customers.len() >= 2, "the fixture has changes for several customers: {customers:?}");
    let chosen = *customers.iter().next().expect("a customer");
    let apply = |extra: &[&str]| {
        let (plan, spec) = (online.arg("plan.json"), online.arg("job.yaml"));
        let mut args = vec!["apply", plan.as_str(), "--spec", spec.as_str()];
        args.extend_from_slice(extra);
        online.run(&args)
    };

    // A code the plan has no change for is an error, and nothing is sent.
    let typo = apply(&["--customer", "NOPE"]);
    assert_eq!(typo.status.code(), Some(1));
    assert!(
        stderr(&typo).contains("--customer `NOPE`: no change of that customer in the plan"),
        "{}",
        stderr(&typo)
    );
    assert!(ledger(&online).is_empty());

    let partial = apply(&["--customer", chosen]);
    assert!(matches!(partial.status.code(), Some(0 | 3)), "{}\n{}", stdout(&partial), stderr(&partial));
    assert!(stdout(&partial).contains("Left out: "), "{}", stdout(&partial));
    assert!(stdout(&partial).contains("they stay pending"), "{}", stdout(&partial));
    let touched: std::collections::BTreeSet<i64> = ledger(&online)
        .iter()
        .map(|adjustment| adjustment["contractServiceID"].as_i64().expect("a line"))
        .collect();
    assert!(!touched.is_empty());
    // Only the chosen customer's lines (or a line created for it) moved; no other customer's.
    let (chosen_lines, other_lines) = (lines_of(&|code| code == chosen), lines_of(&|code| code != chosen));
    assert!(
        touched.is_disjoint(&other_lines),
        "{chosen}: touched {touched:?}, others' lines {other_lines:?}"
    );
    assert!(
        touched.intersection(&chosen_lines).count() == chosen_lines.len(),
        "{touched:?} {chosen_lines:?}"
    );
    let after_partial = ledger(&online).len();

    // The full apply finishes the rest and posts nothing twice.
    let rest = apply(&[]);
    assert!(matches!(rest.status.code(), Some(0 | 3)), "{}\n{}", stdout(&rest), stderr(&rest));
    assert!(!stdout(&rest).contains("Left out"), "{}", stdout(&rest));
    assert!(ledger(&online).len() > after_partial);
    assert!(
        online.adjustments_per_line().values().all(|count| *count == 1),
        "{:?}",
        online.adjustments_per_line()
    );
    let replan = online.plan_against_mock();
    assert_eq!(replan.summary.update + replan.summary.zero, 0, "converged: {:?}", replan.summary);
}

/// Each changed line of `plan` (a create's by its contract and service) with its units now, at
/// the change's effective date, read from the mock.
fn units_now(online: &Online, plan: &billsync::plan::Plan) -> Vec<(String, i64, u32)> {
    let state = online.autotask_state();
    let snapshot: billsync::snapshot::AutotaskSnapshot =
        serde_json::from_value(state["snapshot"].clone()).expect("the mock's snapshot");
    plan.actions
        .iter()
        .filter(|action| action.kind.is_change())
        .map(|action| {
            let line = action
                .contract_service_id
                .or_else(|| {
                    snapshot
                        .contract_services
                        .iter()
                        .find(|line| {
                            Some(line.contract_id) == action.contract_id
                                && Some(line.service_id) == action.service_id
                        })
                        .map(|line| line.id)
                })
                .unwrap_or(-1);
            let units =
                if line < 0 { 0 } else { snapshot.units_at(line, action.effective_date.expect("a date")) };
            (action.customer_code.to_string(), line, units)
        })
        .collect()
}

#[test]
fn apply_then_revert_then_apply_puts_every_touched_line_back() {
    let online = Online::start("seed-example");
    online.plan_from_fixture();
    let plan = billsync::plan::Plan::load(&online.path("plan.json")).expect("plan");
    let before = units_now(&online, &plan);
    let applied = online.apply();
    assert_eq!(applied.status.code(), Some(0), "{}\n{}", stdout(&applied), stderr(&applied));
    let after_apply = units_now(&online, &plan);
    assert_ne!(before, after_apply);
    let adjustments_after_apply = ledger(&online).len();

    // Revert, reading the lines now from Autotask (fetched from the mock).
    let reverted = online.run(&[
        "revert",
        &online.arg("plan.json"),
        "--spec",
        &online.arg("job.yaml"),
        "--out",
        &online.arg("reversal.json"),
    ]);
    assert_eq!(reverted.status.code(), Some(0), "{}", stderr(&reverted));
    assert!(stdout(&reverted).contains("0 refused"), "{}", stdout(&reverted));
    let reversal = billsync::plan::Plan::load(&online.path("reversal.json")).expect("a normal plan");
    assert_eq!(reversal.summary.changes(), plan.summary.changes(), "{:?}", reversal.summary);
    for (original, opposite) in plan.actions.iter().filter(|a| a.kind.is_change()).zip(&reversal.actions) {
        assert_eq!(opposite.effective_date, original.effective_date);
        assert_eq!(opposite.from, original.to);
        assert_eq!(opposite.to, Some(original.from.unwrap_or(0)));
        assert!(opposite.contract_service_id.is_some(), "a created line is found: {opposite:?}");
    }
    // It reviews like any plan.
    let shown = online.run(&["show", &online.arg("reversal.json")]);
    assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));

    let undone = online.run(&["apply", &online.arg("reversal.json"), "--spec", &online.arg("job.yaml")]);
    assert_eq!(undone.status.code(), Some(0), "{}\n{}", stdout(&undone), stderr(&undone));
    // Every touched line is at its units before the first apply (a created line at 0), by one
    // opposing adjustment each.
    let after_revert = units_now(&online, &plan);
    let expected: Vec<(String, i64, u32)> = before
        .iter()
        .zip(&after_revert)
        .map(|((customer, _, units), (_, line, _))| (customer.clone(), *line, *units))
        .collect();
    assert_eq!(after_revert, expected);
    assert_eq!(ledger(&online).len(), 2 * adjustments_after_apply);
}

#[test]
fn revert_refuses_a_line_that_moved_since_and_reads_a_snapshot_offline() {
    let online = Online::start("seed-example");
    online.plan_from_fixture();
    let applied = online.apply();
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    // Someone adds 2 units to Azure Backup (line 5004) after the apply.
    online.send_as_api_user(
        reqwest::Method::POST,
        "/ATServicesRest/V1.0/ContractServiceAdjustments",
        Some(serde_json::json!({"contractID": 992, "contractServiceID": 5004, "serviceID": 40,
            "effectiveDate": "2026-10-26T00:00:00Z", "unitChange": 2})),
    );
    let state = online.autotask_state();
    std::fs::write(online.path("autotask-now.json"), serde_json::to_vec(&state["snapshot"]).expect("json"))
        .expect("write");
    let adjustments = ledger(&online).len();
    let reverted = online.run(&[
        "revert",
        &online.arg("plan.json"),
        "--spec",
        &online.arg("job.yaml"),
        "--out",
        &online.arg("reversal.json"),
        "--autotask",
        &online.arg("autotask-now.json"),
        "--as-of",
        "2026-11-30T00:00:00Z",
    ]);
    assert_eq!(reverted.status.code(), Some(0), "{}", stderr(&reverted));
    assert!(stdout(&reverted).contains("1 refused"), "{}", stdout(&reverted));
    assert!(stdout(&reverted).contains("Contract line 5004"), "{}", stdout(&reverted));
    let reversal = billsync::plan::Plan::load(&online.path("reversal.json")).expect("plan");
    let refused: Vec<_> = reversal.actions.iter().filter(|a| a.code == billsync::codes::Code::AT29).collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].contract_service_id, Some(5004));
    assert_eq!(refused[0].kind, billsync::plan::ActionKind::Skip);
    // Offline: nothing was sent.
    assert_eq!(ledger(&online).len(), adjustments);

    // A damaged snapshot names its file; nothing is written.
    std::fs::write(online.path("broken.json"), "{").expect("write");
    let broken = online.run(&[
        "revert",
        &online.arg("plan.json"),
        "--spec",
        &online.arg("job.yaml"),
        "--out",
        &online.arg("reversal2.json"),
        "--autotask",
        &online.arg("broken.json"),
    ]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(stderr(&broken).contains("broken.json"), "{}", stderr(&broken));
    assert!(!online.path("reversal2.json").exists());
}

#[test]
fn run_folders_are_named_in_the_specs_zone_and_apply_of_a_runs_plan_is_recorded() {
    let online = Online::start("seed-example");
    let spec = std::fs::read_to_string(online.path("job.yaml")).expect("spec");
    std::fs::write(
        online.path("job.yaml"),
        spec.replace("schedule:", "timezone: Australia/Sydney\nschedule:"),
    )
    .expect("write");
    let planned = online.run(&["run", "--spec", &online.arg("job.yaml"), "--runs-dir", &online.arg("runs")]);
    assert_eq!(planned.status.code(), Some(0), "{}", stderr(&planned));
    let folders = run_folders(&online.path("runs"));
    assert_eq!(folders.len(), 1);
    let name = folders[0].file_name().expect("a name").to_string_lossy().into_owned();
    // Sydney is 10 or 11 hours ahead of UTC, depending on the season.
    assert!(name.ends_with("+1100") || name.ends_with("+1000"), "{name}");
    let listed = runs_json(&online);
    let offset = &name[name.len() - 5..];
    let started = listed[0]["startedAt"].as_str().expect("a time");
    assert!(started.ends_with(&format!("{}:{}", &offset[..3], &offset[3..])), "{started} in {name}");
    assert_eq!(
        (listed[0]["status"].as_str(), listed[0]["applied"].as_bool()),
        (Some("planned"), Some(false))
    );

    // `billsync apply` of a run's plan is that run's approval too.
    let plan = folders[0].join("plan.json");
    let applied = online.run(&[
        "apply",
        &plan.to_string_lossy(),
        "--spec",
        &online.arg("job.yaml"),
        "--approved-by",
        "dave",
    ]);
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    let listed = runs_json(&online);
    assert_eq!(
        (listed[0]["status"].as_str(), listed[0]["approvedBy"].as_str()),
        (Some("applied"), Some("dave"))
    );
    assert_eq!(listed[0]["apply"]["applied"], 4);
}
