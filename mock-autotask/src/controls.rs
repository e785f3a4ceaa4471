//! The test controls under `/__mock/` (no credentials): state dump with the ledger, faults,
//! reset and request statistics.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};

use crate::faults::FaultRule;
use crate::state::AppState;

/// `GET /__mock/state`: `{"snapshot": <billsync.autotask/v1>, "adjustments": [...], "ledger": [...]}`.
pub async fn state_dump(State(state): State<AppState>) -> Response {
    let (snapshot, adjustments) = {
        let store = state.inner.store.read();
        (store.to_snapshot(), store.adjustments.values().cloned().collect::<Vec<_>>())
    };
    Json(json!({ "snapshot": snapshot, "adjustments": adjustments, "ledger": state.ledger() }))
        .into_response()
}

/// One rule or a list of rules.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum FaultRules {
    One(FaultRule),
    Many(Vec<FaultRule>),
}

/// `POST /__mock/faults`: adds rules; answers `{"ids":[…]}`.
pub async fn add_faults(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let rules = match serde_json::from_slice::<FaultRules>(&body) {
        Ok(FaultRules::One(rule)) => vec![rule],
        Ok(FaultRules::Many(rules)) => rules,
        Err(err) => return bad_request(format!("not a fault rule: {err}")),
    };
    let mut ids = Vec::new();
    for rule in rules {
        match state.inner.faults.add(rule) {
            Ok(id) => ids.push(id),
            Err(message) => return bad_request(message),
        }
    }
    Json(json!({ "ids": ids })).into_response()
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "errors": [message] }))).into_response()
}

/// `GET /__mock/faults`: `{"rules":[{id, …rule, matched, hit}], "paused": n}`.
pub async fn list_faults(State(state): State<AppState>) -> Response {
    Json(json!({ "rules": state.inner.faults.list(), "paused": state.paused_requests() })).into_response()
}

/// `DELETE /__mock/faults`: removes every rule and releases held requests.
pub async fn clear_faults(State(state): State<AppState>) -> Response {
    state.inner.faults.clear();
    Json(json!({ "cleared": true })).into_response()
}

/// `POST /__mock/faults/release`: lets held requests go on; answers how many were held.
pub async fn release(State(state): State<AppState>) -> Response {
    let held = state.paused_requests();
    state.inner.faults.release_paused();
    Json(json!({ "released": held })).into_response()
}

/// `POST /__mock/reset`: back to the seed; clears ledger, counters, faults and statistics.
pub async fn reset(State(state): State<AppState>) -> Response {
    state.reset();
    Json(json!({ "reset": true })).into_response()
}

/// `GET /__mock/stats`: `{"total", "requests": {endpoint: {method: n}}, "maxInFlight": {endpoint: n}}`.
pub async fn stats(State(state): State<AppState>) -> Response {
    let stats = state.stats();
    let mut value = serde_json::to_value(&stats).unwrap_or(JsonValue::Null);
    if let Some(object) = value.as_object_mut() {
        object.insert("thresholdCount".to_owned(), state.inner.limits.current_count().into());
    }
    Json(value).into_response()
}
