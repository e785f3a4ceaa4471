//! `cargo xtask test`, the README's test command, run as a user would: what it runs (a stand-in
//! `cargo` records it), its exit code, where it stops without root, and usage errors without a
//! backtrace. No test here installs anything: each puts stand-ins for the browser on PATH or
//! runs without root.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const INSTALL: &str =
    "sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium chromium-driver";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace").to_owned()
}

/// A folder of executable shell scripts, readable and runnable by any user.
struct Stand {
    dir: tempfile::TempDir,
}

impl Stand {
    fn new() -> Stand {
        let dir = tempfile::tempdir().expect("a temp dir");
        // Also for the unprivileged user of the no-root test: it records there too.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
        Stand { dir }
    }

    fn script(&self, name: &str, body: &str) -> &Stand {
        let path = self.dir.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write a script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        self
    }

    /// A `cargo` that records its working folder and arguments, then exits with `code`.
    fn cargo(&self, code: u8) -> &Stand {
        let record = self.record();
        self.script(
            "cargo",
            &format!("pwd -P > '{}'\necho \"$@\" >> '{}'\nexit {code}", record.display(), record.display()),
        )
    }

    fn record(&self) -> PathBuf {
        self.dir.path().join("cargo-ran")
    }

    /// `xtask ARGS` with this folder alone on PATH and its `cargo` as CARGO (as `cargo xtask`
    /// sets it), and RUST_BACKTRACE=1 as on many machines.
    fn xtask(&self, args: &[&str]) -> Output {
        self.run(Command::new(env!("CARGO_BIN_EXE_xtask")), args)
    }

    /// The same as a user who is not root: as root, through `setpriv` as `nobody`.
    fn xtask_without_root(&self, args: &[&str]) -> Output {
        if !nix::unistd::geteuid().is_root() {
            return self.xtask(args);
        }
        let mut command = Command::new("/usr/bin/setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_xtask")]);
        self.run(command, args)
    }

    fn run(&self, mut command: Command, args: &[&str]) -> Output {
        command
            .args(args)
            .env("PATH", self.dir.path())
            .env("CARGO", self.dir.path().join("cargo"))
            .env("RUST_BACKTRACE", "1")
            .env("RUST_LIB_BACKTRACE", "1")
            .output()
            .expect("xtask runs")
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn runs_every_test_with_the_arguments_given_and_passes_the_exit_code_through() {
    let stand = Stand::new();
    stand
        .script("chromium", "exit 0")
        .script("chromedriver", "exit 0")
        .script("node", "exit 0")
        .script("npm", "exit 0")
        .cargo(7);
    let output = stand.xtask(&["test", "--test", "cli", "--", "--nocapture"]);
    assert_eq!(output.status.code(), Some(7), "{}", text(&output.stderr));
    let record = std::fs::read_to_string(stand.record()).expect("cargo ran");
    let root = workspace_root().canonicalize().expect("the workspace");
    assert_eq!(record, format!("{}\ntest --workspace --locked --test cli -- --nocapture\n", root.display()));

    stand.cargo(0);
    assert_eq!(stand.xtask(&["test"]).status.code(), Some(0));
}

#[test]
fn without_root_a_missing_browser_stops_it_before_building_with_the_command_to_run() {
    let stand = Stand::new();
    stand.script("chromedriver", "exit 0").script("node", "exit 0").script("npm", "exit 0").cargo(42);
    let output = stand.xtask_without_root(&["test"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("`chromium` not installed"), "{stderr}");
    assert!(stderr.contains(&format!("\n  {INSTALL}\n")), "{stderr}");
    assert!(!stand.record().exists(), "cargo ran: {stderr}");
    assert!(!stderr.to_lowercase().contains("backtrace"), "{stderr}");
}

#[test]
fn usage_errors_print_the_usage_and_no_backtrace() {
    let stand = Stand::new();
    stand.cargo(42);
    for (args, error) in [
        (&["bogus"][..], "xtask: error: unknown task `bogus`\n"),
        (&[], "xtask: error: no task given\n"),
        (
            &["gen", "--customers", "ten"],
            "xtask: error: --customers `ten` is not a whole number: invalid digit",
        ),
    ] {
        let output = stand.xtask(args);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "xtask {args:?}: {stderr}");
        assert!(stderr.contains(error), "xtask {args:?}: {stderr}");
        assert!(!stderr.to_lowercase().contains("backtrace"), "xtask {args:?}: {stderr}");
    }
    let help = stand.xtask(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(text(&help.stdout).contains("cargo xtask test [ARGS]"), "{}", text(&help.stdout));
    assert!(!stand.record().exists(), "no usage error runs cargo");
}

/// A newcomer and CI run the same command: the README's, verbatim, after fmt and clippy.
#[test]
fn ci_runs_the_readmes_test_command() {
    let root = workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let section = readme.split_once("Run the tests").expect("README: a \"Run the tests\" paragraph").1;
    let command = section
        .split_once("```sh\n")
        .and_then(|(_, block)| block.split_once("\n```"))
        .expect("README: the test command's sh block")
        .0;
    assert_eq!(command, "cargo xtask test");
    let ci = std::fs::read_to_string(root.join(".ci/run")).expect(".ci/run");
    let lines: Vec<&str> = ci.lines().map(str::trim).collect();
    let position = |wanted: &str| lines.iter().position(|line| line.starts_with(wanted));
    let test = position(command).unwrap_or_else(|| panic!(".ci/run should run `{command}`:\n{ci}"));
    assert_eq!(lines[test], command, ".ci/run runs it as it stands");
    let fmt = position("cargo fmt --all --check").expect(".ci/run checks formatting");
    let clippy = position("cargo clippy --workspace --all-targets --locked -- -D warnings")
        .expect(".ci/run runs clippy");
    assert!(fmt < clippy && clippy < test, "{ci}");
}
