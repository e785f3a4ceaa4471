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
