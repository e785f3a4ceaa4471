//! Notifications: a JSON message with a plain-text/Markdown `text` (the field Slack and Teams
//! incoming webhooks both read) posted when a plan is ready, applied, refused or failed.
//!
//! A notification never blocks or fails a run: it is sent on a thread of its own, retried with
//! backoff within a time limit, and a failure is one warning on stderr. The webhook URL is a
//! secret (it is the credential): it is never printed, logged or written, and errors are
//! stripped of it.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::secrets::Secret;
use crate::spec::{NotifySpec, SecretRef};

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A plan with changes waits for review.
    Ready,
    Applied,
    /// Some lines moved since the plan was made (AT29).
    Refused,
    Failed,
}

impl Event {
    pub fn title(self) -> &'static str {
        match self {
            Event::Ready => "plan ready for review",
            Event::Applied => "plan applied",
            Event::Refused => "plan applied in part: lines refused",
            Event::Failed => "run failed",
        }
    }
}

/// How long sending may take in all, retries included, and how often it is tried.
#[derive(Clone, Copy, Debug)]
pub struct NotifyLimits {
    pub total: Duration,
    pub attempt_timeout: Duration,
    pub attempts: u32,
    pub first_backoff: Duration,
}

impl Default for NotifyLimits {
    fn default() -> Self {
        NotifyLimits {
            total: Duration::from_secs(15),
            attempt_timeout: Duration::from_secs(5),
            attempts: 4,
            first_backoff: Duration::from_millis(250),
        }
    }
}

/// A resolved webhook.
pub struct Notifier {
    url: Secret,
    limits: NotifyLimits,
}

/// A notification on its way; [`Pending::finish`] waits for it, at most until its time limit.
#[must_use = "a pending notification is lost unless finished"]
pub struct Pending {
    outcome: mpsc::Receiver<Result<(), String>>,
    deadline: Instant,
}

impl Notifier {
    /// The spec's webhook, if any. A URL that cannot be resolved or is not https (loopback may
    /// be http, for tests) gives a warning naming the reference, never the value: the run goes on
    /// without notifications.
    pub fn from_spec(spec: Option<&NotifySpec>) -> Option<Notifier> {
        let reference = &spec?.webhook.url;
        match Notifier::resolve(reference) {
            Ok(url) => Some(Notifier { url, limits: NotifyLimits::default() }),
            Err(message) => {
                eprint_line!(
                    "billsync: warning: notify.webhook.url ({reference}): {message}; no notification will be sent"
                );
                None
            }
        }
    }

    fn resolve(reference: &SecretRef) -> Result<Secret, String> {
        let url = crate::secrets::resolve("notify.webhook.url", reference).map_err(|error| match error {
            crate::secrets::SecretError::MissingEnv { .. } => "not set or empty".to_owned(),
            crate::secrets::SecretError::EmptyFile { .. } => "the file is empty".to_owned(),
            crate::secrets::SecretError::UnreadableFile { reason, .. } => {
                format!("cannot read the file: {reason}")
            }
        })?;
        let parsed = reqwest::Url::parse(url.expose().trim()).map_err(|_| "not a URL".to_owned())?;
        let host = parsed.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host.parse::<std::net::IpAddr>().is_ok_and(|address| address.is_loopback());
        if parsed.scheme() == "https" || (parsed.scheme() == "http" && loopback) {
            Ok(Secret::new(url.expose().trim()))
        } else {
            Err("not an https URL".to_owned())
        }
    }

    /// A notifier for `url` with these limits (tests use short ones).
    pub fn new(url: Secret, limits: NotifyLimits) -> Notifier {
        Notifier { url, limits }
    }

    /// Starts sending `{"text": "billsync: <title> — <text>"}`; returns at once.
    pub fn send(&self, event: Event, text: &str) -> Pending {
        let body = serde_json::json!({ "text": format!("**billsync: {}**\n\n{text}", event.title()) });
        let url = self.url.expose().to_owned();
        let limits = self.limits;
        let (sender, outcome) = mpsc::channel();
        let deadline = Instant::now() + limits.total;
        std::thread::spawn(move || {
            let result = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime.block_on(post_with_retries(&url, &body, limits, deadline)),
                Err(error) => Err(format!("cannot start the async runtime: {error}")),
            };
            let _ = sender.send(result);
        });
        Pending { outcome, deadline }
    }
}

