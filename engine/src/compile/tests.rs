//! Compile semantics case by case, each through one `check` helper: a change to the seed
//! example in, the plan's actions as compact lines out.

use chrono::{DateTime, Utc};

use super::*;
use crate::snapshot::{parse_atria, parse_autotask};
use crate::spec::{CustomerOverride, Guards};

const SEED_SPEC: &str = include_str!("../../../fixtures/seed-example/job.yaml");
const SEED_ATRIA: &str = include_str!("../../../fixtures/seed-example/atria.json");
const SEED_AUTOTASK: &str = include_str!("../../../fixtures/seed-example/autotask.json");

fn as_of() -> DateTime<Utc> {
    "2026-11-24T22:00:00Z".parse().expect("a valid time")
}

/// Compiles the seed example after `edit`, and lists the actions as
/// `customer kind code service from→to` lines plus the log's codes.
fn check(edit: impl FnOnce(&mut JobSpec, &mut AtriaSnapshot, &mut AutotaskSnapshot), expected: &str) {
    check_at(as_of(), edit, expected);
}

/// [`check`] at another as-of time.
fn check_at(
    as_of: DateTime<Utc>,
    edit: impl FnOnce(&mut JobSpec, &mut AtriaSnapshot, &mut AutotaskSnapshot),
    expected: &str,
) {
    let mut spec = crate::spec::parse(SEED_SPEC).expect("seed spec");
    let mut atria = parse_atria(SEED_ATRIA.as_bytes()).expect("seed atria");
    let mut autotask = parse_autotask(SEED_AUTOTASK.as_bytes()).expect("seed autotask");
    edit(&mut spec, &mut atria, &mut autotask);
    let plan =
        compile(CompileInput { spec: &spec, atria: &atria, autotask: &autotask, as_of }).expect("compiles");
    let mut lines: Vec<String> = plan
        .actions
        .iter()
        .map(|action| {
            let service = action.service_id.map_or("-".to_owned(), |id| id.to_string());
            let change = match (action.from, action.to) {
                (Some(from), Some(to)) => format!(" {from}→{to}"),
                (None, Some(to)) => format!(" →{to}"),
                _ => String::new(),
            };
            format!("{} {} {} {service}{change}", action.customer_code, action.kind.as_str(), action.code)
        })
        .collect();
    let codes: Vec<&str> = plan.log.iter().map(|entry| entry.code.as_str()).collect();
    lines.push(format!("log {}", codes.join(" ")));
    let actual = lines.join("\n");
    assert_eq!(actual.trim(), expected.trim(), "\n--- actual ---\n{actual}\n");
}

#[test]
fn the_seed_example() {
    check(
        |_, _, _| {},
        "
ASP update AT09 12 20→25
ASP zero AT13 17 3→0
ASP create AT11 31 0→4
ASP skip AT07 - →1
SampleCustomerShortCodeName unchanged AT10 12 10→10
SampleCustomerShortCodeName update AT09 40 3→5
SampleCustomerShortCodeName skip AT08 - →2
log AT22 AT01 AT09 AT13 AT11 AT07 AT10 AT09 AT08 AT20 AT21 AT24",
    );
}

#[test]
fn without_allow_create_a_missing_line_is_at12() {
    check(
        |spec, atria, _| {
            spec.allow_create_items = false;
            atria
                .billing
                .retain(|row| &*row.customer_code == "ASP" && row.product_sku.as_deref() == Some("31"));
        },
        "
ASP skip AT12 31 →4
log AT22 AT01 AT12 AT20 AT21 AT24",
    );
}

/// Keeps ASP's Microsoft 365 row only, and splits its line as an earlier adjustment on
/// 2026-11-10 would have: 20 units, then 22.
fn split_asp_m365_line(atria: &mut AtriaSnapshot, autotask: &mut AutotaskSnapshot) {
    atria.billing.retain(|row| &*row.customer_code == "ASP" && row.product_sku.as_deref() == Some("12"));
    let mut tail = autotask.contract_service_units[0].clone();
    autotask.contract_service_units[0].end_date = "2026-11-09T23:59:59Z".parse().expect("time");
    tail.id = 7100;
    tail.start_date = "2026-11-10T00:00:00Z".parse().expect("time");
    tail.units = 22;
    autotask.contract_service_units.push(tail);
}

