//! The `billsync` binary end to end: exit codes, outputs, and one test per kind of bad input
//! (each must exit 1, name the file and the place, and write nothing).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{AS_OF, fixtures};

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn billsync(args: &[&str]) -> Outcome {
    let output = Command::new(env!("CARGO_BIN_EXE_billsync")).args(args).output().expect("billsync runs");
    Outcome {
        code: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `billsync plan` on a folder's `job.yaml`, `atria.json` and `autotask.json`, plus `extra`.
fn plan_in(folder: &Path, as_of: &str, extra: &[&str]) -> Outcome {
    let mut args = common::plan_args(
        &folder.join("job.yaml"),
        &folder.join("atria.json"),
        &folder.join("autotask.json"),
        as_of,
    );
    args.extend(extra.iter().map(|arg| (*arg).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    billsync(&args)
}

/// A scratch folder holding a copy of the seed example, where a test replaces one file.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().expect("a temp dir");
        for file in ["job.yaml", "atria.json", "autotask.json"] {
            std::fs::copy(fixtures().join("seed-example").join(file), dir.path().join(file)).expect("copy");
        }
        Scratch { dir }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    fn write(&self, file: &str, text: &str) -> &Scratch {
        std::fs::write(self.path(file), text).expect("write");
        self
    }

    fn edit(&self, file: &str, from: &str, to: &str) -> &Scratch {
        let text = std::fs::read_to_string(self.path(file)).expect("read");
        assert!(text.contains(from), "{file} has no `{from}`");
        self.write(file, &text.replacen(from, to, 1))
    }

    /// `billsync plan` on the scratch files, asked to write `plan.json`.
    fn plan(&self) -> Outcome {
        let out = self.path("plan.json").to_string_lossy().into_owned();
        plan_in(self.dir.path(), AS_OF, &["--out", &out])
    }

    /// Runs `plan` and checks the failure: exit 1, each expected text in stderr, no plan written.
    fn fails_with(&self, expected: &[&str]) {
        let outcome = self.plan();
        assert_eq!(outcome.code, 1, "stderr: {}", outcome.stderr);
        for text in expected {
            assert!(outcome.stderr.contains(text), "stderr lacks `{text}`:\n{}", outcome.stderr);
        }
        assert!(!outcome.stderr.contains("panicked"), "{}", outcome.stderr);
        assert!(outcome.stdout.is_empty(), "nothing on stdout: {}", outcome.stdout);
        assert!(!self.path("plan.json").exists(), "no plan is written on error");
    }
}

#[test]
fn plan_prints_text_and_writes_json() {
    let scratch = Scratch::new();
    let outcome = scratch.plan();
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert!(outcome.stdout.contains("~ update    AT09  Microsoft 365 Business Premium (service 12)"));
    assert!(
        outcome
            .stdout
            .contains("Plan: 2 update, 1 create, 1 zero, 1 unchanged, 2 skipped (AT07 ×1, AT08 ×1)")
    );
    let plan = billsync::plan::Plan::load(&scratch.path("plan.json")).expect("the written plan loads");
    assert_eq!(plan.summary.changes(), 4);

    let shown = billsync(&["show", &scratch.path("plan.json").to_string_lossy()]);
    assert_eq!(shown.code, 0);
    assert_eq!(shown.stdout, outcome.stdout, "show renders the saved plan as plan printed it");
    let quiet = billsync(&["show", &scratch.path("plan.json").to_string_lossy(), "--log-level", "warning"]);
    assert!(
        quiet.stdout.contains("AT07 warning") && !quiet.stdout.contains("AT10 verbose"),
        "{}",
        quiet.stdout
    );
}

#[test]
fn detailed_exitcode_says_whether_there_are_changes() {
    let seed = fixtures().join("seed-example");
    let no_rows = fixtures().join("no-billing-rows");
    let run = |folder: &Path| plan_in(folder, AS_OF, &["--json", "--detailed-exitcode"]);
    let changes = run(&seed);
    assert_eq!(changes.code, 2);
    assert!(changes.stdout.starts_with("{\n  \"format\": \"billsync.plan/v1\""));
    assert_eq!(run(&no_rows).code, 0);
}

#[test]
fn unknown_key_in_the_spec() {
    Scratch::new().edit("job.yaml", "logLevel: verbose", "logLevel: verbose\ncolour: blue").fails_with(&[
        "job.yaml",
        "line 8 column 1, $.colour",
        "colour",
    ]);
}

#[test]
fn wrong_type_in_the_spec() {
    // Strict booleans: `yes` is a string, not true.
    Scratch::new().edit("job.yaml", "allowCreateItems: true", "allowCreateItems: yes").fails_with(&[
        "job.yaml",
        "line 11 column 1",
        "$.allowCreateItems",
        "boolean",
    ]);
}

#[test]
fn duplicate_key_in_the_spec() {
    Scratch::new().edit("job.yaml", "logLevel: verbose", "logLevel: verbose\nlogLevel: info").fails_with(&[
        "job.yaml",
        "line 8 column 1",
        "duplicate mapping key: logLevel",
    ]);
}

#[test]
fn bad_billing_period_is_at19() {
    Scratch::new().edit("job.yaml", "billingPeriod: current", "billingPeriod: 2026-13-45").fails_with(&[
        "job.yaml",
        "line 8",
        "AT19",
        "2026-13-45",
    ]);
    Scratch::new().edit("job.yaml", "billingPeriod: current", "billingPeriod: last month").fails_with(&[
        "job.yaml",
        "line 8",
        "AT19",
        "$.billingPeriod",
    ]);
}

#[test]
fn billing_period_outside_the_snapshot_is_at19() {
    Scratch::new().edit("job.yaml", "billingPeriod: current", "billingPeriod: 2025-01-31").fails_with(&[
        "AT19",
        "2025-01-31",
        "2026-10-26",
    ]);
}

#[test]
fn yaml_alias_bomb() {
    let mut bomb =
        String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for level in 1..9 {
        let previous = (b'a' + level - 1) as char;
        let name = (b'a' + level) as char;
        let items = vec![format!("*{previous}"); 9].join(",");
        bomb.push_str(&format!("{name}: &{name} [{items}]\n"));
    }
    let started = std::time::Instant::now();
    Scratch::new().write("job.yaml", &bomb).fails_with(&["job.yaml", "alias"]);
    assert!(started.elapsed().as_secs() < 10, "an alias bomb fails fast");
}

#[test]
fn empty_spec_file() {
    Scratch::new().write("job.yaml", "").fails_with(&["job.yaml", "empty"]);
}

#[test]
fn empty_snapshot_files() {
    Scratch::new()
        .write("atria.json", "")
        .write("autotask.json", "")
        .fails_with(&["atria.json: $: the file is empty", "autotask.json: $: the file is empty"]);
}

#[test]
fn negative_and_fractional_counts() {
    Scratch::new()
        .edit("atria.json", "\"thisMonthCount\": 25", "\"thisMonthCount\": -25")
        .edit("atria.json", "\"thisMonthCount\": 4 }", "\"thisMonthCount\": 4.5 }")
        .fails_with(&[
            "atria.json: $.billing[0].thisMonthCount",
            "-25",
            "atria.json: $.billing[1].thisMonthCount",
            "4.5",
        ]);
}

#[test]
fn dangling_references() {
    Scratch::new()
        .edit("autotask.json", "\"id\": 5002, \"contractID\": 991", "\"id\": 5002, \"contractID\": 999")
        .edit(
            "atria.json",
            "{ \"customerCode\": \"ASP\", \"productSku\": \"31\"",
            "{ \"customerCode\": \"ZZZ\", \"productSku\": \"31\"",
        )
        .fails_with(&[
            "autotask.json: $.contractServices[1].contractID: contract 999 does not exist",
            "atria.json: $.billing[1].customerCode: customer `ZZZ` is not in `customers`",
        ]);
}

#[test]
fn duplicate_ids() {
    Scratch::new()
        .edit("autotask.json", "\"id\": 7002", "\"id\": 7001")
        .fails_with(&["autotask.json: $.contractServiceUnits[1].id: duplicate id 7001"]);
}

#[test]
fn wrong_format() {
    Scratch::new()
        .edit("atria.json", "billsync.atria/v1", "billsync.atria/v2")
        .fails_with(&["atria.json: $.format: expected `billsync.atria/v1`, found `billsync.atria/v2`"]);
    // The Autotask file given where the Atria file belongs.
    let scratch = Scratch::new();
    let autotask = std::fs::read_to_string(scratch.path("autotask.json")).expect("read");
    scratch
        .write("atria.json", &autotask)
        .fails_with(&["$.format: expected `billsync.atria/v1`, found `billsync.autotask/v1`"]);
}

#[test]
fn broken_json_is_placed() {
    Scratch::new()
        .edit("autotask.json", "\"isActive\": true },", "\"isActive\": true }")
        .fails_with(&["autotask.json: line 5 column 5: invalid JSON"]);
}

#[test]
fn a_closed_stdout_or_stderr_leaves_the_exit_code_alone() {
    let seed = fixtures().join("seed-example/job.yaml");
    let closed = || {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        writer
    };
    let run = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_billsync"));
        command.args(args).stdout(closed()).stderr(closed()).status().expect("billsync runs").code()
    };
    // `validate` prints a line per file, and the error an error line: neither may panic (101).
    assert_eq!(run(&["spec", "validate", &seed.to_string_lossy()]), Some(0));
    assert_eq!(run(&["show", "/nonexistent/plan.json"]), Some(1));

    // A plan whose every rendering is bigger than the writers' buffers (64 KiB), so that the
    // closed pipe is met in the middle of the rendering, not at its end: `show … | head`.
    let dir = tempfile::tempdir().expect("a temp dir");
    let (atria, autotask) = billsync::synth::generate(billsync::synth::SynthConfig {
        customers: 150,
        rows_per_customer: 10,
        seed: 3,
    });
    std::fs::write(dir.path().join("atria.json"), serde_json::to_vec(&atria).expect("json")).expect("write");
    std::fs::write(dir.path().join("autotask.json"), serde_json::to_vec(&autotask).expect("json"))
        .expect("write");
    std::fs::write(dir.path().join("job.yaml"), billsync::synth::JOB_YAML).expect("write");
    let plan = dir.path().join("plan.json");
    let planned = plan_in(dir.path(), "2026-11-24T22:00:00Z", &["--out", &plan.to_string_lossy()]);
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    let plan = plan.to_string_lossy();
    for (format, colour) in
        [("text", "never"), ("text", "always"), ("json", "never"), ("csv", "never"), ("html", "never")]
    {
        let shown = billsync(&["show", &plan, "--format", format, "--color", colour]);
        assert!(shown.stdout.len() > 1 << 17, "{format}: {} bytes", shown.stdout.len());
        assert_eq!(
            run(&["show", &plan, "--format", format, "--color", colour]),
            Some(0),
            "{format}, colour {colour}"
        );
    }
    assert_eq!(
        run(&[
            "plan",
            "--spec",
            &dir.path().join("job.yaml").to_string_lossy(),
            "--atria",
            &dir.path().join("atria.json").to_string_lossy(),
            "--autotask",
            &dir.path().join("autotask.json").to_string_lossy(),
            "--as-of",
            "2026-11-24T22:00:00Z",
            "--color",
            "always"
        ]),
        Some(0)
    );
}

#[test]
fn missing_file_and_bad_as_of() {
    let outcome = billsync(&["plan", "--spec", "/nonexistent/job.yaml", "--atria", "a", "--autotask", "b"]);
    assert_eq!(outcome.code, 1);
    assert!(outcome.stderr.contains("/nonexistent/job.yaml: cannot read"), "{}", outcome.stderr);
    let outcome = plan_in(Scratch::new().dir.path(), "yesterday", &[]);
    assert_eq!(outcome.code, 1);
    assert!(outcome.stderr.contains("--as-of `yesterday`"), "{}", outcome.stderr);
}

#[test]
fn show_refuses_what_is_not_a_plan() {
    let atria = fixtures().join("seed-example/atria.json");
    let outcome = billsync(&["show", &atria.to_string_lossy()]);
    assert_eq!(outcome.code, 1);
    assert!(
        outcome.stderr.contains("$.format: expected `billsync.plan/v1`, found `billsync.atria/v1`"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn spec_validate_and_schema() {
    let seed = fixtures().join("seed-example/job.yaml");
    let every = fixtures().join("every-code/job.yaml");
    let ok = billsync(&["spec", "validate", &seed.to_string_lossy(), &every.to_string_lossy()]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert_eq!(ok.stdout.lines().filter(|line| line.ends_with(": ok")).count(), 2);

    let scratch = Scratch::new();
    scratch.edit("job.yaml", "version: 1", "version: 2");
    let bad =
        billsync(&["spec", "validate", &seed.to_string_lossy(), &scratch.path("job.yaml").to_string_lossy()]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("$.version") && bad.stderr.contains("1 of 2 spec files are invalid"),
        "{}",
        bad.stderr
    );

    let schema = billsync(&["spec", "schema"]);
    assert_eq!(schema.code, 0);
    let committed =
        std::fs::read_to_string(fixtures().join("../specs/job.schema.json")).expect("committed schema");
    assert_eq!(schema.stdout, committed);
}

#[test]
fn spec_import_reports_the_seed_examples_missing_and_trailing_commas() {
    let legacy = fixtures().join("seed-example/legacy");
    let outcome = billsync(&["spec", "import", "--params", &legacy.join("params.json").to_string_lossy()]);
    assert_eq!(outcome.code, 1);
    assert!(outcome.stderr.contains("params.json: line 4 column 1"), "{}", outcome.stderr);
    assert!(outcome.stderr.contains("a `,` is missing at the end of line 3"), "{}", outcome.stderr);
    assert!(outcome.stdout.is_empty());

    let outcome = billsync(&[
        "spec",
        "import",
        "--params",
        &legacy.join("params-fixed.json").to_string_lossy(),
        "--secrets",
        &legacy.join("secrets.json").to_string_lossy(),
    ]);
    assert_eq!(outcome.code, 1);
    assert!(outcome.stderr.contains("secrets.json: line 4 column 1"), "{}", outcome.stderr);
    assert!(outcome.stderr.contains("remove the `,` after the last entry"), "{}", outcome.stderr);
}

#[test]
fn spec_import_writes_a_valid_spec_and_never_copies_secrets() {
    let legacy = fixtures().join("seed-example/legacy");
    let scratch = Scratch::new();
    scratch.write("secrets.json", "{\"UserName\": \"api@cspservices.com\", \"Secret\": \"canary-5f1d9a\"}");
    let outcome = billsync(&[
        "spec",
        "import",
        "--params",
        &legacy.join("params-fixed.json").to_string_lossy(),
        "--secrets",
        &scratch.path("secrets.json").to_string_lossy(),
    ]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert!(!outcome.stdout.contains("canary-5f1d9a") && !outcome.stderr.contains("canary-5f1d9a"));
    let spec = billsync::spec::parse(&outcome.stdout)
        .unwrap_or_else(|problems| panic!("{problems}\n{}", outcome.stdout));
    assert_eq!(spec.customers, ["ASP", "SampleCustomerShortCodeName"]);
    assert_eq!(spec.billing_period, billsync::spec::PeriodSelector::Current);
    assert!(spec.allow_create_items && !spec.pro_rated_transactions);
    assert_eq!(spec.autotask.expect("autotask section").zone_user.as_deref(), Some("fred@cspservices.com"));

    // Placeholder secrets are AT18, and the value is not echoed.
    scratch.write("secrets.json", "{\"UserName\": \"XXXXXXXXX\", \"Secret\": \"\"}");
    let outcome = billsync(&[
        "spec",
        "import",
        "--params",
        &legacy.join("params-fixed.json").to_string_lossy(),
        "--secrets",
        &scratch.path("secrets.json").to_string_lossy(),
    ]);
    assert_eq!(outcome.code, 1);
    assert!(
        outcome.stderr.contains("$.UserName: AT18") && outcome.stderr.contains("$.Secret: AT18"),
        "{}",
        outcome.stderr
    );
}

/// Plans a fixture folder at `as_of` into `out`; the plan's path.
fn plan_to(folder: &str, as_of: &str, out: &Path) -> String {
    let out = out.to_string_lossy().into_owned();
    let outcome = plan_in(&fixtures().join(folder), as_of, &["--out", &out]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    out
}

#[test]
fn diff_of_two_consecutive_months() {
    let scratch = tempfile::tempdir().expect("a temp dir");
    let november = plan_to("seed-example", AS_OF, &scratch.path().join("2026-11.json"));
    let december =
        plan_to("seed-example-next-month", "2026-12-24T22:00:00Z", &scratch.path().join("2026-12.json"));
    let outcome = billsync(&["diff", &november, &december]);
    assert_eq!(outcome.code, 2, "{}", outcome.stderr);
    let diff = &outcome.stdout;
    assert!(diff.starts_with(&format!("--- {november} (plan ")), "{diff}");
    assert!(diff.contains(&format!("\n+++ {december} (plan ")), "{diff}");
    // Per customer and service: old and new target, units, money; lines that came and went.
    assert!(
        diff.contains("\nASP — ASP Cloud\n  ~ Microsoft 365 Business Premium (service 12)   target 25 → 27   +2 units   update AT09, in Autotask 20 → 25   +44.00/month\n"),
        "{diff}"
    );
    assert!(
        diff.contains("\n  + Exchange Online Plan 1 (service 17)   target — → 2   +2 units   appeared (create AT11)   +8.00/month\n"),
        "{diff}"
    );
    assert!(
        diff.contains("\n  - row \"Legacy Hosted Exchange\" (SKU \"99\")   target 2 → —   -2 units   went away (was skip AT08)   no price\n"),
        "{diff}"
    );
    assert!(
        diff.ends_with("\n5 lines differ (2 changed, 1 appeared, 2 went away); units +4; money +94.00/month (1 line with no price not counted)\n"),
        "{diff}"
    );
    assert!(!diff.contains('\x1b'), "no colour when piped");

    // The same as JSON, exact amounts as strings, and as Markdown with the totals first.
    let json = billsync(&["diff", &november, &december, "--format", "json"]);
    assert_eq!(json.code, 2, "{}", json.stderr);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(value["format"], "billsync.plan-diff/v1");
    assert_eq!(value["summary"]["amountChange"], "94");
    assert_eq!(value["lines"][0]["oldTarget"], 25);
    assert_eq!(value["lines"][0]["newTarget"], 27);
    let markdown = billsync(&["diff", &november, &december, "--format", "markdown"]);
    assert_eq!(markdown.code, 2, "{}", markdown.stderr);
    assert!(markdown.stdout.contains("\n**5 lines differ"), "{}", markdown.stdout);
    assert!(
        markdown.stdout.contains("| `~` | ASP | Microsoft 365 Business Premium (service 12) | 25 | 27 | +2 | update AT09, in Autotask 20 → 25 | +44.00/month |"),
        "{}",
        markdown.stdout
    );
    // Snapshots show a unified diff only.
    let atria = fixtures().join("seed-example/atria.json").to_string_lossy().into_owned();
    let refused = billsync(&["diff", &atria, &atria, "--format", "json"]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("is for two plans"), "{}", refused.stderr);

    // The two months' Atria snapshots, canonically ordered.
    let atria = |folder: &str| fixtures().join(folder).join("atria.json").to_string_lossy().into_owned();
    let outcome = billsync(&["diff", &atria("seed-example"), &atria("seed-example-next-month")]);
    assert_eq!(outcome.code, 2, "{}", outcome.stderr);
    assert!(outcome.stdout.contains("+    \"endDate\": \"2026-12-25\","), "{}", outcome.stdout);
}

#[test]
fn diff_of_identical_inputs_is_empty_and_exits_0() {
    let scratch = tempfile::tempdir().expect("a temp dir");
    let plan = plan_to("seed-example", AS_OF, &scratch.path().join("plan.json"));
    let same = billsync(&["diff", &plan, &plan]);
    assert_eq!((same.code, same.stdout.as_str(), same.stderr.as_str()), (0, "", ""));

    // A snapshot listed in another order is the same snapshot.
    let autotask = fixtures().join("seed-example/autotask.json");
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&autotask).expect("read")).expect("JSON");
    value["contractServiceUnits"].as_array_mut().expect("an array").reverse();
    let reordered = scratch.path().join("autotask.json");
    std::fs::write(&reordered, serde_json::to_string(&value).expect("JSON")).expect("write");
    let same = billsync(&["diff", &autotask.to_string_lossy(), &reordered.to_string_lossy()]);
    assert_eq!((same.code, same.stdout.as_str()), (0, ""), "{}", same.stderr);
}

#[test]
fn diff_refuses_mismatched_kinds() {
    let scratch = tempfile::tempdir().expect("a temp dir");
    let plan = plan_to("seed-example", AS_OF, &scratch.path().join("plan.json"));
    let atria = fixtures().join("seed-example/atria.json").to_string_lossy().into_owned();
    let outcome = billsync(&["diff", &plan, &atria]);
    assert_eq!(outcome.code, 1);
    assert!(
        outcome.stderr.contains("`billsync.plan/v1`") && outcome.stderr.contains("`billsync.atria/v1`"),
        "{}",
        outcome.stderr
    );
    let job = fixtures().join("seed-example/job.yaml").to_string_lossy().into_owned();
    let outcome = billsync(&["diff", &job, &atria]);
    assert_eq!(outcome.code, 1);
    assert!(outcome.stderr.contains("job.yaml: line 1 column"), "{}", outcome.stderr);
}

#[test]
fn show_formats_and_the_summary_file() {
    let scratch = tempfile::tempdir().expect("a temp dir");
    let plan = scratch.path().join("plan.json").to_string_lossy().into_owned();
    let summary = scratch.path().join("summary.md");
    let outcome = plan_in(
        &fixtures().join("seed-example"),
        AS_OF,
        &["--out", &plan, "--summary-md", &summary.to_string_lossy()],
    );
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let markdown = billsync(&["show", &plan, "--format", "markdown"]);
    assert_eq!(std::fs::read_to_string(&summary).expect("the summary is written"), markdown.stdout);
    assert!(markdown.stdout.starts_with("## billsync plan `"), "{}", markdown.stdout);

    let json = billsync(&["show", &plan, "--format", "json"]);
    assert_eq!(json.stdout, std::fs::read_to_string(&plan).expect("read"));
    let csv = billsync(&["show", &plan, "--format", "csv", "--log-level", "error"]);
    assert!(csv.stdout.starts_with("record,kind,code,level,"), "{}", csv.stdout);
    assert!(!csv.stdout.contains("\r\nlog,"), "no log entry is an error: {}", csv.stdout);
    let html = billsync(&["show", &plan, "--format", "html"]);
    assert!(html.stdout.starts_with("<!doctype html>") && html.stdout.ends_with("</html>\n"));
    let text = billsync(&["show", &plan]);
    assert!(!text.stdout.contains('\x1b'), "no colour when piped");
}

#[test]
fn timestamps_without_offset_and_date_only_values_are_placed() {
    Scratch::new()
        .edit(
            "autotask.json",
            "\"endDate\": \"2026-11-25T00:00:00Z\"",
            "\"endDate\": \"2026-11-25T00:00:00\"",
        )
        .fails_with(&[
            "autotask.json: $.contractServiceUnits[0].endDate: expected a timestamp with a UTC offset, like \
             `2026-11-25T00:00:00Z`, found a timestamp without an offset: `2026-11-25T00:00:00`",
        ]);
    Scratch::new()
        .edit("autotask.json", "\"startDate\": \"2026-01-01T00:00:00Z\"", "\"startDate\": \"2026-01-01\"")
        .fails_with(&["autotask.json: $.contracts[0].startDate: expected a timestamp with a UTC offset"]);
}

#[test]
fn integral_float_counts_are_integers() {
    let scratch = Scratch::new();
    scratch.edit("atria.json", "\"thisMonthCount\": 25", "\"thisMonthCount\": 25.0").edit(
        "autotask.json",
        "\"units\": 20",
        "\"units\": 20.0000",
    );
    let outcome = scratch.plan();
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert!(
        outcome.stdout.contains("Microsoft 365 Business Premium (service 12)   20 → 25"),
        "{}",
        outcome.stdout
    );
}

/// `fixtures/real-shaped`: entities with every field of the Autotask swagger models and Atria
/// rows with every column of the summary export plan, show and diff like any other input.
#[test]
fn real_shaped_snapshots_plan_show_and_diff() {
    let folder = fixtures().join("real-shaped");
    let scratch = tempfile::tempdir().expect("a temp dir");
    let plan = plan_to("real-shaped", AS_OF, &scratch.path().join("plan.json"));
    let printed = plan_in(&folder, AS_OF, &[]);
    let text = billsync(&["show", &plan]);
    assert_eq!((text.code, &text.stdout), (0, &printed.stdout), "{}", text.stderr);
    assert!(
        text.stdout.contains("NORTHWIND — Northwind Traders (company 29684101, contract 1201)")
            && text
                .stdout
                .contains("~ update    AT09  Microsoft 365 Business Premium (service 12)   40 → 42")
            && text.stdout.contains("Plan: 2 update, 1 create, 0 zero, 2 unchanged, 0 skipped"),
        "{}",
        text.stdout
    );
    for format in ["json", "markdown", "csv", "html"] {
        let shown = billsync(&["show", &plan, "--format", format]);
        assert_eq!(shown.code, 0, "{format}: {}", shown.stderr);
        assert!(shown.stdout.contains("Northwind Traders"), "{format}: {}", shown.stdout);
    }

    // A vendor field billsync ignores is no change; a unit count is.
    let autotask = folder.join("autotask.json");
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&autotask).expect("read")).expect("JSON");
    value["companies"][0]["userDefinedFields"][1]["value"] = serde_json::json!("Platinum");
    value["contracts"][0]["isDefaultContract"] = serde_json::json!(false);
    let vendor_only = scratch.path().join("vendor-only.json");
    std::fs::write(&vendor_only, serde_json::to_string(&value).expect("JSON")).expect("write");
    let same = billsync(&["diff", &autotask.to_string_lossy(), &vendor_only.to_string_lossy()]);
    assert_eq!((same.code, same.stdout.as_str()), (0, ""), "{}", same.stderr);

    let row = value["contractServiceUnits"]
        .as_array_mut()
        .expect("an array")
        .iter_mut()
        .find(|row| row["id"] == 8101)
        .expect("row 8101");
    row["units"] = serde_json::json!(41.0);
    let changed = scratch.path().join("autotask.json");
    std::fs::write(&changed, serde_json::to_string(&value).expect("JSON")).expect("write");
    let outcome = billsync(&["diff", &autotask.to_string_lossy(), &changed.to_string_lossy()]);
    assert_eq!(outcome.code, 2, "{}", outcome.stderr);
    assert!(
        outcome.stdout.contains("\n-      \"units\": 40,\n+      \"units\": 41,\n"),
        "{}",
        outcome.stdout
    );

    // And the plans of the two differ in that line only.
    for file in ["job.yaml", "atria.json"] {
        std::fs::copy(folder.join(file), scratch.path().join(file)).expect("copy");
    }
    let next =
        plan_in(scratch.path(), AS_OF, &["--out", &scratch.path().join("next.json").to_string_lossy()]);
    assert_eq!(next.code, 0, "{}", next.stderr);
    let outcome = billsync(&["diff", &plan, &scratch.path().join("next.json").to_string_lossy()]);
    assert_eq!(outcome.code, 2, "{}", outcome.stderr);
    let lines: Vec<&str> = outcome.stdout.lines().filter(|line| line.starts_with("  ")).collect();
    assert_eq!(
        lines,
        [
            "  ~ Microsoft 365 Business Premium (service 12)   target 42 → 42   0 units   update AT09, in Autotask 40 → 41   0.00/month"
        ],
        "{}",
        outcome.stdout
    );
}

/// Scripts read exit 2 as a result (`plan --detailed-exitcode`: changes; `diff`: different), so a
/// usage error, which clap would end with 2, must exit 1 on every command.
#[test]
fn usage_errors_exit_1_and_help_and_version_exit_0() {
    let bogus: &[&[&str]] = &[
        &["plan", "--bogus"],
        &["fetch", "--bogus"],
        &["show", "--bogus"],
        &["diff", "--bogus"],
        &["spec", "validate", "--bogus"],
        &["spec", "bogus"],
        &["apply", "--bogus"],
        &["run", "--bogus"],
        &["schedule", "--bogus"],
        &["daemon", "--bogus"],
        &["demo", "--bogus"],
        &["bogus"],
        &["--bogus"],
    ];
    for args in bogus {
        let outcome = billsync(args);
        assert_eq!(outcome.code, 1, "billsync {args:?}: {}", outcome.stderr);
        assert!(
            outcome.stderr.contains("unexpected argument")
                || outcome.stderr.contains("unrecognized subcommand"),
            "billsync {args:?}: {}",
            outcome.stderr
        );
        assert_eq!(outcome.stdout, "", "billsync {args:?}");
    }

    let old = fixtures().join("seed-example/atria.json").to_string_lossy().into_owned();
    let missing: &[(&[&str], &str)] = &[
        (&["diff", &old], "<NEW>"),
        (&["diff"], "<OLD>"),
        (&["plan"], "--spec <SPEC>"),
        (&["plan", "--spec", "job.yaml", "--atria", "atria.json"], "--autotask <AUTOTASK>"),
        (&[], "Usage: billsync <COMMAND>"),
    ];
    for (args, named) in missing {
        let outcome = billsync(args);
        assert_eq!(outcome.code, 1, "billsync {args:?}: {}", outcome.stderr);
        assert!(outcome.stderr.contains(named), "billsync {args:?} should name {named}: {}", outcome.stderr);
    }

    for args in [&["--help"][..], &["--version"], &["plan", "--help"], &["diff", "-h"]] {
        let outcome = billsync(args);
        assert_eq!((outcome.code, outcome.stderr.as_str()), (0, ""), "billsync {args:?}");
        assert!(!outcome.stdout.is_empty(), "billsync {args:?} prints to stdout");
    }
    assert!(billsync(&["--version"]).stdout.starts_with("billsync "));
}

/// The README's offline example prints what the README shows, so a newcomer's first run matches.
#[test]
fn readme_sample_plan_is_the_real_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_owned();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let block = |after: &str, fence: &str| -> String {
        let rest = &readme[readme.find(after).unwrap_or_else(|| panic!("README.md: `{after}`"))..];
        let start = rest.find(fence).expect("README.md: a code block") + fence.len();
        rest[start..start + rest[start..].find("\n```").expect("README.md: the block's end") + 1].to_owned()
    };
    let command = block("Offline, on the bundled snapshots", "```sh\n");
    let args: Vec<&str> = command
        .trim()
        .strip_prefix("cargo run --release --bin billsync -- ")
        .expect("README.md: the offline example runs billsync")
        .split(' ')
        .collect();
    let shown = block(command.trim(), "```text\n");
    let output = Command::new(env!("CARGO_BIN_EXE_billsync"))
        .args(&args)
        .current_dir(&root)
        .output()
        .expect("billsync runs");
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        shown,
        "README.md's sample plan is stale: paste the output of `{}` run in the workspace",
        command.trim()
    );
}

/// The README's GitHub Actions workflow as written: it parses, the plan job's script and the
/// apply step run in bash (as Actions runs them) against the mocks, the journal is where the
/// upload step looks, and a re-run of the apply job with that journal posts nothing.
#[test]
fn readme_github_actions_workflow_runs_as_written() {
    use serde_json::Value;

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_owned();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let yaml = readme
        .split_once("### GitHub Actions")
        .and_then(|(_, rest)| rest.split_once("```yaml\n"))
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .expect("README.md: the workflow's yaml block")
        .0;
    let workflow: Value = serde_saphyr::from_str(yaml).expect("the workflow is YAML");
    let (plan_job, apply_job) = (&workflow["jobs"]["plan"], &workflow["jobs"]["apply"]);
    let steps = |job: &Value| job["steps"].as_array().expect("a job's steps").clone();
    let find = |job: &Value, what: &dyn Fn(&Value) -> bool| -> Vec<Value> {
        steps(job).into_iter().filter(|step| what(step)).collect()
    };
    let runs = |job: &Value, start: &str| -> Value {
        let found = find(job, &|step| step["run"].as_str().is_some_and(|run| run.starts_with(start)));
        assert_eq!(found.len(), 1, "one step runs `{start}`");
        found[0].clone()
    };
    let uses = |job: &Value, action: &str| find(job, &|step| step["uses"] == action);

    // One apply at a time, never cancelled half way, and only after the plan.
    assert_eq!(apply_job["needs"], "plan");
    assert!(apply_job["concurrency"]["group"].is_string(), "{}", apply_job["concurrency"]);
    assert_eq!(apply_job["concurrency"]["cancel-in-progress"], false);
    for job in [plan_job, apply_job] {
        assert_eq!(runs(job, "cargo install")["run"], "cargo install --locked --path engine");
    }

    // The plan job's script, on the seed example's files.
    let online = common::Online::start("seed-example");
    for file in ["atria.json", "autotask.json"] {
        std::fs::copy(online.fixture.join(file), online.path(file)).expect("copy a snapshot");
    }
    let bin = Path::new(env!("CARGO_BIN_EXE_billsync")).parent().expect("the binary's folder");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let bash = |script: &str, env: &[(&str, String)]| {
        let output = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .current_dir(online.dir.path())
            .env("PATH", &path)
            .env("GITHUB_STEP_SUMMARY", online.path("step-summary.md"))
            .env("GITHUB_OUTPUT", online.path("step-output.txt"))
            .env("BILLSYNC_STATE_DIR", online.path("state"))
            .envs(env.iter().map(|(name, value)| (name, value)))
            .output()
            .expect("bash runs");
        assert!(output.status.success(), "{script}\n{}", String::from_utf8_lossy(&output.stderr));
    };
    let plan_script = find(plan_job, &|step| step["name"] == "Plan");
    bash(plan_script[0]["run"].as_str().expect("a script"), &[]);
    let summary = std::fs::read_to_string(online.path("summary.md")).expect("summary.md");
    assert_eq!(std::fs::read_to_string(online.path("step-summary.md")).expect("the step summary"), summary);
    let plan_upload = &uses(plan_job, "actions/upload-artifact@v4")[0]["with"];
    let made: Vec<String> = std::fs::read_dir(online.dir.path())
        .expect("the job's folder")
        .map(|entry| entry.expect("an entry").file_name().to_string_lossy().into_owned())
        .collect();
    for file in plan_upload["path"].as_str().expect("the plan's files").lines() {
        // `upload-artifact` paths may hold one `*`, as `plan-*.csv` does.
        let matches = |name: &str| match file.split_once('*') {
            Some((prefix, suffix)) => name.starts_with(prefix) && name.ends_with(suffix),
            None => name == file,
        };
        assert!(made.iter().any(|name| matches(name)), "the plan job uploads `{file}`, which it made");
    }
    let downloads = uses(apply_job, "actions/download-artifact@v4");
    assert_eq!(downloads[0]["with"]["name"], plan_upload["name"], "the apply job downloads the plan");

    // The digest the reviewers saw travels to the apply job as the plan job's output.
    assert_eq!(plan_script[0]["id"], "plan");
    assert_eq!(plan_job["outputs"]["digest"], "${{ steps.plan.outputs.digest }}");
    let outputs = std::fs::read_to_string(online.path("step-output.txt")).expect("the step's outputs");
    let digest = outputs.lines().find_map(|line| line.strip_prefix("digest=")).expect("a digest output");
    let plan: Value = serde_json::from_slice(&std::fs::read(online.path("plan.json")).expect("plan.json"))
        .expect("the plan is JSON");
    assert_eq!(plan["digest"], digest);

    // The apply step, with the secrets the workflow names.
    let apply = runs(apply_job, "billsync apply");
    let secrets = [
        ("AUTOTASK_USERNAME", common::USERNAME),
        ("AUTOTASK_SECRET", common::SECRET),
        ("AUTOTASK_INTEGRATION_CODE", common::INTEGRATION_CODE),
    ];
    let env: Vec<(&str, String)> = secrets.iter().map(|(name, value)| (*name, (*value).to_owned())).collect();
    for (name, _) in &secrets {
        assert_eq!(apply["env"][name], format!("${{{{ secrets.{name} }}}}"));
    }
    assert_eq!(apply["env"].as_object().expect("env").len(), secrets.len(), "{}", apply["env"]);
    let apply_script =
        apply["run"].as_str().expect("a script").replace("${{ needs.plan.outputs.digest }}", digest);
    let apply_script = apply_script.as_str();
    bash(apply_script, &env);
    let per_line = online.adjustments_per_line();
    assert_eq!(per_line.len(), 4, "the seed example's four lines adjusted: {per_line:?}");
    assert!(per_line.values().all(|count| *count == 1), "each once: {per_line:?}");

    // The journal is uploaded whatever the outcome, under the name a re-run downloads.
    let journal_upload = &uses(apply_job, "actions/upload-artifact@v4")[0];
    assert_eq!(journal_upload["if"], "always()");
    let journal = journal_upload["with"]["path"].as_str().expect("the journal's path");
    assert!(online.path(journal).is_file(), "apply wrote `{journal}`");
    assert_eq!(downloads[1]["with"]["name"], journal_upload["with"]["name"]);
    assert!(downloads[1]["if"].as_str().is_some_and(|condition| condition.contains("github.run_attempt")));

    // A re-run with the journal back in place posts nothing.
    let ledger = online.autotask_state()["ledger"].as_array().expect("the ledger").len();
    bash(apply_script, &env);
    assert_eq!(online.autotask_state()["ledger"].as_array().expect("the ledger").len(), ledger);
}

/// Every `cargo install --path DIR` the README names installs the `billsync` binary: DIR is a
/// package with a `billsync` binary target that its default features build.
#[test]
fn readme_install_paths_hold_the_billsync_binary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_owned();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let paths: std::collections::BTreeSet<&str> = readme
        .match_indices("cargo install --locked --path ")
        .filter_map(|(at, needle)| readme[at + needle.len()..].split_whitespace().next())
        .collect();
    assert!(!paths.is_empty(), "README.md names no `cargo install --locked --path`");
    for path in paths {
        let manifest = root.join(path).join("Cargo.toml");
        let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
            .args(["metadata", "--no-deps", "--offline", "--format-version", "1", "--manifest-path"])
            .arg(&manifest)
            .output()
            .expect("cargo metadata runs");
        assert!(output.status.success(), "{path}: {}", String::from_utf8_lossy(&output.stderr));
        let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");
        let manifest = manifest.canonicalize().expect("the manifest exists");
        let package = metadata["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .find(|package| package["manifest_path"].as_str().map(Path::new) == Some(manifest.as_path()))
            .unwrap_or_else(|| panic!("README.md: `--path {path}` is no package"));
        let binary = package["targets"].as_array().expect("targets").iter().find(|target| {
            target["name"] == "billsync"
                && target["kind"].as_array().is_some_and(|kinds| kinds.contains(&"bin".into()))
        });
        let binary =
            binary.unwrap_or_else(|| panic!("README.md: `--path {path}` holds no `billsync` binary"));
        let required = binary["required-features"].as_array().cloned().unwrap_or_default();
        let defaults = package["features"]["default"].as_array().cloned().unwrap_or_default();
        assert!(
            required.iter().all(|feature| defaults.contains(feature)),
            "README.md: `--path {path}`: the binary needs features {required:?} beyond the defaults"
        );
    }
}