impl Pending {
    /// Waits for the notification until its time limit; a failure is a warning, never an error.
    pub fn finish(self) {
        let wait = self.deadline.saturating_duration_since(Instant::now()) + Duration::from_millis(200);
        match self.outcome.recv_timeout(wait) {
            Ok(Ok(())) => {}
            Ok(Err(message)) => eprint_line!("billsync: warning: notification not sent: {message}"),
            Err(_) => {
                eprint_line!("billsync: warning: notification not sent: no answer within its time limit")
            }
        }
    }
}

/// Finishes every pending notification.
pub fn finish_all(pending: impl IntoIterator<Item = Pending>) {
    pending.into_iter().for_each(Pending::finish);
}

async fn post_with_retries(
    url: &str,
    body: &serde_json::Value,
    limits: NotifyLimits,
    deadline: Instant,
) -> Result<(), String> {
    // No redirects: the URL is the credential, and a webhook answers where it is.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(limits.attempt_timeout)
        .build()
        .map_err(|error| format!("cannot build the HTTP client: {}", error.without_url()))?;
    let mut backoff = limits.first_backoff;
    let mut last = String::from("not tried");
    for attempt in 1..=limits.attempts {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("{last}; gave up at the time limit after {} attempts", attempt - 1));
        }
        let request = client.post(url).json(body).timeout(limits.attempt_timeout.min(left)).send();
        match request.await {
            Ok(response) if response.status().is_success() => return Ok(()),
            // A client error other than throttling will not change on a retry.
            Ok(response)
                if response.status().is_client_error()
                    && response.status() != reqwest::StatusCode::TOO_MANY_REQUESTS =>
            {
                return Err(format!("the webhook answered {}", response.status()));
            }
            Ok(response) => last = format!("the webhook answered {}", response.status()),
            Err(error) => last = format!("{}", error.without_url()),
        }
        if attempt < limits.attempts {
            let jitter = Duration::from_millis(rand::random_range(0..=backoff.as_millis() as u64 / 2));
            let pause = (backoff + jitter).min(deadline.saturating_duration_since(Instant::now()));
            tokio::time::sleep(pause).await;
            backoff *= 2;
        }
    }
    Err(format!("{last} (after {} attempts)", limits.attempts))
}

/// "Plan ready": the plan's counts and where to review and approve it.
pub fn ready_text(plan: &crate::plan::Plan, folder: &std::path::Path) -> String {
    let summary = &plan.summary;
    format!(
        "{label}, period {start} to {end}: {update} update, {create} create, {zero} zero.\n\nReview `{folder}/plan.md` (or `plan.html`), then apply with `billsync approve {folder} --spec SPEC`.",
        label = plan.job.label,
        start = plan.period.start_date,
        end = plan.period.end_date,
        update = summary.update,
        create = summary.create,
        zero = summary.zero,
        folder = folder.display(),
    )
}

/// "Applied", "refused" or "failed": apply's counts and who approved it.
pub fn applied_text(
    plan: &crate::plan::Plan,
    counts: &crate::history::ApplyCounts,
    approved_by: &str,
    plan_path: &std::path::Path,
) -> String {
    let left_out =
        if counts.left_out > 0 { format!(", {} left out (pending)", counts.left_out) } else { String::new() };
    format!(
        "{label}, period {start} to {end}: {applied} applied, {done} already done, {refused} refused (line changed since the plan), {failed} failed{left_out}. Approved by {approved_by}.\n\nPlan: `{plan}`",
        label = plan.job.label,
        start = plan.period.start_date,
        end = plan.period.end_date,
        applied = counts.applied,
        done = counts.already_done,
        refused = counts.refused,
        failed = counts.failed,
        plan = plan_path.display(),
    )
}

