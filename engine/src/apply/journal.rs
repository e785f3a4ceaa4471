//! The apply journal `<plan>.journal.jsonl`: one JSON record per line, each fsync'd before the
//! write it announces is sent, so a rerun after any crash knows what may have happened.
//!
//! Autotask adjustments can never be read back, edited or deleted; the journal plus a read-back
//! of the line's units is what makes apply exactly-once in effect.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::codes::Code;

/// One line of the journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Record {
    /// A run of apply began for this plan.
    Start { plan_id: String, at: DateTime<Utc> },
    /// About to create the contract line of a create action.
    LineIntent { key: String, contract_id: i64, service_id: i64, at: DateTime<Utc> },
    /// The contract line exists (created by us, or found after an unanswered create).
    LineCreated { key: String, contract_service_id: i64, at: DateTime<Utc> },
    /// About to post the adjustment that takes the line from `from` to `to`.
    Intent {
        key: String,
        contract_service_id: i64,
        from: u32,
        to: u32,
        unit_change: i64,
        effective_date: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// The line is at `to`: by the adjustment `item_id`, or seen by read-back (`item_id` null).
    Done { key: String, item_id: Option<i64>, at: DateTime<Utc> },
    /// The action was not applied in this run, with the code that says why.
    Refused { key: String, code: Code, message: String, at: DateTime<Utc> },
}

/// What the journal says of one action.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActionState {
    pub line_intent: bool,
    pub created_line: Option<i64>,
    /// The last adjustment announced and not yet known to be done.
    pub intent: Option<(u32, u32)>,
    pub done: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{path}: cannot {action}: {source}")]
    Io { path: PathBuf, action: &'static str, source: std::io::Error },
    #[error("{path}: line {line}: not a journal record: {message}")]
    Corrupt { path: PathBuf, line: usize, message: String },
    #[error("{path} belongs to plan {found}, not {expected}; use that plan or another --journal")]
    OtherPlan { path: PathBuf, found: String, expected: String },
}

/// An open journal: its past records folded into per-action state, and the file to append to.
pub struct Journal {
    path: PathBuf,
    file: File,
    states: BTreeMap<String, ActionState>,
    /// A last line cut short by a crash, ignored.
    pub torn_tail: bool,
}

impl Journal {
    /// The journal's default place: beside the plan, `plan.json` → `plan.json.journal.jsonl`.
    pub fn path_for(plan_path: &Path) -> PathBuf {
        let mut name = plan_path.file_name().unwrap_or_default().to_os_string();
        name.push(".journal.jsonl");
        plan_path.with_file_name(name)
    }

    /// Opens (or creates) the journal of `plan_id` and reads what earlier runs recorded.
    pub fn open(path: &Path, plan_id: &str, now: DateTime<Utc>) -> Result<Journal, JournalError> {
        let io = |action: &'static str| {
            let path = path.to_owned();
            move |source| JournalError::Io { path, action, source }
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(error) => return Err(io("read")(error)),
        };
        let mut states: BTreeMap<String, ActionState> = BTreeMap::new();
        let mut torn_tail = false;
        let lines: Vec<&str> = text.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let record: Record = match serde_json::from_str(line) {
                Ok(record) => record,
                // A crash can cut the last line short; it announced nothing that was sent.
                Err(_) if index + 1 == lines.len() && !text.ends_with('\n') => {
                    torn_tail = true;
                    continue;
                }
                Err(error) => {
                    return Err(JournalError::Corrupt {
                        path: path.to_owned(),
                        line: index + 1,
                        message: error.to_string(),
                    });
                }
            };
            fold(&mut states, record, path, plan_id)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path).map_err(io("open"))?;
        if torn_tail {
            // Cut the torn line off so the next record starts on a line of its own.
            let kept = text.rfind('\n').map_or(0, |end| end + 1);
            file.set_len(kept as u64).map_err(io("truncate"))?;
        }
        let mut journal = Journal { path: path.to_owned(), file, states, torn_tail };
        journal.append(&Record::Start { plan_id: plan_id.to_owned(), at: now })?;
        Ok(journal)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn state(&self, key: &str) -> ActionState {
        self.states.get(key).cloned().unwrap_or_default()
    }

    /// Appends a record and waits until it is on disk.
    pub fn append(&mut self, record: &Record) -> Result<(), JournalError> {
        let mut line = serde_json::to_string(record).expect("journal records serialize");
        line.push('\n');
        let io = |action| {
            let path = self.path.clone();
            move |source| JournalError::Io { path, action, source }
        };
        self.file.write_all(line.as_bytes()).map_err(io("write"))?;
        self.file.sync_data().map_err(io("sync"))?;
        let mut states = std::mem::take(&mut self.states);
        let folded = fold(&mut states, record.clone(), &self.path, "");
        self.states = states;
        folded
    }
}

