//! The in-memory entity tables, their secondary indexes, and query execution that uses the
//! indexes (and id ranges) so that a query touches only candidate rows.

use std::collections::{BTreeMap, HashMap};
use std::ops::{Bound, RangeBounds};

use chrono::{DateTime, Utc};

use crate::entity::{Adjustment, Company, Contract, ContractService, ContractServiceUnit, Entity, Service};
use crate::filter::{Filter, Op, Operand, Value};
use crate::seed::{AUTOTASK_FORMAT, AutotaskSnapshot};

/// One entity's rows by id, plus a sorted id list per value of each indexed field.
#[derive(Clone, Debug)]
pub struct Table<T: Entity> {
    rows: BTreeMap<i64, T>,
    /// Aligned with `T::INDEXED`: field value → sorted ids of the rows holding it.
    indexes: Vec<HashMap<i64, Vec<i64>>>,
}

/// Which part of the id-ordered matches a page wants.
#[derive(Clone, Copy, Debug)]
pub enum Window {
    /// The first `limit` matches with id > `after` (all ids when `None`).
    After(Option<i64>),
    /// The last `limit` matches with id < `before` (for `prevPageUrl`).
    Before(i64),
}

impl<T: Entity> Table<T> {
    pub fn new(rows: impl IntoIterator<Item = T>) -> Self {
        let mut table = Table { rows: BTreeMap::new(), indexes: vec![HashMap::new(); T::INDEXED.len()] };
        for row in rows {
            table.upsert(row);
        }
        table
    }

