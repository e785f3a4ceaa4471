//! The six entities: their names, field definitions (what `/fields` reports and what filters may
//! name), the stored entity types and typed field access for the filter evaluator.
//!
//! Each stored entity keeps the few fields the mock's behaviour needs as typed fields and every
//! other field it was given, as Autotask would, in `extra`: query answers return them all.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

/// An entity of the REST API, named as in its URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityKind {
    Companies,
    Contracts,
    Services,
    ContractServices,
    ContractServiceUnits,
    ContractServiceAdjustments,
}

impl EntityKind {
    pub const ALL: [EntityKind; 6] = [
        EntityKind::Companies,
        EntityKind::Contracts,
        EntityKind::Services,
        EntityKind::ContractServices,
        EntityKind::ContractServiceUnits,
        EntityKind::ContractServiceAdjustments,
    ];

    /// The URL segment, as Autotask spells it.
    pub fn name(self) -> &'static str {
        match self {
            EntityKind::Companies => "Companies",
            EntityKind::Contracts => "Contracts",
            EntityKind::Services => "Services",
            EntityKind::ContractServices => "ContractServices",
            EntityKind::ContractServiceUnits => "ContractServiceUnits",
            EntityKind::ContractServiceAdjustments => "ContractServiceAdjustments",
        }
    }

    /// The singular name `entityInformation` reports.
    pub fn singular(self) -> &'static str {
        match self {
            EntityKind::Companies => "Company",
            EntityKind::Contracts => "Contract",
            EntityKind::Services => "Service",
            EntityKind::ContractServices => "ContractService",
            EntityKind::ContractServiceUnits => "ContractServiceUnit",
            EntityKind::ContractServiceAdjustments => "ContractServiceAdjustment",
        }
    }

    /// Case-insensitive lookup of a root URL segment.
    pub fn from_segment(segment: &str) -> Option<EntityKind> {
        EntityKind::ALL.into_iter().find(|kind| kind.name().eq_ignore_ascii_case(segment))
    }

    /// Case-insensitive lookup of a child segment under `/Contracts/{id}/`.
    pub fn from_contract_child_segment(segment: &str) -> Option<EntityKind> {
        [
            ("Services", EntityKind::ContractServices),
            ("ServiceUnits", EntityKind::ContractServiceUnits),
            ("ServiceAdjustments", EntityKind::ContractServiceAdjustments),
        ]
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(segment))
        .map(|(_, kind)| kind)
    }

    /// Every field of the entity: the mock's own definitions (required, read-only, references,
    /// picklists) first, then every other property of the entity's swagger model.
    pub fn fields(self) -> &'static [FieldDef] {
        &FIELDS[self as usize]
    }

    /// The swagger model of the entity.
    pub fn model(self) -> &'static str {
        match self {
            EntityKind::Companies => "CompanyModel",
            EntityKind::Contracts => "ContractModel",
            EntityKind::Services => "ServiceModel",
            EntityKind::ContractServices => "ContractServiceModel",
            EntityKind::ContractServiceUnits => "ContractServiceUnitModel",
            EntityKind::ContractServiceAdjustments => "ContractServiceAdjustmentModel",
        }
    }

    /// Whether an update (PATCH/PUT) may change `field`: ContractServices allow only
    /// `adjustedPrice` and `invoiceDescription` (Autotask help, ContractServicesEntity).
    pub fn updatable(self, field: &FieldDef) -> bool {
        match self {
            EntityKind::ContractServices => matches!(field.name, "adjustedPrice" | "invoiceDescription"),
            _ => !field.read_only && field.name != "id",
        }
    }

    /// Case-insensitive field lookup (Autotask ignores the case of field names).
    pub fn field(self, name: &str) -> Option<&'static FieldDef> {
        self.fields().iter().find(|field| field.name.eq_ignore_ascii_case(name))
    }

    pub fn can_create(self) -> bool {
        !matches!(self, EntityKind::ContractServiceUnits)
    }

    pub fn can_update(self) -> bool {
        matches!(
            self,
            EntityKind::Companies
                | EntityKind::Contracts
                | EntityKind::Services
                | EntityKind::ContractServices
        )
    }

    pub fn can_query(self) -> bool {
        !matches!(self, EntityKind::ContractServiceAdjustments)
    }
}