#[test]
fn proration_reads_the_units_in_force_at_the_as_of_time() {
    check(
        |spec, atria, autotask| {
            spec.pro_rated_transactions = true;
            split_asp_m365_line(atria, autotask);
        },
        "
ASP update AT09 12 22→25
log AT22 AT01 AT09 AT20 AT21 AT24",
    );
}

#[test]
fn a_prorated_run_on_a_unit_rows_last_day_reads_its_units() {
    // Autotask sends the row's last day, 25 November, as midnight; late that day the row is
    // still in force (read as a timestamp it would be over, and 0 → 25 would overbill by 20).
    let last_day_late: DateTime<Utc> = "2026-11-25T22:00:00Z".parse().expect("a valid time");
    check_at(
        last_day_late,
        |spec, atria, autotask| {
            spec.pro_rated_transactions = true;
            atria
                .billing
                .retain(|row| &*row.customer_code == "ASP" && row.product_sku.as_deref() == Some("12"));
            let row =
                autotask.contract_service_units.iter_mut().find(|row| row.id == 7001).expect("row 7001");
            row.end_date = "2026-11-25T00:00:00Z".parse().expect("a valid time");
        },
        "
ASP update AT09 12 20→25
log AT22 AT01 AT09 AT20 AT21 AT24",
    );
}

#[test]
fn a_contract_ending_on_the_first_day_of_the_period_is_still_in_force() {
    check(
        |_, atria, autotask| {
            atria
                .billing
                .retain(|row| &*row.customer_code == "ASP" && row.product_sku.as_deref() == Some("12"));
            let contract = autotask.contracts.iter_mut().find(|contract| contract.id == 991).expect("991");
            contract.end_date = "2026-10-26T00:00:00Z".parse().expect("a valid time");
        },
        "
ASP update AT09 12 20→25
log AT22 AT01 AT09 AT20 AT21 AT24",
    );
}

#[test]
fn without_proration_the_period_start_decides() {
    check(
        |_, atria, autotask| {
            split_asp_m365_line(atria, autotask);
        },
        "
ASP update AT09 12 20→25
log AT22 AT01 AT09 AT20 AT21 AT24",
    );
}

#[test]
fn customers_match_by_company_number() {
    check(
        |spec, atria, _| {
            spec.customer_match = CustomerMatch::CompanyNumber;
            atria.customers[0].billing_identifier = Some(" asp-001 ".to_owned());
            atria.customers[1].billing_identifier = Some("29683542".to_owned());
            atria.billing.retain(|row| row.product_sku.as_deref() == Some("12"));
        },
        "
ASP update AT09 12 20→25
SampleCustomerShortCodeName skip AT05 -
log AT22 AT01 AT09 AT05 AT20 AT21 AT24",
    );
}

#[test]
fn an_override_contract_of_another_company_is_at06() {
    check(
        |spec, atria, _| {
            let pick = CustomerOverride { contract_id: Some(992), skip: false };
            spec.overrides.insert("ASP".to_owned(), pick);
            atria.billing.retain(|row| &*row.customer_code == "ASP");
        },
        "
ASP skip AT06 -
log AT22 AT01 AT06 AT20 AT21 AT24",
    );
}

#[test]
fn an_override_skip_leaves_the_customer_out() {
    check(
        |spec, _, _| {
            let skip = CustomerOverride { contract_id: None, skip: true };
            spec.overrides.insert("SampleCustomerShortCodeName".to_owned(), skip);
            spec.customers.push("NOBODY".to_owned());
        },
        "
ASP update AT09 12 20→25
ASP zero AT13 17 3→0
ASP create AT11 31 0→4
ASP skip AT07 - →1
log AT22 AT01 AT28 AT09 AT13 AT11 AT07 AT20 AT21 AT24",
    );
}

