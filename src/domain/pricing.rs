//! Order prices: integer cents, rounded half up once.

use chrono::NaiveDate;

use crate::domain::dates::{started_months, twelve_month_end};

/// How an order's price was computed, kept on the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    pub list_price_cents: i64,
    /// Months charged: 12 for a subscription, the started months left otherwise.
    pub months_charged: u32,
    pub discount_percent: u32,
    pub unit_price_cents: i64,
    pub total_cents: i64,
}

/// `numerator / denominator` rounded half up, for non-negative values.
pub fn div_round_half_up(numerator: i128, denominator: i128) -> i128 {
    (2 * numerator + denominator) / (2 * denominator)
}

/// The discount of the highest tier `quantity` reaches: the tier with
/// the largest minimum quantity not above `quantity`.
pub fn discount_for(tiers: &[(i32, i32)], quantity: u32) -> u32 {
    tiers
        .iter()
        .filter(|(min, _)| i64::from(*min) <= i64::from(quantity))
        .max_by_key(|(min, _)| *min)
        .map_or(0, |(_, pct)| (*pct).clamp(0, 80) as u32)
}

/// Unit and total price: list x months / 12 x (100 - discount) / 100, per
/// unit, rounded half up to the cent once; total = unit x quantity.
pub fn price(list_price_cents: i64, months: u32, discount_percent: u32, quantity: u32) -> Option<Price> {
    let numerator = i128::from(list_price_cents) * i128::from(months) * i128::from(100 - discount_percent.min(100));
    let unit = i64::try_from(div_round_half_up(numerator, 1200)).ok()?;
    let total = unit.checked_mul(i64::from(quantity))?;
    Some(Price {
        list_price_cents,
        months_charged: months,
        discount_percent,
        unit_price_cents: unit,
        total_cents: total,
    })
}

/// When an order ordered on `day` under an agreement ending `agreement_end`
/// runs, for each term. `None` for a 12-month term that would outrun the
/// agreement (R-5: then only PRORATED can be ordered).
pub fn twelve_month_term(day: NaiveDate, agreement_end: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let end = twelve_month_end(day)?;
    (end <= agreement_end).then_some((day, end))
}

/// A prorated order runs from `day` to `end` (the agreement's end, or the
/// co-terminous subscription's end, R-6) and is charged every started
/// month of that span, more than 12 if so.
pub fn prorated_months(day: NaiveDate, end: NaiveDate) -> u32 {
    started_months(day, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    #[test]
    fn halves_round_up() {
        assert_eq!(div_round_half_up(5, 2), 3);
        assert_eq!(div_round_half_up(4, 2), 2);
        assert_eq!(div_round_half_up(7, 3), 2);
        assert_eq!(div_round_half_up(1, 2), 1);
    }

    #[test]
    fn a_prorated_price_counts_started_months() {
        // 165.00 for 5 started months = 165.00 x 5 / 12 = 68.75.
        let months = prorated_months(d(2027, 2, 10), d(2027, 6, 30));
        assert_eq!(months, 5);
        let p = price(16_500, months, 0, 1).expect("price");
        assert_eq!(p.unit_price_cents, 6_875);
        // 100.01 x 1 / 12 = 8.334166 -> 8.33; 100.02 x 1/12 = 8.335 -> 8.34 (half up).
        assert_eq!(price(10_001, 1, 0, 1).map(|p| p.unit_price_cents), Some(833));
        assert_eq!(price(10_002, 1, 0, 1).map(|p| p.unit_price_cents), Some(834));
    }

    #[test]
    fn the_highest_tier_reached_applies() {
        //
        let tiers = [(100, 5), (500, 10), (1000, 15)];
        assert_eq!(discount_for(&tiers, 99), 0);
        assert_eq!(discount_for(&tiers, 100), 5);
        assert_eq!(discount_for(&tiers, 999), 10);
        assert_eq!(discount_for(&tiers, 1000), 15);
        let p = price(16_500, 12, 15, 1000).expect("price");
        assert_eq!((p.unit_price_cents, p.total_cents), (14_025, 14_025_000));
    }

    #[test]
    fn a_twelve_month_term_cannot_outrun_the_agreement() {
        //
        assert_eq!(twelve_month_term(d(2027, 2, 10), d(2028, 2, 9)), Some((d(2027, 2, 10), d(2028, 2, 9))));
        assert_eq!(twelve_month_term(d(2027, 2, 10), d(2028, 2, 8)), None);
    }

    #[test]
    fn overflow_is_refused_not_wrapped() {
        assert_eq!(price(i64::MAX, 12, 0, 2), None);
    }
}
