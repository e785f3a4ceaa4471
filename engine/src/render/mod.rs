//! Renderings of a plan for people: text, Markdown (pull requests), CSV, a self-contained HTML
//! report, colour for terminals and unified diffs. All pure: a plan (or texts) in, a string out;
//! no I/O, no clock, and order only from the plan's own sorted vectors.

pub mod colour;
pub mod csv;
pub mod diff;
pub mod html;
pub mod markdown;
pub mod plan_diff;
mod text;
pub mod xlsx;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

pub use self::text::{TextOptions, summary_line, text, write_body, write_header, write_text};
use crate::codes::{Code, LogLevel};
use crate::plan::{ActionKind, Plan};
pub use crate::terminal::{escape_controls, escape_controls_line};

/// Options of the tabular renderings (CSV, HTML): every action, and the log entries down to
/// `log_level`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TableOptions {
    /// The least important log level included; `None`: the plan's own `logLevel` setting.
    pub log_level: Option<LogLevel>,
}

/// Which list of the plan a table row comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    Action,
    Log,
}

impl Record {
    pub fn as_str(self) -> &'static str {
        match self {
            Record::Action => "action",
            Record::Log => "log",
        }
    }
}

/// One row of the CSV export and of the HTML report's table: an action or a log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row<'a> {
    pub record: Record,
    /// The action's kind; `None` for a log entry.
    pub kind: Option<ActionKind>,
    pub code: Code,
    /// A log entry's level; for an action, the level of its code.
    pub level: LogLevel,
    pub customer_code: &'a str,
    /// From the customer's actions when the row is a log entry.
    pub customer_name: &'a str,
    pub company_id: Option<i64>,
    pub contract_id: Option<i64>,
    pub service_id: Option<i64>,
    pub contract_service_id: Option<i64>,
    pub sku: &'a str,
    pub description: &'a str,
    pub from: Option<u32>,
    pub to: Option<u32>,
    pub effective_date: Option<DateTime<Utc>>,
    /// `None`: not a change; `Some(None)`: a change with no price.
    pub unit_price: Option<Option<Decimal>>,
    pub monthly_amount_change: Option<Option<Decimal>>,
    pub prorated_amount_change: Option<Option<Decimal>>,
    pub message: &'a str,
}

/// Every action in plan order, then the log entries shown at the options' level in log order.
pub fn rows(plan: &Plan, options: TableOptions) -> Vec<Row<'_>> {
    let log_level = options.log_level.unwrap_or(plan.settings.log_level);
    let names: BTreeMap<&str, &str> =
        plan.actions.iter().map(|action| (&*action.customer_code, &*action.customer_name)).collect();
    let actions = plan.actions.iter().map(|action| Row {
        record: Record::Action,
        kind: Some(action.kind),
        code: action.code,
        level: action.code.level(),
        customer_code: &action.customer_code,
        customer_name: &action.customer_name,
        company_id: action.company_id,
        contract_id: action.contract_id,
        service_id: action.service_id,
        contract_service_id: action.contract_service_id,
        sku: action.sku.as_deref().unwrap_or_default(),
        description: action.description.as_deref().unwrap_or_default(),
        from: action.from,
        to: action.to,
        effective_date: action.effective_date,
        unit_price: action.unit_price,
        monthly_amount_change: action.monthly_amount_change,
        prorated_amount_change: action.prorated_amount_change,
        message: &action.message,
    });
    let log = plan.log.iter().filter(|entry| entry.level.shown_at(log_level)).map(|entry| {
        let customer_code = entry.customer_code.as_deref().unwrap_or_default();
        Row {
            record: Record::Log,
            kind: None,
            code: entry.code,
            level: entry.level,
            customer_code,
            customer_name: names.get(customer_code).copied().unwrap_or_default(),
            company_id: None,
            contract_id: None,
            service_id: None,
            contract_service_id: None,
            sku: "",
            description: "",
            from: None,
            to: None,
            effective_date: None,
            unit_price: None,
            monthly_amount_change: None,
            prorated_amount_change: None,
            message: &entry.message,
        }
    });
    actions.chain(log).collect()
}

