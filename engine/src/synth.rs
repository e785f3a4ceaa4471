//! Synthetic snapshot pairs for property tests, scale fixtures (`cargo xtask gen`) and
//! benchmarks: deterministic for a seed, and a realistic mix of every case compile meets.

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};

use crate::snapshot::{
    ATRIA_FORMAT, AUTOTASK_FORMAT, AtriaCustomer, AtriaSnapshot, AutotaskSnapshot, BillingPeriod, BillingRow,
    CONTRACT_STATUS_ACTIVE, CONTRACT_TYPE_RECURRING_SERVICE, Company, Contract, ContractService,
    ContractServiceUnit, CustomerStatus, PeriodStatus, Service,
};

/// How big a world to make.
#[derive(Clone, Copy, Debug)]
pub struct SynthConfig {
    pub customers: usize,
    pub rows_per_customer: usize,
    pub seed: u64,
}

/// SplitMix64: tiny, fast, and the same numbers on every platform and crate version.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 { 0 } else { self.next() % bound }
    }

    /// True with `percent` % probability.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const PRODUCTS: [&str; 12] = [
    "Microsoft 365 Business Premium",
    "Microsoft 365 Business Basic",
    "Exchange Online Plan 1",
    "Defender for Business",
    "Azure Backup",
    "Intune",
    "Teams Phone",
    "Power BI Pro",
    "SharePoint Storage",
    "Hosted Desktop",
    "Email Security",
    "Domain Name",
];

