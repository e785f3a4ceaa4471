//! `billsync spec import`: the seed's JSON job "Configuration" (and "Secrets") into spec YAML.
//!
//! The legacy parameters use string booleans (`"False"`), PascalCase names and a comma-separated
//! or array `CustomersFilter`; the seed's own example even misses commas. Secret values are
//! checked but never copied: the spec refers to environment variables instead.

use serde_json::{Map, Value};

use super::{PeriodSelector, SkuField};
use crate::problems::{Problem, Problems};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Invalid(Problems),
}

/// The names a legacy file uses, matched case-insensitively.
const PARAMETERS: [&str; 7] = [
    "BaseUrl",
    "ZoneUser",
    "BillingPeriod",
    "CustomersFilter",
    "ProRatedTransactions",
    "AllowAtriaCreateItems",
    "SKUType",
];
const SECRETS: [&str; 3] = ["UserName", "Secret", "IntegrationCode"];

/// Converts the legacy parameters (and optionally secrets) JSON texts into spec YAML.
pub fn import_legacy(params_text: &str, secrets_text: Option<&str>) -> Result<String, ImportError> {
    import_legacy_in_zone(params_text, secrets_text, None)
}

/// [`import_legacy`], with `timezone:` set to `zone`: the Atria job ran its schedule in the
/// machine's local time, so the CLI passes this machine's zone.
pub fn import_legacy_in_zone(
    params_text: &str,
    secrets_text: Option<&str>,
    zone: Option<&str>,
) -> Result<String, ImportError> {
    let mut problems = Problems::default();
    let params = parse_object(params_text, &mut problems);
    if let Some(secrets_text) = secrets_text {
        let secrets = parse_object(secrets_text, &mut problems).unwrap_or_default();
        check_secrets(&secrets, &mut problems);
    }
    let Some(params) = params else { return Err(ImportError::Invalid(problems)) };
    let mut yaml = to_yaml(&params, &mut problems);
    if let Some(zone) = zone {
        let line = format!(
            "timezone: {}   # this machine's time zone at import: the Atria job ran its schedule in local time\n",
            serde_json::to_string(zone).expect("strings serialize")
        );
        let at = yaml.find("logLevel:").unwrap_or(yaml.len());
        yaml.insert_str(at, &line);
    }
    if problems.is_empty() { Ok(yaml) } else { Err(ImportError::Invalid(problems)) }
}

fn parse_object(text: &str, problems: &mut Problems) -> Option<Map<String, Value>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Some(map),
        Ok(_) => {
            problems.push(Problem::at("$", "expected a JSON object of parameters"));
            None
        }
        Err(error) => {
            problems.push(syntax_problem(text, &error));
            None
        }
    }
}

/// Places a JSON syntax error and adds a hint for the two mistakes the seed's example makes.
fn syntax_problem(text: &str, error: &serde_json::Error) -> Problem {
    let (line, column) = (error.line(), error.column());
    let message = error.to_string();
    let message = message.split(" at line ").next().unwrap_or_default();
    let hint = if message.contains("trailing comma") {
        " — hint: remove the `,` after the last entry".to_owned()
    } else if message.contains("expected `,`") {
        let previous = previous_content_line(text, line);
        format!(" — hint: a `,` is missing at the end of line {previous}")
    } else if text.trim().is_empty() {
        " — the file is empty".to_owned()
    } else {
        String::new()
    };
    Problem::at(format!("line {line} column {column}"), format!("invalid JSON: {message}{hint}"))
}

/// The last line before `line` (1-based) that holds something other than whitespace.
fn previous_content_line(text: &str, line: usize) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    (1..line).rev().find(|&candidate| !lines[candidate - 1].trim().is_empty()).unwrap_or(line)
}

fn get<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value)
}

fn check_secrets(secrets: &Map<String, Value>, problems: &mut Problems) {
    for key in secrets.keys() {
        if !SECRETS.iter().any(|known| known.eq_ignore_ascii_case(key)) {
            problems.push(Problem::at(
                format!("$.{key}"),
                format!("unknown secret `{key}`; expected UserName, Secret"),
            ));
        }
    }
    for name in ["UserName", "Secret"] {
        let valid = match get(secrets, name) {
            Some(Value::String(value)) => !value.trim().is_empty() && !value.chars().all(|c| c == 'X'),
            _ => false,
        };
        if !valid {
            // The value itself is never echoed.
            problems.push(Problem::at(
                format!("$.{name}"),
                format!("AT18 Failed to validate Autotask secrets. `{name}` must have a valid value"),
            ));
        }
    }
}

fn legacy_bool(map: &Map<String, Value>, name: &str, problems: &mut Problems) -> bool {
    match get(map, name) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(value)) => *value,
        Some(Value::String(text)) if text.trim().eq_ignore_ascii_case("true") => true,
        Some(Value::String(text)) if text.trim().eq_ignore_ascii_case("false") || text.trim().is_empty() => {
            false
        }
        Some(other) => {
            problems.push(Problem::at(
                format!("$.{name}"),
                format!("expected \"True\" or \"False\", found {other}"),
            ));
            false
        }
    }
}

fn legacy_string(map: &Map<String, Value>, name: &str, problems: &mut Problems) -> String {
    match get(map, name) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.trim().to_owned(),
        Some(other) => {
            problems.push(Problem::at(format!("$.{name}"), format!("expected a string, found {other}")));
            String::new()
        }
    }
}

