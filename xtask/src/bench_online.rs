//! `cargo xtask bench-online`: fetch and apply against both mocks in process with a fixed added
//! latency, counting the calls the mocks saw against DESIGN.md's budgets and a per-customer
//! loop, and timing apply against the ideal of three requests always in flight.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use billsync::apply::executor::{ApplyOptions, apply};
use billsync::autotask::{AutotaskClient, AutotaskCredentials, ClientOptions, MAX_RECORDS};
use billsync::compile::{CompileInput, compile};
use billsync::fetch::{Fetched, fetch};
use billsync::synth::SynthConfig;
use serde_json::json;

use crate::{flag, workspace_root};

/// apply's wall time may be at most this many times (calls × latency ÷ 3).
const WALL_TARGET_RATIO: f64 = 1.15;
/// Requests in flight the ideal assumes: Autotask's thread limit per endpoint.
const IN_FLIGHT: u32 = 3;
/// The Atria client's page size (customers and billing rows).
const ATRIA_PAGE: u64 = billsync::atria::PAGE_SIZE as u64;
const AS_OF: &str = "2026-11-24T22:00:00Z";
const ATRIA_TOKEN: &str = mock_atria::DEFAULT_TOKEN;

/// What one run measured.
struct Run {
    /// Apply's calls by endpoint and method, for reading an over-budget count.
    apply_by_endpoint: String,
    fetch_wall: Duration,
    autotask_fetch_calls: u64,
    atria_fetch_calls: u64,
    apply_wall: Duration,
    apply_calls: u64,
    /// Adjustments and created lines, from the mock's ledger.
    writes: u64,
    lines_created: u64,
    /// The plan's changes: the lines apply touches.
    touched: u64,
    /// Contracts with a planned create, whose lines the refresh reads.
    create_refresh_pages: u64,
    max_in_flight: u64,
    fetched: Fetched,
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        // Time what ships: the engine, and the mocks beside it, built for release.
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["run", "--release", "--quiet", "--package", "xtask", "--", "bench-online"])
            .args(args)
            .current_dir(workspace_root())
            .status()
            .context("running cargo run --release")?;
        // The release run has said what failed; pass its exit code on.
        if !status.success() {
            std::process::exit(status.code().unwrap_or(1));
        }
        return Ok(());
    }
    let number = |name: &str, default: u64| -> anyhow::Result<u64> {
        flag(args, name).map_or(Ok(default), |text| {
            text.parse().with_context(|| format!("{name} `{text}` is not a whole number"))
        })
    };
    let world = SynthConfig {
        customers: number("--customers", 200)? as usize,
        rows_per_customer: number("--rows-per-customer", 20)? as usize,
        seed: number("--seed", 1)?,
    };
    let latency = Duration::from_millis(number("--latency-ms", 50)?);
    let runs = number("--runs", 3)? as usize;
    if runs == 0 {
        bail!("--runs must be at least 1");
    }
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), Into::into)
        .join("bench-data/online");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

    // The mocks get a runtime of their own, so the client's blocking journal fsyncs never hold
    // up an answer.
    let mock_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("mocks")
        .enable_all()
        .build()?;
    let client_runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;

    println!(
        "billsync fetch and apply against both mocks in process, {} ms added to every request, {runs} runs; \
         medians",
        latency.as_millis()
    );
    println!(
        "world: `cargo xtask gen --customers {} --rows-per-customer {} --seed {}`; machine: {} cores",
        world.customers,
        world.rows_per_customer,
        world.seed,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut measured = Vec::with_capacity(runs);
    for _ in 0..runs {
        measured.push(run_once(&mock_runtime, &client_runtime, world, latency, &dir)?);
    }
    report(&measured, latency)
}

