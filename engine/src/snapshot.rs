//! Atria and Autotask snapshot types (`atria.json`, `autotask.json`), loading and validation.
//!
//! A snapshot is the engine's offline input and the mocks' starting state. Loading validates
//! everything before any work and reports every problem with its JSON path.

use foldhash::{HashMap, HashMapExt as _, HashSet, HashSetExt as _};
use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::problems::{Problem, Problems};

mod de;
pub(crate) mod ser;

pub const ATRIA_FORMAT: &str = "billsync.atria/v1";
pub const AUTOTASK_FORMAT: &str = "billsync.autotask/v1";

/// Autotask's `contractType` picklist value for a Recurring Service contract.
pub const CONTRACT_TYPE_RECURRING_SERVICE: i32 = 7;
/// Autotask's contract `status` value for an active contract.
pub const CONTRACT_STATUS_ACTIVE: i32 = 1;

// ---------------------------------------------------------------------------------------------
// Atria

/// One billing period of Atria with its summary rows (`billsync.atria/v1`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "billsync Atria billing snapshot")]
pub struct AtriaSnapshot {
    /// Always `billsync.atria/v1`.
    pub format: String,
    pub period: BillingPeriod,
    pub customers: Vec<AtriaCustomer>,
    #[serde(deserialize_with = "de::presized_vec")]
    pub billing: Vec<BillingRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BillingPeriod {
    #[serde(deserialize_with = "de::date")]
    pub start_date: NaiveDate,
    #[serde(deserialize_with = "de::date")]
    pub end_date: NaiveDate,
    pub status: PeriodStatus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PeriodStatus {
    Open,
    Closed,
}

/// A customer as Atria lists it; fields billsync does not use are accepted and ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AtriaCustomer {
    /// Atria's unique, immutable customer code (ShortName), e.g. `ASP`.
    // Shared with every action about the customer, as is `name`.
    pub short_name: Arc<str>,
    pub name: Arc<str>,
    /// The Autotask company id (or company number), as typed into Atria; null when missing.
    pub billing_identifier: Option<String>,
    pub status: CustomerStatus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CustomerStatus {
    Active,
    Deprovisioned,
}

/// One row of Atria's billing summary export; other columns (`difference`, `resultCount`, …)
/// are accepted and ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingRow {
    // Interned: a million rows name a few thousand customers, SKUs and products.
    #[serde(deserialize_with = "de::interned")]
    pub customer_code: Arc<str>,
    #[serde(default, deserialize_with = "de::optional_interned")]
    pub product_sku: Option<Arc<str>>,
    #[serde(deserialize_with = "de::interned")]
    pub summary_grouping: Arc<str>,
    pub billable: bool,
    #[serde(deserialize_with = "de::count")]
    pub last_month_count: u32,
    #[serde(deserialize_with = "de::count")]
    pub this_month_count: u32,
}

// ---------------------------------------------------------------------------------------------
// Autotask

/// The Autotask entities billsync reads, as the REST API returns them (`billsync.autotask/v1`).
/// The top level is strict; each entity accepts every field Autotask sends (`isDefaultContract`,
/// `periodType`, `userDefinedFields`, …) and ignores what compile does not use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "billsync Autotask contract snapshot")]
pub struct AutotaskSnapshot {
    /// Always `billsync.autotask/v1`.
    pub format: String,
    pub companies: Vec<Company>,
    pub contracts: Vec<Contract>,
    pub services: Vec<Service>,
    #[serde(deserialize_with = "de::presized_vec")]
    pub contract_services: Vec<ContractService>,
    #[serde(deserialize_with = "de::presized_vec")]
    pub contract_service_units: Vec<ContractServiceUnit>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    pub id: i64,
    pub company_name: String,
    #[serde(default)]
    pub company_number: Option<String>,
    #[serde(default)]
    pub company_type: Option<i32>,
    pub is_active: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Contract {
    pub id: i64,
    #[serde(rename = "companyID")]
    pub company_id: i64,
    #[serde(rename = "contractName")]
    pub contract_name: String,
    #[serde(rename = "contractNumber", default)]
    pub contract_number: Option<String>,
    /// 7 = Recurring Service.
    #[serde(rename = "contractType")]
    pub contract_type: i32,
    /// 1 = active.
    pub status: i32,
    /// A calendar date, sent as midnight.
    #[serde(rename = "startDate", deserialize_with = "de::timestamp", serialize_with = "ser::timestamp")]
    pub start_date: DateTime<Utc>,
    /// A calendar date, sent as midnight; the contract runs through that whole day.
    #[serde(rename = "endDate", deserialize_with = "de::timestamp", serialize_with = "ser::timestamp")]
    pub end_date: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub id: i64,
    pub name: Arc<str>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub invoice_description: Option<String>,
    #[serde(default)]
    pub unit_price: Option<f64>,
    #[serde(default)]
    pub unit_cost: Option<f64>,
    pub is_active: bool,
}

/// A line of a contract: one service on one contract. It has no units field of its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContractService {
    pub id: i64,
    #[serde(rename = "contractID")]
    pub contract_id: i64,
    #[serde(rename = "serviceID")]
    pub service_id: i64,
    #[serde(rename = "unitPrice", default)]
    pub unit_price: Option<f64>,
    /// The line's own price, when set on the line: it wins over `unitPrice` for the plan's money.
    #[serde(rename = "adjustedPrice", default, skip_serializing_if = "Option::is_none")]
    pub adjusted_price: Option<f64>,
    #[serde(rename = "unitCost", default)]
    pub unit_cost: Option<f64>,
    #[serde(rename = "invoiceDescription", default)]
    pub invoice_description: Option<String>,
    #[serde(rename = "internalDescription", default)]
    pub internal_description: Option<String>,
}

/// The units of one contract line over a date range; adjustments split these rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContractServiceUnit {
    pub id: i64,
    #[serde(rename = "contractID")]
    pub contract_id: i64,
    #[serde(rename = "contractServiceID")]
    pub contract_service_id: i64,
    #[serde(rename = "serviceID")]
    pub service_id: i64,
    #[serde(rename = "startDate", deserialize_with = "de::timestamp", serialize_with = "ser::timestamp")]
    pub start_date: DateTime<Utc>,
    /// Inclusive, by calendar date: Autotask sends the row's last day as midnight.
    #[serde(rename = "endDate", deserialize_with = "de::timestamp", serialize_with = "ser::timestamp")]
    pub end_date: DateTime<Utc>,
    /// Autotask sends `3.0000`: an integral number is accepted, as JSON Schema counts it.
    #[serde(deserialize_with = "de::count")]
    pub units: u32,
    #[serde(default)]
    pub price: Option<f64>,
    #[serde(default)]
    pub cost: Option<f64>,
    #[serde(
        rename = "approveAndPostDate",
        default,
        deserialize_with = "de::optional_timestamp",
        serialize_with = "ser::optional_timestamp"
    )]
    pub approve_and_post_date: Option<DateTime<Utc>>,
}

