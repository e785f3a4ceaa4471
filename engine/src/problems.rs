//! The input-error type shared by the spec and snapshot boundaries: every problem found, each
//! with the file and the place in it (a JSON path or a line and column) and what is wrong.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in one input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub file: Option<PathBuf>,
    /// `$.billing[3].thisMonthCount`, `line 4 column 1`, or both.
    pub place: String,
    pub message: String,
}

impl Problem {
    pub fn at(place: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem { file: None, place: place.into(), message: message.into() }
    }

    pub fn file(path: &Path, message: impl Into<String>) -> Problem {
        Problem { file: Some(path.to_owned()), place: String::new(), message: message.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut wrote_place = false;
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            wrote_place = true;
        }
        if !self.place.is_empty() {
            if wrote_place {
                write!(f, ": ")?;
            }
            write!(f, "{}", self.place)?;
            wrote_place = true;
        }
        if wrote_place {
            write!(f, ": ")?;
        }
        write!(f, "{}", self.message)
    }
}

/// Every problem found in an input; an error when not empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, thiserror::Error)]
pub struct Problems(Vec<Problem>);

impl Problems {
    pub fn one(problem: Problem) -> Problems {
        Problems(vec![problem])
    }

    pub fn push(&mut self, problem: Problem) {
        self.0.push(problem);
    }

    pub fn extend(&mut self, other: Problems) {
        self.0.extend(other.0);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter()
    }

    /// Names `path` as the file of every problem that names none yet.
    pub fn in_file(mut self, path: &Path) -> Problems {
        for problem in &mut self.0 {
            problem.file.get_or_insert_with(|| path.to_owned());
        }
        self
    }

    pub fn into_result<T>(self, value: T) -> Result<T, Problems> {
        if self.is_empty() { Ok(value) } else { Err(self) }
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// `Problem` for a document whose `format` is not `expected` (`found` is `None` when it has none).
pub fn wrong_format(expected: &str, found: Option<&str>) -> Problem {
    let found = found.map_or("nothing".to_owned(), |f| format!("`{f}`"));
    Problem::at("$.format", format!("expected `{expected}`, found {found}"))
}

/// Why `bytes` did not parse as a `T` (the fast typed parse failed with `typed_error`), each
/// problem at its place: invalid JSON at its line and column; else a `format` other than
/// `format`; else every violation of the JSON Schema `schema` builds; else the place serde
/// refused, found by parsing again while tracking the path. Slow (a `Value` of the whole
/// document), so only for documents already known to be bad.
pub fn diagnose<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    format: &str,
    schema: impl FnOnce() -> serde_json::Value,
    typed_error: &serde_json::Error,
) -> Problems {
    let value: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(syntax) => {
            return Problems::one(Problem::at(
                format!("line {} column {}", syntax.line(), syntax.column()),
                format!("invalid JSON: {}", strip_position(&syntax.to_string())),
            ));
        }
    };
    let found = value.get("format").and_then(|f| f.as_str());
    if found != Some(format) {
        return Problems::one(wrong_format(format, found));
    }
    let mut problems = schema_problems(&schema(), &value);
    if problems.is_empty() {
        // The schema accepted what serde refused (a timestamp without an offset, a duplicate
        // key, say): parse again, tracking the path, to say where.
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let problem = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
            Err(error) => {
                let place = serde_path(&error.path().to_string());
                Problem::at(place, strip_position(&error.into_inner().to_string()))
            }
            Ok(_) => Problem::at(
                format!("line {} column {}", typed_error.line(), typed_error.column()),
                strip_position(&typed_error.to_string()),
            ),
        };
        problems.push(problem);
    }
    problems
}

/// `contractServiceUnits[3].endDate` (serde_path_to_error's form) as `$.contractServiceUnits[3].endDate`.
fn serde_path(path: &str) -> String {
    match path {
        "" | "." => "$".to_owned(),
        path if path.starts_with('[') => format!("${path}"),
        path => format!("$.{path}"),
    }
}

/// serde_json's message without its ` at line L column C` (the place is said apart).
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

/// Validates `instance` against a JSON Schema and returns one problem per violation, each at
/// its `$.json.path` and with the schema keyword that refused it.
pub fn schema_problems(schema: &serde_json::Value, instance: &serde_json::Value) -> Problems {
    let validator = jsonschema::validator_for(schema).expect("our generated schemas compile");
    let mut problems = Problems::default();
    for error in validator.iter_errors(instance) {
        let place = json_path(error.instance_path().as_str());
        let message = format!("{error} (schema {})", error.schema_path().as_str());
        problems.push(Problem::at(place, message));
    }
    problems
}

/// Turns a JSON Pointer (`/billing/3/count`) into the `$.billing[3].count` form users read.
pub fn json_path(pointer: &str) -> String {
    let mut path = String::from("$");
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            path.push_str(&format!("[{segment}]"));
        } else {
            path.push('.');
            path.push_str(&segment);
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_paths_read_like_jq() {
        assert_eq!(json_path(""), "$");
        assert_eq!(json_path("/billing/3/thisMonthCount"), "$.billing[3].thisMonthCount");
        assert_eq!(json_path("/skuMap/a~1b"), "$.skuMap.a/b");
    }
}