    pub fn get(&self, id: i64) -> Option<&T> {
        self.rows.get(&id)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn rows(&self) -> impl Iterator<Item = &T> {
        self.rows.values()
    }

    /// Ids are never reused: one past the highest.
    pub fn next_id(&self) -> i64 {
        self.rows.last_key_value().map_or(1, |(id, _)| id + 1)
    }

    /// Inserts or replaces a row, keeping the indexes right.
    pub fn upsert(&mut self, row: T) {
        let id = row.id();
        if let Some(old) = self.rows.get(&id) {
            for (slot, key) in old.index_keys().into_iter().enumerate() {
                if let Some(ids) = self.indexes[slot].get_mut(&key)
                    && let Ok(position) = ids.binary_search(&id)
                {
                    ids.remove(position);
                }
            }
        }
        for (slot, key) in row.index_keys().into_iter().enumerate() {
            let ids = self.indexes[slot].entry(key).or_default();
            if let Err(position) = ids.binary_search(&id) {
                ids.insert(position, id);
            }
        }
        self.rows.insert(id, row);
    }

    /// Ids of the rows whose indexed `field` equals `key`, sorted.
    pub fn ids_where(&self, field: &str, key: i64) -> &[i64] {
        T::INDEXED
            .iter()
            .position(|name| *name == field)
            .and_then(|slot| self.indexes[slot].get(&key))
            .map_or(&[], Vec::as_slice)
    }

    /// The matches of `filter` inside `window`, in id order, at most `limit`.
    pub fn select(&self, filter: &Filter, window: Window, limit: usize) -> Vec<&T> {
        let (lower, upper) = self.bounds(filter, window);
        let from_end = matches!(window, Window::Before(_));
        let mut found: Vec<&T> = match self.candidates(filter) {
            Some(ids) => {
                let in_range = ids.into_iter().filter(|id| (lower, upper).contains(id));
                let rows = in_range.filter_map(|id| self.rows.get(&id)).filter(|row| filter.matches(*row));
                if from_end {
                    let mut all: Vec<&T> = rows.collect();
                    let skip = all.len().saturating_sub(limit);
                    all.drain(..skip);
                    all
                } else {
                    rows.take(limit).collect()
                }
            }
            None => {
                let range =
                    self.rows.range((lower, upper)).map(|(_, row)| row).filter(|row| filter.matches(*row));
                if from_end { range.rev().take(limit).collect() } else { range.take(limit).collect() }
            }
        };
        if from_end {
            found.sort_by_key(|row| row.id());
        }
        found
    }

    pub fn count(&self, filter: &Filter) -> usize {
        let (lower, upper) = self.bounds(filter, Window::After(None));
        match self.candidates(filter) {
            Some(ids) => ids
                .into_iter()
                .filter(|id| (lower, upper).contains(id))
                .filter_map(|id| self.rows.get(&id))
                .filter(|row| filter.matches(*row))
                .count(),
            None => self.rows.range((lower, upper)).filter(|(_, row)| filter.matches(*row)).count(),
        }
    }

    /// The id range implied by the page window and by required `id` comparisons.
    fn bounds(&self, filter: &Filter, window: Window) -> (Bound<i64>, Bound<i64>) {
        let mut lower = match window {
            Window::After(Some(after)) => Bound::Excluded(after),
            _ => Bound::Unbounded,
        };
        let mut upper = match window {
            Window::Before(before) => Bound::Excluded(before),
            Window::After(_) => Bound::Unbounded,
        };
        for condition in filter.required_conditions() {
            let (Some("id"), Operand::One(Value::Int(value))) = (condition.field_name(), &condition.operand)
            else {
                continue;
            };
            match condition.op {
                Op::Gt => lower = tighter_lower(lower, Bound::Excluded(*value)),
                Op::Gte => lower = tighter_lower(lower, Bound::Included(*value)),
                Op::Lt => upper = tighter_upper(upper, Bound::Excluded(*value)),
                Op::Lte => upper = tighter_upper(upper, Bound::Included(*value)),
                _ => {}
            }
        }
        // An empty range would make `BTreeMap::range` panic; an impossible pair selects nothing.
        if range_is_empty(lower, upper) {
            return (Bound::Included(0), Bound::Excluded(0));
        }
        (lower, upper)
    }

    /// The smallest sorted id list that every match must come from, when an `eq`/`in` on `id`
    /// or on an indexed field is required; `None` means scan the id range.
    fn candidates(&self, filter: &Filter) -> Option<Vec<i64>> {
        let mut best: Option<Vec<i64>> = None;
        for condition in filter.required_conditions() {
            let Some(field) = condition.field_name() else { continue };
            let keys: Vec<i64> = match (&condition.op, &condition.operand) {
                (Op::Eq, Operand::One(Value::Int(key))) => vec![*key],
                (Op::In, Operand::Many(values)) => values
                    .iter()
                    .filter_map(|value| match value {
                        Value::Int(key) => Some(*key),
                        _ => None,
                    })
                    .collect(),
                _ => continue,
            };
            let mut ids: Vec<i64> = if field == "id" {
                keys.into_iter().filter(|id| self.rows.contains_key(id)).collect()
            } else if T::INDEXED.contains(&field) {
                keys.iter().flat_map(|key| self.ids_where(field, *key).iter().copied()).collect()
            } else {
                continue;
            };
            if best.as_ref().is_some_and(|current| current.len() <= ids.len()) {
                continue;
            }
            ids.sort_unstable();
            ids.dedup();
            best = Some(ids);
        }
        best
    }
}

fn tighter_lower(current: Bound<i64>, candidate: Bound<i64>) -> Bound<i64> {
    let rank = |bound: Bound<i64>| match bound {
        Bound::Unbounded => (i64::MIN, 0),
        Bound::Included(v) => (v, 0),
        Bound::Excluded(v) => (v, 1),
    };
    if rank(candidate) > rank(current) { candidate } else { current }
}

fn tighter_upper(current: Bound<i64>, candidate: Bound<i64>) -> Bound<i64> {
    let rank = |bound: Bound<i64>| match bound {
        Bound::Unbounded => (i64::MAX, 1),
        Bound::Included(v) => (v, 1),
        Bound::Excluded(v) => (v, 0),
    };
    if rank(candidate) < rank(current) { candidate } else { current }
}

fn range_is_empty(lower: Bound<i64>, upper: Bound<i64>) -> bool {
    match (lower, upper) {
        (Bound::Included(l), Bound::Included(u)) => l > u,
        (Bound::Included(l), Bound::Excluded(u)) | (Bound::Excluded(l), Bound::Included(u)) => l >= u,
        (Bound::Excluded(l), Bound::Excluded(u)) => l >= u || l.checked_add(1) == Some(u),
        _ => false,
    }
}

/// Everything the mock serves, as mutable state.
#[derive(Clone, Debug)]
pub struct Store {
    pub companies: Table<Company>,
    pub contracts: Table<Contract>,
    pub services: Table<Service>,
    pub contract_services: Table<ContractService>,
    pub contract_service_units: Table<ContractServiceUnit>,
    pub adjustments: BTreeMap<i64, Adjustment>,
    /// The billing-period end of unit rows that an adjustment shortened, so that a row for a new
    /// line can still end where the period ends.
    pub shortened_row_period_ends: HashMap<i64, DateTime<Utc>>,
}

impl Store {
    pub fn from_snapshot(snapshot: &AutotaskSnapshot) -> Self {
        Store {
            companies: Table::new(snapshot.companies.iter().cloned()),
            contracts: Table::new(snapshot.contracts.iter().cloned()),
            services: Table::new(snapshot.services.iter().cloned()),
            contract_services: Table::new(snapshot.contract_services.iter().cloned()),
            contract_service_units: Table::new(snapshot.contract_service_units.iter().cloned()),
            adjustments: BTreeMap::new(),
            shortened_row_period_ends: HashMap::new(),
        }
    }

    /// The current state in `billsync.autotask/v1` form, every array in id order.
    pub fn to_snapshot(&self) -> AutotaskSnapshot {
        AutotaskSnapshot {
            format: AUTOTASK_FORMAT.to_owned(),
            companies: self.companies.rows().cloned().collect(),
            contracts: self.contracts.rows().cloned().collect(),
            services: self.services.rows().cloned().collect(),
            contract_services: self.contract_services.rows().cloned().collect(),
            contract_service_units: self.contract_service_units.rows().cloned().collect(),
        }
    }

    pub fn period_end(&self, row: &ContractServiceUnit) -> DateTime<Utc> {
        self.shortened_row_period_ends.get(&row.id).copied().unwrap_or(row.end_date)
    }
}
