//! Fidelity with what real clients send and what Autotask answers: numbers as JSON strings,
//! ContractServices updates limited to `adjustedPrice` and `invoiceDescription`, malformed
//! bodies answered in Autotask's error shape without the deserializer's words, and entities
//! carrying every field of their swagger model, loaded and served back.

mod common;

use common::{Ctx, camel_case};
use mock_autotask::MockConfig;
use mock_autotask::entity::EntityKind;
use serde_json::{Map, Value as Json, json};

#[tokio::test]
async fn decimals_and_integers_sent_as_strings_are_numbers() {
    let ctx = Ctx::seed();
    // A new line of service 31 on contract 994, as clients that stringify every value send it.
    let line = ctx
        .post(
            "Contracts/994/Services",
            json!({ "contractID": "994", "serviceID": "31", "unitPrice": "7", "unitCost": "2.5" }),
        )
        .await
        .expect(200)["itemId"]
        .as_i64()
        .unwrap();
    let item = ctx.get(&format!("ContractServices/{line}")).await.expect(200)["item"].clone();
    assert_eq!(
        (item["serviceID"].clone(), item["unitPrice"].clone(), item["unitCost"].clone()),
        (json!(31), json!(7.0), json!(2.5))
    );

    let adjustment = json!({ "contractServiceID": line.to_string(), "effectiveDate": "2026-10-26T00:00:00Z",
                             "unitChange": 4.0, "adjustedUnitPrice": "22", "adjustedUnitCost": "11.25" });
    ctx.post("Contracts/994/ServiceAdjustments", adjustment).await.expect(200);
    let rows = ctx.units_rows().await;
    let row = rows.iter().find(|row| row["contractServiceID"] == line).expect("a units row for the new line");
    assert_eq!(
        (row["units"].clone(), row["price"].clone(), row["cost"].clone()),
        (json!(4), json!(22.0), json!(11.25))
    );

    let company = json!({ "companyName": "Strings Ltd", "companyType": "1", "isActive": "true", "assetValue": "1000.50" });
    let id = ctx.post("Companies", company).await.expect(200)["itemId"].as_i64().unwrap();
    let item = ctx.get(&format!("Companies/{id}")).await.expect(200)["item"].clone();
    assert_eq!(
        (item["companyType"].clone(), item["isActive"].clone(), item["assetValue"].clone()),
        (json!(1), json!(true), json!(1000.5))
    );
}

#[tokio::test]
async fn values_that_are_not_numbers_are_refused_naming_the_field() {
    let ctx = Ctx::seed();
    let cases = [
        (
            "Companies",
            json!({ "companyName": "X", "companyType": "one", "isActive": true }),
            "companyType: the value \"one\" is not a valid integer.",
        ),
        (
            "Companies",
            json!({ "companyName": "X", "companyType": 3000000000_i64, "isActive": true }),
            "companyType: the value 3000000000 is not a valid integer.",
        ),
        (
            "Companies",
            json!({ "companyName": "X", "companyType": 1, "isActive": "yes" }),
            "isActive: the value \"yes\" is not a valid boolean.",
        ),
        ("Companies", json!({ "companyType": 1, "isActive": true }), "companyName is required."),
        (
            "Contracts/991/Services",
            json!({ "serviceID": "thirty-one" }),
            "serviceID must be an integer; found \"thirty-one\".",
        ),
        (
            "Contracts/991/Services",
            json!({ "serviceID": 31, "unitPrice": "7 dollars" }),
            "unitPrice: the value \"7 dollars\" is not a valid double.",
        ),
        (
            "ContractServiceAdjustments",
            json!({ "contractServiceID": 5001, "effectiveDate": "2026-11-01", "unitChange": 1, "adjustedUnitPrice": "NaN" }),
            "adjustedUnitPrice must be a number; found \"NaN\".",
        ),
        (
            "ContractServiceAdjustments",
            json!({ "contractServiceID": "5001", "effectiveDate": "2026-11-01", "unitChange": 4.5 }),
            "unitChange must be an integer; found 4.5.",
        ),
    ];
    for (path, body, expected) in cases {
        assert_eq!(ctx.post(path, body.clone()).await.expect_errors(), expected, "{path} {body}");
    }
    assert!(ctx.state.ledger().is_empty(), "a refused write changes nothing");
}

/// Words of serde_json's messages that must never reach a client.
const DESERIALIZER_WORDS: [&str; 8] =
    ["invalid type", "expected", "EOF", "at line", "f64", "i64", "serde", "trailing characters"];

#[tokio::test]
async fn malformed_json_bodies_get_an_errors_array_in_autotasks_words() {
    let ctx = Ctx::seed();
    let bodies =
        ["{\"companyName\": }", "[1,", "{\"filter\": [}", "not json", "{\"a\":1} x", "\"unterminated"];
    let paths = [
        "Companies",
        "Companies/query",
        "Contracts/991/Services",
        "ContractServiceAdjustments",
        "Contracts/query/count",
    ];
    for path in paths {
        for body in bodies {
            let request = axum::http::Request::builder()
                .method("POST")
                .uri(format!("{}/{path}", common::API))
                .header("Host", common::HOST)
                .header("ApiIntegrationcode", common::CODE)
                .header("UserName", common::USER)
                .header("Secret", common::SECRET)
                .header("Content-Type", "application/json")
                .body(axum::body::Body::from(body))
                .unwrap();
            let message = ctx.send(request).await.expect_errors();
            assert!(
                message.starts_with("The request body is not valid JSON (line 1, position "),
                "{path} {body}: {message}"
            );
            for word in DESERIALIZER_WORDS {
                assert!(!message.contains(word), "{path} {body}: `{word}` leaks in {message}");
            }
        }
    }
    let search = ctx.get("Companies/query?search=%7B%22filter%22%3A").await.expect_errors();
    assert_eq!(search, "The search parameter is not valid JSON (position 10).");
    assert!(ctx.state.ledger().is_empty());
}