#[test]
fn a_sku_map_bundle_sums_rows_and_a_map_to_a_missing_service_is_at08() {
    check(
        |spec, atria, _| {
            spec.sku_map.insert("M365-BP-NCE".to_owned(), 12);
            spec.sku_map.insert("M365-BP-LEGACY".to_owned(), 12);
            spec.sku_map.insert("GONE".to_owned(), 404);
            atria
                .billing
                .retain(|row| &*row.customer_code == "ASP" && row.product_sku.as_deref() == Some("12"));
            let mut legacy = atria.billing[0].clone();
            atria.billing[0].product_sku = Some("M365-BP-NCE".into());
            legacy.product_sku = Some("M365-BP-LEGACY".into());
            legacy.this_month_count = 3;
            let mut gone = legacy.clone();
            gone.product_sku = Some("GONE".into());
            atria.billing.extend([legacy, gone]);
        },
        "
ASP update AT09 12 20→28
ASP skip AT08 - →3
log AT22 AT01 AT09 AT08 AT20 AT21 AT24",
    );
}

#[test]
fn a_sum_above_int32_is_at35_naming_its_rows() {
    check(
        |spec, atria, _| {
            spec.sku_map.insert("M365-BP-NCE".to_owned(), 12);
            atria
                .billing
                .retain(|row| &*row.customer_code == "ASP" && row.product_sku.as_deref() == Some("12"));
            let mut second = atria.billing[0].clone();
            atria.billing[0].this_month_count = 2_000_000_000;
            second.product_sku = Some("M365-BP-NCE".into());
            second.summary_grouping = "M365 BP (NCE)".into();
            second.this_month_count = 147_483_648; // one more than int32 holds, in sum
            atria.billing.push(second);
        },
        "
ASP skip AT35 12
log AT22 AT01 AT35 AT20 AT21 AT24",
    );
    let spec = crate::spec::parse(SEED_SPEC).expect("seed spec");
    let mut atria = parse_atria(SEED_ATRIA.as_bytes()).expect("seed atria");
    let autotask = parse_autotask(SEED_AUTOTASK.as_bytes()).expect("seed autotask");
    atria.billing.retain(|row| &*row.customer_code == "ASP" && row.product_sku.as_deref() == Some("12"));
    let mut second = atria.billing[0].clone();
    second.summary_grouping = "Microsoft 365 Business Premium (add-on)".into();
    atria.billing[0].this_month_count = i32::MAX as u32;
    second.this_month_count = 1;
    atria.billing.push(second);
    let plan = compile(CompileInput { spec: &spec, atria: &atria, autotask: &autotask, as_of: as_of() })
        .expect("compiles");
    assert_eq!(
        &*plan.actions[0].message,
        "ASP Cloud Microsoft 365 Business Premium: the rows \"Microsoft 365 Business Premium\" (2147483647), \
         \"Microsoft 365 Business Premium (add-on)\" (1) sum to 2147483648 units, more than Autotask's int32 \
         units allow (2147483647); none was updated"
    );
    assert!(!plan.has_changes());
}

#[test]
fn guards_turn_changes_into_at30() {
    check(
        |spec, atria, _| {
            spec.guards = Guards { allow_reduce_to_zero: false, max_decrease_percent: 10 };
            atria.billing.retain(|row| {
                row.product_sku.as_deref() == Some("17") || row.product_sku.as_deref() == Some("40")
            });
            atria.billing.retain(|row| row.billable);
            atria.billing[1].this_month_count = 2; // Sample: Azure Backup 3 → 2 is a 33% drop
        },
        "
ASP skip AT30 17 3→0
SampleCustomerShortCodeName skip AT30 40 3→2
log AT22 AT01 AT30 AT30 AT20 AT21 AT24",
    );
}

