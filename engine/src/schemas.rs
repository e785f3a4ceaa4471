//! The JSON Schemas committed in `specs/`, generated from the types (`cargo xtask schema`).

use crate::cli::schema_text;
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
