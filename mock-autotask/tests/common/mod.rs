//! Shared test context: a mock seeded from `fixtures/seed-example`, driven in-process with
//! `tower::ServiceExt::oneshot`, plus the swagger-subset validator.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use mock_autotask::{AppState, AutotaskSnapshot, MockConfig, router};
use serde_json::{Value as Json, json};
use tower::ServiceExt;

pub const USER: &str = "fred@cspservices.com";
pub const SECRET: &str = "mock-secret";
pub const CODE: &str = "MOCK-INTEGRATION-CODE";
/// The Host header every test request carries, so absolute URLs are predictable.
pub const HOST: &str = "mock.test";
pub const API: &str = "/ATServicesRest/V1.0";

pub fn seed_snapshot() -> AutotaskSnapshot {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/seed-example/autotask.json");
    mock_autotask::seed::load(&path).expect("the seed fixture loads")
}

/// The seed with the threshold latencies off, so tests run fast.
pub fn seed_config() -> MockConfig {
    MockConfig::new(seed_snapshot()).with_threshold_latency(Duration::ZERO, Duration::ZERO)
}

pub struct Ctx {
    pub state: AppState,
    pub app: Router,
}

/// An answer, body kept as bytes.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Json {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|err| panic!("body is not JSON ({err}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// Asserts the status and returns the JSON body.
    pub fn expect(&self, status: u16) -> Json {
        assert_eq!(self.status.as_u16(), status, "body: {}", String::from_utf8_lossy(&self.body));
        if self.body.is_empty() { Json::Null } else { self.json() }
    }

    /// Asserts a 500 with Autotask's `{"errors":[…]}` body and returns the joined messages.
    pub fn expect_errors(&self) -> String {
        let body = self.expect(500);
        let errors = body["errors"].as_array().unwrap_or_else(|| panic!("no errors array: {body}"));
        assert!(!errors.is_empty());
        errors.iter().map(|e| e.as_str().unwrap_or_default().to_owned()).collect::<Vec<_>>().join("; ")
    }

    /// Asserts a 405 naming the method.
    pub fn expect_405(&self, method: &str) {
        let body = self.expect(405);
        assert_eq!(
            body,
            json!({ "Message": format!("The requested resource does not support http method '{method}'.") })
        );
    }
}

impl Ctx {
    pub fn seed() -> Ctx {
        Ctx::with(seed_config())
    }

    pub fn with(config: MockConfig) -> Ctx {
        let state = AppState::new(config);
        Ctx { app: router(state.clone()), state }
    }

    pub fn request(method: &str, path: &str, body: Option<&Json>, authenticated: bool) -> Request<Body> {
        let mut builder = Request::builder().method(method).uri(path).header("Host", HOST);
        if authenticated {
            builder =
                builder.header("ApiIntegrationcode", CODE).header("UserName", USER).header("Secret", SECRET);
        }
        if body.is_some() {
            builder = builder.header("Content-Type", "application/json");
        }
        let body = body.map_or(Body::empty(), |body| Body::from(body.to_string()));
        builder.body(body).expect("a valid request")
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.expect("the router never fails");
        let status = response.status();
        let body = response.into_body().collect().await.map(|c| c.to_bytes()).unwrap_or_default();
        Reply { status, body }
    }

    /// An authenticated call; `path` is absolute or relative to `/ATServicesRest/V1.0`.
    pub async fn call(&self, method: &str, path: &str, body: Option<Json>) -> Reply {
        let path = if path.starts_with('/') || path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{API}/{path}")
        };
        let path = path.strip_prefix(&format!("http://{HOST}")).map(str::to_owned).unwrap_or(path);
        self.send(Ctx::request(method, &path, body.as_ref(), true)).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: Json) -> Reply {
        self.call("POST", path, Some(body)).await
    }

    /// Ids of a POSTed query's first page.
    pub async fn query_ids(&self, entity: &str, body: Json) -> Vec<i64> {
        let page = self.post(&format!("{entity}/query"), body).await.expect(200);
        ids(&page["items"])
    }

    pub async fn units_rows(&self) -> Vec<Json> {
        let page = self
            .post(
                "ContractServiceUnits/query",
                json!({ "filter": [{ "op": "gte", "field": "id", "value": 0 }] }),
            )
            .await
            .expect(200);
        page["items"].as_array().cloned().unwrap_or_default()
    }
}

