//! The KPI reporting calendar, by day: when an invoice shows in the
//! reports, and which invoices count towards a renewal.
//!
//! An invoice dated in month M is visible from the 15th of month M + 1.
//! A renewal at `anniversary` counts the invoices dated anniversary - 12
//! months ..= anniversary - 1 day that are visible on the day it is judged.

use chrono::{Datelike, Months, NaiveDate};

/// Day of the month KPI reports refresh.
pub const REFRESH_DAY: u32 = 15;

/// The first day of `day`'s month.
fn month_start(day: NaiveDate) -> Option<NaiveDate> {
    day.with_day(1)
}

/// The day an invoice dated `invoiced_on` shows in KPI reports: the 15th of
/// the following month.
pub fn visible_from(invoiced_on: NaiveDate) -> Option<NaiveDate> {
    month_start(invoiced_on)?.checked_add_months(Months::new(1))?.with_day(REFRESH_DAY)
}

/// The last invoice day whose records are visible on `as_of`: the end of
/// the previous month from the 15th on, of the month before it until the
/// 14th. Invoices dated that day and earlier are visible.
pub fn last_visible_invoice_day(as_of: NaiveDate) -> Option<NaiveDate> {
    let back = if as_of.day() >= REFRESH_DAY { 0 } else { 1 };
    month_start(as_of)?.checked_sub_months(Months::new(back))?.pred_opt()
}

/// The invoice days that count towards the renewal at `anniversary`:
/// anniversary - 12 months ..= anniversary - 1 day. A 29 February
/// anniversary starts its window on 28 February of the year before.
pub fn window(anniversary: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    Some((anniversary.checked_sub_months(Months::new(12))?, anniversary.pred_opt()?))
}

/// Whether an invoice dated `invoiced_on` counts towards the renewal at
/// `anniversary`, judged on `as_of`: dated inside the window, and
/// already visible.
pub fn counts(invoiced_on: NaiveDate, anniversary: NaiveDate, as_of: NaiveDate) -> bool {
    let (Some((start, end)), Some(visible)) = (window(anniversary), visible_from(invoiced_on)) else {
        return false;
    };
    (start..=end).contains(&invoiced_on) && visible <= as_of
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn an_invoice_shows_from_the_15th_of_the_next_month_r28() {
        assert_eq!(visible_from(d(2021, 3, 1)), Some(d(2021, 4, 15)));
        assert_eq!(visible_from(d(2021, 3, 31)), Some(d(2021, 4, 15)));
        assert_eq!(visible_from(d(2021, 12, 31)), Some(d(2022, 1, 15)));
        assert_eq!(visible_from(d(2024, 2, 29)), Some(d(2024, 3, 15)));
    }

    #[test]
    fn the_last_visible_invoice_day_moves_on_the_15th_r28() {
        assert_eq!(last_visible_invoice_day(d(2026, 3, 14)), Some(d(2026, 1, 31)));
        assert_eq!(last_visible_invoice_day(d(2026, 3, 15)), Some(d(2026, 2, 28)));
        assert_eq!(last_visible_invoice_day(d(2024, 3, 15)), Some(d(2024, 2, 29)));
        assert_eq!(last_visible_invoice_day(d(2026, 1, 14)), Some(d(2025, 11, 30)));
        // Agrees with the per-record rule on every pair of days of two years.
        let mut day = d(2025, 1, 1);
        while day < d(2027, 1, 1) {
            let last = last_visible_invoice_day(day).unwrap();
            assert!(visible_from(last).unwrap() <= day, "{day}");
            assert!(visible_from(last.succ_opt().unwrap()).unwrap() > day, "{day}");
            day = day.succ_opt().unwrap();
        }
    }

    #[test]
    fn a_renewal_counts_invoices_dated_in_the_twelve_months_before_the_anniversary_by_day_r28() {
        // Anniversary 2021-09-15: invoices dated 2020-09-15 ..= 2021-09-14.
        let anniversary = d(2021, 9, 15);
        let late = d(2021, 12, 1);
        assert!(!counts(d(2020, 9, 14), anniversary, late), "the day before the window");
        assert!(counts(d(2020, 9, 15), anniversary, late), "the window's first day");
        assert!(counts(d(2021, 9, 14), anniversary, late), "the window's last day");
        assert!(!counts(d(2021, 9, 15), anniversary, late), "the anniversary is the next year's");
        // The last day's invoice shows from 2021-10-15.
        assert!(!counts(d(2021, 9, 14), anniversary, d(2021, 10, 14)), "not visible on the 14th");
        assert!(counts(d(2021, 9, 14), anniversary, d(2021, 10, 15)), "visible on the 15th");
    }

    #[test]
    fn a_29_february_anniversary_starts_its_window_on_28_february_r28() {
        assert_eq!(window(d(2024, 2, 29)), Some((d(2023, 2, 28), d(2024, 2, 28))));
        assert_eq!(window(d(2025, 2, 28)), Some((d(2024, 2, 28), d(2025, 2, 27))));
        assert!(counts(d(2023, 2, 28), d(2024, 2, 29), d(2024, 4, 1)));
        assert!(!counts(d(2023, 2, 27), d(2024, 2, 29), d(2024, 4, 1)));
    }
}
