//! The query grammar: parsing a query body (`filter`, `MaxRecords`, `IncludeFields`) against an
//! entity's fields, and evaluating the filter on a stored entity.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde_json::Value as Json;

use crate::entity::{DataType, Entity, EntityKind, FieldDef, Scalar};
use crate::error::AppError;

/// Autotask's page size ceiling and default.
pub const MAX_RECORDS_LIMIT: usize = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    NotEq,
    Gt,
    Gte,
    Lt,
    Lte,
    BeginsWith,
    EndsWith,
    Contains,
    Exist,
    NotExist,
    In,
    NotIn,
}

impl Op {
    pub const ALL: [Op; 13] = [
        Op::Eq,
        Op::NotEq,
        Op::Gt,
        Op::Gte,
        Op::Lt,
        Op::Lte,
        Op::BeginsWith,
        Op::EndsWith,
        Op::Contains,
        Op::Exist,
        Op::NotExist,
        Op::In,
        Op::NotIn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::NotEq => "noteq",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::BeginsWith => "beginsWith",
            Op::EndsWith => "endsWith",
            Op::Contains => "contains",
            Op::Exist => "exist",
            Op::NotExist => "notExist",
            Op::In => "in",
            Op::NotIn => "notIn",
        }
    }

    fn parse(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name().eq_ignore_ascii_case(name))
    }
}

/// A filter value, already converted to the field's type; strings are lowercased because
/// Autotask compares strings case-insensitively.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    Date(DateTime<Utc>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    None,
    One(Value),
    Many(Vec<Value>),
}

/// What a condition names: a field of the entity, or a user-defined field (none exist here,
/// so a UDF reads as absent).
#[derive(Clone, Debug)]
pub enum Target {
    Field(&'static FieldDef),
    Udf(String),
}

#[derive(Clone, Debug)]
pub struct Condition {
    pub target: Target,
    pub op: Op,
    pub operand: Operand,
}

#[derive(Clone, Debug)]
pub enum Filter {
    Condition(Condition),
    And(Vec<Filter>),
    Or(Vec<Filter>),
}

/// A parsed query body.
#[derive(Clone, Debug)]
pub struct QuerySpec {
    pub filter: Filter,
    pub max_records: usize,
    /// `None`: every field.
    pub include_fields: Option<Vec<&'static str>>,
}

/// Finds a key of a JSON object ignoring case (clients send `filter`, `Filter`, `maxRecords`…).
pub fn get_ci<'a>(object: &'a serde_json::Map<String, Json>, key: &str) -> Option<&'a Json> {
    object.get(key).or_else(|| object.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// Parses a query body for `kind`; every mistake is a 500 with Autotask's errors body.
pub fn parse_query(kind: EntityKind, body: &Json) -> Result<QuerySpec, AppError> {
    let Json::Object(object) = body else {
        return Err(AppError::invalid("The query body must be a JSON object."));
    };
    let items = match get_ci(object, "filter") {
        Some(Json::Array(items)) if !items.is_empty() => items,
        Some(Json::Array(_)) | None | Some(Json::Null) => {
            return Err(AppError::invalid(
                "The filter is empty. A query requires at least one filter condition.",
            ));
        }
        Some(_) => return Err(AppError::invalid("filter must be an array of conditions.")),
    };
    let mut udf_count = 0;
    let filters =
        items.iter().map(|item| parse_filter(kind, item, &mut udf_count)).collect::<Result<_, _>>()?;
    if udf_count > 1 {
        return Err(AppError::invalid("Only one user-defined field may be used in a query."));
    }
    let max_records = match get_ci(object, "maxRecords") {
        None | Some(Json::Null) => MAX_RECORDS_LIMIT,
        Some(value) => match value.as_u64() {
            Some(n) if (1..=MAX_RECORDS_LIMIT as u64).contains(&n) => n as usize,
            _ => {
                return Err(AppError::invalid(format!(
                    "MaxRecords must be between 1 and 500; found {value}."
                )));
            }
        },
    };
    let include_fields = match get_ci(object, "includeFields") {
        None | Some(Json::Null) => None,
        Some(Json::Array(names)) if names.is_empty() => None,
        Some(Json::Array(names)) => Some(
            names
                .iter()
                .map(|name| {
                    let text =
                        name.as_str().ok_or_else(|| AppError::invalid("IncludeFields must hold strings."))?;
                    Ok(field_of(kind, text)?.name)
                })
                .collect::<Result<Vec<_>, AppError>>()?,
        ),
        Some(_) => return Err(AppError::invalid("IncludeFields must be an array of field names.")),
    };
    Ok(QuerySpec { filter: Filter::And(filters), max_records, include_fields })
}

fn field_of(kind: EntityKind, name: &str) -> Result<&'static FieldDef, AppError> {
    kind.field(name)
        .ok_or_else(|| AppError::invalid(format!("Unable to find {name} in the {} entity.", kind.singular())))
}

