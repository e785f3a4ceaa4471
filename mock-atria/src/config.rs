//! What a mock starts from: the seed periods, the API tokens, the clock and the RNG seed.

use std::path::{Path, PathBuf};

use crate::seed::{AUTOTASK_FORMAT, AtriaSnapshot};
use chrono::NaiveDate;

/// The developer token accepted by default (`ATRIA_TOKEN`).
pub const DEFAULT_TOKEN: &str = "mock-atria-token";
/// A token whose user lacks the developer permission, so every call gets 403.
pub const DEFAULT_NO_DEVELOPER_TOKEN: &str = "mock-atria-no-developer";
/// A token that expired long ago, so every call gets 401 `token_expired`.
pub const DEFAULT_EXPIRED_TOKEN: &str = "mock-atria-expired";

/// An Atria API token as Atria issues them: tied to a user, with or without the
/// "Service Provider Developer" permission, possibly with an expiry date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    pub token: String,
    pub user: String,
    pub developer: bool,
    /// Last valid day, compared with the mock clock; `None` never expires.
    pub expires_on: Option<NaiveDate>,
}

impl ApiToken {
    pub fn developer(token: impl Into<String>) -> ApiToken {
        ApiToken { token: token.into(), user: "api-developer".to_owned(), developer: true, expires_on: None }
    }

    pub fn without_developer_permission(token: impl Into<String>) -> ApiToken {
        ApiToken { token: token.into(), user: "api-reader".to_owned(), developer: false, expires_on: None }
    }

    pub fn expired(token: impl Into<String>) -> ApiToken {
        ApiToken {
            token: token.into(),
            user: "api-former-developer".to_owned(),
            developer: true,
            expires_on: NaiveDate::from_ymd_opt(2000, 1, 1),
        }
    }
}

/// The three tokens the binary and `MockConfig::new` use unless told otherwise.
pub fn default_tokens() -> Vec<ApiToken> {
    vec![
        ApiToken::developer(DEFAULT_TOKEN),
        ApiToken::without_developer_permission(DEFAULT_NO_DEVELOPER_TOKEN),
        ApiToken::expired(DEFAULT_EXPIRED_TOKEN),
    ]
}

/// Everything a mock starts from; `/__mock/reset` returns to exactly this.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// One snapshot per billing period, in any order (the mock sorts them by start date).
    pub periods: Vec<AtriaSnapshot>,
    pub tokens: Vec<ApiToken>,
    /// The mock clock's start; `None` picks a date inside the open period (see `default_clock`).
    pub clock: Option<NaiveDate>,
    /// Seeds the RNG behind fault rates, so a run with faults can be replayed.
    pub rng_seed: u64,
}

impl MockConfig {
    /// Seeds from these periods with the default tokens, the default clock and RNG seed 0.
    pub fn new(periods: Vec<AtriaSnapshot>) -> MockConfig {
        MockConfig { periods, tokens: default_tokens(), clock: None, rng_seed: 0 }
    }

    pub fn from_snapshot(snapshot: AtriaSnapshot) -> MockConfig {
        MockConfig::new(vec![snapshot])
    }

    /// Seeds one period from the text of an `atria.json` (`billsync.atria/v1`).
    pub fn from_json(bytes: &[u8]) -> Result<MockConfig, SeedError> {
        crate::seed::parse(bytes).map(MockConfig::from_snapshot).map_err(|problems| SeedError { problems })
    }

    /// Reads a fixture: a folder holding `atria.json`, a folder of Atria snapshots (one per
    /// period), or a single snapshot file.
    pub fn from_fixture(path: &Path) -> Result<MockConfig, SeedError> {
        load_fixture(path).map(MockConfig::new)
    }

    pub fn with_clock(mut self, today: NaiveDate) -> MockConfig {
        self.clock = Some(today);
        self
    }

    pub fn with_tokens(mut self, tokens: Vec<ApiToken>) -> MockConfig {
        self.tokens = tokens;
        self
    }

    pub fn with_rng_seed(mut self, rng_seed: u64) -> MockConfig {
        self.rng_seed = rng_seed;
        self
    }
}

/// Why a seed was refused; lists every problem found, not just the first.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot seed mock-atria:\n  {}", .problems.join("\n  "))]
pub struct SeedError {
    pub problems: Vec<String>,
}

impl SeedError {
    pub fn one(problem: impl Into<String>) -> SeedError {
        SeedError { problems: vec![problem.into()] }
    }
}

/// Loads the Atria snapshots of a fixture. A folder with `atria.json` seeds one period from it;
/// any other folder seeds one period per `*.json` file (Autotask snapshots lying beside them are
/// skipped); a file seeds one period.
pub fn load_fixture(path: &Path) -> Result<Vec<AtriaSnapshot>, SeedError> {
    let files = fixture_files(path)?;
    let mut snapshots = Vec::new();
    let mut problems = Vec::new();
    for file in files {
        let bytes = match std::fs::read(&file) {
            Ok(bytes) => bytes,
            Err(err) => {
                problems.push(format!("`{}`: cannot read: {err}", file.display()));
                continue;
            }
        };
        if is_autotask_snapshot(&bytes) {
            continue;
        }
        match crate::seed::parse(&bytes) {
            Ok(snapshot) => snapshots.push(snapshot),
            Err(found) => problems.extend(found.iter().map(|p| format!("{}: {p}", file.display()))),
        }
    }
    if !problems.is_empty() {
        return Err(SeedError { problems });
    }
    if snapshots.is_empty() {
        return Err(SeedError::one(format!("`{}` holds no Atria snapshot", path.display())));
    }
    Ok(snapshots)
}

fn fixture_files(path: &Path) -> Result<Vec<PathBuf>, SeedError> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let single = path.join("atria.json");
    if single.is_file() {
        return Ok(vec![single]);
    }
    let entries = std::fs::read_dir(path)
        .map_err(|err| SeedError::one(format!("`{}`: cannot read the folder: {err}", path.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|file| file.is_file() && file.extension().is_some_and(|ext| ext == "json"))
        .collect();
    // Sorted so that the order of problems and of equal-start periods does not depend on the OS.
    files.sort();
    Ok(files)
}

fn is_autotask_snapshot(bytes: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct FormatOnly {
        format: String,
    }
    serde_json::from_slice::<FormatOnly>(bytes).is_ok_and(|found| found.format == AUTOTASK_FORMAT)
}
