//! Writes: creates and updates of Companies, Contracts, Services and ContractServices, and the
//! create-only ContractServiceAdjustments that split ContractServiceUnits rows.
//!
//! Every write validates fully before it changes anything, so a refused write leaves no trace.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde_json::{Map, Value as Json};

use crate::dates::{day, midnight};
use crate::entity::{
    Adjustment, CONTRACT_TYPE_RECURRING_SERVICE, Contract, ContractService, ContractServiceUnit, DataType,
    Entity, EntityKind, FieldDef,
};
use crate::error::AppError;
use crate::filter::{get_ci, parse_datetime};
use crate::store::{Store, Table};

/// How an update treats writable fields the body omits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateMode {
    /// PATCH: omitted fields keep their values.
    Patch,
    /// PUT: omitted writable fields become null.
    Put,
}

fn body_object(body: &Json) -> Result<&Map<String, Json>, AppError> {
    body.as_object().ok_or_else(|| AppError::invalid("The request body must be a JSON object."))
}

/// Which fields of a body a write takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Taken {
    /// A create: every field but `id`.
    All,
    /// An update: the fields an update may change (see [`EntityKind::updatable`]).
    Updatable,
}

/// Copies the fields of `kind` found in `body` (any case) under their canonical names, each
/// converted to its field's type as Autotask's deserializer converts: numbers and booleans may
/// come as JSON strings (`"unitPrice":"7"`), dates in any form clients send (normalised to
/// RFC 3339). Unknown and untaken fields are ignored, as Autotask ignores them.
fn canonical_fields(
    kind: EntityKind,
    body: &Map<String, Json>,
    taken: Taken,
) -> Result<Map<String, Json>, AppError> {
    let mut out = Map::new();
    for field in kind.fields() {
        let wanted = match taken {
            Taken::All => field.name != "id",
            Taken::Updatable => kind.updatable(field),
        };
        if !wanted {
            continue;
        }
        let Some(value) = get_ci(body, field.name) else { continue };
        out.insert(field.name.to_owned(), coerce(field, value)?);
    }
    Ok(out)
}

/// One field's value in its field's type, or Autotask's kind of refusal naming the field.
fn coerce(field: &FieldDef, value: &Json) -> Result<Json, AppError> {
    let bad = || {
        AppError::invalid(format!(
            "{}: the value {value} is not a valid {}.",
            field.name,
            field.data_type.name()
        ))
    };
    let integer = |number: i64| -> Result<Json, AppError> {
        let fits = field.data_type == DataType::Long || i32::try_from(number).is_ok();
        if fits { Ok(Json::from(number)) } else { Err(bad()) }
    };
    match (field.data_type, value) {
        (_, Json::Null) => Ok(Json::Null),
        (DataType::Integer | DataType::Long, Json::Number(number)) => match number.as_i64() {
            Some(whole) => integer(whole),
            // 7.0 is 7 to .NET; 7.5 is not an integer.
            None => match number.as_f64() {
                Some(float) if float.fract() == 0.0 && float.abs() < 9.0e15 => integer(float as i64),
                _ => Err(bad()),
            },
        },
        (DataType::Integer | DataType::Long, Json::String(text)) => {
            text.trim().parse::<i64>().map_err(|_| bad()).and_then(integer)
        }
        (DataType::Double, Json::Number(_)) => Ok(value.clone()),
        (DataType::Double, Json::String(text)) => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|float| float.is_finite())
            .and_then(serde_json::Number::from_f64)
            .map(Json::Number)
            .ok_or_else(bad),
        (DataType::Boolean, Json::Bool(_)) => Ok(value.clone()),
        (DataType::Boolean, Json::String(text)) if text.eq_ignore_ascii_case("true") => Ok(Json::Bool(true)),
        (DataType::Boolean, Json::String(text)) if text.eq_ignore_ascii_case("false") => {
            Ok(Json::Bool(false))
        }
        (DataType::String, Json::String(_)) => Ok(value.clone()),
        (DataType::String, Json::Number(number)) => Ok(Json::String(number.to_string())),
        (DataType::DateTime, Json::String(text)) => parse_datetime(text)
            .map(|at| Json::String(crate::dates::format(&at)))
            .ok_or_else(|| AppError::invalid(format!("{} is not a valid date: `{text}`.", field.name))),
        _ => Err(bad()),
    }
}

