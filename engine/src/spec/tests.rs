//! Spec parsing through one `check` helper: YAML text in, the spec or the problems out.

use super::*;

/// Parses `text`; `Ok` gives the spec back, `Err` the problems as one string.
fn check(text: &str) -> Result<JobSpec, String> {
    parse(text).map_err(|problems| problems.to_string())
}

fn fails(text: &str, expected: &[&str]) {
    let message = check(text).expect_err("the spec is invalid");
    for part in expected {
        assert!(message.contains(part), "`{part}` not in:\n{message}");
    }
}

#[test]
fn the_smallest_spec_gets_the_seed_defaults() {
    let spec = check("version: 1\nlabel: Minimal\n").expect("valid");
    assert_eq!(spec.billing_period, PeriodSelector::Current);
    assert_eq!(spec.log_level, LogLevel::Info);
    assert_eq!(spec.sku_type, SkuType { name: SkuField::ServiceId, value_type: SkuValueType::Int });
    assert_eq!(spec.customer_match, CustomerMatch::Id);
    assert_eq!(spec.guards, Guards { allow_reduce_to_zero: true, max_decrease_percent: 100 });
    assert!(!spec.allow_create_items && !spec.pro_rated_transactions && !spec.zero_unbilled_lines);
}

#[test]
fn the_design_documents_example_is_valid() {
    let text = r#"
version: 1
label: Transfer billing data to Autotask on the 26th
schedule: "0 22 26 * *"
logLevel: verbose
billingPeriod: previous
customers: [ASP, SampleCustomerShortCodeName]
proRatedTransactions: false
allowCreateItems: false
skuType: { name: serviceId, type: int }
customerMatch: id
skuMap: { "M365-E3-NCE": 12 }
overrides:
  ASP: { contractId: 991 }
zeroUnbilledLines: false
guards: { allowReduceToZero: true, maxDecreasePercent: 100 }
atria:    { baseUrl: "https://atria.example.com", token: { env: ATRIA_TOKEN } }
autotask:
  baseUrl: ""
  zoneUser: fred@cspservices.com
  zoneDiscoveryUrl: "https://webservices.autotask.net/atservicesrest/"
  username: { env: AUTOTASK_USERNAME }
  secret: { env: AUTOTASK_SECRET }
  integrationCode: { file: /run/secrets/code }
"#;
    let spec = check(text).expect("valid");
    assert_eq!(spec.billing_period, PeriodSelector::Previous);
    assert_eq!(spec.sku_map.get("M365-E3-NCE"), Some(&12));
    assert_eq!(spec.overrides["ASP"].contract_id, Some(991));
    let autotask = spec.autotask.expect("autotask");
    assert_eq!(autotask.integration_code, SecretRef::File("/run/secrets/code".into()));
}

#[test]
fn periods_accept_the_seeds_spelling_and_dates() {
    assert_eq!(
        check("version: 1\nlabel: x\nbillingPeriod: Current\n").expect("ok").billing_period,
        PeriodSelector::Current
    );
    let dated = check("version: 1\nlabel: x\nbillingPeriod: 2026-10-25\n").expect("ok");
    assert_eq!(dated.billing_period.to_string(), "2026-10-25");
    fails("version: 1\nlabel: x\nbillingPeriod: 2026-02-30\n", &["line 3", "AT19", "2026-02-30"]);
}

#[test]
fn problems_name_line_column_and_path() {
    fails(
        "version: 1\nlabel: x\nguards:\n  maxDecreasePercent: 150\n",
        &["line 4 column 3, $.guards.maxDecreasePercent", "150"],
    );
    fails(
        "version: 1\nlabel: x\nskuType: { name: serviceId, type: string }\n",
        &["line 3 column 29, $.skuType.type", "`int`"],
    );
    fails("version: 1\nlabel: x\nschedule: \"0 22 26 *\"\n", &["line 3 column 1, $.schedule", "4 fields"]);
    fails(
        "version: 1\nlabel: x\ncustomers: [ASP, ASP]\n",
        &["line 3 column 18, $.customers[1]", "listed twice"],
    );
    fails(
        "version: 1\nlabel: x\noverrides:\n  ASP: { contractId: 1, skip: true }\n",
        &["line 4 column 3, $.overrides.ASP", "not both"],
    );
    fails("version: 1\nlabel: x\natria: { baseUrl: x, token: { vault: x } }\n", &["$.atria.token"]);
    fails("version: 1\n", &["label"]);
    fails("- just\n- a list\n", &["expected a mapping"]);
    fails("# only a comment\n", &["empty"]);
    fails("version: 1\nlabel: [unclosed\n", &["line"]);
}

#[test]
fn a_secret_is_never_a_plain_value() {
    fails("version: 1\nlabel: x\natria: { baseUrl: x, token: s3cr3t }\n", &["line 3", "$.atria.token"]);
}

