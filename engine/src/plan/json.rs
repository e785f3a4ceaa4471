//! The JSON of actions and log entries written straight into a buffer, in two layouts: compact,
//! for the plan digest to hash, and pretty, for the plan file. Byte for byte what serde_json
//! writes for them (property tests compare the two), without its per-key escaping and formatting
//! machinery: a 1M-row plan has 800k of each, every `billsync plan` hashes them all, and every
//! `--out` writes them.

use rust_decimal::Decimal;

use super::{Action, LogEntry};
use crate::snapshot::ser::{json_string as string, json_timestamp as timestamp};

/// A key and its colon: the object's first (`{"kind":`) or a later one (`,"code":`), compact or
/// pretty as serde_json writes a field of an object in the plan's `actions` or `log` array
/// (indented six spaces, `"kind": `). Constant either way.
macro_rules! key {
    ($pretty:expr, first $name:literal) => {
        if $pretty {
            concat!("{\n      \"", $name, "\": ").as_bytes()
        } else {
            concat!("{\"", $name, "\":").as_bytes()
        }
    };
    ($pretty:expr, $name:literal) => {
        if $pretty {
            concat!(",\n      \"", $name, "\": ").as_bytes()
        } else {
            concat!(",\"", $name, "\":").as_bytes()
        }
    };
}

/// The end of an object in the plan's arrays.
fn close<const PRETTY: bool>(out: &mut Vec<u8>) {
    out.extend_from_slice(if PRETTY { b"\n    }" } else { b"}" });
}

/// Appends `action` as serde_json writes it: compact, or pretty as an element of `actions`.
pub(super) fn write_action<const PRETTY: bool>(out: &mut Vec<u8>, action: &Action) {
    out.extend_from_slice(key!(PRETTY, first "kind"));
    string(out, action.kind.as_str());
    out.extend_from_slice(key!(PRETTY, "code"));
    string(out, action.code.as_str());
    out.extend_from_slice(key!(PRETTY, "customerCode"));
    string(out, &action.customer_code);
    out.extend_from_slice(key!(PRETTY, "customerName"));
    string(out, &action.customer_name);
    let ids = [
        (key!(PRETTY, "companyId"), action.company_id),
        (key!(PRETTY, "contractId"), action.contract_id),
        (key!(PRETTY, "serviceId"), action.service_id),
        (key!(PRETTY, "contractServiceId"), action.contract_service_id),
    ];
    for (key, id) in ids {
        if let Some(id) = id {
            out.extend_from_slice(key);
            out.extend_from_slice(itoa::Buffer::new().format(id).as_bytes());
        }
    }
    if let Some(sku) = &action.sku {
        out.extend_from_slice(key!(PRETTY, "sku"));
        string(out, sku);
    }
    if let Some(description) = &action.description {
        out.extend_from_slice(key!(PRETTY, "description"));
        string(out, description);
    }
    for (key, units) in [(key!(PRETTY, "from"), action.from), (key!(PRETTY, "to"), action.to)] {
        if let Some(units) = units {
            out.extend_from_slice(key);
            out.extend_from_slice(itoa::Buffer::new().format(units).as_bytes());
        }
    }
    if let Some(date) = &action.effective_date {
        out.extend_from_slice(key!(PRETTY, "effectiveDate"));
        timestamp(out, date);
    }
    let amounts = [
        (key!(PRETTY, "unitPrice"), &action.unit_price),
        (key!(PRETTY, "monthlyAmountChange"), &action.monthly_amount_change),
        (key!(PRETTY, "proratedAmountChange"), &action.prorated_amount_change),
    ];
    for (key, amount) in amounts {
        if let Some(amount) = amount {
            out.extend_from_slice(key);
            decimal(out, amount.as_ref());
        }
    }
    out.extend_from_slice(key!(PRETTY, "message"));
    string(out, &action.message);
    close::<PRETTY>(out);
}