/// How many log entries of each level the plan holds (all of them, whatever the setting).
pub(crate) fn log_counts(plan: &Plan) -> BTreeMap<LogLevel, usize> {
    let mut counts = BTreeMap::new();
    for entry in &plan.log {
        *counts.entry(entry.level).or_default() += 1;
    }
    counts
}

/// Text safe in HTML element content and in quoted attribute values.
pub(crate) fn escape_html(text: &str) -> std::borrow::Cow<'_, str> {
    // The five characters are ASCII, so a byte scan finds them and cuts only at character
    // boundaries; most text has none and is shown as it is, without a copy.
    let entity = |byte: u8| if byte.is_ascii() { html_entity(char::from(byte)) } else { None };
    let Some(first) = text.bytes().position(|byte| entity(byte).is_some()) else {
        return std::borrow::Cow::Borrowed(text);
    };
    let mut escaped = String::with_capacity(text.len() + 16);
    let mut start = 0;
    for (index, byte) in text.bytes().enumerate().skip(first) {
        if let Some(entity) = entity(byte) {
            escaped.push_str(&text[start..index]);
            escaped.push_str(entity);
            start = index + 1;
        }
    }
    escaped.push_str(&text[start..]);
    std::borrow::Cow::Owned(escaped)
}

/// The entity that stands for a character with a meaning in HTML.
pub(crate) fn html_entity(character: char) -> Option<&'static str> {
    match character {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        '\'' => Some("&#39;"),
        _ => None,
    }
}

/// `2026-11-24T22:00:00Z`: the one time format of every rendering.
pub(crate) fn time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// What every rendering shows where a change has no price: never 0.
pub const NO_PRICE: &str = "no price";

/// An amount for people: rounded to cents (half away from zero), `1234.5` → `1,234.50`; the
/// plan keeps the exact value.
pub fn money(amount: Decimal) -> String {
    let mut text = String::new();
    write_money(&mut text, amount, false);
    text
}

/// A change in money, signed: `+62.50`, `-12.00`, `0.00`.
pub fn signed_money(amount: Decimal) -> String {
    let mut text = String::new();
    write_money(&mut text, amount, true);
    text
}

