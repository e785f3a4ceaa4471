//! The one table of log codes: AT01–AT24 keep the seed's meanings, levels and wording (obvious
//! typos fixed), AT25 and later are billsync's additions.

use std::cell::RefCell;
use std::fmt;
use std::sync::{Arc, LazyLock};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How important a log entry is; also the spec's `logLevel` (the least important level shown).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warning,
    #[default]
    Info,
    Verbose,
}

impl LogLevel {
    /// Whether an entry of level `self` is shown under the setting `setting`.
    pub fn shown_at(self, setting: LogLevel) -> bool {
        self <= setting
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warning => "warning",
            LogLevel::Info => "info",
            LogLevel::Verbose => "verbose",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! codes {
    ($($code:ident => $level:ident, $title:literal, $template:literal;)*) => {
        /// A log code. Serialized as its name, e.g. `"AT09"`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
        pub enum Code { $($code,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$code,)*];

            pub fn level(self) -> LogLevel {
                match self { $(Code::$code => LogLevel::$level,)* }
            }

            /// When the code occurs, in the seed's words.
            pub fn title(self) -> &'static str {
                match self { $(Code::$code => $title,)* }
            }

            /// The message with `{placeholders}` for [`Code::message`].
            pub fn template(self) -> &'static str {
                match self { $(Code::$code => $template,)* }
            }

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$code => stringify!($code),)* }
            }
        }
    };
}

codes! {
    AT01 => Info, "Start of Process", "Billing Process Started: For Billing Period {periodEndDate}";
    AT02 => Error, "Cannot Connect to Autotask", "Failed to connect to Autotask: Error reported was: {error}";
    AT03 => Error, "Cannot Connect to Atria", "Failed to connect to Atria: Error reported was: {error}";
    AT04 => Warning, "A customer does not have a Billing Identifier",
        "{customerCode} CompanyID Missing: Unable to process records for Atria Customer {customerName} – Please add the company id from Autotask into the Billing Identifier field on the Customer.";
    AT05 => Error, "Company Cannot be located on Autotask",
        "No Company with Customer Number for {customerAccountCode} Found. Check Autotask to see if the customer: {customerName} with Company Number: {customerAccountCode} exists in Autotask.";
    AT06 => Warning, "Customer Does not have a Recurring Service Contract",
        "No Contract exists for the Customer {customerName}. Check Autotask to see if customer {customerName} and a Recurring Service Contract with Contract Number: {customerAccountCode} exists in Autotask.";
    AT07 => Warning, "SKU Missing in Atria",
        "{customerName} SKU Missing in Atria: Skipped Line {lineDescription} for Customer {customerName} as no SKU was provided";
    AT08 => Warning, "Service Does not exist in Autotask",
        "{customerName} Service Missing in Autotask: Skipped Line {lineDescription} for Customer {customerName} as no Autotask service matches SKU {sku}";
    AT09 => Info, "Contract Quantity Updated",
        "{customerName} Quantity Update: Line located for {lineDescription} with Product ID {sku} and updated from {from} to {to}";
    AT10 => Verbose, "Contract Line Unchanged", "{customerName} Contract Line for {name} located – quantity is unchanged";
    AT11 => Info, "New Contract Line Created",
        "{customerName} Contract Line Added: New Line added for {name} with Service ID {serviceId}";
    AT12 => Warning, "Contract Line Missing in Autotask",
        "{customerName} Contract Line Missing in Autotask: Skipped Line {lineDescription} with Product ID {sku} for Customer {customerName} as the Contract Service SKU could not be located in Autotask";
    AT13 => Info, "Contract Line Reduced to Zero",
        "{customerName} Line located for {description} with Service Name {name} has been removed in the selected billing period. The Quantity is updated from {from} to 0.00";
    AT14 => Error, "Creating new Contract Service fails", "{customerName} ContractService {sku}, Error Details {error}";
    AT15 => Warning, "No record found in a billing period", "No records found in Atria for billing period: {periodEndDate}";
    AT16 => Error, "Secrets values are not valid", "Failed to retrieve Autotask secrets. Error occurred is: {error}";
    AT17 => Error, "User Email is not available or is not valid",
        "Failed to Retrieve Job Task Parameters: Error reported was: user email is not valid";
    AT18 => Error, "One of the Autotask Secrets is not available",
        "Failed to validate Autotask secrets. {secretName} must have a valid value";
    AT19 => Error, "Billing Period entry is incorrect", "Incorrect billing period date or format recognized: {billingPeriod}";
    AT20 => Verbose, "Start Processing Deprovisioned Customers", "Started Processing Deprovisioned Customers";
    AT21 => Verbose, "Finish Processing Deprovisioned Customers", "Finished Processing Deprovisioned Customers";
    AT22 => Verbose, "Start Autotask Worker Task Process", "Autotask Worker Task Service {job} started.";
    AT23 => Error, "Failing to Deserialize Object", "Failed to Deserialize object: Error reported was: {error}";
    AT24 => Info, "Billing Process Completed", "Billing Process Completed with status {status}";
    AT25 => Warning, "More than one Recurring Service contract",
        "{customerName} has {count} active Recurring Service contracts ({contracts}); none was updated. Choose one with overrides.{customerCode}.contractId";
    AT26 => Warning, "SKU maps to several services",
        "{customerName} SKU {sku} matches {count} Autotask services ({services}): Skipped Line {lineDescription}";
    AT27 => Warning, "Several lines for one service on the contract",
        "{customerName} Contract {contractId} has {count} lines for {name} ({lines}); none was updated";
    AT28 => Warning, "Filtered customer not in Atria", "Customer {customerCode} of the customers filter is not in Atria";
    AT29 => Warning, "Line changed since the plan was made",
        "{customerName} Contract line {contractServiceId} for {name} has {current} units, the plan expected {from}: not applied";
    AT30 => Warning, "Blocked by a guard", "{customerName} Change of {name} from {from} to {to} blocked: {guard}";
    AT31 => Error, "Read-back after apply differs from the plan",
        "{customerName} Contract line {contractServiceId} for {name} reads {actual} units after apply, the plan set {to}";
    AT32 => Verbose, "Already applied by an earlier run of this plan",
        "{customerName} {name}: already applied by an earlier run of this plan";
    AT33 => Error, "Autotask rejected an adjustment",
        "{customerName} Autotask rejected the adjustment of {name} from {from} to {to}: {error}";
    AT34 => Warning, "Several Atria customers map to one Autotask company",
        "{customerName} ({customerCode}): Autotask company {companyId} is also the company of {others}; skipped, since their changes would conflict on one contract. Give each Atria customer its own Billing Identifier";
    AT35 => Warning, "Quantity out of range",
        "{customerName} {name}: the rows {rows} sum to {quantity} units, more than Autotask's int32 units allow ({max}); none was updated";
}