// The required keys of an element with their quotes and colons, rounded down: an upper bound of
// an array's length (`de::presized_vec`) that any valid document respects.
impl de::MinJsonBytes for BillingRow {
    const MIN_JSON_BYTES: usize = 64;
}

impl de::MinJsonBytes for ContractService {
    const MIN_JSON_BYTES: usize = 32;
}

impl de::MinJsonBytes for ContractServiceUnit {
    const MIN_JSON_BYTES: usize = 96;
}

impl ContractServiceUnit {
    /// Whether the row is in force at `at`. Autotask's unit rows are calendar dates sent as
    /// midnight timestamps: a row ending `2026-11-25T00:00:00Z` covers the whole of 25 November.
    pub fn covers(&self, at: DateTime<Utc>) -> bool {
        let day = at.date_naive();
        self.start_date.date_naive() <= day && day <= self.end_date.date_naive()
    }
}

impl AutotaskSnapshot {
    /// Current units of a contract line at `at` (see [`units_at`]).
    pub fn units_at(&self, contract_service_id: i64, at: DateTime<Utc>) -> u32 {
        units_at(
            self.contract_service_units.iter().filter(|row| row.contract_service_id == contract_service_id),
            at,
        )
    }
}

/// The units in force at `at` among one line's ContractServiceUnits rows: the covering row that
/// starts last (an adjustment's row wins over the one it split, also when both cover the day of
/// the split), or 0 when none covers it.
pub fn units_at<'a>(rows: impl IntoIterator<Item = &'a ContractServiceUnit>, at: DateTime<Utc>) -> u32 {
    rows.into_iter()
        .filter(|row| row.covers(at))
        .max_by_key(|row| (row.start_date, row.id))
        .map_or(0, |row| row.units)
}