/// The `dataType` strings of `/entityInformation/fields`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataType {
    Integer,
    Long,
    Double,
    String,
    Boolean,
    DateTime,
}

impl DataType {
    pub fn name(self) -> &'static str {
        match self {
            DataType::Integer => "integer",
            DataType::Long => "long",
            DataType::Double => "double",
            DataType::String => "string",
            DataType::Boolean => "boolean",
            DataType::DateTime => "datetime",
        }
    }
}

/// One field as `/fields` describes it.
#[derive(Clone, Debug)]
pub struct FieldDef {
    pub name: &'static str,
    pub data_type: DataType,
    pub required: bool,
    pub read_only: bool,
    pub reference: Option<&'static str>,
    pub picklist: &'static [(i32, &'static str)],
}

const fn field(name: &'static str, data_type: DataType) -> FieldDef {
    FieldDef { name, data_type, required: false, read_only: false, reference: None, picklist: &[] }
}
const fn required(mut def: FieldDef) -> FieldDef {
    def.required = true;
    def
}
const fn read_only(mut def: FieldDef) -> FieldDef {
    def.read_only = true;
    def
}
const fn reference(mut def: FieldDef, entity: &'static str) -> FieldDef {
    def.reference = Some(entity);
    def
}
const fn picklist(mut def: FieldDef, values: &'static [(i32, &'static str)]) -> FieldDef {
    def.picklist = values;
    def
}

const ID: FieldDef = read_only(required(field("id", DataType::Long)));

/// Autotask's contract type picklist; 7 is the one billsync cares about.
pub const CONTRACT_TYPES: &[(i32, &str)] = &[
    (1, "Time & Materials"),
    (3, "Fixed Price"),
    (4, "Block Hours"),
    (6, "Retainer"),
    (7, "Recurring Service"),
    (8, "Per Ticket"),
];
const CONTRACT_STATUSES: &[(i32, &str)] = &[(0, "Inactive"), (1, "Active")];
const COMPANY_TYPES: &[(i32, &str)] = &[
    (1, "Customer"),
    (2, "Lead"),
    (3, "Prospect"),
    (4, "Dead"),
    (6, "Cancelation"),
    (7, "Vendor"),
    (8, "Partner"),
];

static COMPANY_FIELDS: &[FieldDef] = &[
    ID,
    required(field("companyName", DataType::String)),
    field("companyNumber", DataType::String),
    picklist(required(field("companyType", DataType::Integer)), COMPANY_TYPES),
    required(field("isActive", DataType::Boolean)),
];
static CONTRACT_FIELDS: &[FieldDef] = &[
    ID,
    reference(required(field("companyID", DataType::Integer)), "Company"),
    required(field("contractName", DataType::String)),
    field("contractNumber", DataType::String),
    picklist(required(field("contractType", DataType::Integer)), CONTRACT_TYPES),
    picklist(required(field("status", DataType::Integer)), CONTRACT_STATUSES),
    required(field("startDate", DataType::DateTime)),
    required(field("endDate", DataType::DateTime)),
];
static SERVICE_FIELDS: &[FieldDef] = &[
    ID,
    required(field("name", DataType::String)),
    field("description", DataType::String),
    field("invoiceDescription", DataType::String),
    field("unitPrice", DataType::Double),
    field("unitCost", DataType::Double),
    required(field("isActive", DataType::Boolean)),
];
static CONTRACT_SERVICE_FIELDS: &[FieldDef] = &[
    ID,
    read_only(reference(required(field("contractID", DataType::Integer)), "Contract")),
    read_only(reference(required(field("serviceID", DataType::Integer)), "Service")),
    field("unitPrice", DataType::Double),
    field("unitCost", DataType::Double),
    field("invoiceDescription", DataType::String),
    field("internalDescription", DataType::String),
    // Writable on update but absent from the swagger (autotask-rest.md §7).
    field("adjustedPrice", DataType::Double),
];
static CONTRACT_SERVICE_UNIT_FIELDS: &[FieldDef] = &[
    ID,
    read_only(reference(field("contractID", DataType::Integer), "Contract")),
    read_only(reference(field("contractServiceID", DataType::Integer), "ContractService")),
    read_only(reference(field("serviceID", DataType::Integer), "Service")),
    read_only(field("startDate", DataType::DateTime)),
    read_only(field("endDate", DataType::DateTime)),
    read_only(field("units", DataType::Integer)),
    read_only(field("price", DataType::Double)),
    read_only(field("cost", DataType::Double)),
    read_only(field("approveAndPostDate", DataType::DateTime)),
];
/// The swagger subset (`shared/reference/autotask-openapi-subset.json`), whose models name every
/// field of the entities.
const SWAGGER: &str = include_str!("../data/autotask-openapi-subset.json");

