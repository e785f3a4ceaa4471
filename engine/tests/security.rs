//! Security of the online edge and of terminal output, from the outside: in-process servers on
//! 127.0.0.1:0 that redirect or echo every header back, canary secrets in every encoded form,
//! Autotask's older 500 answer to bad credentials, names full of control characters, and the
//! refusals of `spec validate`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse as _;
use common::{AS_OF, fixtures, plan_args, stderr, stdout};
use serde_json::{Value, json};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

/// Serves `router` on 127.0.0.1:0 on `runtime`; its base URL.
fn serve(runtime: &tokio::runtime::Runtime, router: Router) -> String {
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("a loopback port");
    let address = listener.local_addr().expect("address");
    runtime.spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

/// One request a test server received: its path and its headers (name, value).
type Request = (String, Vec<(String, String)>);

/// Every request a test server received.
#[derive(Clone, Default)]
struct Recorded(Arc<Mutex<Vec<Request>>>);

impl Recorded {
    fn record(&self, path: &str, headers: &HeaderMap) {
        let headers = headers
            .iter()
            .map(|(name, value)| (name.to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        self.0.lock().expect("lock").push((path.to_owned(), headers));
    }

    fn requests(&self) -> Vec<Request> {
        self.0.lock().expect("lock").clone()
    }
}

/// Both mocks on the seed example, for the half of a world that behaves.
struct Mocks {
    autotask: mock_autotask::RunningMock,
    atria: mock_atria::RunningMock,
}

fn mocks(
    runtime: &tokio::runtime::Runtime,
    fixture: &Path,
    auth_failure: mock_autotask::AuthFailureMode,
) -> Mocks {
    runtime.block_on(async {
        let mut config = mock_autotask::MockConfig::from_fixture(fixture).expect("autotask fixture");
        config.limits.latency_past_half = Duration::ZERO;
        config.limits.latency_past_three_quarters = Duration::ZERO;
        config.auth_failure = auth_failure;
        let autotask = mock_autotask::spawn(config).await.expect("mock-autotask");
        let atria = mock_atria::spawn(mock_atria::MockConfig::from_fixture(fixture).expect("atria fixture"))
            .await
            .expect("mock-atria");
        Mocks { autotask, atria }
    })
}

/// The seed example's job with these connection settings (`autotask` lines indented by two).
fn write_spec(folder: &Path, atria_base_url: &str, autotask: &str) -> PathBuf {
    let spec = std::fs::read_to_string(fixtures().join("seed-example/job.yaml")).expect("fixture spec");
    let job: String = spec.split("atria:\n").next().expect("the job part").to_owned();
    let text = format!(
        "{job}atria:\n  baseUrl: \"{atria_base_url}\"\n  token: {{ env: ATRIA_TOKEN }}\nautotask:\n{autotask}  username: {{ env: AUTOTASK_USERNAME }}\n  secret: {{ env: AUTOTASK_SECRET }}\n  integrationCode: {{ env: AUTOTASK_INTEGRATION_CODE }}\n"
    );
    let path = folder.join("job.yaml");
    std::fs::write(&path, text).expect("write spec");
    path
}

struct Credentials {
    username: String,
    secret: String,
    integration_code: String,
    atria_token: String,
}

impl Credentials {
    fn mocks() -> Credentials {
        let defaults = mock_autotask::Credentials::default();
        Credentials {
            username: defaults.username,
            secret: defaults.secret,
            integration_code: defaults.integration_code,
            atria_token: "mock-atria-token".to_owned(),
        }
    }

    fn all(&self) -> [&str; 4] {
        [&self.username, &self.secret, &self.integration_code, &self.atria_token]
    }
}

/// The binary with these credentials in its environment and nothing else of ours.
fn billsync(args: &[String], credentials: &Credentials) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_billsync"))
        .args(args)
        .env("AUTOTASK_USERNAME", &credentials.username)
        .env("AUTOTASK_SECRET", &credentials.secret)
        .env("AUTOTASK_INTEGRATION_CODE", &credentials.integration_code)
        .env("ATRIA_TOKEN", &credentials.atria_token)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("billsync runs")
}

fn args(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|part| (*part).to_owned()).collect()
}

fn arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// `billsync plan` offline on the seed example's snapshots with `spec`, written to `out`.
fn offline_plan(spec: &Path, out: &Path) {
    let fixture = fixtures().join("seed-example");
    let mut plan = plan_args(spec, &fixture.join("atria.json"), &fixture.join("autotask.json"), AS_OF);
    plan.extend(["--out".to_owned(), arg(out)]);
    let output = billsync(&plan, &Credentials::mocks());
    assert!(output.status.success(), "{}", stderr(&output));
}

// ---------------------------------------------------------------------------------------------
// Redirects

#[test]
fn a_redirect_to_another_origin_gets_no_credential_and_is_an_error_naming_it() {
    let runtime = runtime();
    let fixture = fixtures().join("seed-example");
    let mocks = mocks(&runtime, &fixture, mock_autotask::AuthFailureMode::Empty401);
    // The other origin answers like Autotask and Atria would, so following the redirect would
    // have worked; it records every header it is sent.
    let recorded = Recorded::default();
    let recorder = {
        let recorded = recorded.clone();
        serve(
            &runtime,
            Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap| {
                let recorded = recorded.clone();
                async move {
                    recorded.record(uri.path(), &headers);
                    axum::Json(json!({ "items": [], "pageDetails": { "nextPageUrl": null }, "url": "x" }))
                }
            }),
        )
    };
    let redirector = {
        let recorder = recorder.clone();
        serve(
            &runtime,
            Router::new().fallback(move |uri: axum::http::Uri| {
                let target = format!("{recorder}{}", uri.path());
                async move { (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, target)]) }
            }),
        )
    };
    let recorder_origin = recorder.trim_start_matches("http://").to_owned();
    let work = tempfile::tempdir().expect("temp dir");
    let credentials = Credentials::mocks();

    // Autotask: the base URL redirects every API call (fetch, then apply), then zone discovery.
    let spec = write_spec(
        work.path(),
        &mocks.atria.base_url(),
        &format!("  baseUrl: \"{redirector}/ATServicesRest/\"\n"),
    );
    let fetched = billsync(
        &args(&["fetch", "--spec", &arg(&spec), "--out", &arg(&work.path().join("out"))]),
        &credentials,
    );
    offline_plan(&spec, &work.path().join("plan.json"));
    let applied = billsync(
        &args(&["apply", &arg(&work.path().join("plan.json")), "--spec", &arg(&spec)]),
        &credentials,
    );
    let discovery = write_spec(
        work.path(),
        &mocks.atria.base_url(),
        &format!("  zoneUser: fred@cspservices.com\n  zoneDiscoveryUrl: \"{redirector}/atservicesrest/\"\n"),
    );
    let discovered = billsync(
        &args(&["fetch", "--spec", &arg(&discovery), "--out", &arg(&work.path().join("out"))]),
        &credentials,
    );
    for output in [&fetched, &applied, &discovered] {
        let text = stderr(output);
        assert_eq!(output.status.code(), Some(1), "{text}");
        assert!(text.contains("AT02") && text.contains("answered with a redirect (HTTP 307)"), "{text}");
        assert!(
            text.contains(&format!("to `http://{recorder_origin}`")),
            "the error names the target: {text}"
        );
    }
    assert!(!work.path().join("out").exists(), "nothing written");

    // Atria: the token does not follow a redirect either.
    let spec = write_spec(
        work.path(),
        &redirector,
        &format!("  baseUrl: \"{}/ATServicesRest/\"\n", mocks.autotask.base_url()),
    );
    let atria = billsync(
        &args(&["fetch", "--spec", &arg(&spec), "--out", &arg(&work.path().join("out"))]),
        &credentials,
    );
    let text = stderr(&atria);
    assert_eq!(atria.status.code(), Some(1), "{text}");
    assert!(text.contains("AT03") && text.contains("answered with a redirect (HTTP 307)"), "{text}");
    assert!(text.contains(&format!("to `http://{recorder_origin}`")), "{text}");

    // The other origin never saw a request, let alone a credential header.
    let requests = recorded.requests();
    for (path, headers) in &requests {
        for (name, value) in headers {
            assert!(
                !credentials.all().iter().any(|secret| value.contains(secret)),
                "{path} received `{name}` with a credential"
            );
        }
    }
    assert!(requests.is_empty(), "the redirect target was contacted: {requests:?}");
    assert_eq!(mocks.autotask.state().stats().total, 0, "the redirect came before Autotask was reached");
}

