//! The Autotask API surface: one dispatcher that matches paths case-insensitively (Autotask's
//! clients mix `atservicesrest`/`ATServicesRest`, `v1.0`/`V1.0` and trailing slashes), then runs
//! the request through auth, the thread limit, faults and the hourly threshold to its handler.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};

use crate::entity::{Entity, EntityKind};
use crate::error::AppError;
use crate::faults::{Hit, Phase};
use crate::filter::{MAX_RECORDS_LIMIT, QuerySpec, parse_query};
use crate::limits::Admission;
use crate::state::{AppState, AuthFailureMode};
use crate::store::{Store, Table, Window};
use crate::writes::{self, UpdateMode};

/// The metadata sub-resources under `/{E}/entityInformation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InfoKind {
    Entity,
    Fields,
    UserDefinedFields,
}

/// A matched API path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    ZoneInformation,
    VersionInformation,
    Version,
    ThresholdInformation,
    Root(EntityKind),
    Item(EntityKind, i64),
    Query(EntityKind),
    Count(EntityKind),
    Next(EntityKind),
    Info(EntityKind, InfoKind),
    /// `/Contracts/{parent}/{Services|ServiceUnits|ServiceAdjustments}`.
    Child(EntityKind, i64),
    ChildItem(EntityKind, i64, i64),
}

impl Route {
    /// Parses a path; `None` is a 404.
    pub fn parse(path: &str) -> Option<Route> {
        let segments: Vec<&str> = path.split('/').filter(|segment| !segment.is_empty()).collect();
        let is = |index: usize, name: &str| segments.get(index).is_some_and(|s| s.eq_ignore_ascii_case(name));
        if !is(0, "atservicesrest") {
            return None;
        }
        if segments.len() == 2 && is(1, "versioninformation") {
            return Some(Route::VersionInformation);
        }
        if !is(1, "v1.0") {
            return None;
        }
        let rest = &segments[2..];
        let lower: Vec<String> = rest.iter().map(|s| s.to_ascii_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        let info = |tail: &[&str]| match tail {
            ["entityinformation"] => Some(InfoKind::Entity),
            ["entityinformation", "fields"] => Some(InfoKind::Fields),
            ["entityinformation", "userdefinedfields"] => Some(InfoKind::UserDefinedFields),
            _ => None,
        };
        match lower.as_slice() {
            ["zoneinformation"] => return Some(Route::ZoneInformation),
            ["version"] => return Some(Route::Version),
            ["thresholdinformation"] => return Some(Route::ThresholdInformation),
            _ => {}
        }
        let kind = EntityKind::from_segment(rest.first()?)?;
        let route = match &lower[1..] {
            [] => Route::Root(kind),
            ["query"] => Route::Query(kind),
            ["query", "count"] => Route::Count(kind),
            ["query", "next"] => Route::Next(kind),
            tail if info(tail).is_some() => Route::Info(kind, info(tail)?),
            [id] => Route::Item(kind, id.parse().ok()?),
            [parent, child, tail @ ..] if kind == EntityKind::Contracts => {
                let parent: i64 = parent.parse().ok()?;
                let child = EntityKind::from_contract_child_segment(child)?;
                match tail {
                    [] => Route::Child(child, parent),
                    tail if info(tail).is_some() => Route::Info(child, info(tail)?),
                    [id] => Route::ChildItem(child, parent, id.parse().ok()?),
                    _ => return None,
                }
            }
            _ => return None,
        };
        Some(route)
    }

    /// The endpoint name used by statistics, faults and the thread limit.
    pub fn endpoint(self) -> &'static str {
        match self {
            Route::ZoneInformation => "ZoneInformation",
            Route::VersionInformation => "VersionInformation",
            Route::Version => "Version",
            Route::ThresholdInformation => "ThresholdInformation",
            Route::Root(kind)
            | Route::Item(kind, _)
            | Route::Query(kind)
            | Route::Count(kind)
            | Route::Next(kind)
            | Route::Info(kind, _)
            | Route::Child(kind, _)
            | Route::ChildItem(kind, _, _) => kind.name(),
        }
    }

