//! mock-atria binary: serves the mock Atria API seeded from a fixture folder.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::NaiveDate;
use clap::Parser;
use mock_atria::{
    ApiToken, AppState, DEFAULT_EXPIRED_TOKEN, DEFAULT_NO_DEVELOPER_TOKEN, DEFAULT_TOKEN, MockConfig,
};

/// A mock of Atria's billing API (our design of it) for billsync's tests and demos.
#[derive(Debug, Parser)]
#[command(name = "mock-atria", version)]
struct Args {
    /// A folder with `atria.json` (one period), a folder of Atria snapshots (one period each),
    /// or one snapshot file.
    #[arg(long, env = "ATRIA_FIXTURE")]
    fixture: PathBuf,
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, env = "ATRIA_PORT", default_value_t = 8082)]
    port: u16,
    /// The developer token (accepted).
    #[arg(long, env = "ATRIA_TOKEN", default_value = DEFAULT_TOKEN)]
    token: String,
    /// A token whose user lacks the developer permission (403).
    #[arg(long, env = "ATRIA_NO_DEVELOPER_TOKEN", default_value = DEFAULT_NO_DEVELOPER_TOKEN)]
    no_developer_token: String,
    /// An expired token (401).
    #[arg(long, env = "ATRIA_EXPIRED_TOKEN", default_value = DEFAULT_EXPIRED_TOKEN)]
    expired_token: String,
    /// The mock clock's start (YYYY-MM-DD); default: the open period's end date.
    #[arg(long, env = "ATRIA_MOCK_TODAY")]
    today: Option<NaiveDate>,
    /// Seed of the RNG behind fault rates.
    #[arg(long, env = "ATRIA_MOCK_SEED", default_value_t = 0)]
    rng_seed: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mock-atria: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let mut config = MockConfig::from_fixture(&args.fixture)?
        .with_tokens(vec![
            ApiToken::developer(args.token),
            ApiToken::without_developer_permission(args.no_developer_token),
            ApiToken::expired(args.expired_token),
        ])
        .with_rng_seed(args.rng_seed);
    config.clock = args.today;
    let state = AppState::new(config)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let address = SocketAddr::from(([127, 0, 0, 1], args.port));
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address}"))?;
        let bound = listener.local_addr()?;
        println!("mock-atria listening on http://{bound} (today is {})", state.clock());
        mock_atria::serve(listener, state).await.context("server failed")
    })
}