/// [`money`] appended to `out`, with a `+` above zero when `signed`. From the integer number of
/// cents, without `Display`: a big plan's text shows a million amounts.
pub(crate) fn write_money(out: &mut String, amount: Decimal, signed: bool) {
    let rounded = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    // Rounded to cents, the scale is at most 2; a 96-bit mantissa times 100 fits an i128.
    let cents = rounded.mantissa() * 10i128.pow(2 - rounded.scale().min(2));
    if cents < 0 {
        out.push('-');
    } else if signed && cents > 0 {
        out.push('+');
    }
    let cents = cents.unsigned_abs();
    let mut digits = itoa::Buffer::new();
    let whole = digits.format(cents / 100);
    for (index, digit) in whole.char_indices() {
        if index > 0 && (whole.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out.push('.');
    let fraction = (cents % 100) as u8;
    out.push(char::from(b'0' + fraction / 10));
    out.push(char::from(b'0' + fraction % 10));
}

/// A change's amount as shown in a table cell: signed money, [`NO_PRICE`], or empty for an
/// action that is not a change.
pub fn amount_cell(amount: Option<Option<Decimal>>) -> String {
    match amount {
        Some(Some(amount)) => signed_money(amount),
        Some(None) => NO_PRICE.to_owned(),
        None => String::new(),
    }
}

/// A change's unit price as shown in a table cell.
pub fn price_cell(price: Option<Option<Decimal>>) -> String {
    match price {
        Some(Some(price)) => money(price),
        Some(None) => NO_PRICE.to_owned(),
        None => String::new(),
    }
}

/// `Monthly amount change: +1,234.50 (prorated +600.00); 2 changes have no price`: the plan's
/// money in one line.
pub fn money_line(plan: &Plan) -> String {
    let summary = &plan.summary;
    let mut line = format!("Monthly amount change: {}", signed_money(summary.monthly_amount_change));
    if let Some(prorated) = summary.prorated_amount_change {
        line.push_str(&format!(" (pro-rated for the rest of the period: {})", signed_money(prorated)));
    }
    match summary.unpriced_changes {
        0 => {}
        1 => line.push_str("; 1 change has no price and is not counted"),
        n => line.push_str(&format!("; {n} changes have no price and are not counted")),
    }
    line
}

#[cfg(test)]
mod money_tests {
    use rust_decimal::Decimal;

    #[test]
    fn money_is_rounded_to_cents_only_for_display() {
        let amount = |text: &str| text.parse::<Decimal>().expect("a decimal");
        assert_eq!(super::money(amount("1234.5")), "1,234.50");
        assert_eq!(super::money(amount("0.005")), "0.01");
        assert_eq!(super::signed_money(amount("-0.004")), "0.00");
        assert_eq!(super::signed_money(amount("-1234567.891")), "-1,234,567.89");
        assert_eq!(super::signed_money(amount("62.5")), "+62.50");
        assert_eq!(super::money(amount("-5")), "-5.00");
        assert_eq!(super::signed_money(amount("0")), "0.00");
        assert_eq!(super::signed_money(amount("999.995")), "+1,000.00");
        assert_eq!(super::money(amount("123456")), "123,456.00");
        assert_eq!(super::amount_cell(Some(None)), "no price");
        assert_eq!(super::amount_cell(None), "");
        assert_eq!(
            super::money(amount("79228162514264337593543950335")),
            "79,228,162,514,264,337,593,543,950,335.00"
        );
        assert_eq!(super::signed_money(amount("-0.0000000000000000000000000001")), "0.00");
    }

    proptest::proptest! {
        // Against the plain formatting: rounded to cents, `{:.2}`, a comma every three digits.
        #[test]
        fn money_is_the_rounded_amount_with_thousands_separators(
            mantissa in proptest::prelude::any::<i64>(),
            scale in 0u32..12,
            signed in proptest::prelude::any::<bool>(),
        ) {
            let amount = rust_decimal::Decimal::new(mantissa, scale);
            let cents = amount.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
            let digits = format!("{:.2}", cents.abs());
            let (whole, fraction) = digits.split_once('.').expect("two decimals");
            let mut expected = String::new();
            if !cents.is_zero() && cents.is_sign_negative() {
                expected.push('-');
            } else if signed && !cents.is_zero() {
                expected.push('+');
            }
            for (index, digit) in whole.chars().enumerate() {
                if index > 0 && (whole.len() - index) % 3 == 0 {
                    expected.push(',');
                }
                expected.push(digit);
            }
            expected.push('.');
            expected.push_str(fraction);
            let shown = if signed { super::signed_money(amount) } else { super::money(amount) };
            proptest::prop_assert_eq!(shown, expected);
        }
    }
}

#[cfg(test)]
mod escape_tests {
    proptest::proptest! {
        /// Each of `& < > " '` becomes its entity and every other character stays as it is,
        /// multi-byte ones included.
        #[test]
        fn escape_html_replaces_the_five_characters_and_nothing_else(text in "[a&<>\"'é€😀 ]{0,40}") {
            let expected: String = text
                .chars()
                .map(|character| super::html_entity(character).map_or_else(|| character.to_string(), str::to_owned))
                .collect();
            let escaped = super::escape_html(&text);
            proptest::prop_assert_eq!(escaped.as_ref(), expected.as_str());
        }
    }
}
