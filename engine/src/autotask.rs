//! The Autotask PSA REST client: zone discovery, the credential host allow-list, paged queries,
//! `in` filters chunked at 500 ids, creates, ThresholdInformation, and retries that never
//! repeat a write that may have happened.
//!
//! Reads (queries, GETs) retry on 429, `Itgenatr005`, 5xx, timeouts and dropped connections.
//! A create retries only when the request was certainly not processed (429, `Itgenatr005`, a
//! connection that never opened); any other failure is [`ClientError::Ambiguous`] and the
//! caller reads back to decide. Credentials travel only in headers marked sensitive, and only
//! to hosts [`check_host`] allows; a redirect is never followed (it is an AT02 error naming its
//! target), and no error, log or `Debug` output contains a credential in any form (server text
//! goes through [`Scrubber::excerpt`]). A 500 whose text says the credentials are invalid (the
//! older Autotask answer) is a refusal like a 401: reported at once, never retried.

pub mod wire;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use thiserror::Error;
use tokio::sync::Semaphore;

use crate::codes::Code;
use crate::http;
pub use crate::secrets::AutotaskCredentials;
use crate::secrets::Scrubber;
use crate::spec::AutotaskConnection;

/// Values of `Inner::refused`.
const REFUSED_401: u8 = 1;
const REFUSED_403: u8 = 2;

/// The most ids one `in` condition carries, and the page size asked for.
pub const MAX_RECORDS: usize = 500;

/// Timeouts, retries and concurrency of a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientOptions {
    /// Per request, connect included.
    pub timeout: Duration,
    /// Attempts after the first, for a failure that may be retried.
    pub max_retries: u32,
    /// The first backoff; it doubles per attempt (with jitter), up to 30 s.
    pub retry_base_delay: Duration,
    /// Requests in flight per endpoint (Autotask allows 3 per integration and endpoint).
    pub concurrency_per_endpoint: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(60),
            max_retries: 6,
            retry_base_delay: Duration::from_millis(500),
            concurrency_per_endpoint: 3,
        }
    }
}

/// Autotask's request budget: `GET /V1.0/ThresholdInformation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThresholdInformation {
    pub external_request_threshold: u64,
    /// Minutes.
    pub request_threshold_timeframe: u64,
    pub current_timeframe_request_count: u64,
}

#[derive(Debug, Error)]
pub enum ClientError {
    #[error(
        "AT02 Failed to connect to Autotask: Error reported was: `{host}` may not receive the Autotask credentials; only https hosts under `autotask.net`, loopback, and the hosts in `autotask.allowHosts` may"
    )]
    Refused { host: String },
    #[error("AT02 Failed to connect to Autotask: Error reported was: {0}")]
    InvalidUrl(String),
    #[error(
        "AT17 Failed to Retrieve Job Task Parameters: Error reported was: user email is not valid: zone discovery does not know `{user}`"
    )]
    UnknownZoneUser { user: String },
    /// A 401, or a 500 whose text says the user or the integration code is invalid.
    #[error(
        "AT02 Failed to connect to Autotask: Error reported was: the credentials were refused (HTTP {status}{detail}); check `autotask.username`, `autotask.secret` and `autotask.integrationCode`"
    )]
    Auth {
        status: u16,
        /// `: ` and the server's (scrubbed) words, or nothing.
        detail: String,
    },
    #[error(
        "AT02 Failed to connect to Autotask: Error reported was: `{endpoint}` answered with a redirect (HTTP {status}) to `{target}`; billsync follows no redirect, so that the credentials go only to the hosts allowed: point `autotask.baseUrl` or `autotask.zoneDiscoveryUrl` at the final address"
    )]
    Redirect { endpoint: String, status: u16, target: String },
    #[error(
        "AT02 Failed to connect to Autotask: Error reported was: permission refused (HTTP 403); the API user may not do this"
    )]
    Forbidden,
    #[error("AT02 Failed to connect to Autotask: Error reported was: {0}")]
    Connect(String),
    #[error(
        "AT02 Failed to connect to Autotask: Error reported was: HTTP {status} from `{endpoint}`: {message}"
    )]
    Api { endpoint: String, status: u16, message: String },
    /// A create whose outcome is unknown (5xx, timeout, dropped connection): it may or may not
    /// have been processed. Read back before trying again.
    #[error(
        "AT02 Failed to connect to Autotask: Error reported was: the outcome of a write to `{endpoint}` is unknown: {message}"
    )]
    Ambiguous { endpoint: String, message: String },
    #[error("AT23 Failed to Deserialize object: Error reported was: {0}")]
    Decode(String),
}

