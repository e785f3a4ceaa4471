//! Handler tests through `oneshot`: every route, operator, envelope, status and limit.

mod common;

use std::time::Duration;

use common::{API, Ctx, HOST, ids, seed_config};
use mock_autotask::{AuthFailureMode, MockConfig};
use serde_json::{Value as Json, json};

fn filter(items: Json) -> Json {
    json!({ "filter": items })
}

// ---------------------------------------------------------------------------------------------
// Zone discovery, version, threshold

#[tokio::test]
async fn zone_information_needs_no_credentials_and_points_at_this_server() {
    let ctx = Ctx::seed();
    let path = "/atservicesrest/v1.0/zoneInformation?user=FRED%40cspservices.com";
    let reply = ctx.send(Ctx::request("GET", path, None, false)).await;
    let body = reply.expect(200);
    assert_eq!(body["url"], format!("http://{HOST}/ATServicesRest/"));
    assert_eq!(body["webUrl"], format!("http://{HOST}/"));
    assert!(body["zoneName"].is_string() && body["ci"].is_i64(), "{body}");
}

#[tokio::test]
async fn zone_information_for_an_unknown_user_is_the_500_errors_body() {
    let ctx = Ctx::seed();
    for path in [
        "/atservicesrest/v1.0/zoneInformation?user=nobody%40example.com",
        "/atservicesrest/v1.0/zoneInformation",
    ] {
        let reply = ctx.send(Ctx::request("GET", path, None, false)).await;
        assert_eq!(reply.expect(500), json!({ "errors": ["Zone information could not be determined"] }));
    }
}

#[tokio::test]
async fn zone_information_uses_the_configured_public_url() {
    let mut config = seed_config();
    config.public_base_url = Some("https://mock.example/".to_owned());
    let ctx = Ctx::with(config);
    let reply = ctx
        .send(Ctx::request(
            "GET",
            "/ATServicesRest/V1.0/ZoneInformation?user=fred@cspservices.com",
            None,
            false,
        ))
        .await;
    assert_eq!(reply.expect(200)["url"], "https://mock.example/ATServicesRest/");
}

#[tokio::test]
async fn version_endpoints() {
    let ctx = Ctx::seed();
    let reply = ctx.send(Ctx::request("GET", "/atservicesrest/versioninformation", None, false)).await;
    assert_eq!(reply.expect(200), json!({ "apiVersions": ["1.0"] }));
    let version = ctx.get("Version").await.expect(200);
    assert_eq!(version["majorVersion"], 1);
    assert!(version["minorVersion"].is_i64() && version["build"].is_i64());
    let anonymous = ctx.send(Ctx::request("GET", &format!("{API}/Version"), None, false)).await;
    assert_eq!(anonymous.status.as_u16(), 401);
}

#[tokio::test]
async fn threshold_information_counts_every_call_including_itself() {
    let ctx = Ctx::seed();
    let first = ctx.get("ThresholdInformation").await.expect(200);
    assert_eq!(
        first,
        json!({ "externalRequestThreshold": 10000, "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": 1 })
    );
    ctx.get("Companies/29683541").await.expect(200);
    let third = ctx.get("ThresholdInformation").await.expect(200);
    assert_eq!(third["currentTimeframeRequestCount"], 3);
}

// ---------------------------------------------------------------------------------------------
// Authentication

#[tokio::test]
async fn bad_credentials_get_401_with_an_empty_body() {
    let ctx = Ctx::seed();
    let path = format!("{API}/Companies/29683541");
    let cases =
        [("ApiIntegrationCode", "WRONG"), ("UserName", "someone@else.com"), ("Secret", "wrong-secret")];
    for (header, value) in cases {
        let mut request = Ctx::request("GET", &path, None, true);
        request.headers_mut().insert(header, value.parse().unwrap());
        let reply = ctx.send(request).await;
        assert_eq!(reply.status.as_u16(), 401, "{header}");
        assert!(reply.body.is_empty(), "{header}: {:?}", reply.body);
    }
    let reply = ctx.send(Ctx::request("GET", &path, None, false)).await;
    assert_eq!(reply.status.as_u16(), 401);
    assert!(reply.body.is_empty());
}

#[tokio::test]
async fn header_names_are_case_insensitive_and_user_names_too() {
    let ctx = Ctx::seed();
    let request = axum::http::Request::builder()
        .uri(format!("{API}/Companies/29683541"))
        .header("APIINTEGRATIONCODE", common::CODE)
        .header("username", "FRED@CSPSERVICES.COM")
        .header("SECRET", common::SECRET)
        .body(axum::body::Body::empty())
        .unwrap();
    ctx.send(request).await.expect(200);
}

#[tokio::test]
async fn legacy_auth_mode_answers_with_the_older_shapes() {
    let mut config = seed_config();
    config.auth_failure = AuthFailureMode::Legacy500;
    let ctx = Ctx::with(config);
    let path = format!("{API}/Companies/29683541");
    let send = |header: &'static str, value: &'static str| {
        let mut request = Ctx::request("GET", &path, None, true);
        request.headers_mut().insert(header, value.parse().unwrap());
        ctx.send(request)
    };
    assert!(send("UserName", "x@y.z").await.expect_errors().contains("User"));
    assert_eq!(send("ApiIntegrationCode", "WRONG").await.expect_errors(), "IntegrationCode is invalid");
    let secret = send("Secret", "wrong").await;
    assert!(secret.expect(401)["errors"].is_array());
}

// ---------------------------------------------------------------------------------------------
// Paths and verbs

#[tokio::test]
async fn paths_are_case_insensitive_and_tolerate_trailing_slashes() {
    let ctx = Ctx::seed();
    for path in [
        "/atservicesrest/v1.0/companies/29683541/",
        "/ATSERVICESREST/V1.0/COMPANIES/29683541",
        "/ATServicesRest//V1.0/Companies/29683541",
    ] {
        assert_eq!(ctx.get(path).await.expect(200)["item"]["id"], 29683541, "{path}");
    }
    let body = filter(json!([{ "op": "eq", "field": "id", "value": 991 }]));
    let reply = ctx.call("POST", "/atservicesrest/v1.0/contracts/query/", Some(body)).await;
    assert_eq!(ids(&reply.expect(200)["items"]), vec![991]);
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let ctx = Ctx::seed();
    for path in [
        "/nothing",
        "/ATServicesRest/V2.0/Companies/1",
        "Tickets/query",
        "Companies/abc",
        "Contracts/991/Tickets",
        "Companies/1/2/3",
    ] {
        let reply = ctx.get(path).await;
        assert_eq!(reply.status.as_u16(), 404, "{path}");
        assert!(reply.json()["Message"].as_str().unwrap().contains("No HTTP resource"), "{path}");
    }
}

