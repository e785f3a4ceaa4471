//! Properties of compile over random worlds from `billsync::synth` and random spec settings:
//! order independence, convergence after applying the plan, AT15 safety, row accounting, and
//! money that adds up to the cent.

use std::collections::BTreeMap;

use billsync::codes::Code;
use billsync::compile::{CompileInput, compile, compile_with_provenance};
use billsync::plan::{ActionKind, Plan};
use billsync::snapshot::{
    AtriaSnapshot, AutotaskSnapshot, BillingRow, Contract, ContractService, ContractServiceUnit,
};
use billsync::spec::{CustomerMatch, Guards, JobSpec, SkuField, SkuType, SkuValueType};
use billsync::synth::{SynthConfig, generate};
use chrono::{DateTime, Utc};
use proptest::prelude::*;
use proptest::sample::Index;

fn as_of() -> DateTime<Utc> {
    "2026-11-24T22:00:00Z".parse().expect("a valid time")
}

/// A world: snapshots from a seed, and a spec from random settings.
#[derive(Clone, Debug)]
struct World {
    spec: JobSpec,
    atria: AtriaSnapshot,
    autotask: AutotaskSnapshot,
}

fn world() -> impl Strategy<Value = World> {
    (
        1usize..12,
        1usize..10,
        any::<u64>(),
        any::<[bool; 5]>(),
        prop_oneof![Just(100u8), 0u8..100],
        proptest::collection::vec(any::<Index>(), 0..4),
        proptest::collection::vec((any::<Index>(), 0u8..4), 0..8),
    )
        .prop_map(|(customers, rows_per_customer, seed, flags, max_decrease_percent, filter, extras)| {
            let (mut atria, mut autotask) = generate(SynthConfig { customers, rows_per_customer, seed });
            let mut sku_map = BTreeMap::new();
            for (index, kind) in extras {
                enrich(&mut atria, &mut autotask, &mut sku_map, index, kind);
            }
            let [
                allow_create_items,
                zero_unbilled_lines,
                pro_rated_transactions,
                allow_reduce_to_zero,
                by_name,
            ] = flags;
            let mut spec = billsync::spec::parse(billsync::synth::JOB_YAML).expect("the synth spec is valid");
            spec.allow_create_items = allow_create_items;
            spec.zero_unbilled_lines = zero_unbilled_lines;
            spec.pro_rated_transactions = pro_rated_transactions;
            spec.guards = Guards { allow_reduce_to_zero, max_decrease_percent };
            spec.customer_match = CustomerMatch::Id;
            spec.sku_map = sku_map;
            if by_name {
                // Service names instead of ids: the synth SKUs then mostly miss (AT08).
                spec.sku_type = SkuType { name: SkuField::Name, value_type: SkuValueType::String };
            }
            spec.customers = filter
                .iter()
                .map(|index| atria.customers[index.index(atria.customers.len())].short_name.to_string())
                .collect();
            spec.customers.sort();
            spec.customers.dedup();
            World { spec, atria, autotask }
        })
}

