//! The Atria API handlers (our design, `reference/atria-api.md` §3) and the middleware in front of
//! them: bearer auth, and the layer that counts, logs and injects faults.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;

use crate::billing::{self, RowFilter};
use crate::endpoints::Endpoint;
use crate::error::{AppError, TRACE_ID_HEADER};
use crate::faults;
use crate::periods::{self, PeriodData};
use crate::query::{Params, parse_date};
use crate::state::{AppState, LedgerEntry, World};
use crate::wire::{CustomerView, DetailRowView, Page, PeriodView, ServiceView, SummaryRowView};

type QueryPairs = Result<Query<Vec<(String, String)>>, QueryRejection>;
type PathText = Result<Path<String>, PathRejection>;

fn params(query: QueryPairs, allowed: &[&str]) -> Result<Params, AppError> {
    let Query(pairs) = query
        .map_err(|rejection| AppError::invalid_parameter(format!("malformed query string: {rejection}")))?;
    Params::new(pairs, allowed)
}

fn path_text(path: PathText) -> Result<String, AppError> {
    path.map(|Path(text)| text).map_err(|rejection| AppError::invalid_parameter(rejection.body_text()))
}

fn path_date(path: PathText, name: &str) -> Result<NaiveDate, AppError> {
    parse_date(name, &path_text(path)?)
}

fn period_by_end(world: &World, end_date: NaiveDate) -> Result<&PeriodData, AppError> {
    periods::by_end_date(&world.periods, end_date).ok_or_else(|| AppError::unknown_period(end_date))
}

// ---------------------------------------------------------------------------------------------
// Billing periods

pub async fn list_periods(
    State(state): State<AppState>,
    query: QueryPairs,
) -> Result<Json<Vec<PeriodView>>, AppError> {
    params(query, &[])?;
    Ok(Json(state.with_world(|world| world.periods.iter().map(|period| period.view(world.clock)).collect())))
}

pub async fn current_period(
    State(state): State<AppState>,
    query: QueryPairs,
) -> Result<Json<PeriodView>, AppError> {
    params(query, &[])?;
    state.with_world(|world| {
        let current = periods::current(&world.periods, world.clock).ok_or_else(|| {
            AppError::new(
                StatusCode::NOT_FOUND,
                "no_current_period",
                format!("no open billing period contains today (`{}`)", world.clock),
            )
        })?;
        Ok(Json(current.view(world.clock)))
    })
}

pub async fn previous_period(
    State(state): State<AppState>,
    query: QueryPairs,
) -> Result<Json<PeriodView>, AppError> {
    params(query, &[])?;
    state.with_world(|world| {
        let previous = periods::previous(&world.periods, world.clock).ok_or_else(|| {
            AppError::new(
                StatusCode::NOT_FOUND,
                "no_previous_period",
                format!("no billing period ended before today (`{}`)", world.clock),
            )
        })?;
        Ok(Json(previous.view(world.clock)))
    })
}

pub async fn period_by_end_date(
    State(state): State<AppState>,
    path: PathText,
    query: QueryPairs,
) -> Result<Json<PeriodView>, AppError> {
    let end_date = path_date(path, "endDate")?;
    params(query, &[])?;
    state.with_world(|world| Ok(Json(period_by_end(world, end_date)?.view(world.clock))))
}

pub async fn resolve_period(
    State(state): State<AppState>,
    query: QueryPairs,
) -> Result<Json<PeriodView>, AppError> {
    let at = params(query, &["at"])?.required_date("at")?;
    state.with_world(|world| {
        let period = periods::resolve(&world.periods, at).ok_or_else(|| {
            AppError::new(
                StatusCode::NOT_FOUND,
                "unknown_period",
                format!("no billing period contains `{at}`"),
            )
        })?;
        Ok(Json(period.view(world.clock)))
    })
}

// ---------------------------------------------------------------------------------------------
// Customers and services

/// `period=ENDDATE` (our addition) lists that period's customers exactly; without it, the
/// customer directory (the current period's customers first).
pub async fn list_customers(
    State(state): State<AppState>,
    query: QueryPairs,
) -> Result<Json<Page<CustomerView>>, AppError> {
    let params = params(query, &["page", "pageSize", "period"])?;
    let paging = params.paging()?;
    let period_end = params.date("period")?;
    state.with_world(|world| {
        let customers = match period_end {
            Some(end_date) => world.period_customers(period_by_end(world, end_date)?),
            None => world.directory(),
        };
        Ok(Json(paging.cut(&customers)))
    })
}

pub async fn get_customer(
    State(state): State<AppState>,
    path: PathText,
    query: QueryPairs,
) -> Result<Json<CustomerView>, AppError> {
    let short_name = path_text(path)?;
    let period_end = params(query, &["period"])?.date("period")?;
    state.with_world(|world| {
        let customers = match period_end {
            Some(end_date) => world.period_customers(period_by_end(world, end_date)?),
            None => world.directory(),
        };
        let customer = customers.into_iter().find(|customer| customer.short_name == short_name);
        customer.map(Json).ok_or_else(|| AppError::unknown_customer(&short_name))
    })
}

pub async fn list_services(
    State(state): State<AppState>,
    query: QueryPairs,
) -> Result<Json<Vec<ServiceView>>, AppError> {
    params(query, &[])?;
    Ok(Json(state.with_world(|world| world.services.clone())))
}

// ---------------------------------------------------------------------------------------------
// Billing

/// The period's rows filter; a `customer` Atria does not know is a 404, not an empty list.
fn row_filter(world: &World, params: &Params) -> Result<RowFilter, AppError> {
    let customer = params.text("customer").map(str::to_owned);
    if let Some(code) = customer.as_ref().filter(|code| !world.customer_ids.contains_key(*code)) {
        return Err(AppError::unknown_customer(code));
    }
    Ok(RowFilter { customer, billable: params.boolean("billable")? })
}