#[tokio::test]
async fn verbs_the_swagger_lacks_are_405() {
    let ctx = Ctx::seed();
    let cases = [
        ("POST", "ContractServices"),
        ("PATCH", "ContractServices"),
        ("POST", "ContractServiceUnits"),
        ("PATCH", "ContractServiceUnits"),
        ("PUT", "ContractServiceUnits"),
        ("GET", "ContractServiceAdjustments/1"),
        ("POST", "ContractServiceAdjustments/query"),
        ("GET", "ContractServiceAdjustments/query/count"),
        ("PATCH", "ContractServiceAdjustments"),
        ("DELETE", "Companies/29683541"),
        ("DELETE", "Contracts/991"),
        ("DELETE", "Services/12"),
        ("DELETE", "ContractServices/5001"),
        ("GET", "Companies"),
        ("PUT", "Contracts/991/ServiceUnits"),
        ("POST", "Contracts/991/ServiceUnits"),
        ("GET", "Contracts/991/ServiceAdjustments"),
        ("DELETE", "Contracts/991/Services/5001"),
        ("POST", "ThresholdInformation"),
        ("PUT", "Companies/query"),
        ("POST", "Companies/entityInformation/fields"),
    ];
    for (method, path) in cases {
        let reply = ctx.call(method, path, Some(json!({}))).await;
        assert_eq!(reply.status.as_u16(), 405, "{method} {path}");
        reply.expect_405(method);
    }
}

// ---------------------------------------------------------------------------------------------
// Items

#[tokio::test]
async fn get_by_id_wraps_the_item_with_camel_case_utc_and_empty_udfs() {
    let ctx = Ctx::seed();
    let body = ctx.get("ContractServiceUnits/6001").await.expect(200);
    assert_eq!(
        body,
        json!({ "item": {
            "id": 6001, "contractID": 991, "contractServiceID": 5001, "serviceID": 12,
            "startDate": "2026-09-26T00:00:00Z", "endDate": "2026-10-25T00:00:00Z", "units": 20,
            "price": 22.0, "cost": 18.5, "approveAndPostDate": "2026-10-27T09:00:00Z", "userDefinedFields": []
        }})
    );
    for path in ["Companies/29683541", "Contracts/991", "Services/12", "ContractServices/5001"] {
        assert_eq!(ctx.get(path).await.expect(200)["item"]["userDefinedFields"], json!([]), "{path}");
    }
}

#[tokio::test]
async fn a_missing_id_is_404_with_a_null_item() {
    let ctx = Ctx::seed();
    for path in ["Companies/1", "Contracts/1", "Services/1", "ContractServices/1", "ContractServiceUnits/1"] {
        assert_eq!(ctx.get(path).await.expect(404), json!({ "item": null }), "{path}");
    }
}

#[tokio::test]
async fn child_routes_list_and_get_within_their_contract() {
    let ctx = Ctx::seed();
    let services = ctx.get("Contracts/991/Services").await.expect(200);
    assert_eq!(ids(&services["items"]), vec![5001, 5002]);
    assert_eq!(services["pageDetails"]["count"], 2);
    let units = ctx.get("contracts/991/serviceunits").await.expect(200);
    assert_eq!(ids(&units["items"]), vec![6001, 7001, 7002]);
    assert_eq!(ctx.get("Contracts/991/Services/5001").await.expect(200)["item"]["id"], 5001);
    ctx.get("Contracts/992/Services/5001").await.expect(404);
    assert_eq!(ctx.get("Contracts/991/ServiceUnits/7002").await.expect(200)["item"]["units"], 3);
    ctx.get("Contracts/992/ServiceUnits/7002").await.expect(404);
    assert_eq!(ids(&ctx.get("Contracts/12345/Services").await.expect(200)["items"]), Vec::<i64>::new());
}

// ---------------------------------------------------------------------------------------------
// Queries

#[tokio::test]
async fn query_envelope_lists_matches_in_id_order() {
    let ctx = Ctx::seed();
    let body = ctx
        .post(
            "ContractServiceUnits/query",
            filter(json!([{ "op": "eq", "field": "serviceID", "value": 12 }])),
        )
        .await
        .expect(200);
    assert_eq!(ids(&body["items"]), vec![6001, 7001, 7003, 7005]);
    assert_eq!(
        body["pageDetails"],
        json!({ "count": 4, "requestCount": 500, "prevPageUrl": null, "nextPageUrl": null })
    );
}

#[tokio::test]
async fn query_by_get_search_and_counts() {
    let ctx = Ctx::seed();
    let search = json!({ "filter": [{ "op": "eq", "field": "contractType", "value": 7 }] }).to_string();
    let encoded = mock_autotask::routes::percent_encode(&search);
    let body = ctx.get(&format!("Contracts/query?search={encoded}")).await.expect(200);
    assert_eq!(ids(&body["items"]), vec![991, 992, 994]);
    let count = ctx.get(&format!("Contracts/query/count?search={encoded}")).await.expect(200);
    assert_eq!(count, json!({ "queryCount": 3 }));
    let posted = ctx.post("Contracts/query/count", serde_json::from_str(&search).unwrap()).await.expect(200);
    assert_eq!(posted, json!({ "queryCount": 3 }));
    ctx.get("Contracts/query").await.expect_errors();
    assert!(ctx.get("Contracts/query?search=%7Bnot").await.expect_errors().contains("search"));
}

/// One operator on the seed: (entity, condition, expected ids).
async fn check_operator(ctx: &Ctx, entity: &str, condition: Json, expected: &[i64]) {
    let got = ctx.query_ids(entity, filter(json!([condition.clone()]))).await;
    assert_eq!(got, expected, "{entity} {condition}");
}

#[tokio::test]
async fn every_operator() {
    let ctx = Ctx::seed();
    let units = "ContractServiceUnits";
    check_operator(&ctx, units, json!({ "op": "eq", "field": "units", "value": 3 }), &[7002, 7004]).await;
    check_operator(
        &ctx,
        units,
        json!({ "op": "noteq", "field": "units", "value": 20 }),
        &[7002, 7003, 7004, 7005],
    )
    .await;
    check_operator(&ctx, units, json!({ "op": "gt", "field": "units", "value": 7 }), &[6001, 7001, 7003])
        .await;
    check_operator(
        &ctx,
        units,
        json!({ "op": "gte", "field": "units", "value": 7 }),
        &[6001, 7001, 7003, 7005],
    )
    .await;
    check_operator(&ctx, units, json!({ "op": "lt", "field": "units", "value": 7 }), &[7002, 7004]).await;
    check_operator(&ctx, units, json!({ "op": "lte", "field": "units", "value": 7 }), &[7002, 7004, 7005])
        .await;
    check_operator(&ctx, units, json!({ "op": "exist", "field": "approveAndPostDate" }), &[6001]).await;
    check_operator(
        &ctx,
        units,
        json!({ "op": "notExist", "field": "approveAndPostDate" }),
        &[7001, 7002, 7003, 7004, 7005],
    )
    .await;
    check_operator(
        &ctx,
        units,
        json!({ "op": "in", "field": "contractServiceID", "value": [5002, 5004, 9999] }),
        &[7002, 7004],
    )
    .await;
    check_operator(&ctx, units, json!({ "op": "notIn", "field": "serviceID", "value": [12] }), &[7002, 7004])
        .await;
    check_operator(&ctx, units, json!({ "op": "lt", "field": "startDate", "value": "2026-10-01" }), &[6001])
        .await;
    check_operator(
        &ctx,
        units,
        json!({ "op": "gte", "field": "endDate", "value": "2026-11-25T00:00:00Z" }),
        &[7001, 7002, 7003, 7004, 7005],
    )
    .await;
    let companies = "Companies";
    check_operator(
        &ctx,
        companies,
        json!({ "op": "beginsWith", "field": "companyName", "value": "SAMPLE" }),
        &[29683542],
    )
    .await;
    check_operator(
        &ctx,
        companies,
        json!({ "op": "endsWith", "field": "companyName", "value": "ltd" }),
        &[29683542, 29683543],
    )
    .await;
    check_operator(
        &ctx,
        companies,
        json!({ "op": "contains", "field": "companyName", "value": "CLOUD" }),
        &[29683541],
    )
    .await;
    check_operator(
        &ctx,
        companies,
        json!({ "op": "eq", "field": "companyNumber", "value": "asp-001" }),
        &[29683541],
    )
    .await;
    check_operator(
        &ctx,
        companies,
        json!({ "op": "gt", "field": "companyName", "value": "b" }),
        &[29683542, 29683543],
    )
    .await;
    check_operator(
        &ctx,
        companies,
        json!({ "op": "in", "field": "companyNumber", "value": ["otf-001", "SAMPLE-001"] }),
        &[29683542, 29683543],
    )
    .await;
    check_operator(&ctx, "Services", json!({ "op": "lt", "field": "unitPrice", "value": 4.5 }), &[17, 31])
        .await;
    check_operator(&ctx, "Services", json!({ "op": "eq", "field": "unitPrice", "value": "22" }), &[12]).await;
}