/// Appends `entry` as serde_json writes it: compact, or pretty as an element of `log`.
pub(super) fn write_log_entry<const PRETTY: bool>(out: &mut Vec<u8>, entry: &LogEntry) {
    out.extend_from_slice(key!(PRETTY, first "code"));
    string(out, entry.code.as_str());
    out.extend_from_slice(key!(PRETTY, "level"));
    string(out, entry.level.as_str());
    if let Some(code) = &entry.customer_code {
        out.extend_from_slice(key!(PRETTY, "customerCode"));
        string(out, code);
    }
    out.extend_from_slice(key!(PRETTY, "message"));
    string(out, &entry.message);
    close::<PRETTY>(out);
}

/// Appends `items` as serde_json writes an array of them: compact, or pretty as the plan's
/// `actions` or `log` (elements indented four spaces, `[]` when empty). `spill` is called after
/// each element, to hand on what `out` holds once it is big enough.
pub(super) fn array<const PRETTY: bool, T>(
    out: &mut Vec<u8>,
    items: &[T],
    write: fn(&mut Vec<u8>, &T),
    mut spill: impl FnMut(&mut Vec<u8>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    out.push(b'[');
    for (index, item) in items.iter().enumerate() {
        let separator: &[u8] = match (PRETTY, index) {
            (false, 0) => b"",
            (false, _) => b",",
            (true, 0) => b"\n    ",
            (true, _) => b",\n    ",
        };
        out.extend_from_slice(separator);
        write(out, item);
        spill(out)?;
    }
    out.extend_from_slice(if PRETTY && !items.is_empty() { b"\n  ]" } else { b"]" });
    Ok(())
}

/// `null` for no price, else the amount as serde writes a decimal.
fn decimal(out: &mut Vec<u8>, amount: Option<&Decimal>) {
    match amount {
        Some(amount) => write_decimal(out, amount),
        None => out.extend_from_slice(b"null"),
    }
}

/// A decimal as rust_decimal serializes it: a JSON string of its digits at its own scale
/// (`"62.50"`, `"0.005"`, `"-3"`), `-` whenever the sign is negative, zero included.
fn write_decimal(out: &mut Vec<u8>, amount: &Decimal) {
    out.push(b'"');
    if amount.is_sign_negative() {
        out.push(b'-');
    }
    let mut buffer = itoa::Buffer::new();
    let mantissa = amount.mantissa().unsigned_abs();
    let digits = if mantissa == 0 { &b""[..] } else { buffer.format(mantissa).as_bytes() };
    let scale = amount.scale() as usize;
    let whole = digits.len().saturating_sub(scale);
    if whole == 0 {
        out.push(b'0');
    } else {
        out.extend_from_slice(&digits[..whole]);
    }
    if scale > 0 {
        out.push(b'.');
        out.extend(std::iter::repeat_n(b'0', scale.saturating_sub(digits.len())));
        out.extend_from_slice(&digits[whole..]);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use chrono::DateTime;

    use super::*;
    use crate::codes::{Code, LogLevel};
    use crate::plan::ActionKind;

    fn text() -> impl Strategy<Value = String> {
        // Plain names, and ones with quotes, backslashes, control characters, DEL and non-ASCII.
        prop_oneof!["[A-Za-z0-9 #().,-]{0,24}", "[\\x00-\\x7f]{0,12}", ".{0,8}"]
    }

    /// Any decimal: every mantissa up to 96 bits, every scale, and zeros with either sign.
    fn any_decimal() -> impl Strategy<Value = Decimal> {
        let most = (1_i128 << 96) - 1;
        let mantissa = prop_oneof![-most..=most, -1000_i128..1000, Just(0)];
        (mantissa, 0_u32..=28, any::<bool>()).prop_map(|(mantissa, scale, negative)| {
            let mut amount = Decimal::from_i128_with_scale(mantissa, scale);
            if mantissa == 0 {
                amount.set_sign_negative(negative);
            }
            amount
        })
    }

    fn amount() -> impl Strategy<Value = Option<Option<Decimal>>> {
        prop_oneof![Just(None), Just(Some(None)), any_decimal().prop_map(|amount| Some(Some(amount)))]
    }

    prop_compose! {
        fn action()(
            kind in prop::sample::select(vec![ActionKind::Update, ActionKind::Create, ActionKind::Zero, ActionKind::Unchanged, ActionKind::Skip]),
            code in prop::sample::select(Code::ALL.to_vec()),
            names in (text(), text(), prop::option::of(text()), prop::option::of(text()), text()),
            ids in prop::array::uniform4(prop::option::of(any::<i64>())),
            units in (prop::option::of(any::<u32>()), prop::option::of(any::<u32>())),
            date in prop::option::of((-62_000_000_000_i64..250_000_000_000, prop_oneof![Just(0_u32), 0_u32..1_000_000_000])),
            amounts in (amount(), amount(), amount()),
        ) -> Action {
            let (customer_code, customer_name, sku, description, message) = names;
            Action {
                kind,
                code,
                customer_code: customer_code.into(),
                customer_name: customer_name.into(),
                company_id: ids[0],
                contract_id: ids[1],
                service_id: ids[2],
                contract_service_id: ids[3],
                sku: sku.map(Into::into),
                description: description.map(Into::into),
                from: units.0,
                to: units.1,
                effective_date: date.and_then(|(seconds, nanos)| DateTime::from_timestamp(seconds, nanos)),
                unit_price: amounts.0,
                monthly_amount_change: amounts.1,
                prorated_amount_change: amounts.2,
                message: message.into(),
            }
        }
    }

    proptest! {
        #[test]
        fn a_decimal_is_written_as_serde_json_writes_it(amount in any_decimal()) {
            let mut fast = Vec::new();
            write_decimal(&mut fast, &amount);
            prop_assert_eq!(String::from_utf8(fast).unwrap(), serde_json::to_string(&amount).unwrap());
        }

        #[test]
        fn an_action_is_written_as_serde_json_writes_it(action in action()) {
            let mut fast = Vec::new();
            write_action::<false>(&mut fast, &action);
            prop_assert_eq!(String::from_utf8(fast).unwrap(), serde_json::to_string(&action).unwrap());
        }

        #[test]
        fn a_log_entry_is_written_as_serde_json_writes_it(entry in log_entry()) {
            let mut fast = Vec::new();
            write_log_entry::<false>(&mut fast, &entry);
            prop_assert_eq!(String::from_utf8(fast).unwrap(), serde_json::to_string(&entry).unwrap());
        }

        #[test]
        fn a_plan_file_is_written_as_serde_json_writes_it(
            actions in prop::collection::vec(action(), 0..4),
            log in prop::collection::vec(log_entry(), 0..4),
            digest in prop_oneof![Just(String::new()), "[0-9a-f]{64}"],
            prorated in prop::option::of(any_decimal()),
        ) {
            let mut plan = crate::plan::tests::seed_plan().1;
            plan.actions = actions;
            plan.log = log;
            plan.digest = digest;
            plan.summary.prorated_amount_change = prorated;
            let mut fast = Vec::new();
            plan.write_json(&mut fast).unwrap();
            let mut reference = serde_json::to_vec_pretty(&plan).unwrap();
            reference.push(b'\n');
            prop_assert_eq!(String::from_utf8(fast).unwrap(), String::from_utf8(reference).unwrap());
        }
    }

    prop_compose! {
        fn log_entry()(
            code in prop::sample::select(Code::ALL.to_vec()),
            level in prop::sample::select(vec![LogLevel::Error, LogLevel::Warning, LogLevel::Info, LogLevel::Verbose]),
            customer_code in prop::option::of(text()),
            message in text(),
        ) -> LogEntry {
            LogEntry { code, level, customer_code: customer_code.map(Into::into), message: message.into() }
        }
    }
}
