//! Autotask entities as the REST API sends them, and their mapping to the snapshot types.
//!
//! The snapshot types reject unknown fields; real items carry dozens more (and
//! `userDefinedFields`), so queries deserialize into these lenient types instead: unknown fields
//! ignored, a few spellings of the id fields accepted (Autotask's names are case-insensitive),
//! date-times with or without a zone (UTC), whole numbers written as decimals (`3.0000`).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer};

use crate::snapshot;

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    pub id: i64,
    pub company_name: String,
    #[serde(default)]
    pub company_number: Option<String>,
    #[serde(default)]
    pub company_type: Option<i32>,
    pub is_active: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Contract {
    pub id: i64,
    #[serde(rename = "companyID", alias = "companyId", alias = "CompanyID")]
    pub company_id: i64,
    #[serde(rename = "contractName")]
    pub contract_name: String,
    #[serde(rename = "contractNumber", default)]
    pub contract_number: Option<String>,
    #[serde(rename = "contractType")]
    pub contract_type: i32,
    pub status: i32,
    #[serde(rename = "startDate", deserialize_with = "utc")]
    pub start_date: DateTime<Utc>,
    #[serde(rename = "endDate", deserialize_with = "utc")]
    pub end_date: DateTime<Utc>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub invoice_description: Option<String>,
    #[serde(default)]
    pub unit_price: Option<f64>,
    #[serde(default)]
    pub unit_cost: Option<f64>,
    pub is_active: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ContractService {
    pub id: i64,
    #[serde(rename = "contractID", alias = "contractId", alias = "ContractID")]
    pub contract_id: i64,
    #[serde(rename = "serviceID", alias = "serviceId", alias = "ServiceID")]
    pub service_id: i64,
    #[serde(rename = "unitPrice", default)]
    pub unit_price: Option<f64>,
    #[serde(rename = "adjustedPrice", default)]
    pub adjusted_price: Option<f64>,
    #[serde(rename = "unitCost", default)]
    pub unit_cost: Option<f64>,
    #[serde(rename = "invoiceDescription", default)]
    pub invoice_description: Option<String>,
    #[serde(rename = "internalDescription", default)]
    pub internal_description: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ContractServiceUnit {
    pub id: i64,
    #[serde(rename = "contractID", alias = "contractId", alias = "ContractID")]
    pub contract_id: i64,
    #[serde(rename = "contractServiceID", alias = "contractServiceId", alias = "ContractServiceID")]
    pub contract_service_id: i64,
    #[serde(rename = "serviceID", alias = "serviceId", alias = "ServiceID")]
    pub service_id: i64,
    #[serde(rename = "startDate", deserialize_with = "utc")]
    pub start_date: DateTime<Utc>,
    #[serde(rename = "endDate", deserialize_with = "utc")]
    pub end_date: DateTime<Utc>,
    #[serde(deserialize_with = "whole_units")]
    pub units: u32,
    #[serde(default)]
    pub price: Option<f64>,
    #[serde(default)]
    pub cost: Option<f64>,
    #[serde(rename = "approveAndPostDate", default, deserialize_with = "optional_utc")]
    pub approve_and_post_date: Option<DateTime<Utc>>,
}

impl From<Company> for snapshot::Company {
    fn from(wire: Company) -> Self {
        snapshot::Company {
            id: wire.id,
            company_name: wire.company_name,
            company_number: wire.company_number,
            company_type: wire.company_type,
            is_active: wire.is_active,
        }
    }
}

impl From<Contract> for snapshot::Contract {
    fn from(wire: Contract) -> Self {
        snapshot::Contract {
            id: wire.id,
            company_id: wire.company_id,
            contract_name: wire.contract_name,
            contract_number: wire.contract_number,
            contract_type: wire.contract_type,
            status: wire.status,
            start_date: wire.start_date,
            end_date: wire.end_date,
        }
    }
}

impl From<Service> for snapshot::Service {
    fn from(wire: Service) -> Self {
        snapshot::Service {
            id: wire.id,
            name: wire.name.into(),
            description: wire.description,
            invoice_description: wire.invoice_description,
            unit_price: wire.unit_price,
            unit_cost: wire.unit_cost,
            is_active: wire.is_active,
        }
    }
}

impl From<ContractService> for snapshot::ContractService {
    fn from(wire: ContractService) -> Self {
        snapshot::ContractService {
            id: wire.id,
            contract_id: wire.contract_id,
            service_id: wire.service_id,
            unit_price: wire.unit_price,
            adjusted_price: wire.adjusted_price,
            unit_cost: wire.unit_cost,
            invoice_description: wire.invoice_description,
            internal_description: wire.internal_description,
        }
    }
}

impl From<ContractServiceUnit> for snapshot::ContractServiceUnit {
    fn from(wire: ContractServiceUnit) -> Self {
        snapshot::ContractServiceUnit {
            id: wire.id,
            contract_id: wire.contract_id,
            contract_service_id: wire.contract_service_id,
            service_id: wire.service_id,
            start_date: wire.start_date,
            end_date: wire.end_date,
            units: wire.units,
            price: wire.price,
            cost: wire.cost,
            approve_and_post_date: wire.approve_and_post_date,
        }
    }
}

/// RFC 3339, or a bare date-time or date taken as UTC.
fn parse_utc(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|time| time.and_utc())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|date| date.and_hms_opt(0, 0, 0))
                .map(|time| time.and_utc())
        })
}

fn utc<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_utc(&text).ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a date-time")))
}

fn optional_utc<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        None => Ok(None),
        Some(text) => parse_utc(&text)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a date-time"))),
    }
}

fn whole_units<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let number = f64::deserialize(deserializer)?;
    if number.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&number) {
        // Checked above: whole and in range.
        Ok(number as u32)
    } else {
        Err(serde::de::Error::custom(format!("units `{number}` is not a whole number of at least 0")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_items_with_extra_fields_and_loose_formats_decode() {
        let unit: ContractServiceUnit = serde_json::from_str(
            r#"{"id":1,"contractID":2,"contractServiceId":3,"serviceID":4,"startDate":"2026-11-01T00:00:00",
                "endDate":"2026-11-30T23:59:59.000Z","units":3.0000,"price":null,"approveAndPostDate":null,
                "userDefinedFields":[],"internalCurrencyPrice":1.5}"#,
        )
        .unwrap();
        let unit = snapshot::ContractServiceUnit::from(unit);
        assert_eq!((unit.contract_service_id, unit.units), (3, 3));
        assert_eq!(unit.start_date.to_rfc3339(), "2026-11-01T00:00:00+00:00");
        assert!(serde_json::from_str::<ContractServiceUnit>(r#"{"id":1,"contractID":2,"contractServiceID":3,"serviceID":4,"startDate":"2026-11-01","endDate":"2026-11-30","units":2.5}"#).is_err());
        assert!(serde_json::from_str::<ContractServiceUnit>(r#"{"id":1,"contractID":2,"contractServiceID":3,"serviceID":4,"startDate":"2026-11-01","endDate":"2026-11-30","units":-1}"#).is_err());
    }
}
