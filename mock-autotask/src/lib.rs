//! mock-autotask: an in-memory mock of the Autotask PSA REST API v1.0 for billsync's tests.
//!
//! [`router`] serves an [`AppState`]; [`spawn`] runs it on an ephemeral loopback port. The
//! behaviour follows `shared/reference/autotask-rest.md` and the swagger subset; see README.md.

pub mod controls;
pub mod dates;
pub mod entity;
pub mod error;
pub mod faults;
pub mod filter;
pub mod limits;
pub mod routes;
pub mod seed;
pub mod state;
pub mod store;
pub mod writes;

use std::net::SocketAddr;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use crate::error::AppError;
pub use crate::faults::{FaultRule, Phase};
pub use crate::limits::LimitConfig;
pub use crate::seed::{AutotaskSnapshot, SeedError};
pub use crate::state::{AppState, AuthFailureMode, Credentials, LedgerEntry, MockConfig, Stats};

/// The whole mock: test controls under `/__mock/`, everything else through the
/// case-insensitive Autotask dispatcher.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/__mock/state", get(controls::state_dump))
        .route(
            "/__mock/faults",
            get(controls::list_faults).post(controls::add_faults).delete(controls::clear_faults),
        )
        .route("/__mock/faults/release", post(controls::release))
        .route("/__mock/reset", post(controls::reset))
        .route("/__mock/stats", get(controls::stats))
        .fallback(routes::dispatch)
        .with_state(state)
}

/// A mock serving on loopback; it stops when dropped or on [`RunningMock::shutdown`].
#[derive(Debug)]
pub struct RunningMock {
    address: SocketAddr,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningMock {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// What zone discovery answers: `{base_url}/ATServicesRest/`.
    pub fn zone_url(&self) -> String {
        format!("{}/ATServicesRest/", self.base_url())
    }

    /// `{base_url}/ATServicesRest/V1.0`, the root every entity path hangs from.
    pub fn api_url(&self) -> String {
        format!("{}/ATServicesRest/V1.0", self.base_url())
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting, releases held requests and waits for open requests to finish.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        self.state.inner.faults.release_paused();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningMock {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.state.inner.faults.release_paused();
    }
}

/// Starts a mock on `127.0.0.1:0`.
pub async fn spawn(config: MockConfig) -> std::io::Result<RunningMock> {
    serve_on(TcpListener::bind("127.0.0.1:0").await?, AppState::new(config))
}

/// Serves `state` on an already bound listener (the binary binds its own port).
pub fn serve_on(listener: TcpListener, state: AppState) -> std::io::Result<RunningMock> {
    let address = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let app = router(state.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Ok(RunningMock { address, state, stop: Some(stop), task: Some(task) })
}
