//! One globbing test: every `fixtures/*/job.yaml` compiles against its folder's snapshots into
//! a plan whose every rendering (text, JSON, Markdown, CSV, HTML) is kept as an insta snapshot.

use std::collections::BTreeSet;
use std::path::Path;

use billsync::codes::Code;
use billsync::compile::{CompileInput, compile};
use billsync::plan::Plan;
use billsync::render::csv::{COLUMNS, csv, undefuse};
use billsync::render::html::html;
use billsync::render::markdown::{MarkdownOptions, markdown};
use billsync::render::{Record, TableOptions, TextOptions, rows, text};
use billsync::{snapshot, spec};

/// The fixed plan time of every fixture snapshot.
const AS_OF: &str = "2026-11-24T22:00:00Z";

fn plan_of(folder: &Path) -> Plan {
    let spec = spec::load(&folder.join("job.yaml")).unwrap_or_else(|problems| panic!("{problems}"));
    let atria =
        snapshot::load_atria(&folder.join("atria.json")).unwrap_or_else(|problems| panic!("{problems}"));
    let autotask = snapshot::load_autotask(&folder.join("autotask.json"))
        .unwrap_or_else(|problems| panic!("{problems}"));
    let as_of = AS_OF.parse().expect("a valid time");
    compile(CompileInput { spec: &spec, atria: &atria, autotask: &autotask, as_of })
        .expect("fixtures compile")
}

#[test]
fn every_fixture_plan() {
    insta::glob!("../../fixtures", "*/job.yaml", |job| {
        let folder = job.parent().expect("job.yaml is in a folder");
        let plan = plan_of(folder);
        insta::assert_snapshot!("text", text(&plan, TextOptions::default()));
        insta::assert_snapshot!("json", plan.to_json());
        insta::assert_snapshot!("markdown", markdown(&plan, &MarkdownOptions::default()));
        // Insta compares lines; the CRLF line ends are checked by `csv_round_trips`.
        insta::assert_snapshot!("csv", csv(&plan, TableOptions::default()));
        insta::assert_snapshot!("html", html(&plan, TableOptions::default()));
        // The JSON reads back to the same plan.
        assert_eq!(Plan::from_json(plan.to_json().as_bytes()).expect("plan JSON parses"), plan);
        csv_round_trips(&plan);
    });
}

/// The CSV reads back through the `csv` crate, row for row, to the values of the plan.
fn csv_round_trips(plan: &Plan) {
    let text = csv(plan, TableOptions::default());
    assert!(text.ends_with("\r\n") && !text.replace("\r\n", "").contains('\r'), "RFC 4180 line ends");
    let mut reader = ::csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().expect("a header row").iter().map(str::to_owned).collect();
    assert_eq!(header, COLUMNS);
    let records: Vec<::csv::StringRecord> =
        reader.records().map(|record| record.expect("a CSV record")).collect();
    let expected = rows(plan, TableOptions::default());
    assert_eq!(records.len(), expected.len());
    let optional = |value: Option<String>| value.unwrap_or_default();
    for (record, row) in records.iter().zip(&expected) {
        let field = |name: &str| {
            let index = COLUMNS.iter().position(|column| *column == name).expect("a column");
            undefuse(&record[index]).to_owned()
        };
        assert_eq!(field("record"), row.record.as_str());
        assert_eq!(field("kind"), row.kind.map(|kind| kind.as_str()).unwrap_or_default());
        assert_eq!(field("code"), row.code.as_str());
        assert_eq!(field("level"), row.level.as_str());
        assert_eq!(field("customer_code"), row.customer_code);
        assert_eq!(field("customer_name"), row.customer_name);
        assert_eq!(field("company_id"), optional(row.company_id.map(|id| id.to_string())));
        assert_eq!(field("contract_id"), optional(row.contract_id.map(|id| id.to_string())));
        assert_eq!(field("service_id"), optional(row.service_id.map(|id| id.to_string())));
        assert_eq!(field("contract_service_id"), optional(row.contract_service_id.map(|id| id.to_string())));
        assert_eq!(field("sku"), row.sku);
        assert_eq!(field("description"), row.description);
        assert_eq!(field("from"), optional(row.from.map(|count| count.to_string())));
        assert_eq!(field("to"), optional(row.to.map(|count| count.to_string())));
        assert_eq!(field("message"), row.message);
    }
    let actions = records.iter().filter(|record| &record[0] == Record::Action.as_str()).count();
    assert_eq!(actions, plan.actions.len(), "one row per action");
}

/// Every code compile can produce, and where the fixtures show it.
const COMPILE_CODES: [Code; 23] = [
    Code::AT01,
    Code::AT04,
    Code::AT05,
    Code::AT06,
    Code::AT07,
    Code::AT08,
    Code::AT09,
    Code::AT10,
    Code::AT11,
    Code::AT12,
    Code::AT13,
    Code::AT15,
    Code::AT20,
    Code::AT21,
    Code::AT22,
    Code::AT24,
    Code::AT25,
    Code::AT26,
    Code::AT27,
    Code::AT28,
    Code::AT30,
    Code::AT34,
    Code::AT35,
];

#[test]
fn every_code_fixture_shows_every_compile_time_code() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let every_code = plan_of(&fixtures.join("every-code"));
    let shown: BTreeSet<Code> = every_code.log.iter().map(|entry| entry.code).collect();
    // AT15 means "no billable row at all", so it cannot share a plan with anything else.
    let missing: Vec<Code> =
        COMPILE_CODES.iter().copied().filter(|code| *code != Code::AT15 && !shown.contains(code)).collect();
    assert!(missing.is_empty(), "fixtures/every-code never logs {missing:?}");

    let no_rows = plan_of(&fixtures.join("no-billing-rows"));
    let codes: Vec<Code> = no_rows.log.iter().map(|entry| entry.code).collect();
    assert_eq!(codes, [Code::AT22, Code::AT01, Code::AT15, Code::AT24]);
    assert!(no_rows.actions.is_empty());
}