pub fn ids(items: &Json) -> Vec<i64> {
    items
        .as_array()
        .map(|items| items.iter().filter_map(|item| item["id"].as_i64()).collect())
        .unwrap_or_default()
}

/// .NET's camelCase, as Autotask's JSON uses it: `Id`→`id`, `CompanyID`→`companyID`, `CI`→`ci`.
pub fn camel_case(name: &str) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    for index in 0..chars.len() {
        if index == 1 && !chars[index].is_uppercase() {
            break;
        }
        let next_is_upper = chars.get(index + 1).is_none_or(|next| next.is_uppercase());
        if index > 0 && !next_is_upper {
            break;
        }
        chars[index] = chars[index].to_ascii_lowercase();
    }
    chars.into_iter().collect()
}

/// A JSON Schema for one swagger model: camelCase property names, every property nullable,
/// no other properties allowed, `date-time` strings in UTC with `Z`.
pub fn model_schema(model: &str) -> Json {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/autotask-openapi-subset.json");
    let swagger: Json =
        serde_json::from_slice(&std::fs::read(path).expect("swagger subset")).expect("swagger JSON");
    let definitions = swagger["definitions"].as_object().expect("definitions");
    let mut converted = serde_json::Map::new();
    for (name, definition) in definitions {
        converted.insert(name.clone(), convert_definition(definition, definitions));
    }
    json!({ "$ref": format!("#/definitions/{model}"), "definitions": converted })
}

fn convert_definition(definition: &Json, known: &serde_json::Map<String, Json>) -> Json {
    // A model without properties is .NET's `object`: anything goes.
    if definition["properties"].as_object().is_none_or(|properties| properties.is_empty()) {
        return json!({});
    }
    let mut properties = serde_json::Map::new();
    for (name, property) in definition["properties"].as_object().into_iter().flatten() {
        properties.insert(camel_case(name), convert_property(property, known));
    }
    json!({ "type": "object", "properties": properties, "additionalProperties": false })
}

fn convert_property(property: &Json, known: &serde_json::Map<String, Json>) -> Json {
    if let Some(reference) = property["$ref"].as_str() {
        let name = reference.trim_start_matches("#/definitions/");
        return if known.contains_key(name) {
            json!({ "anyOf": [{ "$ref": reference }, { "type": "null" }] })
        } else {
            json!({})
        };
    }
    match property["type"].as_str() {
        Some("integer") => {
            let (min, max) = if property["format"] == "int32" {
                (i64::from(i32::MIN), i64::from(i32::MAX))
            } else {
                (i64::MIN, i64::MAX)
            };
            json!({ "type": ["integer", "null"], "minimum": min, "maximum": max })
        }
        Some("number") => json!({ "type": ["number", "null"] }),
        Some("boolean") => json!({ "type": ["boolean", "null"] }),
        Some("string") if property["format"] == "date-time" => {
            json!({ "type": ["string", "null"], "pattern": "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$" })
        }
        Some("string") => json!({ "type": ["string", "null"] }),
        Some("array") => {
            json!({ "type": ["array", "null"], "items": convert_property(&property["items"], known) })
        }
        _ => json!({}),
    }
}

/// Asserts that `value` matches the swagger model `model`.
pub fn assert_model(model: &str, value: &Json) {
    let schema = model_schema(model);
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let problems: Vec<String> =
        validator.iter_errors(value).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(problems.is_empty(), "{model} does not match:\n{}\n{value:#}", problems.join("\n"));
}
