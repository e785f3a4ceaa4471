//! Strict query-string parsing: unknown, repeated or malformed parameters are a 400, so that a
//! client bug shows up in tests instead of being silently ignored.

use chrono::NaiveDate;

use crate::error::AppError;

/// Largest `pageSize` the API allows.
pub const MAX_PAGE_SIZE: u32 = 1000;
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// The query parameters of one request, checked against the names its endpoint accepts.
#[derive(Debug)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    pub fn new(pairs: Vec<(String, String)>, allowed: &[&str]) -> Result<Params, AppError> {
        for (index, (name, _)) in pairs.iter().enumerate() {
            if !allowed.contains(&name.as_str()) {
                let expected = if allowed.is_empty() {
                    "none".to_owned()
                } else {
                    format!("`{}`", allowed.join("`, `"))
                };
                return Err(AppError::invalid_parameter(format!(
                    "unknown parameter `{name}`; this endpoint takes {expected}"
                )));
            }
            if pairs[..index].iter().any(|(earlier, _)| earlier == name) {
                return Err(AppError::invalid_parameter(format!("parameter `{name}` is given twice")));
            }
        }
        Ok(Params { pairs })
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>, AppError> {
        match self.text(name) {
            None => Ok(None),
            Some(value) if value.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(value) if value.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(value) => {
                Err(AppError::invalid_parameter(format!("`{name}` must be `true` or `false`, got `{value}`")))
            }
        }
    }

    pub fn date(&self, name: &str) -> Result<Option<NaiveDate>, AppError> {
        self.text(name).map(|value| parse_date(name, value)).transpose()
    }

    pub fn required_date(&self, name: &str) -> Result<NaiveDate, AppError> {
        self.date(name)?
            .ok_or_else(|| AppError::invalid_parameter(format!("`{name}` is required (YYYY-MM-DD)")))
    }

    pub fn paging(&self) -> Result<Paging, AppError> {
        let page = self.positive("page")?.unwrap_or(1);
        let page_size = self.positive("pageSize")?.unwrap_or(DEFAULT_PAGE_SIZE);
        if page_size > MAX_PAGE_SIZE {
            return Err(AppError::invalid_parameter(format!(
                "`pageSize` {page_size} is over the maximum of {MAX_PAGE_SIZE}"
            )));
        }
        Ok(Paging { page, page_size })
    }

    fn positive(&self, name: &str) -> Result<Option<u32>, AppError> {
        let Some(value) = self.text(name) else { return Ok(None) };
        match value.parse::<u32>() {
            Ok(number) if number >= 1 => Ok(Some(number)),
            _ => Err(AppError::invalid_parameter(format!(
                "`{name}` must be a whole number from 1, got `{value}`"
            ))),
        }
    }
}

/// Dates are `YYYY-MM-DD`, nothing else (no times, no other orders).
pub fn parse_date(name: &str, value: &str) -> Result<NaiveDate, AppError> {
    let well_formed = value.len() == 10 && value.as_bytes()[4] == b'-' && value.as_bytes()[7] == b'-';
    match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        Ok(date) if well_formed => Ok(date),
        _ => Err(AppError::invalid_date(name, value)),
    }
}

/// `page` from 1 and `pageSize` up to 1000.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    pub page: u32,
    pub page_size: u32,
}

impl Paging {
    /// Index of the page's first item; in `u64` since `page × pageSize` can pass `u32::MAX`.
    pub fn offset(self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.page_size)
    }

    pub fn cut<T: Clone>(self, items: &[T]) -> crate::wire::Page<T> {
        let start = usize::try_from(self.offset()).unwrap_or(usize::MAX).min(items.len());
        let end = start.saturating_add(self.page_size as usize).min(items.len());
        crate::wire::Page {
            items: items[start..end].to_vec(),
            page: self.page,
            page_size: self.page_size,
            total_count: items.len() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &[(&str, &str)], allowed: &[&str]) -> Result<Params, AppError> {
        Params::new(query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), allowed)
    }

    #[test]
    fn dates_must_be_iso() {
        assert!(parse_date("at", "2026-11-25").is_ok());
        for bad in ["2026-11-31", "2026-1-5", "25/11/2026", "20261125", "", "2026-11-25T00:00:00"] {
            assert_eq!(parse_date("at", bad).map_err(|e| e.code), Err("invalid_date"), "{bad}");
        }
    }

    #[test]
    fn paging_limits() {
        let paging = |query: &[(&str, &str)]| params(query, &["page", "pageSize"]).and_then(|p| p.paging());
        assert_eq!(paging(&[]).map(|p| (p.page, p.page_size)), Ok((1, 100)));
        assert_eq!(paging(&[("pageSize", "1000")]).map(|p| p.page_size), Ok(1000));
        for bad in [("pageSize", "1001"), ("pageSize", "0"), ("page", "0"), ("page", "-1"), ("page", "x")] {
            assert_eq!(paging(&[bad]).map_err(|e| e.code), Err("invalid_parameter"), "{bad:?}");
        }
        let last = Paging { page: u32::MAX, page_size: 1000 };
        assert_eq!(last.cut(&[1, 2, 3]).items, Vec::<i32>::new());
    }

    #[test]
    fn unknown_and_repeated_parameters_are_refused() {
        assert!(params(&[("pagesize", "5")], &["pageSize"]).is_err());
        assert!(params(&[("page", "1"), ("page", "2")], &["page"]).is_err());
        let booleans = params(&[("billable", "TRUE")], &["billable"]).expect("allowed");
        assert_eq!(booleans.boolean("billable"), Ok(Some(true)));
        let bad = params(&[("billable", "yes")], &["billable"]).expect("allowed");
        assert!(bad.boolean("billable").is_err());
    }
}