// ---------------------------------------------------------------------------------------------
// Secrets in every form

/// Canaries with a quote, a backslash, a slash, runs of spaces and more than 40 characters.
fn canaries() -> Credentials {
    Credentials {
        username: r#"user "Qv7" \wombat/   run   of   spaces-4c1e9b0a7d2f6e3a@x.io"#.to_owned(),
        secret: r#"secret "Kx2" back\slash/   three   spaces-8f2c1d9e7b6a5f4e3d"#.to_owned(),
        integration_code: r#"CODE "Lm5" \jelly/fish    tabs and spaces-0b9a8c7d6e5f4a3b2c"#.to_owned(),
        atria_token: r#"token "Np8" \quokka/   bearer   value-5e0b91d4c3a2f817e6d5"#.to_owned(),
    }
}

/// The forms a server may echo a value in.
fn encodings(value: &str) -> Vec<String> {
    let collapsed = value.split_whitespace().collect::<Vec<_>>().join(" ");
    let json = serde_json::to_string(value).expect("json");
    let json = json[1..json.len() - 1].to_owned();
    let url: String = value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect();
    vec![value.to_owned(), collapsed, json, url]
}

/// Every 8-character piece of a value and of its whitespace-collapsed form, and every form.
fn forbidden(credentials: &Credentials) -> Vec<String> {
    let mut needles = Vec::new();
    for secret in credentials.all() {
        for form in encodings(secret) {
            let chars: Vec<char> = form.chars().collect();
            needles.extend(chars.windows(8).map(|window| window.iter().collect::<String>()));
            needles.push(form);
        }
    }
    needles.sort();
    needles.dedup();
    needles
}