fn run_once(
    mock_runtime: &tokio::runtime::Runtime,
    client_runtime: &tokio::runtime::Runtime,
    world: SynthConfig,
    latency: Duration,
    dir: &Path,
) -> anyhow::Result<Run> {
    let (atria_seed, autotask_seed) = billsync::synth::generate(world);
    let (autotask_mock, atria_mock) = mock_runtime.block_on(async {
        let mut config = mock_autotask::MockConfig::from_json(&serde_json::to_vec(&autotask_seed)?)?;
        config.limits.latency_past_half = Duration::ZERO;
        config.limits.latency_past_three_quarters = Duration::ZERO;
        config.limits.hourly_request_limit = 1_000_000;
        let autotask = mock_autotask::spawn(config).await.context("starting mock-autotask")?;
        let atria = mock_atria::spawn(mock_atria::MockConfig::from_json(&serde_json::to_vec(&atria_seed)?)?)
            .await
            .context("starting mock-atria")?;
        anyhow::Ok((autotask, atria))
    })?;

    let spec_text = write_spec(dir, &atria_mock.base_url(), &autotask_mock.base_url())?;
    let spec = billsync::spec::parse(&spec_text).map_err(|problems| anyhow::anyhow!("{problems}"))?;
    let as_of = AS_OF.parse().context("AS_OF")?;
    let journal_path = dir.join("plan.json.journal.jsonl");
    match std::fs::remove_file(&journal_path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error.into()),
        _ => {}
    }

    client_runtime.block_on(async {
        let http = reqwest::Client::new();
        let latency_ms = latency.as_millis() as u64;
        for (mock, rule) in [
            (autotask_mock.base_url(), json!({ "endpoint": "*", "latencyMs": latency_ms })),
            (atria_mock.base_url(), json!({ "endpoint": "*", "latencyMs": latency_ms })),
        ] {
            let answer = http.post(format!("{mock}/__mock/faults")).json(&rule).send().await?;
            if !answer.status().is_success() {
                bail!("{mock} refused the latency fault: {}", answer.text().await?);
            }
        }

        let started = Instant::now();
        let fetched = fetch(&spec, ClientOptions::default()).await?;
        let fetch_wall = started.elapsed();
        let autotask_fetch_calls = autotask_mock.state().stats().total;
        let atria_fetch_calls = atria_mock.state().stats().total_requests;

        let plan =
            compile(CompileInput { spec: &spec, atria: &fetched.atria, autotask: &fetched.autotask, as_of })?;
        let touched = plan.actions.iter().filter(|action| action.kind.is_change()).count() as u64;
        // The refresh of planned creates reads the lines of their contracts for their services:
        // one page per 500 contracts, more when those lines fill more pages.
        let creates: Vec<_> =
            plan.actions.iter().filter(|action| action.kind == billsync::plan::ActionKind::Create).collect();
        let contracts: std::collections::BTreeSet<i64> =
            creates.iter().filter_map(|action| action.contract_id).collect();
        let services: std::collections::BTreeSet<i64> =
            creates.iter().filter_map(|action| action.service_id).collect();
        let lines = fetched
            .autotask
            .contract_services
            .iter()
            .filter(|line| contracts.contains(&line.contract_id) && services.contains(&line.service_id))
            .count() as u64;
        let create_refresh_pages =
            (contracts.len() as u64).div_ceil(MAX_RECORDS as u64).max(lines.div_ceil(MAX_RECORDS as u64));

        let ledger_before = autotask_mock.state().ledger().len();
        let requests_before = autotask_mock.state().stats().requests;
        let connection = spec.autotask.as_ref().context("the spec has an autotask section")?;
        let credentials = AutotaskCredentials::resolve(connection)?;
        let started = Instant::now();
        let client = AutotaskClient::connect(connection, credentials, ClientOptions::default()).await?;
        let outcome = apply(&plan, &client, &ApplyOptions::new(journal_path.clone())).await?;
        let apply_wall = started.elapsed();
        if let Some(error) = &outcome.stopped {
            bail!("apply stopped: {error}");
        }
        if outcome.applied as u64 != touched {
            bail!(
                "apply applied {} of {touched} changes ({} refused, {} failed)",
                outcome.applied,
                outcome.refused,
                outcome.failed
            );
        }
        let stats = autotask_mock.state().stats();
        let writes = &autotask_mock.state().ledger()[ledger_before..];
        let lines_created =
            writes.iter().filter(|entry| entry.entity != "ContractServiceAdjustments").count();
        let mut by_endpoint = Vec::new();
        for (endpoint, methods) in &stats.requests {
            for (method, count) in methods {
                let before = requests_before.get(endpoint).and_then(|before| before.get(method)).copied();
                let count = count - before.unwrap_or_default();
                if count > 0 {
                    by_endpoint.push(format!("{method} {endpoint} {count}"));
                }
            }
        }
        Ok(Run {
            apply_by_endpoint: by_endpoint.join(", "),
            fetch_wall,
            autotask_fetch_calls,
            atria_fetch_calls,
            apply_wall,
            apply_calls: stats.total - autotask_fetch_calls,
            writes: writes.len() as u64,
            lines_created: lines_created as u64,
            touched,
            create_refresh_pages,
            max_in_flight: stats.max_in_flight.values().copied().max().unwrap_or_default() as u64,
            fetched,
        })
    })
}

