//! `billsync demo`: the README's first command works and converges, with no setup at all.

use std::process::Command;

#[test]
fn the_demo_fetches_plans_applies_and_plans_again_with_no_changes() {
    let output = Command::new(env!("CARGO_BIN_EXE_billsync"))
        .arg("demo")
        .env_remove("AUTOTASK_SECRET")
        .env("NO_COLOR", "1")
        .output()
        .expect("billsync runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{text}\n{}", String::from_utf8_lossy(&output.stderr));
    for expected in [
        "1. Fetch both snapshots",
        "(6 Autotask calls)",
        "~ update    AT09  Microsoft 365 Business Premium (service 12)   20 → 25",
        "Plan: 2 update, 1 create, 1 zero, 1 unchanged, 2 skipped (AT07 ×1, AT08 ×1)",
        "4 applied, 0 refused, 0 failed; the mock's ledger holds 5 writes",
        "Plan: 0 update, 0 create, 0 zero, 5 unchanged, 2 skipped",
        "Done: nothing left to change.",
    ] {
        assert!(text.contains(expected), "`{expected}` missing:\n{text}");
    }
    assert!(!text.contains("mock-secret"), "the demo prints no secret");
}