// ---------------------------------------------------------------------------------------------
// Loading and validation

/// Which of the two snapshot kinds a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotKind {
    Atria,
    Autotask,
}

impl SnapshotKind {
    pub fn format(self) -> &'static str {
        match self {
            SnapshotKind::Atria => ATRIA_FORMAT,
            SnapshotKind::Autotask => AUTOTASK_FORMAT,
        }
    }

    pub fn schema(self) -> serde_json::Value {
        let schema = match self {
            SnapshotKind::Atria => schemars::schema_for!(AtriaSnapshot),
            SnapshotKind::Autotask => schemars::schema_for!(AutotaskSnapshot),
        };
        serde_json::to_value(schema).expect("a generated schema is valid JSON")
    }
}

/// Reads and validates `atria.json`.
pub fn load_atria(path: &Path) -> Result<AtriaSnapshot, Problems> {
    let bytes = read_file(path, 0)?;
    parse_atria(&bytes).map_err(|problems| problems.in_file(path))
}

/// Reads and validates `autotask.json`. Its file is the bigger one, loaded beside the Atria
/// file: a helper thread reads its last quarter, and its bytes are unmapped on a thread of
/// their own (milliseconds for a big file, while the compile goes on).
pub fn load_autotask(path: &Path) -> Result<AutotaskSnapshot, Problems> {
    let bytes = read_file(path, 4)?;
    let parsed = parse_autotask(&bytes).map_err(|problems| problems.in_file(path));
    // Should no thread start, the bytes are dropped here with the closure.
    let _ = std::thread::Builder::new().spawn(move || drop(bytes));
    parsed
}

/// The whole file, in an anonymous mapping of its own: a big snapshot's bytes go back to the
/// system the moment the parse is done with them, before compile allocates the plan. With
/// `helper_part` n > 0, a second thread reads the file's last 1/n at the same time.
fn read_file(path: &Path, helper_part: usize) -> Result<FileBytes, Problems> {
    let cannot_read = |err: std::io::Error| Problems::one(Problem::file(path, format!("cannot read: {err}")));
    let mut file = std::fs::File::open(path).map_err(cannot_read)?;
    let length = usize::try_from(file.metadata().map_err(cannot_read)?.len()).unwrap_or(usize::MAX);
    if length == 0 || length == usize::MAX {
        return std::fs::read(path).map(FileBytes::Read).map_err(cannot_read);
    }
    let mut bytes = memmap2::MmapMut::map_anon(length).map_err(cannot_read)?;
    let split = length - length.checked_div(helper_part).unwrap_or(0);
    let (head, tail) = bytes.split_at_mut(split);
    let (head_read, tail_read) = std::thread::scope(|scope| {
        let tail_read = (!tail.is_empty()).then(|| {
            scope.spawn(|| {
                // A handle of its own, so that the two reads keep their own positions.
                let mut file = std::fs::File::open(path)?;
                std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(split as u64))?;
                read_into(&mut file, tail)
            })
        });
        let head_read = read_into(&mut file, head);
        (head_read, tail_read.map_or(Ok(0), |read| read.join().expect("reading does not panic")))
    });
    let (head_read, tail_read) = (head_read.map_err(cannot_read)?, tail_read.map_err(cannot_read)?);
    let filled = head_read + tail_read;
    // A file that changed length while it was read (a gap between the parts, or a byte past
    // the length it had) is read again, whole.
    let mut grew = || -> std::io::Result<bool> {
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(length as u64))?;
        Ok(std::io::Read::read(&mut file, &mut [0])? > 0)
    };
    let changed =
        (head_read < split && tail_read > 0) || (filled == length && grew().map_err(cannot_read)?);
    if changed {
        return std::fs::read(path).map(FileBytes::Read).map_err(cannot_read);
    }
    Ok(FileBytes::Mapped(bytes, filled))
}

/// Fills `buffer` from `file` until the buffer is full or the file ends: the bytes read.
fn read_into(file: &mut std::fs::File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match std::io::Read::read(file, &mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

/// A snapshot file's bytes: mapped (see [`read_file`]), or read into a vector when empty.
enum FileBytes {
    Mapped(memmap2::MmapMut, usize),
    Read(Vec<u8>),
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(map, length) => &map[..*length],
            FileBytes::Read(bytes) => bytes,
        }
    }
}