#[tokio::test]
async fn nested_and_or_groups() {
    let ctx = Ctx::seed();
    let body = filter(json!([
        { "op": "or", "items": [
            { "op": "eq", "field": "contractID", "value": 992 },
            { "op": "and", "items": [
                { "op": "eq", "field": "contractID", "value": 991 },
                { "op": "lt", "field": "units", "value": 10 }
            ]}
        ]},
        { "op": "noteq", "field": "serviceID", "value": 40 }
    ]));
    assert_eq!(ctx.query_ids("ContractServiceUnits", body).await, vec![7002, 7003]);
}

#[tokio::test]
async fn field_names_and_strings_ignore_case() {
    let ctx = Ctx::seed();
    let body =
        json!({ "Filter": [{ "op": "EQ", "field": "COMPANYNAME", "value": "asp cloud" }], "maxrecords": 5 });
    assert_eq!(ctx.query_ids("Companies", body).await, vec![29683541]);
}

#[tokio::test]
async fn booleans_are_strict() {
    let ctx = Ctx::seed();
    for good in [json!(true), json!("true"), json!("False")] {
        let reply = ctx
            .post("Companies/query", filter(json!([{ "op": "eq", "field": "isActive", "value": good }])))
            .await;
        reply.expect(200);
    }
    for bad in [json!(1), json!("yes"), json!(null), json!("1"), json!([true])] {
        let reply = ctx
            .post("Companies/query", filter(json!([{ "op": "eq", "field": "isActive", "value": bad }])))
            .await;
        assert!(reply.expect_errors().contains("isActive"), "{bad}");
    }
    let udf = filter(json!([{ "op": "eq", "field": "x", "udf": "yes", "value": "a" }]));
    ctx.post("Companies/query", udf).await.expect_errors();
}

#[tokio::test]
async fn invalid_queries_are_500_errors() {
    let ctx = Ctx::seed();
    let cases = [
        json!({ "filter": [] }),
        json!({}),
        json!({ "filter": "id eq 1" }),
        json!([]),
        filter(json!([{ "op": "eq", "field": "nope", "value": 1 }])),
        filter(json!([{ "op": "like", "field": "id", "value": 1 }])),
        filter(json!([{ "op": "eq", "field": "id" }])),
        filter(json!([{ "op": "eq", "field": "id", "value": "x" }])),
        filter(json!([{ "op": "in", "field": "id", "value": 1 }])),
        filter(json!([{ "op": "contains", "field": "id", "value": "1" }])),
        filter(json!([{ "op": "gt", "field": "isActive", "value": true }])),
        filter(json!([{ "op": "and", "items": [] }])),
        filter(json!([{ "op": "or" }])),
        filter(json!([{ "op": "eq", "value": 1 }])),
        filter(json!([7])),
        json!({ "filter": [{ "op": "exist", "field": "id" }], "MaxRecords": 0 }),
        json!({ "filter": [{ "op": "exist", "field": "id" }], "MaxRecords": 501 }),
        json!({ "filter": [{ "op": "exist", "field": "id" }], "MaxRecords": "ten" }),
        json!({ "filter": [{ "op": "exist", "field": "id" }], "IncludeFields": ["bogus"] }),
        filter(json!([
            { "op": "eq", "field": "a", "udf": true, "value": "1" },
            { "op": "eq", "field": "b", "udf": true, "value": "1" }
        ])),
    ];
    for body in cases {
        ctx.post("Companies/query", body.clone()).await.expect_errors();
    }
    let not_json = ctx.send(Ctx::request("POST", &format!("{API}/Companies/query"), None, true)).await;
    not_json.expect_errors();
}

#[tokio::test]
async fn one_udf_is_allowed_and_reads_as_absent() {
    let ctx = Ctx::seed();
    let body = filter(json!([{ "op": "notExist", "field": "Billing Code", "udf": true }]));
    assert_eq!(ctx.query_ids("Companies", body).await.len(), 3);
    let body = filter(json!([{ "op": "eq", "field": "Billing Code", "udf": true, "value": "x" }]));
    assert!(ctx.query_ids("Companies", body).await.is_empty());
}

#[tokio::test]
async fn max_records_and_include_fields() {
    let ctx = Ctx::seed();
    let body = json!({ "filter": [{ "op": "exist", "field": "id" }], "MaxRecords": 500, "IncludeFields": ["ID", "units"] });
    let page = ctx.post("ContractServiceUnits/query", body).await.expect(200);
    assert_eq!(page["items"][0], json!({ "id": 6001, "units": 20, "userDefinedFields": [] }));
    assert_eq!(page["pageDetails"]["requestCount"], 500);
}

