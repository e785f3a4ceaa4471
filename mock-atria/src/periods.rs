//! Billing periods and how the mock clock resolves `current`, `previous` and `resolve?at=`.
//!
//! Pure functions over a sorted slice of periods: no I/O, no locking, tested at the edges.

use crate::seed::{AtriaCustomer, AtriaSnapshot, BillingPeriod, BillingRow, PeriodStatus};
use chrono::{Datelike, Days, NaiveDate};

use crate::config::SeedError;
use crate::wire::PeriodView;

/// One seeded billing period with its customers and summary rows (the open one changes under
/// `/__mock/recalculate`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodData {
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    /// What the seed file said; the status shown also closes periods the clock has passed.
    pub seeded_status: PeriodStatus,
    pub customers: Vec<AtriaCustomer>,
    pub billing: Vec<BillingRow>,
}

impl PeriodData {
    pub fn from_snapshot(snapshot: &AtriaSnapshot) -> PeriodData {
        PeriodData {
            start_date: snapshot.period.start_date,
            end_date: snapshot.period.end_date,
            seeded_status: snapshot.period.status,
            customers: snapshot.customers.clone(),
            billing: snapshot.billing.clone(),
        }
    }

    /// Stable id: the end date as `yyyymmdd` (end dates are unique).
    pub fn id(&self) -> u32 {
        let date = self.end_date;
        // Years before 0 or after 9999 cannot come out of a JSON date; clamp rather than wrap.
        let year = u32::try_from(date.year()).unwrap_or(0).min(9999);
        year * 10_000 + date.month() * 100 + date.day()
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start_date <= date && date <= self.end_date
    }

    /// Closed when the seed says so or when the clock has passed its end: Atria closes a period
    /// when it ends.
    pub fn status_at(&self, clock: NaiveDate) -> PeriodStatus {
        if self.seeded_status == PeriodStatus::Closed || self.end_date < clock {
            PeriodStatus::Closed
        } else {
            PeriodStatus::Open
        }
    }

    pub fn view(&self, clock: NaiveDate) -> PeriodView {
        PeriodView {
            id: self.id(),
            start_date: self.start_date,
            end_date: self.end_date,
            status: self.status_at(clock),
            is_current: self.is_current(clock),
        }
    }

    pub fn is_current(&self, clock: NaiveDate) -> bool {
        self.contains(clock) && self.status_at(clock) == PeriodStatus::Open
    }

    /// The period as billsync's snapshot, as it stands at `clock`.
    pub fn to_snapshot(&self, clock: NaiveDate) -> AtriaSnapshot {
        AtriaSnapshot {
            format: crate::seed::ATRIA_FORMAT.to_owned(),
            period: BillingPeriod {
                start_date: self.start_date,
                end_date: self.end_date,
                status: self.status_at(clock),
            },
            customers: self.customers.clone(),
            billing: self.billing.clone(),
        }
    }

    pub fn length_in_days(&self) -> u64 {
        u64::try_from((self.end_date - self.start_date).num_days()).unwrap_or(0) + 1
    }
}

/// Validates the snapshots and sorts them into periods: each snapshot valid, no two periods
/// overlapping (so a date belongs to at most one), at least one period.
pub fn build_periods(snapshots: &[AtriaSnapshot]) -> Result<Vec<PeriodData>, SeedError> {
    let mut problems = Vec::new();
    if snapshots.is_empty() {
        problems.push("no billing period to seed from".to_owned());
    }
    for snapshot in snapshots {
        let name = format!("period ending `{}`", snapshot.period.end_date);
        problems.extend(crate::seed::check(snapshot).iter().map(|problem| format!("{name}: {problem}")));
    }
    let mut periods: Vec<PeriodData> = snapshots.iter().map(PeriodData::from_snapshot).collect();
    periods.sort_by_key(|period| (period.start_date, period.end_date));
    for pair in periods.windows(2) {
        if pair[1].start_date <= pair[0].end_date {
            problems.push(format!(
                "period `{}`..`{}` overlaps period `{}`..`{}`",
                pair[1].start_date, pair[1].end_date, pair[0].start_date, pair[0].end_date
            ));
        }
    }
    if problems.is_empty() { Ok(periods) } else { Err(SeedError { problems }) }
}

/// The clock when none is given: the end date of the latest period the seed calls open, so that
/// `current` answers on a fixture whatever today's date is; with no open period, the day after
/// the last period ends (every period then reads as closed, the last one as `previous`).
pub fn default_clock(periods: &[PeriodData]) -> NaiveDate {
    if let Some(open) = periods.iter().rev().find(|period| period.seeded_status == PeriodStatus::Open) {
        return open.end_date;
    }
    match periods.last() {
        Some(last) => last.end_date.checked_add_days(Days::new(1)).unwrap_or(last.end_date),
        None => NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default(),
    }
}

/// The open period containing the clock.
pub fn current(periods: &[PeriodData], clock: NaiveDate) -> Option<&PeriodData> {
    periods.iter().find(|period| period.is_current(clock))
}

/// The latest period that ended before the clock: the one before `current` when there is one.
pub fn previous(periods: &[PeriodData], clock: NaiveDate) -> Option<&PeriodData> {
    periods.iter().filter(|period| period.end_date < clock).max_by_key(|period| period.end_date)
}

/// The period containing `at`, open or closed.
pub fn resolve(periods: &[PeriodData], at: NaiveDate) -> Option<&PeriodData> {
    periods.iter().find(|period| period.contains(at))
}

