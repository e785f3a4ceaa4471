//! Operations against both in-process mocks over real HTTP: run history (`runs`), notifications,
//! reviewed schedules (`daemon --mode plan`, `approve`), partial apply and revert.

mod common;

use std::path::{Path, PathBuf};

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