/// The typed entity of a checked object. Every field was converted already, so what can still
/// fail is a missing required field or a value out of the entity's range (negative units…);
/// the answer names the field in Autotask's words, never the deserializer's.
fn typed<T: Entity>(object: Map<String, Json>) -> Result<T, AppError> {
    let value = Json::Object(object);
    serde_path_to_error::deserialize::<_, T>(&value).map_err(|err| {
        let field = err.path().to_string();
        let missing =
            T::KIND.fields().iter().find(|def| def.required && value.get(def.name).is_none_or(Json::is_null));
        match missing {
            Some(def) => AppError::invalid(format!("{} is required.", def.name)),
            None => AppError::invalid(format!(
                "The {} is not valid: {field} is out of range.",
                T::KIND.singular()
            )),
        }
    })
}

fn body_id(body: &Map<String, Json>) -> Result<i64, AppError> {
    optional_int(body, "id")?.ok_or_else(|| AppError::invalid("An update needs the id of the entity."))
}

/// POST `/{E}`: a new row with the next id.
pub fn create<T: Entity>(table: &mut Table<T>, body: &Json) -> Result<T, AppError> {
    let mut object = canonical_fields(T::KIND, body_object(body)?, Taken::All)?;
    object.insert("id".to_owned(), table.next_id().into());
    let row: T = typed(object)?;
    Ok(row)
}

/// PATCH or PUT `/{E}` with `id` in the body: the updated row (not yet stored).
pub fn update<T: Entity>(table: &Table<T>, body: &Json, mode: UpdateMode) -> Result<T, AppError> {
    let body = body_object(body)?;
    let id = body_id(body)?;
    let existing = table
        .get(id)
        .ok_or_else(|| AppError::invalid(format!("{} {id} does not exist.", T::KIND.singular())))?;
    let Ok(Json::Object(mut object)) = serde_json::to_value(existing) else {
        return Err(AppError::invalid("The stored entity cannot be read."));
    };
    if mode == UpdateMode::Put {
        // Absent and null are the same to Autotask; only fields the entity has need nulling.
        for field in T::KIND.fields().iter().filter(|field| T::KIND.updatable(field)) {
            if let Some(value) = object.get_mut(field.name) {
                *value = Json::Null;
            }
        }
    }
    // Read-only and unknown fields are ignored, as Autotask's deserializer does.
    object.extend(canonical_fields(T::KIND, body, Taken::Updatable)?);
    typed(object)
}

/// Checks references of a created or updated Contract.
pub fn check_contract_references(store: &Store, contract: &Contract) -> Result<(), AppError> {
    if store.companies.get(contract.company_id).is_none() {
        return Err(AppError::invalid(format!("Company {} does not exist.", contract.company_id)));
    }
    if day(contract.end_date) < day(contract.start_date) {
        return Err(AppError::invalid("The contract's endDate is before its startDate."));
    }
    Ok(())
}

/// POST `/Contracts/{id}/Services`: a new line, only on a Recurring Service contract.
pub fn create_contract_service(
    store: &Store,
    contract_id: i64,
    body: &Json,
) -> Result<ContractService, AppError> {
    let object = body_object(body)?;
    if let Some(given) = optional_int(object, "contractID")?
        && given != contract_id
    {
        return Err(AppError::invalid(format!(
            "contractID {given} does not match the parent contract {contract_id}."
        )));
    }
    check_recurring_contract(store, contract_id)?;
    let service_id =
        optional_int(object, "serviceID")?.ok_or_else(|| AppError::invalid("serviceID is required."))?;
    let service = store
        .services
        .get(service_id)
        .ok_or_else(|| AppError::invalid(format!("Service {service_id} does not exist.")))?;
    let mut fields = canonical_fields(EntityKind::ContractServices, object, Taken::All)?;
    fields.insert("id".to_owned(), store.contract_services.next_id().into());
    fields.insert("contractID".to_owned(), contract_id.into());
    // Autotask fills the price from the service when the caller leaves it out.
    fields.entry("unitPrice").or_insert_with(|| service.unit_price.into());
    fields.entry("unitCost").or_insert_with(|| service.unit_cost.into());
    fields.entry("invoiceDescription").or_insert_with(|| service.invoice_description.clone().into());
    typed(fields)
}

