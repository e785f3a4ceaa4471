//! All YAML handling in one place (serde-saphyr), so the YAML crate can be swapped: strict
//! parsing options, error locations, and mapping JSON paths back to YAML lines and columns.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_saphyr::granit_parser::{Event, Parser};
use serde_saphyr::{DuplicateKeyPolicy, Options};

use crate::problems::{Problem, Problems, json_path};

/// Duplicate keys are errors, only `true`/`false` are booleans, and aliases are bounded so an
/// alias bomb fails fast instead of eating memory.
fn options() -> Options {
    let mut options = Options::default();
    options.duplicate_keys = DuplicateKeyPolicy::Error;
    options.strict_booleans = true;
    options.with_snippet = false;
    options.alias_limits.max_total_replayed_events = 10_000;
    options.alias_limits.max_alias_expansions_per_anchor = 100;
    if let Some(budget) = options.budget.as_mut() {
        budget.max_aliases = 100;
        budget.max_events = 100_000;
    }
    options
}

pub(crate) fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, Problems> {
    if text.lines().all(|line| line.trim().is_empty() || line.trim_start().starts_with('#')) {
        return Err(Problems::one(Problem::at("line 1 column 1", "the file is empty; expected a job spec")));
    }
    serde_saphyr::from_str_with_options(text, options()).map_err(|error| Problems::one(problem_of(&error)))
}

pub(crate) fn to_json_value(text: &str) -> Result<serde_json::Value, Problems> {
    let value: serde_json::Value = from_str(text)?;
    if !value.is_object() {
        return Err(Problems::one(Problem::at("line 1 column 1", "expected a mapping of spec fields")));
    }
    Ok(value)
}

fn problem_of(error: &serde_saphyr::Error) -> Problem {
    let message = error.without_snippet().to_string();
    let message = message.lines().next().unwrap_or_default();
    // The library's advice on its own options is not for our users.
    let message = message.split(", set DuplicateKeyPolicy").next().unwrap_or_default().to_owned();
    match error.location() {
        Some(location) if location.line() > 0 => {
            let place = format!("line {} column {}", location.line(), location.column());
            let message = strip_location(&message);
            Problem::at(place, message)
        }
        _ => Problem::at("", message),
    }
}

/// serde-saphyr's messages may end with their own "at line X column Y"; ours says it first.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

/// JSON Schema problems, each placed at the YAML line and column of the offending key.
pub(crate) fn schema_problems_located(
    text: &str,
    schema: &serde_json::Value,
    instance: &serde_json::Value,
) -> Problems {
    let validator = jsonschema::validator_for(schema).expect("the generated spec schema compiles");
    let positions = key_positions(text);
    let mut problems = Problems::default();
    for error in validator.iter_errors(instance) {
        let pointer = error.instance_path().as_str().to_owned();
        let mut target = pointer.clone();
        if let jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } = error.kind()
            && let Some(first) = unexpected.first()
        {
            target = format!("{pointer}/{first}");
        }
        let line_column = positions.get(&target).or_else(|| positions.get(&pointer));
        let mut place = json_path(&target);
        if let Some((line, column)) = line_column {
            place = format!("line {line} column {column}, {place}");
        }
        let code_hint = match pointer.as_str() {
            "/billingPeriod" => "AT19 Incorrect billing period date or format recognized: ",
            "/autotask/zoneUser" => "AT17 user email is not valid: ",
            _ => "",
        };
        // Messages that teach: what is expected, in words, instead of a regex or a bare "not
        // allowed".
        let message = match error.kind() {
            jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                let known = known_keys(schema, &pointer);
                let unknown: Vec<String> =
                    unexpected.iter().map(|key| unknown_key_message(key, &known)).collect();
                unknown.join("; ")
            }
            jsonschema::error::ValidationErrorKind::Pattern { .. } if pointer == "/billingPeriod" => format!(
                "{code_hint}{}; expected `current`, `previous`, or a date `YYYY-MM-DD` (the period containing that date)",
                error.instance()
            ),
            jsonschema::error::ValidationErrorKind::OneOfNotValid { .. }
                if error.schema_path().as_str().ends_with("/SecretRef/oneOf") =>
            {
                // Never the value: it may be the secret itself. The keys are names, and the nearest
                // of the two allowed when one is wrong.
                let instance = error.instance();
                let found = match instance.as_object() {
                    Some(object) => {
                        let keys: Vec<String> = object.keys().map(|key| format!("`{key}`")).collect();
                        let mut found = format!("found an object with the keys {}", keys.join(", "));
                        if let [key] = object.keys().collect::<Vec<_>>()[..]
                            && !["env", "file"].contains(&key.as_str())
                        {
                            found.push_str("; ");
                            found.push_str(&unknown_key_message(key, &["env".to_owned(), "file".to_owned()]));
                        }
                        found
                    }
                    None if instance.is_string() => {
                        "found a text value (not shown: it may be the secret)".to_owned()
                    }
                    None => "found another kind of value".to_owned(),
                };
                format!(
                    "a secret is `{{ env: VARIABLE }}` or `{{ file: PATH }}`, never the value itself; {found}"
                )
            }
            _ => format!("{code_hint}{error} (schema {})", error.schema_path().as_str()),
        };
        problems.push(Problem::at(place, message));
    }
    problems
}