impl ClientError {
    pub fn code(&self) -> Code {
        match self {
            ClientError::UnknownZoneUser { .. } => Code::AT17,
            ClientError::Decode(_) => Code::AT23,
            _ => Code::AT02,
        }
    }
}

/// A connected Autotask client. Cheap to clone; clones share the connection pool, the
/// per-endpoint limits and the request counter.
#[derive(Clone)]
pub struct AutotaskClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// The zone's `…/V1.0/`, with the trailing slash.
    api_url: Url,
    /// `ApiIntegrationCode`, `UserName`, `Secret`, all marked sensitive.
    headers: HeaderMap,
    /// Takes the credentials out of any text that reaches an error.
    scrubber: Scrubber,
    options: ClientOptions,
    endpoints: Mutex<HashMap<String, Arc<Semaphore>>>,
    requests: AtomicU64,
    /// Set by a 401 or 403: refused credentials stop every request after it, at once.
    refused: std::sync::atomic::AtomicU8,
}

impl std::fmt::Debug for AutotaskClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutotaskClient")
            .field("api_url", &self.inner.api_url.as_str())
            .field("options", &self.inner.options)
            .field("requests", &self.request_count())
            .finish_non_exhaustive()
    }
}

/// Whether an API request may be repeated after a failure that leaves its outcome unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Queries and GETs: repeat freely.
    Read,
    /// Creates: repeat only when certainly not processed.
    Create,
    /// Zone discovery: a read without credentials, whose 500 means an unknown user.
    Zone,
}