/// The field lists, in `EntityKind` order, built once.
static FIELDS: LazyLock<Vec<Vec<FieldDef>>> = LazyLock::new(|| {
    // The file is compiled in and a test reads every model through these lists, so a broken copy
    // cannot go unnoticed; the mock's own definitions stand even then.
    let swagger: Json = serde_json::from_str(SWAGGER).unwrap_or_default();
    EntityKind::ALL.iter().map(|kind| build_fields(*kind, &swagger)).collect()
});

fn own_fields(kind: EntityKind) -> &'static [FieldDef] {
    match kind {
        EntityKind::Companies => COMPANY_FIELDS,
        EntityKind::Contracts => CONTRACT_FIELDS,
        EntityKind::Services => SERVICE_FIELDS,
        EntityKind::ContractServices => CONTRACT_SERVICE_FIELDS,
        EntityKind::ContractServiceUnits => CONTRACT_SERVICE_UNIT_FIELDS,
        EntityKind::ContractServiceAdjustments => ADJUSTMENT_FIELDS,
    }
}

fn build_fields(kind: EntityKind, swagger: &Json) -> Vec<FieldDef> {
    let mut fields = own_fields(kind).to_vec();
    let properties =
        swagger["definitions"][kind.model()]["properties"].as_object().cloned().unwrap_or_default();
    for (name, property) in properties {
        let name = camel_case(&name);
        // Not fields of `/fields`: the UDF list and the SOAP-era parent id.
        if matches!(name.as_str(), "userDefinedFields" | "soapParentPropertyId")
            || fields.iter().any(|known| known.name.eq_ignore_ascii_case(&name))
        {
            continue;
        }
        let data_type = match (property["type"].as_str(), property["format"].as_str()) {
            (Some("integer"), Some("int64")) => DataType::Long,
            (Some("integer"), _) => DataType::Integer,
            (Some("number"), _) => DataType::Double,
            (Some("boolean"), _) => DataType::Boolean,
            (Some("string"), Some("date-time")) => DataType::DateTime,
            (Some("string"), _) => DataType::String,
            _ => continue,
        };
        // Built once per process for a fixed file: leaking keeps `&'static str` names throughout.
        let name: &'static str = Box::leak(name.into_boxed_str());
        let mut def = field(name, data_type);
        // Units rows are read-only as a whole.
        def.read_only = kind == EntityKind::ContractServiceUnits;
        fields.push(def);
    }
    fields
}

/// .NET's camelCase, as Autotask's JSON spells swagger names: `Id`→`id`, `CompanyID`→`companyID`,
/// `SICCode`→`sicCode`, `CI`→`ci`.
pub fn camel_case(name: &str) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    for index in 0..chars.len() {
        if index == 1 && !chars[index].is_uppercase() {
            break;
        }
        let next_is_upper = chars.get(index + 1).is_none_or(|next| next.is_uppercase());
        if index > 0 && !next_is_upper {
            break;
        }
        chars[index] = chars[index].to_ascii_lowercase();
    }
    chars.into_iter().collect()
}

static ADJUSTMENT_FIELDS: &[FieldDef] = &[
    ID,
    reference(field("contractID", DataType::Integer), "Contract"),
    reference(field("contractServiceID", DataType::Integer), "ContractService"),
    reference(field("serviceID", DataType::Integer), "Service"),
    required(field("effectiveDate", DataType::DateTime)),
    required(field("unitChange", DataType::Integer)),
    field("adjustedUnitPrice", DataType::Double),
    field("adjustedUnitCost", DataType::Double),
    field("allowRepeatService", DataType::Boolean),
    field("quoteItemID", DataType::Integer),
];