#[test]
fn the_canonical_form_ignores_the_customer_order() {
    let a = check("version: 1\nlabel: x\ncustomers: [B, A]\n").expect("ok");
    let b = check("version: 1\nlabel: x\ncustomers: [A, B]\n").expect("ok");
    assert_eq!(a.sha256(), b.sha256());
    let c = check("version: 1\nlabel: x\ncustomers: [A]\n").expect("ok");
    assert_ne!(a.sha256(), c.sha256());
}

/// A spec with the given `atria:` and `autotask:` sections, around a minimal job.
fn connections(atria_base_url: &str, autotask: &str) -> String {
    format!(
        "version: 1\nlabel: x\natria:\n  baseUrl: {atria_base_url}\n  token: {{ env: ATRIA_TOKEN }}\nautotask:\n{autotask}  username: {{ env: AUTOTASK_USERNAME }}\n  secret: {{ env: AUTOTASK_SECRET }}\n  integrationCode: {{ env: AUTOTASK_INTEGRATION_CODE }}\n"
    )
}

#[test]
fn connection_settings_are_checked_where_they_are() {
    let zone = "  zoneUser: fred@cspservices.com\n";
    let ok = connections("\"https://atria.acme.com\"", zone);
    assert!(check(&ok).is_ok(), "{:?}", check(&ok));
    let mocks = connections(
        "\"http://127.0.0.1:8082\"",
        "  baseUrl: \"http://localhost:8081/ATServicesRest/\"\n  zoneDiscoveryUrl: \"http://[::1]:8081/\"\n",
    );
    assert!(check(&mocks).is_ok(), "{:?}", check(&mocks));

    let huge = format!("\"https://atria.acme.com/{}\"", "x".repeat(4 << 20));
    for (atria, autotask, expected) in [
        (
            "\"not a url\"",
            zone,
            vec![
                "line 4 column 3, $.atria.baseUrl",
                "`atria.baseUrl`",
                "is not a URL",
                "expected an https URL",
            ],
        ),
        (
            "\"http://atria.acme.com\"",
            zone,
            vec!["line 4 column 3, $.atria.baseUrl", "plain http", "expected an https URL"],
        ),
        (huge.as_str(), zone, vec!["$.atria.baseUrl", "characters long; expected a URL of at most 2048"]),
        (
            "\"https://atria.acme.com\"",
            "  baseUrl: \"ftp://x.autotask.net\"\n",
            vec!["line 7 column 3, $.autotask.baseUrl", "scheme `ftp`"],
        ),
        (
            "\"https://atria.acme.com\"",
            "  zoneUser: \"fred\\u0000\\u001b[2K@cspservices.com\"\n",
            vec![
                "line 7 column 3, $.autotask.zoneUser",
                "AT17",
                "control character at character 5",
                "expected the e-mail address",
            ],
        ),
        (
            "\"https://atria.acme.com\"",
            "  zoneUser: fred.cspservices.com\n",
            vec!["$.autotask.zoneUser", "has no `@`"],
        ),
        (
            "\"https://atria.acme.com\"",
            "  zoneUser: a@b.com\n  zoneDiscoveryUrl: \"http://webservices.autotask.net/\"\n",
            vec!["line 8 column 3, $.autotask.zoneDiscoveryUrl", "plain http"],
        ),
        (
            "\"https://atria.acme.com\"",
            "  zoneUser: a@b.com\n  allowHosts: [\"https://proxy.acme.com/\"]\n",
            vec!["line 8 column 16, $.autotask.allowHosts[0]", "expected a host name"],
        ),
        ("\"https://u:p@atria.acme.com\"", zone, vec!["$.atria.baseUrl", "user name or password"]),
    ] {
        fails(&connections(atria, autotask), &expected);
    }
    fails(
        "version: 1\nlabel: x\natria: { baseUrl: \"https://a.acme.com\", token: { env: \"A B\" } }\n",
        &["$.atria.token.env", "not an environment variable name"],
    );
}

#[test]
fn placeholder_hosts_are_warnings() {
    let text = connections("\"https://atria.example.com\"", "  zoneUser: fred@cspservices.com\n");
    let (_, warnings) = parse_with_warnings(&text).expect("valid, with a warning");
    let warnings = warnings.to_string();
    assert!(
        warnings
            .contains("line 4 column 3, $.atria.baseUrl: warning: `atria.example.com` is a placeholder host"),
        "{warnings}"
    );
    let (_, none) =
        parse_with_warnings(&connections("\"https://atria.acme.com\"", "  zoneUser: a@b.com\n")).unwrap();
    assert!(none.is_empty(), "{none}");
}