/// `JOB_YAML` with both connections pointing at the mocks; the secrets go in files beside it.
fn write_spec(dir: &Path, atria_url: &str, autotask_url: &str) -> anyhow::Result<String> {
    let defaults = mock_autotask::Credentials::default();
    let secret_file = |name: &str, value: &str| -> anyhow::Result<String> {
        let path = dir.join(name);
        std::fs::write(&path, value).with_context(|| format!("writing {}", path.display()))?;
        Ok(path.to_string_lossy().into_owned())
    };
    let text = format!(
        "{}atria:\n  baseUrl: \"{atria_url}\"\n  token: {{ file: \"{}\" }}\n\
         autotask:\n  zoneUser: \"{}\"\n  zoneDiscoveryUrl: \"{autotask_url}/atservicesrest/\"\n  \
         username: {{ file: \"{}\" }}\n  secret: {{ file: \"{}\" }}\n  integrationCode: {{ file: \"{}\" }}\n",
        billsync::synth::JOB_YAML,
        secret_file("atria-token", ATRIA_TOKEN)?,
        defaults.username,
        secret_file("autotask-username", &defaults.username)?,
        secret_file("autotask-secret", &defaults.secret)?,
        secret_file("autotask-integration-code", &defaults.integration_code)?,
    );
    std::fs::write(dir.join("job.yaml"), &text).context("writing job.yaml")?;
    Ok(text)
}