/// A value of the swagger property's type: ids and references are filled in by the caller.
fn sample(property: &Json, seed: i64) -> Json {
    match (property["type"].as_str(), property["format"].as_str()) {
        (Some("integer"), _) => json!(seed % 97 + 1),
        (Some("number"), _) => json!(seed as f64 + 0.25),
        (Some("boolean"), _) => json!(seed % 2 == 0),
        (Some("string"), Some("date-time")) => {
            json!(format!("2026-{:02}-{:02}T00:00:00Z", seed % 12 + 1, seed % 28 + 1))
        }
        (Some("string"), _) => json!(format!("text {seed}")),
        (Some("array"), _) => json!([{ "name": "Region", "value": format!("R{seed}") }]),
        _ => Json::Null,
    }
}

/// One entity with every property of `model`, camelCase, then `fixed` on top.
fn every_field(swagger: &Json, model: &str, fixed: Json) -> Json {
    let mut entity = Map::new();
    for (index, (name, property)) in
        swagger["definitions"][model]["properties"].as_object().unwrap().iter().enumerate()
    {
        entity.insert(camel_case(name), sample(property, index as i64 + 3));
    }
    entity.extend(fixed.as_object().unwrap().clone());
    Json::Object(entity)
}

#[tokio::test]
async fn entities_with_every_swagger_field_load_and_come_back_whole() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/autotask-openapi-subset.json");
    let swagger: Json = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let company = every_field(&swagger, "CompanyModel", json!({ "id": 1, "parentCompanyID": null }));
    let contract = every_field(
        &swagger,
        "ContractModel",
        json!({ "id": 2, "companyID": 1, "contractType": 7, "status": 1,
        "startDate": "2026-01-01T00:00:00Z", "endDate": "2026-12-31T00:00:00Z" }),
    );
    let service = every_field(&swagger, "ServiceModel", json!({ "id": 3 }));
    let line =
        every_field(&swagger, "ContractServiceModel", json!({ "id": 4, "contractID": 2, "serviceID": 3 }));
    let units = every_field(
        &swagger,
        "ContractServiceUnitModel",
        json!({ "id": 5, "contractID": 2, "contractServiceID": 4,
        "serviceID": 3, "startDate": "2026-11-01T00:00:00Z", "endDate": "2026-11-30T23:59:59Z", "units": 12 }),
    );
    let fixture = json!({ "format": "billsync.autotask/v1", "companies": [company], "contracts": [contract],
        "services": [service], "contractServices": [line], "contractServiceUnits": [units] });
    let ctx =
        Ctx::with(MockConfig::from_json(fixture.to_string().as_bytes()).expect("every swagger field loads"));

    for (kind, array) in [
        (EntityKind::Companies, "companies"),
        (EntityKind::Contracts, "contracts"),
        (EntityKind::Services, "services"),
        (EntityKind::ContractServices, "contractServices"),
        (EntityKind::ContractServiceUnits, "contractServiceUnits"),
    ] {
        let given = &fixture[array][0];
        let query = json!({ "filter": [{ "op": "eq", "field": "id", "value": given["id"] }] });
        let page = ctx.post(&format!("{}/query", kind.name()), query).await.expect(200);
        let served = &page["items"][0];
        assert_eq!(served, given, "{}: the query answer is the entity as given", kind.name());
        common::assert_model(kind.model(), served);

        // Every swagger field is a field of the entity: filters and IncludeFields may name it.
        // `userDefinedFields` and the SOAP-era `soapParentPropertyId` are carried and served,
        // but are not fields of `/fields`.
        let names: Vec<String> = given
            .as_object()
            .unwrap()
            .keys()
            .filter(|name| !matches!(name.as_str(), "userDefinedFields" | "soapParentPropertyId"))
            .cloned()
            .collect();
        let narrowed =
            json!({ "filter": [{ "op": "exist", "field": names.last().unwrap() }], "IncludeFields": names });
        let page = ctx.post(&format!("{}/query", kind.name()), narrowed).await.expect(200);
        let mut expected = given.clone();
        expected.as_object_mut().unwrap().remove("soapParentPropertyId");
        assert_eq!(page["items"][0], expected, "{}: IncludeFields with every field", kind.name());
        for name in names.iter().filter(|name| !given[name.as_str()].is_null()) {
            let one = json!({ "filter": [{ "op": "eq", "field": name, "value": given[name] }], "IncludeFields": ["id", name] });
            let page = ctx.post(&format!("{}/query", kind.name()), one).await.expect(200);
            assert_eq!(page["pageDetails"]["count"], 1, "{}: eq on {name}", kind.name());
            assert_eq!(page["items"][0][name], given[name]);
            let keys = if name == "id" { 2 } else { 3 };
            assert_eq!(page["items"][0].as_object().unwrap().len(), keys, "id, {name} and userDefinedFields");
        }
        let fields = ctx.get(&format!("{}/entityInformation/fields", kind.name())).await.expect(200);
        let listed: Vec<&str> = fields["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|field| field["name"].as_str().unwrap())
            .collect();
        for name in &names {
            assert!(listed.contains(&name.as_str()), "{}: /fields lists {name}", kind.name());
        }
    }
}
