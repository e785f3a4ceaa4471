//! The job's cron schedule: 5 fields, or 6 with seconds first (Atria's Hangfire documents 6, its
//! Autotask example uses 5), evaluated in the spec's IANA time zone (default UTC), DST included.
//! Pure: the caller supplies the time.

use chrono::{DateTime, Timelike as _, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};

#[derive(Clone, Debug)]
pub struct Schedule {
    expression: String,
    cron: Cron,
    zone: Tz,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{expression}` is not a cron expression: {reason}")]
pub struct ScheduleError {
    pub expression: String,
    pub reason: String,
}

/// Parses an IANA time zone name (`Australia/Sydney`, `UTC`), or says what is expected.
pub fn parse_zone(name: &str) -> Result<Tz, String> {
    name.trim().parse::<Tz>().map_err(|_| {
        format!("`{name}` is not an IANA time zone name; expected one such as `UTC`, `Europe/London` or `Australia/Sydney`")
    })
}

impl Schedule {
    /// A schedule evaluated in UTC.
    pub fn parse(expression: &str) -> Result<Schedule, ScheduleError> {
        Schedule::parse_in(expression, Tz::UTC)
    }

    /// A schedule whose fields are wall-clock times in `zone`: croner resolves DST gaps (a run in
    /// the skipped hour runs at the first instant after it) and overlaps (a fixed time runs once).
    pub fn parse_in(expression: &str, zone: Tz) -> Result<Schedule, ScheduleError> {
        let error = |reason: String| ScheduleError { expression: expression.to_owned(), reason };
        let expanded = expand_alias(expression).map_err(error)?;
        let fields = expanded.split_whitespace().count();
        if fields != 5 && fields != 6 {
            return Err(error(format!(
                "{fields} fields; a cron expression has 5 (minute hour day-of-month month day-of-week), 6 with seconds first, or is one of {}",
                ALIASES.iter().map(|(alias, _)| format!("`{alias}`")).collect::<Vec<_>>().join(", ")
            )));
        }
        check_fields(&expanded).map_err(error)?;
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .build()
            .parse(&expanded)
            .map_err(|cron_error| error(cron_error.to_string()))?;
        Ok(Schedule { expression: expression.to_owned(), cron, zone })
    }

    pub fn expression(&self) -> &str {
        &self.expression
    }

    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The first run strictly after `after`, if the expression ever fires again.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Tz>> {
        self.cron.find_next_occurrence(&after.with_timezone(&self.zone), false).ok()
    }

    /// The next `count` runs strictly after `after`.
    pub fn upcoming(&self, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Tz>> {
        self.cron.iter_after(after.with_timezone(&self.zone)).take(count).collect()
    }
}

/// A time as people of the zone read it, with its offset, then in UTC:
/// `2026-11-26 22:00 +11:00 Thu (2026-11-26T11:00:00Z)`.
pub fn zoned_and_utc(time: &DateTime<Tz>) -> String {
    let format = if time.second() == 0 { "%Y-%m-%d %H:%M %:z %a" } else { "%Y-%m-%d %H:%M:%S %:z %a" };
    format!("{} ({})", time.format(format), time.with_timezone(&Utc).format("%Y-%m-%dT%H:%M:%SZ"))
}

/// The `@` shorthands of crontab(5), and what each stands for.
const ALIASES: [(&str, &str); 7] = [
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

fn expand_alias(expression: &str) -> Result<String, String> {
    let trimmed = expression.trim();
    if !trimmed.starts_with('@') {
        return Ok(trimmed.to_owned());
    }
    ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(trimmed))
        .map(|(_, fields)| (*fields).to_owned())
        .ok_or_else(|| {
            let known: Vec<String> = ALIASES.iter().map(|(alias, _)| format!("`{alias}`")).collect();
            format!("unknown shorthand `{trimmed}`; known: {}", known.join(", "))
        })
}

/// Every number in every field within its field's range, so that an error names the field, its
/// range and the value (the cron parser only says "out of bounds"). Names (`JAN`, `MON`), `*`,
/// `?`, `L`, `W` and `#` are left to the parser.
fn check_fields(expression: &str) -> Result<(), String> {
    const FIELDS: [(&str, u32, u32); 6] = [
        ("second", 0, 59),
        ("minute", 0, 59),
        ("hour", 0, 23),
        ("day-of-month", 1, 31),
        ("month", 1, 12),
        ("day-of-week", 0, 7),
    ];
    let values: Vec<&str> = expression.split_whitespace().collect();
    let fields = if values.len() == 6 { &FIELDS[..] } else { &FIELDS[1..] };
    for (position, (value, &(name, low, high))) in values.iter().zip(fields).enumerate() {
        let explain = |what: String| {
            format!("field {} ({name}) is `{value}`: {what}; allowed: {low}–{high}", position + 1)
        };
        for item in value.split(',') {
            let (base, step) = match item.split_once('/') {
                Some((base, step)) => (base, Some(step)),
                None => (item, None),
            };
            if let Some(step) = step {
                match step.parse::<u32>() {
                    Ok(0) => return Err(explain("a step of 0".to_owned())),
                    Ok(_) => {}
                    Err(_) => return Err(explain(format!("the step `{step}` is not a number"))),
                }
            }
            let base = base.split('#').next().unwrap_or_default().trim_end_matches(['L', 'W', 'l', 'w']);
            for end in base.split('-') {
                if let Ok(number) = end.parse::<u32>()
                    && !(low..=high).contains(&number)
                {
                    return Err(explain(format!("{number} is out of range")));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("a valid time")
    }

    fn upcoming_in(expression: &str, zone: &str, after: &str, count: usize) -> Vec<String> {
        let schedule = Schedule::parse_in(expression, parse_zone(zone).expect("zone")).expect("valid");
        schedule.upcoming(at(after), count).iter().map(|time| time.to_rfc3339()).collect()
    }

    fn upcoming(expression: &str, after: &str, count: usize) -> Vec<String> {
        upcoming_in(expression, "UTC", after, count)
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
    fn a_zone_runs_at_its_own_wall_clock_with_its_offset() {
        // Sydney is on daylight time (+11:00) in November and January, standard (+10:00) in June.
        assert_eq!(
            upcoming_in("0 22 26 * *", "Australia/Sydney", "2026-11-24T22:00:00Z", 1),
            ["2026-11-26T22:00:00+11:00"]
        );
        let schedule =
            Schedule::parse_in("0 22 26 * *", parse_zone("Australia/Sydney").expect("zone")).expect("valid");
        let next = schedule.next_after(at("2026-11-24T22:00:00Z")).expect("a next run");
        assert_eq!(zoned_and_utc(&next), "2026-11-26 22:00 +11:00 Thu (2026-11-26T11:00:00Z)");
        assert_eq!(
            upcoming_in("0 22 26 * *", "Australia/Sydney", "2027-05-01T00:00:00Z", 1),
            ["2027-05-26T22:00:00+10:00"]
        );
    }

    #[test]
    fn dst_transitions_keep_the_wall_clock_and_skip_or_merge_the_odd_hour() {
        // Europe/Berlin springs forward on 2026-03-29 (02:00 → 03:00) and falls back on
        // 2026-10-25 (03:00 → 02:00). A daily 22:00 run keeps 22:00 local on both sides, so its
        // UTC time moves by an hour.
        assert_eq!(
            upcoming_in("0 22 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", 2),
            ["2026-03-28T22:00:00+01:00", "2026-03-29T22:00:00+02:00"]
        );
        let schedule =
            Schedule::parse_in("0 22 * * *", parse_zone("Europe/Berlin").expect("zone")).expect("valid");
        let utc: Vec<String> = schedule
            .upcoming(at("2026-03-28T12:00:00Z"), 2)
            .iter()
            .map(|time| time.with_timezone(&Utc).to_rfc3339())
            .collect();
        assert_eq!(utc, ["2026-03-28T21:00:00+00:00", "2026-03-29T20:00:00+00:00"]);
        // 02:30 does not exist on 2026-03-29: that day's run is at 03:00, the first instant after.
        assert_eq!(
            upcoming_in("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", 2),
            ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"]
        );
        // 02:30 happens twice on 2026-10-25: the run happens once.
        assert_eq!(
            upcoming_in("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", 3),
            ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00", "2026-10-27T02:30:00+01:00"]
        );
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
    fn shorthands_are_crontabs() {
        assert_eq!(upcoming("@daily", "2026-11-24T22:00:00Z", 1), ["2026-11-25T00:00:00+00:00"]);
        assert_eq!(upcoming("@monthly", "2026-11-24T22:00:00Z", 1), ["2026-12-01T00:00:00+00:00"]);
        assert_eq!(upcoming("@hourly", "2026-11-24T22:10:00Z", 1), ["2026-11-24T23:00:00+00:00"]);
        assert_eq!(upcoming("@weekly", "2026-11-24T22:00:00Z", 1), ["2026-11-29T00:00:00+00:00"]);
        assert_eq!(upcoming("@YEARLY", "2026-11-24T22:00:00Z", 1), ["2027-01-01T00:00:00+00:00"]);
        assert_eq!(Schedule::parse("@monthly").expect("valid").expression(), "@monthly");
        assert!(Schedule::parse("0 22 26 JAN-DEC MON-FRI").is_ok(), "names are the parser's");
        assert!(Schedule::parse("0 22 L * *").is_ok() && Schedule::parse("0 22 * * 5#2").is_ok());
    }

    #[test]
    fn bad_expressions_and_zones_say_why() {
        let error = Schedule::parse("0 22 26 *").expect_err("4 fields");
        assert!(error.to_string().contains("4 fields"), "{error}");
        let error = Schedule::parse("0 25 26 * *").expect_err("hour 25");
        assert_eq!(
            error.to_string(),
            "`0 25 26 * *` is not a cron expression: field 2 (hour) is `25`: 25 is out of range; allowed: 0–23"
        );
        let error = Schedule::parse("0 22 1-32 * *").expect_err("day 32");
        assert!(
            error.to_string().contains("field 3 (day-of-month) is `1-32`: 32 is out of range; allowed: 1–31")
        );
        let error = Schedule::parse("61 0 22 26 * *").expect_err("second 61");
        assert!(error.to_string().contains("field 1 (second) is `61`"), "{error}");
        let error = Schedule::parse("*/0 22 26 * *").expect_err("step 0");
        assert!(error.to_string().contains("field 1 (minute) is `*/0`: a step of 0"), "{error}");
        let error = Schedule::parse("@fortnightly").expect_err("no such alias");
        assert!(error.to_string().contains("unknown shorthand `@fortnightly`; known: `@yearly`"), "{error}");
        assert!(Schedule::parse("0 22 30 2 *").is_ok(), "a day that never comes still parses");
        let error = parse_zone("Australia/Sydnee").expect_err("misspelt");
        assert!(error.starts_with("`Australia/Sydnee` is not an IANA time zone name"), "{error}");
    }
}