fn check_recurring_contract(store: &Store, contract_id: i64) -> Result<&Contract, AppError> {
    let contract = store
        .contracts
        .get(contract_id)
        .ok_or_else(|| AppError::invalid(format!("Contract {contract_id} does not exist.")))?;
    if contract.contract_type != CONTRACT_TYPE_RECURRING_SERVICE {
        return Err(AppError::invalid(format!(
            "Contract {contract_id} is not a Recurring Service contract (contractType {}); services can only be added to Recurring Service contracts.",
            contract.contract_type
        )));
    }
    Ok(contract)
}

/// PATCH/PUT `/Contracts/{id}/Services`: the line must belong to the parent contract. Units are
/// not a field of a line, so no update can touch them.
pub fn update_contract_service(
    store: &Store,
    contract_id: i64,
    body: &Json,
    mode: UpdateMode,
) -> Result<ContractService, AppError> {
    let id = body_id(body_object(body)?)?;
    match store.contract_services.get(id) {
        Some(line) if line.contract_id == contract_id => update(&store.contract_services, body, mode),
        _ => {
            Err(AppError::invalid(format!("ContractService {id} does not exist on contract {contract_id}.")))
        }
    }
}

/// The day before `day` (rows end inclusive on a calendar day), refusing the edge of time.
fn day_before(day: NaiveDate) -> Result<NaiveDate, AppError> {
    day.pred_opt().ok_or_else(|| AppError::invalid("effectiveDate is out of range."))
}

/// A validated adjustment request.
struct AdjustmentRequest {
    contract_id: Option<i64>,
    contract_service_id: Option<i64>,
    service_id: Option<i64>,
    effective_date: DateTime<Utc>,
    unit_change: i32,
    adjusted_unit_price: Option<f64>,
    adjusted_unit_cost: Option<f64>,
    allow_repeat_service: Option<bool>,
    quote_item_id: Option<i64>,
}

fn optional_int(object: &Map<String, Json>, key: &str) -> Result<Option<i64>, AppError> {
    match get_ci(object, key) {
        None | Some(Json::Null) => Ok(None),
        // As .NET reads an integer: `4`, `"4"` or `4.0`, never `4.5`.
        Some(value) => value
            .as_i64()
            .or_else(|| value.as_str().and_then(|text| text.trim().parse().ok()))
            .or_else(|| {
                value
                    .as_f64()
                    .filter(|float| float.fract() == 0.0 && float.abs() < 9.0e15)
                    .map(|float| float as i64)
            })
            .map(Some)
            .ok_or_else(|| AppError::invalid(format!("{key} must be an integer; found {value}."))),
    }
}

fn optional_float(object: &Map<String, Json>, key: &str) -> Result<Option<f64>, AppError> {
    match get_ci(object, key) {
        None | Some(Json::Null) => Ok(None),
        Some(value) => value
            .as_f64()
            .or_else(|| value.as_str().and_then(|text| text.trim().parse::<f64>().ok()))
            .filter(|number| number.is_finite())
            .map(Some)
            .ok_or_else(|| AppError::invalid(format!("{key} must be a number; found {value}."))),
    }
}

fn parse_adjustment(body: &Json) -> Result<AdjustmentRequest, AppError> {
    let object = body_object(body)?;
    let effective_date = match get_ci(object, "effectiveDate") {
        Some(Json::String(text)) => parse_datetime(text)
            .ok_or_else(|| AppError::invalid(format!("effectiveDate is not a valid date: `{text}`.")))?,
        _ => return Err(AppError::invalid("effectiveDate is required.")),
    };
    // Autotask stores SQL Server datetimes: 1753-01-01 to 9999-12-31.
    if !(1753..=9999).contains(&effective_date.year()) {
        return Err(AppError::invalid(format!("effectiveDate {effective_date} is out of range.")));
    }
    let unit_change =
        optional_int(object, "unitChange")?.ok_or_else(|| AppError::invalid("unitChange is required."))?;
    let unit_change = i32::try_from(unit_change)
        .map_err(|_| AppError::invalid(format!("unitChange {unit_change} is outside the int32 range.")))?;
    let allow_repeat_service = match get_ci(object, "allowRepeatService") {
        None | Some(Json::Null) => None,
        Some(Json::Bool(flag)) => Some(*flag),
        Some(other) => {
            return Err(AppError::invalid(format!(
                "allowRepeatService must be true or false; found {other}."
            )));
        }
    };
    Ok(AdjustmentRequest {
        contract_id: optional_int(object, "contractID")?,
        contract_service_id: optional_int(object, "contractServiceID")?,
        service_id: optional_int(object, "serviceID")?,
        effective_date,
        unit_change,
        adjusted_unit_price: optional_float(object, "adjustedUnitPrice")?,
        adjusted_unit_cost: optional_float(object, "adjustedUnitCost")?,
        allow_repeat_service,
        quote_item_id: optional_int(object, "quoteItemID")?,
    })
}

