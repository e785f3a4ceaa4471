//! The job's cron schedule: 5 fields, or 6 with seconds first (Atria's Hangfire documents 6, its
//! Autotask example uses 5), evaluated in UTC. Pure: the caller supplies the time.

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds};

#[derive(Clone, Debug)]
pub struct Schedule {
    expression: String,
    cron: Cron,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{expression}` is not a cron expression: {reason}")]
pub struct ScheduleError {
    pub expression: String,
    pub reason: String,
}

impl Schedule {
    pub fn parse(expression: &str) -> Result<Schedule, ScheduleError> {
        let error = |reason: String| ScheduleError { expression: expression.to_owned(), reason };
        let fields = expression.split_whitespace().count();
        if fields != 5 && fields != 6 {
            return Err(error(format!("{fields} fields; a cron expression has 5, or 6 with seconds first")));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .build()
            .parse(expression)
            .map_err(|cron_error| error(cron_error.to_string()))?;
        Ok(Schedule { expression: expression.to_owned(), cron })
    }

    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The first run strictly after `after`, if the expression ever fires again.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&after, false).ok()
    }

    /// The next `count` runs strictly after `after`.
    pub fn upcoming(&self, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
        self.cron.iter_after(after).take(count).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("a valid time")
    }

    fn upcoming(expression: &str, after: &str, count: usize) -> Vec<String> {
        let schedule = Schedule::parse(expression).expect("valid");
        schedule.upcoming(at(after), count).iter().map(|time| time.to_rfc3339()).collect()
    }

    #[test]
    fn the_seeds_expression_runs_at_22_00_on_the_26th() {
        assert_eq!(
            upcoming("0 22 26 * *", "2026-11-24T22:00:00Z", 3),
            ["2026-11-26T22:00:00+00:00", "2026-12-26T22:00:00+00:00", "2027-01-26T22:00:00+00:00"]
        );
        // Exactly at a run time, the next run is the following one.
        assert_eq!(upcoming("0 22 26 * *", "2026-11-26T22:00:00Z", 1), ["2026-12-26T22:00:00+00:00"]);
    }

    #[test]
    fn six_fields_put_seconds_first() {
        assert_eq!(
            upcoming("30 0 23 * * *", "2026-11-24T23:00:29Z", 2),
            ["2026-11-24T23:00:30+00:00", "2026-11-25T23:00:30+00:00"]
        );
        assert_eq!(
            upcoming("*/2 * * * * *", "2026-11-24T22:00:00Z", 3),
            ["2026-11-24T22:00:02+00:00", "2026-11-24T22:00:04+00:00", "2026-11-24T22:00:06+00:00"]
        );
    }

    #[test]
    fn bad_expressions_say_why() {
        let error = Schedule::parse("0 22 26 *").expect_err("4 fields");
        assert!(error.to_string().contains("4 fields"), "{error}");
        let error = Schedule::parse("0 25 26 * *").expect_err("hour 25");
        assert!(error.to_string().starts_with("`0 25 26 * *` is not a cron expression"), "{error}");
        assert!(Schedule::parse("0 22 30 2 *").is_ok(), "a day that never comes still parses");
    }
}
