//! `autotask.json` (`billsync.autotask/v1`), read by the mock itself: the five entity arrays,
//! every field of every entity kept, and the checks the mock's behaviour relies on (the format,
//! unique ids, references that resolve, date ranges, int32 units), each problem reported with
//! the file and its JSON path.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::dates::day;
use crate::entity::{Company, Contract, ContractService, ContractServiceUnit, Service};

/// The `format` of `autotask.json`.
pub const AUTOTASK_FORMAT: &str = "billsync.autotask/v1";

/// The top-level keys of `autotask.json`; any other is a mistake.
const KEYS: [&str; 6] =
    ["format", "companies", "contracts", "services", "contractServices", "contractServiceUnits"];

/// The entities a mock starts from, in the shape of `autotask.json` and of `/__mock/state`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutotaskSnapshot {
    pub format: String,
    pub companies: Vec<Company>,
    pub contracts: Vec<Contract>,
    pub services: Vec<Service>,
    pub contract_services: Vec<ContractService>,
    pub contract_service_units: Vec<ContractServiceUnit>,
}

impl AutotaskSnapshot {
    /// No entities at all.
    pub fn empty() -> AutotaskSnapshot {
        AutotaskSnapshot { format: AUTOTASK_FORMAT.to_owned(), ..AutotaskSnapshot::default() }
    }

    /// The units in force on a contract line at `at`: those of the covering row that starts last
    /// (an adjustment's row wins over the one it split), or 0 when none covers it.
    pub fn units_at(&self, contract_service_id: i64, at: DateTime<Utc>) -> u32 {
        self.contract_service_units
            .iter()
            .filter(|row| row.contract_service_id == contract_service_id && row.covers(at))
            .max_by_key(|row| (day(row.start_date), row.id))
            .map_or(0, |row| row.units)
    }
}

/// Why a seed was refused; lists every problem found, each as `file: $.path: what is wrong`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot seed mock-autotask:\n  {}", .problems.join("\n  "))]
pub struct SeedError {
    pub problems: Vec<String>,
}

/// Reads and checks `path` (an `autotask.json`).
pub fn load(path: &Path) -> Result<AutotaskSnapshot, SeedError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|err| SeedError { problems: vec![format!("{name}: cannot read: {err}")] })?;
    parse(&bytes).map_err(|problems| SeedError {
        problems: problems.into_iter().map(|problem| format!("{name}: {problem}")).collect(),
    })
}

/// Parses and checks the text of an `autotask.json`; the problems come as `$.path: message`.
pub fn parse(bytes: &[u8]) -> Result<AutotaskSnapshot, Vec<String>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(vec!["$: the file is empty; expected a `billsync.autotask/v1` JSON object".to_owned()]);
    }
    let value: Json = serde_json::from_slice(bytes).map_err(|err| {
        vec![format!("line {} column {}: not valid JSON: {}", err.line(), err.column(), strip_position(&err))]
    })?;
    from_value(&value)
}

/// Checks an `autotask.json` already parsed as JSON.
pub fn from_value(value: &Json) -> Result<AutotaskSnapshot, Vec<String>> {
    let Some(object) = value.as_object() else {
        return Err(vec![format!("$: expected a JSON object, found {}", kind_of(value))]);
    };
    let mut problems = Vec::new();
    match object.get("format") {
        Some(Json::String(format)) if format == AUTOTASK_FORMAT => {}
        Some(found) => problems.push(format!("$.format: expected `{AUTOTASK_FORMAT}`, found {found}")),
        None => problems.push(format!("$.format: missing; expected `{AUTOTASK_FORMAT}`")),
    }
    for key in object.keys().filter(|key| !KEYS.contains(&key.as_str())) {
        problems.push(format!("$.{key}: unknown key; expected one of {}", KEYS.join(", ")));
    }
    let snapshot = AutotaskSnapshot {
        format: AUTOTASK_FORMAT.to_owned(),
        companies: entities(object.get("companies"), "companies", &mut problems),
        contracts: entities(object.get("contracts"), "contracts", &mut problems),
        services: entities(object.get("services"), "services", &mut problems),
        contract_services: entities(object.get("contractServices"), "contractServices", &mut problems),
        contract_service_units: entities(
            object.get("contractServiceUnits"),
            "contractServiceUnits",
            &mut problems,
        ),
    };
    // References are only worth checking once every entity could be read.
    if problems.is_empty() {
        check(&snapshot, &mut problems);
    }
    if problems.is_empty() { Ok(snapshot) } else { Err(problems) }
}