/// The event apply's counts stand for.
pub fn event_of(counts: &crate::history::ApplyCounts) -> Event {
    if counts.failed > 0 {
        Event::Failed
    } else if counts.refused > 0 {
        Event::Refused
    } else {
        Event::Applied
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// An in-process receiver on 127.0.0.1:0 that fails the first `failures` posts with 503.
    fn receiver(failures: usize) -> (String, Arc<Mutex<Vec<serde_json::Value>>>, tokio::runtime::Runtime) {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("rt");
        let received = Arc::new(Mutex::new(Vec::new()));
        let calls = Arc::new(Mutex::new(0usize));
        let (store, count) = (received.clone(), calls.clone());
        let app = axum::Router::new().route(
            "/hook/{token}",
            axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
                let (store, count) = (store.clone(), count.clone());
                async move {
                    let mut calls = count.lock().expect("lock");
                    *calls += 1;
                    if *calls <= failures {
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                    }
                    store.lock().expect("lock").push(body);
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let address = listener.local_addr().expect("address");
        runtime.spawn(async move { axum::serve(listener, app).await });
        (format!("http://{address}/hook/s3cr3t-token"), received, runtime)
    }

    fn fast() -> NotifyLimits {
        NotifyLimits {
            total: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(2),
            attempts: 4,
            first_backoff: Duration::from_millis(20),
        }
    }

    #[test]
    fn a_message_with_a_text_field_arrives_after_retries() {
        let (url, received, _runtime) = receiver(2);
        let notifier = Notifier::new(Secret::new(url), fast());
        notifier.send(Event::Ready, "3 changes in `runs/x`").finish();
        let received = received.lock().expect("lock");
        assert_eq!(received.len(), 1);
        assert_eq!(received[0]["text"], "**billsync: plan ready for review**\n\n3 changes in `runs/x`");
    }

    #[test]
    fn a_dead_webhook_costs_at_most_the_time_limit_and_never_names_the_url() {
        // A port nobody listens on: every attempt is refused.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hook/s3cr3t-token", listener.local_addr().expect("address"));
        drop(listener);
        let limits = NotifyLimits { total: Duration::from_millis(800), ..fast() };
        let (sender, outcome) = mpsc::channel();
        let started = Instant::now();
        let deadline = started + limits.total;
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
            let _ = sender.send(runtime.block_on(post_with_retries(
                &url,
                &serde_json::json!({"text": "x"}),
                limits,
                deadline,
            )));
        });
        let message = outcome.recv().expect("an outcome").expect_err("nobody listens");
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        assert!(!message.contains("s3cr3t") && !message.contains("/hook"), "{message}");
    }

    #[test]
    fn the_event_follows_apply_and_the_text_says_what_was_left_out() {
        use crate::history::ApplyCounts;
        let done = ApplyCounts { applied: 3, ..ApplyCounts::default() };
        assert_eq!(event_of(&done), Event::Applied);
        assert_eq!(event_of(&ApplyCounts { refused: 1, ..done }), Event::Refused);
        assert_eq!(event_of(&ApplyCounts { refused: 1, failed: 1, ..done }), Event::Failed);
        let fixture = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/seed-example"));
        let spec = crate::spec::load(&fixture.join("job.yaml")).expect("spec");
        let atria = crate::snapshot::load_atria(&fixture.join("atria.json")).expect("atria");
        let autotask = crate::snapshot::load_autotask(&fixture.join("autotask.json")).expect("autotask");
        let as_of = "2026-11-24T22:00:00Z".parse().expect("time");
        let plan = crate::compile::compile(crate::compile::CompileInput {
            spec: &spec,
            atria: &atria,
            autotask: &autotask,
            as_of,
        })
        .expect("a plan");
        assert!(ready_text(&plan, std::path::Path::new("runs/r1")).contains("2 update, 1 create, 1 zero"));
        let text =
            applied_text(&plan, &ApplyCounts { left_out: 2, ..done }, "erin", std::path::Path::new("p.json"));
        assert!(
            text.contains("3 applied, 0 already done, 0 refused") && text.contains("2 left out (pending)"),
            "{text}"
        );
        assert!(text.contains("Approved by erin") && text.contains("`p.json`"), "{text}");
    }

    #[test]
    fn only_https_or_loopback_urls_are_used() {
        let check = |url: &str| {
            // A file reference keeps the test off the process environment.
            let dir = tempfile::tempdir().expect("dir");
            let path = dir.path().join("url");
            std::fs::write(&path, url).expect("write");
            Notifier::resolve(&SecretRef::File(path))
        };
        assert!(check("https://hooks.slack.com/services/T/B/x").is_ok());
        assert!(check("http://127.0.0.1:9/hook").is_ok());
        assert_eq!(check("http://hooks.example.com/x").err().as_deref(), Some("not an https URL"));
        assert_eq!(check("not a url").err().as_deref(), Some("not a URL"));
        assert_eq!(check("  ").err().as_deref(), Some("the file is empty"));
    }
}