#[derive(Deserialize)]
struct ZoneInformation {
    url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryPage {
    #[serde(default)]
    items: Vec<Value>,
    #[serde(default)]
    page_details: Option<PageDetails>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageDetails {
    #[serde(default)]
    next_page_url: Option<String>,
}

#[derive(Deserialize)]
struct Created {
    #[serde(alias = "ItemId", alias = "itemID")]
    #[serde(rename = "itemId")]
    item_id: i64,
}

/// Refuses a URL that may not receive credentials. Allowed: https under `autotask.net`, https
/// to a host listed in `autotask.allowHosts`, and loopback (http or https) only when the spec
/// itself names a loopback `baseUrl` or `zoneDiscoveryUrl` (the mocks): a zone answer alone
/// never sends credentials to loopback or over plain http.
pub fn check_host(url: &Url, connection: &AutotaskConnection) -> Result<(), ClientError> {
    let host = url.host_str().unwrap_or_default().trim_end_matches('.').to_ascii_lowercase();
    let allowed = if http::is_loopback(url) {
        matches!(url.scheme(), "http" | "https") && spec_names_loopback(connection)
    } else {
        url.scheme() == "https"
            && (host == "autotask.net"
                || host.ends_with(".autotask.net")
                || connection
                    .allow_hosts
                    .iter()
                    .any(|allowed| allowed.trim().trim_end_matches('.').eq_ignore_ascii_case(&host)))
    };
    if allowed {
        Ok(())
    } else {
        Err(ClientError::Refused {
            host: format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default()),
        })
    }
}

/// A zone found over https keeps the credentials on https, loopback included.
fn zone_keeps_https(connection: &AutotaskConnection, zone: &Url) -> Result<(), ClientError> {
    let discovery = http::directory_url(&connection.zone_discovery_url);
    if discovery.is_ok_and(|url| url.scheme() == "https") && zone.scheme() != "https" {
        return Err(ClientError::Refused {
            host: format!("{}://{}", zone.scheme(), zone.host_str().unwrap_or_default()),
        });
    }
    Ok(())
}

/// Whether the spec itself points at loopback (its `baseUrl` or `zoneDiscoveryUrl`).
fn spec_names_loopback(connection: &AutotaskConnection) -> bool {
    [connection.base_url.as_str(), connection.zone_discovery_url.as_str()]
        .into_iter()
        .filter(|text| !text.trim().is_empty())
        .any(|text| http::directory_url(text).is_ok_and(|url| http::is_loopback(&url)))
}

impl AutotaskClient {
    /// Finds the zone (`{zoneDiscoveryUrl}v1.0/zoneInformation?user={zoneUser}`, no credentials)
    /// unless `baseUrl` is set, and refuses a zone whose host may not receive credentials. Sends
    /// no authenticated request.
    pub async fn connect(
        connection: &AutotaskConnection,
        credentials: AutotaskCredentials,
        options: ClientOptions,
    ) -> Result<AutotaskClient, ClientError> {
        let http = http::client(options.timeout).map_err(ClientError::Connect)?;
        let headers = credential_headers(&credentials)?;
        let scrubber =
            Scrubber::new([&credentials.username, &credentials.secret, &credentials.integration_code]);
        let mut client = AutotaskClient {
            inner: Arc::new(Inner {
                http,
                api_url: Url::parse("http://127.0.0.1/")
                    .map_err(|error| ClientError::InvalidUrl(error.to_string()))?,
                headers,
                scrubber,
                options,
                endpoints: Mutex::default(),
                requests: AtomicU64::new(0),
                refused: std::sync::atomic::AtomicU8::new(0),
            }),
        };
        let discovered = connection.base_url.trim().is_empty();
        let zone_url = if discovered {
            let user = connection.zone_user.as_deref().map(str::trim).unwrap_or_default();
            if !user.contains('@') {
                return Err(ClientError::UnknownZoneUser { user: user.to_owned() });
            }
            client.discover_zone(&connection.zone_discovery_url, user).await?
        } else {
            connection.base_url.clone()
        };
        // The zone's URL is the server's text: it reaches an error only scrubbed and cut short.
        let api_url = api_url(&zone_url).map_err(|error| match error {
            ClientError::InvalidUrl(message) => {
                ClientError::InvalidUrl(client.inner.scrubber.excerpt(&message, http::EXCERPT_CHARS))
            }
            other => other,
        })?;
        check_host(&api_url, connection).map_err(|error| match error {
            ClientError::Refused { host } => {
                ClientError::Refused { host: client.inner.scrubber.excerpt(&host, http::EXCERPT_CHARS) }
            }
            other => other,
        })?;
        if discovered {
            zone_keeps_https(connection, &api_url)?;
        }
        match Arc::get_mut(&mut client.inner) {
            Some(inner) => inner.api_url = api_url,
            None => return Err(ClientError::Connect("the client was shared while connecting".into())),
        }
        Ok(client)
    }

    /// The zone's API root, `…/V1.0/`.
    pub fn api_url(&self) -> &Url {
        &self.inner.api_url
    }

    async fn discover_zone(&self, discovery_url: &str, user: &str) -> Result<String, ClientError> {
        let mut url = http::directory_url(discovery_url)
            .and_then(|url| url.join("v1.0/zoneInformation").map_err(|error| error.to_string()))
            .map_err(ClientError::InvalidUrl)?;
        url.query_pairs_mut().append_pair("user", user);
        match self.send("ZoneInformation", Method::GET, url, None, Kind::Zone).await {
            Ok(answer) => {
                let zone: ZoneInformation = serde_json::from_value(answer)
                    .map_err(|error| self.decode_error(format!("zoneInformation: {error}")))?;
                Ok(zone.url)
            }
            Err(ClientError::Api { status: 500, message, .. })
                if message.to_ascii_lowercase().contains("could not be determined") =>
            {
                Err(ClientError::UnknownZoneUser { user: user.to_owned() })
            }
            Err(error) => Err(error),
        }
    }

