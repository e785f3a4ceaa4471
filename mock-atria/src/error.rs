//! `AppError`: every failure of the mock, answered in the API's error shape `{error, message, traceId}`.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;

use crate::wire::ErrorBody;

/// Trace ids only need to be unique within one process, so a counter is enough (and deterministic
/// enough for logs: no clock, no randomness).
static NEXT_TRACE_ID: AtomicU64 = AtomicU64::new(1);

/// The header every error response carries its trace id in, so the ledger can record it.
pub const TRACE_ID_HEADER: &str = "x-trace-id";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppError {
    pub status: StatusCode,
    /// A snake_case code such as `unknown_period`.
    pub code: &'static str,
    pub message: String,
    /// Sent as `Retry-After` (seconds) when present.
    pub retry_after_seconds: Option<u32>,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> AppError {
        AppError { status, code, message: message.into(), retry_after_seconds: None }
    }

    pub fn with_retry_after(mut self, seconds: u32) -> AppError {
        self.retry_after_seconds = Some(seconds);
        self
    }

    pub fn invalid_parameter(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, "invalid_parameter", message)
    }

    pub fn invalid_date(name: &str, value: &str) -> AppError {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "invalid_date",
            format!("`{name}` must be a date as YYYY-MM-DD, got `{value}`"),
        )
    }

    pub fn invalid_body(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, "invalid_body", message)
    }

    pub fn unknown_period(end_date: NaiveDate) -> AppError {
        AppError::new(
            StatusCode::NOT_FOUND,
            "unknown_period",
            format!("no billing period ends on `{end_date}`"),
        )
    }

    pub fn unknown_customer(short_name: &str) -> AppError {
        AppError::new(StatusCode::NOT_FOUND, "unknown_customer", format!("no customer `{short_name}`"))
    }

    pub fn route_not_found(path: &str) -> AppError {
        AppError::new(StatusCode::NOT_FOUND, "not_found", format!("no endpoint at `{path}`"))
    }

    pub fn method_not_allowed() -> AppError {
        AppError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this endpoint does not take that method",
        )
    }

    pub fn missing_token() -> AppError {
        AppError::new(
            StatusCode::UNAUTHORIZED,
            "missing_token",
            "send `Authorization: Bearer <token>` with an Atria API token",
        )
    }

    pub fn invalid_token() -> AppError {
        AppError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the bearer token is not a known Atria API token",
        )
    }

    pub fn token_expired(expired_on: NaiveDate) -> AppError {
        AppError::new(
            StatusCode::UNAUTHORIZED,
            "token_expired",
            format!("the token expired on `{expired_on}`"),
        )
    }

    pub fn missing_developer_permission(user: &str) -> AppError {
        AppError::new(
            StatusCode::FORBIDDEN,
            "missing_developer_permission",
            format!("user `{user}` lacks the `Service Provider Developer` permission"),
        )
    }

    pub fn period_recalculating(end_date: NaiveDate, retry_after_seconds: u32) -> AppError {
        AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "period_recalculating",
            format!("billing period ending `{end_date}` is being recalculated; retry later"),
        )
        .with_retry_after(retry_after_seconds)
    }

    /// An error injected through `/__mock/faults`, with the code a real server would use for it.
    pub fn injected(status: StatusCode, retry_after_seconds: u32) -> AppError {
        let (code, message) = match status.as_u16() {
            429 => ("rate_limited", "too many requests; retry later"),
            503 => ("period_recalculating", "the billing period is being recalculated; retry later"),
            500 => ("internal_error", "internal server error (injected)"),
            502 => ("bad_gateway", "bad gateway (injected)"),
            504 => ("gateway_timeout", "gateway timeout (injected)"),
            401 => ("invalid_token", "the bearer token was rejected (injected)"),
            403 => ("missing_developer_permission", "permission denied (injected)"),
            404 => ("not_found", "not found (injected)"),
            _ => ("injected_fault", "fault injected by `/__mock/faults`"),
        };
        let error = AppError::new(status, code, message);
        if matches!(status.as_u16(), 429 | 503) { error.with_retry_after(retry_after_seconds) } else { error }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let trace_id = format!("{:016x}", NEXT_TRACE_ID.fetch_add(1, Ordering::Relaxed));
        let body =
            ErrorBody { error: self.code.to_owned(), message: self.message, trace_id: trace_id.clone() };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&trace_id) {
            headers.insert(TRACE_ID_HEADER, value);
        }
        if let Some(seconds) = self.retry_after_seconds {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
