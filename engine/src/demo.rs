//! `billsync demo`: both mock servers in process, seeded with the seed example, then fetch →
//! plan → apply → plan again, narrated. Nothing leaves this machine.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use billsync::apply::executor::{ApplyOptions, apply};
use billsync::autotask::{AutotaskClient, AutotaskCredentials, ClientOptions};
use billsync::compile::{CompileInput, compile};
use billsync::print_line;
use billsync::render::{TextOptions, summary_line, text};
use billsync::secrets::Secret;
use billsync::spec::{AtriaConnection, AutotaskConnection, SecretRef};

const SEED_SPEC: &str = include_str!("../../fixtures/seed-example/job.yaml");
const SEED_ATRIA: &[u8] = include_bytes!("../../fixtures/seed-example/atria.json");
const SEED_AUTOTASK: &[u8] = include_bytes!("../../fixtures/seed-example/autotask.json");

/// The mock's default API user (see mock-autotask's README).
const USERNAME: &str = "fred@cspservices.com";
const SECRET: &str = "mock-secret";
const INTEGRATION_CODE: &str = "MOCK-INTEGRATION-CODE";
const ATRIA_TOKEN: &str = "mock-atria-token";

pub fn demo() -> anyhow::Result<ExitCode> {
    let workdir = std::env::temp_dir().join(format!("billsync-demo-{}", std::process::id()));
    std::fs::create_dir_all(&workdir).with_context(|| format!("{}: cannot create", workdir.display()))?;
    let outcome = run(&workdir);
    let _ = std::fs::remove_dir_all(&workdir);
    outcome
}

fn run(workdir: &Path) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let autotask = mock_autotask::MockConfig::from_json(SEED_AUTOTASK)?;
    let atria = mock_atria::MockConfig::from_json(SEED_ATRIA)?;
    let (autotask_mock, atria_mock) = runtime.block_on(async {
        let mut config = autotask;
        config.limits.latency_past_half = std::time::Duration::ZERO;
        config.limits.latency_past_three_quarters = std::time::Duration::ZERO;
        let autotask_mock = mock_autotask::spawn(config).await?;
        let atria_mock = mock_atria::spawn(atria).await?;
        anyhow::Ok((autotask_mock, atria_mock))
    })?;
    print_line!("billsync demo: the seed document's example job, against two mock servers on this machine");
    print_line!("  mock Autotask at {} (zone discovery for {USERNAME})", autotask_mock.base_url());
    print_line!("  mock Atria    at {}", atria_mock.base_url());

    // The fixture's spec, pointed at the mocks; the secrets go in files, as `{ file: … }`.
    let mut spec = billsync::spec::parse(SEED_SPEC).map_err(|problems| anyhow::anyhow!("{problems}"))?;
    let secret_file = |name: &str, value: &str| -> anyhow::Result<SecretRef> {
        let path: PathBuf = workdir.join(name);
        std::fs::write(&path, value).with_context(|| format!("{}: cannot write", path.display()))?;
        Ok(SecretRef::File(path))
    };
    spec.atria = Some(AtriaConnection {
        base_url: atria_mock.base_url(),
        token: secret_file("atria-token", ATRIA_TOKEN)?,
    });
    spec.autotask = Some(AutotaskConnection {
        base_url: String::new(),
        zone_user: Some(USERNAME.to_owned()),
        zone_discovery_url: format!("{}/atservicesrest/", autotask_mock.base_url()),
        username: secret_file("username", USERNAME)?,
        secret: secret_file("secret", SECRET)?,
        integration_code: secret_file("integration-code", INTEGRATION_CODE)?,
        allow_hosts: Vec::new(),
    });

    print_line!("\n1. Fetch both snapshots (zone discovery, then batched `in` queries)");
    let fetched = runtime.block_on(billsync::fetch::fetch(&spec, ClientOptions::default()))?;
    print_line!("   {}", fetched.summary());

    print_line!("\n2. Plan: what would change, for review before anything is written");
    let as_of = chrono::Utc::now();
    let plan =
        compile(CompileInput { spec: &spec, atria: &fetched.atria, autotask: &fetched.autotask, as_of })?;
    let rendered = text(&plan, TextOptions { log_level: Some(billsync::codes::LogLevel::Warning) });
    for line in rendered.lines() {
        print_line!("   {line}");
    }

    print_line!("\n3. Apply: journaled adjustments, at most three at a time, then a read-back");
    let connection = spec.autotask.as_ref().context("the demo spec has an autotask section")?;
    let credentials = AutotaskCredentials {
        username: Secret::new(USERNAME),
        secret: Secret::new(SECRET),
        integration_code: Secret::new(INTEGRATION_CODE),
    };
    let options = ApplyOptions::new(workdir.join("plan.json.journal.jsonl"));
    let report = runtime.block_on(async {
        let client = AutotaskClient::connect(connection, credentials, ClientOptions::default()).await?;
        anyhow::Ok(apply(&plan, &client, &options).await?)
    })?;
    for entry in report.log.iter().filter(|entry| entry.level.shown_at(billsync::codes::LogLevel::Info)) {
        print_line!("   {} {} {}", entry.at.format("%H:%M:%S"), entry.code, entry.message);
    }
    print_line!(
        "   {} applied, {} refused, {} failed; the mock's ledger holds {} writes",
        report.applied,
        report.refused,
        report.failed,
        autotask_mock.state().ledger().len()
    );

    print_line!("\n4. Plan again: Autotask now matches Atria");
    let fetched = runtime.block_on(billsync::fetch::fetch(&spec, ClientOptions::default()))?;
    let again =
        compile(CompileInput { spec: &spec, atria: &fetched.atria, autotask: &fetched.autotask, as_of })?;
    print_line!("   {}", summary_line(&again));
    if again.has_changes() || report.exit_code() != 0 {
        print_line!("\nThe demo did not converge; see the lines above.");
        return Ok(ExitCode::FAILURE);
    }
    print_line!(
        "\nDone: nothing left to change. Try `billsync plan --help` and README.md for your own data."
    );
    Ok(ExitCode::SUCCESS)
}