    /// Requests sent so far (every attempt counts), for call-count tests and budgets.
    pub fn request_count(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// All pages of a query: POST `{entity}/query` with `{"filter": …, "MaxRecords": 500}`, then
    /// POST each absolute `nextPageUrl` with the same body. `filter` is the condition array (a
    /// single condition object is wrapped). Items come in Autotask's order (by id).
    pub async fn query<T: DeserializeOwned>(
        &self,
        entity: &str,
        filter: Value,
    ) -> Result<Vec<T>, ClientError> {
        let items = self.query_values(entity, filter).await?;
        decode_items(entity, items, &self.inner.scrubber)
    }

    /// `field in ids`, chunked at 500 ids per query (chunks run side by side, within the
    /// endpoint's limit), all pages, results in id order. No ids: no request.
    pub async fn query_in<T: DeserializeOwned>(
        &self,
        entity: &str,
        field: &str,
        ids: &[i64],
    ) -> Result<Vec<T>, ClientError> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        self.query_in_values(entity, field, ids.into_iter().map(Value::from).collect()).await
    }

    /// [`AutotaskClient::query_in`] over any JSON values (e.g. company numbers).
    pub async fn query_in_values<T: DeserializeOwned>(
        &self,
        entity: &str,
        field: &str,
        values: Vec<Value>,
    ) -> Result<Vec<T>, ClientError> {
        let chunks = values
            .chunks(MAX_RECORDS)
            .map(|chunk| self.query_values(entity, json!([{ "op": "in", "field": field, "value": chunk }])));
        let pages = futures::future::try_join_all(chunks).await?;
        let mut items: Vec<Value> = pages.into_iter().flatten().collect();
        items.sort_by_key(item_id);
        items.dedup_by_key(|item| item_id(item));
        decode_items(entity, items, &self.inner.scrubber)
    }

    async fn query_values(&self, entity: &str, filter: Value) -> Result<Vec<Value>, ClientError> {
        let filter = if filter.is_array() { filter } else { Value::Array(vec![filter]) };
        let body = json!({ "filter": filter, "MaxRecords": MAX_RECORDS });
        let mut url = self.url(&format!("{entity}/query"))?;
        let mut items = Vec::new();
        loop {
            let answer = self.send(entity, Method::POST, url.clone(), Some(&body), Kind::Read).await?;
            let page: QueryPage = serde_json::from_value(answer)
                .map_err(|error| self.decode_error(format!("`{entity}` query page: {error}")))?;
            items.extend(page.items);
            let next =
                page.page_details.and_then(|details| details.next_page_url).filter(|next| !next.is_empty());
            let Some(next) = next else { break };
            let next = Url::parse(&next)
                .map_err(|error| self.decode_error(format!("`{entity}` nextPageUrl `{next}`: {error}")))?;
            // The next page gets the credentials too: it must be on the zone's own origin.
            if next.origin() != self.inner.api_url.origin() {
                return Err(ClientError::Refused {
                    host: format!("{}://{}", next.scheme(), next.host_str().unwrap_or_default()),
                });
            }
            if next == url {
                return Err(ClientError::Decode(format!("`{entity}` nextPageUrl repeats the page it is on")));
            }
            url = next;
        }
        Ok(items)
    }

    /// POSTs a create (`path` relative to `V1.0/`, e.g. `Contracts/991/Services` or
    /// `ContractServiceAdjustments`) and returns its `itemId`.
    pub async fn create(&self, path: &str, body: &Value) -> Result<i64, ClientError> {
        let endpoint = endpoint_of(path);
        let url = self.url(path)?;
        let answer = self.send(&endpoint, Method::POST, url, Some(body), Kind::Create).await?;
        let created: Created = serde_json::from_value(answer)
            .map_err(|error| self.decode_error(format!("`{endpoint}` create answer: {error}")))?;
        Ok(created.item_id)
    }