fn parse_filter(kind: EntityKind, item: &Json, udf_count: &mut usize) -> Result<Filter, AppError> {
    let Json::Object(object) = item else {
        return Err(AppError::invalid(format!("A filter condition must be an object; found {item}.")));
    };
    let op_name = get_ci(object, "op").and_then(Json::as_str).unwrap_or_default();
    if op_name.eq_ignore_ascii_case("and") || op_name.eq_ignore_ascii_case("or") {
        let Some(Json::Array(children)) = get_ci(object, "items") else {
            return Err(AppError::invalid(format!("The `{op_name}` group needs an items array.")));
        };
        if children.is_empty() {
            return Err(AppError::invalid(format!("The `{op_name}` group has no items.")));
        }
        let children = children
            .iter()
            .map(|child| parse_filter(kind, child, udf_count))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(if op_name.eq_ignore_ascii_case("and") {
            Filter::And(children)
        } else {
            Filter::Or(children)
        });
    }
    let op = Op::parse(op_name)
        .ok_or_else(|| AppError::invalid(format!("Invalid filter operator `{op_name}`.")))?;
    let field_name = match get_ci(object, "field") {
        Some(Json::String(name)) if !name.is_empty() => name,
        _ => return Err(AppError::invalid(format!("The `{op_name}` condition needs a field."))),
    };
    let is_udf = match get_ci(object, "udf") {
        None | Some(Json::Null) | Some(Json::Bool(false)) => false,
        Some(Json::Bool(true)) => true,
        Some(other) => return Err(AppError::invalid(format!("udf must be true or false; found {other}."))),
    };
    let raw_value = get_ci(object, "value");
    if is_udf {
        *udf_count += 1;
        let operand = parse_operand(op, DataType::String, field_name, raw_value)?;
        return Ok(Filter::Condition(Condition { target: Target::Udf(field_name.clone()), op, operand }));
    }
    let field = field_of(kind, field_name)?;
    let operand = parse_operand(op, field.data_type, field.name, raw_value)?;
    Ok(Filter::Condition(Condition { target: Target::Field(field), op, operand }))
}

fn parse_operand(op: Op, data_type: DataType, field: &str, raw: Option<&Json>) -> Result<Operand, AppError> {
    match op {
        Op::Exist | Op::NotExist => Ok(Operand::None),
        Op::In | Op::NotIn => match raw {
            Some(Json::Array(values)) => Ok(Operand::Many(
                values.iter().map(|value| convert(data_type, field, value)).collect::<Result<_, _>>()?,
            )),
            _ => Err(AppError::invalid(format!(
                "The `{}` operator on {field} needs an array value.",
                op.name()
            ))),
        },
        _ => {
            let value = raw.ok_or_else(|| {
                AppError::invalid(format!("The `{}` condition on {field} needs a value.", op.name()))
            })?;
            let value = convert(data_type, field, value)?;
            let textual = matches!(op, Op::BeginsWith | Op::EndsWith | Op::Contains);
            if textual && data_type != DataType::String {
                return Err(AppError::invalid(format!(
                    "The `{}` operator needs a string field; {field} is not.",
                    op.name()
                )));
            }
            let ordered = matches!(op, Op::Gt | Op::Gte | Op::Lt | Op::Lte);
            if ordered && data_type == DataType::Boolean {
                return Err(AppError::invalid(format!(
                    "The `{}` operator cannot compare the boolean {field}.",
                    op.name()
                )));
            }
            Ok(Operand::One(value))
        }
    }
}