/// An error body that echoes every header it got: raw, JSON-escaped, whitespace-collapsed and
/// URL-encoded, as text, with the echo placed where a 300-character excerpt would cut it.
fn text_echo(headers: &HeaderMap) -> String {
    let mut body = String::from("echo-marker: the request was refused. ");
    // The first credential starts at character 286 once collapsed: the cut falls inside it.
    body.push_str(&"padding ".repeat(30));
    let credentials = ["secret", "authorization", "username", "apiintegrationcode"];
    let mut names: Vec<&str> =
        credentials.iter().copied().filter(|name| headers.contains_key(*name)).collect();
    names.extend(headers.keys().map(|name| name.as_str()).filter(|name| !credentials.contains(name)));
    for name in names {
        let value = String::from_utf8_lossy(headers[name].as_bytes());
        for form in encodings(&value) {
            body.push_str(&format!("{name}:   {form}\n\n"));
        }
    }
    body
}

/// The same echo as Autotask's JSON error shape: strings (unescaped when parsed) and objects.
fn json_echo(headers: &HeaderMap) -> Value {
    let mut errors = vec![json!("echo-marker: refused")];
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        errors.push(json!(format!("{name}: {value}")));
        errors.push(json!({ name.as_str(): value }));
    }
    json!({ "errors": errors })
}

/// Every file under `folder`, as text.
fn texts_under(folder: &Path) -> Vec<(PathBuf, String)> {
    let mut texts = Vec::new();
    for entry in std::fs::read_dir(folder).expect("folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            texts.extend(texts_under(&path));
        } else {
            texts.push((
                path.clone(),
                String::from_utf8_lossy(&std::fs::read(&path).expect("read")).into_owned(),
            ));
        }
    }
    texts
}