#[test]
fn deprovisioned_customers_come_last_and_zero_unbilled_lines_only_when_asked() {
    let deprovision = |spec: &mut JobSpec, atria: &mut AtriaSnapshot, zero_unbilled: bool| {
        spec.zero_unbilled_lines = zero_unbilled;
        spec.customers.clear();
        atria.customers[2].status = CustomerStatus::Deprovisioned; // NOTFILTERED, line 12 at 7 units
        atria.billing.retain(|row| &*row.customer_code == "SampleCustomerShortCodeName");
    };
    check(
        |spec, atria, _| deprovision(spec, atria, false),
        "
SampleCustomerShortCodeName unchanged AT10 12 10→10
SampleCustomerShortCodeName update AT09 40 3→5
SampleCustomerShortCodeName skip AT08 - →2
log AT22 AT01 AT10 AT09 AT08 AT20 AT21 AT24",
    );
    check(
        |spec, atria, _| deprovision(spec, atria, true),
        "
SampleCustomerShortCodeName unchanged AT10 12 10→10
SampleCustomerShortCodeName update AT09 40 3→5
SampleCustomerShortCodeName skip AT08 - →2
NOTFILTERED zero AT13 12 7→0
log AT22 AT01 AT10 AT09 AT08 AT20 AT13 AT21 AT24",
    );
}

#[test]
fn deprovisioned_customers_without_rows_follow_the_same_rules() {
    // Four deprovisioned customers with no billing row at all, `zeroUnbilledLines` off: each
    // is still checked, and what is wrong with it shows.
    check(
        |spec, atria, autotask| {
            spec.customers.clear();
            atria.billing.retain(|row| &*row.customer_code == "SampleCustomerShortCodeName");
            atria.billing.retain(|row| row.product_sku.as_deref() == Some("12"));
            atria.customers[2].status = CustomerStatus::Deprovisioned; // fine: nothing to say
            let deprovisioned = |code: &str, identifier: Option<&str>| AtriaCustomer {
                short_name: code.into(),
                name: format!("{code} Ltd").into(),
                billing_identifier: identifier.map(str::to_owned),
                status: CustomerStatus::Deprovisioned,
            };
            atria.customers.extend([
                deprovisioned("D1-NOID", None),
                deprovisioned("D2-NOCOMPANY", Some("404")),
                deprovisioned("D3-NOCONTRACT", Some("29683544")),
                deprovisioned("D4-TWOCONTRACTS", Some("29683545")),
            ]);
            let mut company = autotask.companies[0].clone();
            company.id = 29683544;
            autotask.companies.push(company.clone());
            company.id = 29683545;
            autotask.companies.push(company);
            for id in [995, 996] {
                let mut contract = autotask.contracts[0].clone();
                contract.id = id;
                contract.company_id = 29683545;
                autotask.contracts.push(contract);
            }
        },
        "
SampleCustomerShortCodeName unchanged AT10 12 10→10
D1-NOID skip AT04 -
D2-NOCOMPANY skip AT05 -
D3-NOCONTRACT skip AT06 -
D4-TWOCONTRACTS skip AT25 -
log AT22 AT01 AT10 AT20 AT04 AT05 AT06 AT25 AT21 AT24",
    );
}

#[test]
fn no_billable_row_is_at15_even_with_zero_unbilled_lines() {
    check(
        |spec, atria, _| {
            spec.zero_unbilled_lines = true;
            for row in &mut atria.billing {
                row.billable = false;
            }
        },
        "log AT22 AT01 AT15 AT24",
    );
}

#[test]
fn a_date_outside_the_snapshot_period_is_refused() {
    let spec = crate::spec::parse(&SEED_SPEC.replace("billingPeriod: current", "billingPeriod: 2026-10-25"))
        .expect("spec");
    let atria = parse_atria(SEED_ATRIA.as_bytes()).expect("atria");
    let autotask = parse_autotask(SEED_AUTOTASK.as_bytes()).expect("autotask");
    let error = compile(CompileInput { spec: &spec, atria: &atria, autotask: &autotask, as_of: as_of() })
        .expect_err("2026-10-25 is before the period");
    assert_eq!(
        error.to_string(),
        "AT19 the spec's billingPeriod `2026-10-25` is not in the Atria snapshot's period 2026-10-26 – 2026-11-25; fetch that period"
    );
}