    /// Exactly the verbs of the swagger subset.
    fn allows(self, method: &Method) -> bool {
        use EntityKind::*;
        let get = method == Method::GET;
        let post = method == Method::POST;
        let update = method == Method::PUT || method == Method::PATCH;
        match self {
            Route::ZoneInformation
            | Route::VersionInformation
            | Route::Version
            | Route::ThresholdInformation
            | Route::Info(..) => get,
            Route::Root(Companies | Contracts | Services) => post || update,
            Route::Root(ContractServiceAdjustments) => post,
            Route::Root(_) => false,
            Route::Item(kind, _) | Route::Query(kind) | Route::Count(kind) | Route::Next(kind) => {
                kind != ContractServiceAdjustments && (get || post)
            }
            Route::Child(ContractServices, _) => get || post || update,
            Route::Child(ContractServiceUnits, _) => get,
            Route::Child(ContractServiceAdjustments, _) => post,
            Route::ChildItem(kind, _, _) => get && matches!(kind, ContractServices | ContractServiceUnits),
            Route::Child(..) => false,
        }
    }

    fn needs_credentials(self) -> bool {
        !matches!(self, Route::ZoneInformation | Route::VersionInformation)
    }
}

/// Keeps the per-endpoint in-flight count of the statistics right, however the request ends.
struct InFlight {
    state: AppState,
    endpoint: &'static str,
}

impl InFlight {
    fn start(state: &AppState, endpoint: &'static str, method: &Method) -> Self {
        let mut stats = state.inner.stats.lock();
        stats.total += 1;
        *stats.requests.entry(endpoint.to_owned()).or_default().entry(method.to_string()).or_default() += 1;
        let now = {
            let count = stats.in_flight.entry(endpoint.to_owned()).or_default();
            *count += 1;
            *count
        };
        let max = stats.max_in_flight.entry(endpoint.to_owned()).or_default();
        *max = (*max).max(now);
        InFlight { state: state.clone(), endpoint }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut stats = self.state.inner.stats.lock();
        if let Some(count) = stats.in_flight.get_mut(self.endpoint) {
            *count = count.saturating_sub(1);
        }
    }
}

/// The fallback handler: every Autotask API request comes through here.
pub async fn dispatch(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(route) = Route::parse(uri.path()) else {
        let mut stats = state.inner.stats.lock();
        stats.total += 1;
        *stats.requests.entry("Unknown".to_owned()).or_default().entry(method.to_string()).or_default() += 1;
        return AppError::NoRoute(uri.to_string()).into_response();
    };
    let endpoint = route.endpoint();
    let _in_flight = InFlight::start(&state, endpoint, &method);
    if !route.allows(&method) {
        return AppError::MethodNotAllowed(method).into_response();
    }
    let _thread_slot = if route.needs_credentials() {
        let integration_code = match authenticate(&state, &headers) {
            Ok(code) => code,
            Err(error) => return error.into_response(),
        };
        match state.inner.limits.acquire_thread(&integration_code, endpoint) {
            Some(slot) => Some(slot),
            None => {
                let message = format!(
                    "Itgenatr005: Thread Threshold Exceeded. No more than {} concurrent requests are allowed per integration and endpoint ({endpoint}).",
                    state.inner.config.limits.thread_limit
                );
                return AppError::with_status(StatusCode::TOO_MANY_REQUESTS, message).into_response();
            }
        }
    } else {
        None
    };
    if let Some(response) = apply_faults(&state, endpoint, &method, Phase::Before).await {
        return response;
    }
    if route.needs_credentials() {
        match state.inner.limits.admit() {
            Admission::Refused => {
                let message = format!(
                    "Request Threshold Exceeded: more than {} requests in the current timeframe.",
                    state.inner.config.limits.hourly_request_limit
                );
                return AppError::with_status(StatusCode::TOO_MANY_REQUESTS, message).into_response();
            }
            Admission::Admitted { delay, .. } => {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
    let response =
        handle(&state, route, &method, &uri, &headers, &body).unwrap_or_else(IntoResponse::into_response);
    if let Some(replaced) = apply_faults(&state, endpoint, &method, Phase::After).await {
        return replaced;
    }
    response
}

async fn apply_faults(state: &AppState, endpoint: &str, method: &Method, phase: Phase) -> Option<Response> {
    let Hit { latency, pause, drop_connection, status } =
        state.inner.faults.check(endpoint, method.as_str(), phase);
    if pause {
        state.inner.faults.wait_for_release().await;
    }
    if latency > Duration::ZERO {
        tokio::time::sleep(latency).await;
    }
    if drop_connection {
        return Some(dropped_connection());
    }
    let (status, body) = status?;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body =
        body.unwrap_or_else(|| json!({ "errors": [format!("Injected fault: HTTP {}", status.as_u16())] }));
    Some((status, axum::Json(body)).into_response())
}

/// A response whose body fails at once, which makes the server abort the connection, so the
/// client sees the connection drop instead of an HTTP answer.
fn dropped_connection() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("connection dropped by an injected fault"))
    });
    Response::new(Body::from_stream(failing))
}

fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<String, AppError> {
    // HeaderMap lookups ignore case, so `ApiIntegrationcode` works as well.
    let read = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::trim);
    let expected = &state.inner.config.credentials;
    let user_ok = read("UserName").is_some_and(|user| user.eq_ignore_ascii_case(&expected.username));
    let secret_ok = read("Secret") == Some(expected.secret.as_str());
    let code_ok = read("ApiIntegrationCode") == Some(expected.integration_code.as_str());
    if user_ok && secret_ok && code_ok {
        return Ok(expected.integration_code.clone());
    }
    match state.inner.config.auth_failure {
        AuthFailureMode::Empty401 => Err(AppError::UnauthorizedEmpty),
        AuthFailureMode::Legacy500 if !user_ok => {
            Err(AppError::invalid("User is not valid or is not an API user."))
        }
        AuthFailureMode::Legacy500 if !code_ok => Err(AppError::invalid("IntegrationCode is invalid")),
        AuthFailureMode::Legacy500 => {
            Err(AppError::with_status(StatusCode::UNAUTHORIZED, "The user name or secret is incorrect."))
        }
    }
}

/// `http://host:port` of this server as the client addressed it.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(base) = &state.inner.config.public_base_url {
        return base.trim_end_matches('/').to_owned();
    }
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or("localhost");
    format!("http://{host}")
}

fn json_response(value: &Json) -> Response {
    axum::Json(value).into_response()
}

fn raw_json(bytes: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(bytes));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    response
}

fn parse_body(body: &Bytes) -> Result<Json, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::invalid("The request body is empty."));
    }
    // The position helps the caller; serde's own words would leak the implementation.
    serde_json::from_slice(body).map_err(|err| {
        AppError::invalid(format!(
            "The request body is not valid JSON (line {}, position {}).",
            err.line(),
            err.column()
        ))
    })
}

fn query_params(uri: &Uri) -> HashMap<String, String> {
    Query::<HashMap<String, String>>::try_from_uri(uri)
        .map(|Query(params)| params.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect())
        .unwrap_or_default()
}