#[tokio::test]
async fn paging_follows_an_absolute_next_url_that_must_be_posted() {
    let ctx = Ctx::seed();
    let body = json!({ "filter": [{ "op": "gt", "field": "id", "value": 0 }], "MaxRecords": 2 });
    let first = ctx.post("ContractServiceUnits/query", body.clone()).await.expect(200);
    assert_eq!(ids(&first["items"]), vec![6001, 7001]);
    assert_eq!(first["pageDetails"]["count"], 2);
    assert_eq!(first["pageDetails"]["requestCount"], 2);
    assert_eq!(first["pageDetails"]["prevPageUrl"], Json::Null);
    let next = first["pageDetails"]["nextPageUrl"].as_str().unwrap().to_owned();
    assert!(
        next.starts_with(&format!(
            "http://{HOST}/ATServicesRest/V1.0/ContractServiceUnits/query/next?paging="
        )),
        "{next}"
    );

    ctx.get(&next).await.expect_405("GET");

    let second = ctx.call("POST", &next, Some(body.clone())).await.expect(200);
    assert_eq!(ids(&second["items"]), vec![7002, 7003]);
    let prev = second["pageDetails"]["prevPageUrl"].as_str().unwrap().to_owned();
    let back = ctx.call("POST", &prev, Some(body.clone())).await.expect(200);
    assert_eq!(ids(&back["items"]), vec![6001, 7001]);
    assert_eq!(back["pageDetails"]["prevPageUrl"], Json::Null);

    let third_url = second["pageDetails"]["nextPageUrl"].as_str().unwrap().to_owned();
    let third = ctx.call("POST", &third_url, Some(body.clone())).await.expect(200);
    assert_eq!(ids(&third["items"]), vec![7004, 7005]);
    assert_eq!(third["pageDetails"]["nextPageUrl"], Json::Null);

    let broken = ctx.call("POST", "ContractServiceUnits/query/next?paging=%7B%7D", Some(body)).await;
    broken.expect_errors();
}

#[tokio::test]
async fn paging_of_a_get_query_keeps_its_search_and_uses_get() {
    let ctx = Ctx::seed();
    let search = json!({ "filter": [{ "op": "exist", "field": "id" }], "MaxRecords": 4 }).to_string();
    let first = ctx
        .get(&format!("ContractServiceUnits/query?search={}", mock_autotask::routes::percent_encode(&search)))
        .await;
    let first = first.expect(200);
    let next = first["pageDetails"]["nextPageUrl"].as_str().unwrap();
    assert!(next.contains("&search="), "{next}");
    let second = ctx.get(next).await.expect(200);
    assert_eq!(ids(&second["items"]), vec![7004, 7005]);
}

#[tokio::test]
async fn entity_information_and_fields() {
    let ctx = Ctx::seed();
    let info = ctx.get("Contracts/entityInformation").await.expect(200);
    assert_eq!(info["info"]["name"], "Contract");
    assert_eq!(info["info"]["canQuery"], true);
    let adjustments = ctx.get("ContractServiceAdjustments/entityInformation").await.expect(200);
    assert_eq!(
        (adjustments["info"]["canCreate"].clone(), adjustments["info"]["canQuery"].clone()),
        (json!(true), json!(false))
    );
    let units = ctx.get("ContractServiceUnits/entityInformation").await.expect(200);
    assert_eq!(
        (units["info"]["canCreate"].clone(), units["info"]["canUpdate"].clone()),
        (json!(false), json!(false))
    );

    let fields = ctx.get("Contracts/entityInformation/fields").await.expect(200);
    let contract_type =
        fields["fields"].as_array().unwrap().iter().find(|f| f["name"] == "contractType").unwrap();
    assert_eq!(contract_type["isPickList"], true);
    let recurring =
        contract_type["picklistValues"].as_array().unwrap().iter().find(|v| v["value"] == "7").unwrap();
    assert_eq!(recurring["label"], "Recurring Service");
    assert_eq!(
        ctx.get("Contracts/entityInformation/userDefinedFields").await.expect(200),
        json!({ "fields": [] })
    );
    let child = ctx.get("Contracts/991/ServiceAdjustments/entityInformation/fields").await.expect(200);
    assert!(child["fields"].as_array().unwrap().iter().any(|f| f["name"] == "unitChange"));
}

// ---------------------------------------------------------------------------------------------
// Writes

#[tokio::test]
async fn contract_services_are_created_only_under_a_recurring_contract() {
    let ctx = Ctx::seed();
    let created = ctx.post("Contracts/991/Services", json!({ "serviceID": 31 })).await.expect(200);
    let id = created["itemId"].as_i64().unwrap();
    assert_eq!(id, 5006);
    let line = ctx.get(&format!("ContractServices/{id}")).await.expect(200)["item"].clone();
    assert_eq!(
        (line["contractID"].clone(), line["serviceID"].clone(), line["unitPrice"].clone()),
        (json!(991), json!(31), json!(3.0))
    );

    assert!(
        ctx.post("Contracts/993/Services", json!({ "serviceID": 31 }))
            .await
            .expect_errors()
            .contains("Recurring Service")
    );
    ctx.post("Contracts/991/Services", json!({ "serviceID": 999 })).await.expect_errors();
    ctx.post("Contracts/991/Services", json!({})).await.expect_errors();
    ctx.post("Contracts/991/Services", json!({ "serviceID": 31, "contractID": 992 })).await.expect_errors();
    ctx.post("Contracts/4242/Services", json!({ "serviceID": 31 })).await.expect_errors();
    assert_eq!(ctx.state.ledger().len(), 1);
}

#[tokio::test]
async fn contract_service_updates_change_only_adjusted_price_and_invoice_description() {
    let ctx = Ctx::seed();
    let before = ctx.units_rows().await;
    let patch = json!({ "id": 5001, "invoiceDescription": "M365 BP", "units": 99, "contractID": 992,
                        "unitPrice": 1.0, "unitCost": 1.0, "internalDescription": "no", "adjustedPrice": "21.5" });
    assert_eq!(
        ctx.call("PATCH", "Contracts/991/Services", Some(patch)).await.expect(200),
        json!({ "itemId": 5001 })
    );
    let line = ctx.get("ContractServices/5001").await.expect(200)["item"].clone();
    assert_eq!(line["invoiceDescription"], "M365 BP");
    assert_eq!(line["adjustedPrice"], 21.5, "a decimal sent as a string is a number");
    // Every other field is ignored on update (Autotask help, ContractServicesEntity).
    assert_eq!(line["contractID"], 991);
    assert_eq!(line["unitPrice"], 22.0);
    assert_eq!(line["internalDescription"], Json::Null);
    assert_eq!(ctx.units_rows().await, before);

    let put = json!({ "id": 5001, "unitPrice": 20.0 });
    ctx.call("PUT", "Contracts/991/Services", Some(put)).await.expect(200);
    let line = ctx.get("ContractServices/5001").await.expect(200)["item"].clone();
    assert_eq!(
        (line["unitPrice"].clone(), line["invoiceDescription"].clone(), line["adjustedPrice"].clone()),
        (json!(22.0), Json::Null, Json::Null),
        "PUT nulls the omitted updatable fields only"
    );

    ctx.call("PATCH", "Contracts/992/Services", Some(json!({ "id": 5001, "adjustedPrice": 1.0 })))
        .await
        .expect_errors();
    ctx.call("PATCH", "Contracts/991/Services", Some(json!({ "adjustedPrice": 1.0 }))).await.expect_errors();
    let cheap = ctx
        .call("PATCH", "Contracts/991/Services", Some(json!({ "id": 5001, "adjustedPrice": "cheap" })))
        .await
        .expect_errors();
    assert_eq!(cheap, "adjustedPrice: the value \"cheap\" is not a valid double.");
}