pub fn by_end_date(periods: &[PeriodData], end_date: NaiveDate) -> Option<&PeriodData> {
    periods.iter().find(|period| period.end_date == end_date)
}

/// The period whose customer list is "the" customer directory: current, else previous, else
/// the latest.
pub fn reference_period(periods: &[PeriodData], clock: NaiveDate) -> Option<&PeriodData> {
    current(periods, clock).or_else(|| previous(periods, clock)).or_else(|| periods.last())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("test dates are valid")
    }

    fn period(start: &str, end: &str, status: PeriodStatus) -> PeriodData {
        PeriodData {
            start_date: date(start),
            end_date: date(end),
            seeded_status: status,
            customers: Vec::new(),
            billing: Vec::new(),
        }
    }

    /// Calendar months until September, a short transition period when the Bill Process Day
    /// moves to the 25th, then 26th–25th periods across the new year.
    fn moved_bill_day() -> Vec<PeriodData> {
        use PeriodStatus::{Closed, Open};
        vec![
            period("2026-09-01", "2026-09-30", Closed),
            period("2026-10-01", "2026-10-25", Closed),
            period("2026-10-26", "2026-11-25", Closed),
            period("2026-11-26", "2026-12-25", Closed),
            period("2026-12-26", "2027-01-25", Open),
        ]
    }

    fn ends(found: Option<&PeriodData>) -> Option<String> {
        found.map(|period| period.end_date.to_string())
    }

    fn check(clock: &str, expect_current: Option<&str>, expect_previous: Option<&str>) {
        let periods = moved_bill_day();
        let clock = date(clock);
        assert_eq!(ends(current(&periods, clock)).as_deref(), expect_current, "current at {clock}");
        assert_eq!(ends(previous(&periods, clock)).as_deref(), expect_previous, "previous at {clock}");
    }

    #[test]
    fn first_and_last_day_of_the_open_period() {
        check("2026-12-26", Some("2027-01-25"), Some("2026-12-25"));
        check("2027-01-25", Some("2027-01-25"), Some("2026-12-25"));
    }

    #[test]
    fn previous_in_january_is_the_december_period_of_the_prior_year() {
        check("2027-01-10", Some("2027-01-25"), Some("2026-12-25"));
        let calendar = vec![
            period("2026-12-01", "2026-12-31", PeriodStatus::Closed),
            period("2027-01-01", "2027-01-31", PeriodStatus::Open),
        ];
        let clock = date("2027-01-01");
        assert_eq!(ends(current(&calendar, clock)).as_deref(), Some("2027-01-31"));
        assert_eq!(ends(previous(&calendar, clock)).as_deref(), Some("2026-12-31"));
    }

    #[test]
    fn past_the_last_period_nothing_is_current() {
        check("2027-01-26", None, Some("2027-01-25"));
    }

    #[test]
    fn resolve_at_the_boundaries_the_bill_process_day_moved() {
        let periods = moved_bill_day();
        let resolved = |at: &str| ends(resolve(&periods, date(at)));
        assert_eq!(resolved("2026-09-30").as_deref(), Some("2026-09-30"));
        assert_eq!(resolved("2026-10-01").as_deref(), Some("2026-10-25"));
        assert_eq!(resolved("2026-10-25").as_deref(), Some("2026-10-25"));
        assert_eq!(resolved("2026-10-26").as_deref(), Some("2026-11-25"));
        assert_eq!(resolved("2026-11-25").as_deref(), Some("2026-11-25"));
        assert_eq!(resolved("2026-11-26").as_deref(), Some("2026-12-25"));
        assert_eq!(resolved("2026-08-31"), None);
        assert_eq!(resolved("2027-01-26"), None);
    }

    #[test]
    fn a_closed_seed_is_never_current_and_passed_periods_read_closed() {
        let periods = moved_bill_day();
        let clock = date("2026-12-01");
        assert_eq!(periods[3].status_at(clock), PeriodStatus::Closed, "seeded closed");
        assert!(current(&periods, clock).is_none());
        assert_eq!(periods[4].status_at(date("2027-01-26")), PeriodStatus::Closed, "clock passed it");
        assert_eq!(periods[4].status_at(date("2027-01-25")), PeriodStatus::Open);
    }

    #[test]
    fn default_clock_lands_in_the_open_period_or_just_after_the_last() {
        assert_eq!(default_clock(&moved_bill_day()), date("2027-01-25"));
        let closed = vec![period("2026-09-01", "2026-09-30", PeriodStatus::Closed)];
        assert_eq!(default_clock(&closed), date("2026-10-01"));
    }

    #[test]
    fn ids_are_end_dates() {
        assert_eq!(moved_bill_day()[1].id(), 20261025);
    }

    #[test]
    fn overlapping_periods_are_refused() {
        let snapshot = |start: &str, end: &str| AtriaSnapshot {
            format: crate::seed::ATRIA_FORMAT.to_owned(),
            period: BillingPeriod {
                start_date: date(start),
                end_date: date(end),
                status: PeriodStatus::Closed,
            },
            customers: Vec::new(),
            billing: Vec::new(),
        };
        let error =
            build_periods(&[snapshot("2026-10-01", "2026-10-31"), snapshot("2026-10-26", "2026-11-25")])
                .expect_err("overlap");
        assert_eq!(error.problems.len(), 1, "{error}");
        assert!(build_periods(&[]).is_err());
    }
}
