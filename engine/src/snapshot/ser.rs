//! Compact JSON written fast, byte for byte as serde_json and chrono write it, for what every
//! compile serializes to hash: timestamps (without chrono's formatting machinery; anything but a
//! whole second in years 0–9999 is left to chrono), and the big arrays' elements, written
//! straight into a buffer. Property tests compare each with serde_json's output.

use chrono::{DateTime, Datelike as _, Timelike as _, Utc};
use serde::{Serialize, Serializer};

use super::{BillingRow, ContractService, ContractServiceUnit};

/// `#[serde(serialize_with = "ser::timestamp")]`.
pub fn timestamp<S: Serializer>(value: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    match whole_second(value) {
        Some(text) => {
            serializer.serialize_str(std::str::from_utf8(&text).expect("digits and separators are ASCII"))
        }
        None => value.serialize(serializer),
    }
}

/// `2026-10-26T00:00:00Z`, as chrono writes a whole second of years 0–9999; `None` for any
/// other time (chrono's own formatting then writes it).
fn whole_second(value: &DateTime<Utc>) -> Option<[u8; 20]> {
    let naive = value.naive_utc();
    let (year, nanos) = (naive.year(), naive.nanosecond());
    if !(0..=9999).contains(&year) || nanos != 0 {
        return None;
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
    Some(text)
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

/// Appends `text` as a JSON string: as it is when nothing in it needs escaping (the usual
/// case), else escaped by serde_json itself.
pub(crate) fn json_string(out: &mut Vec<u8>, text: &str) {
    if !crate::terminal::any_byte(text.as_bytes(), |byte| (byte < 0x20) | (byte == b'"') | (byte == b'\\')) {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        json_value(out, text);
    }
}

/// Appends `value` as serde_json writes it.
pub(crate) fn json_value<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    serde_json::to_writer(&mut *out, value).expect("writing to memory cannot fail");
}

/// Appends a timestamp as [`timestamp`] serializes it.
pub(crate) fn json_timestamp(out: &mut Vec<u8>, value: &DateTime<Utc>) {
    if let Some(text) = whole_second(value) {
        out.push(b'"');
        out.extend_from_slice(&text);
        out.push(b'"');
        return;
    }
    #[derive(Serialize)]
    struct Timestamp<'a>(#[serde(serialize_with = "timestamp")] &'a DateTime<Utc>);
    json_value(out, &Timestamp(value));
}

fn json_integer(out: &mut Vec<u8>, value: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

fn json_optional_string(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(text) => json_string(out, text),
        None => out.extend_from_slice(b"null"),
    }
}

fn json_optional_number(out: &mut Vec<u8>, value: Option<f64>) {
    match value {
        Some(number) => json_value(out, &number),
        None => out.extend_from_slice(b"null"),
    }
}

/// A billing row as serde_json writes it.
pub(crate) fn write_billing_row(out: &mut Vec<u8>, row: &BillingRow) {
    out.extend_from_slice(b"{\"customerCode\":");
    json_string(out, &row.customer_code);
    out.extend_from_slice(b",\"productSku\":");
    json_optional_string(out, row.product_sku.as_deref());
    out.extend_from_slice(b",\"summaryGrouping\":");
    json_string(out, &row.summary_grouping);
    out.extend_from_slice(if row.billable { b",\"billable\":true" } else { b",\"billable\":false" });
    out.extend_from_slice(b",\"lastMonthCount\":");
    json_integer(out, row.last_month_count);
    out.extend_from_slice(b",\"thisMonthCount\":");
    json_integer(out, row.this_month_count);
    out.push(b'}');
}

/// A contract line as serde_json writes it.
pub(crate) fn write_contract_service(out: &mut Vec<u8>, line: &ContractService) {
    out.extend_from_slice(b"{\"id\":");
    json_integer(out, line.id);
    out.extend_from_slice(b",\"contractID\":");
    json_integer(out, line.contract_id);
    out.extend_from_slice(b",\"serviceID\":");
    json_integer(out, line.service_id);
    out.extend_from_slice(b",\"unitPrice\":");
    json_optional_number(out, line.unit_price);
    if let Some(price) = line.adjusted_price {
        out.extend_from_slice(b",\"adjustedPrice\":");
        json_value(out, &price);
    }
    out.extend_from_slice(b",\"unitCost\":");
    json_optional_number(out, line.unit_cost);
    out.extend_from_slice(b",\"invoiceDescription\":");
    json_optional_string(out, line.invoice_description.as_deref());
    out.extend_from_slice(b",\"internalDescription\":");
    json_optional_string(out, line.internal_description.as_deref());
    out.push(b'}');
}

