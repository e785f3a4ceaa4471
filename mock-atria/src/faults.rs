//! Fault injection rules (`/__mock/faults`): which requests they hit and what they do to them.
//!
//! The firing rule of [`decide`] is mock-autotask's `Faults::check` rule; see there why it is a
//! copy rather than a shared crate.

use rand::Rng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use crate::endpoints::Endpoint;
use crate::error::AppError;

/// One rule as posted to `/__mock/faults`. Every field but one effect is optional.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// An endpoint name (see `/__mock/stats`) or `*` for every API endpoint.
    #[serde(default = "any_endpoint")]
    pub endpoint: String,
    /// `GET`, … ; absent matches every method.
    #[serde(default)]
    pub method: Option<String>,
    /// Answer with this status (and the matching error body) instead of the real answer.
    #[serde(default)]
    pub status: Option<u16>,
    /// `Retry-After` of injected 429 and 503 answers; 1 when absent.
    #[serde(default)]
    pub retry_after_seconds: Option<u32>,
    /// Delay before answering.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Start a response and break the connection before its body.
    #[serde(default)]
    pub drop_connection: bool,
    /// Cut a page's `items` to half (rounded down) while `totalCount` stays.
    #[serde(default)]
    pub short_page: bool,
    /// Repeat a page's first item at its end.
    #[serde(default)]
    pub duplicate_row: bool,
    /// Probability in 0..=1 that a matching request is hit; 1 when absent.
    #[serde(default)]
    pub rate: Option<f64>,
    /// Let this many matching requests through untouched first.
    #[serde(default)]
    pub after_requests: u64,
    /// Stop after hitting this many requests; unlimited when absent.
    #[serde(default)]
    pub times: Option<u64>,
}

fn any_endpoint() -> String {
    "*".to_owned()
}

impl FaultRule {
    pub fn validate(&self) -> Result<(), AppError> {
        if self.endpoint != "*" && Endpoint::from_name(&self.endpoint).is_none() {
            let names: Vec<&str> = Endpoint::ALL.iter().map(|endpoint| endpoint.name()).collect();
            return Err(AppError::invalid_body(format!(
                "unknown endpoint `{}`; expected `*` or one of {}",
                self.endpoint,
                names.join(", ")
            )));
        }
        if let Some(status) = self.status.filter(|status| !(400..=599).contains(status)) {
            return Err(AppError::invalid_body(format!(
                "`status` {status} is not an error status (400..=599)"
            )));
        }
        // NaN fails `contains` too, so it is refused here rather than silently never firing.
        if let Some(rate) = self.rate.filter(|rate| !(0.0..=1.0).contains(rate)) {
            return Err(AppError::invalid_body(format!("`rate` {rate} is not within 0..=1")));
        }
        let has_effect = self.status.is_some()
            || self.latency_ms.is_some()
            || self.drop_connection
            || self.short_page
            || self.duplicate_row;
        if !has_effect {
            return Err(AppError::invalid_body(
                "a fault needs an effect: `status`, `latencyMs`, `dropConnection`, `shortPage` or `duplicateRow`",
            ));
        }
        Ok(())
    }

    fn matches(&self, endpoint: Endpoint, method: &str) -> bool {
        (self.endpoint == "*" || self.endpoint == endpoint.name())
            && self.method.as_ref().is_none_or(|wanted| wanted.eq_ignore_ascii_case(method))
    }
}

/// A rule with its counters, as `/__mock/faults` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveFault {
    pub id: u64,
    #[serde(flatten)]
    pub rule: FaultRule,
    /// Matching requests seen so far.
    pub seen: u64,
    /// Requests the rule has hit.
    pub fired: u64,
}

/// What the rules that fired do to one request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultEffects {
    pub fired_ids: Vec<u64>,
    pub latency_ms: u64,
    pub error: Option<AppError>,
    pub drop_connection: bool,
    pub short_page: bool,
    pub duplicate_row: bool,
}

/// Counts the request against every matching rule and combines the effects of those that fire:
/// latencies add up, the first status wins.
pub fn decide(
    faults: &mut [ActiveFault],
    endpoint: Endpoint,
    method: &str,
    rng: &mut StdRng,
) -> FaultEffects {
    let mut effects = FaultEffects::default();
    for fault in faults.iter_mut().filter(|fault| fault.rule.matches(endpoint, method)) {
        fault.seen += 1;
        let exhausted = fault.rule.times.is_some_and(|times| fault.fired >= times);
        if fault.seen <= fault.rule.after_requests || exhausted {
            continue;
        }
        // Draw only for partial rates so that rate-1 rules leave the RNG sequence alone.
        let rate = fault.rule.rate.unwrap_or(1.0);
        if rate < 1.0 && rng.random::<f64>() >= rate {
            continue;
        }
        fault.fired += 1;
        let rule = &fault.rule;
        effects.fired_ids.push(fault.id);
        effects.latency_ms = effects.latency_ms.saturating_add(rule.latency_ms.unwrap_or(0));
        if effects.error.is_none() {
            let status = rule.status.and_then(|code| http::StatusCode::from_u16(code).ok());
            effects.error =
                status.map(|status| AppError::injected(status, rule.retry_after_seconds.unwrap_or(1)));
        }
        effects.drop_connection |= rule.drop_connection;
        effects.short_page |= rule.short_page;
        effects.duplicate_row |= rule.duplicate_row;
    }
    effects
}

/// Applies `shortPage` and `duplicateRow` to a list answer: the `items` of a page, or a bare array.
pub fn distort_list(body: &mut serde_json::Value, short_page: bool, duplicate_row: bool) {
    let items = match body {
        serde_json::Value::Array(items) => items,
        serde_json::Value::Object(object) => match object.get_mut("items") {
            Some(serde_json::Value::Array(items)) => items,
            _ => return,
        },
        _ => return,
    };
    if short_page {
        items.truncate(items.len() / 2);
    }
    if duplicate_row && let Some(first) = items.first().cloned() {
        items.push(first);
    }
}