/// Autotask's `contractType` picklist value for a Recurring Service contract.
pub const CONTRACT_TYPE_RECURRING_SERVICE: i32 = 7;

/// Every field of a stored entity beyond its typed ones, under the name it was given.
pub type Extra = Map<String, Json>;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Company {
    pub id: i64,
    #[serde(rename = "companyName")]
    pub company_name: String,
    #[serde(rename = "companyNumber", default)]
    pub company_number: Option<String>,
    #[serde(rename = "companyType", default)]
    pub company_type: Option<i32>,
    #[serde(rename = "isActive")]
    pub is_active: bool,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Contract {
    pub id: i64,
    #[serde(rename = "companyID")]
    pub company_id: i64,
    #[serde(rename = "contractName")]
    pub contract_name: String,
    #[serde(rename = "contractNumber", default)]
    pub contract_number: Option<String>,
    /// 7 = Recurring Service.
    #[serde(rename = "contractType")]
    pub contract_type: i32,
    /// 1 = active.
    pub status: i32,
    #[serde(rename = "startDate", with = "crate::dates::required")]
    pub start_date: DateTime<Utc>,
    #[serde(rename = "endDate", with = "crate::dates::required")]
    pub end_date: DateTime<Utc>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "invoiceDescription", default)]
    pub invoice_description: Option<String>,
    #[serde(rename = "unitPrice", default)]
    pub unit_price: Option<f64>,
    #[serde(rename = "unitCost", default)]
    pub unit_cost: Option<f64>,
    #[serde(rename = "isActive")]
    pub is_active: bool,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A line of a contract: one service on one contract. It has no units field of its own.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ContractService {
    pub id: i64,
    #[serde(rename = "contractID")]
    pub contract_id: i64,
    #[serde(rename = "serviceID")]
    pub service_id: i64,
    #[serde(rename = "unitPrice", default)]
    pub unit_price: Option<f64>,
    #[serde(rename = "unitCost", default)]
    pub unit_cost: Option<f64>,
    #[serde(rename = "invoiceDescription", default)]
    pub invoice_description: Option<String>,
    #[serde(rename = "internalDescription", default)]
    pub internal_description: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The units of one contract line over a date range; adjustments split these rows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ContractServiceUnit {
    pub id: i64,
    #[serde(rename = "contractID")]
    pub contract_id: i64,
    #[serde(rename = "contractServiceID")]
    pub contract_service_id: i64,
    #[serde(rename = "serviceID")]
    pub service_id: i64,
    #[serde(rename = "startDate", with = "crate::dates::required")]
    pub start_date: DateTime<Utc>,
    /// Inclusive, by calendar date: the row covers every instant of its last day.
    #[serde(rename = "endDate", with = "crate::dates::required")]
    pub end_date: DateTime<Utc>,
    #[serde(deserialize_with = "whole_units")]
    pub units: u32,
    #[serde(default)]
    pub price: Option<f64>,
    #[serde(default)]
    pub cost: Option<f64>,
    #[serde(rename = "approveAndPostDate", default, with = "crate::dates::optional")]
    pub approve_and_post_date: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ContractServiceUnit {
    /// Whether the row is in force at any time on `at`'s day: Autotask's rows are calendar
    /// dates, so a row ending `2026-11-25T00:00:00Z` still covers 25 November at 10:00.
    pub fn covers(&self, at: DateTime<Utc>) -> bool {
        let day = crate::dates::day(at);
        crate::dates::day(self.start_date) <= day && day <= crate::dates::day(self.end_date)
    }
}

/// One field's value, borrowed from an entity, as the filter evaluator sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar<'a> {
    Null,
    Int(i64),
    Float(f64),
    Str(&'a str),
    Bool(bool),
    Date(DateTime<Utc>),
}

impl<'a> From<Option<&'a String>> for Scalar<'a> {
    fn from(value: Option<&'a String>) -> Self {
        value.map_or(Scalar::Null, |text| Scalar::Str(text))
    }
}
impl From<Option<f64>> for Scalar<'_> {
    fn from(value: Option<f64>) -> Self {
        value.map_or(Scalar::Null, Scalar::Float)
    }
}
impl From<Option<i32>> for Scalar<'_> {
    fn from(value: Option<i32>) -> Self {
        value.map_or(Scalar::Null, |n| Scalar::Int(n.into()))
    }
}