pub fn parse_atria(bytes: &[u8]) -> Result<AtriaSnapshot, Problems> {
    let snapshot: AtriaSnapshot = parse_typed(bytes, SnapshotKind::Atria)?;
    let problems = check_atria(&snapshot);
    problems.into_result(snapshot)
}

pub fn parse_autotask(bytes: &[u8]) -> Result<AutotaskSnapshot, Problems> {
    let snapshot: AutotaskSnapshot = parse_typed(bytes, SnapshotKind::Autotask)?;
    let problems = check_autotask(&snapshot);
    problems.into_result(snapshot)
}

/// Fast path: typed deserialization straight from the bytes. Only when that fails is the slow
/// path taken (a `Value` checked against the JSON Schema) to name every problem with its path.
fn parse_typed<T: DeserializeOwned + HasFormat>(bytes: &[u8], kind: SnapshotKind) -> Result<T, Problems> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Problems::one(Problem::at("$", "the file is empty; expected a JSON snapshot")));
    }
    // Text checked as UTF-8 in one pass (tens of GB/s) is parsed without checking each string
    // again; anything else is parsed from the bytes, whose error names the place.
    let parsed = match std::str::from_utf8(bytes) {
        Ok(text) => de::with_document_length(bytes.len(), || serde_json::from_str::<T>(text)),
        Err(_) => de::with_document_length(bytes.len(), || serde_json::from_slice::<T>(bytes)),
    };
    match parsed {
        // The typed parse accepts any `format` string; the check is ours.
        Ok(value) if value.format() != kind.format() => {
            Err(Problems::one(wrong_format(Some(value.format()), kind)))
        }
        Ok(value) => Ok(value),
        Err(typed_error) => {
            Err(crate::problems::diagnose::<T>(bytes, kind.format(), || kind.schema(), &typed_error))
        }
    }
}

trait HasFormat {
    fn format(&self) -> &str;
}

impl HasFormat for AtriaSnapshot {
    fn format(&self) -> &str {
        &self.format
    }
}

impl HasFormat for AutotaskSnapshot {
    fn format(&self) -> &str {
        &self.format
    }
}

fn wrong_format(found: Option<&str>, kind: SnapshotKind) -> Problem {
    crate::problems::wrong_format(kind.format(), found)
}

/// Checks what the schema cannot: uniqueness, references, ranges and dates.
pub fn check_atria(snapshot: &AtriaSnapshot) -> Problems {
    let mut problems = Problems::default();
    if snapshot.format != ATRIA_FORMAT {
        problems.push(wrong_format(Some(&snapshot.format), SnapshotKind::Atria));
    }
    if snapshot.period.end_date < snapshot.period.start_date {
        problems.push(Problem::at("$.period.endDate", "the period ends before it starts"));
    }
    let mut codes = HashSet::with_capacity(snapshot.customers.len());
    for (index, customer) in snapshot.customers.iter().enumerate() {
        if customer.short_name.trim().is_empty() {
            problems.push(Problem::at(format!("$.customers[{index}].shortName"), "is empty"));
        }
        if !codes.insert(&*customer.short_name) {
            problems.push(Problem::at(
                format!("$.customers[{index}].shortName"),
                format!("duplicate customer code `{}`", customer.short_name),
            ));
        }
    }
    for (index, row) in snapshot.billing.iter().enumerate() {
        if !codes.contains(&*row.customer_code) {
            problems.push(Problem::at(
                format!("$.billing[{index}].customerCode"),
                format!("customer `{}` is not in `customers`", row.customer_code),
            ));
        }
        for (field, count) in
            [("lastMonthCount", row.last_month_count), ("thisMonthCount", row.this_month_count)]
        {
            if count > i32::MAX as u32 {
                problems.push(Problem::at(
                    format!("$.billing[{index}].{field}"),
                    format!("{count} is larger than Autotask's int32 units allow"),
                ));
            }
        }
    }
    problems
}