/// One entity array, element by element, so that every bad element is named.
fn entities<T: DeserializeOwned>(value: Option<&Json>, array: &str, problems: &mut Vec<String>) -> Vec<T> {
    let items = match value {
        Some(Json::Array(items)) => items,
        Some(other) => {
            problems.push(format!("$.{array}: expected an array, found {}", kind_of(other)));
            return Vec::new();
        }
        None => {
            problems.push(format!("$.{array}: missing; expected an array (it may be empty)"));
            return Vec::new();
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        if !item.is_object() {
            problems.push(format!("$.{array}[{index}]: expected an object, found {}", kind_of(item)));
            continue;
        }
        match serde_path_to_error::deserialize::<_, T>(item) {
            Ok(entity) => out.push(entity),
            Err(err) => {
                let field = err.path().to_string();
                let place = if field == "." {
                    format!("$.{array}[{index}]")
                } else {
                    format!("$.{array}[{index}].{field}")
                };
                problems.push(format!("{place}: {}", plain(err.inner().to_string())));
            }
        }
    }
    out
}

/// Ids, references and ranges: what the mock's writes and splits rely on.
fn check(snapshot: &AutotaskSnapshot, problems: &mut Vec<String>) {
    let companies = unique_ids(problems, "companies", snapshot.companies.iter().map(|c| c.id));
    let contracts = unique_ids(problems, "contracts", snapshot.contracts.iter().map(|c| c.id));
    let services = unique_ids(problems, "services", snapshot.services.iter().map(|s| s.id));
    let lines = unique_ids(problems, "contractServices", snapshot.contract_services.iter().map(|l| l.id));
    unique_ids(problems, "contractServiceUnits", snapshot.contract_service_units.iter().map(|u| u.id));

    let mut dangling = |path: String, what: &str, id: i64, known: &HashMap<i64, usize>| {
        if !known.contains_key(&id) {
            problems.push(format!("{path}: {what} {id} does not exist"));
        }
    };
    for (index, contract) in snapshot.contracts.iter().enumerate() {
        dangling(format!("$.contracts[{index}].companyID"), "company", contract.company_id, &companies);
    }
    for (index, line) in snapshot.contract_services.iter().enumerate() {
        dangling(format!("$.contractServices[{index}].contractID"), "contract", line.contract_id, &contracts);
        dangling(format!("$.contractServices[{index}].serviceID"), "service", line.service_id, &services);
    }
    for (index, row) in snapshot.contract_service_units.iter().enumerate() {
        let path = |field: &str| format!("$.contractServiceUnits[{index}].{field}");
        dangling(path("contractID"), "contract", row.contract_id, &contracts);
        dangling(path("contractServiceID"), "contract service", row.contract_service_id, &lines);
        dangling(path("serviceID"), "service", row.service_id, &services);
    }
    for (index, row) in snapshot.contract_service_units.iter().enumerate() {
        let path = |field: &str| format!("$.contractServiceUnits[{index}].{field}");
        if let Some(&line_index) = lines.get(&row.contract_service_id) {
            let line = &snapshot.contract_services[line_index];
            if line.contract_id != row.contract_id || line.service_id != row.service_id {
                problems.push(format!(
                    "{}: contract service {} belongs to contract {} and service {}, not {} and {}",
                    path("contractServiceID"),
                    line.id,
                    line.contract_id,
                    line.service_id,
                    row.contract_id,
                    row.service_id
                ));
            }
        }
        if day(row.end_date) < day(row.start_date) {
            problems.push(format!("{}: ends before it starts", path("endDate")));
        }
        if row.units > i32::MAX as u32 {
            problems.push(format!("{}: {} is larger than int32", path("units"), row.units));
        }
    }
    for (index, contract) in snapshot.contracts.iter().enumerate() {
        if day(contract.end_date) < day(contract.start_date) {
            problems.push(format!("$.contracts[{index}].endDate: ends before it starts"));
        }
    }
}

/// Maps each id to its index, reporting duplicates.
fn unique_ids(
    problems: &mut Vec<String>,
    array: &str,
    ids: impl ExactSizeIterator<Item = i64>,
) -> HashMap<i64, usize> {
    let mut seen = HashMap::with_capacity(ids.len());
    for (index, id) in ids.enumerate() {
        if let Some(&first) = seen.get(&id) {
            problems.push(format!("$.{array}[{index}].id: duplicate id {id} (first at $.{array}[{first}])"));
        } else {
            seen.insert(id, index);
        }
    }
    seen
}

/// serde's message with Rust's type names put in the words of a JSON file's author.
fn plain(message: String) -> String {
    [
        ("expected i64", "expected an integer"),
        ("expected i32", "expected an integer (int32)"),
        ("expected u32", "expected a whole number from 0 up"),
        ("expected f64", "expected a number"),
    ]
    .iter()
    .fold(message, |text, (rust, words)| text.replace(rust, words))
}

fn kind_of(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// serde_json's message without its ` at line L column C` tail (the place is given separately).
fn strip_position(err: &serde_json::Error) -> String {
    let message = err.to_string();
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message,
    }
}