/// A stored entity: an id, typed field access by canonical field name, and the foreign keys the
/// store indexes so that queries on them do not scan.
pub trait Entity: Clone + Serialize + for<'de> Deserialize<'de> + Send + Sync + 'static {
    const KIND: EntityKind;
    /// Canonical names of the indexed integer fields, in the order `index_keys` returns them.
    const INDEXED: &'static [&'static str];
    fn id(&self) -> i64;
    /// `name` is canonical (as in `KIND.fields()`); an unknown name is `Null`.
    fn value(&self, name: &str) -> Scalar<'_>;
    fn index_keys(&self) -> Vec<i64>;
    /// The fields beyond the typed ones.
    fn extra(&self) -> &Extra;
}

/// A field kept in `extra`, read as its field definition's type says (dates parsed).
fn extra_value<'a>(kind: EntityKind, extra: &'a Extra, name: &str) -> Scalar<'a> {
    let data_type = kind.field(name).map(|field| field.data_type);
    match extra.get(name) {
        None | Some(Json::Null) => Scalar::Null,
        Some(Json::Bool(flag)) => Scalar::Bool(*flag),
        Some(Json::Number(number)) => match (data_type, number.as_i64()) {
            (Some(DataType::Double), _) | (_, None) => number.as_f64().map_or(Scalar::Null, Scalar::Float),
            (_, Some(integer)) => Scalar::Int(integer),
        },
        Some(Json::String(text)) if data_type == Some(DataType::DateTime) => {
            crate::dates::parse(text).map_or(Scalar::Str(text), Scalar::Date)
        }
        Some(Json::String(text)) => Scalar::Str(text),
        // Arrays and objects (`userDefinedFields`) compare with nothing.
        Some(_) => Scalar::Null,
    }
}

impl Entity for Company {
    const KIND: EntityKind = EntityKind::Companies;
    const INDEXED: &'static [&'static str] = &[];
    fn id(&self) -> i64 {
        self.id
    }
    fn value(&self, name: &str) -> Scalar<'_> {
        match name {
            "id" => Scalar::Int(self.id),
            "companyName" => Scalar::Str(&self.company_name),
            "companyNumber" => self.company_number.as_ref().into(),
            "companyType" => self.company_type.into(),
            "isActive" => Scalar::Bool(self.is_active),
            _ => extra_value(Self::KIND, &self.extra, name),
        }
    }
    fn index_keys(&self) -> Vec<i64> {
        Vec::new()
    }
    fn extra(&self) -> &Extra {
        &self.extra
    }
}

impl Entity for Contract {
    const KIND: EntityKind = EntityKind::Contracts;
    const INDEXED: &'static [&'static str] = &["companyID"];
    fn id(&self) -> i64 {
        self.id
    }
    fn value(&self, name: &str) -> Scalar<'_> {
        match name {
            "id" => Scalar::Int(self.id),
            "companyID" => Scalar::Int(self.company_id),
            "contractName" => Scalar::Str(&self.contract_name),
            "contractNumber" => self.contract_number.as_ref().into(),
            "contractType" => Scalar::Int(self.contract_type.into()),
            "status" => Scalar::Int(self.status.into()),
            "startDate" => Scalar::Date(self.start_date),
            "endDate" => Scalar::Date(self.end_date),
            _ => extra_value(Self::KIND, &self.extra, name),
        }
    }
    fn index_keys(&self) -> Vec<i64> {
        vec![self.company_id]
    }
    fn extra(&self) -> &Extra {
        &self.extra
    }
}

impl Entity for Service {
    const KIND: EntityKind = EntityKind::Services;
    const INDEXED: &'static [&'static str] = &[];
    fn id(&self) -> i64 {
        self.id
    }
    fn value(&self, name: &str) -> Scalar<'_> {
        match name {
            "id" => Scalar::Int(self.id),
            "name" => Scalar::Str(&self.name),
            "description" => self.description.as_ref().into(),
            "invoiceDescription" => self.invoice_description.as_ref().into(),
            "unitPrice" => self.unit_price.into(),
            "unitCost" => self.unit_cost.into(),
            "isActive" => Scalar::Bool(self.is_active),
            _ => extra_value(Self::KIND, &self.extra, name),
        }
    }
    fn index_keys(&self) -> Vec<i64> {
        Vec::new()
    }
    fn extra(&self) -> &Extra {
        &self.extra
    }
}