    /// `GET ThresholdInformation` (the call counts against the budget itself).
    pub async fn threshold(&self) -> Result<ThresholdInformation, ClientError> {
        let url = self.url("ThresholdInformation")?;
        let answer = self.send("ThresholdInformation", Method::GET, url, None, Kind::Read).await?;
        serde_json::from_value(answer)
            .map_err(|error| self.decode_error(format!("ThresholdInformation: {error}")))
    }

    fn url(&self, path: &str) -> Result<Url, ClientError> {
        self.inner
            .api_url
            .join(path.trim_start_matches('/'))
            .map_err(|error| ClientError::InvalidUrl(error.to_string()))
    }

    fn semaphore(&self, endpoint: &str) -> Arc<Semaphore> {
        let mut endpoints = self.inner.endpoints.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        endpoints
            .entry(endpoint.to_ascii_lowercase())
            .or_insert_with(|| Arc::new(Semaphore::new(self.inner.options.concurrency_per_endpoint.max(1))))
            .clone()
    }

    /// One request with the retry policy of its kind; the answer's JSON on success.
    async fn send(
        &self,
        endpoint: &str,
        method: Method,
        url: Url,
        body: Option<&Value>,
        kind: Kind,
    ) -> Result<Value, ClientError> {
        let options = self.inner.options;
        let semaphore = self.semaphore(endpoint);
        let mut attempt = 0;
        loop {
            let outcome = {
                let _permit = semaphore
                    .acquire()
                    .await
                    .map_err(|_| ClientError::Connect("the client is shutting down".into()))?;
                // After refused credentials, nothing more is sent with them.
                match self.inner.refused.load(Ordering::SeqCst) {
                    REFUSED_401 => return Err(ClientError::Auth { status: 401, detail: String::new() }),
                    REFUSED_403 => return Err(ClientError::Forbidden),
                    _ => {}
                }
                self.inner.requests.fetch_add(1, Ordering::Relaxed);
                let mut request = self.inner.http.request(method.clone(), url.clone());
                if kind != Kind::Zone {
                    request = request.headers(self.inner.headers.clone());
                }
                if let Some(body) = body {
                    request = request.json(body);
                }
                match request.send().await {
                    Ok(response) if response.status().is_redirection() => Outcome::Redirect {
                        status: response.status(),
                        target: http::redirect_target(&url, response.headers()),
                    },
                    Ok(response) => {
                        let status = response.status();
                        let retry_after = http::retry_after(response.headers());
                        match response.bytes().await {
                            Ok(bytes) => Outcome::Answer { status, retry_after, body: bytes.to_vec() },
                            Err(error) => Outcome::Failed { sent: true, message: http::error_text(&error) },
                        }
                    }
                    Err(error) => {
                        Outcome::Failed { sent: !error.is_connect(), message: http::error_text(&error) }
                    }
                }
            };
            let (retry, error) = match outcome {
                Outcome::Answer { status, body, .. } if status.is_success() => {
                    return serde_json::from_slice(&body).map_err(|error| {
                        ClientError::Decode(self.redact(format!("`{endpoint}` answer is not JSON: {error}")))
                    });
                }
                Outcome::Redirect { status, target } => {
                    return Err(ClientError::Redirect {
                        endpoint: endpoint.to_owned(),
                        status: status.as_u16(),
                        target: self.inner.scrubber.excerpt(&target, http::EXCERPT_CHARS),
                    });
                }
                Outcome::Answer { status: StatusCode::UNAUTHORIZED, .. } if kind != Kind::Zone => {
                    let _ = self.inner.refused.compare_exchange(
                        0,
                        REFUSED_401,
                        Ordering::SeqCst,
                        Ordering::SeqCst,
                    );
                    return Err(ClientError::Auth { status: 401, detail: String::new() });
                }
                Outcome::Answer { status: StatusCode::FORBIDDEN, .. } if kind != Kind::Zone => {
                    let _ = self.inner.refused.compare_exchange(
                        0,
                        REFUSED_403,
                        Ordering::SeqCst,
                        Ordering::SeqCst,
                    );
                    return Err(ClientError::Forbidden);
                }
                Outcome::Answer { status, retry_after, body } => {
                    let text = api_text(&body);
                    let message = http::body_excerpt(text.as_bytes(), &self.inner.scrubber);
                    // The older answer to bad credentials: a 500 that says so (read before
                    // scrubbing, which could mask its words). Nothing was processed and no
                    // retry can help.
                    if kind != Kind::Zone
                        && status == StatusCode::INTERNAL_SERVER_ERROR
                        && refuses_credentials(&text)
                    {
                        let _ = self.inner.refused.compare_exchange(
                            0,
                            REFUSED_401,
                            Ordering::SeqCst,
                            Ordering::SeqCst,
                        );
                        return Err(ClientError::Auth { status: 500, detail: format!(": {message}") });
                    }
                    let throttled = status == StatusCode::TOO_MANY_REQUESTS
                        || String::from_utf8_lossy(&body).contains("Itgenatr005");
                    let error =
                        ClientError::Api { endpoint: endpoint.to_owned(), status: status.as_u16(), message };
                    if throttled {
                        (Some(retry_after), error)
                    } else if status.is_server_error() {
                        match kind {
                            Kind::Read => (Some(retry_after), error),
                            Kind::Zone if status != StatusCode::INTERNAL_SERVER_ERROR => {
                                (Some(retry_after), error)
                            }
                            Kind::Zone => (None, error),
                            Kind::Create => return Err(ambiguous(error)),
                        }
                    } else {
                        (None, error)
                    }
                }
                Outcome::Failed { sent, message } => {
                    let error = ClientError::Connect(self.redact(format!("`{endpoint}`: {message}")));
                    match (kind, sent) {
                        (Kind::Create, true) => return Err(ambiguous(error)),
                        _ => (Some(None), error),
                    }
                }
            };
            match retry {
                Some(retry_after) if attempt < options.max_retries => {
                    tokio::time::sleep(http::backoff(attempt, options.retry_base_delay, retry_after)).await;
                    attempt += 1;
                }
                _ => return Err(error),
            }
        }
    }