impl Code {
    /// Fills the template's placeholders from `values`; a placeholder without a value stays
    /// as written, so a mistake shows in the text instead of panicking.
    pub fn message(self, values: &[(&str, &str)]) -> String {
        let values_length: usize = values.iter().map(|(_, value)| value.len()).sum();
        let mut out = String::with_capacity(self.template().len() + values_length);
        self.write_message(values, &mut out);
        out
    }

    /// [`Code::message`] as the shared string a plan's action and log entry hold: filled in a
    /// buffer the thread reuses, then copied once (a big plan fills 800k of them).
    pub fn shared_message(self, values: &[(&str, &str)]) -> Arc<str> {
        thread_local! {
            static FILLED: RefCell<String> = const { RefCell::new(String::new()) };
        }
        FILLED.with_borrow_mut(|out| {
            out.clear();
            self.write_message(values, out);
            Arc::from(out.as_str())
        })
    }

    fn write_message(self, values: &[(&str, &str)], out: &mut String) {
        // Each template's placeholders, found once per process: a big plan fills 800k messages.
        static SPANS: LazyLock<Vec<Vec<(usize, &'static str)>>> = LazyLock::new(|| {
            Code::ALL.iter().map(|code| placeholder_spans(code.template()).collect()).collect()
        });
        let template = self.template();
        let mut copied = 0;
        // `ALL` lists the codes in declaration order: a code's discriminant is its place there.
        for &(start, name) in &SPANS[self as usize] {
            out.push_str(&template[copied..start]);
            match values.iter().find(|(key, _)| *key == name) {
                Some((_, value)) => out.push_str(value),
                None => out.push_str(&template[start..start + name.len() + 2]),
            }
            copied = start + name.len() + 2;
        }
        out.push_str(&template[copied..]);
    }

    /// The placeholder names of the template, in order.
    pub fn placeholders(self) -> Vec<&'static str> {
        placeholder_spans(self.template()).map(|(_, name)| name).collect()
    }

    pub fn parse(text: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|code| code.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// Each `{name}` of a template: the byte offset of its `{` and the name.
fn placeholder_spans(template: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut searched = 0;
    std::iter::from_fn(move || {
        let open = searched + template[searched..].find('{')?;
        let close = open + template[open..].find('}')?;
        searched = close + 1;
        Some((open, &template[open + 1..close]))
    })
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A run's outcome as AT24 reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum JobStatus {
    Success,
    CompletedWithWarnings,
    Failed,
}

impl JobStatus {
    /// Failed when any entry is an error, CompletedWithWarnings when any is a warning.
    pub fn of(levels: impl IntoIterator<Item = LogLevel>) -> JobStatus {
        let mut status = JobStatus::Success;
        for level in levels {
            match level {
                LogLevel::Error => return JobStatus::Failed,
                LogLevel::Warning => status = JobStatus::CompletedWithWarnings,
                _ => {}
            }
        }
        status
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Success => "Success",
            JobStatus::CompletedWithWarnings => "CompletedWithWarnings",
            JobStatus::Failed => "Failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_runs_from_at01_in_order() {
        let names: Vec<String> = Code::ALL.iter().map(|code| code.to_string()).collect();
        let expected: Vec<String> = (1..=Code::ALL.len()).map(|n| format!("AT{n:02}")).collect();
        assert_eq!(names, expected);
        // `Code::message` finds a code's placeholders by its discriminant.
        assert!(Code::ALL.iter().enumerate().all(|(at, code)| *code as usize == at));
    }

    #[test]
    fn every_placeholder_of_every_template_is_filled() {
        for code in Code::ALL {
            let names = code.placeholders();
            let values: Vec<(&str, String)> = names.iter().map(|name| (*name, format!("<{name}>"))).collect();
            let values: Vec<(&str, &str)> =
                values.iter().map(|(name, value)| (*name, value.as_str())).collect();
            let expected = names.iter().fold(code.template().to_owned(), |text, name| {
                text.replace(&format!("{{{name}}}"), &format!("<{name}>"))
            });
            assert_eq!(code.message(&values), expected, "{code}");
        }
    }

    #[test]
    fn seed_levels_are_kept() {
        use LogLevel::*;
        let seed = [
            Info, Error, Error, Warning, Error, Warning, Warning, Warning, Info, Verbose, Info, Warning,
            Info, Error, Warning, Error, Error, Error, Error, Verbose, Verbose, Verbose, Error, Info,
        ];
        for (code, level) in Code::ALL.iter().zip(seed) {
            assert_eq!(code.level(), level, "{code}");
        }
    }

    #[test]
    fn messages_fill_every_placeholder() {
        let message = Code::AT09.message(&[
            ("customerName", "ASP Cloud"),
            ("lineDescription", "M365"),
            ("sku", "12"),
            ("from", "20"),
            ("to", "25"),
        ]);
        assert_eq!(
            message,
            "ASP Cloud Quantity Update: Line located for M365 with Product ID 12 and updated from 20 to 25"
        );
        assert_eq!(
            Code::AT10.message(&[]),
            "{customerName} Contract Line for {name} located – quantity is unchanged"
        );
    }

    #[test]
    fn status_follows_the_worst_level() {
        assert_eq!(JobStatus::of([LogLevel::Info, LogLevel::Verbose]), JobStatus::Success);
        assert_eq!(JobStatus::of([LogLevel::Warning, LogLevel::Info]), JobStatus::CompletedWithWarnings);
        assert_eq!(JobStatus::of([LogLevel::Warning, LogLevel::Error]), JobStatus::Failed);
    }
}