/// POST `/ContractServiceAdjustments` (or under `/Contracts/{id}/ServiceAdjustments`): applies a
/// signed unit change from `effectiveDate` on, creating the line if needed. Returns the new id.
pub fn post_adjustment(
    store: &mut Store,
    parent_contract_id: Option<i64>,
    body: &Json,
) -> Result<i64, AppError> {
    let mut request = parse_adjustment(body)?;
    if let Some(parent) = parent_contract_id {
        match request.contract_id {
            Some(given) if given != parent => {
                return Err(AppError::invalid(format!(
                    "contractID {given} does not match the parent contract {parent}."
                )));
            }
            _ => request.contract_id = Some(parent),
        }
    }
    let at = request.effective_date;
    // Autotask applies an adjustment to the calendar day it is effective on, whatever its time.
    let on = day(at);

    // Which line: by contractServiceID, else by contractID + serviceID (created when absent).
    let existing_line = match (request.contract_service_id, request.contract_id, request.service_id) {
        (Some(line_id), contract_id, service_id) => {
            let line = store
                .contract_services
                .get(line_id)
                .ok_or_else(|| AppError::invalid(format!("ContractService {line_id} does not exist.")))?;
            if contract_id.is_some_and(|id| id != line.contract_id)
                || service_id.is_some_and(|id| id != line.service_id)
            {
                return Err(AppError::invalid(format!(
                    "ContractService {line_id} belongs to contract {} and service {}.",
                    line.contract_id, line.service_id
                )));
            }
            Some(line.clone())
        }
        (None, Some(contract_id), Some(service_id)) => {
            check_recurring_contract(store, contract_id)?;
            if store.services.get(service_id).is_none() {
                return Err(AppError::invalid(format!("Service {service_id} does not exist.")));
            }
            let lines = store.contract_services.ids_where("contractID", contract_id);
            lines
                .iter()
                .filter_map(|id| store.contract_services.get(*id))
                .find(|line| line.service_id == service_id)
                .cloned()
        }
        _ => {
            return Err(AppError::invalid(
                "An adjustment needs contractServiceID, or contractID and serviceID.",
            ));
        }
    };
    let line = match existing_line {
        Some(line) => line,
        None => {
            let (Some(contract_id), Some(service_id)) = (request.contract_id, request.service_id) else {
                return Err(AppError::invalid(
                    "An adjustment needs contractServiceID, or contractID and serviceID.",
                ));
            };
            let service = store
                .services
                .get(service_id)
                .ok_or_else(|| AppError::invalid(format!("Service {service_id} does not exist.")))?;
            ContractService {
                id: store.contract_services.next_id(),
                contract_id,
                service_id,
                unit_price: service.unit_price,
                unit_cost: service.unit_cost,
                invoice_description: service.invoice_description.clone(),
                internal_description: None,
                extra: Default::default(),
            }
        }
    };
    let contract = store
        .contracts
        .get(line.contract_id)
        .ok_or_else(|| AppError::invalid(format!("Contract {} does not exist.", line.contract_id)))?
        .clone();

    let mut rows: Vec<ContractServiceUnit> = store
        .contract_service_units
        .ids_where("contractServiceID", line.id)
        .iter()
        .filter_map(|id| store.contract_service_units.get(*id).cloned())
        .collect();
    rows.sort_by_key(|row| (day(row.start_date), row.id));
    let covering =
        rows.iter().filter(|row| row.covers(at)).max_by_key(|row| (day(row.start_date), row.id)).cloned();
    let later: Vec<&ContractServiceUnit> = rows.iter().filter(|row| day(row.start_date) > on).collect();
    let delta = i64::from(request.unit_change);

    let posted = |row: &ContractServiceUnit| {
        row.approve_and_post_date.map(|posted| {
            AppError::invalid(format!(
                "The effective date {} falls in a period that was approved and posted on {}; adjustments cannot change posted periods.",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                posted.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ))
        })
    };
    let checked_units = |current: u32| -> Result<u32, AppError> {
        let units = i64::from(current) + delta;
        if units < 0 {
            return Err(AppError::invalid(format!(
                "The adjustment of {delta} units would leave {units} units on ContractService {}; units cannot be negative.",
                line.id
            )));
        }
        u32::try_from(units)
            .ok()
            .filter(|units| *units <= i32::MAX as u32)
            .ok_or_else(|| AppError::invalid("The resulting units exceed the int32 range."))
    };

    // Validate everything first.
    if let Some(row) = &covering
        && let Some(error) = posted(row)
    {
        return Err(error);
    }
    for row in &later {
        if let Some(error) = posted(row) {
            return Err(error);
        }
        checked_units(row.units)?;
    }
    let mut changed_rows: Vec<ContractServiceUnit> = Vec::new();
    let mut period_end_notes: Vec<(i64, DateTime<Utc>)> = Vec::new();
    let next_row_id = store.contract_service_units.next_id();
    match &covering {
        Some(row) if day(row.start_date) == on => {
            changed_rows.push(ContractServiceUnit { units: checked_units(row.units)?, ..row.clone() });
        }
        Some(row) => {
            let units = checked_units(row.units)?;
            let period_end = store.period_end(row);
            let shortened = ContractServiceUnit { end_date: midnight(day_before(on)?), ..row.clone() };
            let started = ContractServiceUnit {
                id: next_row_id,
                start_date: midnight(on),
                end_date: midnight(day(row.end_date)),
                units,
                price: request.adjusted_unit_price.or(row.price),
                cost: request.adjusted_unit_cost.or(row.cost),
                approve_and_post_date: None,
                ..row.clone()
            };
            period_end_notes.push((shortened.id, period_end));
            if day(started.end_date) != day(period_end) {
                period_end_notes.push((started.id, period_end));
            }
            changed_rows.push(shortened);
            changed_rows.push(started);
        }
        None => {
            let units = checked_units(0)?;
            // A new row runs to the end of the period the contract's other lines are in.
            let other_lines_period_end = store
                .contract_service_units
                .ids_where("contractID", line.contract_id)
                .iter()
                .filter_map(|id| store.contract_service_units.get(*id))
                .filter(|row| row.contract_service_id != line.id && row.covers(at))
                .map(|row| day(store.period_end(row)))
                .min();
            let mut end = other_lines_period_end.unwrap_or(day(contract.end_date));
            if let Some(next) = later.first() {
                end = end.min(day_before(day(next.start_date))?);
            }
            if end < on {
                return Err(AppError::invalid(format!(
                    "The effective date {} is after the end of contract {}.",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    contract.id
                )));
            }
            changed_rows.push(ContractServiceUnit {
                id: next_row_id,
                contract_id: line.contract_id,
                contract_service_id: line.id,
                service_id: line.service_id,
                start_date: midnight(on),
                end_date: midnight(end),
                units,
                price: request.adjusted_unit_price.or(line.unit_price),
                cost: request.adjusted_unit_cost.or(line.unit_cost),
                approve_and_post_date: None,
                extra: Default::default(),
            });
        }
    }
    for row in later {
        changed_rows.push(ContractServiceUnit { units: checked_units(row.units)?, ..row.clone() });
    }

    // Apply.
    let adjustment_id = store.adjustments.last_key_value().map_or(1, |(id, _)| id + 1);
    store.adjustments.insert(
        adjustment_id,
        Adjustment {
            id: adjustment_id,
            contract_id: line.contract_id,
            contract_service_id: line.id,
            service_id: line.service_id,
            effective_date: at,
            unit_change: request.unit_change,
            adjusted_unit_price: request.adjusted_unit_price,
            adjusted_unit_cost: request.adjusted_unit_cost,
            allow_repeat_service: request.allow_repeat_service,
            quote_item_id: request.quote_item_id,
        },
    );
    if store.contract_services.get(line.id).is_none() {
        store.contract_services.upsert(line);
    }
    for row in changed_rows {
        store.contract_service_units.upsert(row);
    }
    store.shortened_row_period_ends.extend(period_end_notes);
    Ok(adjustment_id)
}
