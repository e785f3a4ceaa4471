//! The job spec: typed YAML with a generated JSON Schema, validated before anything runs.
//!
//! It carries the seed's job parameters with typed values; secrets are references to an
//! environment variable or a file, never values.

mod connection;
mod import;
mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::codes::LogLevel;
use crate::problems::{Problem, Problems};

pub(crate) use connection::is_loopback;
pub use connection::is_placeholder_host;
pub use import::{ImportError, import_legacy, import_legacy_in_zone};

pub const DEFAULT_ZONE_DISCOVERY_URL: &str = "https://webservices.autotask.net/atservicesrest/";

/// A billsync job: what to sync, how to map it, and where the two systems are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "billsync job spec")]
pub struct JobSpec {
    /// Spec format version; always 1.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// A meaningful name for the job, shown in plans and logs.
    pub label: String,
    /// Cron expression: 5 fields, or 6 with seconds first (e.g. `0 22 26 * *`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// The IANA time zone of `schedule` and of run folder names, e.g. `Australia/Sydney`;
    /// default `UTC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// The least important log level shown: error | warning | info | verbose.
    #[serde(default)]
    pub log_level: LogLevel,
    /// `current`, `previous`, or `YYYY-MM-DD` for the period containing that date.
    #[serde(default)]
    pub billing_period: PeriodSelector,
    /// Atria customer codes to process; omitted or empty means all.
    #[serde(default)]
    pub customers: Vec<String>,
    /// false: changes take effect at the period start; true: at the plan's as-of time.
    #[serde(default)]
    pub pro_rated_transactions: bool,
    /// true: create missing contract lines (AT11) instead of reporting them (AT12).
    #[serde(default)]
    pub allow_create_items: bool,
    /// Which Autotask Service field an Atria SKU names.
    #[serde(default)]
    pub sku_type: SkuType,
    /// How an Atria Billing Identifier finds the Autotask company.
    #[serde(default)]
    pub customer_match: CustomerMatch,
    /// Explicit SKU → Autotask service id; several SKUs may share one service (a bundle).
    #[serde(default)]
    pub sku_map: BTreeMap<String, i64>,
    /// Per Atria customer code: pick a contract, or skip the customer.
    #[serde(default)]
    pub overrides: BTreeMap<String, CustomerOverride>,
    /// true: also zero lines of Atria-managed services that this customer is not billed for.
    #[serde(default)]
    pub zero_unbilled_lines: bool,
    #[serde(default)]
    pub guards: Guards,
    /// Where Atria is; needed only by the online commands. (Schema without `null`, so that
    /// problems inside the section are reported where they are.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "AtriaConnection")]
    pub atria: Option<AtriaConnection>,
    /// Where Autotask is, and the API user's credentials; needed only by the online commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "AutotaskConnection")]
    pub autotask: Option<AutotaskConnection>,
    /// Where to say that a plan is ready, applied, refused or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "NotifySpec")]
    pub notify: Option<NotifySpec>,
}

/// Which billing period a run processes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PeriodSelector {
    #[default]
    Current,
    Previous,
    /// The period containing this date.
    Containing(NaiveDate),
}

impl PeriodSelector {
    /// Parses `current`, `previous` or `YYYY-MM-DD` (case-insensitive words, as the seed's
    /// `"Current"` shows); anything else is AT19.
    pub fn parse(text: &str) -> Result<PeriodSelector, String> {
        let trimmed = text.trim();
        if trimmed.eq_ignore_ascii_case("current") {
            Ok(PeriodSelector::Current)
        } else if trimmed.eq_ignore_ascii_case("previous") {
            Ok(PeriodSelector::Previous)
        } else {
            NaiveDate::parse_from_str(trimmed, "%Y-%m-%d").map(PeriodSelector::Containing).map_err(|_| {
                format!(
                    "AT19 Incorrect billing period date or format recognized: `{text}` \
                     (expected `current`, `previous` or a date `YYYY-MM-DD`)"
                )
            })
        }
    }
}

impl fmt::Display for PeriodSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeriodSelector::Current => f.write_str("current"),
            PeriodSelector::Previous => f.write_str("previous"),
            PeriodSelector::Containing(date) => write!(f, "{date}"),
        }
    }
}

