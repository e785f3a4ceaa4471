//! `billsync diff`: two plans, or two snapshots of one kind, as comparable texts, and the
//! unified diff of those texts (the `similar` crate).

use similar::TextDiff;

use crate::plan::{PLAN_FORMAT, Plan};
use crate::problems::{Problem, Problems};
use crate::snapshot::{self, ATRIA_FORMAT, AUTOTASK_FORMAT};

/// What a compared file holds, from its `format` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentKind {
    Plan,
    Atria,
    Autotask,
}

impl DocumentKind {
    pub fn format(self) -> &'static str {
        match self {
            DocumentKind::Plan => PLAN_FORMAT,
            DocumentKind::Atria => ATRIA_FORMAT,
            DocumentKind::Autotask => AUTOTASK_FORMAT,
        }
    }
}

/// What a file to compare holds, from its `format` field.
pub fn document_kind(bytes: &[u8]) -> Result<DocumentKind, Problems> {
    let format = format_of(bytes)?;
    match format.as_deref().unwrap_or_default() {
        PLAN_FORMAT => Ok(DocumentKind::Plan),
        ATRIA_FORMAT => Ok(DocumentKind::Atria),
        AUTOTASK_FORMAT => Ok(DocumentKind::Autotask),
        format => {
            let found = if format.is_empty() { "nothing".to_owned() } else { format!("`{format}`") };
            Err(Problems::one(Problem::at(
                "$.format",
                format!("expected `{PLAN_FORMAT}`, `{ATRIA_FORMAT}` or `{AUTOTASK_FORMAT}`, found {found}"),
            )))
        }
    }
}

/// The top-level `format` string of a JSON document, every other value only checked as JSON
/// and skipped (a `Value` of a big plan took gigabytes); `None` when there is none or it is not
/// a string.
fn format_of(bytes: &[u8]) -> Result<Option<String>, Problems> {
    #[derive(serde::Deserialize)]
    struct Head {
        format: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<Head>(bytes) {
        Ok(head) => Ok(head.format.and_then(|format| format.as_str().map(str::to_owned))),
        // Valid JSON of another shape (an array, a repeated `format`): no format to go by.
        Err(error) if error.is_data() => Ok(None),
        Err(error) => Err(Problems::one(Problem::at(
            format!("line {} column {}", error.line(), error.column()),
            "invalid JSON",
        ))),
    }
}

/// The text that stands for a file in a diff: a plan's text rendering (at its own log level), or
/// the canonical pretty JSON of a snapshot (arrays in canonical order, so that reordering by an
/// API is not a change).
pub fn document_text(bytes: &[u8]) -> Result<(DocumentKind, String), Problems> {
    let format = format_of(bytes)?;
    let format = format.as_deref().unwrap_or_default();
    match format {
        PLAN_FORMAT => {
            let plan = Plan::from_json(bytes)?;
            Ok((DocumentKind::Plan, super::text(&plan, super::TextOptions::default())))
        }
        ATRIA_FORMAT => {
            let atria = snapshot::parse_atria(bytes)?;
            Ok((DocumentKind::Atria, pretty(&snapshot::canonical_atria(&atria))))
        }
        AUTOTASK_FORMAT => {
            let autotask = snapshot::parse_autotask(bytes)?;
            Ok((DocumentKind::Autotask, pretty(&snapshot::canonical_autotask(&autotask))))
        }
        _ => {
            let found = if format.is_empty() { "nothing".to_owned() } else { format!("`{format}`") };
            Err(Problems::one(Problem::at(
                "$.format",
                format!("expected `{PLAN_FORMAT}`, `{ATRIA_FORMAT}` or `{AUTOTASK_FORMAT}`, found {found}"),
            )))
        }
    }
}

/// Pretty JSON with a final newline.
fn pretty<T: serde::Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("snapshots always serialize");
    text.push('\n');
    text
}

/// The unified diff of two texts with three lines of context, headed by the two labels;
/// `None` when the texts are equal.
pub fn unified(old_label: &str, old: &str, new_label: &str, new: &str) -> Option<String> {
    if old == new {
        return None;
    }
    let diff = TextDiff::from_lines(old, new);
    Some(diff.unified_diff().context_radius(3).header(old_label, new_label).to_string())
}
