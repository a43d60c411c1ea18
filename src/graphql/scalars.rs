//! The `Date` scalar: a calendar date in UTC, `YYYY-MM-DD` (API.md).
//! Instants use async-graphql's `DateTime` (RFC 3339).

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{Datelike, NaiveDate};

/// A calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub NaiveDate);

/// A calendar date in UTC, written `YYYY-MM-DD`.
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(text) = &value else { return Err(InputValueError::expected_type(value)) };
        // Exactly YYYY-MM-DD: chrono alone would also take `2027-2-3`.
        let shaped = text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-';
        match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(date) if shaped => Ok(Date(date)),
            _ => Err(InputValueError::custom(format!("`{text}` is not a date written YYYY-MM-DD"))),
        }
    }

    fn to_value(&self) -> Value {
        // Written digit by digit: NaiveDate's Display goes through the
        // formatting machinery, a few percent of the CPU of a page of
        // 1 000 codes. Years beyond 0..=9999 (never stored) use Display.
        let (year, month, day) = (self.0.year(), self.0.month(), self.0.day());
        let Ok(year) = u32::try_from(year) else { return Value::String(self.0.to_string()) };
        if year > 9999 {
            return Value::String(self.0.to_string());
        }
        let digit = |n: u32| char::from(b'0' + (n % 10) as u8);
        let text: String = [
            digit(year / 1000),
            digit(year / 100),
            digit(year / 10),
            digit(year),
            '-',
            digit(month / 10),
            digit(month),
            '-',
            digit(day / 10),
            digit(day),
        ]
        .into_iter()
        .collect();
        Value::String(text)
    }
}

impl From<NaiveDate> for Date {
    fn from(date: NaiveDate) -> Self {
        Self(date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_full_iso_dates_parse() {
        let ok = <Date as ScalarType>::parse(Value::String("2028-02-29".into())).ok();
        assert_eq!(ok, NaiveDate::from_ymd_opt(2028, 2, 29).map(Date));
        for bad in ["2027-02-29", "2027-2-3", "20270203", "2027-02-03T00:00:00Z", ""] {
            assert!(<Date as ScalarType>::parse(Value::String(bad.into())).is_err(), "{bad}");
        }
        assert!(<Date as ScalarType>::parse(Value::Number(5.into())).is_err());
    }

    #[test]
    fn dates_are_written_yyyy_mm_dd() {
        for (y, m, d, text) in [
            (2028, 2, 29, "2028-02-29"),
            (987, 1, 5, "0987-01-05"),
            (2026, 12, 31, "2026-12-31"),
            (0, 1, 1, "0000-01-01"),
            (9999, 10, 9, "9999-10-09"),
            (10000, 1, 1, "+10000-01-01"),
            (-1, 12, 31, "-0001-12-31"),
        ] {
            let date = NaiveDate::from_ymd_opt(y, m, d).map(Date);
            assert_eq!(date.map(|d| d.to_value()), Some(Value::String(text.into())));
        }
    }
}