impl Serialize for PeriodSelector {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PeriodSelector {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        PeriodSelector::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for PeriodSelector {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PeriodSelector".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "`current`, `previous`, or `YYYY-MM-DD` (the period containing that date)",
            "type": "string",
            "pattern": "^([Cc][Uu][Rr][Rr][Ee][Nn][Tt]|[Pp][Rr][Ee][Vv][Ii][Oo][Uu][Ss]|[0-9]{4}-[0-9]{2}-[0-9]{2})$"
        })
    }
}

/// The seed's `SKUType`: which Service field the SKU holds, and its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SkuType {
    pub name: SkuField,
    #[serde(rename = "type")]
    pub value_type: SkuValueType,
}

impl Default for SkuType {
    fn default() -> Self {
        SkuType { name: SkuField::ServiceId, value_type: SkuValueType::Int }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SkuField {
    /// The SKU is the Autotask Service id (recommended: always unique).
    ServiceId,
    Name,
    InvoiceDescription,
    Description,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SkuValueType {
    Int,
    String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum CustomerMatch {
    /// The Billing Identifier is the Autotask company id.
    #[default]
    Id,
    /// The Billing Identifier is the Autotask company number.
    CompanyNumber,
}

/// A per-customer override: `{ contractId: 991 }` or `{ skip: true }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomerOverride {
    /// Use this contract instead of looking for the Recurring Service contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_id: Option<i64>,
    /// Leave this customer out of the job entirely.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip: bool,
}

/// Limits that turn a change into a skip (AT30) for a person to look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Guards {
    /// false: a line is never reduced to zero.
    #[serde(default = "yes")]
    pub allow_reduce_to_zero: bool,
    /// The largest decrease allowed on one line to a non-zero quantity, in percent of its
    /// current units (reductions to zero are governed by `allowReduceToZero`).
    #[serde(default = "hundred")]
    #[schemars(range(min = 0, max = 100))]
    pub max_decrease_percent: u8,
}

fn yes() -> bool {
    true
}

fn hundred() -> u8 {
    100
}

impl Default for Guards {
    fn default() -> Self {
        Guards { allow_reduce_to_zero: true, max_decrease_percent: 100 }
    }
}

/// A secret is a reference, never a value: `{ env: NAME }` or `{ file: PATH }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "env `{name}`"),
            SecretRef::File(path) => write!(f, "file `{}`", path.display()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AtriaConnection {
    /// The MSP's own Atria host, e.g. `https://atria.example.com`.
    pub base_url: String,
    pub token: SecretRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutotaskConnection {
    /// Blank: find the zone with `zoneUser`.
    #[serde(default)]
    pub base_url: String,
    /// Email of a valid Autotask user (usually the API user), for zone discovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_user: Option<String>,
    #[serde(default = "default_zone_discovery_url")]
    pub zone_discovery_url: String,
    pub username: SecretRef,
    pub secret: SecretRef,
    pub integration_code: SecretRef,
    /// Hosts besides `*.autotask.net` and loopback that may receive the credentials.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_hosts: Vec<String>,
}

fn default_zone_discovery_url() -> String {
    DEFAULT_ZONE_DISCOVERY_URL.to_owned()
}

impl JobSpec {
    /// The JSON Schema of the spec, as committed in `specs/job.schema.json`.
    pub fn schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(JobSpec)).expect("a generated schema is valid JSON")
    }

    /// The zone of the schedule and the run folders: `timezone`, or UTC when it is absent or
    /// invalid (a loaded spec has a valid one: `check` says so).
    pub fn zone(&self) -> chrono_tz::Tz {
        self.timezone
            .as_deref()
            .and_then(|name| crate::schedule::parse_zone(name).ok())
            .unwrap_or(chrono_tz::Tz::UTC)
    }

    /// The canonical form used for the plan's `specSha256`: the customer filter as a set.
    pub fn canonical(&self) -> JobSpec {
        let mut canonical = self.clone();
        let customers: BTreeSet<String> = canonical.customers.iter().map(|c| c.trim().to_owned()).collect();
        canonical.customers = customers.into_iter().collect();
        canonical
    }

    pub fn sha256(&self) -> String {
        crate::snapshot::sha256_json(&self.canonical())
    }
}

/// Reads and validates a job spec file.
pub fn load(path: &Path) -> Result<JobSpec, Problems> {
    load_with_warnings(path).map(|(spec, _)| spec)
}

/// [`load`], and the warnings about a valid spec (placeholder hosts), placed like problems.
pub fn load_with_warnings(path: &Path) -> Result<(JobSpec, Problems), Problems> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| Problems::one(Problem::file(path, format!("cannot read: {err}"))))?;
    parse_with_warnings(&text)
        .map(|(spec, warnings)| (spec, warnings.in_file(path)))
        .map_err(|problems| problems.in_file(path))
}