/// Applies one record to the per-action state. `plan_id` empty: do not check it.
fn fold(
    states: &mut BTreeMap<String, ActionState>,
    record: Record,
    path: &Path,
    plan_id: &str,
) -> Result<(), JournalError> {
    match record {
        Record::Start { plan_id: found, .. } => {
            if !plan_id.is_empty() && found != plan_id {
                return Err(JournalError::OtherPlan {
                    path: path.to_owned(),
                    found,
                    expected: plan_id.to_owned(),
                });
            }
        }
        Record::LineIntent { key, .. } => states.entry(key).or_default().line_intent = true,
        Record::LineCreated { key, contract_service_id, .. } => {
            states.entry(key).or_default().created_line = Some(contract_service_id);
        }
        Record::Intent { key, from, to, .. } => states.entry(key).or_default().intent = Some((from, to)),
        Record::Done { key, .. } => {
            let state = states.entry(key).or_default();
            state.done = true;
            state.intent = None;
        }
        Record::Refused { .. } => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        "2026-11-24T22:00:00Z".parse().expect("time")
    }

    #[test]
    fn records_fold_into_state_across_runs() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("plan.json.journal.jsonl");
        let mut journal = Journal::open(&path, "p1", at()).expect("open");
        let intent = |key: &str| Record::Intent {
            key: key.to_owned(),
            contract_service_id: 5001,
            from: 20,
            to: 25,
            unit_change: 5,
            effective_date: at(),
            at: at(),
        };
        journal.append(&intent("a")).expect("append");
        journal.append(&Record::Done { key: "a".into(), item_id: Some(9), at: at() }).expect("append");
        journal.append(&intent("b")).expect("append");
        drop(journal);

        let journal = Journal::open(&path, "p1", at()).expect("reopen");
        assert!(journal.state("a").done);
        assert_eq!(journal.state("b"), ActionState { intent: Some((20, 25)), ..ActionState::default() });
        assert_eq!(journal.state("c"), ActionState::default());
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.lines().filter(|line| line.contains("\"record\":\"start\"")).count(), 2);
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_a_torn_middle_is_not() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j.jsonl");
        let start = r#"{"record":"start","planId":"p1","at":"2026-11-24T22:00:00Z"}"#;
        std::fs::write(&path, format!("{start}\n{{\"record\":\"intent\",\"key\":\"a\",\"contr"))
            .expect("write");
        let journal = Journal::open(&path, "p1", at()).expect("torn tail is fine");
        assert!(journal.torn_tail);
        assert_eq!(journal.state("a"), ActionState::default());
        drop(journal);
        let reopened = Journal::open(&path, "p1", at()).expect("the torn line was cut off");
        assert!(!reopened.torn_tail);

        std::fs::write(&path, format!("{{\"record\":\"oops\"}}\n{start}\n")).expect("write");
        let error = Journal::open(&path, "p1", at()).err().expect("corrupt");
        assert!(error.to_string().contains("line 1: not a journal record"), "{error}");
    }

    #[test]
    fn a_journal_of_another_plan_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j.jsonl");
        drop(Journal::open(&path, "p1", at()).expect("open"));
        let error = Journal::open(&path, "p2", at()).err().expect("other plan");
        assert!(error.to_string().contains("belongs to plan p1, not p2"), "{error}");
    }

    #[test]
    fn the_default_path_sits_beside_the_plan() {
        assert_eq!(Journal::path_for(Path::new("runs/plan.json")), Path::new("runs/plan.json.journal.jsonl"));
    }
}
