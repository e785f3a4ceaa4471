//! The Atria billing API client (bearer token): period resolution, customers and the billing
//! summary, paged, mapped to the `billsync.atria/v1` snapshot.
//!
//! Every call is a read, so every transient failure (429, 5xx, timeouts, dropped connections)
//! is retried with jittered backoff, honouring `Retry-After`. The token goes only to https hosts
//! or loopback, in a header marked sensitive, never through a redirect (an AT03 error naming its
//! target), and never into an error in any form (server text goes through a [`Scrubber`]).

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDate;
use futures::{StreamExt, TryStreamExt};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

use crate::autotask::ClientOptions;
use crate::codes::Code;
use crate::http;
use crate::secrets::{Scrubber, Secret};
use crate::snapshot::{
    ATRIA_FORMAT, AtriaCustomer, AtriaSnapshot, BillingPeriod, BillingRow, CustomerStatus, PeriodStatus,
};
use crate::spec::{AtriaConnection, PeriodSelector};

/// Atria's largest page.
pub const PAGE_SIZE: u32 = 1000;

#[derive(Debug, Error)]
pub enum AtriaError {
    #[error(
        "AT03 Failed to connect to Atria: Error reported was: `{host}` may not receive the Atria token; only https hosts and loopback may"
    )]
    Refused { host: String },
    #[error(
        "AT03 Failed to connect to Atria: Error reported was: `atria.baseUrl` names `{host}`, a placeholder host reserved for examples; set your Atria host"
    )]
    Placeholder { host: String },
    #[error("AT03 Failed to connect to Atria: Error reported was: {0}")]
    InvalidUrl(String),
    #[error(
        "AT03 Failed to connect to Atria: Error reported was: the token was refused (HTTP {status}: {message}); check `atria.token` (a token of a user with the Service Provider Developer permission)"
    )]
    Auth { status: u16, message: String },
    #[error("AT03 Failed to connect to Atria: Error reported was: {0}")]
    Connect(String),
    #[error(
        "AT03 Failed to connect to Atria: Error reported was: `{path}` answered with a redirect (HTTP {status}) to `{target}`; billsync follows no redirect, so that the token goes only to the host named: point `atria.baseUrl` at the final address"
    )]
    Redirect { path: String, status: u16, target: String },
    #[error("AT03 Failed to connect to Atria: Error reported was: HTTP {status} from `{path}`: {message}")]
    Api { path: String, status: u16, message: String },
    #[error("AT23 Failed to Deserialize object: Error reported was: {0}")]
    Decode(String),
}

impl AtriaError {
    pub fn code(&self) -> Code {
        match self {
            AtriaError::Decode(_) => Code::AT23,
            _ => Code::AT03,
        }
    }
}

/// A client of one Atria host.
pub struct AtriaClient {
    http: reqwest::Client,
    /// `https://{atriahost}/`, with the trailing slash.
    base_url: Url,
    authorization: HeaderValue,
    /// Takes the token out of any text that reaches an error.
    scrubber: Scrubber,
    options: ClientOptions,
    requests: AtomicU64,
}

