//! django-filter building blocks shared by the list endpoints: value parsing and the errors a
//! bad value produces (a 400 through the DefectDojo exception handler, LIVE 90, 92, 101).

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};

use crate::clock::{self, Timestamp};
use crate::drf::{ErrorItem, FieldErrors};

/// Collects filter errors in declaration order.
#[derive(Default)]
pub struct FilterErrors(pub FieldErrors);

impl FilterErrors {
    pub fn add(&mut self, param: &str, item: ErrorItem) {
        self.0.add(param, item);
    }
}

/// `BooleanWidget`: "true"/"false"/"1"/"0" in any case; anything else disables the filter.
pub fn boolean(raw: &str) -> Option<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// `NumberInFilter` (`BaseInFilter` + `NumberFilter`): comma-separated numbers.
pub fn number_in(raw: &str) -> Result<Vec<i64>, ErrorItem> {
    raw.split(',')
        .map(|v| {
            let v = v.trim();
            // `forms.DecimalField`: "1.0" is a number too
            v.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(|f| f as i64)
                .ok_or_else(|| ErrorItem::invalid("Enter a number."))
        })
        .collect()
}

/// `ModelChoiceFilter`: an id that exists, else the generic invalid-choice message (LIVE 101).
pub fn model_choice(raw: &str, exists: impl Fn(u64) -> bool) -> Result<u64, ErrorItem> {
    raw.trim()
        .parse::<u64>()
        .ok()
        .filter(|id| exists(*id))
        .ok_or_else(|| {
            ErrorItem::new(
                "Select a valid choice. That choice is not one of the available choices.",
                "invalid_choice",
            )
        })
}

/// `IsoDateTimeField` / `forms.DateTimeField`.
pub fn datetime(raw: &str) -> Result<Timestamp, ErrorItem> {
    clock::parse_datetime(raw).ok_or_else(|| ErrorItem::invalid("Enter a valid date/time."))
}

/// `forms.DateField`.
pub fn date(raw: &str) -> Result<NaiveDate, ErrorItem> {
    clock::parse_date(raw).ok_or_else(|| ErrorItem::invalid("Enter a valid date."))
}

/// DefectDojo's `DateRangeFilter` (dojo/filters.py:714-758): a choice 1..=7.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateRange(u8);

impl DateRange {
    pub fn parse(raw: &str) -> Result<Self, ErrorItem> {
        match raw.parse::<u8>() {
            Ok(n @ 1..=7) if raw.len() == 1 => Ok(Self(n)),
            _ => Err(ErrorItem::invalid_choice(raw)),
        }
    }

    /// Whether `ts` falls in the range, relative to now (UTC, the server time zone).
    pub fn contains(self, ts: &Timestamp) -> bool {
        let now = clock::now();
        let midnight = |d: NaiveDate| Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN));
        let window = |days: i64| {
            let from = midnight((now - Duration::days(days)).date_naive());
            let to = midnight((now + Duration::days(1)).date_naive());
            *ts >= from && *ts < to
        };
        match self.0 {
            1 => ts.date_naive() == now.date_naive(),
            2 => window(7),
            3 => window(30),
            4 => window(90),
            5 => ts.year() == now.year() && ts.month() == now.month(),
            6 => ts.year() == now.year(),
            _ => window(365),
        }
    }

    pub fn contains_date(self, d: &NaiveDate) -> bool {
        self.contains(&Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_range_choices() {
        assert!(DateRange::parse("1").is_ok());
        assert!(DateRange::parse("7").is_ok());
        let err = DateRange::parse("2026-11-22").err().map(|e| e.message);
        assert_eq!(
            err.as_deref(),
            Some("Select a valid choice. 2026-11-22 is not one of the available choices.")
        );
        assert!(DateRange::parse("1").is_ok_and(|r| r.contains(&clock::now())));
    }

    #[test]
    fn number_lists() {
        assert_eq!(number_in("1,2"), Ok(vec![1, 2]));
        assert!(number_in("1,x").is_err());
    }
}
