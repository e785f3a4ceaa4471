//! Every response body of the entity routes validates against its swagger-subset model (with
//! Autotask's camelCase names, nothing extra allowed, types and int32 ranges checked).

mod common;

use common::{Ctx, assert_model};
use serde_json::{Value as Json, json};

const ENTITIES: [(&str, &str); 5] = [
    ("Companies", "CompanyModel"),
    ("Contracts", "ContractModel"),
    ("Services", "ServiceModel"),
    ("ContractServices", "ContractServiceModel"),
    ("ContractServiceUnits", "ContractServiceUnitModel"),
];

fn assert_page(model: &str, page: &Json) {
    let items = page["items"].as_array().expect("items");
    assert!(!items.is_empty(), "{model}: no items to check");
    for item in items {
        assert_model(model, item);
    }
    let details = page["pageDetails"].as_object().expect("pageDetails");
    let keys: Vec<&str> = details.keys().map(String::as_str).collect();
    assert_eq!(keys, ["count", "requestCount", "prevPageUrl", "nextPageUrl"]);
    assert!(details["count"].is_u64() && details["requestCount"].is_u64());
}

/// Some writes first, so rows with nulls and rows the mock made are checked too.
async fn seeded_with_writes() -> Ctx {
    let ctx = Ctx::seed();
    ctx.post("Companies", json!({ "companyName": "Bare", "companyType": 1, "isActive": true }))
        .await
        .expect(200);
    ctx.post("Services", json!({ "name": "Bare service", "isActive": true })).await.expect(200);
    ctx.post("Contracts/991/Services", json!({ "serviceID": 40 })).await.expect(200);
    ctx.post("ContractServiceAdjustments", json!({ "contractID": 991, "serviceID": 31, "effectiveDate": "2026-11-03T10:00:00Z", "unitChange": 2 }))
        .await
        .expect(200);
    ctx.post("ContractServiceAdjustments", json!({ "contractServiceID": 5001, "effectiveDate": "2026-11-05", "unitChange": 1, "adjustedUnitPrice": -1.5 }))
        .await
        .expect(200);
    ctx
}

#[tokio::test]
async fn query_item_and_child_bodies_match_their_models() {
    let ctx = seeded_with_writes().await;
    let everything = json!({ "filter": [{ "op": "exist", "field": "id" }] });
    for (entity, model) in ENTITIES {
        let page = ctx.post(&format!("{entity}/query"), everything.clone()).await.expect(200);
        assert_page(model, &page);
        let first_id = page["items"][0]["id"].as_i64().unwrap();
        let item = ctx.get(&format!("{entity}/{first_id}")).await.expect(200);
        assert_eq!(item.as_object().unwrap().keys().collect::<Vec<_>>(), ["item"]);
        assert_model(model, &item["item"]);
        let count = ctx.post(&format!("{entity}/query/count"), everything.clone()).await.expect(200);
        assert_model("QueryCountResultModel", &count);
        let narrow =
            json!({ "filter": [{ "op": "exist", "field": "id" }], "IncludeFields": ["id"], "MaxRecords": 1 });
        assert_page(model, &ctx.post(&format!("{entity}/query"), narrow).await.expect(200));
    }
    assert_page("ContractServiceModel", &ctx.get("Contracts/991/Services").await.expect(200));
    assert_page("ContractServiceUnitModel", &ctx.get("Contracts/991/ServiceUnits").await.expect(200));
    assert_model("ContractServiceModel", &ctx.get("Contracts/991/Services/5001").await.expect(200)["item"]);
    assert_model(
        "ContractServiceUnitModel",
        &ctx.get("Contracts/991/ServiceUnits/7001").await.expect(200)["item"],
    );
}

#[tokio::test]
async fn metadata_bodies_match_their_models() {
    let ctx = Ctx::seed();
    let mut all = ENTITIES.iter().map(|(entity, _)| entity.to_string()).collect::<Vec<_>>();
    all.extend(
        [
            "ContractServiceAdjustments",
            "Contracts/991/Services",
            "Contracts/991/ServiceUnits",
            "Contracts/991/ServiceAdjustments",
        ]
        .map(String::from),
    );
    for entity in all {
        assert_model(
            "EntityInformationResultModel",
            &ctx.get(&format!("{entity}/entityInformation")).await.expect(200),
        );
        assert_model(
            "FieldInformationResultModel",
            &ctx.get(&format!("{entity}/entityInformation/fields")).await.expect(200),
        );
        assert_model(
            "UserDefinedFieldInformationResultModel",
            &ctx.get(&format!("{entity}/entityInformation/userDefinedFields")).await.expect(200),
        );
    }
    assert_model("ThresholdStatusResultModel", &ctx.get("ThresholdInformation").await.expect(200));
    let zone = ctx
        .send(Ctx::request(
            "GET",
            "/atservicesrest/v1.0/zoneInformation?user=fred@cspservices.com",
            None,
            false,
        ))
        .await;
    assert_model("ZoneInformationResultModel", &zone.expect(200));
}

#[tokio::test]
async fn recorded_adjustments_match_the_adjustment_model() {
    let ctx = seeded_with_writes().await;
    let state = ctx.send(Ctx::request("GET", "/__mock/state", None, false)).await.expect(200);
    let adjustments = state["adjustments"].as_array().unwrap();
    assert_eq!(adjustments.len(), 2);
    for adjustment in adjustments {
        assert_model("ContractServiceAdjustmentModel", adjustment);
    }
}

/// The validator itself must reject what Autotask would not send.
#[tokio::test]
async fn the_model_check_rejects_wrong_names_and_types() {
    let schema = common::model_schema("ContractServiceUnitModel");
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&json!({ "id": 1, "units": 2, "startDate": "2026-01-01T00:00:00Z" })));
    assert!(!validator.is_valid(&json!({ "Id": 1 })));
    assert!(!validator.is_valid(&json!({ "contractId": 1 })));
    assert!(!validator.is_valid(&json!({ "units": "2" })));
    assert!(!validator.is_valid(&json!({ "units": 3_000_000_000i64 })));
    assert!(!validator.is_valid(&json!({ "startDate": "2026-01-01T00:00:00+01:00" })));
    assert_eq!(common::camel_case("CompanyID"), "companyID");
    assert_eq!(common::camel_case("CI"), "ci");
    assert_eq!(common::camel_case("SICCode"), "sicCode");
}