pub fn check_autotask(snapshot: &AutotaskSnapshot) -> Problems {
    let mut problems = Problems::default();
    if snapshot.format != AUTOTASK_FORMAT {
        problems.push(wrong_format(Some(&snapshot.format), SnapshotKind::Autotask));
    }
    let companies = unique_ids(&mut problems, "companies", snapshot.companies.iter().map(|c| c.id));
    let contracts = unique_ids(&mut problems, "contracts", snapshot.contracts.iter().map(|c| c.id));
    let services = unique_ids(&mut problems, "services", snapshot.services.iter().map(|s| s.id));
    let lines =
        unique_ids(&mut problems, "contractServices", snapshot.contract_services.iter().map(|l| l.id));
    unique_ids(&mut problems, "contractServiceUnits", snapshot.contract_service_units.iter().map(|u| u.id));
    // The unit rows, the biggest array, are checked on a second thread (the Atria file is
    // loaded by then: its core is free); their problems follow the other arrays' below.
    let (contracts_for_units, services_for_units) = (contracts.clone(), services.clone());
    std::thread::scope(|scope| {
        let units =
            scope.spawn(move || check_unit_rows(snapshot, &contracts_for_units, &lines, &services_for_units));
        for (index, contract) in snapshot.contracts.iter().enumerate() {
            let company = contract.company_id;
            dangling_id(&mut problems, "contracts", index, "companyID", "company", company, &companies);
        }
        for (index, line) in snapshot.contract_services.iter().enumerate() {
            let lines = "contractServices";
            dangling_id(&mut problems, lines, index, "contractID", "contract", line.contract_id, &contracts);
            dangling_id(&mut problems, lines, index, "serviceID", "service", line.service_id, &services);
        }
        problems.extend(units.join().expect("checking does not panic"));
    });
    for (index, contract) in snapshot.contracts.iter().enumerate() {
        if contract.end_date < contract.start_date {
            problems.push(Problem::at(format!("$.contracts[{index}].endDate"), "ends before it starts"));
        }
    }
    problems
}

/// The unit rows' part of [`check_autotask`]: references to nothing, then each row's own rules.
fn check_unit_rows(
    snapshot: &AutotaskSnapshot,
    contracts: &IdIndex,
    lines: &IdIndex,
    services: &IdIndex,
) -> Problems {
    let mut problems = Problems::default();
    let rows = &snapshot.contract_service_units;
    for (index, row) in rows.iter().enumerate() {
        let units = "contractServiceUnits";
        dangling_id(&mut problems, units, index, "contractID", "contract", row.contract_id, contracts);
        let line = row.contract_service_id;
        dangling_id(&mut problems, units, index, "contractServiceID", "contract service", line, lines);
        dangling_id(&mut problems, units, index, "serviceID", "service", row.service_id, services);
    }
    for (index, row) in rows.iter().enumerate() {
        let path = |field: &str| format!("$.contractServiceUnits[{index}].{field}");
        if let Some(line_index) = lines.get(row.contract_service_id) {
            let line = &snapshot.contract_services[line_index];
            if line.contract_id != row.contract_id || line.service_id != row.service_id {
                problems.push(Problem::at(
                    path("contractServiceID"),
                    format!(
                        "contract service {} belongs to contract {} and service {}, not {} and {}",
                        line.id, line.contract_id, line.service_id, row.contract_id, row.service_id
                    ),
                ));
            }
        }
        if row.end_date < row.start_date {
            problems.push(Problem::at(path("endDate"), "ends before it starts"));
        }
        if row.units > i32::MAX as u32 {
            problems.push(Problem::at(path("units"), "is larger than int32"));
        }
    }
    problems
}

/// A reference to an id `known` does not hold. The path is written only for a problem:
/// millions of references are checked per big load.
fn dangling_id(
    problems: &mut Problems,
    array: &str,
    index: usize,
    field: &str,
    what: &str,
    id: i64,
    known: &IdIndex,
) {
    if known.get(id).is_none() {
        problems
            .push(Problem::at(format!("$.{array}[{index}].{field}"), format!("{what} {id} does not exist")));
    }
}

/// Where each id of an array is.
#[derive(Clone)]
enum IdIndex {
    /// The ids in array order, when they strictly increase (as Autotask lists them): found by
    /// binary search, with no map of a million entries to build. References come in runs (a
    /// contract's lines, a line's unit rows), so the last position found is tried first, and the
    /// one after it: a million look-ups then miss the cache only when a run changes.
    Increasing {
        ids: Vec<i64>,
        last: Cell<usize>,
    },
    Mapped(HashMap<i64, usize>),
}

