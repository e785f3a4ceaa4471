//! What the Atria and Autotask clients share: the reqwest client (which follows no redirect),
//! backoff with jitter, `Retry-After`, error texts, loopback detection.

use std::time::Duration;

use reqwest::Url;
use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};

use crate::secrets::Scrubber;

/// The longest `Retry-After` honoured; a server asking for more gets this and a retry.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);
/// The longest backoff between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A reqwest client with rustls, a per-request timeout and a connect timeout. It follows no
/// redirect: every request it sends carries a credential, and a redirect would carry it to a
/// host nobody checked (neither Autotask nor Atria redirects API calls).
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("billsync/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|error| error_text(&error))
}

/// How long to wait before attempt `attempt + 1`: the server's `Retry-After` when it gave one,
/// else exponential from `base` with full jitter in its upper half.
pub(crate) fn backoff(attempt: u32, base: Duration, retry_after: Option<Duration>) -> Duration {
    if let Some(wait) = retry_after {
        // A little jitter so that three waiting requests do not come back at the same instant.
        return wait.min(MAX_RETRY_AFTER) + base.mul_f64(rand::random_range(0.0..0.5));
    }
    let exponential = base.saturating_mul(2u32.saturating_pow(attempt.min(16))).min(MAX_BACKOFF);
    exponential.mul_f64(rand::random_range(0.5..=1.0))
}

/// `Retry-After` in seconds (the HTTP-date form is rare for APIs and is treated as absent).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?;
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
        .map(|seconds| Duration::from_secs_f64(seconds.min(MAX_RETRY_AFTER.as_secs_f64())))
}

/// A reqwest error with its causes ("… : connection refused"), which is what a person needs.
pub(crate) fn error_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The most characters of server text an error quotes.
pub(crate) const EXCERPT_CHARS: usize = 300;

/// A body for an error message: scrubbed of every secret, on one line, cut at 300 characters.
pub(crate) fn body_excerpt(body: &[u8], scrubber: &Scrubber) -> String {
    let excerpt = scrubber.excerpt(&String::from_utf8_lossy(body), EXCERPT_CHARS);
    if excerpt.is_empty() { "(empty body)".to_owned() } else { excerpt }
}

/// Where a redirect points, as `scheme://host:port` (no path or query, which may hold anything),
/// resolved against the URL that was asked for.
pub(crate) fn redirect_target(requested: &Url, headers: &HeaderMap) -> String {
    let location = headers.get(LOCATION).and_then(|value| value.to_str().ok()).unwrap_or_default();
    match requested.join(location.trim()) {
        Ok(target) if !location.trim().is_empty() => match (target.host_str(), target.port()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}", target.scheme()),
            (Some(host), None) => format!("{}://{host}", target.scheme()),
            (None, _) => format!("{}:", target.scheme()),
        },
        _ => "(no usable `Location`)".to_owned(),
    }
}

pub(crate) use crate::spec::is_loopback;

/// Parses a URL and makes sure it ends with `/`, so that `join` appends instead of replacing.
pub(crate) fn directory_url(text: &str) -> Result<Url, String> {
    let trimmed = text.trim();
    let with_slash = if trimmed.ends_with('/') { trimmed.to_owned() } else { format!("{trimmed}/") };
    let url = Url::parse(&with_slash).map_err(|error| format!("`{trimmed}` is not a URL: {error}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!("`{trimmed}` is not an http(s) URL"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_honours_retry_after() {
        let base = Duration::from_millis(100);
        for attempt in 0..5 {
            let full = base * 2u32.pow(attempt);
            let wait = backoff(attempt, base, None);
            assert!(wait >= full / 2 && wait <= full, "{attempt}: {wait:?}");
        }
        assert!(backoff(40, base, None) <= MAX_BACKOFF);
        let wait = backoff(0, base, Some(Duration::from_secs(2)));
        assert!(wait >= Duration::from_secs(2) && wait < Duration::from_millis(2050), "{wait:?}");
    }

    #[test]
    fn retry_after_reads_seconds() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn loopback_and_directory_urls() {
        assert!(is_loopback(&directory_url("http://127.0.0.1:8081/x").unwrap()));
        assert!(is_loopback(&directory_url("http://[::1]:1").unwrap()));
        assert!(!is_loopback(&directory_url("https://webservices14.autotask.net").unwrap()));
        assert_eq!(directory_url("http://h/a").unwrap().join("b").unwrap().as_str(), "http://h/a/b");
        assert!(directory_url("ftp://h/").is_err());
        assert!(directory_url("not a url").is_err());
    }
}