#[test]
fn legacy_import_checks_the_connection_parameters() {
    let huge = "x".repeat(4 << 20);
    let params = format!("{{\"BaseUrl\": \"{huge}\", \"ZoneUser\": \"fred\\u0000@cspservices.com\"}}");
    let error = import_legacy(&params, None).unwrap_err().to_string();
    assert!(
        error.contains("$.BaseUrl: `BaseUrl` is 4194304 characters long"),
        "{}",
        &error[..error.len().min(400)]
    );
    assert!(error.contains("$.ZoneUser: AT17") && error.contains("control character"), "{error}");
    assert!(error.len() < 2000, "the value is not echoed whole");
}

#[test]
fn the_timezone_is_an_iana_name_defaulting_to_utc() {
    let spec = check("version: 1\nlabel: x\n").expect("valid");
    assert_eq!(spec.zone(), chrono_tz::Tz::UTC);
    let spec = check("version: 1\nlabel: x\ntimezone: Australia/Sydney\n").expect("valid");
    assert_eq!(spec.zone(), chrono_tz::Tz::Australia__Sydney);
    fails(
        "version: 1\nlabel: x\ntimezone: AEDT\n",
        &["line 3 column 1, $.timezone", "`AEDT` is not an IANA time zone name"],
    );
    // A spec without the key serializes as before, so its plans keep their `specSha256`.
    let plain = serde_json::to_string(&check("version: 1\nlabel: x\n").expect("ok")).expect("json");
    assert!(!plain.contains("timezone"), "{plain}");
}

#[test]
fn import_writes_the_zone_it_is_given_with_a_comment() {
    let params = r#"{"BillingPeriod": "Previous", "ZoneUser": "fred@cspservices.com"}"#;
    let yaml = import_legacy_in_zone(params, None, Some("Australia/Sydney")).expect("imports");
    assert!(yaml.contains("\ntimezone: \"Australia/Sydney\"   # this machine's time zone"), "{yaml}");
    assert_eq!(check(&yaml).expect("the imported spec is valid").zone(), chrono_tz::Tz::Australia__Sydney);
    assert!(!import_legacy(params, None).expect("imports").contains("timezone"));
}

#[test]
fn errors_teach_what_is_expected() {
    // An unknown key: the nearest known one, at any depth; the allowed keys when none is near.
    fails(
        "version: 1\nlabel: Typo\nallowCreateItem: true\n",
        &[
            "line 3 column 1, $.allowCreateItem: unknown key `allowCreateItem`; did you mean `allowCreateItems`?",
        ],
    );
    fails(
        "version: 1\nlabel: Typo\nguards: { allowReduceToZro: true }\n",
        &["$.guards.allowReduceToZro: unknown key `allowReduceToZro`; did you mean `allowReduceToZero`?"],
    );
    fails(
        "version: 1\nlabel: Typo\noverrides:\n  ASP: { contractID: 5 }\n",
        &[
            "line 4 column 10, $.overrides.ASP.contractID: unknown key `contractID`; did you mean `contractId`?",
        ],
    );
    fails(
        "version: 1\nlabel: Typo\nfrobnicate: 1\n",
        &["unknown key `frobnicate`; allowed here: `version`, `label`, `schedule`, "],
    );
    fails(
        "version: 1\nlabel: Typo\natria: { baseUrl: \"https://a.example.com\", token: { evn: X } }\n",
        &[
            "$.atria.token: a secret is `{ env: VARIABLE }` or `{ file: PATH }`, never the value itself; found an object with the keys `evn`; unknown key `evn`; did you mean `env`?",
        ],
    );
    // A secret written into the spec is refused without being repeated.
    let message = check(
        "version: 1\nlabel: Leak\natria: { baseUrl: \"https://a.example.com\", token: \"s3cr3t-value\" }\n",
    )
    .expect_err("a plain secret");
    assert!(message.contains("found a text value (not shown: it may be the secret)"), "{message}");
    assert!(!message.contains("s3cr3t"), "{message}");
    // A billing period: the three forms in words, not a regex.
    let message = check("version: 1\nlabel: Period\nbillingPeriod: last\n").expect_err("invalid");
    assert!(
        message.contains(
            "line 3 column 1, $.billingPeriod: AT19 Incorrect billing period date or format recognized: \"last\"; expected `current`, `previous`, or a date `YYYY-MM-DD` (the period containing that date)"
        ),
        "{message}"
    );
    assert!(!message.contains("^(") && !message.contains("[Cc]"), "no regex: {message}");
    // A cron field: its name, range and value; shorthands are accepted.
    fails(
        "version: 1\nlabel: Cron\nschedule: \"0 22 26 13 *\"\n",
        &[
            "$.schedule: `0 22 26 13 *` is not a cron expression: field 4 (month) is `13`: 13 is out of range; allowed: 1–12",
        ],
    );
    for shorthand in ["@daily", "@monthly", "@weekly", "@hourly", "@yearly", "@annually", "@midnight"] {
        let spec = check(&format!("version: 1\nlabel: Cron\nschedule: \"{shorthand}\"\n")).expect(shorthand);
        assert_eq!(spec.schedule.as_deref(), Some(shorthand));
    }
}
