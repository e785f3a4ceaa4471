//! The online test context: both mocks in process on ephemeral ports, a scratch folder with a
//! spec pointing at them, and the `billsync` binary run with the mocks' credentials.

#![allow(dead_code)] // each test file uses its own part of the context

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

pub const AS_OF: &str = "2026-11-24T22:00:00Z";
pub const USERNAME: &str = "fred@cspservices.com";
pub const SECRET: &str = "mock-secret";
pub const INTEGRATION_CODE: &str = "MOCK-INTEGRATION-CODE";

/// `billsync plan` arguments for a spec and two snapshot files, at a fixed as-of time.
pub fn plan_args(spec: &Path, atria: &Path, autotask: &Path, as_of: &str) -> Vec<String> {
    let mut args = vec!["plan".to_owned()];
    for (flag, path) in [("--spec", spec), ("--atria", atria), ("--autotask", autotask)] {
        args.push(flag.to_owned());
        args.push(path.to_string_lossy().into_owned());
    }
    args.extend(["--as-of".to_owned(), as_of.to_owned()]);
    args
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

pub struct Online {
    pub runtime: tokio::runtime::Runtime,
    pub autotask: mock_autotask::RunningMock,
    pub atria: mock_atria::RunningMock,
    pub dir: tempfile::TempDir,
    pub fixture: PathBuf,
    http: reqwest::Client,
}

impl Online {
    /// Both mocks seeded from `fixtures/<name>`, and `job.yaml` in a scratch folder pointing at
    /// them (zone discovery through the Autotask mock).
    pub fn start(name: &str) -> Online {
        Online::start_in(fixtures().join(name))
    }

    /// Both mocks seeded from the fixture folder `fixture` (e.g. a synthetic world in a temp dir).
    pub fn start_in(fixture: PathBuf) -> Online {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (autotask, atria) = runtime.block_on(async {
            let mut config = mock_autotask::MockConfig::from_fixture(&fixture).expect("autotask fixture");
            config.limits.latency_past_half = std::time::Duration::ZERO;
            config.limits.latency_past_three_quarters = std::time::Duration::ZERO;
            let autotask = mock_autotask::spawn(config).await.expect("mock-autotask");
            let atria =
                mock_atria::spawn(mock_atria::MockConfig::from_fixture(&fixture).expect("atria fixture"))
                    .await
                    .expect("mock-atria");
            (autotask, atria)
        });
        let online = Online {
            runtime,
            autotask,
            atria,
            dir: tempfile::tempdir().expect("temp dir"),
            fixture,
            http: reqwest::Client::new(),
        };
        online.write_spec("");
        online
    }

    /// Writes `job.yaml`: the fixture's spec with the mocks' addresses and fast retries, plus
    /// `extra` YAML lines under `autotask:`.
    pub fn write_spec(&self, extra_autotask: &str) {
        let spec = std::fs::read_to_string(self.fixture.join("job.yaml")).expect("fixture spec");
        let mut kept: Vec<&str> = Vec::new();
        let mut skipping = false;
        for line in spec.lines() {
            if line.starts_with("atria:") || line.starts_with("autotask:") {
                skipping = true;
                continue;
            }
            if skipping && (line.starts_with(' ') || line.is_empty()) {
                continue;
            }
            skipping = false;
            kept.push(line);
        }
        let mut text = kept.join("\n");
        text.push_str(&format!(
            "\natria:\n  baseUrl: \"{}\"\n  token: {{ env: ATRIA_TOKEN }}\nautotask:\n  baseUrl: \"\"\n  zoneUser: {USERNAME}\n  zoneDiscoveryUrl: \"{}/atservicesrest/\"\n  username: {{ env: AUTOTASK_USERNAME }}\n  secret: {{ env: AUTOTASK_SECRET }}\n  integrationCode: {{ env: AUTOTASK_INTEGRATION_CODE }}\n{extra_autotask}",
            self.atria.base_url(),
            self.autotask.base_url(),
        ));
        std::fs::write(self.path("job.yaml"), text).expect("write spec");
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    pub fn arg(&self, file: &str) -> String {
        self.path(file).to_string_lossy().into_owned()
    }

    /// The binary with the mocks' credentials in its environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_billsync"));
        command
            .args(args)
            .env("AUTOTASK_USERNAME", USERNAME)
            .env("AUTOTASK_SECRET", SECRET)
            .env("AUTOTASK_INTEGRATION_CODE", INTEGRATION_CODE)
            .env("ATRIA_TOKEN", "mock-atria-token")
            .env("NO_COLOR", "1")
            // Each test's own writer locks, so that tests applying one plan do not meet.
            .env("BILLSYNC_STATE_DIR", self.dir.path().join("state"))
            .stdin(Stdio::null());
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("billsync runs")
    }

    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("billsync starts")
    }

    /// `billsync plan` offline on the fixture's Atria snapshot and `autotask`, written to `out`.
    fn plan_offline(&self, autotask: &Path, out: &str) -> Output {
        let mut args = plan_args(&self.path("job.yaml"), &self.fixture.join("atria.json"), autotask, AS_OF);
        args.extend(["--out".to_owned(), self.arg(out)]);
        let output = self.command(&[]).args(&args).output().expect("billsync runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        output
    }

    /// `billsync plan` offline on the fixture's snapshots, written to `plan.json`.
    pub fn plan_from_fixture(&self) -> Output {
        self.plan_offline(&self.fixture.join("autotask.json"), "plan.json")
    }

    /// `billsync plan` offline on the mock's current Autotask state.
    pub fn plan_against_mock(&self) -> billsync::plan::Plan {
        let state = self.autotask_state();
        std::fs::write(self.path("autotask-now.json"), serde_json::to_vec(&state["snapshot"]).expect("json"))
            .expect("write");
        self.plan_offline(&self.path("autotask-now.json"), "plan-again.json");
        billsync::plan::Plan::load(&self.path("plan-again.json")).expect("plan")
    }

    pub fn apply(&self) -> Output {
        self.run(&[
            "apply",
            &self.arg("plan.json"),
            "--spec",
            &self.arg("job.yaml"),
            "--log",
            &self.arg("log.jsonl"),
        ])
    }

    pub fn spawn_apply(&self) -> Child {
        self.spawn(&["apply", &self.arg("plan.json"), "--spec", &self.arg("job.yaml")])
    }

    pub fn get(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.autotask.base_url());
        self.runtime.block_on(async {
            self.http.get(url).send().await.expect("mock answers").json::<Value>().await.expect("json")
        })
    }

    pub fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.send_with(self.http.request(method, format!("{}{path}", self.autotask.base_url())), body)
    }

    /// A request to the Autotask mock's API with the API user's headers.
    pub fn send_as_api_user(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let request = self
            .http
            .request(method, format!("{}{path}", self.autotask.base_url()))
            .header("ApiIntegrationCode", INTEGRATION_CODE)
            .header("UserName", USERNAME)
            .header("Secret", SECRET);
        self.send_with(request, body)
    }

    fn send_with(&self, request: reqwest::RequestBuilder, body: Option<Value>) -> Value {
        self.runtime.block_on(async {
            let mut request = request;
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.expect("mock answers");
            let status = response.status();
            let text = response.text().await.expect("body");
            assert!(status.is_success(), "mock said {status}: {text}");
            serde_json::from_str(&text).unwrap_or(Value::Null)
        })
    }

    pub fn autotask_state(&self) -> Value {
        self.get("/__mock/state")
    }

    pub fn faults(&self, rules: Value) {
        self.send(reqwest::Method::POST, "/__mock/faults", Some(rules));
    }

    pub fn clear_faults(&self) {
        self.send(reqwest::Method::DELETE, "/__mock/faults", None);
    }

    pub fn reset(&self) {
        self.send(reqwest::Method::POST, "/__mock/reset", None);
        let _ = std::fs::remove_file(self.path("plan.json.journal.jsonl"));
    }

    /// Adjustments in the mock's ledger, per contract line.
    pub fn adjustments_per_line(&self) -> std::collections::BTreeMap<i64, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for adjustment in self.autotask_state()["adjustments"].as_array().expect("adjustments") {
            let line = adjustment["contractServiceID"].as_i64().expect("a line");
            *counts.entry(line).or_default() += 1;
        }
        counts
    }

    /// Waits until the mock holds a paused request.
    pub fn wait_for_pause(&self) {
        for _ in 0..400 {
            if self.get("/__mock/faults")["paused"].as_u64().unwrap_or(0) > 0 {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("no request was paused within 10 s");
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
