//! Secrets: a spec's `{ env: NAME }` / `{ file: PATH }` references resolved into values that
//! never print.
//!
//! A [`Secret`] shows as `***` in `Debug` and `Display`; only [`Secret::expose`] gives the value,
//! and only the HTTP clients call it, to fill a header. Errors name the variable or file, never
//! the value.

use std::fmt;

use thiserror::Error;

use crate::codes::Code;
use crate::spec::{AutotaskConnection, SecretRef};

/// A credential value. It cannot be printed by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value (trimmed), e.g. one a test or the demo holds in memory.
    pub fn new(value: impl Into<String>) -> Secret {
        let value = value.into();
        Secret(value.trim().to_owned())
    }

    /// The value, for a request header; never format it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Why one secret could not be resolved. `name` is the spec key, e.g. `autotask.secret`.
#[derive(Debug, Error)]
pub enum SecretError {
    #[error(
        "AT18 Failed to validate Autotask secrets. `{name}` must have a valid value: environment variable `{variable}` is not set or empty"
    )]
    MissingEnv { name: String, variable: String },
    #[error(
        "AT18 Failed to validate Autotask secrets. `{name}` must have a valid value: file `{path}` is empty"
    )]
    EmptyFile { name: String, path: String },
    #[error(
        "AT16 Failed to retrieve Autotask secrets. Error occurred is: `{name}`: cannot read file `{path}`: {reason}"
    )]
    UnreadableFile { name: String, path: String, reason: String },
}

impl SecretError {
    pub fn code(&self) -> Code {
        match self {
            SecretError::MissingEnv { .. } | SecretError::EmptyFile { .. } => Code::AT18,
            SecretError::UnreadableFile { .. } => Code::AT16,
        }
    }
}

/// Every secret that could not be resolved, so one run names them all.
#[derive(Debug, Error)]
pub struct SecretErrors(pub Vec<SecretError>);

impl SecretErrors {
    /// The code of the first problem (AT16 or AT18).
    pub fn code(&self) -> Code {
        self.0.first().map_or(Code::AT18, SecretError::code)
    }
}

impl fmt::Display for SecretErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// Resolves one reference; `name` is the spec key named in errors.
pub fn resolve(name: &str, reference: &SecretRef) -> Result<Secret, SecretError> {
    match reference {
        SecretRef::Env(variable) => match std::env::var(variable) {
            Ok(value) if !value.trim().is_empty() => Ok(Secret::new(value)),
            _ => Err(SecretError::MissingEnv { name: name.to_owned(), variable: variable.clone() }),
        },
        SecretRef::File(path) => match std::fs::read_to_string(path) {
            Ok(value) if !value.trim().is_empty() => Ok(Secret::new(value)),
            Ok(_) => Err(SecretError::EmptyFile { name: name.to_owned(), path: path.display().to_string() }),
            Err(error) => Err(SecretError::UnreadableFile {
                name: name.to_owned(),
                path: path.display().to_string(),
                reason: error.kind().to_string(),
            }),
        },
    }
}

/// The Autotask API user's three credentials.
#[derive(Clone, Debug)]
pub struct AutotaskCredentials {
    pub username: Secret,
    pub secret: Secret,
    pub integration_code: Secret,
}

impl AutotaskCredentials {
    /// Resolves all three, reporting every one that is missing.
    pub fn resolve(connection: &AutotaskConnection) -> Result<AutotaskCredentials, SecretErrors> {
        let username = resolve("autotask.username", &connection.username);
        let secret = resolve("autotask.secret", &connection.secret);
        let integration_code = resolve("autotask.integrationCode", &connection.integration_code);
        match (username, secret, integration_code) {
            (Ok(username), Ok(secret), Ok(integration_code)) => {
                Ok(AutotaskCredentials { username, secret, integration_code })
            }
            (username, secret, integration_code) => Err(SecretErrors(
                [username.err(), secret.err(), integration_code.err()].into_iter().flatten().collect(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints() {
        let secret = Secret::new("  canary-7f3a  ");
        assert_eq!(secret.expose(), "canary-7f3a");
        assert_eq!(format!("{secret} {secret:?} {:?}", Some(&secret)), "*** *** Some(***)");
    }

    #[test]
    fn a_missing_variable_is_at18_and_names_the_variable() {
        let error = resolve("autotask.secret", &SecretRef::Env("BILLSYNC_TEST_SURELY_UNSET_VARIABLE".into()))
            .unwrap_err();
        assert_eq!(error.code(), Code::AT18);
        let text = error.to_string();
        assert!(
            text.contains("`BILLSYNC_TEST_SURELY_UNSET_VARIABLE`") && text.contains("`autotask.secret`"),
            "{text}"
        );
    }

    #[test]
    fn files_are_trimmed_and_an_empty_or_missing_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good");
        std::fs::write(&good, "value-in-file\n").unwrap();
        assert_eq!(resolve("x", &SecretRef::File(good)).unwrap().expose(), "value-in-file");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, " \n").unwrap();
        assert_eq!(resolve("x", &SecretRef::File(empty)).unwrap_err().code(), Code::AT18);
        let missing = resolve("x", &SecretRef::File(dir.path().join("missing"))).unwrap_err();
        assert_eq!(missing.code(), Code::AT16);
        assert!(missing.to_string().contains("missing`"), "{missing}");
    }
}