#[test]
fn canary_secrets_echoed_in_any_form_reach_no_output_and_no_file() {
    let runtime = runtime();
    let fixture = fixtures().join("seed-example");
    let mut mocks = mocks(&runtime, &fixture, mock_autotask::AuthFailureMode::Empty401);
    let credentials = canaries();
    // mock-atria takes the canary token, so that the Autotask half is reached.
    runtime.block_on(async {
        let mut config = mock_atria::MockConfig::from_fixture(&fixture).expect("atria fixture");
        config.tokens.push(mock_atria::ApiToken::developer(credentials.atria_token.clone()));
        mocks.atria = mock_atria::spawn(config).await.expect("mock-atria");
    });
    let text_echoes = serve(
        &runtime,
        Router::new()
            .fallback(|headers: HeaderMap| async move { (StatusCode::BAD_REQUEST, text_echo(&headers)) }),
    );
    let json_echoes = serve(
        &runtime,
        Router::new().fallback(|headers: HeaderMap| async move {
            (StatusCode::BAD_REQUEST, axum::Json(json_echo(&headers)))
        }),
    );
    // A 200 whose fields hold the secret where numbers and lists belong: serde quotes them.
    let decode_echoes = serve(
        &runtime,
        Router::new().fallback(|headers: HeaderMap| async move {
            let value = format!("echo-marker {}", String::from_utf8_lossy(headers["secret"].as_bytes()));
            axum::Json(json!({
                "items": value,
                "externalRequestThreshold": value,
                "requestThresholdTimeframe": value,
                "currentTimeframeRequestCount": value,
            }))
        }),
    );
    let atria_echoes = serve(
        &runtime,
        Router::new()
            .fallback(|headers: HeaderMap| async move { (StatusCode::FORBIDDEN, text_echo(&headers)) }),
    );
    let work = tempfile::tempdir().expect("temp dir");
    let mut outputs = Vec::new();

    // Atria echoes the token back in a 403.
    let spec = write_spec(work.path(), &atria_echoes, "  baseUrl: \"http://127.0.0.1:9/\"\n");
    outputs.push((
        "fetch, Atria echoes",
        billsync(
            &args(&["fetch", "--spec", &arg(&spec), "--out", &arg(&work.path().join("out"))]),
            &credentials,
        ),
        "AT03",
    ));

    for (name, echo, code) in
        [("text", &text_echoes, "AT02"), ("json", &json_echoes, "AT02"), ("decode", &decode_echoes, "AT23")]
    {
        let folder = work.path().join(name);
        std::fs::create_dir_all(&folder).expect("folder");
        let spec =
            write_spec(&folder, &mocks.atria.base_url(), &format!("  baseUrl: \"{echo}/ATServicesRest/\"\n"));
        let spec_arg = arg(&spec);
        let out = arg(&folder.join("out"));
        outputs.push((
            "fetch",
            billsync(&args(&["fetch", "--spec", &spec_arg, "--out", &out]), &credentials),
            code,
        ));
        outputs.push((
            "plan",
            billsync(&args(&["plan", "--spec", &spec_arg, "--save-snapshots", &out]), &credentials),
            code,
        ));
        offline_plan(&spec, &folder.join("plan.json"));
        let plan = arg(&folder.join("plan.json"));
        let log = arg(&folder.join("log.jsonl"));
        outputs.push((
            "apply",
            billsync(&args(&["apply", &plan, "--spec", &spec_arg, "--log", &log]), &credentials),
            code,
        ));
        let runs = arg(&folder.join("runs"));
        outputs.push((
            "run",
            billsync(
                &args(&["run", "--spec", &spec_arg, "--auto-approve", "--runs-dir", &runs]),
                &credentials,
            ),
            code,
        ));
    }

    let needles = forbidden(&credentials);
    for (what, output, code) in &outputs {
        let (out, err) = (stdout(output), stderr(output));
        assert_eq!(output.status.code(), Some(1), "{what}: {err}");
        // The server's words reached the error: the test is not passing on an empty message.
        assert!(err.contains(code) && err.contains("echo-marker"), "{what}: {err}");
        for needle in &needles {
            assert!(
                !out.contains(needle.as_str()) && !err.contains(needle.as_str()),
                "{what} shows `{needle}`:\n{out}\n{err}"
            );
        }
    }
    let files = texts_under(work.path());
    assert!(
        files.iter().any(|(path, text)| path.ends_with("log.jsonl") && text.contains("echo-marker")),
        "run logged the error"
    );
    for (path, text) in files {
        for needle in &needles {
            assert!(!text.contains(needle.as_str()), "{} holds `{needle}`", path.display());
        }
    }
}

