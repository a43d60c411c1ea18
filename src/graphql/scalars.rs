//! Our scalars, each documented with its exact format: `Date`, a calendar
//! date in UTC, `YYYY-MM-DD`; `DateTime`, an instant in UTC, RFC 3339 with
//! `Z`; and `BigInt`, a whole number past GraphQL's 32-bit `Int`, for sums
//! that may pass it.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};

use crate::error::AppError;

/// A calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub NaiveDate);

/// A calendar date in UTC, written `YYYY-MM-DD` (ISO 8601 / RFC 3339
/// `full-date`), such as `2028-02-29`. No time and no offset: the day as
/// it is in UTC.
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

/// An instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant(pub DateTime<Utc>);

/// An instant in UTC, written RFC 3339 with `Z`, such as
/// `2026-11-21T09:30:00Z`, with a fraction of a second only when it has one
/// (`2026-11-21T09:30:00.125Z`). As input, any RFC 3339 offset is accepted
/// and converted to UTC.
#[Scalar(name = "DateTime", specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339")]
impl ScalarType for Instant {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(text) = &value else { return Err(InputValueError::expected_type(value)) };
        DateTime::parse_from_rfc3339(text).map(|instant| Instant(instant.with_timezone(&Utc))).map_err(|_| {
            InputValueError::custom(format!("`{text}` is not an RFC 3339 instant like 2026-11-21T09:30:00Z"))
        })
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

/// The largest magnitude of a [`BigInt`]: 2^53 - 1, the integers a
/// JavaScript `Number` holds exactly.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// A whole number that may pass 32 bits (sums of KPI values and revenue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BigInt(pub i64);

/// A whole number from -9007199254740991 to 9007199254740991 (2^53 - 1, the
/// integers a JavaScript `Number` holds exactly), as a JSON number. Used
/// where a figure, such as a sum of revenue in cents, may pass `Int`'s
/// 32 bits; every other whole number is an `Int`.
#[Scalar(name = "BigInt")]
impl ScalarType for BigInt {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::Number(number) = &value else { return Err(InputValueError::expected_type(value)) };
        match number.as_i64() {
            Some(n) if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&n) => Ok(BigInt(n)),
            _ => Err(InputValueError::custom(format!("{number} is not a whole number within ±(2^53 - 1)"))),
        }
    }

    fn to_value(&self) -> Value {
        // Sums of 32-bit figures stay far inside 2^53; clamp rather than
        // send a number a JavaScript client would round.
        Value::Number(self.0.clamp(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER).into())
    }
}

/// A stored figure as a GraphQL `Int`: one past 32 bits (which the inputs,
/// all `Int`, no longer let in) is an `INTERNAL` error, never a wrong value.
pub fn int(n: i64) -> async_graphql::Result<i32> {
    i32::try_from(n).map_err(|_| AppError::internal(format!("{n} passed a 32-bit Int")).into_graphql())
}

/// A count of rows or days as an `Int`, saturating at its bounds: past
/// 2^31 rows it still says "at least this many".
pub fn count(n: impl TryInto<i32> + Copy + PartialOrd + Default) -> i32 {
    n.try_into().unwrap_or(if n < Default::default() { i32::MIN } else { i32::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_written_in_utc_with_z() {
        let at = |text: &str| <Instant as ScalarType>::parse(Value::String(text.into())).ok();
        let noon = at("2026-11-21T12:30:00+02:00").expect("parses");
        assert_eq!(noon.to_value(), Value::String("2026-11-21T10:30:00Z".into()));
        let fraction = at("2026-11-21T10:30:00.125Z").expect("parses");
        assert_eq!(fraction.to_value(), Value::String("2026-11-21T10:30:00.125Z".into()));
        assert_eq!(at("2026-11-21 10:30:00"), None);
        assert_eq!(at("2026-11-21"), None);
    }

    #[test]
    fn big_ints_take_whole_numbers_within_two_to_the_53() {
        let parse = |v: Value| <BigInt as ScalarType>::parse(v).ok();
        assert_eq!(parse(Value::Number(5_000_000_000_i64.into())), Some(BigInt(5_000_000_000)));
        assert_eq!(parse(Value::Number(MAX_SAFE_INTEGER.into())), Some(BigInt(MAX_SAFE_INTEGER)));
        assert_eq!(parse(Value::Number((MAX_SAFE_INTEGER + 1).into())), None);
        assert_eq!(parse(Value::String("5".into())), None);
        assert_eq!(parse(Value::Number(i64::MIN.into())), None, "no overflow at i64::MIN");
        assert_eq!(BigInt(i64::MAX).to_value(), Value::Number(MAX_SAFE_INTEGER.into()));
    }

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
