//! The API's endpoints by name: one table used for routing, statistics and fault targeting.

/// Each endpoint of the mock's Atria API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Endpoint {
    BillingPeriods,
    CurrentPeriod,
    PreviousPeriod,
    ResolvePeriod,
    PeriodByEndDate,
    Customers,
    Customer,
    Services,
    BillingSummary,
    BillingDetail,
}

impl Endpoint {
    pub const ALL: [Endpoint; 10] = [
        Endpoint::BillingPeriods,
        Endpoint::CurrentPeriod,
        Endpoint::PreviousPeriod,
        Endpoint::ResolvePeriod,
        Endpoint::PeriodByEndDate,
        Endpoint::Customers,
        Endpoint::Customer,
        Endpoint::Services,
        Endpoint::BillingSummary,
        Endpoint::BillingDetail,
    ];

    /// The route, in axum's syntax.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::BillingPeriods => "/api/v2/billingperiods",
            Endpoint::CurrentPeriod => "/api/v2/billingperiods/current",
            Endpoint::PreviousPeriod => "/api/v2/billingperiods/previous",
            Endpoint::ResolvePeriod => "/api/v2/billingperiods/resolve",
            Endpoint::PeriodByEndDate => "/api/v2/billingperiods/{end_date}",
            Endpoint::Customers => "/api/v2/customers",
            Endpoint::Customer => "/api/v2/customers/{short_name}",
            Endpoint::Services => "/api/v2/services",
            Endpoint::BillingSummary => "/api/billing/{end_date}",
            Endpoint::BillingDetail => "/api/billing/{end_date}/detail",
        }
    }

    /// The name used by `/__mock/stats` and `/__mock/faults`.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::BillingPeriods => "billing_periods",
            Endpoint::CurrentPeriod => "current_period",
            Endpoint::PreviousPeriod => "previous_period",
            Endpoint::ResolvePeriod => "resolve_period",
            Endpoint::PeriodByEndDate => "period_by_end_date",
            Endpoint::Customers => "customers",
            Endpoint::Customer => "customer",
            Endpoint::Services => "services",
            Endpoint::BillingSummary => "billing_summary",
            Endpoint::BillingDetail => "billing_detail",
        }
    }

    pub fn from_path(route: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|endpoint| endpoint.path() == route)
    }

    pub fn from_name(name: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|endpoint| endpoint.name() == name)
    }
}