/// Parses and validates spec text: YAML syntax (no duplicate keys, strict booleans, bounded
/// aliases), then the JSON Schema, then the typed spec, then rules that span fields.
pub fn parse(text: &str) -> Result<JobSpec, Problems> {
    parse_with_warnings(text).map(|(spec, _)| spec)
}

/// [`parse`], and the warnings about a valid spec (each message starts with `warning:`).
pub fn parse_with_warnings(text: &str) -> Result<(JobSpec, Problems), Problems> {
    let value = yaml::to_json_value(text)?;
    let schema_problems = yaml::schema_problems_located(text, &JobSpec::schema(), &value);
    if !schema_problems.is_empty() {
        return Err(schema_problems);
    }
    let spec: JobSpec = yaml::from_str(text)?;
    let mut warnings = Problems::default();
    let problems = check(&spec, &mut warnings);
    yaml::locate(text, problems).into_result((spec, yaml::locate(text, warnings)))
}

/// Rules the schema cannot say.
fn check(spec: &JobSpec, warnings: &mut Problems) -> Problems {
    let mut problems = Problems::default();
    if let Some(schedule) = &spec.schedule
        && let Err(error) = crate::schedule::Schedule::parse(schedule)
    {
        problems.push(Problem::at("$.schedule", error.to_string()));
    }
    if let Some(timezone) = &spec.timezone
        && let Err(message) = crate::schedule::parse_zone(timezone)
    {
        problems.push(Problem::at("$.timezone", message));
    }
    let sku_type_ok = match spec.sku_type.name {
        SkuField::ServiceId => spec.sku_type.value_type == SkuValueType::Int,
        _ => spec.sku_type.value_type == SkuValueType::String,
    };
    if !sku_type_ok {
        problems.push(Problem::at(
            "$.skuType.type",
            "`serviceId` takes type `int`; `name`, `invoiceDescription` and `description` take type `string`",
        ));
    }
    let mut seen = BTreeSet::new();
    for (index, code) in spec.customers.iter().enumerate() {
        if code.trim().is_empty() {
            problems.push(Problem::at(format!("$.customers[{index}]"), "is empty"));
        } else if !seen.insert(code.trim()) {
            problems.push(Problem::at(format!("$.customers[{index}]"), format!("`{code}` is listed twice")));
        }
    }
    for (code, customer_override) in &spec.overrides {
        if customer_override.skip && customer_override.contract_id.is_some() {
            problems.push(Problem::at(
                format!("$.overrides.{code}"),
                "give either `contractId` or `skip: true`, not both",
            ));
        }
    }
    // A zone user that is given is checked as an e-mail address with the other settings.
    if let Some(autotask) = &spec.autotask
        && autotask.base_url.trim().is_empty()
        && autotask.zone_user.as_deref().is_none_or(|user| user.trim().is_empty())
    {
        problems.push(Problem::at(
            "$.autotask.zoneUser",
            "AT17 user email is not valid: with a blank `baseUrl`, `zoneUser` must be the email of an Autotask user",
        ));
    }
    connection::check(spec, &mut problems, warnings);
    problems
}

#[cfg(test)]
mod tests;

/// `notify:` in the job spec.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotifySpec {
    /// A Slack or Teams incoming webhook (or any endpoint taking `{"text": …}` JSON).
    pub webhook: WebhookSpec,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookSpec {
    /// The webhook URL, a secret: `{ env: NAME }` or `{ file: PATH }`.
    pub url: SecretRef,
}