/// Generates an Atria snapshot and an Autotask snapshot that fit together, with customers
/// missing a billing identifier, unknown companies, missing or duplicate contracts, rows
/// without SKU or with unknown SKUs, missing lines, deprovisioned customers, and lines whose
/// units are equal, higher or lower than billed.
pub fn generate(config: SynthConfig) -> (AtriaSnapshot, AutotaskSnapshot) {
    let mut rng = Rng(config.seed);
    let start = NaiveDate::from_ymd_opt(2026, 9, 26).expect("a valid date");
    let end = NaiveDate::from_ymd_opt(2026, 10, 25).expect("a valid date");
    let period_start = start.and_time(NaiveTime::MIN).and_utc();
    // Autotask sends a unit row's last day as midnight.
    let period_end = end.and_time(NaiveTime::MIN).and_utc();
    let contract_start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("a valid time");
    let contract_end = Utc.with_ymd_and_hms(2027, 12, 31, 0, 0, 0).single().expect("a valid time");

    let service_count = (config.rows_per_customer * 2).clamp(12, 5_000);
    let services: Vec<Service> = (0..service_count)
        .map(|index| {
            let product = PRODUCTS[index % PRODUCTS.len()];
            let name =
                if index < PRODUCTS.len() { product.to_owned() } else { format!("{product} #{index}") };
            let price = 2.0 + (index % 40) as f64;
            Service {
                id: index as i64 + 1,
                name: name.as_str().into(),
                description: Some(format!("{name} per unit")),
                invoice_description: Some(name),
                unit_price: Some(price),
                unit_cost: Some(price * 0.8),
                is_active: true,
            }
        })
        .collect();

    let mut atria = AtriaSnapshot {
        format: ATRIA_FORMAT.to_owned(),
        period: BillingPeriod { start_date: start, end_date: end, status: PeriodStatus::Closed },
        customers: Vec::with_capacity(config.customers),
        billing: Vec::with_capacity(config.customers * config.rows_per_customer),
    };
    let mut autotask = AutotaskSnapshot {
        format: AUTOTASK_FORMAT.to_owned(),
        companies: Vec::new(),
        contracts: Vec::new(),
        services,
        contract_services: Vec::new(),
        contract_service_units: Vec::new(),
    };
    let mut next_contract_id = 200_000_i64;
    let mut next_line_id = 3_000_000_i64;

    for customer_index in 0..config.customers {
        let code = format!("C{customer_index:06}");
        let name = format!("Customer {customer_index}");
        let company_id = 100_000 + customer_index as i64;
        let billing_identifier = match rng.below(100) {
            0..=1 => None,                                         // AT04
            2 => Some(format!("{}", 90_000_000 + customer_index)), // AT05
            _ => Some(company_id.to_string()),
        };
        let status = if rng.chance(5) { CustomerStatus::Deprovisioned } else { CustomerStatus::Active };
        atria.customers.push(AtriaCustomer {
            short_name: code.as_str().into(),
            name: name.as_str().into(),
            billing_identifier,
            status,
        });
        autotask.companies.push(Company {
            id: company_id,
            company_name: name,
            company_number: Some(format!("N-{customer_index}")),
            company_type: Some(1),
            is_active: true,
        });

        let contract_count = match rng.below(100) {
            0..=1 => 0, // AT06
            2 => 2,     // AT25
            _ => 1,
        };
        let mut contract_id = None;
        for _ in 0..contract_count {
            next_contract_id += 1;
            contract_id.get_or_insert(next_contract_id);
            autotask.contracts.push(Contract {
                id: next_contract_id,
                company_id,
                contract_name: "Recurring Services".to_owned(),
                contract_number: Some(format!("RS-{next_contract_id}")),
                contract_type: CONTRACT_TYPE_RECURRING_SERVICE,
                status: CONTRACT_STATUS_ACTIVE,
                start_date: contract_start,
                end_date: contract_end,
            });
        }

        // Billing rows: mostly one per service, sometimes two rows (a bundle) on one service.
        let first_service = rng.below(service_count as u64) as usize;
        let deprovisioned = status == CustomerStatus::Deprovisioned;
        for row_index in 0..config.rows_per_customer {
            let service_index = (first_service + row_index * 4 / 5) % service_count;
            let service_id = service_index as i64 + 1;
            let count = if deprovisioned { 0 } else { rng.below(60) as u32 };
            let product_sku = match rng.below(100) {
                0..=2 => None,                                          // AT07
                3..=4 => Some(format!("UNKNOWN-{}", rng.below(1_000))), // AT08
                _ => Some(service_id.to_string()),
            };
            atria.billing.push(BillingRow {
                customer_code: code.as_str().into(),
                product_sku: product_sku.map(Into::into),
                summary_grouping: format!("{} (row {row_index})", PRODUCTS[service_index % PRODUCTS.len()])
                    .into(),
                billable: !rng.chance(4),
                last_month_count: count.saturating_sub(rng.below(3) as u32),
                this_month_count: count,
            });
            let Some(contract_id) = contract_id else { continue };
            if row_index > 0 && (first_service + (row_index - 1) * 4 / 5) % service_count == service_index {
                continue; // the line exists already: this row joins a bundle
            }
            if rng.chance(6) {
                continue; // no line: AT11 or AT12
            }
            next_line_id += 1;
            let unit_price = autotask.services[service_index].unit_price;
            autotask.contract_services.push(ContractService {
                id: next_line_id,
                contract_id,
                service_id,
                unit_price,
                adjusted_price: None,
                unit_cost: unit_price.map(|price| price * 0.8),
                invoice_description: None,
                internal_description: None,
            });
            let units = match rng.below(100) {
                0..=54 => count,
                55..=79 => count + 1 + rng.below(5) as u32,
                _ => count.saturating_sub(1 + rng.below(5) as u32),
            };
            autotask.contract_service_units.push(ContractServiceUnit {
                id: next_line_id + 10_000_000,
                contract_id,
                contract_service_id: next_line_id,
                service_id,
                start_date: period_start,
                end_date: period_end,
                units,
                price: unit_price,
                cost: unit_price.map(|price| price * 0.8),
                approve_and_post_date: None,
            });
        }
    }
    (atria, autotask)
}

/// The job spec written beside generated snapshots: every customer, creates allowed, and
/// unbilled lines zeroed, so that every path of compile runs.
pub const JOB_YAML: &str = "# Written by `cargo xtask gen`.
version: 1
label: Synthetic scale job
logLevel: info
billingPeriod: previous
allowCreateItems: true
zeroUnbilledLines: true
guards: { allowReduceToZero: true, maxDecreasePercent: 90 }
";