impl std::fmt::Debug for AtriaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtriaClient")
            .field("base_url", &self.base_url.as_str())
            .field("requests", &self.request_count())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PeriodView {
    start_date: NaiveDate,
    end_date: NaiveDate,
    status: PeriodStatus,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CustomerView {
    short_name: String,
    name: String,
    #[serde(default)]
    billing_identifier: Option<String>,
    enabled: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SummaryRowView {
    customer_code: Option<String>,
    product_sku: Option<String>,
    billable: bool,
    summary_grouping: String,
    last_month_count: u64,
    this_month_count: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page<T> {
    items: Vec<T>,
    total_count: u64,
}

impl AtriaClient {
    /// Checks the host and prepares the client; sends nothing.
    pub fn connect(
        connection: &AtriaConnection,
        token: Secret,
        options: ClientOptions,
    ) -> Result<AtriaClient, AtriaError> {
        let base_url = http::directory_url(&connection.base_url).map_err(AtriaError::InvalidUrl)?;
        if base_url.scheme() != "https" && !http::is_loopback(&base_url) {
            return Err(AtriaError::Refused {
                host: format!("{}://{}", base_url.scheme(), base_url.host_str().unwrap_or_default()),
            });
        }
        // `spec import` writes the placeholder; the token must not go there.
        if let Some(host) = base_url.host_str().filter(|host| crate::spec::is_placeholder_host(host)) {
            return Err(AtriaError::Placeholder { host: host.to_owned() });
        }
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                AtriaError::Connect("`atria.token` holds characters a header cannot carry".into())
            })?;
        authorization.set_sensitive(true);
        Ok(AtriaClient {
            http: http::client(options.timeout).map_err(AtriaError::Connect)?,
            base_url,
            authorization,
            scrubber: Scrubber::new([&token]),
            options,
            requests: AtomicU64::new(0),
        })
    }

    /// Requests sent so far (every attempt counts).
    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The period a selector names: `current`, `previous`, or the one containing a date.
    pub async fn period(&self, selector: PeriodSelector) -> Result<BillingPeriod, AtriaError> {
        let (path, query) = match selector {
            PeriodSelector::Current => ("api/v2/billingperiods/current", vec![]),
            PeriodSelector::Previous => ("api/v2/billingperiods/previous", vec![]),
            PeriodSelector::Containing(date) => {
                ("api/v2/billingperiods/resolve", vec![("at", date.to_string())])
            }
        };
        let period: PeriodView = self.get(path, &query).await.map_err(|error| match error {
            AtriaError::Api { status: 404, message, .. } => {
                AtriaError::Connect(format!("Atria has no {selector} billing period: {message}"))
            }
            other => other,
        })?;
        Ok(BillingPeriod { start_date: period.start_date, end_date: period.end_date, status: period.status })
    }

    /// Every customer of the period that ends on `period_end` (`enabled: false` → deprovisioned).
    pub async fn customers(&self, period_end: NaiveDate) -> Result<Vec<AtriaCustomer>, AtriaError> {
        let views: Vec<CustomerView> =
            self.all_pages("api/v2/customers", vec![("period".to_owned(), period_end.to_string())]).await?;
        Ok(views
            .into_iter()
            .map(|view| AtriaCustomer {
                short_name: view.short_name.into(),
                name: view.name.into(),
                billing_identifier: view.billing_identifier,
                status: if view.enabled { CustomerStatus::Active } else { CustomerStatus::Deprovisioned },
            })
            .collect())
    }

    /// Every summary row (billable and not) of the period that ends on `period_end`, one per
    /// customer and product.
    pub async fn billing(&self, period_end: NaiveDate) -> Result<Vec<BillingRow>, AtriaError> {
        let views: Vec<SummaryRowView> = self
            .all_pages(
                &format!("api/billing/{period_end}"),
                vec![("aggregateByCustomer".to_owned(), "true".to_owned())],
            )
            .await?;
        views
            .into_iter()
            .enumerate()
            .map(|(index, view)| {
                let count = |name: &str, value: u64| {
                    u32::try_from(value).map_err(|_| {
                        AtriaError::Decode(format!(
                            "billing row {index}: `{name}` {value} is larger than Autotask units allow"
                        ))
                    })
                };
                Ok(BillingRow {
                    customer_code: view
                        .customer_code
                        .ok_or_else(|| {
                            AtriaError::Decode(format!("billing row {index}: `customerCode` is null"))
                        })?
                        .into(),
                    product_sku: view.product_sku.map(Into::into),
                    summary_grouping: view.summary_grouping.into(),
                    billable: view.billable,
                    last_month_count: count("lastMonthCount", view.last_month_count)?,
                    this_month_count: count("thisMonthCount", view.this_month_count)?,
                })
            })
            .collect()
    }

    /// The whole snapshot: the period, then its customers and billing rows side by side.
    pub async fn snapshot(&self, selector: PeriodSelector) -> Result<AtriaSnapshot, AtriaError> {
        let period = self.period(selector).await?;
        let (customers, billing) =
            tokio::try_join!(self.customers(period.end_date), self.billing(period.end_date))?;
        Ok(AtriaSnapshot { format: ATRIA_FORMAT.to_owned(), period, customers, billing })
    }

    /// Page 1, then the rest (three at a time), in order.
    async fn all_pages<T: DeserializeOwned>(
        &self,
        path: &str,
        query: Vec<(String, String)>,
    ) -> Result<Vec<T>, AtriaError> {
        let page_query = |page: u64| {
            let mut query = query.clone();
            query.push(("page".to_owned(), page.to_string()));
            query.push(("pageSize".to_owned(), PAGE_SIZE.to_string()));
            query
        };
        let first: Page<T> = self.get(path, &page_query(1)).await?;
        let pages = first.total_count.div_ceil(u64::from(PAGE_SIZE));
        let mut items = first.items;
        let rest: Vec<Page<T>> = futures::stream::iter(2..=pages)
            .map(|page| {
                let query = page_query(page);
                async move { self.get::<Page<T>>(path, &query).await }
            })
            .buffered(3)
            .try_collect()
            .await?;
        items.extend(rest.into_iter().flat_map(|page| page.items));
        Ok(items)
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(impl AsRef<str>, String)],
    ) -> Result<T, AtriaError> {
        let mut url = self.base_url.join(path).map_err(|error| AtriaError::InvalidUrl(error.to_string()))?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query {
                pairs.append_pair(name.as_ref(), value);
            }
        }
        let mut attempt = 0;
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let request = self.http.get(url.clone()).header(AUTHORIZATION, self.authorization.clone());
            let (retry_after, error) = match request.send().await {
                Ok(response) if response.status().is_redirection() => {
                    let target = http::redirect_target(&url, response.headers());
                    return Err(AtriaError::Redirect {
                        path: path.to_owned(),
                        status: response.status().as_u16(),
                        target: self.redact(target),
                    });
                }
                Ok(response) => {
                    let status = response.status();
                    let retry_after = http::retry_after(response.headers());
                    match response.bytes().await {
                        Ok(body) if status.is_success() => {
                            return serde_json::from_slice(&body).map_err(|error| {
                                AtriaError::Decode(self.redact(format!("`{path}`: {error}")))
                            });
                        }
                        Ok(body) => {
                            let message = error_message(&body, &self.scrubber);
                            if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                                return Err(AtriaError::Auth { status: status.as_u16(), message });
                            }
                            let error =
                                AtriaError::Api { path: path.to_owned(), status: status.as_u16(), message };
                            if status != StatusCode::TOO_MANY_REQUESTS && !status.is_server_error() {
                                return Err(error);
                            }
                            (retry_after, error)
                        }
                        Err(error) => (
                            None,
                            AtriaError::Connect(
                                self.redact(format!("`{path}`: {}", http::error_text(&error))),
                            ),
                        ),
                    }
                }
                Err(error) => (
                    None,
                    AtriaError::Connect(self.redact(format!("`{path}`: {}", http::error_text(&error)))),
                ),
            };
            if attempt >= self.options.max_retries {
                return Err(error);
            }
            tokio::time::sleep(http::backoff(attempt, self.options.retry_base_delay, retry_after)).await;
            attempt += 1;
        }
    }

    /// Library text (a reqwest error holds the URL) for an error message.
    fn redact(&self, text: String) -> String {
        self.scrubber.excerpt(&text, http::EXCERPT_CHARS)
    }
}

/// `{error, message}` as `message (error)`, or the body itself; scrubbed, one line, cut short.
fn error_message(body: &[u8], scrubber: &Scrubber) -> String {
    #[derive(Deserialize)]
    struct ErrorBody {
        error: String,
        message: String,
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(body) => http::body_excerpt(format!("{} (`{}`)", body.message, body.error).as_bytes(), scrubber),
        Err(_) => http::body_excerpt(body, scrubber),
    }
}