fn to_yaml(params: &Map<String, Value>, problems: &mut Problems) -> String {
    for key in params.keys() {
        if !PARAMETERS.iter().any(|known| known.eq_ignore_ascii_case(key)) {
            problems.push(Problem::at(
                format!("$.{key}"),
                format!("unknown parameter `{key}`; expected one of {}", PARAMETERS.join(", ")),
            ));
        }
    }
    let base_url = legacy_string(params, "BaseUrl", problems);
    let zone_user = legacy_string(params, "ZoneUser", problems);
    if !base_url.is_empty()
        && let Some(why) = super::connection::url_problem(&base_url)
    {
        problems.push(Problem::at("$.BaseUrl", format!("`BaseUrl` {why}")));
    }
    if base_url.is_empty() && zone_user.is_empty() {
        problems.push(Problem::at(
            "$.ZoneUser",
            "AT17 Failed to Retrieve Job Task Parameters: user email is not valid (needed when BaseUrl is blank)",
        ));
    } else if !zone_user.is_empty()
        && let Err(why) = super::connection::check_email(&zone_user)
    {
        problems.push(Problem::at(
            "$.ZoneUser",
            format!(
                "AT17 Failed to Retrieve Job Task Parameters: user email is not valid: {why}; expected the e-mail address of an Autotask user, such as `api-user@yourcompany.com`"
            ),
        ));
    }
    let period_text = legacy_string(params, "BillingPeriod", problems);
    let period = if period_text.is_empty() {
        PeriodSelector::Current
    } else {
        PeriodSelector::parse(&period_text).unwrap_or_else(|message| {
            problems.push(Problem::at("$.BillingPeriod", message));
            PeriodSelector::Current
        })
    };
    let customers: Vec<String> = match get(params, "CustomersFilter") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => {
            text.split(',').map(str::trim).filter(|code| !code.is_empty()).map(str::to_owned).collect()
        }
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(index, item)| match item {
                Value::String(code) => Some(code.trim().to_owned()),
                other => {
                    problems.push(Problem::at(
                        format!("$.CustomersFilter[{index}]"),
                        format!("expected a customer code, found {other}"),
                    ));
                    None
                }
            })
            .collect(),
        Some(other) => {
            problems.push(Problem::at(
                "$.CustomersFilter",
                format!("expected a list of customer codes, found {other}"),
            ));
            Vec::new()
        }
    };
    let pro_rated = legacy_bool(params, "ProRatedTransactions", problems);
    let allow_create = legacy_bool(params, "AllowAtriaCreateItems", problems);
    let sku_field = sku_field(params, problems);

    let quote = |text: &str| serde_json::to_string(text).expect("strings serialize");
    let mut yaml = String::new();
    yaml.push_str("# yaml-language-server: $schema=job.schema.json\n");
    yaml.push_str("# Imported from the Atria \"Autotask PSA\" job parameters by `billsync spec import`.\n");
    yaml.push_str("version: 1\n");
    yaml.push_str("label: Transfer billing data to Autotask\n");
    yaml.push_str("schedule: \"0 22 26 * *\"\n");
    yaml.push_str("logLevel: verbose\n");
    yaml.push_str(&format!("billingPeriod: {}\n", quote(&period.to_string())));
    let customer_list: Vec<String> = customers.iter().map(|code| quote(code)).collect();
    yaml.push_str(&format!("customers: [{}]\n", customer_list.join(", ")));
    yaml.push_str(&format!("proRatedTransactions: {pro_rated}\n"));
    yaml.push_str(&format!("allowCreateItems: {allow_create}\n"));
    let (name, value_type) = match sku_field {
        SkuField::ServiceId => ("serviceId", "int"),
        SkuField::Name => ("name", "string"),
        SkuField::InvoiceDescription => ("invoiceDescription", "string"),
        SkuField::Description => ("description", "string"),
    };
    yaml.push_str(&format!("skuType: {{ name: {name}, type: {value_type} }}\n"));
    yaml.push_str("atria:\n");
    yaml.push_str("  baseUrl: \"https://atria.example.com\"   # your Atria host\n");
    yaml.push_str("  token: { env: ATRIA_TOKEN }\n");
    yaml.push_str("autotask:\n");
    yaml.push_str(&format!("  baseUrl: {}\n", quote(&base_url)));
    if !zone_user.is_empty() {
        yaml.push_str(&format!("  zoneUser: {}\n", quote(&zone_user)));
    }
    yaml.push_str("  username: { env: AUTOTASK_USERNAME }\n");
    yaml.push_str("  secret: { env: AUTOTASK_SECRET }\n");
    yaml.push_str("  integrationCode: { env: AUTOTASK_INTEGRATION_CODE }\n");
    yaml
}

fn sku_field(params: &Map<String, Value>, problems: &mut Problems) -> SkuField {
    let Some(sku_type) = get(params, "SKUType") else { return SkuField::ServiceId };
    let Some(Value::String(name)) = sku_type.as_object().and_then(|object| get(object, "name")) else {
        problems.push(Problem::at(
            "$.SKUType",
            "expected {\"name\": \"ServiceId\", \"type\": \"int\"} or similar",
        ));
        return SkuField::ServiceId;
    };
    let field = match name.trim().to_ascii_lowercase().as_str() {
        "serviceid" => SkuField::ServiceId,
        "name" => SkuField::Name,
        "invoicedescription" => SkuField::InvoiceDescription,
        "description" => SkuField::Description,
        _ => {
            problems.push(Problem::at(
                "$.SKUType.name",
                format!("`{name}` is not one of ServiceId, name, InvoiceDescription, description"),
            ));
            return SkuField::ServiceId;
        }
    };
    let expected_type = if field == SkuField::ServiceId { "int" } else { "string" };
    match sku_type.as_object().and_then(|object| get(object, "type")) {
        Some(Value::String(given)) if given.trim().eq_ignore_ascii_case(expected_type) => {}
        None => {}
        Some(other) => problems.push(Problem::at(
            "$.SKUType.type",
            format!("`{name}` takes type \"{expected_type}\", found {other}"),
        )),
    }
    field
}