impl Entity for ContractService {
    const KIND: EntityKind = EntityKind::ContractServices;
    const INDEXED: &'static [&'static str] = &["contractID", "serviceID"];
    fn id(&self) -> i64 {
        self.id
    }
    fn value(&self, name: &str) -> Scalar<'_> {
        match name {
            "id" => Scalar::Int(self.id),
            "contractID" => Scalar::Int(self.contract_id),
            "serviceID" => Scalar::Int(self.service_id),
            "unitPrice" => self.unit_price.into(),
            "unitCost" => self.unit_cost.into(),
            "invoiceDescription" => self.invoice_description.as_ref().into(),
            "internalDescription" => self.internal_description.as_ref().into(),
            _ => extra_value(Self::KIND, &self.extra, name),
        }
    }
    fn index_keys(&self) -> Vec<i64> {
        vec![self.contract_id, self.service_id]
    }
    fn extra(&self) -> &Extra {
        &self.extra
    }
}

impl Entity for ContractServiceUnit {
    const KIND: EntityKind = EntityKind::ContractServiceUnits;
    const INDEXED: &'static [&'static str] = &["contractID", "contractServiceID", "serviceID"];
    fn id(&self) -> i64 {
        self.id
    }
    fn value(&self, name: &str) -> Scalar<'_> {
        match name {
            "id" => Scalar::Int(self.id),
            "contractID" => Scalar::Int(self.contract_id),
            "contractServiceID" => Scalar::Int(self.contract_service_id),
            "serviceID" => Scalar::Int(self.service_id),
            "startDate" => Scalar::Date(self.start_date),
            "endDate" => Scalar::Date(self.end_date),
            "units" => Scalar::Int(self.units.into()),
            "price" => self.price.into(),
            "cost" => self.cost.into(),
            "approveAndPostDate" => self.approve_and_post_date.map_or(Scalar::Null, Scalar::Date),
            _ => extra_value(Self::KIND, &self.extra, name),
        }
    }
    fn index_keys(&self) -> Vec<i64> {
        vec![self.contract_id, self.contract_service_id, self.service_id]
    }
    fn extra(&self) -> &Extra {
        &self.extra
    }
}

/// A posted ContractServiceAdjustment, kept for the state dump; the API never reads it back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Adjustment {
    pub id: i64,
    #[serde(rename = "contractID")]
    pub contract_id: i64,
    #[serde(rename = "contractServiceID")]
    pub contract_service_id: i64,
    #[serde(rename = "serviceID")]
    pub service_id: i64,
    #[serde(rename = "effectiveDate")]
    pub effective_date: DateTime<Utc>,
    #[serde(rename = "unitChange")]
    pub unit_change: i32,
    #[serde(rename = "adjustedUnitPrice")]
    pub adjusted_unit_price: Option<f64>,
    #[serde(rename = "adjustedUnitCost")]
    pub adjusted_unit_cost: Option<f64>,
    #[serde(rename = "allowRepeatService")]
    pub allow_repeat_service: Option<bool>,
    #[serde(rename = "quoteItemID")]
    pub quote_item_id: Option<i64>,
}

/// Units as Autotask sends them: `40` or, from some API versions and exports, `40.0`; never `40.5`.
fn whole_units<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    use serde::de::{Error, Unexpected};
    let number = serde_json::Number::deserialize(deserializer)?;
    if let Some(units) = number.as_u64() {
        return u32::try_from(units)
            .map_err(|_| D::Error::invalid_value(Unexpected::Unsigned(units), &"a whole number from 0 up"));
    }
    if let Some(negative) = number.as_i64() {
        return Err(D::Error::invalid_value(Unexpected::Signed(negative), &"a whole number from 0 up"));
    }
    match number.as_f64() {
        Some(float) if float.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&float) => {
            Ok(float as u32)
        }
        Some(float) => Err(D::Error::invalid_value(Unexpected::Float(float), &"a whole number from 0 up")),
        None => Err(D::Error::custom("expected a whole number from 0 up")),
    }
}