#[tokio::test]
async fn companies_contracts_and_services_support_post_put_patch() {
    let ctx = Ctx::seed();
    let company = json!({ "companyName": "New Co", "companyType": 1, "isActive": true });
    let id = ctx.post("Companies", company).await.expect(200)["itemId"].as_i64().unwrap();
    assert_eq!(id, 29683544);
    ctx.call("PATCH", "Companies", Some(json!({ "id": id, "companyName": "Renamed" }))).await.expect(200);
    assert_eq!(ctx.get(&format!("Companies/{id}")).await.expect(200)["item"]["companyName"], "Renamed");
    ctx.post("Companies", json!({ "companyType": 1 })).await.expect_errors();
    ctx.call("PUT", "Companies", Some(json!({ "id": id, "companyType": 1, "isActive": true })))
        .await
        .expect_errors();

    let contract = json!({ "companyID": id, "contractName": "RS", "contractType": 7, "status": 1, "startDate": "2026-01-01", "endDate": "2026-12-31T00:00:00Z" });
    let contract_id = ctx.post("Contracts", contract.clone()).await.expect(200)["itemId"].as_i64().unwrap();
    assert_eq!(
        ctx.get(&format!("Contracts/{contract_id}")).await.expect(200)["item"]["startDate"],
        "2026-01-01T00:00:00Z"
    );
    let mut orphan = contract;
    orphan["companyID"] = json!(1);
    ctx.post("Contracts", orphan).await.expect_errors();
    ctx.call("PATCH", "Contracts", Some(json!({ "id": contract_id, "status": 0 }))).await.expect(200);

    let service_id =
        ctx.post("Services", json!({ "name": "Backup", "isActive": true, "unitPrice": 5 })).await.expect(200)
            ["itemId"]
            .clone();
    ctx.call("PATCH", "Services", Some(json!({ "id": service_id, "unitPrice": 6.5 }))).await.expect(200);
    ctx.call("PATCH", "Services", Some(json!({ "id": 424242, "unitPrice": 6.5 }))).await.expect_errors();
    ctx.post("Services", json!("not an object")).await.expect_errors();
    assert_eq!(ctx.state.ledger().len(), 6);
}

/// The acceptance scenario: +5, then −2, then units on a line that does not exist yet.
#[tokio::test]
async fn adjustments_split_units_rows_as_autotask_does() {
    let ctx = Ctx::seed();
    let plus_five =
        json!({ "contractServiceID": 5001, "effectiveDate": "2026-11-01T00:00:00Z", "unitChange": 5 });
    assert_eq!(
        ctx.post("ContractServiceAdjustments", plus_five.clone()).await.expect(200),
        json!({ "itemId": 1 })
    );
    let minus_two = json!({ "contractID": 991, "contractServiceID": 5001, "effectiveDate": "2026-11-10", "unitChange": -2 });
    assert_eq!(
        ctx.post("Contracts/991/ServiceAdjustments", minus_two.clone()).await.expect(200),
        json!({ "itemId": 2 })
    );
    let new_line = json!({ "contractID": 991, "serviceID": 31, "effectiveDate": "2026-10-26T00:00:00Z", "unitChange": 4 });
    assert_eq!(
        ctx.post("ContractServiceAdjustments", new_line.clone()).await.expect(200),
        json!({ "itemId": 3 })
    );

    let line = ctx.get("ContractServices/5006").await.expect(200)["item"].clone();
    assert_eq!(
        (line["contractID"].clone(), line["serviceID"].clone(), line["unitPrice"].clone()),
        (json!(991), json!(31), json!(3.0))
    );

    let rows = ctx
        .post(
            "ContractServiceUnits/query",
            filter(json!([{ "op": "in", "field": "contractServiceID", "value": [5001, 5006] }])),
        )
        .await
        .expect(200)["items"]
        .clone();
    let summary: Vec<(i64, i64, String, String, i64)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["id"].as_i64().unwrap(),
                row["contractServiceID"].as_i64().unwrap(),
                row["startDate"].as_str().unwrap().to_owned(),
                row["endDate"].as_str().unwrap().to_owned(),
                row["units"].as_i64().unwrap(),
            )
        })
        .collect();
    let row = |id, line, start: &str, end: &str, units| (id, line, start.to_owned(), end.to_owned(), units);
    assert_eq!(
        summary,
        vec![
            row(6001, 5001, "2026-09-26T00:00:00Z", "2026-10-25T00:00:00Z", 20),
            row(7001, 5001, "2026-10-26T00:00:00Z", "2026-10-31T00:00:00Z", 20),
            row(7006, 5001, "2026-11-01T00:00:00Z", "2026-11-09T00:00:00Z", 25),
            row(7007, 5001, "2026-11-10T00:00:00Z", "2026-11-25T00:00:00Z", 23),
            row(7008, 5006, "2026-10-26T00:00:00Z", "2026-11-25T00:00:00Z", 4),
        ]
    );
    assert_eq!(rows[4]["price"], 3.0);

    let ledger = ctx.state.ledger();
    let shape: Vec<(u64, &str, &str, &str, i64, &Json)> = ledger
        .iter()
        .map(|e| (e.sequence, e.method.as_str(), e.path.as_str(), e.entity.as_str(), e.item_id, &e.body))
        .collect();
    let adjustments = format!("{API}/ContractServiceAdjustments");
    let child = format!("{API}/Contracts/991/ServiceAdjustments");
    assert_eq!(
        shape,
        vec![
            (1, "POST", adjustments.as_str(), "ContractServiceAdjustments", 1, &plus_five),
            (2, "POST", child.as_str(), "ContractServiceAdjustments", 2, &minus_two),
            (3, "POST", adjustments.as_str(), "ContractServiceAdjustments", 3, &new_line),
        ]
    );
    let state = ctx.send(Ctx::request("GET", "/__mock/state", None, false)).await.expect(200);
    assert_eq!(state["ledger"].as_array().unwrap().len(), 3);
    assert!(state["ledger"][0]["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(state["adjustments"][2]["contractServiceID"], 5006);
    let snapshot = mock_autotask::seed::from_value(&state["snapshot"]).expect("a valid snapshot");
    let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc();
    assert_eq!(snapshot.units_at(5001, at("2026-11-15T00:00:00Z")), 23);
    assert_eq!(snapshot.units_at(5006, at("2026-11-15T00:00:00Z")), 4);
}

#[tokio::test]
async fn an_adjustment_at_a_row_start_changes_that_row_and_later_rows_get_the_delta() {
    let ctx = Ctx::seed();
    ctx.post(
        "ContractServiceAdjustments",
        json!({ "contractServiceID": 5002, "effectiveDate": "2026-11-10", "unitChange": 2 }),
    )
    .await
    .expect(200);
    ctx.post(
        "ContractServiceAdjustments",
        json!({ "contractServiceID": 5002, "effectiveDate": "2026-10-26", "unitChange": 1 }),
    )
    .await
    .expect(200);
    let rows = ctx.get("Contracts/991/ServiceUnits").await.expect(200)["items"].clone();
    let units: Vec<(i64, i64)> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["contractServiceID"] == 5002)
        .map(|row| (row["id"].as_i64().unwrap(), row["units"].as_i64().unwrap()))
        .collect();
    assert_eq!(units, vec![(7002, 4), (7006, 6)]);
}