/// Forwards every request to `upstream` unchanged, except adjustments, which it refuses with a
/// 400 that echoes the request's headers: the journal, the log and the output of a real apply
/// then hold the server's words.
fn refusing_adjustments(runtime: &tokio::runtime::Runtime, upstream: String) -> String {
    let client = reqwest::Client::new();
    serve(
        runtime,
        Router::new().fallback(
            move |method: axum::http::Method,
                  uri: axum::http::Uri,
                  headers: HeaderMap,
                  body: axum::body::Bytes| {
                let (client, upstream) = (client.clone(), upstream.clone());
                async move {
                    if uri.path().to_ascii_lowercase().contains("serviceadjustments") {
                        return (StatusCode::BAD_REQUEST, text_echo(&headers)).into_response();
                    }
                    let path = uri.path_and_query().map_or("/", |path| path.as_str());
                    let mut request = client.request(method, format!("{upstream}{path}")).body(body.to_vec());
                    for (name, value) in &headers {
                        if name != header::HOST && name != header::CONTENT_LENGTH {
                            request = request.header(name, value);
                        }
                    }
                    let answer = request.send().await.expect("the mock answers");
                    let status = answer.status();
                    let body = answer.bytes().await.expect("body");
                    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
                }
            },
        ),
    )
}

#[test]
fn canary_secrets_in_a_rejected_write_reach_no_journal_log_or_output() {
    let runtime = runtime();
    let fixture = fixtures().join("seed-example");
    let credentials = canaries();
    let autotask = runtime.block_on(async {
        let mut config = mock_autotask::MockConfig::from_fixture(&fixture).expect("autotask fixture");
        config.limits.latency_past_half = Duration::ZERO;
        config.limits.latency_past_three_quarters = Duration::ZERO;
        config.credentials = mock_autotask::Credentials {
            username: credentials.username.clone(),
            secret: credentials.secret.clone(),
            integration_code: credentials.integration_code.clone(),
        };
        mock_autotask::spawn(config).await.expect("mock-autotask")
    });
    let proxy = refusing_adjustments(&runtime, autotask.base_url());
    let work = tempfile::tempdir().expect("temp dir");
    let spec =
        write_spec(work.path(), "http://127.0.0.1:9/", &format!("  baseUrl: \"{proxy}/ATServicesRest/\"\n"));
    offline_plan(&spec, &work.path().join("plan.json"));
    let plan = arg(&work.path().join("plan.json"));
    let spec_arg = arg(&spec);
    let mut outputs = Vec::new();
    for log in ["log.csv", "log.jsonl"] {
        let log = arg(&work.path().join(log));
        outputs.push(billsync(&args(&["apply", &plan, "--spec", &spec_arg, "--log", &log]), &credentials));
    }
    let needles = forbidden(&credentials);
    for output in &outputs {
        let (out, err) = (stdout(output), stderr(output));
        assert_eq!(output.status.code(), Some(1), "{out}\n{err}");
        assert!(
            out.contains("AT33") && out.contains("echo-marker"),
            "the refusal is logged with its text: {out}"
        );
        for needle in &needles {
            assert!(
                !out.contains(needle.as_str()) && !err.contains(needle.as_str()),
                "`{needle}` shown:\n{out}\n{err}"
            );
        }
    }
    let files = texts_under(work.path());
    for name in ["plan.json.journal.jsonl", "log.csv", "log.jsonl"] {
        assert!(
            files.iter().any(|(path, text)| path.ends_with(name) && text.contains("echo-marker")),
            "{name} holds the refusal"
        );
    }
    for (path, text) in files {
        for needle in &needles {
            assert!(!text.contains(needle.as_str()), "{} holds `{needle}`", path.display());
        }
    }
    assert!(autotask.state().ledger().iter().all(|entry| entry.entity != "ContractServiceAdjustments"));
}

// ---------------------------------------------------------------------------------------------
// Autotask's older answer to bad credentials