/// `aggregateByCustomer` defaults to true: one row per customer and product, Atria's summary
/// export and what billsync reads; false merges customers into one row per product.
pub async fn billing_summary(
    State(state): State<AppState>,
    path: PathText,
    query: QueryPairs,
) -> Result<Json<Page<SummaryRowView>>, AppError> {
    let end_date = path_date(path, "enddate")?;
    let params = params(query, &["billable", "aggregateByCustomer", "customer", "page", "pageSize"])?;
    let paging = params.paging()?;
    let aggregate_by_customer = params.boolean("aggregateByCustomer")?.unwrap_or(true);
    state.with_world(|world| {
        let filter = row_filter(world, &params)?;
        period_by_end(world, end_date)?;
        if let Some(busy) = world.take_busy(end_date) {
            return Err(busy);
        }
        let period = period_by_end(world, end_date)?;
        let rows = billing::summary_rows(period, &filter, aggregate_by_customer);
        Ok(Json(paging.cut(&rows)))
    })
}

pub async fn billing_detail(
    State(state): State<AppState>,
    path: PathText,
    query: QueryPairs,
) -> Result<Json<Page<DetailRowView>>, AppError> {
    let end_date = path_date(path, "enddate")?;
    let params = params(query, &["billable", "customer", "page", "pageSize"])?;
    let paging = params.paging()?;
    state.with_world(|world| {
        let filter = row_filter(world, &params)?;
        period_by_end(world, end_date)?;
        if let Some(busy) = world.take_busy(end_date) {
            return Err(busy);
        }
        let period = period_by_end(world, end_date)?;
        let (items, total_count) =
            billing::detail_page(period, &filter, paging.offset(), u64::from(paging.page_size));
        Ok(Json(Page { items, page: paging.page, page_size: paging.page_size, total_count }))
    })
}

// ---------------------------------------------------------------------------------------------
// Middleware

fn bearer_token(headers: &HeaderMap) -> Result<&str, AppError> {
    let value = headers.get(header::AUTHORIZATION).ok_or_else(AppError::missing_token)?;
    let value = value.to_str().map_err(|_| AppError::invalid_token())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(AppError::invalid_token)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AppError::invalid_token());
    }
    Ok(token.trim())
}

fn authorize(world: &World, headers: &HeaderMap) -> Result<(), AppError> {
    let sent = bearer_token(headers)?;
    let token =
        world.tokens().iter().find(|known| known.token == sent).ok_or_else(AppError::invalid_token)?;
    if let Some(expires_on) = token.expires_on.filter(|expires_on| *expires_on < world.clock) {
        return Err(AppError::token_expired(expires_on));
    }
    if !token.developer {
        return Err(AppError::missing_developer_permission(&token.user));
    }
    Ok(())
}

/// Bearer auth: 401 for a missing, unknown or expired token, 403 without the developer permission.
pub async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match state.with_world(|world| authorize(world, request.headers())) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

/// Outermost API layer: counts the request, applies the fault rules that fire (latency, error
/// status, dropped connection, short page, duplicated row) and writes the ledger entry.
pub async fn observe_and_inject(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let endpoint =
        request.extensions().get::<MatchedPath>().and_then(|matched| Endpoint::from_path(matched.as_str()));
    let Some(endpoint) = endpoint else { return next.run(request).await };
    let method = request.method().as_str().to_owned();
    let uri =
        request.uri().path_and_query().map_or_else(|| request.uri().path().to_owned(), ToString::to_string);
    let (seq, user, effects) = state.with_world(|world| {
        let seq = world.record_request(endpoint.name(), &method);
        let user = bearer_token(request.headers())
            .ok()
            .and_then(|sent| world.tokens().iter().find(|known| known.token == sent))
            .map(|token| token.user.clone());
        let effects = faults::decide(&mut world.faults, endpoint, &method, &mut world.rng);
        (seq, user, effects)
    });
    if effects.latency_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(effects.latency_ms)).await;
    }
    let response = if let Some(error) = effects.error.clone() {
        error.into_response()
    } else if effects.drop_connection {
        dropped_connection()
    } else {
        let response = next.run(request).await;
        if effects.short_page || effects.duplicate_row {
            distort(response, effects.short_page, effects.duplicate_row).await
        } else {
            response
        }
    };
    let trace_id =
        response.headers().get(TRACE_ID_HEADER).and_then(|value| value.to_str().ok()).map(str::to_owned);
    let entry = LedgerEntry {
        seq,
        method,
        uri,
        endpoint: endpoint.name().to_owned(),
        status: response.status().as_u16(),
        faults: effects.fired_ids,
        user,
        trace_id,
    };
    state.with_world(|world| world.append_ledger(entry));
    response
}

/// A 200 whose body fails at once: hyper then closes the connection mid-response, which the
/// client sees as a dropped connection.
fn dropped_connection() -> Response {
    let failure = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection dropped by /__mock/faults",
        ))
    });
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], Body::from_stream(failure)).into_response()
}

async fn distort(response: Response, short_page: bool, duplicate_row: bool) -> Response {
    if !response.status().is_success() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "cannot read the response body",
        )
        .into_response();
    };
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    faults::distort_list(&mut value, short_page, duplicate_row);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(serde_json::to_vec(&value).unwrap_or_default()))
}

/// JSON 404 for paths the API does not have.
pub async fn route_not_found(request: Request) -> AppError {
    AppError::route_not_found(request.uri().path())
}

pub async fn method_not_allowed() -> AppError {
    AppError::method_not_allowed()
}
