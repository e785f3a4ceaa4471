//! `billsync run`, `schedule` and `daemon` against both in-process mocks over real HTTP.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Online, stderr, stdout};

fn run_folders(runs: &Path) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(runs)
        .map(|entries| {
            entries.filter_map(Result::ok).map(|entry| entry.path()).filter(|path| path.is_dir()).collect()
        })
        .unwrap_or_default();
    folders.sort();
    folders
}

#[test]
fn run_fetches_plans_applies_and_keeps_everything_in_its_folder() {
    let online = Online::start("seed-example");
    let runs = online.arg("runs");
    let output =
        online.run(&["run", "--spec", &online.arg("job.yaml"), "--auto-approve", "--runs-dir", &runs]);
    assert_eq!(output.status.code(), Some(0), "{}\n{}", stdout(&output), stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("~ update    AT09  Microsoft 365 Business Premium (service 12)"), "{text}");
    assert!(text.contains("Apply: 4 applied"), "{text}");
    let folders = run_folders(&online.path("runs"));
    assert_eq!(folders.len(), 1);
    for file in
        ["atria.json", "autotask.json", "plan.json", "plan.txt", "plan.json.journal.jsonl", "log.jsonl"]
    {
        assert!(folders[0].join(file).exists(), "{file} is kept");
    }
    let log = std::fs::read_to_string(folders[0].join("log.jsonl")).expect("log");
    assert!(log.lines().next().is_some_and(|line| line.contains("\"code\":\"AT22\"")), "{log}");
    assert!(log.contains("\"code\":\"AT24\""));

    // The second run finds nothing to change.
    let again =
        online.run(&["run", "--spec", &online.arg("job.yaml"), "--auto-approve", "--runs-dir", &runs]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(stdout(&again).contains("Plan: 0 update, 0 create, 0 zero"), "{}", stdout(&again));
    assert!(stdout(&again).contains("No changes to apply."));
    assert_eq!(run_folders(&online.path("runs")).len(), 2);
}

#[test]
fn run_without_a_terminal_or_auto_approve_only_plans() {
    let online = Online::start("seed-example");
    let runs = online.arg("runs");
    let output = online.run(&["run", "--spec", &online.arg("job.yaml"), "--runs-dir", &runs]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("Not applied"), "{}", stdout(&output));
    assert!(online.adjustments_per_line().is_empty());
}

#[test]
fn schedule_prints_the_next_runs() {
    let online = Online::start("seed-example");
    let output = online.run(&[
        "schedule",
        "--spec",
        &online.arg("job.yaml"),
        "--next",
        "3",
        "--from",
        "2026-11-24T22:00:00Z",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.starts_with("0 22 26 * * (UTC), next 3 runs after 2026-11-24T22:00:00Z:"), "{text}");
    assert!(
        text.contains(
            "  2026-11-26 22:00 +00:00 Thu (2026-11-26T22:00:00Z)\n  2026-12-26 22:00 +00:00 Sat (2026-12-26T22:00:00Z)\n  2027-01-26 22:00 +00:00 Tue (2027-01-26T22:00:00Z)\n"
        ),
        "{text}"
    );

    let spec = std::fs::read_to_string(online.path("job.yaml")).expect("spec");
    std::fs::write(online.path("job.yaml"), spec.replace("\"0 22 26 * *\"", "\"30 15 8 * * MON\""))
        .expect("write");
    let output = online.run(&[
        "schedule",
        "--spec",
        &online.arg("job.yaml"),
        "--next",
        "2",
        "--from",
        "2026-11-24T22:00:00Z",
    ]);
    assert!(
        stdout(&output).contains(
            "  2026-11-30 08:15:30 +00:00 Mon (2026-11-30T08:15:30Z)\n  2026-12-07 08:15:30 +00:00 Mon (2026-12-07T08:15:30Z)\n"
        ),
        "{}",
        stdout(&output)
    );
}

#[test]
fn schedule_prints_each_run_in_the_specs_zone_with_its_offset_and_in_utc() {
    let online = Online::start("seed-example");
    let spec = std::fs::read_to_string(online.path("job.yaml")).expect("spec");
    let zoned = spec.replace("schedule:", "timezone: Australia/Sydney\nschedule:");
    std::fs::write(online.path("job.yaml"), &zoned).expect("write");
    let schedule = |from: &str| {
        online.run(&["schedule", "--spec", &online.arg("job.yaml"), "--next", "2", "--from", from])
    };
    let output = schedule("2026-11-24T22:00:00Z");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.starts_with("0 22 26 * * (Australia/Sydney), next 2 runs after"), "{text}");
    // Daylight time in Sydney's summer, then standard time after the April change.
    assert!(text.contains("  2026-11-26 22:00 +11:00 Thu (2026-11-26T11:00:00Z)\n"), "{text}");
    // Sydney leaves daylight time on 2027-04-04: same wall clock, one hour later in UTC.
    let autumn = stdout(&schedule("2027-03-01T00:00:00Z"));
    assert!(
        autumn.contains(
            "  2027-03-26 22:00 +11:00 Fri (2027-03-26T11:00:00Z)\n  2027-04-26 22:00 +10:00 Mon (2027-04-26T12:00:00Z)\n"
        ),
        "{autumn}"
    );

    // A zone that does not exist is named with its line, and nothing runs.
    std::fs::write(online.path("job.yaml"), zoned.replace("Australia/Sydney", "Australia/Sydnee"))
        .expect("write");
    let output = schedule("2026-11-24T22:00:00Z");
    assert_eq!(output.status.code(), Some(1));
    let error = stderr(&output);
    assert!(error.contains("job.yaml") && error.contains("$.timezone"), "{error}");
    assert!(error.contains("`Australia/Sydnee` is not an IANA time zone name"), "{error}");
}

#[test]
fn the_daemon_runs_on_schedule_one_at_a_time_and_stops_on_sigterm() {
    let online = Online::start("seed-example");
    let spec = std::fs::read_to_string(online.path("job.yaml")).expect("spec");
    std::fs::write(online.path("job.yaml"), spec.replace("\"0 22 26 * *\"", "\"*/2 * * * * *\""))
        .expect("write");
    let runs = online.path("runs");
    let daemon = online.spawn(&[
        "daemon",
        "--spec",
        &online.arg("job.yaml"),
        "--runs-dir",
        &online.arg("runs"),
        "--mode",
        "apply",
    ]);
    let started = Instant::now();
    while run_folders(&runs).iter().filter(|folder| folder.join("log.jsonl").exists()).count() < 2 {
        assert!(started.elapsed() < Duration::from_secs(30), "two runs within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let status =
        std::process::Command::new("kill").args(["-TERM", &daemon.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let output = daemon.wait_with_output().expect("the daemon exits");
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("Stopping: signal received"));
    // The unattended mode is stated for the daemon and for every run.
    assert!(printed.contains("mode apply (each plan is applied without review)"), "{printed}");
    let runs_started =
        printed.lines().filter(|line| line.starts_with("Run ") && !line.starts_with("Run finished")).count();
    let stated = printed.lines().filter(|line| line.starts_with("Mode: apply (daemon --mode apply)")).count();
    assert!(runs_started >= 2 && stated == runs_started, "{printed}");

    // Runs never overlap: each starts after the previous one's log was complete.
    let folders: Vec<PathBuf> =
        run_folders(&runs).into_iter().filter(|folder| folder.join("log.jsonl").exists()).collect();
    assert!(folders.len() >= 2);
    let modified = |path: PathBuf| std::fs::metadata(path).and_then(|meta| meta.modified()).expect("mtime");
    for pair in folders.windows(2) {
        assert!(modified(pair[0].join("log.jsonl")) <= modified(pair[1].join("atria.json")), "{pair:?}");
    }
    // The first run applied; later ones found nothing to do.
    assert!(online.adjustments_per_line().values().all(|count| *count == 1));
}

#[test]
fn one_run_and_one_daemon_at_a_time_per_runs_folder() {
    let online = Online::start("seed-example");
    let runs = online.path("runs");
    std::fs::create_dir_all(&runs).expect("runs");
    // Another process's run holds the lock: this run must not plan or apply.
    let lock = std::fs::File::create(runs.join(".run.lock")).expect("lock file");
    lock.try_lock().expect("the test takes the lock");
    let output = online.run(&[
        "run",
        "--spec",
        &online.arg("job.yaml"),
        "--auto-approve",
        "--runs-dir",
        &online.arg("runs"),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("another billsync run is using"), "{}", stderr(&output));
    assert!(run_folders(&runs).is_empty() && online.adjustments_per_line().is_empty());
    drop(lock);

    let daemon_lock = std::fs::File::create(runs.join(".daemon.lock")).expect("lock file");
    daemon_lock.try_lock().expect("the test takes the lock");
    let output =
        online.run(&["daemon", "--spec", &online.arg("job.yaml"), "--runs-dir", &online.arg("runs")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("another billsync daemon is using"), "{}", stderr(&output));
}