/// ⌈n/500⌉: the queries an `in` filter or a paged read of `n` items costs.
fn batches(n: usize) -> u64 {
    n.div_ceil(MAX_RECORDS) as u64
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn seconds(time: Duration) -> String {
    format!("{:.2} s", time.as_secs_f64())
}

fn report(runs: &[Run], latency: Duration) -> anyhow::Result<()> {
    let last = runs.last().expect("at least one run");
    let autotask = &last.fetched.autotask;
    let atria = &last.fetched.atria;
    let fetch_wall = median(runs.iter().map(|run| run.fetch_wall).collect());
    let apply_wall = median(runs.iter().map(|run| run.apply_wall).collect());
    let mut failures = Vec::new();
    for run in runs {
        if (run.autotask_fetch_calls, run.apply_calls, run.writes)
            != (last.autotask_fetch_calls, last.apply_calls, last.writes)
        {
            failures.push("the call counts differ between runs of the same world".to_owned());
        }
    }

    // Fetch: zone + ⌈n/500⌉ per entity read; a loop asks per customer for its company,
    // contracts, lines and units, and per service for the service.
    let fetch_budget = 1 + [
        autotask.companies.len(),
        autotask.contracts.len(),
        autotask.contract_services.len(),
        autotask.contract_service_units.len(),
        autotask.services.len(),
    ]
    .into_iter()
    .map(batches)
    .sum::<u64>();
    let fetch_loop = 1 + 4 * atria.customers.len() as u64 + autotask.services.len() as u64;
    // Atria: the period, then every page of customers and of billing rows.
    let atria_budget = 1
        + (atria.customers.len() as u64).div_ceil(ATRIA_PAGE)
        + (atria.billing.len() as u64).div_ceil(ATRIA_PAGE);
    // Apply: writes, a refresh and a verification per 500 touched lines, the pages of the
    // planned creates' lines (P), zone and threshold; a loop reads each line's units before
    // writing it, one call at a time.
    let (writes, touched) = (last.writes, last.touched);
    let apply_budget = writes + 2 * touched.div_ceil(MAX_RECORDS as u64) + last.create_refresh_pages + 2;
    let apply_loop = 2 + touched + writes;
    let ideal = latency * last.apply_calls as u32 / IN_FLIGHT;
    let ratio = apply_wall.as_secs_f64() / ideal.as_secs_f64();
    let serial = |calls: u64| seconds(latency * calls as u32);

    println!(
        "read: {} customers, {} billing rows; {} companies, {} contracts, {} lines, {} unit rows, {} services",
        atria.customers.len(),
        atria.billing.len(),
        autotask.companies.len(),
        autotask.contracts.len(),
        autotask.contract_services.len(),
        autotask.contract_service_units.len(),
        autotask.services.len(),
    );
    println!(
        "plan: T = {touched} changes; apply wrote W = {writes} ({} adjustments, {} lines created); \
         most requests in flight on one endpoint: {}",
        writes - last.lines_created,
        last.lines_created,
        last.max_in_flight
    );
    println!("apply's calls: {}", last.apply_by_endpoint);
    println!();
    println!("| step | API calls (mock) | budget | per-customer loop | wall time | ideal | ratio | target |");
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| fetch, Autotask | {} | {fetch_budget} (1 + Σ⌈n/500⌉) | {fetch_loop} (1 + 4·customers + services), ≈ {} serially | {} (both APIs) | – | – | calls ≤ budget |",
        last.autotask_fetch_calls,
        serial(fetch_loop),
        seconds(fetch_wall),
    );
    println!(
        "| fetch, Atria | {} | {atria_budget} (1 + ⌈customers/1000⌉ + ⌈rows/1000⌉) | – | – | – | – | calls ≤ budget |",
        last.atria_fetch_calls,
    );
    println!(
        "| apply | {} | {apply_budget} (W + 2·⌈T/500⌉ + P + 2) | {apply_loop} (2 + T reads + W writes), ≈ {} serially | {} | {} (calls × {} ms ÷ 3) | {ratio:.3}× | calls ≤ budget, ≤ {WALL_TARGET_RATIO}× |",
        last.apply_calls,
        serial(apply_loop),
        seconds(apply_wall),
        seconds(ideal),
        latency.as_millis(),
    );
    println!();
    if last.autotask_fetch_calls > fetch_budget {
        failures
            .push(format!("fetch made {} Autotask calls, over {fetch_budget}", last.autotask_fetch_calls));
    }
    if last.atria_fetch_calls > atria_budget {
        failures.push(format!("fetch made {} Atria calls, over {atria_budget}", last.atria_fetch_calls));
    }
    if last.apply_calls > apply_budget {
        failures.push(format!("apply made {} calls, over {apply_budget}", last.apply_calls));
    }
    if ratio > WALL_TARGET_RATIO {
        failures.push(format!(
            "apply took {:.2?}, {ratio:.3}× the ideal {:.2?}, over {WALL_TARGET_RATIO}×",
            apply_wall, ideal
        ));
    }
    if failures.is_empty() {
        println!("all targets met");
        Ok(())
    } else {
        bail!("targets missed:\n{}", failures.join("\n"))
    }
}
