//! Paging property: for any data and any pageSize, walking the pages returns every summary row
//! and every detail row exactly once, in order.

use mock_atria::MockConfig;
use mock_atria::seed::{
    AtriaCustomer, AtriaSnapshot, BillingPeriod, BillingRow, CustomerStatus, PeriodStatus,
};
use proptest::prelude::*;

use crate::common::{app_with, get};

fn snapshot(counts: &[(u32, u32, bool)]) -> AtriaSnapshot {
    AtriaSnapshot {
        format: mock_atria::seed::ATRIA_FORMAT.to_owned(),
        period: BillingPeriod {
            start_date: "2026-10-26".parse().expect("date"),
            end_date: "2026-11-25".parse().expect("date"),
            status: PeriodStatus::Open,
        },
        customers: vec![AtriaCustomer {
            short_name: "C".to_owned(),
            name: "Customer".to_owned(),
            billing_identifier: None,
            status: CustomerStatus::Active,
        }],
        billing: counts
            .iter()
            .enumerate()
            .map(|(index, &(last, this, billable))| BillingRow {
                customer_code: "C".to_owned(),
                product_sku: Some(index.to_string()),
                summary_grouping: format!("Service {index}"),
                billable,
                last_month_count: last,
                this_month_count: this,
            })
            .collect(),
    }
}

async fn walk(app: &axum::Router, base: &str, page_size: u32) -> (Vec<serde_json::Value>, u64) {
    let mut items = Vec::new();
    let mut total = 0;
    for page in 1.. {
        let reply = get(app, &format!("{base}page={page}&pageSize={page_size}")).await;
        let json = reply.ok();
        total = json["totalCount"].as_u64().unwrap_or(0);
        let batch = json["items"].as_array().cloned().unwrap_or_default();
        if batch.is_empty() {
            break;
        }
        items.extend(batch);
    }
    (items, total)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_row_exactly_once(
        counts in proptest::collection::vec((0u32..6, 0u32..6, any::<bool>()), 0..25),
        page_size in 1u32..40,
        billable in proptest::option::of(any::<bool>()),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let (app, _) = app_with(MockConfig::from_snapshot(snapshot(&counts)));
            let filter = billable.map_or(String::new(), |b| format!("billable={b}&"));

            let (rows, total) = walk(&app, &format!("/api/billing/2026-11-25?{filter}"), page_size).await;
            let expected: Vec<String> = counts
                .iter()
                .enumerate()
                .filter(|(_, (_, _, b))| billable.is_none_or(|wanted| wanted == *b))
                .map(|(index, _)| index.to_string())
                .collect();
            let skus: Vec<String> = rows.iter().map(|row| row["productSku"].as_str().unwrap_or("").to_owned()).collect();
            assert_eq!(skus, expected);
            assert_eq!(total, expected.len() as u64);

            let (details, total) = walk(&app, &format!("/api/billing/2026-11-25/detail?{filter}"), page_size).await;
            let ids: Vec<u64> = details.iter().filter_map(|row| row["id"].as_u64()).collect();
            let mut unique = ids.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), ids.len(), "no id twice");
            assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "in order");
            let units: u64 = counts
                .iter()
                .filter(|(_, _, b)| billable.is_none_or(|wanted| wanted == *b))
                .map(|(last, this, _)| u64::from(*last.max(this)))
                .sum();
            assert_eq!((ids.len() as u64, total), (units, units));
        });
    }
}
