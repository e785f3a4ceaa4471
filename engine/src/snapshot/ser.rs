//! Serializers for timestamps, byte for byte what chrono writes (`2026-09-26T00:00:00Z`), without
//! its formatting machinery: a million unit rows and actions carry two or three each, and every
//! compile serializes them for the snapshot and plan digests. Anything but a whole second in
//! years 0–9999 is left to chrono.

use chrono::{DateTime, Datelike as _, Timelike as _, Utc};
use serde::{Serialize, Serializer};

/// `#[serde(serialize_with = "ser::timestamp")]`.
pub fn timestamp<S: Serializer>(value: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let naive = value.naive_utc();
    let (year, nanos) = (naive.year(), naive.nanosecond());
    if !(0..=9999).contains(&year) || nanos != 0 {
        return value.serialize(serializer);
    }
    let mut text = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, digits: usize, mut number: u32| {
        for place in (at..at + digits).rev() {
            text[place] = b'0' + (number % 10) as u8;
            number /= 10;
        }
    };
    put(0, 4, year.unsigned_abs());
    put(5, 2, naive.month());
    put(8, 2, naive.day());
    put(11, 2, naive.hour());
    put(14, 2, naive.minute());
    put(17, 2, naive.second());
    serializer.serialize_str(std::str::from_utf8(&text).expect("digits and separators are ASCII"))
}

/// `#[serde(serialize_with = "ser::optional_timestamp")]`: `null` for none.
pub fn optional_timestamp<S: Serializer>(
    value: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => timestamp(value, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone as _, Utc};
    use proptest::prelude::*;

    #[derive(serde::Serialize)]
    struct Fast(#[serde(serialize_with = "super::timestamp")] DateTime<Utc>);

    proptest! {
        /// Whole seconds, fractions and years past 9999: always chrono's own bytes.
        #[test]
        fn writes_what_chrono_writes(seconds in -62_167_219_200_i64..300_000_000_000, nanos in prop_oneof![Just(0_u32), 0_u32..1_000_000_000]) {
            let value = Utc.timestamp_opt(seconds, nanos).unwrap();
            prop_assert_eq!(serde_json::to_string(&Fast(value)).unwrap(), serde_json::to_string(&value).unwrap());
        }
    }

    #[test]
    fn a_midnight_is_written_as_autotask_sends_it() {
        let midnight = Utc.with_ymd_and_hms(2026, 9, 26, 0, 0, 0).unwrap();
        assert_eq!(serde_json::to_string(&Fast(midnight)).unwrap(), "\"2026-09-26T00:00:00Z\"");
    }
}
