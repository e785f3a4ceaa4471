//! Deserializers for the snapshot values whose wire form is looser or easier to get wrong than
//! their type: counts written as integral floats, Autotask's midnight timestamps, calendar dates.
//! Each error says what is expected and what was found; the caller adds the JSON path.
//! Also the big arrays' deserializer, which sizes each array once (see [`presized_vec`]).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use foldhash::{HashSet, HashSetExt as _};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

thread_local! {
    /// The length in bytes of the document being parsed on this thread (0: unknown).
    static DOCUMENT_BYTES: Cell<usize> = const { Cell::new(0) };
}

thread_local! {
    /// The strings [`interned`] has handed out during this thread's parse; none outside one, so
    /// that nothing outlives the document's rows.
    static INTERNED: RefCell<Option<HashSet<Arc<str>>>> = const { RefCell::new(None) };
}

/// Runs `parse` with `bytes` as this thread's document length, for [`presized_vec`], and with
/// a fresh set of interned strings for [`interned`].
pub fn with_document_length<T>(bytes: usize, parse: impl FnOnce() -> T) -> T {
    let outer = DOCUMENT_BYTES.replace(bytes);
    let outer_strings = INTERNED.replace(Some(HashSet::new()));
    let result = parse();
    DOCUMENT_BYTES.set(outer);
    INTERNED.set(outer_strings);
    result
}

/// A string that repeats across a big array (a customer code, a SKU, a product's name on a
/// million billing rows): every occurrence in one document shares one allocation.
pub fn interned<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Arc<str>, D::Error> {
    deserializer.deserialize_str(Interned)
}

/// [`interned`], or `null`.
pub fn optional_interned<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Arc<str>>, D::Error> {
    deserializer.deserialize_option(OptionalInterned)
}

struct Interned;

impl Visitor<'_> for Interned {
    type Value = Arc<str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Arc<str>, E> {
        Ok(INTERNED.with_borrow_mut(|strings| match strings {
            Some(strings) => match strings.get(text) {
                Some(shared) => Arc::clone(shared),
                None => {
                    let shared: Arc<str> = Arc::from(text);
                    strings.insert(Arc::clone(&shared));
                    shared
                }
            },
            None => Arc::from(text),
        }))
    }
}

struct OptionalInterned;

impl<'de> Visitor<'de> for OptionalInterned {
    type Value = Option<Arc<str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<Arc<str>>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<Arc<str>>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<Arc<str>>, D::Error> {
        interned(deserializer).map(Some)
    }
}

/// The fewest bytes one element of an array can take in JSON: its required keys alone.
pub trait MinJsonBytes {
    const MIN_JSON_BYTES: usize;
}

/// A big array (a million billing rows) allocated once: an array in a document of n bytes holds
/// at most n / `MIN_JSON_BYTES` elements, so that much is reserved up front. Pages never written
/// are never touched, so memory in use is what the elements fill; growing by doubling instead
/// copied every array several times into fresh pages, the largest cost of a big load.
pub fn presized_vec<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + MinJsonBytes,
{
    struct Elements<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de> + MinJsonBytes> Visitor<'de> for Elements<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            // What serde says for a `Vec`, so that an error reads the same as before.
            f.write_str("a sequence")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let bound = DOCUMENT_BYTES.get() / T::MIN_JSON_BYTES.max(1);
            let mut elements = Vec::with_capacity(seq.size_hint().unwrap_or(bound));
            while let Some(element) = seq.next_element()? {
                elements.push(element);
            }
            Ok(elements)
        }
    }
    deserializer.deserialize_seq(Elements(PhantomData))
}

/// A count of units: a whole number from 0 to `u32::MAX`. `5.0` is the integer 5, as in JSON
/// Schema (Autotask itself sends units as `3.0000`); `5.5` and `-1` are refused.
pub fn count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    struct Count;
    impl Visitor<'_> for Count {
        type Value = u32;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a whole number of units, 0 or more")
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<u32, E> {
            u32::try_from(value)
                .map_err(|_| E::custom(format!("expected a count of units, found {value}, too large")))
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<u32, E> {
            match u64::try_from(value) {
                Ok(value) => self.visit_u64(value),
                Err(_) => {
                    Err(E::custom(format!("expected a whole number of units, 0 or more, found {value}")))
                }
            }
        }

        fn visit_f64<E: de::Error>(self, value: f64) -> Result<u32, E> {
            if value.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&value) {
                Ok(value as u32)
            } else {
                Err(E::custom(format!("expected a whole number of units, 0 or more, found {value}")))
            }
        }
    }
    deserializer.deserialize_any(Count)
}

const TIMESTAMP_EXPECTED: &str = "expected a timestamp with a UTC offset, like `2026-11-25T00:00:00Z`";

/// Why `text` is not a timestamp billsync reads, in words for the person fixing the file.
fn timestamp_error(text: &str) -> String {
    let found = if NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok() {
        "a date without a time"
    } else if text.parse::<NaiveDateTime>().is_ok() {
        "a timestamp without an offset"
    } else {
        "text that is not a timestamp"
    };
    format!("{TIMESTAMP_EXPECTED}, found {found}: `{text}`")
}

struct Timestamp;

impl Visitor<'_> for Timestamp {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(TIMESTAMP_EXPECTED.trim_start_matches("expected "))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<DateTime<Utc>, E> {
        match utc_seconds(text) {
            Some(time) => Ok(time),
            None => text.parse::<DateTime<Utc>>().map_err(|_| E::custom(timestamp_error(text))),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the form Autotask and billsync write, read without chrono's general
/// parser (a big snapshot holds millions); any other form goes to that parser.
fn utc_seconds(text: &str) -> Option<DateTime<Utc>> {
    let bytes = text.as_bytes();
    if bytes.len() != 20 || bytes[4] != b'-' || bytes[7] != b'-' || bytes[10] != b'T' || bytes[19] != b'Z' {
        return None;
    }
    if bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| {
        bytes[range].iter().try_fold(0_u32, |value, &byte| {
            byte.is_ascii_digit().then(|| value * 10 + u32::from(byte - b'0'))
        })
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(number(0..4)?).ok()?, number(5..7)?, number(8..10)?)?;
    let time = chrono::NaiveTime::from_hms_opt(number(11..13)?, number(14..16)?, number(17..19)?)?;
    Some(date.and_time(time).and_utc())
}

/// An RFC 3339 timestamp with an offset. Autotask's calendar dates arrive as midnight UTC.
pub fn timestamp<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    deserializer.deserialize_str(Timestamp)
}

/// [`timestamp`], or null.
pub fn optional_timestamp<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    struct Optional;
    impl<'de> Visitor<'de> for Optional {
        type Value = Option<DateTime<Utc>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a timestamp with a UTC offset, or null")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
            timestamp(deserializer).map(Some)
        }
    }
    deserializer.deserialize_option(Optional)
}

/// A calendar date, `YYYY-MM-DD`.
pub fn date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
    struct Date;
    impl Visitor<'_> for Date {
        type Value = NaiveDate;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a calendar date like `2026-11-25`")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<NaiveDate, E> {
            text.parse::<NaiveDate>()
                .map_err(|_| E::custom(format!("expected a calendar date like `2026-11-25`, found `{text}`")))
        }
    }
    deserializer.deserialize_str(Date)
}