    /// An answer that cannot be read; serde quotes the values it refused, so the text is scrubbed.
    fn decode_error(&self, text: String) -> ClientError {
        ClientError::Decode(self.redact(text))
    }

    /// Library text (a reqwest error holds the URL, and zone discovery's names the user) for an
    /// error message.
    fn redact(&self, text: String) -> String {
        self.inner.scrubber.excerpt(&text, http::EXCERPT_CHARS)
    }
}

enum Outcome {
    Answer {
        status: StatusCode,
        retry_after: Option<Duration>,
        body: Vec<u8>,
    },
    /// A 3xx, never followed; `target` is where it pointed (`scheme://host:port`).
    Redirect {
        status: StatusCode,
        target: String,
    },
    /// No answer; `sent` is false only when the connection never opened.
    Failed {
        sent: bool,
        message: String,
    },
}

fn ambiguous(error: ClientError) -> ClientError {
    match error {
        ClientError::Api { endpoint, status, message } => {
            ClientError::Ambiguous { endpoint, message: format!("HTTP {status}: {message}") }
        }
        ClientError::Connect(message) => {
            let endpoint = message.split('`').nth(1).unwrap_or_default().to_owned();
            ClientError::Ambiguous { endpoint, message }
        }
        other => other,
    }
}

/// The words of an error body as the server sent them (`{"errors":[…]}`, `{"Message":…}`, or
/// the body itself); shown only through `http::body_excerpt`, which scrubs them.
fn api_text(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        if let Some(errors) = value.get("errors").and_then(Value::as_array) {
            let texts: Vec<String> = errors
                .iter()
                .map(|error| error.as_str().map_or_else(|| error.to_string(), str::to_owned))
                .collect();
            return texts.join("; ");
        }
        if let Some(message) = value.get("Message").or_else(|| value.get("message")).and_then(Value::as_str) {
            return message.to_owned();
        }
    }
    String::from_utf8_lossy(body).into_owned()
}

