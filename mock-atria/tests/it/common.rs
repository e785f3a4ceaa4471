//! Shared helpers: the seed fixture, an app over it, and one `call` helper per request shape.

use std::path::PathBuf;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use mock_atria::seed::{AtriaSnapshot, BillingPeriod, PeriodStatus};
use mock_atria::{AppState, DEFAULT_TOKEN, MockConfig, router};
use serde_json::Value;
use tower::ServiceExt;

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/seed-example")
}

pub fn seed() -> AtriaSnapshot {
    mock_atria::seed::load(&fixture_dir().join("atria.json")).expect("the seed fixture is valid")
}

/// The seed moved to another period, for multi-period tests.
pub fn seed_for(start: &str, end: &str, status: PeriodStatus) -> AtriaSnapshot {
    let mut snapshot = seed();
    snapshot.period = BillingPeriod {
        start_date: start.parse().expect("test date"),
        end_date: end.parse().expect("test date"),
        status,
    };
    snapshot
}

pub fn app_with(config: MockConfig) -> (Router, AppState) {
    let state = AppState::new(config).expect("valid seed");
    (router(state.clone()), state)
}

pub fn app() -> (Router, AppState) {
    app_with(MockConfig::from_snapshot(seed()))
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
}

impl Reply {
    /// Asserts an error answer: status, code, and the `{error, message, traceId}` shape.
    pub fn error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.json);
        assert_eq!(self.json["error"], code, "{}", self.json);
        assert!(self.json["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", self.json);
        assert!(self.json["traceId"].as_str().is_some_and(|t| !t.is_empty()), "{}", self.json);
    }

    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.json);
        &self.json
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

pub async fn send(app: &Router, method: &str, uri: &str, token: Option<&str>, body: Option<Value>) -> Reply {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let body = match body {
        Some(json) => {
            request = request.header("content-type", "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    let response = app.clone().oneshot(request.body(body).expect("request")).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    let json =
        if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("JSON body") };
    Reply { status, headers, json }
}

/// An authorised API GET.
pub async fn get(app: &Router, uri: &str) -> Reply {
    send(app, "GET", uri, Some(DEFAULT_TOKEN), None).await
}

/// A control call (no auth).
pub async fn control(app: &Router, method: &str, uri: &str, body: Option<Value>) -> Reply {
    send(app, method, uri, None, body).await
}
