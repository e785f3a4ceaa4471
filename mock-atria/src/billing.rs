//! What the mock derives from summary rows: the service catalogue, the summary as the API shows
//! it (filters, aggregation), and the detail rows (one per unit), generated deterministically.

use crate::seed::{AtriaCustomer, BillingRow};
use chrono::{Days, NaiveDate};

use crate::periods::PeriodData;
use crate::wire::{DetailAction, DetailRowView, PlanView, ServiceView, SkuType, SummaryRowView};

/// Groupings Atria bills once per customer rather than per user (its default display patterns).
const CUSTOMER_LEVEL_GROUPINGS: [&str; 2] = ["Tenants", "Domain Names"];

/// Our inference: rows without a SKU and the customer-level groupings are billed per customer.
pub fn sku_type(row: &BillingRow) -> SkuType {
    let grouping = row.summary_grouping.as_str();
    if row.product_sku.is_none()
        || CUSTOMER_LEVEL_GROUPINGS.contains(&grouping)
        || grouping.ends_with("(Assigned to Customer)")
    {
        SkuType::Customer
    } else {
        SkuType::User
    }
}

/// A service is a summary grouping; its plans are the SKUs seen under it.
pub fn plan_name(row: &BillingRow) -> String {
    match &row.product_sku {
        Some(sku) => format!("{} (SKU {sku})", row.summary_grouping),
        None => row.summary_grouping.clone(),
    }
}

/// The service catalogue: one service per summary grouping, in order of first appearance over
/// the periods (sorted by start date) and their rows.
pub fn services(periods: &[PeriodData]) -> Vec<ServiceView> {
    let mut services: Vec<ServiceView> = Vec::new();
    for row in periods.iter().flat_map(|period| &period.billing) {
        let plan =
            PlanView { plan_name: plan_name(row), sku: row.product_sku.clone(), sku_type: sku_type(row) };
        match services.iter_mut().find(|service| service.name == row.summary_grouping) {
            Some(service) => {
                if !service.plans.iter().any(|known| known.sku == plan.sku) {
                    service.plans.push(plan);
                }
            }
            None => services.push(ServiceView {
                service_id: services.len() as u64 + 1,
                name: row.summary_grouping.clone(),
                plans: vec![plan],
            }),
        }
    }
    services
}

/// The filters of the summary and detail endpoints.
#[derive(Clone, Debug, Default)]
pub struct RowFilter {
    pub customer: Option<String>,
    pub billable: Option<bool>,
}

impl RowFilter {
    pub fn keeps(&self, row: &BillingRow) -> bool {
        self.customer.as_ref().is_none_or(|code| &row.customer_code == code)
            && self.billable.is_none_or(|billable| row.billable == billable)
    }
}

/// The summary rows of a period, filtered; merged across customers (by SKU, grouping and
/// billable flag, in order of first appearance) unless `aggregate_by_customer`.
pub fn summary_rows(
    period: &PeriodData,
    filter: &RowFilter,
    aggregate_by_customer: bool,
) -> Vec<SummaryRowView> {
    let mut rows: Vec<SummaryRowView> = Vec::new();
    for row in period.billing.iter().filter(|row| filter.keeps(row)) {
        let view = summary_view(row, find_customer(&period.customers, &row.customer_code));
        if aggregate_by_customer {
            rows.push(view);
            continue;
        }
        let same_product = |known: &&mut SummaryRowView| {
            known.product_sku == view.product_sku
                && known.summary_grouping == view.summary_grouping
                && known.billable == view.billable
        };
        match rows.iter_mut().find(same_product) {
            Some(known) => {
                known.last_month_count += view.last_month_count;
                known.this_month_count += view.this_month_count;
                known.difference += view.difference;
            }
            None => rows.push(SummaryRowView {
                customer_code: None,
                customer_name: None,
                customer_account_code: None,
                ..view
            }),
        }
    }
    rows
}

fn find_customer<'a>(customers: &'a [AtriaCustomer], code: &str) -> Option<&'a AtriaCustomer> {
    customers.iter().find(|customer| customer.short_name == code)
}