/// Whether an error text is Autotask's older way of refusing credentials (a 500 saying the
/// integration code or the user is invalid), as opposed to any other failure.
fn refuses_credentials(message: &str) -> bool {
    let text = message.to_ascii_lowercase();
    let integration_code = (text.contains("integrationcode") || text.contains("integration code"))
        && (text.contains("invalid") || text.contains("not valid"));
    let user = text.contains("user is not valid")
        || text.contains("not an api user")
        || text.contains("invalid user")
        || text.contains("user name or secret")
        || text.contains("username or secret");
    integration_code || user
}

fn credential_headers(credentials: &AutotaskCredentials) -> Result<HeaderMap, ClientError> {
    let mut headers = HeaderMap::new();
    for (name, secret) in [
        ("apiintegrationcode", &credentials.integration_code),
        ("username", &credentials.username),
        ("secret", &credentials.secret),
    ] {
        let mut value = HeaderValue::from_str(secret.expose()).map_err(|_| {
            ClientError::Connect(format!(
                "the value for header `{name}` holds characters a header cannot carry"
            ))
        })?;
        value.set_sensitive(true);
        headers.insert(HeaderName::from_static(name), value);
    }
    Ok(headers)
}

/// The zone root (or a base URL) as `…/V1.0/`; a URL already ending in `v1.0` is kept.
fn api_url(zone_url: &str) -> Result<Url, ClientError> {
    let url = http::directory_url(zone_url).map_err(ClientError::InvalidUrl)?;
    if url.path().to_ascii_lowercase().ends_with("/v1.0/") {
        Ok(url)
    } else {
        url.join("V1.0/").map_err(|error| ClientError::InvalidUrl(error.to_string()))
    }
}

/// The endpoint a path belongs to, as Autotask's thread limit counts it: child routes count as
/// their child entity (`Contracts/991/Services` → `ContractServices`).
fn endpoint_of(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').filter(|segment| !segment.is_empty()).collect();
    match segments.as_slice() {
        [parent, id, child, ..] if parent.eq_ignore_ascii_case("contracts") && id.parse::<i64>().is_ok() => {
            format!("Contract{child}")
        }
        [first, ..] => (*first).to_owned(),
        [] => String::new(),
    }
}

fn item_id(item: &Value) -> i64 {
    item.get("id").and_then(Value::as_i64).unwrap_or(i64::MIN)
}