/// The fields of each Autotask entity in `reference/autotask-openapi-subset.json` (swagger
/// models, camelCase as the REST API sends them): `fixtures/real-shaped` carries all of them.
const SWAGGER_FIELDS: [(&str, &str, &str); 5] = [
    (
        "companies",
        "CompanyModel",
        "additionalAddressInformation address1 address2 alternatePhone1 alternatePhone2 apiVendorID assetValue billToAdditionalAddressInformation billToAddressToUse billToAttention billToCity billToCompanyLocationID billToCountryID billToState billToZipCode billingAddress1 billingAddress2 city classification companyName companyNumber companyType competitorID countryID createDate createdByResourceID currencyID fax id impersonatorCreatorResourceID invoiceEmailMessageID invoiceMethod invoiceNonContractItemsToParentCompany invoiceTemplateID isActive isClientPortalActive isEnabledForComanaged isTaskFireActive isTaxExempt lastActivityDate lastTrackedModifiedDateTime marketSegmentID ownerResourceID parentCompanyID phone postalCode quoteEmailMessageID quoteTemplateID sicCode state stockMarket stockSymbol surveyCompanyRating taxID taxRegionID territoryID userDefinedFields webAddress",
    ),
    (
        "contracts",
        "ContractModel",
        "billToCompanyContactID billToCompanyID billingPreference companyID contactID contactName contractCategory contractExclusionSetID contractName contractNumber contractPeriodType contractType description endDate estimatedCost estimatedHours estimatedRevenue exclusionContractID id internalCurrencyOverageBillingRate internalCurrencySetupFee isCompliant isDefaultContract opportunityID organizationalLevelAssociationID overageBillingRate purchaseOrderNumber renewedContractID serviceLevelAgreementID setupFee setupFeeBillingCodeID startDate status timeReportingRequiresStartAndStopTimes userDefinedFields",
    ),
    (
        "services",
        "ServiceModel",
        "billingCodeID createDate creatorResourceID description id invoiceDescription isActive lastModifiedDate markupRate name periodType serviceLevelAgreementID unitCost unitPrice updateResourceID userDefinedFields vendorCompanyID",
    ),
    (
        "contractServices",
        "ContractServiceModel",
        "contractID id internalCurrencyAdjustedPrice internalCurrencyUnitPrice internalDescription invoiceDescription quoteItemID serviceID soapParentPropertyId unitCost unitPrice userDefinedFields",
    ),
    (
        "contractServiceUnits",
        "ContractServiceUnitModel",
        "approveAndPostDate contractID contractServiceID cost endDate id internalCurrencyPrice organizationalLevelAssociationID price serviceID soapParentPropertyId startDate units userDefinedFields vendorCompanyID",
    ),
];

#[test]
fn real_shaped_entities_carry_every_swagger_field() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/real-shaped/autotask.json");
    let value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("the fixture")).expect("JSON");
    for (array, model, fields) in SWAGGER_FIELDS {
        let entities = value[array].as_array().expect("an array of entities");
        assert!(!entities.is_empty(), "{array} is empty");
        for (index, entity) in entities.iter().enumerate() {
            let missing: Vec<&str> = fields.split(' ').filter(|field| entity.get(field).is_none()).collect();
            assert!(missing.is_empty(), "$.{array}[{index}] lacks {model} fields {missing:?}");
        }
    }
    let user_defined = &value["companies"][0]["userDefinedFields"][0];
    assert!(user_defined["name"].is_string(), "user-defined fields are name and value pairs");
}

/// Month over month: the seed example's November plan against December's, in every format of
/// `billsync diff` (targets, units, money per customer and service).
#[test]
fn month_over_month_plan_diff() {
    use billsync::render::plan_diff;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let november = plan_of(&fixtures.join("seed-example"));
    let folder = fixtures.join("seed-example-next-month");
    let spec = spec::load(&folder.join("job.yaml")).unwrap_or_else(|problems| panic!("{problems}"));
    let atria =
        snapshot::load_atria(&folder.join("atria.json")).unwrap_or_else(|problems| panic!("{problems}"));
    let autotask = snapshot::load_autotask(&folder.join("autotask.json"))
        .unwrap_or_else(|problems| panic!("{problems}"));
    let as_of = "2026-12-24T22:00:00Z".parse().expect("a valid time");
    let december = compile(CompileInput { spec: &spec, atria: &atria, autotask: &autotask, as_of })
        .expect("the fixture compiles");
    let diff = plan_diff::plan_diff("plans/2026-11.json", &november, "plans/2026-12.json", &december);
    insta::assert_snapshot!("plan_diff_text", plan_diff::text(&diff));
    insta::assert_snapshot!("plan_diff_markdown", plan_diff::markdown(&diff));
    insta::assert_snapshot!("plan_diff_json", plan_diff::json(&diff));
    // The totals are the sums of the lines.
    let units: i64 = diff.lines.iter().map(|line| line.units_change).sum();
    let money: rust_decimal::Decimal = diff.lines.iter().filter_map(|line| line.amount_change).sum();
    assert_eq!((diff.summary.units_change, diff.summary.amount_change), (units, money));
    // A plan against itself: nothing differs.
    assert!(plan_diff::plan_diff("a", &december, "b", &december).is_empty());
}