/// Adds what `synth` makes rarely or never, so that every message listing several things is
/// exercised: a second line for a service on one contract (AT27), a second Recurring Service
/// contract (AT25) or an inactive one beside it, and a bundle of an extra SKU mapped through
/// `skuMap` onto a line's service.
fn enrich(
    atria: &mut AtriaSnapshot,
    autotask: &mut AutotaskSnapshot,
    sku_map: &mut BTreeMap<String, i64>,
    index: Index,
    kind: u8,
) {
    if autotask.contract_services.is_empty() {
        return;
    }
    let line = autotask.contract_services[index.index(autotask.contract_services.len())].clone();
    let next_line_id = autotask.contract_services.iter().map(|line| line.id).max().unwrap_or(0) + 1;
    let next_row_id = autotask.contract_service_units.iter().map(|row| row.id).max().unwrap_or(0) + 1;
    let rows: Vec<ContractServiceUnit> = autotask
        .contract_service_units
        .iter()
        .filter(|row| row.contract_service_id == line.id)
        .cloned()
        .collect();
    let contract = autotask.contracts.iter().find(|contract| contract.id == line.contract_id).cloned();
    let Some(contract) = contract else { return };
    match kind {
        // Another line for the same service on the same contract, with units of its own.
        0 => {
            autotask.contract_services.push(ContractService { id: next_line_id, ..line });
            for (offset, row) in rows.into_iter().enumerate() {
                autotask.contract_service_units.push(ContractServiceUnit {
                    id: next_row_id + offset as i64,
                    contract_service_id: next_line_id,
                    units: row.units + 1,
                    ..row
                });
            }
        }
        // A second contract for the company: active (AT25) or inactive (ignored), with a copy
        // of the line.
        1 | 2 => {
            let next_contract_id = autotask.contracts.iter().map(|c| c.id).max().unwrap_or(0) + 1;
            let status = if kind == 1 { contract.status } else { 2 };
            autotask.contracts.push(Contract { id: next_contract_id, status, ..contract });
            autotask.contract_services.push(ContractService {
                id: next_line_id,
                contract_id: next_contract_id,
                ..line
            });
        }
        // A bundle: an extra SKU billed to the company's customer, mapped onto the service.
        _ => {
            let Some(customer) = atria.customers.iter().find(|customer| {
                customer.billing_identifier.as_deref() == Some(contract.company_id.to_string().as_str())
            }) else {
                return;
            };
            let sku = format!("BUNDLE-{}", line.service_id);
            sku_map.insert(sku.clone(), line.service_id);
            atria.billing.push(BillingRow {
                customer_code: customer.short_name.clone(),
                product_sku: Some(sku.into()),
                summary_grouping: format!("Bundle of service {}", line.service_id).into(),
                billable: true,
                last_month_count: 1,
                this_month_count: 2,
            });
        }
    }
}

fn plan_of(world: &World) -> Plan {
    compile(CompileInput {
        spec: &world.spec,
        atria: &world.atria,
        autotask: &world.autotask,
        as_of: as_of(),
    })
    .expect("synth worlds compile")
}

/// Shuffles a vector by a list of random swaps.
fn shuffle<T>(items: &mut [T], swaps: &[(Index, Index)]) {
    if items.is_empty() {
        return;
    }
    for (a, b) in swaps {
        let (a, b) = (a.index(items.len()), b.index(items.len()));
        items.swap(a, b);
    }
}