/// Converts one JSON filter value to the field's type; booleans are strict.
fn convert(data_type: DataType, field: &str, value: &Json) -> Result<Value, AppError> {
    let bad = || {
        AppError::invalid(format!(
            "The value {value} is not valid for the {} field {field}.",
            data_type.name()
        ))
    };
    match data_type {
        DataType::Integer | DataType::Long => match value {
            Json::Number(n) => n.as_i64().map(Value::Int).ok_or_else(bad),
            Json::String(s) => s.trim().parse().map(Value::Int).map_err(|_| bad()),
            _ => Err(bad()),
        },
        DataType::Double => match value {
            Json::Number(n) => n.as_f64().map(Value::Float).ok_or_else(bad),
            Json::String(s) => {
                s.trim().parse::<f64>().ok().filter(|f| f.is_finite()).map(Value::Float).ok_or_else(bad)
            }
            _ => Err(bad()),
        },
        DataType::String => match value {
            Json::String(s) => Ok(Value::Str(s.to_lowercase())),
            Json::Number(n) => Ok(Value::Str(n.to_string())),
            _ => Err(bad()),
        },
        DataType::Boolean => match value {
            Json::Bool(b) => Ok(Value::Bool(*b)),
            Json::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Json::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(AppError::invalid(format!(
                "The value {value} is not valid for the boolean field {field}; use true or false."
            ))),
        },
        DataType::DateTime => match value {
            Json::String(s) => parse_datetime(s).map(Value::Date).ok_or_else(bad),
            _ => Err(bad()),
        },
    }
}

/// Accepts what clients send (see [`crate::dates::parse`]).
pub fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    crate::dates::parse(text)
}

impl Filter {
    pub fn matches<E: Entity>(&self, entity: &E) -> bool {
        match self {
            Filter::Condition(condition) => condition.matches(entity),
            Filter::And(items) => items.iter().all(|item| item.matches(entity)),
            Filter::Or(items) => items.iter().any(|item| item.matches(entity)),
        }
    }

    /// The conditions that must all hold (those reachable through `and` only), for index planning.
    pub fn required_conditions(&self) -> Vec<&Condition> {
        let mut out = Vec::new();
        self.collect_required(&mut out);
        out
    }

    fn collect_required<'a>(&'a self, out: &mut Vec<&'a Condition>) {
        match self {
            Filter::Condition(condition) => out.push(condition),
            Filter::And(items) => items.iter().for_each(|item| item.collect_required(out)),
            Filter::Or(items) if items.len() == 1 => items[0].collect_required(out),
            Filter::Or(_) => {}
        }
    }
}

impl Condition {
    pub fn field_name(&self) -> Option<&'static str> {
        match self.target {
            Target::Field(field) => Some(field.name),
            Target::Udf(_) => None,
        }
    }

    fn matches<E: Entity>(&self, entity: &E) -> bool {
        let actual = match self.target {
            Target::Field(field) => entity.value(field.name),
            Target::Udf(_) => Scalar::Null,
        };
        let one = || match &self.operand {
            Operand::One(value) => Some(value),
            _ => None,
        };
        let any_equal = || match &self.operand {
            Operand::Many(values) => {
                values.iter().any(|value| compare(&actual, value) == Some(Ordering::Equal))
            }
            _ => false,
        };
        let ordering = || one().and_then(|value| compare(&actual, value));
        let text_test = |test: fn(&str, &str) -> bool| match (&actual, one()) {
            (Scalar::Str(text), Some(Value::Str(needle))) => test(&text.to_lowercase(), needle),
            _ => false,
        };
        match self.op {
            Op::Exist => actual != Scalar::Null,
            Op::NotExist => actual == Scalar::Null,
            Op::Eq => ordering() == Some(Ordering::Equal),
            // Negations are the complement of their positive form, null included.
            Op::NotEq => ordering() != Some(Ordering::Equal),
            Op::Gt => ordering() == Some(Ordering::Greater),
            Op::Gte => matches!(ordering(), Some(Ordering::Greater | Ordering::Equal)),
            Op::Lt => ordering() == Some(Ordering::Less),
            Op::Lte => matches!(ordering(), Some(Ordering::Less | Ordering::Equal)),
            Op::BeginsWith => text_test(|text, needle| text.starts_with(needle)),
            Op::EndsWith => text_test(|text, needle| text.ends_with(needle)),
            Op::Contains => text_test(|text, needle| text.contains(needle)),
            Op::In => any_equal(),
            Op::NotIn => !any_equal(),
        }
    }
}

/// Orders a stored value against a filter value; `None` when either is null or the types differ.
fn compare(actual: &Scalar<'_>, expected: &Value) -> Option<Ordering> {
    match (actual, expected) {
        (Scalar::Int(a), Value::Int(b)) => Some(a.cmp(b)),
        (Scalar::Int(a), Value::Float(b)) => (*a as f64).partial_cmp(b),
        (Scalar::Float(a), Value::Float(b)) => a.partial_cmp(b),
        (Scalar::Float(a), Value::Int(b)) => a.partial_cmp(&(*b as f64)),
        (Scalar::Str(a), Value::Str(b)) => Some(a.to_lowercase().as_str().cmp(b.as_str())),
        (Scalar::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (Scalar::Date(a), Value::Date(b)) => Some(a.cmp(b)),
        _ => None,
    }
}