fn decode_items<T: DeserializeOwned>(
    entity: &str,
    items: Vec<Value>,
    scrubber: &Scrubber,
) -> Result<Vec<T>, ClientError> {
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            serde_json::from_value(item).map_err(|error| {
                let text = format!("`{entity}` item {index}: {error}");
                ClientError::Decode(scrubber.excerpt(&text, http::EXCERPT_CHARS))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn connection(base_url: &str, zone_discovery_url: &str) -> AutotaskConnection {
        AutotaskConnection {
            base_url: base_url.to_owned(),
            zone_user: Some("fred@cspservices.com".to_owned()),
            zone_discovery_url: zone_discovery_url.to_owned(),
            username: crate::spec::SecretRef::Env("U".into()),
            secret: crate::spec::SecretRef::Env("S".into()),
            integration_code: crate::spec::SecretRef::Env("I".into()),
            allow_hosts: vec!["proxy.example.com".to_owned()],
        }
    }

    #[test]
    fn only_allowed_hosts_receive_credentials() {
        let real = connection("", crate::spec::DEFAULT_ZONE_DISCOVERY_URL);
        let mocks = connection("", "http://127.0.0.1:8081/atservicesrest/");
        let pinned_mock = connection("http://localhost:8081/", crate::spec::DEFAULT_ZONE_DISCOVERY_URL);
        for (ok, spec) in [
            ("https://webservices14.autotask.net/ATServicesRest/", &real),
            ("https://AUTOTASK.NET/", &real),
            ("https://proxy.example.com/", &real),
            ("http://127.0.0.1:8081/ATServicesRest/", &mocks),
            ("http://127.0.0.2:9/", &mocks),
            ("http://localhost:8081/", &pinned_mock),
        ] {
            assert!(check_host(&url(ok), spec).is_ok(), "{ok}");
        }
        for (refused, spec) in [
            ("http://webservices14.autotask.net/", &real),
            ("https://autotask.net.evil.com/", &real),
            ("https://evilautotask.net/", &real),
            ("http://proxy.example.com/", &real),
            ("https://example.com/", &real),
            // A zone answer alone never makes loopback or plain http acceptable.
            ("http://127.0.0.1:8081/ATServicesRest/", &real),
            ("https://localhost/", &real),
            ("http://[::1]:1/", &real),
            ("http://0.0.0.0:8081/", &mocks),
        ] {
            let error = check_host(&url(refused), spec).unwrap_err();
            assert_eq!(error.code(), Code::AT02, "{refused}");
            assert!(error.to_string().contains("may not receive"), "{error}");
        }
    }

    #[test]
    fn a_zone_found_over_https_stays_on_https() {
        let https_loopback = connection("", "https://localhost:8443/atservicesrest/");
        assert!(zone_keeps_https(&https_loopback, &url("https://localhost:8443/ATServicesRest/")).is_ok());
        assert!(zone_keeps_https(&https_loopback, &url("http://localhost:8081/ATServicesRest/")).is_err());
        let mocks = connection("", "http://127.0.0.1:8081/atservicesrest/");
        assert!(zone_keeps_https(&mocks, &url("http://127.0.0.1:8081/ATServicesRest/")).is_ok());
    }

    #[test]
    fn older_credential_refusals_are_told_from_other_failures() {
        for refusal in [
            "IntegrationCode is invalid",
            "User is not valid or is not an API user.",
            "The user name or secret is incorrect.",
        ] {
            assert!(refuses_credentials(refusal), "{refusal}");
        }
        for other in [
            "Zone information could not be determined",
            "Itgenatr005: Thread Threshold Exceeded",
            "Value for field unitPrice is invalid",
            "The logged in Resource does not have the adequate permissions",
        ] {
            assert!(!refuses_credentials(other), "{other}");
        }
    }

    #[test]
    fn api_urls_and_endpoints() {
        assert_eq!(
            api_url("https://webservices14.autotask.net/ATServicesRest").unwrap().as_str(),
            "https://webservices14.autotask.net/ATServicesRest/V1.0/"
        );
        assert_eq!(
            api_url("http://127.0.0.1:1/atservicesrest/v1.0").unwrap().as_str(),
            "http://127.0.0.1:1/atservicesrest/v1.0/"
        );
        assert_eq!(endpoint_of("Contracts/991/Services"), "ContractServices");
        assert_eq!(endpoint_of("Contracts/991/ServiceAdjustments"), "ContractServiceAdjustments");
        assert_eq!(endpoint_of("ContractServiceAdjustments"), "ContractServiceAdjustments");
        assert_eq!(endpoint_of("/Companies/query"), "Companies");
    }

    #[test]
    fn api_messages() {
        let api_message =
            |body: &[u8], scrubber: &Scrubber| http::body_excerpt(api_text(body).as_bytes(), scrubber);
        let none = Scrubber::default();
        assert_eq!(api_message(br#"{"errors":["a","b"]}"#, &none), "a; b");
        assert_eq!(api_message(br#"{"Message":"no GET"}"#, &none), "no GET");
        assert_eq!(api_message(b"", &none), "(empty body)");
        assert_eq!(api_message(b"<html> oops </html>", &none), "<html> oops </html>");
        let scrubber = Scrubber::new([&crate::secrets::Secret::new("s3cr\"et value")]);
        assert_eq!(api_message(br#"{"errors":["bad: s3cr\"et value"]}"#, &scrubber), "bad: ***");
        assert_eq!(api_message(br#"{"errors":[{"m":"s3cr\"et value"}]}"#, &scrubber), r#"{"m":"***"}"#);
    }
}
