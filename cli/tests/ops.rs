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