fn handle(
    state: &AppState,
    route: Route,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, AppError> {
    let config = &state.inner.config;
    match route {
        Route::ZoneInformation => {
            let params = query_params(uri);
            let user = params.get("user").map(String::as_str).unwrap_or_default();
            if !user.eq_ignore_ascii_case(&config.credentials.username) {
                return Err(AppError::invalid("Zone information could not be determined"));
            }
            let base = base_url(state, headers);
            Ok(json_response(&json!({
                "zoneName": "Mock Zone",
                "url": format!("{base}/ATServicesRest/"),
                "webUrl": format!("{base}/"),
                "ci": 0,
            })))
        }
        Route::VersionInformation => Ok(json_response(&json!({ "apiVersions": ["1.0"] }))),
        Route::Version => Ok(json_response(&json!({ "majorVersion": 1, "minorVersion": 0, "build": 0 }))),
        Route::ThresholdInformation => {
            let limits = &state.inner.limits;
            Ok(json_response(&json!({
                "externalRequestThreshold": limits.config.hourly_request_limit.min(i32::MAX as u64),
                "requestThresholdTimeframe": limits.config.window.as_secs() / 60,
                "currentTimeframeRequestCount": limits.current_count(),
            })))
        }
        Route::Info(kind, what) => Ok(json_response(&entity_information(kind, what))),
        Route::Item(kind, id) => {
            let store = state.inner.store.read();
            item_response(&store, kind, id, None)
        }
        Route::ChildItem(kind, parent, id) => {
            let store = state.inner.store.read();
            item_response(&store, kind, id, Some(parent))
        }
        Route::Query(kind) | Route::Count(kind) | Route::Next(kind) => {
            let search_text = if method == Method::GET {
                let params = query_params(uri);
                match params.get("search") {
                    Some(search) => Some(search.clone()),
                    // A next page of a POSTed query must be POSTed again with its body.
                    None if matches!(route, Route::Next(_)) => {
                        return Err(AppError::MethodNotAllowed(Method::GET));
                    }
                    None => return Err(AppError::invalid("The search parameter is required.")),
                }
            } else {
                None
            };
            let query_json = match &search_text {
                Some(text) => serde_json::from_str(text).map_err(|err| {
                    AppError::invalid(format!(
                        "The search parameter is not valid JSON (position {}).",
                        err.column()
                    ))
                })?,
                None => parse_body(body)?,
            };
            let spec = parse_query(kind, &query_json)?;
            let store = state.inner.store.read();
            // Autotask pages by id, so a narrowed query larger than one page must include it.
            let narrowed_without_id =
                spec.include_fields.as_ref().is_some_and(|fields| !fields.contains(&"id"));
            if narrowed_without_id
                && !matches!(route, Route::Count(_))
                && count_rows(&store, kind, &spec)? > MAX_RECORDS_LIMIT
            {
                return Err(AppError::invalid(
                    "IncludeFields must contain id when the query returns more than 500 results.",
                ));
            }
            if matches!(route, Route::Count(_)) {
                let count = count_rows(&store, kind, &spec)?;
                return Ok(json_response(&json!({ "queryCount": count })));
            }
            let (window, page_size) = match route {
                Route::Next(_) => parse_paging(uri)?,
                _ => (Window::After(None), spec.max_records),
            };
            let links = PageLinks { base: base_url(state, headers), kind, search: search_text, page_size };
            query_page(&store, kind, &spec, window, &links)
        }
        Route::Child(kind, parent) if method == Method::GET => {
            let query = json!({ "filter": [{ "op": "eq", "field": "contractID", "value": parent }] });
            let spec = parse_query(kind, &query)?;
            let store = state.inner.store.read();
            let links = PageLinks {
                base: base_url(state, headers),
                kind,
                search: Some(query.to_string()),
                page_size: MAX_RECORDS_LIMIT,
            };
            query_page(&store, kind, &spec, Window::After(None), &links)
        }
        Route::Root(kind) => write(state, method, uri, kind, None, body),
        Route::Child(kind, parent) => write(state, method, uri, kind, Some(parent), body),
    }
}

fn write(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    kind: EntityKind,
    parent: Option<i64>,
    body: &Bytes,
) -> Result<Response, AppError> {
    let json_body = parse_body(body)?;
    let mode = if method == Method::PUT { UpdateMode::Put } else { UpdateMode::Patch };
    let creating = method == Method::POST;
    let mut store = state.inner.store.write();
    let item_id = match (kind, parent) {
        (EntityKind::ContractServiceAdjustments, parent) => {
            writes::post_adjustment(&mut store, parent, &json_body)?
        }
        (EntityKind::ContractServices, Some(contract_id)) => {
            let line = if creating {
                writes::create_contract_service(&store, contract_id, &json_body)?
            } else {
                writes::update_contract_service(&store, contract_id, &json_body, mode)?
            };
            let id = line.id;
            store.contract_services.upsert(line);
            id
        }
        (EntityKind::Companies, None) => save(&mut store.companies, &json_body, creating, mode)?,
        (EntityKind::Services, None) => save(&mut store.services, &json_body, creating, mode)?,
        (EntityKind::Contracts, None) => {
            let contract = if creating {
                writes::create(&mut store.contracts, &json_body)?
            } else {
                writes::update(&store.contracts, &json_body, mode)?
            };
            writes::check_contract_references(&store, &contract)?;
            let id = contract.id;
            store.contracts.upsert(contract);
            id
        }
        _ => return Err(AppError::MethodNotAllowed(method.clone())),
    };
    drop(store);
    state.record_write(method.as_str(), uri.path(), kind.name(), item_id, json_body);
    Ok(json_response(&json!({ "itemId": item_id })))
}

fn save<T: Entity>(
    table: &mut Table<T>,
    body: &Json,
    creating: bool,
    mode: UpdateMode,
) -> Result<i64, AppError> {
    let row = if creating { writes::create(table, body)? } else { writes::update(table, body, mode)? };
    let id = row.id();
    table.upsert(row);
    Ok(id)
}

/// What a page needs to build its `nextPageUrl` and `prevPageUrl`.
struct PageLinks {
    base: String,
    kind: EntityKind,
    /// The `search` of a GET query, kept on the links; `None` for POSTed queries.
    search: Option<String>,
    page_size: usize,
}

impl PageLinks {
    fn url(&self, paging: &Json) -> String {
        let mut url = format!(
            "{}/ATServicesRest/V1.0/{}/query/next?paging={}",
            self.base,
            self.kind.name(),
            percent_encode(&paging.to_string())
        );
        if let Some(search) = &self.search {
            url.push_str("&search=");
            url.push_str(&percent_encode(search));
        }
        url
    }
}

/// Reads `paging={"pageSize":n,"afterId":x}` or `{"pageSize":n,"beforeId":x}` of a next/prev link.
fn parse_paging(uri: &Uri) -> Result<(Window, usize), AppError> {
    let params = query_params(uri);
    let invalid = || AppError::invalid("The paging parameter is missing or not valid.");
    let paging: Json =
        params.get("paging").and_then(|text| serde_json::from_str(text).ok()).ok_or_else(invalid)?;
    let page_size = paging
        .get("pageSize")
        .and_then(Json::as_u64)
        .filter(|size| (1..=MAX_RECORDS_LIMIT as u64).contains(size))
        .ok_or_else(invalid)? as usize;
    let window =
        match (paging.get("afterId").and_then(Json::as_i64), paging.get("beforeId").and_then(Json::as_i64)) {
            (Some(after), None) => Window::After(Some(after)),
            (None, Some(before)) => Window::Before(before),
            _ => return Err(invalid()),
        };
    Ok((window, page_size))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn count_rows(store: &Store, kind: EntityKind, spec: &QuerySpec) -> Result<usize, AppError> {
    Ok(match kind {
        EntityKind::Companies => store.companies.count(&spec.filter),
        EntityKind::Contracts => store.contracts.count(&spec.filter),
        EntityKind::Services => store.services.count(&spec.filter),
        EntityKind::ContractServices => store.contract_services.count(&spec.filter),
        EntityKind::ContractServiceUnits => store.contract_service_units.count(&spec.filter),
        EntityKind::ContractServiceAdjustments => return Err(AppError::MethodNotAllowed(Method::POST)),
    })
}

fn query_page(
    store: &Store,
    kind: EntityKind,
    spec: &QuerySpec,
    window: Window,
    links: &PageLinks,
) -> Result<Response, AppError> {
    Ok(raw_json(match kind {
        EntityKind::Companies => page(&store.companies, spec, window, links),
        EntityKind::Contracts => page(&store.contracts, spec, window, links),
        EntityKind::Services => page(&store.services, spec, window, links),
        EntityKind::ContractServices => page(&store.contract_services, spec, window, links),
        EntityKind::ContractServiceUnits => page(&store.contract_service_units, spec, window, links),
        EntityKind::ContractServiceAdjustments => return Err(AppError::MethodNotAllowed(Method::POST)),
    }))
}

/// One page of a query as the `{"items","pageDetails"}` envelope, written straight to bytes.
fn page<T: Entity>(table: &Table<T>, spec: &QuerySpec, window: Window, links: &PageLinks) -> Vec<u8> {
    let size = links.page_size;
    let mut rows = table.select(&spec.filter, window, size + 1);
    let (has_next, has_prev) = match window {
        Window::After(after) => {
            let more = rows.len() > size;
            rows.truncate(size);
            (more, after.is_some())
        }
        Window::Before(_) => {
            let more = rows.len() > size;
            if more {
                rows.remove(0);
            }
            (true, more)
        }
    };
    let next = match (has_next, rows.last()) {
        (true, Some(last)) => Json::String(links.url(&json!({ "pageSize": size, "afterId": last.id() }))),
        _ => Json::Null,
    };
    let first_id = rows.first().map(|row| row.id()).or(match window {
        Window::After(after) => after.map(|after| after.saturating_add(1)),
        Window::Before(before) => Some(before),
    });
    let prev = match (has_prev, first_id) {
        (true, Some(first)) => Json::String(links.url(&json!({ "pageSize": size, "beforeId": first }))),
        _ => Json::Null,
    };
    let mut out = Vec::with_capacity(64 + rows.len() * 256);
    out.extend_from_slice(b"{\"items\":[");
    for (index, row) in rows.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        render_row(*row, spec.include_fields.as_deref(), &mut out);
    }
    out.extend_from_slice(b"],\"pageDetails\":");
    let details =
        json!({ "count": rows.len(), "requestCount": size, "prevPageUrl": prev, "nextPageUrl": next });
    out.extend_from_slice(details.to_string().as_bytes());
    out.push(b'}');
    out
}

/// Writes one entity as Autotask does: camelCase, UTC `Z` times, `userDefinedFields: []`.
pub fn render_row<T: Entity>(row: &T, include_fields: Option<&[&str]>, out: &mut Vec<u8>) {
    match include_fields {
        None => {
            let start = out.len();
            if serde_json::to_writer(&mut *out, row).is_err() || out.last() != Some(&b'}') {
                out.truncate(start);
                out.extend_from_slice(b"null");
                return;
            }
            out.pop();
            // A fixture may carry its own `userDefinedFields`; Autotask always sends the key.
            if !row.extra().contains_key("userDefinedFields") {
                out.extend_from_slice(b",\"userDefinedFields\":[]");
            }
            out.push(b'}');
        }
        Some(names) => {
            let mut object = match serde_json::to_value(row) {
                Ok(Json::Object(object)) => object,
                _ => serde_json::Map::new(),
            };
            object.retain(|key, _| names.contains(&key.as_str()) || key == "userDefinedFields");
            object.entry("userDefinedFields").or_insert_with(|| json!([]));
            out.extend_from_slice(Json::Object(object).to_string().as_bytes());
        }
    }
}

fn item_response(
    store: &Store,
    kind: EntityKind,
    id: i64,
    parent: Option<i64>,
) -> Result<Response, AppError> {
    fn one<T: Entity>(table: &Table<T>, id: i64, parent: Option<i64>) -> Result<Vec<u8>, AppError> {
        let row = table.get(id).ok_or(AppError::ItemNotFound)?;
        if let Some(parent) = parent
            && row.value("contractID") != crate::entity::Scalar::Int(parent)
        {
            return Err(AppError::ItemNotFound);
        }
        let mut out = b"{\"item\":".to_vec();
        render_row(row, None, &mut out);
        out.push(b'}');
        Ok(out)
    }
    Ok(raw_json(match kind {
        EntityKind::Companies => one(&store.companies, id, parent)?,
        EntityKind::Contracts => one(&store.contracts, id, parent)?,
        EntityKind::Services => one(&store.services, id, parent)?,
        EntityKind::ContractServices => one(&store.contract_services, id, parent)?,
        EntityKind::ContractServiceUnits => one(&store.contract_service_units, id, parent)?,
        EntityKind::ContractServiceAdjustments => return Err(AppError::MethodNotAllowed(Method::GET)),
    }))
}

fn entity_information(kind: EntityKind, what: InfoKind) -> Json {
    match what {
        InfoKind::Entity => json!({ "info": {
            "name": kind.singular(),
            "canCreate": kind.can_create(),
            "canUpdate": kind.can_update(),
            "canQuery": kind.can_query(),
            "canDelete": false,
            "hasUserDefinedFields": false,
            "supportsWebhookCallouts": false,
        }}),
        InfoKind::UserDefinedFields => json!({ "fields": [] }),
        InfoKind::Fields => {
            let fields: Vec<Json> = kind
                .fields()
                .iter()
                .map(|field| {
                    let picklist: Vec<Json> = field
                        .picklist
                        .iter()
                        .enumerate()
                        .map(|(order, (value, label))| {
                            json!({
                                "value": value.to_string(),
                                "label": label,
                                "isDefaultValue": false,
                                "sortOrder": order,
                                "parentValue": "",
                                "isActive": true,
                                "isSystem": true,
                            })
                        })
                        .collect();
                    json!({
                        "name": field.name,
                        "dataType": field.data_type.name(),
                        "length": if field.data_type == crate::entity::DataType::String { 100 } else { 0 },
                        "isRequired": field.required,
                        "isReadOnly": field.read_only,
                        "isQueryable": true,
                        "isReference": field.reference.is_some(),
                        "referenceEntityType": field.reference.unwrap_or(""),
                        "isPickList": !field.picklist.is_empty(),
                        "picklistValues": if field.picklist.is_empty() { Json::Null } else { Json::Array(picklist) },
                        "picklistParentValueField": "",
                        "isSupportedWebhookField": false,
                    })
                })
                .collect();
            json!({ "fields": fields })
        }
    }
}