#[test]
fn a_legacy_500_credential_refusal_is_at02_at_once() {
    let runtime = runtime();
    let fixture = fixtures().join("seed-example");
    let mocks = mocks(&runtime, &fixture, mock_autotask::AuthFailureMode::Legacy500);
    let work = tempfile::tempdir().expect("temp dir");
    let spec = write_spec(
        work.path(),
        &mocks.atria.base_url(),
        &format!(
            "  zoneUser: fred@cspservices.com\n  zoneDiscoveryUrl: \"{}/atservicesrest/\"\n",
            mocks.autotask.base_url()
        ),
    );
    let mut wrong_code = Credentials::mocks();
    wrong_code.integration_code = "NOT-THE-CODE".to_owned();
    let mut wrong_user = Credentials::mocks();
    wrong_user.username = "nobody@cspservices.com".to_owned();
    for (credentials, said) in [(wrong_code, "IntegrationCode is invalid"), (wrong_user, "User is not valid")]
    {
        let requests_before =
            mocks.autotask.state().stats().requests.get("Companies").map_or(0, |m| m.values().sum::<u64>());
        let started = Instant::now();
        let output = billsync(
            &args(&["fetch", "--spec", &arg(&spec), "--out", &arg(&work.path().join("out"))]),
            &credentials,
        );
        let elapsed = started.elapsed();
        let text = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{text}");
        assert!(text.contains("AT02") && text.contains("the credentials were refused (HTTP 500: "), "{text}");
        assert!(text.contains(said) && text.contains("check `autotask.username`"), "{text}");
        assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}: retried?");
        let requests =
            mocks.autotask.state().stats().requests.get("Companies").map_or(0, |m| m.values().sum::<u64>());
        assert_eq!(requests - requests_before, 1, "one request, no retry");
    }
}

// ---------------------------------------------------------------------------------------------
// Terminal text

/// A name with ESC, CR, BEL, NUL, an erase-line, an OSC 8 hidden link, a C1 CSI, DEL, and the
/// bidirectional override and isolate that would show the rest of a line reversed.
const HOSTILE: &str = "Evil\u{1b}[2K\rCorp\u{7}\u{0} \u{1b}]8;;https://evil.example/\u{1b}\\click\u{1b}]8;;\u{1b}\\ \u{9b}31mred\u{7f}\u{202e}desrever\u{2067}";

/// Bytes a terminal would act on: below 0x20 but newline and tab, DEL, C1 (UTF-8 C2 80–9F), and
/// the bidirectional formatting characters (U+061C, U+200E–F, U+202A–E, U+2066–9).
fn control_bytes(text: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for (index, byte) in text.iter().enumerate() {
        let next = |offset: usize| text.get(index + offset).copied().unwrap_or(0);
        let c1 = *byte == 0xc2 && (0x80..=0x9f).contains(&next(1));
        let bidi = (*byte == 0xd8 && next(1) == 0x9c)
            || (*byte == 0xe2
                && ((next(1) == 0x80 && matches!(next(2), 0x8e | 0x8f | 0xaa..=0xae))
                    || (next(1) == 0x81 && (0xa6..=0xa9).contains(&next(2)))));
        if (*byte < 0x20 && *byte != b'\n' && *byte != b'\t') || *byte == 0x7f || c1 || bidi {
            found.push(format!("0x{byte:02x} at {index}"));
        }
    }
    found
}

fn assert_no_controls(what: &str, output: &Output) {
    for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let found = control_bytes(bytes);
        assert!(found.is_empty(), "{what} {stream}: {found:?}\n{}", String::from_utf8_lossy(bytes));
    }
}

/// The seed example with hostile names in the customer, a service, a row description and a SKU.
fn hostile_fixture(folder: &Path, customer: &str) -> PathBuf {
    let quoted = |text: &str| serde_json::to_string(text).expect("json");
    let seed = fixtures().join("seed-example");
    let atria = std::fs::read_to_string(seed.join("atria.json"))
        .expect("atria")
        .replace("\"ASP Cloud\"", &quoted(customer))
        .replace("\"Tenants\"", &quoted(&format!("Tenants {HOSTILE}")))
        .replace("\"99\"", &quoted(&format!("99{HOSTILE}")));
    let autotask = std::fs::read_to_string(seed.join("autotask.json"))
        .expect("autotask")
        .replace("\"Microsoft 365 Business Premium\"", &quoted(&format!("M365 {HOSTILE}")));
    std::fs::create_dir_all(folder).expect("folder");
    std::fs::write(folder.join("atria.json"), atria).expect("write");
    std::fs::write(folder.join("autotask.json"), autotask).expect("write");
    folder.to_owned()
}

