//! Headless Chromium through chromedriver for the HTML report tests (`html_report.rs`,
//! `html_workbench.rs`): chromedriver on a free loopback port, and a session with a new empty
//! profile. A missing browser fails the test, naming how to install it; it is never skipped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use thirtyfour::prelude::*;

/// What installs the browser: `cargo xtask test` runs it when they are missing.
pub const INSTALL: &str = "`cargo xtask test` (as root), or `sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium chromium-driver`";

/// A program on PATH, or a failure that says how to install it (never a silent skip).
pub fn required(program: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|path| path.is_file());
    found.unwrap_or_else(|| panic!("`{program}` is not installed; the HTML report tests need it: {INSTALL}"))
}

/// chromedriver on a free loopback port, killed when dropped (also when an assertion fails).
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    pub async fn start() -> Driver {
        let chromedriver = required("chromedriver");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a port")
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
        let started = Instant::now();
        let status = format!("{}/status", driver.url);
        loop {
            let ready = match reqwest::get(&status).await {
                Ok(answer) => {
                    answer.json::<serde_json::Value>().await.is_ok_and(|body| body["value"]["ready"] == true)
                }
                Err(_) => false,
            };
            if ready {
                break driver;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A headless Chromium session with a new empty profile, downloading into `downloads`.
    pub async fn session(&self, profile: &Path, downloads: &Path) -> WebDriver {
        let mut capabilities = DesiredCapabilities::chrome();
        capabilities.set_binary(&required("chromium").to_string_lossy()).expect("binary");
        for arg in [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1400,1000",
            &format!("--user-data-dir={}", profile.display()),
        ] {
            capabilities.add_arg(arg).expect("an argument");
        }
        capabilities
            .add_experimental_option(
                "prefs",
                json!({
                    "download.default_directory": downloads,
                    "download.prompt_for_download": false,
                    "download.directory_upgrade": true,
                }),
            )
            .expect("download preferences");
        WebDriver::new(&self.url, capabilities)
            .await
            .unwrap_or_else(|error| panic!("no browser session (is `chromium` working? {INSTALL}): {error}"))
    }
}