fn summary_view(row: &BillingRow, customer: Option<&AtriaCustomer>) -> SummaryRowView {
    SummaryRowView {
        customer_code: Some(row.customer_code.clone()),
        customer_name: customer.map(|customer| customer.name.clone()),
        customer_account_code: customer.and_then(|customer| customer.billing_identifier.clone()),
        product_sku: row.product_sku.clone(),
        sku_type: sku_type(row),
        billable: row.billable,
        summary_grouping: row.summary_grouping.clone(),
        last_month_count: u64::from(row.last_month_count),
        difference: i64::from(row.this_month_count) - i64::from(row.last_month_count),
        this_month_count: u64::from(row.this_month_count),
    }
}

/// A run of identical detail rows: `count` units of one summary row with one action. Detail rows
/// are never materialised in bulk (a count can be two billion); pages are cut from segments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub row_index: usize,
    pub action: DetailAction,
    pub count: u64,
    /// The id of the segment's first row; ids number every unit of the period, unfiltered.
    pub first_id: u64,
    /// The first unit's user number within its summary row (users are numbered per row).
    pub first_user: u64,
}

/// Carried units are those both months share; the rest of this month is Added, the rest of last
/// month Removed. So Added + Carried = thisMonthCount and Removed + Carried = lastMonthCount.
pub fn segments(period: &PeriodData) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut next_id = 1;
    for (row_index, row) in period.billing.iter().enumerate() {
        let (last, this) = (u64::from(row.last_month_count), u64::from(row.this_month_count));
        let carried = last.min(this);
        let runs = [
            (DetailAction::Carried, carried, 1),
            (DetailAction::Added, this - carried, carried + 1),
            (DetailAction::Removed, last - carried, this + 1),
        ];
        for (action, count, first_user) in runs {
            if count > 0 {
                segments.push(Segment { row_index, action, count, first_id: next_id, first_user });
                next_id += count;
            }
        }
    }
    segments
}

/// The detail rows `offset..offset + limit` among those the filter keeps, and their total.
pub fn detail_page(
    period: &PeriodData,
    filter: &RowFilter,
    offset: u64,
    limit: u64,
) -> (Vec<DetailRowView>, u64) {
    let kept: Vec<Segment> = segments(period)
        .into_iter()
        .filter(|segment| filter.keeps(&period.billing[segment.row_index]))
        .collect();
    let total = kept.iter().map(|segment| segment.count).sum();
    let mut rows = Vec::new();
    let mut skip = offset;
    for segment in kept {
        if rows.len() as u64 >= limit {
            break;
        }
        if skip >= segment.count {
            skip -= segment.count;
            continue;
        }
        let take = (segment.count - skip).min(limit - rows.len() as u64);
        for unit in skip..skip + take {
            rows.push(detail_row(period, &segment, unit));
        }
        skip = 0;
    }
    (rows, total)
}

fn detail_row(period: &PeriodData, segment: &Segment, unit: u64) -> DetailRowView {
    let row = &period.billing[segment.row_index];
    let customer = find_customer(&period.customers, &row.customer_code);
    let customer_name = customer.map_or(row.customer_code.as_str(), |customer| customer.name.as_str());
    let id = segment.first_id + unit;
    let user_number = segment.first_user + unit;
    let sku_type = sku_type(row);
    let plan = plan_name(row);
    let (line_description, user_upn, user_full_name) = match sku_type {
        SkuType::Customer => (format!("{} (Assigned to Customer)", row.summary_grouping), None, None),
        SkuType::User => (
            format!("{}, {plan}", row.summary_grouping),
            Some(format!("user{user_number}@{}.example.com", row.customer_code.to_lowercase())),
            Some(format!("User {user_number} of {customer_name}")),
        ),
    };
    // Carried units date from the period start; changes are spread over the period's days.
    let actioned_date = match segment.action {
        DetailAction::Carried => period.start_date,
        DetailAction::Added | DetailAction::Removed => {
            day_in_period(period.start_date, (id - 1) % period.length_in_days())
        }
    };
    let actioned_by = match segment.action {
        DetailAction::Carried => "Atria billing (carried)",
        DetailAction::Added | DetailAction::Removed => "mock-atria provisioning",
    };
    DetailRowView {
        id,
        customer_code: row.customer_code.clone(),
        service_name: row.summary_grouping.clone(),
        service_plan_name: plan,
        sku: row.product_sku.clone(),
        sku_type,
        billable: row.billable,
        non_billable_reason: (!row.billable).then(|| "Excluded by billing rule".to_owned()),
        line_description,
        summary_description: row.summary_grouping.clone(),
        action: segment.action,
        actioned_date,
        actioned_by: actioned_by.to_owned(),
        user_upn,
        user_full_name,
    }
}