#[test]
fn control_characters_from_vendors_never_reach_the_terminal() {
    let runtime = runtime();
    let work = tempfile::tempdir().expect("temp dir");
    let hostile = hostile_fixture(&work.path().join("hostile"), &format!("ASP {HOSTILE}"));
    let other = hostile_fixture(&work.path().join("other"), &format!("ASP renamed {HOSTILE}"));
    let mocks = mocks(&runtime, &hostile, mock_autotask::AuthFailureMode::Empty401);
    let spec = write_spec(
        work.path(),
        &mocks.atria.base_url(),
        &format!(
            "  zoneUser: fred@cspservices.com\n  zoneDiscoveryUrl: \"{}/atservicesrest/\"\n",
            mocks.autotask.base_url()
        ),
    );
    let credentials = Credentials::mocks();
    let plan_of = |fixture: &Path, out: &str| {
        let mut plan = plan_args(&spec, &fixture.join("atria.json"), &fixture.join("autotask.json"), AS_OF);
        plan.extend(["--out".to_owned(), arg(&work.path().join(out))]);
        billsync(&plan, &credentials)
    };
    let planned = plan_of(&hostile, "plan.json");
    assert!(planned.status.success(), "{}", stderr(&planned));
    assert!(stdout(&planned).contains("ASP Evil\\u{1b}[2K\\u{d}Corp\\u{7}\\u{0}"), "{}", stdout(&planned));
    let renamed = plan_of(&other, "plan-other.json");
    let plan = arg(&work.path().join("plan.json"));
    let outputs = [
        ("plan", planned),
        ("show", billsync(&args(&["show", &plan, "--log-level", "verbose"]), &credentials)),
        (
            "diff of plans",
            billsync(&args(&["diff", &plan, &arg(&work.path().join("plan-other.json"))]), &credentials),
        ),
        (
            "diff of snapshots",
            billsync(
                &args(&["diff", &arg(&hostile.join("atria.json")), &arg(&other.join("atria.json"))]),
                &credentials,
            ),
        ),
        ("apply", billsync(&args(&["apply", &plan, "--spec", &arg(&spec)]), &credentials)),
        (
            "run",
            billsync(
                &args(&[
                    "run",
                    "--spec",
                    &arg(&spec),
                    "--auto-approve",
                    "--runs-dir",
                    &arg(&work.path().join("runs")),
                ]),
                &credentials,
            ),
        ),
    ];
    assert!(renamed.status.success(), "{}", stderr(&renamed));
    for (what, output) in &outputs {
        assert!(matches!(output.status.code(), Some(0 | 2)), "{what}: {}", stderr(output));
        // Escaped as `\u{1b}`, or as `\u001b` where snapshot JSON escaped it already.
        assert!(stdout(output).contains("Evil\\u"), "{what} shows the name, escaped: {}", stdout(output));
        assert_no_controls(what, output);
    }
    assert!(stdout(&outputs[4].1).contains("applied"), "{}", stdout(&outputs[4].1));

    // The Markdown for a pull request: the same characters shown as `\u{1b}` (its backslash
    // escaped for Markdown), in the table cells and in each customer's summary line.
    let markdown = billsync(&args(&["show", &plan, "--format", "markdown"]), &credentials);
    assert!(markdown.status.success(), "{}", stderr(&markdown));
    assert!(stdout(&markdown).contains("Evil\\\\u{1b}"), "{}", stdout(&markdown));
    assert!(stdout(&markdown).contains("red\\\\u{7f}\\\\u{202e}desrever"), "{}", stdout(&markdown));
    assert_no_controls("show --format markdown", &markdown);

    // An error that quotes a value from a file.
    let broken = work.path().join("broken.json");
    std::fs::write(&broken, json!({ "format": HOSTILE }).to_string()).expect("write");
    let error = billsync(&args(&["diff", &arg(&broken), &plan]), &credentials);
    assert_eq!(error.status.code(), Some(1));
    assert!(stderr(&error).contains("\\u{1b}"), "{}", stderr(&error));
    assert_no_controls("an error", &error);

    // The HTML report keeps its own escaping and shows the name readably.
    let html = billsync(&args(&["show", &plan, "--format", "html"]), &credentials);
    let html = stdout(&html);
    // HTML escaping only (the name has no `<`, `&` or quotes): every character is in the table,
    // where a browser shows its printable text and acts on none of it.
    assert!(html.contains(&format!("<td>ASP — ASP {HOSTILE}")), "the customer cell holds the name");
    assert!(!html.contains("<a href=\"https://evil.example"), "no link is made of it");
}