impl IdIndex {
    fn get(&self, id: i64) -> Option<usize> {
        match self {
            IdIndex::Increasing { ids, last } => {
                let at = last.get();
                let found = if ids.get(at) == Some(&id) {
                    Some(at)
                } else if ids.get(at + 1) == Some(&id) {
                    Some(at + 1)
                } else {
                    ids.binary_search(&id).ok()
                };
                if let Some(found) = found {
                    last.set(found);
                }
                found
            }
            IdIndex::Mapped(map) => map.get(&id).copied(),
        }
    }
}

/// Indexes each id to its position, reporting duplicates.
fn unique_ids(
    problems: &mut Problems,
    array: &str,
    ids: impl ExactSizeIterator<Item = i64> + Clone,
) -> IdIndex {
    if ids.clone().is_sorted_by(|a, b| a < b) {
        return IdIndex::Increasing { ids: ids.collect(), last: Cell::new(0) };
    }
    let mut seen = HashMap::with_capacity(ids.len());
    for (index, id) in ids.enumerate() {
        if let Some(first) = seen.insert(id, index) {
            seen.insert(id, first);
            problems.push(Problem::at(
                format!("$.{array}[{index}].id"),
                format!("duplicate id {id} (first at $.{array}[{first}])"),
            ));
        }
    }
    IdIndex::Mapped(seen)
}

// ---------------------------------------------------------------------------------------------
// Canonical form and digests

/// The snapshot with every array in a fixed order, so that digests and plans do not depend on
/// the order in which an API or a person listed things.
pub fn canonical_atria(snapshot: &AtriaSnapshot) -> AtriaSnapshot {
    let mut canonical = snapshot.clone();
    canonical.customers.sort_by(|a, b| a.short_name.cmp(&b.short_name));
    canonical.billing.sort_by(|a, b| {
        (
            &a.customer_code,
            &a.product_sku,
            &a.summary_grouping,
            a.billable,
            a.this_month_count,
            a.last_month_count,
        )
            .cmp(&(
                &b.customer_code,
                &b.product_sku,
                &b.summary_grouping,
                b.billable,
                b.this_month_count,
                b.last_month_count,
            ))
    });
    canonical
}

pub fn canonical_autotask(snapshot: &AutotaskSnapshot) -> AutotaskSnapshot {
    let mut canonical = snapshot.clone();
    canonical.companies.sort_by_key(|c| c.id);
    canonical.contracts.sort_by_key(|c| c.id);
    canonical.services.sort_by_key(|s| s.id);
    canonical.contract_services.sort_by_key(|l| l.id);
    canonical.contract_service_units.sort_by_key(|u| u.id);
    canonical
}

/// sha256 of the canonical form, streamed record by record without copying the snapshot.
pub fn atria_sha256(snapshot: &AtriaSnapshot) -> String {
    #[derive(Serialize)]
    struct Head<'a> {
        format: &'a str,
        period: &'a BillingPeriod,
        customers: Vec<&'a AtriaCustomer>,
    }
    let mut customers: Vec<&AtriaCustomer> = snapshot.customers.iter().collect();
    customers.sort_by(|a, b| a.short_name.cmp(&b.short_name));
    let mut billing: Vec<&BillingRow> = snapshot.billing.iter().collect();
    // The key is every field: rows it ties serialize alike, so an unstable sort (no buffer, faster
    // on a million rows) hashes the same bytes. Exports list each customer's rows together, the
    // customers in order: then sorting each customer's rows apart gives the same order with far
    // fewer comparisons.
    if billing.is_sorted_by(|a, b| a.customer_code <= b.customer_code) {
        // One customer's rows share their code: compared without it.
        let by_order =
            |a: &&BillingRow, b: &&BillingRow| order_within_customer(a).cmp(&order_within_customer(b));
        for rows in billing.chunk_by_mut(|a, b| a.customer_code == b.customer_code) {
            rows.sort_unstable_by(by_order);
        }
    } else {
        billing.sort_unstable_by(|a, b| billing_order(a).cmp(&billing_order(b)));
    }
    let mut hashing =
        CanonicalHasher::new(&Head { format: &snapshot.format, period: &snapshot.period, customers });
    hashing.array("billing", billing.into_iter(), ser::write_billing_row);
    hashing.finish()
}

