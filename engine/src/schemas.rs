//! The JSON Schemas committed in `specs/`, generated from the types (`cargo xtask schema`).

use crate::plan::Plan;
use crate::snapshot::SnapshotKind;
use crate::spec::JobSpec;

/// Every committed schema: file name under `specs/` and its text.
pub fn all() -> Vec<(&'static str, String)> {
    vec![
        ("job.schema.json", schema_text(&JobSpec::schema())),
        ("atria.schema.json", schema_text(&SnapshotKind::Atria.schema())),
        ("autotask.schema.json", schema_text(&SnapshotKind::Autotask.schema())),
        (
            "plan.schema.json",
            schema_text(&serde_json::to_value(schemars::schema_for!(Plan)).expect("serializes")),
        ),
    ]
}

/// Pretty JSON with a final newline, as committed in `specs/`.
pub fn schema_text(schema: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).expect("schemas serialize");
    text.push('\n');
    text
}