// ---------------------------------------------------------------------------------------------
// Connection settings

#[test]
fn spec_validate_names_the_key_and_what_is_expected() {
    let work = tempfile::tempdir().expect("temp dir");
    let credentials = Credentials::mocks();
    let bad = write_spec(
        work.path(),
        "https://atria.acme.com/\\e[2K",
        "  baseUrl: \"http://webservices14.autotask.net/\"\n  zoneUser: \"fred\\0@cspservices.com\"\n  allowHosts: [\"https://proxy.acme.com\"]\n",
    );
    let output = billsync(&args(&["spec", "validate", &arg(&bad)]), &credentials);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    let file = arg(&bad);
    for expected in [
        format!(
            "{file}: line 14 column 3, $.atria.baseUrl: `atria.baseUrl` holds a control character at character 24; expected an https URL"
        ),
        format!(
            "{file}: line 17 column 3, $.autotask.baseUrl: `autotask.baseUrl` `http://webservices14.autotask.net/` is plain http to a host that is not loopback; expected an https URL"
        ),
        format!(
            "{file}: line 18 column 3, $.autotask.zoneUser: AT17 user email is not valid: it holds a control character at character 5; expected the e-mail address of an Autotask user"
        ),
        format!(
            "{file}: line 19 column 16, $.autotask.allowHosts[0]: `https://proxy.acme.com` is not a host name; expected a host name such as"
        ),
    ] {
        assert!(text.contains(&expected), "`{expected}` not in:\n{text}");
    }
    assert_no_controls("spec validate", &output);

    let placeholder =
        write_spec(work.path(), "https://atria.example.com", "  zoneUser: fred@cspservices.com\n");
    let output = billsync(&args(&["spec", "validate", &arg(&placeholder)]), &credentials);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("$.atria.baseUrl: warning: `atria.example.com` is a placeholder host"),
        "{}",
        stderr(&output)
    );
    // The online commands refuse to send the token there.
    let fetch = billsync(
        &args(&["fetch", "--spec", &arg(&placeholder), "--out", &arg(&work.path().join("out"))]),
        &credentials,
    );
    assert_eq!(fetch.status.code(), Some(1));
    assert!(
        stderr(&fetch).contains("AT03") && stderr(&fetch).contains("placeholder host"),
        "{}",
        stderr(&fetch)
    );

    // `spec import`: the legacy parameters are checked, and the placeholder it writes is named.
    let params = work.path().join("params.json");
    std::fs::write(
        &params,
        json!({ "BaseUrl": "x".repeat(4 << 20), "ZoneUser": "fred\u{0}\u{1b}@a.com" }).to_string(),
    )
    .expect("write");
    let output = billsync(&args(&["spec", "import", "--params", &arg(&params)]), &credentials);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{}", &text[..text.len().min(500)]);
    assert!(
        text.contains("$.BaseUrl: `BaseUrl` is 4194304 characters long; expected a URL of at most 2048"),
        "{text}"
    );
    assert!(text.contains("$.ZoneUser: AT17") && text.contains("control character"), "{text}");
    assert!(text.len() < 2_000 && stdout(&output).is_empty(), "nothing echoed whole, nothing written");
    std::fs::write(&params, json!({ "BaseUrl": "", "ZoneUser": "fred@cspservices.com" }).to_string())
        .expect("write");
    let output = billsync(&args(&["spec", "import", "--params", &arg(&params)]), &credentials);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("$.atria.baseUrl: warning: `atria.example.com` is a placeholder host"),
        "{}",
        stderr(&output)
    );
}