pub fn autotask_sha256(snapshot: &AutotaskSnapshot) -> String {
    #[derive(Serialize)]
    struct Head<'a> {
        format: &'a str,
        companies: ById<'a, Company>,
        contracts: ById<'a, Contract>,
        services: ById<'a, Service>,
    }
    let mut hashing = CanonicalHasher::new(&Head {
        format: &snapshot.format,
        companies: ById(&snapshot.companies, |c| c.id),
        contracts: ById(&snapshot.contracts, |c| c.id),
        services: ById(&snapshot.services, |s| s.id),
    });
    let lines = ById(&snapshot.contract_services, |l| l.id);
    hashing.array("contractServices", lines.in_order(), ser::write_contract_service);
    let units = ById(&snapshot.contract_service_units, |u| u.id);
    hashing.array("contractServiceUnits", units.in_order(), ser::write_contract_service_unit);
    hashing.finish()
}

/// Hashes a canonical snapshot's compact JSON: its small head as serde writes it, then its big
/// arrays, element by element with the [`ser`] writers, through one reused buffer.
struct CanonicalHasher {
    hasher: Sha256,
    buffer: Vec<u8>,
}

impl CanonicalHasher {
    const FLUSH_AT: usize = 1 << 16;

    fn new(head: &impl Serialize) -> CanonicalHasher {
        let mut buffer = Vec::with_capacity(Self::FLUSH_AT + 4096);
        ser::json_value(&mut buffer, head);
        buffer.pop(); // the head's closing brace: the arrays come first.
        CanonicalHasher { hasher: Sha256::new(), buffer }
    }

    fn array<'a, T: 'a>(
        &mut self,
        key: &str,
        items: impl Iterator<Item = &'a T>,
        write: fn(&mut Vec<u8>, &T),
    ) {
        self.buffer.push(b',');
        ser::json_string(&mut self.buffer, key);
        self.buffer.extend_from_slice(b":[");
        for (index, item) in items.enumerate() {
            if index > 0 {
                self.buffer.push(b',');
            }
            write(&mut self.buffer, item);
            if self.buffer.len() >= Self::FLUSH_AT {
                self.hasher.update(&self.buffer);
                self.buffer.clear();
            }
        }
        self.buffer.push(b']');
    }

    fn finish(mut self) -> String {
        self.buffer.push(b'}');
        self.hasher.update(&self.buffer);
        hex::encode(self.hasher.finalize())
    }
}

/// An array in the order of its ids (a stable sort). Arrays that are in that order already, as
/// Autotask lists them, are taken as they are, with no vector of references.
struct ById<'a, T>(&'a [T], fn(&T) -> i64);

impl<'a, T> ById<'a, T> {
    fn in_order(&self) -> Box<dyn Iterator<Item = &'a T> + 'a> {
        let ById(items, id) = *self;
        if items.is_sorted_by_key(id) {
            Box::new(items.iter())
        } else {
            let mut sorted: Vec<&T> = items.iter().collect();
            sorted.sort_by_key(|item| id(item));
            Box::new(sorted.into_iter())
        }
    }
}

impl<T: Serialize> Serialize for ById<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.in_order())
    }
}

/// Every field of a billing row, the customer's code first; tuples compare field by field, so
/// this is the order of the code and then [`order_within_customer`].
type BillingOrder<'a> = (&'a str, OrderWithinCustomer<'a>);
type OrderWithinCustomer<'a> = (Option<&'a str>, &'a str, bool, u32, u32);

fn billing_order(row: &BillingRow) -> BillingOrder<'_> {
    (&row.customer_code, order_within_customer(row))
}

fn order_within_customer(row: &BillingRow) -> OrderWithinCustomer<'_> {
    (
        row.product_sku.as_deref(),
        &row.summary_grouping,
        row.billable,
        row.this_month_count,
        row.last_month_count,
    )
}

pub(crate) fn sha256_json<T: Serialize>(value: &T) -> String {
    let mut hasher = Sha256::new();
    let mut writer = std::io::BufWriter::with_capacity(1 << 16, HashWriter(&mut hasher));
    serde_json::to_writer(&mut writer, value).expect("snapshot types always serialize");
    std::io::Write::flush(&mut writer).expect("hashing cannot fail");
    drop(writer);
    hex::encode(hasher.finalize())
}

struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
