//! Partial apply: which customers' changes one apply writes (`--customer`, `--exclude-customer`).
//! The changes left out get no journal record, so they stay pending and a later apply of the
//! same plan finishes them (what is done is found done, AT32: nothing is posted twice).

use std::collections::BTreeSet;

use crate::plan::Plan;

/// Which customers' changes an apply writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CustomerFilter {
    #[default]
    All,
    Only(BTreeSet<String>),
    Except(BTreeSet<String>),
}

impl CustomerFilter {
    /// From the command line's lists (clap keeps them exclusive).
    pub fn new(only: &[String], except: &[String]) -> CustomerFilter {
        let set = |codes: &[String]| codes.iter().map(|code| code.trim().to_owned()).collect();
        if !only.is_empty() {
            CustomerFilter::Only(set(only))
        } else if !except.is_empty() {
            CustomerFilter::Except(set(except))
        } else {
            CustomerFilter::All
        }
    }

    pub fn selects(&self, customer_code: &str) -> bool {
        match self {
            CustomerFilter::All => true,
            CustomerFilter::Only(codes) => codes.contains(customer_code),
            CustomerFilter::Except(codes) => !codes.contains(customer_code),
        }
    }

    /// Every named code must be a customer with changes in the plan: a typo must not turn
    /// `--exclude-customer` into "apply everything" or `--customer` into "apply nothing".
    pub fn check(&self, plan: &Plan) -> Result<(), String> {
        let named = match self {
            CustomerFilter::All => return Ok(()),
            CustomerFilter::Only(codes) | CustomerFilter::Except(codes) => codes,
        };
        let with_changes: BTreeSet<&str> = plan
            .actions
            .iter()
            .filter(|action| action.kind.is_change())
            .map(|action| &*action.customer_code)
            .collect();
        let unknown: Vec<String> = named
            .iter()
            .filter(|code| !with_changes.contains(code.as_str()))
            .map(|code| format!("`{code}`"))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let known: Vec<String> = with_changes.iter().map(|code| format!("`{code}`")).collect();
        Err(format!(
            "{} {}: no change of {} in the plan; customers with changes: {}",
            if matches!(self, CustomerFilter::Only(_)) { "--customer" } else { "--exclude-customer" },
            unknown.join(", "),
            if unknown.len() == 1 { "that customer" } else { "those customers" },
            if known.is_empty() { "none".to_owned() } else { known.join(", ") }
        ))
    }

    /// The plan's changes this filter leaves out, and their customers.
    pub fn left_out(&self, plan: &Plan) -> (usize, BTreeSet<String>) {
        let mut customers = BTreeSet::new();
        let mut count = 0;
        for action in plan.actions.iter().filter(|action| action.kind.is_change()) {
            if !self.selects(&action.customer_code) {
                count += 1;
                customers.insert(action.customer_code.to_string());
            }
        }
        (count, customers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_and_except_select_by_trimmed_code() {
        let only = CustomerFilter::new(&[" ASP ".to_owned()], &[]);
        assert!(only.selects("ASP") && !only.selects("BETA"));
        let except = CustomerFilter::new(&[], &["ASP".to_owned()]);
        assert!(!except.selects("ASP") && except.selects("BETA"));
        assert_eq!(CustomerFilter::new(&[], &[]), CustomerFilter::All);
    }
}