/// A unit row as serde_json writes it.
pub(crate) fn write_contract_service_unit(out: &mut Vec<u8>, row: &ContractServiceUnit) {
    out.extend_from_slice(b"{\"id\":");
    json_integer(out, row.id);
    out.extend_from_slice(b",\"contractID\":");
    json_integer(out, row.contract_id);
    out.extend_from_slice(b",\"contractServiceID\":");
    json_integer(out, row.contract_service_id);
    out.extend_from_slice(b",\"serviceID\":");
    json_integer(out, row.service_id);
    out.extend_from_slice(b",\"startDate\":");
    json_timestamp(out, &row.start_date);
    out.extend_from_slice(b",\"endDate\":");
    json_timestamp(out, &row.end_date);
    out.extend_from_slice(b",\"units\":");
    json_integer(out, row.units);
    out.extend_from_slice(b",\"price\":");
    json_optional_number(out, row.price);
    out.extend_from_slice(b",\"cost\":");
    json_optional_number(out, row.cost);
    out.extend_from_slice(b",\"approveAndPostDate\":");
    match &row.approve_and_post_date {
        Some(date) => json_timestamp(out, date),
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
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

    fn text() -> impl Strategy<Value = String> {
        // Plain names, and ones with quotes, backslashes, control characters, DEL and non-ASCII.
        prop_oneof!["[A-Za-z0-9 #().,-]{0,24}", "[\\x00-\\x7f]{0,12}", ".{0,8}"]
    }

    fn number() -> impl Strategy<Value = Option<f64>> {
        prop::option::of(prop_oneof![
            any::<f64>(),
            (-1_000_000_i64..1_000_000).prop_map(|cents| cents as f64 / 100.0)
        ])
    }

    fn date() -> impl Strategy<Value = DateTime<Utc>> {
        (-62_167_219_200_i64..300_000_000_000, prop_oneof![Just(0_u32), 0_u32..1_000_000_000])
            .prop_map(|(seconds, nanos)| Utc.timestamp_opt(seconds, nanos).unwrap())
    }

    fn written(write: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        write(&mut out);
        String::from_utf8(out).unwrap()
    }

    proptest! {
        #[test]
        fn a_billing_row_is_written_as_serde_json_writes_it(
            texts in (text(), prop::option::of(text()), text()),
            billable in any::<bool>(),
            counts in (any::<u32>(), any::<u32>()),
        ) {
            let row = super::BillingRow {
                customer_code: texts.0.into(),
                product_sku: texts.1.map(Into::into),
                summary_grouping: texts.2.into(),
                billable,
                last_month_count: counts.0,
                this_month_count: counts.1,
            };
            prop_assert_eq!(written(|out| super::write_billing_row(out, &row)), serde_json::to_string(&row).unwrap());
        }

        #[test]
        fn a_contract_line_is_written_as_serde_json_writes_it(
            ids in (any::<i64>(), any::<i64>(), any::<i64>()),
            numbers in (number(), number(), number()),
            texts in (prop::option::of(text()), prop::option::of(text())),
        ) {
            let line = super::ContractService {
                id: ids.0,
                contract_id: ids.1,
                service_id: ids.2,
                unit_price: numbers.0,
                adjusted_price: numbers.1,
                unit_cost: numbers.2,
                invoice_description: texts.0,
                internal_description: texts.1,
            };
            prop_assert_eq!(written(|out| super::write_contract_service(out, &line)), serde_json::to_string(&line).unwrap());
        }

        #[test]
        fn a_unit_row_is_written_as_serde_json_writes_it(
            ids in (any::<i64>(), any::<i64>(), any::<i64>(), any::<i64>()),
            dates in (date(), date(), prop::option::of(date())),
            units in any::<u32>(),
            numbers in (number(), number()),
        ) {
            let row = super::ContractServiceUnit {
                id: ids.0,
                contract_id: ids.1,
                contract_service_id: ids.2,
                service_id: ids.3,
                start_date: dates.0,
                end_date: dates.1,
                units,
                price: numbers.0,
                cost: numbers.1,
                approve_and_post_date: dates.2,
            };
            prop_assert_eq!(written(|out| super::write_contract_service_unit(out, &row)), serde_json::to_string(&row).unwrap());
        }
    }

    #[test]
    fn a_midnight_is_written_as_autotask_sends_it() {
        let midnight = Utc.with_ymd_and_hms(2026, 9, 26, 0, 0, 0).unwrap();
        assert_eq!(serde_json::to_string(&Fast(midnight)).unwrap(), "\"2026-09-26T00:00:00Z\"");
    }
}
