//! The `mock-autotask` binary: serves a fixture's `autotask.json` as the Autotask REST API.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use mock_autotask::state::{AppState, DEFAULT_INTEGRATION_CODE, DEFAULT_SECRET, DEFAULT_USERNAME};
use mock_autotask::{AuthFailureMode, Credentials, MockConfig, serve_on};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum AuthFailure {
    /// 401 with an empty body (as measured live).
    Empty401,
    /// Unknown user and bad integration code 500, wrong secret 401, with errors bodies.
    Legacy500,
}

/// A mock of the Autotask PSA REST API, seeded from a fixture folder.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Fixture folder holding `autotask.json`.
    #[arg(long, default_value = "fixtures/seed-example")]
    fixture: PathBuf,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8081)]
    port: u16,
    /// The API user zone discovery and header auth accept.
    #[arg(long, env = "AUTOTASK_USERNAME", default_value = DEFAULT_USERNAME)]
    username: String,
    #[arg(long, env = "AUTOTASK_SECRET", default_value = DEFAULT_SECRET, hide_env_values = true)]
    secret: String,
    #[arg(long, env = "AUTOTASK_INTEGRATION_CODE", default_value = DEFAULT_INTEGRATION_CODE, hide_env_values = true)]
    integration_code: String,
    /// Requests allowed per rolling hour.
    #[arg(long, default_value_t = 10_000)]
    hourly_limit: u64,
    #[arg(long, value_enum, default_value = "empty401")]
    auth_failure: AuthFailure,
    /// Seed of the RNG behind fault rates.
    #[arg(long, default_value_t = 0)]
    rng_seed: u64,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mock-autotask: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut config = MockConfig::from_fixture(&args.fixture)
        .map_err(|problems| anyhow::anyhow!("{problems}"))
        .with_context(|| format!("cannot load the fixture `{}`", args.fixture.display()))?;
    config.credentials =
        Credentials { username: args.username, secret: args.secret, integration_code: args.integration_code };
    config.limits.hourly_request_limit = args.hourly_limit;
    config.rng_seed = args.rng_seed;
    config.auth_failure = match args.auth_failure {
        AuthFailure::Empty401 => AuthFailureMode::Empty401,
        AuthFailure::Legacy500 => AuthFailureMode::Legacy500,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    let running = serve_on(listener, AppState::new(config))?;
    println!("mock-autotask listening on {} (zone url {})", running.base_url(), running.zone_url());
    tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
    running.shutdown().await.context("shutdown failed")?;
    Ok(())
}