#[test]
fn every_message_fills_its_placeholders() {
    let spec = crate::spec::parse(include_str!("../../../fixtures/every-code/job.yaml")).expect("spec");
    let atria = parse_atria(include_bytes!("../../../fixtures/every-code/atria.json")).expect("atria");
    let autotask =
        parse_autotask(include_bytes!("../../../fixtures/every-code/autotask.json")).expect("autotask");
    let plan = compile(CompileInput { spec: &spec, atria: &atria, autotask: &autotask, as_of: as_of() })
        .expect("compiles");
    for entry in &plan.log {
        for name in entry.code.placeholders() {
            assert!(!entry.message.contains(&format!("{{{name}}}")), "{}: {}", entry.code, entry.message);
        }
    }
}

#[test]
fn customers_sharing_a_company_are_each_skipped_with_at34() {
    // Both customers carry ASP's Billing Identifier: their rows would set one line to two
    // targets. Neither is applied; the message names the other.
    check(
        |_, atria, _| atria.customers[1].billing_identifier = Some("29683541".to_owned()),
        "
ASP skip AT34 -
SampleCustomerShortCodeName skip AT34 -
log AT22 AT01 AT34 AT34 AT20 AT21 AT24",
    );
    let mut atria = parse_atria(SEED_ATRIA.as_bytes()).expect("seed atria");
    atria.customers[1].billing_identifier = Some("29683541".to_owned());
    let spec = crate::spec::parse(SEED_SPEC).expect("seed spec");
    let autotask = parse_autotask(SEED_AUTOTASK.as_bytes()).expect("seed autotask");
    let plan = compile(CompileInput { spec: &spec, atria: &atria, autotask: &autotask, as_of: as_of() })
        .expect("compiles");
    assert_eq!(
        &*plan.actions[0].message,
        "ASP Cloud (ASP): Autotask company 29683541 is also the company of SampleCustomerShortCodeName; skipped, since their changes would conflict on one contract. Give each Atria customer its own Billing Identifier"
    );
}

/// The seed example after `edit`, its changes as `customer service unitPrice monthly prorated`
/// lines (`null` for no price), then the summary's totals.
fn check_money(edit: impl FnOnce(&mut JobSpec, &mut AtriaSnapshot, &mut AutotaskSnapshot), expected: &str) {
    let mut spec = crate::spec::parse(SEED_SPEC).expect("seed spec");
    let mut atria = parse_atria(SEED_ATRIA.as_bytes()).expect("seed atria");
    let mut autotask = parse_autotask(SEED_AUTOTASK.as_bytes()).expect("seed autotask");
    edit(&mut spec, &mut atria, &mut autotask);
    let plan = compile(CompileInput { spec: &spec, atria: &atria, autotask: &autotask, as_of: as_of() })
        .expect("compiles");
    let shown = |amount: Option<Option<Decimal>>| match amount {
        None => "-".to_owned(),
        Some(None) => "null".to_owned(),
        Some(Some(amount)) => amount.to_string(),
    };
    let mut lines: Vec<String> = plan
        .actions
        .iter()
        .map(|action| {
            format!(
                "{} {} {} {} {} {}",
                action.customer_code,
                action.kind.as_str(),
                action.service_id.map_or("-".to_owned(), |id| id.to_string()),
                shown(action.unit_price),
                shown(action.monthly_amount_change),
                shown(action.prorated_amount_change),
            )
        })
        .collect();
    let summary = &plan.summary;
    lines.push(format!(
        "total {} prorated {} unpriced {} by customer {:?}",
        summary.monthly_amount_change,
        summary.prorated_amount_change.map_or("-".to_owned(), |amount| amount.to_string()),
        summary.unpriced_changes,
        summary.monthly_amount_change_by_customer
    ));
    let actual = lines.join("\n");
    assert_eq!(actual.trim(), expected.trim(), "\n--- actual ---\n{actual}\n");
}