/// `unknown key `allowCreateItem`; did you mean `allowCreateItems`?`, or the keys allowed there.
fn unknown_key_message(key: &str, known: &[String]) -> String {
    let folded = key.to_lowercase();
    let nearest = known
        .iter()
        .map(|candidate| {
            let distance = strsim::levenshtein(&folded, &candidate.to_lowercase());
            (distance, candidate)
        })
        .min()
        .filter(|(distance, candidate)| *distance <= (candidate.chars().count() / 3).max(2));
    match nearest {
        Some((_, candidate)) => format!("unknown key `{key}`; did you mean `{candidate}`?"),
        None if known.is_empty() => format!("unknown key `{key}`"),
        None => {
            let list: Vec<String> = known.iter().map(|name| format!("`{name}`")).collect();
            format!("unknown key `{key}`; allowed here: {}", list.join(", "))
        }
    }
}

/// The keys the schema allows in the object at `pointer` (following `$ref`s into `$defs`).
fn known_keys(schema: &serde_json::Value, pointer: &str) -> Vec<String> {
    /// Through a `$ref`, or an `anyOf`/`oneOf` with an object branch (an optional section).
    fn follow<'a>(schema: &'a serde_json::Value, mut node: &'a serde_json::Value) -> &'a serde_json::Value {
        for _ in 0..8 {
            if let Some(reference) = node.get("$ref").and_then(|reference| reference.as_str()) {
                match reference.strip_prefix('#').and_then(|path| schema.pointer(path)) {
                    Some(target) => node = target,
                    None => break,
                }
            } else if let Some(branch) = ["anyOf", "oneOf"].iter().find_map(|key| {
                node.get(*key)?
                    .as_array()?
                    .iter()
                    .find(|branch| branch.get("$ref").is_some() || branch.get("properties").is_some())
            }) {
                node = branch;
            } else {
                break;
            }
        }
        node
    }
    let mut node = follow(schema, schema);
    for segment in pointer.split('/').skip(1) {
        let next = node
            .get("properties")
            .and_then(|properties| properties.get(segment))
            .or_else(|| node.get("additionalProperties").filter(|value| value.is_object()));
        match next {
            Some(next) => node = follow(schema, next),
            None => return Vec::new(),
        }
    }
    node.get("properties")
        .and_then(|properties| properties.as_object())
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default()
}

/// Adds the YAML line and column to problems placed by JSON path only (`$.guards.x`), using the
/// nearest enclosing key that the document has.
pub(crate) fn locate(text: &str, problems: Problems) -> Problems {
    let positions = key_positions(text);
    let mut located = Problems::default();
    for mut problem in problems.iter().cloned() {
        if let Some(path) = problem.place.strip_prefix('$') {
            let mut pointer: String = path.replace('[', ".").replace(']', "").replace('.', "/");
            loop {
                if let Some((line, column)) = positions.get(&pointer) {
                    problem.place = format!("line {line} column {column}, {}", problem.place);
                    break;
                }
                match pointer.rfind('/') {
                    Some(index) if !pointer.is_empty() => pointer.truncate(index),
                    _ => break,
                }
            }
        }
        located.push(problem);
    }
    located
}

/// Maps each JSON Pointer in the document to the line and column of its key (or, for sequence
/// items, of the item itself).
fn key_positions(text: &str) -> BTreeMap<String, (usize, usize)> {
    enum Frame {
        Mapping { path: String, pending_key: Option<String> },
        Sequence { path: String, next_index: usize },
    }
    let mut positions = BTreeMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    // The path of the node an event starts, given the frame it sits in; `None` for a key.
    let child_path = |stack: &mut Vec<Frame>| -> Option<String> {
        match stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Mapping { path, pending_key }) => pending_key.take().map(|key| {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                format!("{path}/{escaped}")
            }),
            Some(Frame::Sequence { path, next_index }) => {
                let child = format!("{path}/{next_index}");
                *next_index += 1;
                Some(child)
            }
        }
    };
    for event in Parser::new_from_str(text) {
        let Ok((event, span)) = event else { break };
        let here = (span.start.line(), span.start.col() + 1);
        match event {
            Event::Scalar(value, ..) => match child_path(&mut stack) {
                Some(path) => {
                    positions.entry(path).or_insert(here);
                }
                None => {
                    if let Some(Frame::Mapping { path, pending_key }) = stack.last_mut() {
                        let escaped = value.replace('~', "~0").replace('/', "~1");
                        positions.entry(format!("{path}/{escaped}")).or_insert(here);
                        *pending_key = Some(value.into_owned());
                    }
                }
            },
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let path = child_path(&mut stack).unwrap_or_default();
                positions.entry(path.clone()).or_insert(here);
                if matches!(event, Event::MappingStart(..)) {
                    stack.push(Frame::Mapping { path, pending_key: None });
                } else {
                    stack.push(Frame::Sequence { path, next_index: 0 });
                }
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
            }
            Event::Alias(_) => {
                child_path(&mut stack);
            }
            _ => {}
        }
    }
    positions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_located_by_json_pointer() {
        let text = "version: 1\nguards:\n  maxDecreasePercent: 200\ncustomers:\n  - ASP\n  - B\n";
        let positions = key_positions(text);
        assert_eq!(positions.get("/version"), Some(&(1, 1)));
        assert_eq!(positions.get("/guards/maxDecreasePercent"), Some(&(3, 3)));
        assert_eq!(positions.get("/customers/1"), Some(&(6, 5)));
    }
}
