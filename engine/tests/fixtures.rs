//! One globbing test: every `fixtures/*/job.yaml` compiles against its folder's snapshots into
//! a plan whose text and JSON renderings are kept as insta snapshots.

use std::collections::BTreeSet;
use std::path::Path;

use billsync::codes::Code;
use billsync::compile::{CompileInput, compile};
use billsync::plan::Plan;
use billsync::render::{TextOptions, text};
use billsync::{snapshot, spec};

/// The fixed plan time of every fixture snapshot.
const AS_OF: &str = "2026-11-24T22:00:00Z";

fn plan_of(folder: &Path) -> Plan {
    let spec = spec::load(&folder.join("job.yaml")).unwrap_or_else(|problems| panic!("{problems}"));
    let atria =
        snapshot::load_atria(&folder.join("atria.json")).unwrap_or_else(|problems| panic!("{problems}"));
    let autotask = snapshot::load_autotask(&folder.join("autotask.json"))
        .unwrap_or_else(|problems| panic!("{problems}"));
    let as_of = AS_OF.parse().expect("a valid time");
    compile(CompileInput { spec: &spec, atria: &atria, autotask: &autotask, as_of })
        .expect("fixtures compile")
}

#[test]
fn every_fixture_plan() {
    insta::glob!("../../fixtures", "*/job.yaml", |job| {
        let folder = job.parent().expect("job.yaml is in a folder");
        let plan = plan_of(folder);
        insta::assert_snapshot!("text", text(&plan, TextOptions::default()));
        insta::assert_snapshot!("json", plan.to_json());
        // The JSON reads back to the same plan.
        assert_eq!(Plan::from_json(plan.to_json().as_bytes()).expect("plan JSON parses"), plan);
    });
}

/// Every code compile can produce, and where the fixtures show it.
const COMPILE_CODES: [Code; 21] = [
    Code::AT01,
    Code::AT04,
    Code::AT05,
    Code::AT06,
    Code::AT07,
    Code::AT08,
    Code::AT09,
    Code::AT10,
    Code::AT11,
    Code::AT12,
    Code::AT13,
    Code::AT15,
    Code::AT20,
    Code::AT21,
    Code::AT22,
    Code::AT24,
    Code::AT25,
    Code::AT26,
    Code::AT27,
    Code::AT28,
    Code::AT30,
];

#[test]
fn every_code_fixture_shows_every_compile_time_code() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let every_code = plan_of(&fixtures.join("every-code"));
    let shown: BTreeSet<Code> = every_code.log.iter().map(|entry| entry.code).collect();
    // AT15 means "no billable row at all", so it cannot share a plan with anything else.
    let missing: Vec<Code> =
        COMPILE_CODES.iter().copied().filter(|code| *code != Code::AT15 && !shown.contains(code)).collect();
    assert!(missing.is_empty(), "fixtures/every-code never logs {missing:?}");

    let no_rows = plan_of(&fixtures.join("no-billing-rows"));
    let codes: Vec<Code> = no_rows.log.iter().map(|entry| entry.code).collect();
    assert_eq!(codes, [Code::AT22, Code::AT01, Code::AT15, Code::AT24]);
    assert!(no_rows.actions.is_empty());
}