/// `(id, startDate, endDate, units)` of one line's rows, in id order.
async fn line_rows(ctx: &Ctx, line: i64) -> Vec<(i64, String, String, i64)> {
    ctx.units_rows()
        .await
        .iter()
        .filter(|row| row["contractServiceID"] == line)
        .map(|row| {
            (
                row["id"].as_i64().unwrap(),
                row["startDate"].as_str().unwrap().to_owned(),
                row["endDate"].as_str().unwrap().to_owned(),
                row["units"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn utc(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// Row 7001 ends `2026-11-25T00:00:00Z`, a calendar date: 25 November at 10:00 is still in it, so
/// the adjustment splits it rather than opening a row beside it.
#[tokio::test]
async fn an_adjustment_during_a_rows_last_day_splits_that_row() {
    let ctx = Ctx::seed();
    ctx.post(
        "ContractServiceAdjustments",
        json!({ "contractServiceID": 5001, "effectiveDate": "2026-11-25T10:00:00Z", "unitChange": 3 }),
    )
    .await
    .expect(200);
    let row = |id, start: &str, end: &str, units| (id, start.to_owned(), end.to_owned(), units);
    assert_eq!(
        line_rows(&ctx, 5001).await,
        vec![
            row(6001, "2026-09-26T00:00:00Z", "2026-10-25T00:00:00Z", 20),
            row(7001, "2026-10-26T00:00:00Z", "2026-11-24T00:00:00Z", 20),
            row(7006, "2026-11-25T00:00:00Z", "2026-11-25T00:00:00Z", 23),
        ],
        "the row is split at the day, and both parts carry midnight dates"
    );
    let state = ctx.send(Ctx::request("GET", "/__mock/state", None, false)).await.expect(200);
    assert_eq!(state["adjustments"][0]["effectiveDate"], "2026-11-25T10:00:00Z", "kept as sent");
    let snapshot = mock_autotask::seed::from_value(&state["snapshot"]).expect("a valid snapshot");
    assert_eq!(snapshot.units_at(5001, utc("2026-11-24T23:59:59Z")), 20);
    assert_eq!(snapshot.units_at(5001, utc("2026-11-25T00:00:00Z")), 23);
    assert_eq!(snapshot.units_at(5001, utc("2026-11-25T23:59:59Z")), 23);
    assert_eq!(snapshot.units_at(5001, utc("2026-11-26T00:00:00Z")), 0);
}

/// A time on a row's first day is that row's day: the row changes in place, no one-day row appears.
#[tokio::test]
async fn an_adjustment_during_a_rows_first_day_changes_that_row() {
    let ctx = Ctx::seed();
    ctx.post(
        "ContractServiceAdjustments",
        json!({ "contractServiceID": 5002, "effectiveDate": "2026-10-26T15:30:00+00:00", "unitChange": -1 }),
    )
    .await
    .expect(200);
    assert_eq!(
        line_rows(&ctx, 5002).await,
        vec![(7002, "2026-10-26T00:00:00Z".to_owned(), "2026-11-25T00:00:00Z".to_owned(), 2)]
    );
}

/// A new line opened mid-day runs from midnight of that day to the other lines' period end.
#[tokio::test]
async fn a_new_line_opened_mid_day_starts_at_that_midnight() {
    let ctx = Ctx::seed();
    ctx.post(
        "ContractServiceAdjustments",
        json!({ "contractID": 991, "serviceID": 31, "effectiveDate": "2026-11-25T21:00:00Z", "unitChange": 2 }),
    )
    .await
    .expect(200);
    assert_eq!(
        line_rows(&ctx, 5006).await,
        vec![(7006, "2026-11-25T00:00:00Z".to_owned(), "2026-11-25T00:00:00Z".to_owned(), 2)]
    );
}

/// Coverage is by calendar day, end day inclusive, whatever the time of day on either side.
#[test]
fn a_row_covers_every_instant_of_its_last_day_and_no_later() {
    let snapshot = common::seed_snapshot();
    let row = snapshot.contract_service_units.iter().find(|row| row.id == 7001).expect("row 7001");
    assert_eq!(mock_autotask::dates::format(&row.end_date), "2026-11-25T00:00:00Z");
    for inside in
        ["2026-10-26T00:00:00Z", "2026-11-25T00:00:00Z", "2026-11-25T10:00:00Z", "2026-11-25T23:59:59Z"]
    {
        assert!(row.covers(utc(inside)), "{inside}");
        assert_eq!(snapshot.units_at(5001, utc(inside)), 20, "{inside}");
    }
    for outside in ["2026-10-25T23:59:59Z", "2026-11-26T00:00:00Z"] {
        assert!(!row.covers(utc(outside)), "{outside}");
    }
}

#[tokio::test]
async fn refused_adjustments_change_nothing() {
    let ctx = Ctx::seed();
    let before = ctx.units_rows().await;
    let cases = [
        (json!({ "contractServiceID": 5002, "effectiveDate": "2026-11-01", "unitChange": -4 }), "negative"),
        (json!({ "contractServiceID": 5001, "effectiveDate": "2026-10-01", "unitChange": 1 }), "posted"),
        (json!({ "contractServiceID": 5001, "unitChange": 1 }), "effectiveDate"),
        (
            json!({ "contractServiceID": 5001, "effectiveDate": "yesterday", "unitChange": 1 }),
            "effectiveDate",
        ),
        (json!({ "contractServiceID": 5001, "effectiveDate": "2026-11-01" }), "unitChange"),
        (
            json!({ "contractServiceID": 5001, "effectiveDate": "2026-11-01", "unitChange": 1.5 }),
            "unitChange",
        ),
        (
            json!({ "contractServiceID": 5001, "effectiveDate": "2026-11-01", "unitChange": 3000000000i64 }),
            "int32",
        ),
        (json!({ "effectiveDate": "2026-11-01", "unitChange": 1 }), "contractServiceID"),
        (json!({ "contractID": 991, "effectiveDate": "2026-11-01", "unitChange": 1 }), "contractServiceID"),
        (json!({ "contractServiceID": 4242, "effectiveDate": "2026-11-01", "unitChange": 1 }), "4242"),
        (
            json!({ "contractServiceID": 5001, "serviceID": 17, "effectiveDate": "2026-11-01", "unitChange": 1 }),
            "belongs",
        ),
        (
            json!({ "contractID": 993, "serviceID": 12, "effectiveDate": "2026-11-01", "unitChange": 1 }),
            "Recurring Service",
        ),
        (
            json!({ "contractID": 991, "serviceID": 4242, "effectiveDate": "2026-11-01", "unitChange": 1 }),
            "4242",
        ),
        (
            json!({ "contractID": 991, "serviceID": 40, "effectiveDate": "2028-06-01", "unitChange": 1 }),
            "after the end",
        ),
        (
            json!({ "contractServiceID": 5001, "effectiveDate": "2026-11-01", "unitChange": 1, "allowRepeatService": "yes" }),
            "allowRepeatService",
        ),
        (json!([1, 2]), "object"),
    ];
    for (body, expected) in cases {
        let message = ctx.post("ContractServiceAdjustments", body.clone()).await.expect_errors();
        assert!(message.contains(expected), "{body}: {message}");
    }
    let wrong_parent = json!({ "contractID": 992, "contractServiceID": 5001, "effectiveDate": "2026-11-01", "unitChange": 1 });
    ctx.post("Contracts/991/ServiceAdjustments", wrong_parent).await.expect_errors();
    assert_eq!(ctx.units_rows().await, before);
    assert!(ctx.state.ledger().is_empty());
    assert_eq!(ctx.get("Contracts/991/Services").await.expect(200)["pageDetails"]["count"], 2);
}

// ---------------------------------------------------------------------------------------------
// Limits

fn limited(limit: u64) -> MockConfig {
    let mut config = seed_config();
    config.limits.hourly_request_limit = limit;
    config.limits.window = Duration::from_secs(60);
    config.limits.latency_past_half = Duration::from_millis(500);
    config.limits.latency_past_three_quarters = Duration::from_millis(1000);
    config
}

#[tokio::test(start_paused = true)]
async fn the_hourly_threshold_adds_latency_then_refuses_until_the_window_clears() {
    let ctx = Ctx::with(limited(8));
    let mut delays = Vec::new();
    for _ in 0..8 {
        let started = tokio::time::Instant::now();
        ctx.get("Companies/29683541").await.expect(200);
        delays.push(started.elapsed().as_millis());
    }
    assert_eq!(delays, vec![0, 0, 0, 0, 500, 500, 1000, 1000]);
    let refused = ctx.get("ThresholdInformation").await;
    assert_eq!(refused.status.as_u16(), 429);
    assert!(refused.json()["errors"][0].as_str().unwrap().contains("Threshold"));
    tokio::time::advance(Duration::from_secs(61)).await;
    let threshold = ctx.get("ThresholdInformation").await.expect(200);
    assert_eq!(threshold["currentTimeframeRequestCount"], 1);
    assert_eq!(threshold["externalRequestThreshold"], 8);
}

#[tokio::test]
async fn a_fourth_request_in_flight_per_code_and_endpoint_gets_itgenatr005() {
    let ctx = Ctx::seed();
    ctx.send(fault_request(json!({ "endpoint": "Companies", "pause": true }))).await.expect(200);
    let mut held = Vec::new();
    for _ in 0..3 {
        let app = Ctx { state: ctx.state.clone(), app: ctx.app.clone() };
        held.push(tokio::spawn(async move { app.get("Companies/29683541").await.status.as_u16() }));
    }
    wait_until(|| ctx.state.paused_requests() == 3).await;
    let fourth = ctx.get("Companies/29683542").await;
    assert_eq!(fourth.status.as_u16(), 429);
    assert!(fourth.json()["errors"][0].as_str().unwrap().starts_with("Itgenatr005"));
    ctx.get("Contracts/991").await.expect(200);
    ctx.send(Ctx::request("POST", "/__mock/faults/release", None, false)).await.expect(200);
    for task in held {
        assert_eq!(task.await.unwrap(), 200);
    }
    let stats = ctx.send(Ctx::request("GET", "/__mock/stats", None, false)).await.expect(200);
    assert_eq!(stats["maxInFlight"]["Companies"], 4);
    assert_eq!(stats["requests"]["Companies"]["GET"], 4);
}

async fn wait_until(condition: impl Fn() -> bool) {
    for _ in 0..500 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("condition not reached in time");
}

// ---------------------------------------------------------------------------------------------
// Test controls

fn fault_request(rule: Json) -> axum::http::Request<axum::body::Body> {
    Ctx::request("POST", "/__mock/faults", Some(&rule), false)
}

#[tokio::test]
async fn faults_by_status_after_n_requests_and_times() {
    let ctx = Ctx::seed();
    let rule = json!({ "endpoint": "contractserviceadjustments", "method": "post", "status": 503, "afterRequests": 1, "times": 1 });
    assert_eq!(ctx.send(fault_request(rule)).await.expect(200), json!({ "ids": [1] }));
    let body = json!({ "contractServiceID": 5001, "effectiveDate": "2026-11-01", "unitChange": 1 });
    ctx.post("ContractServiceAdjustments", body.clone()).await.expect(200);
    let faulted = ctx.post("ContractServiceAdjustments", body.clone()).await;
    assert_eq!(faulted.expect(503), json!({ "errors": ["Injected fault: HTTP 503"] }));
    ctx.post("ContractServiceAdjustments", body.clone()).await.expect(200);
    ctx.get("Companies/29683541").await.expect(200);
    assert_eq!(ctx.state.ledger().len(), 2);
    let listed = ctx.send(Ctx::request("GET", "/__mock/faults", None, false)).await.expect(200);
    assert_eq!(
        (listed["rules"][0]["matched"].clone(), listed["rules"][0]["hit"].clone()),
        (json!(3), json!(1))
    );
    ctx.send(Ctx::request("DELETE", "/__mock/faults", None, false)).await.expect(200);
    let listed = ctx.send(Ctx::request("GET", "/__mock/faults", None, false)).await.expect(200);
    assert_eq!(listed["rules"], json!([]));
}

#[tokio::test]
async fn fault_rates_are_deterministic_for_a_seed() {
    async fn run() -> Vec<u16> {
        let ctx = Ctx::seed();
        let rule = json!({ "endpoint": "*", "status": 500, "body": { "errors": ["boom"] }, "rate": 0.5 });
        ctx.send(fault_request(rule)).await.expect(200);
        let mut statuses = Vec::new();
        for _ in 0..30 {
            statuses.push(ctx.get("Services/12").await.status.as_u16());
        }
        statuses
    }
    let first = run().await;
    assert_eq!(first, run().await);
    let failures = first.iter().filter(|s| **s == 500).count();
    assert!((5..25).contains(&failures), "{first:?}");
}

#[tokio::test]
async fn an_after_phase_fault_applies_the_write_but_loses_the_answer() {
    let ctx = Ctx::seed();
    ctx.send(fault_request(
        json!({ "endpoint": "ContractServiceAdjustments", "status": 504, "phase": "after" }),
    ))
    .await
    .expect(200);
    let body = json!({ "contractServiceID": 5001, "effectiveDate": "2026-11-01", "unitChange": 1 });
    ctx.post("ContractServiceAdjustments", body).await.expect(504);
    assert_eq!(ctx.state.ledger().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn fixed_latency_faults_delay_matching_requests() {
    let ctx = Ctx::seed();
    ctx.send(fault_request(json!({ "endpoint": "Services", "latencyMs": 250 }))).await.expect(200);
    let started = tokio::time::Instant::now();
    ctx.get("Services/12").await.expect(200);
    assert_eq!(started.elapsed().as_millis(), 250);
    let started = tokio::time::Instant::now();
    ctx.get("Companies/29683541").await.expect(200);
    assert_eq!(started.elapsed().as_millis(), 0);
}

#[tokio::test]
async fn bad_fault_rules_are_400() {
    let ctx = Ctx::seed();
    for rule in [
        json!({ "method": "GET" }),
        json!({ "endpoint": "*", "rate": 2.0 }),
        json!({ "endpoint": "*", "status": 42 }),
        json!({ "endpoint": "*", "surprise": 1 }),
    ] {
        let reply = ctx.send(fault_request(rule.clone())).await;
        assert_eq!(reply.status.as_u16(), 400, "{rule}");
    }
    let many = json!([{ "endpoint": "A", "status": 500 }, { "endpoint": "B", "latencyMs": 1 }]);
    assert_eq!(ctx.send(fault_request(many)).await.expect(200), json!({ "ids": [1, 2] }));
}

#[tokio::test]
async fn reset_returns_to_the_seed_and_clears_everything() {
    let ctx = Ctx::seed();
    let seed = ctx.state.snapshot();
    ctx.post(
        "ContractServiceAdjustments",
        json!({ "contractServiceID": 5001, "effectiveDate": "2026-11-01", "unitChange": 1 }),
    )
    .await
    .expect(200);
    ctx.send(fault_request(json!({ "endpoint": "Services", "status": 500 }))).await.expect(200);
    assert_ne!(ctx.state.snapshot(), seed);
    ctx.send(Ctx::request("POST", "/__mock/reset", None, false)).await.expect(200);
    assert_eq!(ctx.state.snapshot(), seed);
    assert!(ctx.state.ledger().is_empty());
    ctx.get("Services/12").await.expect(200);
    let threshold = ctx.get("ThresholdInformation").await.expect(200);
    assert_eq!(threshold["currentTimeframeRequestCount"], 2);
    let stats = ctx.send(Ctx::request("GET", "/__mock/stats", None, false)).await.expect(200);
    assert_eq!(stats["total"], 2);
}

#[tokio::test]
async fn stats_count_requests_per_endpoint_and_method() {
    let ctx = Ctx::seed();
    ctx.get("Companies/29683541").await;
    ctx.get("Companies/29683541").await;
    ctx.post("Companies/query", filter(json!([{ "op": "exist", "field": "id" }]))).await;
    ctx.get("Contracts/991/ServiceUnits").await;
    ctx.call("DELETE", "Services/12", None).await;
    ctx.get("Bogus").await;
    ctx.send(Ctx::request(
        "GET",
        "/atservicesrest/v1.0/zoneInformation?user=fred@cspservices.com",
        None,
        false,
    ))
    .await;
    let stats = ctx.send(Ctx::request("GET", "/__mock/stats", None, false)).await.expect(200);
    assert_eq!(
        stats["requests"],
        json!({
            "Companies": { "GET": 2, "POST": 1 },
            "ContractServiceUnits": { "GET": 1 },
            "Services": { "DELETE": 1 },
            "Unknown": { "GET": 1 },
            "ZoneInformation": { "GET": 1 }
        })
    );
    assert_eq!(stats["total"], 7);
    assert_eq!(stats["thresholdCount"], 4);
}

#[tokio::test]
async fn state_dump_is_a_valid_autotask_snapshot() {
    let ctx = Ctx::seed();
    let state = ctx.send(Ctx::request("GET", "/__mock/state", None, false)).await.expect(200);
    let snapshot = mock_autotask::seed::from_value(&state["snapshot"]).expect("valid");
    let mut seed = common::seed_snapshot();
    seed.companies.sort_by_key(|c| c.id);
    seed.contracts.sort_by_key(|c| c.id);
    seed.services.sort_by_key(|s| s.id);
    seed.contract_services.sort_by_key(|l| l.id);
    seed.contract_service_units.sort_by_key(|u| u.id);
    assert_eq!(snapshot, seed);
    assert_eq!(state["ledger"], json!([]));
}

#[tokio::test]
async fn include_fields_without_id_is_refused_past_one_page() {
    let mut snapshot = mock_autotask::state::empty_snapshot();
    snapshot.services = (1..=501)
        .map(|id| mock_autotask::entity::Service {
            id,
            name: format!("S{id}"),
            is_active: true,
            ..Default::default()
        })
        .collect();
    let ctx = Ctx::with(MockConfig::new(snapshot));
    let narrowed =
        |fields: Json| json!({ "filter": [{ "op": "exist", "field": "id" }], "IncludeFields": fields });
    assert!(ctx.post("Services/query", narrowed(json!(["name"]))).await.expect_errors().contains("id"));
    let page = ctx.post("Services/query", narrowed(json!(["name", "id"]))).await.expect(200);
    assert_eq!(page["pageDetails"]["count"], 500);
    assert!(page["pageDetails"]["nextPageUrl"].is_string());
    let small = json!({ "filter": [{ "op": "lt", "field": "id", "value": 10 }], "IncludeFields": ["name"] });
    assert_eq!(
        ctx.post("Services/query", small).await.expect(200)["items"][0],
        json!({ "name": "S1", "userDefinedFields": [] })
    );
}

#[tokio::test]
async fn adjustments_at_the_edge_of_time_are_refused_not_panicked() {
    let ctx = Ctx::seed();
    for date in ["-262143-01-01", "+262142-12-31", "0000-01-01T00:00:00Z"] {
        let body = json!({ "contractID": 991, "serviceID": 31, "effectiveDate": date, "unitChange": 1 });
        let reply = ctx.post("ContractServiceAdjustments", body).await;
        assert!(reply.status.as_u16() == 500, "{date}: {:?}", reply.body);
    }
}

#[tokio::test]
async fn put_replaces_writable_fields_and_nulls_the_omitted_ones() {
    let ctx = Ctx::seed();
    let put = json!({ "id": 12, "name": "M365 BP", "isActive": false });
    assert_eq!(ctx.call("PUT", "Services", Some(put)).await.expect(200), json!({ "itemId": 12 }));
    let service = ctx.get("Services/12").await.expect(200)["item"].clone();
    assert_eq!(
        service,
        json!({ "id": 12, "name": "M365 BP", "description": null, "invoiceDescription": null, "unitPrice": null,
                "unitCost": null, "isActive": false, "userDefinedFields": [] })
    );
    let contract = json!({ "id": 993, "companyID": 29683542, "contractName": "Now recurring", "contractType": 7, "status": 1,
                           "startDate": "2026-01-01", "endDate": "2026-12-31" });
    ctx.call("PUT", "Contracts", Some(contract)).await.expect(200);
    ctx.post("Contracts/993/Services", json!({ "serviceID": 12 })).await.expect(200);
    let backwards = json!({ "id": 993, "startDate": "2027-01-01" });
    assert!(ctx.call("PATCH", "Contracts", Some(backwards)).await.expect_errors().contains("endDate"));
}

#[tokio::test]
async fn the_config_loads_a_fixture_folder() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/seed-example");
    let config = MockConfig::from_fixture(&dir).expect("the seed fixture");
    assert_eq!(config.seed.companies.len(), 3);
    assert_eq!(config.credentials.username, "fred@cspservices.com");
    assert_eq!(config.limits.hourly_request_limit, 10_000);
    assert_eq!(config.limits.latency_past_half, Duration::from_millis(500));
    assert!(MockConfig::from_fixture(&dir.join("missing")).is_err());
}
