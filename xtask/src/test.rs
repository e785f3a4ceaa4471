//! `cargo xtask test`: installs what the tests need when it is missing (Chromium and chromedriver
//! for the HTML report tests; Node.js and npm for the real Autotask client that drives
//! mock-autotask), then runs every test of the workspace; the README's test command.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, bail};

/// The programs the tests run, in groups installed together, each with the Debian packages that
/// hold them: a group is installed only when one of its programs is missing, so a Node.js that
/// came from elsewhere is never replaced.
pub const GROUPS: [(&[&str], &[&str]); 2] = [
    (&["chromium", "chromedriver"], &["chromium", "chromium-driver"]),
    (&["node", "npm"], &["nodejs", "npm"]),
];

/// Every program the tests need.
pub fn programs() -> impl Iterator<Item = &'static str> {
    GROUPS.iter().flat_map(|(programs, _)| programs.iter().copied())
}

/// The Debian packages that bring what `missing` names.
pub fn packages_for(missing: &[&str]) -> Vec<&'static str> {
    GROUPS
        .iter()
        .filter(|(programs, _)| programs.iter().any(|program| missing.contains(program)))
        .flat_map(|(_, packages)| packages.iter().copied())
        .collect()
}

/// What to do before the tests, given what is missing and who runs the command.
#[derive(Debug, PartialEq, Eq)]
pub enum Setup {
    Ready,
    Install,
    /// Stop before building anything: `message` says what is missing and the command to run.
    Stop {
        message: String,
    },
}

pub fn install_command(sudo: bool, missing: &[&str]) -> String {
    let sudo = if sudo { "sudo " } else { "" };
    format!(
        "{sudo}apt-get update && {sudo}apt-get install -y --no-install-recommends {}",
        packages_for(missing).join(" ")
    )
}

pub fn setup(missing: &[&str], root: bool) -> Setup {
    if missing.is_empty() {
        Setup::Ready
    } else if root {
        Setup::Install
    } else {
        let names = missing.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(" and ");
        Setup::Stop {
            message: format!(
                "{names} not installed, and installing needs root; run this, then `cargo xtask test` again:\n  {}",
                install_command(true, missing)
            ),
        }
    }
}

fn on_path(program: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths).map(|dir| dir.join(program)).find(|path| path.is_file())
}

fn missing_programs() -> Vec<&'static str> {
    programs().filter(|program| on_path(program).is_none()).collect()
}

/// `apt-get update`, then the install; an error names the step and the whole command.
fn install(missing: &[&str]) -> anyhow::Result<()> {
    let started = Instant::now();
    let packages = packages_for(missing);
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend(&packages);
    for args in [vec!["update"], install] {
        eprintln!("xtask test: apt-get {}", args.join(" "));
        let status = Command::new("apt-get")
            .args(&args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .with_context(|| {
                format!("running `apt-get` (Debian's; elsewhere install {} yourself)", missing.join(" and "))
            })?;
        if !status.success() {
            bail!(
                "`apt-get {}` failed ({status}); the install is: {}",
                args.join(" "),
                install_command(false, missing)
            );
        }
    }
    let still = missing_programs();
    if !still.is_empty() {
        bail!("after `{}`, {} still not on PATH", install_command(false, missing), still.join(" and "));
    }
    eprintln!("xtask test: installed {} in {:.1} s", packages.join(" and "), started.elapsed().as_secs_f64());
    Ok(())
}

/// `cargo test --workspace --locked` with `args` after it; its exit code becomes ours.
pub fn run(args: &[String], root: &Path) -> anyhow::Result<ExitCode> {
    let missing = missing_programs();
    match setup(&missing, nix::unistd::geteuid().is_root()) {
        Setup::Ready => {}
        Setup::Install => {
            eprintln!("xtask test: {} missing; installing from Debian's packages", missing.join(" and "));
            install(&missing)?;
        }
        Setup::Stop { message } => bail!("{message}"),
    }
    // `cargo xtask` runs under cargo, which names itself in CARGO: the same toolchain tests.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let status = Command::new(&cargo)
        .args(["test", "--workspace", "--locked"])
        .args(args)
        .current_dir(root)
        .status()
        .with_context(|| format!("running {}", cargo.to_string_lossy()))?;
    // A signal has no code; 1 stands for it, like any failure.
    Ok(ExitCode::from(status.code().map_or(1, |code| u8::try_from(code).unwrap_or(1))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_to_do_when_both_are_installed() {
        assert_eq!(setup(&[], false), Setup::Ready);
        assert_eq!(setup(&[], true), Setup::Ready);
    }

    #[test]
    fn root_installs() {
        assert_eq!(setup(&["chromium", "chromedriver"], true), Setup::Install);
        assert_eq!(setup(&["chromedriver"], true), Setup::Install);
    }

    #[test]
    fn anyone_else_stops_with_the_command_to_run() {
        let Setup::Stop { message } = setup(&["chromedriver"], false) else { panic!("it should stop") };
        assert_eq!(
            message,
            "`chromedriver` not installed, and installing needs root; run this, then `cargo xtask test` again:\n  sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium chromium-driver"
        );
        let Setup::Stop { message } = setup(&["chromium", "chromedriver"], false) else {
            panic!("it should stop")
        };
        assert!(message.starts_with("`chromium` and `chromedriver` not installed"), "{message}");
        let Setup::Stop { message } = setup(&["npm"], false) else { panic!("it should stop") };
        assert!(message.ends_with("sudo apt-get install -y --no-install-recommends nodejs npm"), "{message}");
    }

    #[test]
    fn only_the_groups_with_something_missing_are_installed() {
        assert_eq!(packages_for(&["chromedriver"]), ["chromium", "chromium-driver"]);
        assert_eq!(packages_for(&["node"]), ["nodejs", "npm"]);
        assert_eq!(packages_for(&["chromium", "npm"]), ["chromium", "chromium-driver", "nodejs", "npm"]);
        assert!(packages_for(&[]).is_empty());
    }
}