fn day_in_period(start: NaiveDate, offset: u64) -> NaiveDate {
    start.checked_add_days(Days::new(offset)).unwrap_or(start)
}

#[cfg(test)]
mod tests {
    use crate::seed::PeriodStatus;

    use super::*;

    fn row(
        code: &str,
        sku: Option<&str>,
        grouping: &str,
        billable: bool,
        last: u32,
        this: u32,
    ) -> BillingRow {
        BillingRow {
            customer_code: code.to_owned(),
            product_sku: sku.map(str::to_owned),
            summary_grouping: grouping.to_owned(),
            billable,
            last_month_count: last,
            this_month_count: this,
        }
    }

    fn period(billing: Vec<BillingRow>) -> PeriodData {
        PeriodData {
            start_date: "2026-10-26".parse().expect("date"),
            end_date: "2026-11-25".parse().expect("date"),
            seeded_status: PeriodStatus::Open,
            customers: Vec::new(),
            billing,
        }
    }

    #[test]
    fn detail_actions_add_up_to_the_summary_counts() {
        let period = period(vec![
            row("A", Some("1"), "M365", true, 3, 5),
            row("A", Some("2"), "Exchange", true, 4, 1),
        ]);
        let (rows, total) = detail_page(&period, &RowFilter::default(), 0, 100);
        assert_eq!(total, 9);
        let count = |sku: &str, action: DetailAction| {
            rows.iter().filter(|r| r.sku.as_deref() == Some(sku) && r.action == action).count()
        };
        assert_eq!((count("1", DetailAction::Carried), count("1", DetailAction::Added)), (3, 2));
        assert_eq!((count("2", DetailAction::Carried), count("2", DetailAction::Removed)), (1, 3));
        let ids: Vec<u64> = rows.iter().map(|r| r.id).collect();
        assert_eq!(ids, (1..=9).collect::<Vec<_>>());
    }

    #[test]
    fn huge_counts_are_paged_without_materialising() {
        let period = period(vec![row("A", Some("1"), "M365", true, 0, i32::MAX as u32)]);
        let (rows, total) = detail_page(&period, &RowFilter::default(), u64::from(i32::MAX as u32) - 2, 1000);
        assert_eq!((rows.len(), total), (2, i32::MAX as u64));
    }

    #[test]
    fn aggregation_merges_customers_by_product() {
        let period = period(vec![
            row("A", Some("1"), "M365", true, 1, 2),
            row("B", Some("1"), "M365", true, 3, 4),
            row("B", None, "Tenants", true, 1, 1),
        ]);
        let merged = summary_rows(&period, &RowFilter::default(), false);
        assert_eq!(merged.len(), 2);
        assert_eq!((merged[0].last_month_count, merged[0].this_month_count, merged[0].difference), (4, 6, 2));
        assert_eq!(merged[0].customer_code, None);
        assert_eq!(merged[1].sku_type, SkuType::Customer);
    }

    #[test]
    fn services_follow_groupings_and_skus() {
        let period =
            period(vec![row("A", Some("1"), "M365", true, 1, 2), row("B", Some("2"), "M365", true, 3, 4)]);
        let catalogue = services(&[period]);
        assert_eq!(catalogue.len(), 1);
        assert_eq!(catalogue[0].plans.len(), 2);
    }
}
