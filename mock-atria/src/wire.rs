//! The JSON shapes the mock speaks (our design of Atria's API, `reference/atria-api.md` §3).
//!
//! Every type is `Serialize + Deserialize` so that tests and clients can read answers back.

use crate::seed::PeriodStatus;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// `GET /api/v2/billingperiods[/…]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeriodView {
    /// Stable: the end date as `yyyymmdd`, so adding a period never renumbers the others.
    pub id: u32,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub status: PeriodStatus,
    pub is_current: bool,
}

/// `GET /api/v2/customers[/…]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerView {
    pub id: u64,
    pub short_name: String,
    pub name: String,
    pub billing_identifier: Option<String>,
    pub parent_customer_id: Option<u64>,
    pub billed_by_customer_id: u64,
    pub enabled: bool,
}

/// Whether a SKU is billed once per customer or once per user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SkuType {
    Customer,
    User,
}

/// `GET /api/v2/services`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceView {
    pub service_id: u64,
    pub name: String,
    pub plans: Vec<PlanView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanView {
    pub plan_name: String,
    pub sku: Option<String>,
    pub sku_type: SkuType,
}

/// One row of `GET /api/billing/{enddate}`; names follow Atria's summary export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryRowView {
    /// Null only when `aggregateByCustomer=false` merges customers.
    pub customer_code: Option<String>,
    pub customer_name: Option<String>,
    pub customer_account_code: Option<String>,
    pub product_sku: Option<String>,
    pub sku_type: SkuType,
    pub billable: bool,
    pub summary_grouping: String,
    pub last_month_count: u64,
    pub difference: i64,
    /// The quantity billsync pushes to Autotask.
    pub this_month_count: u64,
}

/// What happened to one unit during the period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DetailAction {
    Added,
    Removed,
    Carried,
}

/// One row of `GET /api/billing/{enddate}/detail`: one unit (one user or one customer-level item).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetailRowView {
    pub id: u64,
    pub customer_code: String,
    pub service_name: String,
    pub service_plan_name: String,
    pub sku: Option<String>,
    pub sku_type: SkuType,
    pub billable: bool,
    pub non_billable_reason: Option<String>,
    pub line_description: String,
    pub summary_description: String,
    pub action: DetailAction,
    pub actioned_date: NaiveDate,
    pub actioned_by: String,
    pub user_upn: Option<String>,
    pub user_full_name: Option<String>,
}

/// Every paged list: `{items, page, pageSize, totalCount}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub page_size: u32,
    pub total_count: u64,
}

/// Every error: `{error: "snake_code", message, traceId}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
    pub trace_id: String,
}
