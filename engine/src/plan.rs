//! Plan types (`billsync.plan/v1`): what compile decided, in a stable JSON form that is
//! reviewed, committed and later applied.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::codes::{Code, LogLevel};
use crate::problems::{Problem, Problems};
use crate::snapshot::BillingPeriod;
use crate::spec::{CustomerMatch, CustomerOverride, Guards, SkuType};

pub const PLAN_FORMAT: &str = "billsync.plan/v1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plan {
    /// Always `billsync.plan/v1`.
    pub format: String,
    /// sha256 of the canonical spec, both canonical snapshots and `asOf`.
    pub plan_id: String,
    pub as_of: DateTime<Utc>,
    pub job: JobInfo,
    pub period: BillingPeriod,
    pub inputs: Inputs,
    pub settings: Settings,
    pub summary: Summary,
    pub actions: Vec<Action>,
    pub log: Vec<LogEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobInfo {
    pub label: String,
    pub spec_sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Inputs {
    pub atria_sha256: String,
    pub autotask_sha256: String,
}

/// The spec's settings as compile used them; never any connection detail or secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    pub billing_period: String,
    pub customers: Vec<String>,
    pub pro_rated_transactions: bool,
    pub allow_create_items: bool,
    pub sku_type: SkuType,
    pub customer_match: CustomerMatch,
    pub sku_map: BTreeMap<String, i64>,
    pub overrides: BTreeMap<String, CustomerOverride>,
    pub zero_unbilled_lines: bool,
    pub guards: Guards,
    pub log_level: LogLevel,
    pub effective_date: DateTime<Utc>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Summary {
    pub update: usize,
    pub create: usize,
    pub zero: usize,
    pub unchanged: usize,
    pub skip: usize,
    /// How many actions carry each code.
    pub by_code: BTreeMap<Code, usize>,
    /// The sum of the changes' `monthlyAmountChange` (an exact decimal, as a string); changes
    /// with no price are left out and counted in `unpricedChanges`.
    #[serde(default)]
    pub monthly_amount_change: Decimal,
    /// The sum of the changes' `proratedAmountChange`, when the plan is pro-rated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prorated_amount_change: Option<Decimal>,
    /// Changes whose line and service have no price: their amount is unknown, not 0.
    #[serde(default)]
    pub unpriced_changes: usize,
    /// `monthlyAmountChange` per customer code, for customers with a priced change.
    #[serde(default)]
    pub monthly_amount_change_by_customer: BTreeMap<String, Decimal>,
}

impl Summary {
    pub fn of(actions: &[Action]) -> Summary {
        let mut summary = Summary::default();
        for action in actions {
            match action.kind {
                ActionKind::Update => summary.update += 1,
                ActionKind::Create => summary.create += 1,
                ActionKind::Zero => summary.zero += 1,
                ActionKind::Unchanged => summary.unchanged += 1,
                ActionKind::Skip => summary.skip += 1,
            }
            *summary.by_code.entry(action.code).or_default() += 1;
            if !action.kind.is_change() {
                continue;
            }
            match action.monthly_amount_change.flatten() {
                Some(amount) => {
                    summary.monthly_amount_change += amount;
                    *summary
                        .monthly_amount_change_by_customer
                        .entry(action.customer_code.clone())
                        .or_default() += amount;
                }
                None => summary.unpriced_changes += 1,
            }
            if let Some(prorated) = action.prorated_amount_change.flatten() {
                *summary.prorated_amount_change.get_or_insert_default() += prorated;
            }
        }
        summary
    }

    /// Updates, creates and zeroes: what apply would write.
    pub fn changes(&self) -> usize {
        self.update + self.create + self.zero
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    Update,
    Create,
    Zero,
    Unchanged,
    Skip,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Update => "update",
            ActionKind::Create => "create",
            ActionKind::Zero => "zero",
            ActionKind::Unchanged => "unchanged",
            ActionKind::Skip => "skip",
        }
    }

    pub fn is_change(self) -> bool {
        matches!(self, ActionKind::Update | ActionKind::Create | ActionKind::Zero)
    }
}

/// One decision about one customer, contract line or billing row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Action {
    pub kind: ActionKind,
    pub code: Code,
    pub customer_code: String,
    pub customer_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_service_id: Option<i64>,
    /// The Atria SKU (several, comma-separated, when a bundle maps to one service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// The service name, or the Atria line description when no service was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_date: Option<DateTime<Utc>>,
    /// For a change: the line's `adjustedPrice`, else its `unitPrice`, else the service's;
    /// `null` when none of them is set (the amount is then unknown, never 0). Absent on
    /// other actions.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "present_or_null")]
    #[schemars(with = "Option<Decimal>")]
    pub unit_price: Option<Option<Decimal>>,
    /// For a change: `unitPrice × (to − from)`, per month; `null` with no price.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "present_or_null")]
    #[schemars(with = "Option<Decimal>")]
    pub monthly_amount_change: Option<Option<Decimal>>,
    /// For a change in a pro-rated plan: the monthly amount × days left in the period (from the
    /// effective date, inclusive) ÷ days in the period, to 6 decimal places (a share of days has
    /// no exact decimal); `null` with no price.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "present_or_null")]
    #[schemars(with = "Option<Decimal>")]
    pub prorated_amount_change: Option<Option<Decimal>>,
    pub message: String,
}

/// A field that is absent (`None`), present as `null` (`Some(None)`) or present with a value:
/// a change with no price says so with `null`, while other actions carry no price field at all.
mod present_or_null {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(
        value: &Option<Option<T>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(inner) => inner.serialize(serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}

/// One line of the AT log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogEntry {
    pub code: Code,
    pub level: LogLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_code: Option<String>,
    pub message: String,
}

impl Plan {
    /// The stable JSON text of the plan (pretty, with a final newline).
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("plans always serialize");
        text.push('\n');
        text
    }

    /// Writes [`Plan::to_json`]'s text to `writer` without building it in memory first.
    pub fn write_json(&self, writer: impl std::io::Write) -> std::io::Result<()> {
        let mut writer = std::io::BufWriter::with_capacity(1 << 16, writer);
        serde_json::to_writer_pretty(&mut writer, self)?;
        writer.write_all(b"\n")?;
        writer.flush()
    }

    pub fn from_json(bytes: &[u8]) -> Result<Plan, Problems> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(Problems::one(Problem::at("$", "the file is empty; expected a billsync plan")));
        }
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|error| {
            Problems::one(Problem::at(
                format!("line {} column {}", error.line(), error.column()),
                "invalid JSON",
            ))
        })?;
        let format = value.get("format").and_then(|format| format.as_str());
        if format != Some(PLAN_FORMAT) {
            let found = format.map_or("nothing".to_owned(), |f| format!("`{f}`"));
            return Err(Problems::one(Problem::at(
                "$.format",
                format!("expected `{PLAN_FORMAT}`, found {found}"),
            )));
        }
        serde_json::from_value(value).map_err(|error| {
            let schema = serde_json::to_value(schemars::schema_for!(Plan)).expect("schema serializes");
            let value: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
            let problems = crate::problems::schema_problems(&schema, &value);
            if problems.is_empty() { Problems::one(Problem::at("$", error.to_string())) } else { problems }
        })
    }

    pub fn load(path: &Path) -> Result<Plan, Problems> {
        let bytes = std::fs::read(path)
            .map_err(|err| Problems::one(Problem::file(path, format!("cannot read: {err}"))))?;
        Plan::from_json(&bytes).map_err(|problems| problems.in_file(path))
    }

    pub fn has_changes(&self) -> bool {
        self.summary.changes() > 0
    }
}
