//! Calendar arithmetic the rules need, in UTC calendar dates.

use chrono::{Datelike, Months, NaiveDate, Weekday};

/// `date` plus `months` calendar months, clamped to the month's last day
/// (31 January + 1 month = 28 or 29 February). `None` past the calendar's end.
pub fn add_months(date: NaiveDate, months: u32) -> Option<NaiveDate> {
    date.checked_add_months(Months::new(months))
}

/// The last day of a 12-month subscription ordered on `day`:
/// `day + 12 months - 1 day` (R-5: 2027-02-10 -> 2028-02-09).
pub fn twelve_month_end(day: NaiveDate) -> Option<NaiveDate> {
    add_months(day, 12)?.pred_opt()
}

/// Months from `from` to `to` (both included) where a started month counts
/// whole. Zero when `to` is before `from`.
pub fn started_months(from: NaiveDate, to: NaiveDate) -> u32 {
    if to < from {
        return 0;
    }
    let mut months = 0u32;
    // Each whole month from `from` is one; a remainder starts one more.
    while let Some(next) = add_months(from, months + 1) {
        if next > to {
            break;
        }
        months += 1;
    }
    let covered_until = add_months(from, months).unwrap_or(from);
    if covered_until <= to { months + 1 } else { months }
}

/// Whether `date` is Monday to Friday.
pub fn is_business_day(date: NaiveDate) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// `date` plus `n` business days (Mon-Fri), R-11.
pub fn add_business_days(date: NaiveDate, n: u32) -> Option<NaiveDate> {
    let mut day = date;
    let mut left = n;
    while left > 0 {
        day = day.succ_opt()?;
        if is_business_day(day) {
            left -= 1;
        }
    }
    Some(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    #[test]
    fn a_twelve_month_subscription_ends_the_day_before_the_same_day_next_year() {
        // R-5's own example.
        assert_eq!(twelve_month_end(d(2027, 2, 10)), Some(d(2028, 2, 9)));
        assert_eq!(twelve_month_end(d(2027, 1, 1)), Some(d(2027, 12, 31)));
        // 29 February: next year has no 29th, so the clamp gives 28 Feb, minus a day.
        assert_eq!(twelve_month_end(d(2028, 2, 29)), Some(d(2029, 2, 27)));
    }

    #[test]
    fn a_started_month_counts_whole() {
        // proration counts started months.
        assert_eq!(started_months(d(2027, 2, 10), d(2027, 2, 10)), 1);
        assert_eq!(started_months(d(2027, 2, 10), d(2027, 3, 9)), 1);
        assert_eq!(started_months(d(2027, 2, 10), d(2027, 3, 10)), 2);
        assert_eq!(started_months(d(2027, 2, 10), d(2027, 6, 30)), 5);
        assert_eq!(started_months(d(2027, 1, 1), d(2027, 12, 31)), 12);
        assert_eq!(started_months(d(2027, 1, 1), d(2028, 1, 1)), 13);
        assert_eq!(started_months(d(2027, 3, 1), d(2027, 2, 28)), 0);
    }

    #[test]
    fn month_ends_clamp() {
        assert_eq!(add_months(d(2027, 1, 31), 1), Some(d(2027, 2, 28)));
        assert_eq!(add_months(d(2028, 1, 31), 1), Some(d(2028, 2, 29)));
        assert_eq!(add_months(d(2027, 1, 30), 1), Some(d(2027, 2, 28)));
        assert_eq!(add_months(d(2027, 3, 31), 1), Some(d(2027, 4, 30)));
    }

    #[test]
    fn business_days_skip_weekends() {
        // 2027-01-08 is a Friday.
        let friday = d(2027, 1, 8);
        assert_eq!(add_business_days(friday, 1), Some(d(2027, 1, 11)));
        assert_eq!(add_business_days(friday, 5), Some(d(2027, 1, 15)));
        assert_eq!(add_business_days(friday, 10), Some(d(2027, 1, 22)));
        // From a Saturday, the first business day is Monday.
        assert_eq!(add_business_days(d(2027, 1, 9), 1), Some(d(2027, 1, 11)));
        assert_eq!(add_business_days(friday, 0), Some(friday));
    }
}
