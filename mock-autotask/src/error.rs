//! `AppError`: every failure the mock answers with, in the shapes Autotask itself uses.

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A failed request, rendered as Autotask renders it.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Autotask's usual failure: HTTP 500 (or another status) with `{"errors":[…]}`.
    #[error("{status}: {}", messages.join("; "))]
    Errors { status: StatusCode, messages: Vec<String> },
    /// A verb the swagger does not list for a known path: 405 with ASP.NET's `{"Message"}` body.
    #[error("method `{0}` not allowed")]
    MethodNotAllowed(Method),
    /// A path no route matches: 404 with ASP.NET's `{"Message"}` body.
    #[error("no route for `{0}`")]
    NoRoute(String),
    /// `GET /{E}/{id}` of an id that does not exist: 404 with `{"item":null}`, which suits both
    /// the clients that check the status and those that read `item`.
    #[error("item not found")]
    ItemNotFound,
    /// A bad credential in the default mode: 401 with an empty body, as measured live.
    #[error("unauthorized")]
    UnauthorizedEmpty,
}

impl AppError {
    /// The common case: 500 with one message.
    pub fn invalid(message: impl Into<String>) -> Self {
        AppError::Errors { status: StatusCode::INTERNAL_SERVER_ERROR, messages: vec![message.into()] }
    }

    pub fn with_status(status: StatusCode, message: impl Into<String>) -> Self {
        AppError::Errors { status, messages: vec![message.into()] }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::Errors { status, messages } => {
                (status, axum::Json(json!({ "errors": messages }))).into_response()
            }
            AppError::MethodNotAllowed(method) => {
                let message = format!("The requested resource does not support http method '{method}'.");
                (StatusCode::METHOD_NOT_ALLOWED, axum::Json(json!({ "Message": message }))).into_response()
            }
            AppError::NoRoute(uri) => {
                let message = format!("No HTTP resource was found that matches the request URI '{uri}'.");
                (StatusCode::NOT_FOUND, axum::Json(json!({ "Message": message }))).into_response()
            }
            AppError::ItemNotFound => {
                (StatusCode::NOT_FOUND, axum::Json(json!({ "item": null }))).into_response()
            }
            AppError::UnauthorizedEmpty => StatusCode::UNAUTHORIZED.into_response(),
        }
    }
}
