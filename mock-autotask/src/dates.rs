//! Autotask's date-times: read leniently (what clients and fixtures send), written as Autotask
//! writes them (RFC 3339 in UTC with `Z`). Contract and unit-row dates are calendar dates sent as
//! midnight UTC, so coverage is decided by the UTC day, end day inclusive.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// Accepts what clients send: RFC 3339 (`…Z` or an offset), a bare date-time taken as UTC, or a date.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Some(naive.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc())
}

/// The calendar day of `at` (UTC, as Autotask sends its dates).
pub fn day(at: DateTime<Utc>) -> NaiveDate {
    at.date_naive()
}

/// Midnight UTC of `day`: how Autotask writes a calendar date.
pub fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// `2026-01-01T00:00:00Z`, with fractions only when there are some.
pub fn format(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn from_text<E: serde::de::Error>(text: &str) -> Result<DateTime<Utc>, E> {
    parse(text).ok_or_else(|| {
        E::custom(format!("`{text}` is not a date-time; expected `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DD`"))
    })
}

/// For `#[serde(with = "crate::dates::required")]`.
pub mod required {
    use super::*;

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format(at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        from_text(&text)
    }
}

/// For `#[serde(default, with = "crate::dates::optional")]`: null or absent is `None`.
pub mod optional {
    use super::*;

    pub fn serialize<S: Serializer>(at: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => serializer.serialize_str(&format(at)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(deserializer)?.map(|text| from_text(&text)).transpose()
    }
}
