//! mock-atria: an in-memory mock of Atria's billing API, as we designed it where Atria's own is
//! not public (`reference/atria-api.md` §3 and §3.1), for billsync's offline tests.
//!
//! [`router`] builds the axum app over an [`AppState`]; [`spawn`] serves it on an ephemeral
//! loopback port and hands back a [`RunningMock`]. The binary (`src/main.rs`) is a thin shell.

mod api;
mod billing;
mod config;
mod control;
mod endpoints;
mod error;
mod faults;
mod periods;
mod query;
pub mod seed;
mod state;
pub mod wire;

use std::io;
use std::net::SocketAddr;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{
    ApiToken, DEFAULT_EXPIRED_TOKEN, DEFAULT_NO_DEVELOPER_TOKEN, DEFAULT_TOKEN, MockConfig, SeedError,
    default_tokens, load_fixture,
};
pub use control::{ClockView, FaultList};
pub use endpoints::Endpoint;
pub use error::AppError;
pub use faults::{ActiveFault, FaultRule};
pub use query::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use seed::{AtriaCustomer, AtriaSnapshot, BillingPeriod, BillingRow, CustomerStatus, PeriodStatus};
pub use state::{
    AppState, CountChange, LEDGER_CAPACITY, LedgerEntry, PeriodDump, RecalculateOptions, Recalculation,
    StateDump, Stats,
};

/// The whole app: the API behind auth and the fault layer, and the `/__mock/*` controls.
pub fn router(state: AppState) -> Router {
    let mut api = Router::new();
    for endpoint in Endpoint::ALL {
        let handler = match endpoint {
            Endpoint::BillingPeriods => get(api::list_periods),
            Endpoint::CurrentPeriod => get(api::current_period),
            Endpoint::PreviousPeriod => get(api::previous_period),
            Endpoint::ResolvePeriod => get(api::resolve_period),
            Endpoint::PeriodByEndDate => get(api::period_by_end_date),
            Endpoint::Customers => get(api::list_customers),
            Endpoint::Customer => get(api::get_customer),
            Endpoint::Services => get(api::list_services),
            Endpoint::BillingSummary => get(api::billing_summary),
            Endpoint::BillingDetail => get(api::billing_detail),
        };
        // A per-route fallback, unlike the router's, runs inside the layers: a wrong method is
        // counted and logged like any other request.
        api = api.route(endpoint.path(), handler.fallback(api::method_not_allowed));
    }
    // The last layer added runs first: faults and the ledger see every request, auth comes after.
    let api = api
        .route_layer(from_fn_with_state(state.clone(), api::require_token))
        .route_layer(from_fn_with_state(state.clone(), api::observe_and_inject));
    api.merge(control::routes())
        .fallback(api::route_not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .with_state(state)
}

/// Serves the mock on an ephemeral loopback port.
pub async fn spawn(config: MockConfig) -> io::Result<RunningMock> {
    let state = AppState::new(config).map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
    spawn_with_state(state, SocketAddr::from(([127, 0, 0, 1], 0))).await
}

/// Serves an existing state on `address` (port 0 for an ephemeral one).
pub async fn spawn_with_state(state: AppState, address: SocketAddr) -> io::Result<RunningMock> {
    let listener = TcpListener::bind(address).await?;
    let address = listener.local_addr()?;
    let (shutdown_sender, shutdown_receiver) = oneshot::channel::<()>();
    let app = router(state.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                // A dropped sender also means "stop".
                let _ = shutdown_receiver.await;
            })
            .await
    });
    Ok(RunningMock { address, state, shutdown_sender: Some(shutdown_sender), server: Some(server) })
}

/// A mock being served. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningMock {
    address: SocketAddr,
    state: AppState,
    shutdown_sender: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<io::Result<()>>>,
}

impl RunningMock {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The live state, to set the clock or read counters without HTTP.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting, lets in-flight requests finish (up to 5 s), and reports a server error.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(sender) = self.shutdown_sender.take() {
            let _ = sender.send(());
        }
        let Some(mut server) = self.server.take() else { return Ok(()) };
        match tokio::time::timeout(std::time::Duration::from_secs(5), &mut server).await {
            Ok(Ok(result)) => result,
            Ok(Err(join_error)) => Err(io::Error::other(join_error)),
            Err(_elapsed) => {
                server.abort();
                Ok(())
            }
        }
    }
}

impl Drop for RunningMock {
    fn drop(&mut self) {
        if let Some(sender) = self.shutdown_sender.take() {
            let _ = sender.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Serves the mock on `listener` until the process ends (the binary's loop).
pub async fn serve(listener: TcpListener, state: AppState) -> io::Result<()> {
    axum::serve(listener, router(state)).await
}