/// A pure model of what Autotask does with the plan's adjustments: a ContractServiceUnits row
/// split at the effective date, and a new line with a row of its own for a create.
fn apply_model(plan: &Plan, autotask: &AutotaskSnapshot) -> AutotaskSnapshot {
    let mut after = autotask.clone();
    let mut next_id = after.contract_services.iter().map(|line| line.id).max().unwrap_or(0) + 1;
    let mut next_row_id = after.contract_service_units.iter().map(|row| row.id).max().unwrap_or(0) + 1;
    for action in plan.actions.iter().filter(|action| action.kind.is_change()) {
        let effective = action.effective_date.expect("changes carry an effective date");
        let (from, to) = (action.from.expect("from"), action.to.expect("to"));
        let contract_id = action.contract_id.expect("a contract");
        let service_id = action.service_id.expect("a service");
        let line_id = match action.contract_service_id {
            Some(line_id) => line_id,
            None => {
                after.contract_services.push(ContractService {
                    id: next_id,
                    contract_id,
                    service_id,
                    unit_price: None,
                    adjusted_price: None,
                    unit_cost: None,
                    invoice_description: None,
                    internal_description: None,
                });
                next_id += 1;
                next_id - 1
            }
        };
        assert_eq!(after.units_at(line_id, effective), from, "the plan's `from` is the line's units");
        let delta = i64::from(to) - i64::from(from);
        let mut new_rows = Vec::new();
        let mut covered = false;
        for row in after.contract_service_units.iter_mut().filter(|row| row.contract_service_id == line_id) {
            if row.start_date >= effective {
                row.units = (i64::from(row.units) + delta) as u32;
            } else if row.covers(effective) {
                covered = true;
                let mut tail = row.clone();
                tail.id = next_row_id;
                next_row_id += 1;
                tail.start_date = effective;
                tail.units = (i64::from(row.units) + delta) as u32;
                row.end_date = effective - chrono::Duration::seconds(1);
                new_rows.push(tail);
            }
        }
        if !covered && after.units_at(line_id, effective) == from {
            new_rows.push(ContractServiceUnit {
                id: next_row_id,
                contract_id,
                contract_service_id: line_id,
                service_id,
                start_date: effective,
                end_date: effective + chrono::Duration::days(365),
                units: to,
                price: None,
                cost: None,
                approve_and_post_date: None,
            });
            next_row_id += 1;
        }
        after.contract_service_units.extend(new_rows);
        assert_eq!(after.units_at(line_id, effective), to, "the model applied the change");
    }
    after
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn plans_do_not_depend_on_input_order(
        world in world(),
        swaps in proptest::collection::vec((any::<Index>(), any::<Index>()), 0..40),
    ) {
        let expected = plan_of(&world).to_json();
        let mut shuffled = world.clone();
        shuffle(&mut shuffled.spec.customers, &swaps);
        shuffle(&mut shuffled.atria.customers, &swaps);
        shuffle(&mut shuffled.atria.billing, &swaps);
        shuffle(&mut shuffled.autotask.companies, &swaps);
        shuffle(&mut shuffled.autotask.contracts, &swaps);
        shuffle(&mut shuffled.autotask.services, &swaps);
        shuffle(&mut shuffled.autotask.contract_services, &swaps);
        shuffle(&mut shuffled.autotask.contract_service_units, &swaps);
        prop_assert_eq!(plan_of(&shuffled).to_json(), expected);
    }

    #[test]
    fn applying_the_plan_leaves_nothing_to_change(world in world()) {
        let plan = plan_of(&world);
        let after = World { autotask: apply_model(&plan, &world.autotask), ..world.clone() };
        let again = plan_of(&after);
        let left: Vec<_> = again.actions.iter().filter(|action| action.kind.is_change()).collect();
        prop_assert!(left.is_empty(), "still to change after apply: {:#?}", left);
        // Everything the first plan changed is now unchanged (or zeroed away to nothing).
        prop_assert!(again.summary.unchanged >= plan.summary.update + plan.summary.create);
    }

    #[test]
    fn no_billable_rows_never_change_anything(world in world()) {
        let mut quiet = world.clone();
        for row in &mut quiet.atria.billing {
            row.billable = false;
        }
        let plan = plan_of(&quiet);
        prop_assert!(plan.actions.is_empty());
        prop_assert!(plan.log.iter().any(|entry| entry.code == Code::AT15));
        prop_assert!(!plan.has_changes());
    }

    #[test]
    fn every_billable_row_is_accounted_for_once(world in world()) {
        let (plan, provenance) = compile_with_provenance(CompileInput {
            spec: &world.spec,
            atria: &world.atria,
            autotask: &world.autotask,
            as_of: as_of(),
        })
        .expect("compiles");
        let filter = &world.spec.customers;
        let status: BTreeMap<&str, _> =
            world.atria.customers.iter().map(|customer| (&*customer.short_name, customer.status)).collect();
        for (row_index, row) in world.atria.billing.iter().enumerate() {
            let in_scope = row.billable && (filter.is_empty() || filter.iter().any(|code| **code == *row.customer_code));
            let accounted = &provenance[row_index];
            if !in_scope {
                prop_assert!(accounted.is_empty(), "row {} is out of scope but accounted", row_index);
                continue;
            }
            prop_assert_eq!(
                accounted.len(),
                1,
                "billable row {} of {} ({:?}) is accounted {} times",
                row_index,
                &row.customer_code,
                status[&*row.customer_code],
                accounted.len()
            );
            let action = &plan.actions[accounted[0]];
            prop_assert_eq!(&*action.customer_code, &*row.customer_code);
            if let (Some(sku), Some(row_sku)) = (&action.sku, &row.product_sku) {
                prop_assert!(sku.split(", ").any(|one| one == row_sku.trim()), "{} vs {}", sku, row_sku);
            }
        }
        // And the quantities of service actions are the sums of their rows.
        for (action_index, action) in plan.actions.iter().enumerate() {
            if action.service_id.is_some() && action.kind != ActionKind::Skip {
                let sum: u32 = provenance
                    .iter()
                    .enumerate()
                    .filter(|(_, accounted)| accounted.contains(&action_index))
                    .map(|(row_index, _)| world.atria.billing[row_index].this_month_count)
                    .sum();
                prop_assert_eq!(action.to, Some(sum));
            }
        }
    }

    #[test]
    fn the_money_total_is_the_exact_sum_of_the_changes(
        world in world(),
        line_cents in proptest::collection::vec((0i64..10_000_000, any::<bool>()), 64),
        service_cents in proptest::collection::vec(proptest::option::of(0i64..10_000_000), 16),
    ) {
        // Prices with cents (`19.99` is no binary float), on lines, as adjusted prices and on
        // services, some missing: the plan must carry each exactly.
        let mut world = world;
        let mut cents_of_line = BTreeMap::new();
        for (index, line) in world.autotask.contract_services.iter_mut().enumerate() {
            let (cents, adjusted) = line_cents[index % line_cents.len()];
            let price = Some(cents as f64 / 100.0);
            match (index % 3, adjusted) {
                (0, _) => (line.unit_price, line.adjusted_price) = (None, None),
                (_, true) => (line.unit_price, line.adjusted_price) = (Some(1.5), price),
                (_, false) => (line.unit_price, line.adjusted_price) = (price, None),
            }
            if index % 3 != 0 {
                cents_of_line.insert(line.id, cents);
            }
        }
        let mut cents_of_service = BTreeMap::new();
        for (index, service) in world.autotask.services.iter_mut().enumerate() {
            let cents = service_cents[index % service_cents.len()];
            service.unit_price = cents.map(|cents| cents as f64 / 100.0);
            if let Some(cents) = cents {
                cents_of_service.insert(service.id, cents);
            }
        }
        let plan = plan_of(&world);
        let mut total = rust_decimal::Decimal::ZERO;
        let mut unpriced = 0;
        for action in &plan.actions {
            if !action.kind.is_change() {
                prop_assert_eq!(action.unit_price, None);
                continue;
            }
            let cents = action
                .contract_service_id
                .and_then(|line| cents_of_line.get(&line))
                .or_else(|| action.service_id.and_then(|service| cents_of_service.get(&service)))
                .copied();
            let units = i64::from(action.to.unwrap_or(0)) - i64::from(action.from.unwrap_or(0));
            let expected = cents.map(|cents| rust_decimal::Decimal::new(cents * units, 2));
            prop_assert_eq!(action.unit_price, Some(cents.map(|cents| rust_decimal::Decimal::new(cents, 2))));
            prop_assert_eq!(action.monthly_amount_change, Some(expected));
            match expected {
                Some(amount) => total += amount,
                None => unpriced += 1,
            }
        }
        prop_assert_eq!(plan.summary.monthly_amount_change, total);
        prop_assert_eq!(plan.summary.unpriced_changes, unpriced);
        let by_customer: rust_decimal::Decimal = plan.summary.monthly_amount_change_by_customer.values().sum();
        prop_assert_eq!(by_customer, total);
        // The JSON carries the same exact amounts.
        let reread = Plan::from_json(plan.to_json().as_bytes()).expect("plan JSON parses");
        prop_assert_eq!(reread.summary.monthly_amount_change, total);
    }
}