#[test]
fn changes_carry_the_line_price_the_adjusted_price_or_the_service_price() {
    check_money(
        |_, _, autotask| {
            for line in &mut autotask.contract_services {
                match line.service_id {
                    // The adjusted price wins over the line's unit price.
                    12 => (line.unit_price, line.adjusted_price) = (Some(33.0), Some(29.99)),
                    // No price on the line: the service's.
                    40 => line.unit_price = None,
                    _ => {}
                }
            }
            for service in &mut autotask.services {
                match service.id {
                    40 => service.unit_price = Some(0.1),
                    // The create's service has no price: unknown, not 0.
                    31 => service.unit_price = None,
                    _ => {}
                }
            }
        },
        "
ASP update 12 29.99 149.95 -
ASP zero 17 4 -12 -
ASP create 31 null null -
ASP skip - - - -
SampleCustomerShortCodeName unchanged 12 - - -
SampleCustomerShortCodeName update 40 0.1 0.2 -
SampleCustomerShortCodeName skip - - - -
total 138.15 prorated - unpriced 1 by customer {\"ASP\": 137.95, \"SampleCustomerShortCodeName\": 0.2}",
    );
}

#[test]
fn a_customer_outside_the_scope_does_not_count_for_at34() {
    // NOTFILTERED is not in the spec's customer filter: ASP keeps its changes.
    check(
        |_, atria, _| atria.customers[2].billing_identifier = Some("29683541".to_owned()),
        "
ASP update AT09 12 20→25
ASP zero AT13 17 3→0
ASP create AT11 31 0→4
ASP skip AT07 - →1
SampleCustomerShortCodeName unchanged AT10 12 10→10
SampleCustomerShortCodeName update AT09 40 3→5
SampleCustomerShortCodeName skip AT08 - →2
log AT22 AT01 AT09 AT13 AT11 AT07 AT10 AT09 AT08 AT20 AT21 AT24",
    );
}

#[test]
fn a_pro_rated_plan_carries_the_rest_of_the_period() {
    // As of 2026-11-24 in the period 2026-10-26 – 2026-11-25: 2 days of 31 are left.
    check_money(
        |spec, _, _| spec.pro_rated_transactions = true,
        "
ASP update 12 22 110 7.096774
ASP zero 17 4 -12 -0.774194
ASP create 31 3 12 0.774194
ASP skip - - - -
SampleCustomerShortCodeName unchanged 12 - - -
SampleCustomerShortCodeName update 40 10 20 1.290323
SampleCustomerShortCodeName skip - - - -
total 130 prorated 8.387097 unpriced 0 by customer {\"ASP\": 110, \"SampleCustomerShortCodeName\": 20}",
    );
}

#[test]
fn the_period_share_counts_calendar_days() {
    let date = |text: &str| text.parse::<NaiveDate>().expect("a date");
    let (start, end) = (date("2026-10-26"), date("2026-11-25"));
    assert_eq!(period_share(date("2026-10-26"), start, end), (31, 31));
    assert_eq!(period_share(date("2026-11-25"), start, end), (1, 31));
    assert_eq!(period_share(date("2026-12-01"), start, end), (0, 31));
    assert_eq!(period_share(date("2026-01-01"), start, end), (31, 31));
    assert_eq!(exact_decimal(19.99).map(|price| price.to_string()).as_deref(), Some("19.99"));
    assert_eq!(exact_decimal(f64::NAN), None);
}

mod line_rows_cursor {
    use proptest::prelude::*;

    use super::*;

    fn unit_row(id: i64, contract_service_id: i64) -> ContractServiceUnit {
        let day: DateTime<Utc> = "2026-10-26T00:00:00Z".parse().expect("a time");
        ContractServiceUnit {
            id,
            contract_id: 1,
            contract_service_id,
            service_id: 1,
            start_date: day,
            end_date: day,
            units: 1,
            price: None,
            cost: None,
            approve_and_post_date: None,
        }
    }

    proptest! {
        // Whatever the order of look-ups (ids present or not, forwards or back), the cursor only
        // saves the binary search: each line gets exactly its own rows.
        #[test]
        fn each_look_up_finds_exactly_the_lines_rows(
            mut lines in proptest::collection::vec(0i64..40, 0..60),
            look_ups in proptest::collection::vec(-2i64..45, 0..60),
        ) {
            lines.sort_unstable();
            let rows: Vec<ContractServiceUnit> =
                lines.iter().enumerate().map(|(id, &line)| unit_row(id as i64, line)).collect();
            let mut cursor = 0;
            for line in look_ups {
                let found: Vec<i64> = line_rows(&rows, line, &mut cursor).iter().map(|row| row.id).collect();
                let expected: Vec<i64> =
                    rows.iter().filter(|row| row.contract_service_id == line).map(|row| row.id).collect();
                prop_assert_eq!(found, expected);
                prop_assert!(cursor <= rows.len());
            }
        }
    }
}

#[test]
fn the_text_shows_each_changes_money_or_no_price() {
    let spec = crate::spec::parse(SEED_SPEC).expect("seed spec");
    let atria = parse_atria(SEED_ATRIA.as_bytes()).expect("seed atria");
    let mut autotask = parse_autotask(SEED_AUTOTASK.as_bytes()).expect("seed autotask");
    for line in &mut autotask.contract_services {
        if line.service_id == 12 {
            (line.unit_price, line.adjusted_price) = (Some(1234.5), None);
        }
    }
    for service in &mut autotask.services {
        if service.id == 31 {
            service.unit_price = None;
        }
    }
    let plan = compile(CompileInput { spec: &spec, atria: &atria, autotask: &autotask, as_of: as_of() })
        .expect("compiles");
    let text = crate::render::text(&plan, crate::render::TextOptions::default());
    let line_of = |code: &str| {
        text.lines().find(|line| line.contains(code)).unwrap_or_else(|| panic!("no {code} line in\n{text}"))
    };
    // 20 → 25 at 1,234.50: five more units a month.
    assert!(line_of("AT09  ").ends_with("20 → 25   @ 1,234.50 = +6,172.50/month"), "{text}");
    // Aligned under the money column.
    assert!(line_of("AT11  ").ends_with("0 → 4     no price"), "{text}");
}

#[test]
fn the_plan_is_the_same_however_the_two_threads_share_the_steps() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    for name in ["seed-example", "every-code", "compile-edge-cases", "real-shaped"] {
        let read = |file: &str| std::fs::read(fixtures.join(name).join(file)).expect("a fixture file");
        let spec = crate::spec::parse(&String::from_utf8(read("job.yaml")).expect("UTF-8")).expect("spec");
        let atria = parse_atria(&read("atria.json")).expect("atria");
        let autotask = parse_autotask(&read("autotask.json")).expect("autotask");
        let effective_date = atria.period.start_date.and_time(NaiveTime::MIN).and_utc();
        let decide = |second_thread: SecondThread| {
            let (actions, log, rows, other) =
                decide_all(&spec, &atria, &autotask, effective_date, second_thread, || "the other task");
            assert_eq!(other, "the other task");
            let rows_of: Vec<&[u32]> = rows
                .of_actions
                .iter()
                .map(|&(start, end)| &rows.arena[start as usize..end as usize])
                .collect();
            format!("{actions:?}\n{log:?}\n{rows_of:?}")
        };
        let steps = atria.customers.len() + 1;
        let on_one_thread = decide(SecondThread::After { front_batches: steps, batch: 1 });
        // Every split point, and batches of several steps taken from the back.
        for batch in [1, 2, 3] {
            for front_batches in 0..=steps {
                let shared = decide(SecondThread::After { front_batches, batch });
                assert_eq!(
                    shared, on_one_thread,
                    "{name}: {front_batches} batches of {batch} from the front"
                );
            }
        }
        assert_eq!(decide(SecondThread::Beside), on_one_thread, "{name}: on two threads");
    }
}
