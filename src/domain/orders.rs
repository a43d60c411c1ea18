//! Order rules (R-5 .. R-12): who may order what, for how long, at what
//! price, and how an order moves from PLACED to FULFILLED.
//!
//! Pure: the service layer loads the facts into an [`OrderRequest`] and
//! stores what [`quote`] answers.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::enums::{OrderStatus, OrderTerm, OrganizationKind, PackageKind};

use crate::{
    domain::{
        dates::add_business_days,
        pricing::{Price, discount_for, price, prorated_months, twelve_month_term},
    },
    error::{UserError, UserErrorCode},
};

/// Most packs in one order.
pub const MAX_QUANTITY: i32 = 10_000;
/// Most codes one order may generate (a 500-voucher site pack times 200).
pub const MAX_CODES_PER_ORDER: i64 = 100_000;
/// Largest order total, in cents: money travels as a GraphQL `Int`.
pub const MAX_TOTAL_CENTS: i64 = i32::MAX as i64;
/// Confirmation is due within this long after placement.
pub const CONFIRMATION_HOURS: i64 = 48;
/// Codes are due this many business days after invoicing, at the earliest
/// and at the latest.
pub const DELIVERY_BUSINESS_DAYS: (u32, u32) = (5, 10);

/// The organization ordering, as far as eligibility goes.
#[derive(Debug, Clone, Copy)]
pub struct Buyer {
    pub kind: OrganizationKind,
    pub accredited: bool,
    pub certiport_testing_center: bool,
}

/// The package ordered, as far as ordering goes.
#[derive(Debug, Clone)]
pub struct Item {
    pub kind: PackageKind,
    pub retired: bool,
    pub requires_accredited: bool,
    pub requires_certiport: bool,
    pub list_price_cents: i64,
    pub vouchers_per_pack: Option<i32>,
    /// `(minimum quantity, percent off)`.
    pub tiers: Vec<(i32, i32)>,
    /// Whether the package is sold under the agreement's program.
    pub orderable_under_program: bool,
}

/// Everything [`quote`] needs to know.
#[derive(Debug, Clone)]
pub struct OrderRequest {
    pub today: NaiveDate,
    pub buyer: Buyer,
    pub program_active: bool,
    pub agreement_starts_on: NaiveDate,
    pub agreement_ends_on: NaiveDate,
    /// End of the agreement's running 12-month subscription, if it has one.
    pub subscription_ends_on: Option<NaiveDate>,
    pub item: Item,
    pub quantity: i32,
    pub term: OrderTerm,
}

/// What an accepted order costs and when it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub price: Price,
    /// Codes fulfilment will generate.
    pub codes: i64,
}

/// Codes one order generates: quantity x vouchers per pack (one code per
/// pack when the package names no count).
pub fn codes_for(quantity: i32, vouchers_per_pack: Option<i32>) -> i64 {
    i64::from(quantity) * i64::from(vouchers_per_pack.unwrap_or(1))
}

fn refuse(field: &str, code: UserErrorCode, message: impl Into<String>) -> Vec<UserError> {
    vec![UserError::on(field, code, message)]
}

/// Checks eligibility and prices the order, or says which rule refuses it.
pub fn quote(req: &OrderRequest) -> Result<Quote, Vec<UserError>> {
    let item = &req.item;
    if !(1..=MAX_QUANTITY).contains(&req.quantity) {
        return Err(refuse(
            "quantity",
            UserErrorCode::OutOfRange,
            format!("quantity must be between 1 and {MAX_QUANTITY}"),
        ));
    }
    let codes = codes_for(req.quantity, item.vouchers_per_pack);
    if codes > MAX_CODES_PER_ORDER {
        return Err(refuse(
            "quantity",
            UserErrorCode::OutOfRange,
            format!("one order may generate at most {MAX_CODES_PER_ORDER} codes; this one would make {codes}"),
        ));
    }
    if !req.program_active {
        return Err(refuse("agreementId", UserErrorCode::ProgramRetired, "the agreement's program is retired (R-1)"));
    }
    if item.retired {
        return Err(refuse("packageSku", UserErrorCode::PackageRetired, "this package is retired (R-9)"));
    }
    if !item.orderable_under_program {
        return Err(refuse(
            "packageSku",
            UserErrorCode::NotOrderableUnderProgram,
            "this package is not sold under the agreement's program",
        ));
    }
    // site and class packs need an accredited academic organization,
    // MOS/MTA site packs a Certiport testing center as well.
    let academic = req.buyer.kind == OrganizationKind::Academic;
    if item.requires_accredited && !(academic && req.buyer.accredited) {
        return Err(refuse(
            "agreementId",
            UserErrorCode::NotAccredited,
            "this package needs an accredited academic organization (R-8)",
        ));
    }
    if item.requires_certiport && !(academic && req.buyer.certiport_testing_center) {
        return Err(refuse(
            "agreementId",
            UserErrorCode::NotCertiportTestingCenter,
            "this package needs a Certiport Authorized Testing Center (R-8)",
        ));
    }
    if req.today > req.agreement_ends_on {
        return Err(refuse(
            "agreementId",
            UserErrorCode::AgreementEnded,
            format!("the agreement ended on {}", req.agreement_ends_on),
        ));
    }
    // An order placed before the agreement starts runs from its start.
    let day = req.today.max(req.agreement_starts_on);
    let running_subscription = req.subscription_ends_on.filter(|end| *end >= day);
    let (starts_on, ends_on, months) = match req.term {
        OrderTerm::TwelveMonths => {
            if let Some(end) = running_subscription {
                return Err(refuse(
                    "term",
                    UserErrorCode::CoTerminousWithSubscription,
                    format!(
                        "the agreement has a 12-month subscription until {end}; later orders end with it, \
                         so order PRORATED (R-6)"
                    ),
                ));
            }
            let Some((start, end)) = twelve_month_term(day, req.agreement_ends_on) else {
                return Err(refuse(
                    "term",
                    UserErrorCode::TermExceedsAgreement,
                    format!(
                        "a 12-month subscription from {day} would run past the agreement's end on {}; \
                         order PRORATED (R-5)",
                        req.agreement_ends_on
                    ),
                ));
            };
            (start, end, 12)
        }
        // to the agreement's end (or the running subscription's, R-6),
        // charged every started month, however many: no agreement-year cut.
        OrderTerm::Prorated => {
            let end = running_subscription.unwrap_or(req.agreement_ends_on).min(req.agreement_ends_on);
            (day, end, prorated_months(day, end))
        }
    };
    let quantity = u32::try_from(req.quantity).unwrap_or(0);
    let discount = discount_for(&item.tiers, quantity);
    let too_large = || refuse("quantity", UserErrorCode::OutOfRange, "the order total is too large for one order");
    let price = price(item.list_price_cents, months, discount, quantity).ok_or_else(too_large)?;
    if price.total_cents > MAX_TOTAL_CENTS {
        return Err(too_large());
    }
    Ok(Quote { starts_on, ends_on, price, codes })
}

/// A step of the order's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Confirm,
    Invoice,
    Fulfil,
    Cancel,
}

impl Step {
    /// The status an order must be in for this step, and the status after.
    pub fn from_to(self) -> (&'static [OrderStatus], OrderStatus) {
        match self {
            Self::Confirm => (&[OrderStatus::Placed], OrderStatus::Confirmed),
            Self::Invoice => (&[OrderStatus::Confirmed], OrderStatus::Invoiced),
            Self::Fulfil => (&[OrderStatus::Invoiced], OrderStatus::Fulfilled),
            // cancelled before INVOICED only.
            Self::Cancel => (&[OrderStatus::Placed, OrderStatus::Confirmed], OrderStatus::Cancelled),
        }
    }

    /// The refusal for an order found in `status`.
    pub fn refusal(self, status: OrderStatus) -> UserError {
        let (from, _) = self.from_to();
        let allowed: Vec<_> = from.iter().map(|s| format!("{s:?}").to_uppercase()).collect();
        UserError::on(
            "id",
            UserErrorCode::InvalidTransition,
            format!(
                "the order is {}; this step needs it {} (R-11)",
                format!("{status:?}").to_uppercase(),
                allowed.join(" or ")
            ),
        )
    }
}

/// When confirmation is due: 48 hours after placement.
pub fn confirmation_due(placed_at: DateTime<Utc>) -> DateTime<Utc> {
    placed_at + Duration::hours(CONFIRMATION_HOURS)
}

/// The days codes are due: 5 to 10 business days after the invoice date.
pub fn delivery_window(invoiced_on: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let (from, to) = DELIVERY_BUSINESS_DAYS;
    Some((add_business_days(invoiced_on, from)?, add_business_days(invoiced_on, to)?))
}

/// The instants before which an order is late at `now`, for queries: a
/// PLACED order placed before the first, an INVOICED one invoiced before
/// the second ([`is_late`] for one order; a test holds the two together).
pub fn late_cutoffs(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let placed_before = now - Duration::hours(CONFIRMATION_HOURS);
    // The last due day grows with the invoice day: find the first invoice
    // day whose last due day is still today or later.
    let today = now.date_naive();
    let mut first_on_time = today;
    while let Some(before) = first_on_time.pred_opt()
        && delivery_window(before).is_some_and(|(_, last)| last >= today)
    {
        first_on_time = before;
    }
    let invoiced_before = first_on_time.and_hms_opt(0, 0, 0).map_or(now, |t| t.and_utc());
    (placed_before, invoiced_before)
}

/// Whether an order is late at `now`: not confirmed 48 hours after
/// placement, or invoiced and still without codes after the last due day.
pub fn is_late(
    status: OrderStatus,
    placed_at: DateTime<Utc>,
    invoiced_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    match status {
        OrderStatus::Placed => now > confirmation_due(placed_at),
        OrderStatus::Invoiced => {
            invoiced_at.and_then(|at| delivery_window(at.date_naive())).is_some_and(|(_, last)| now.date_naive() > last)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    fn request() -> OrderRequest {
        OrderRequest {
            today: d(2027, 2, 10),
            buyer: Buyer { kind: OrganizationKind::Academic, accredited: true, certiport_testing_center: true },
            program_active: true,
            agreement_starts_on: d(2026, 7, 1),
            agreement_ends_on: d(2029, 6, 30),
            subscription_ends_on: None,
            item: Item {
                kind: PackageKind::ExamVoucher,
                retired: false,
                requires_accredited: true,
                requires_certiport: true,
                list_price_cents: 1_200_000,
                vouchers_per_pack: Some(500),
                tiers: vec![(2, 5), (10, 10)],
                orderable_under_program: true,
            },
            quantity: 1,
            term: OrderTerm::TwelveMonths,
        }
    }

    fn code_of(req: &OrderRequest) -> Option<UserErrorCode> {
        quote(req).err().map(|e| e[0].code)
    }

    #[test]
    fn a_twelve_month_order_runs_to_the_day_before_its_anniversary() {
        // 2027-02-10 -> 2028-02-09.
        let q = quote(&request()).expect("accepted");
        assert_eq!((q.starts_on, q.ends_on), (d(2027, 2, 10), d(2028, 2, 9)));
        assert_eq!(q.price.months_charged, 12);
        assert_eq!(q.codes, 500);
    }

    #[test]
    fn with_fewer_than_twelve_months_left_only_prorated_is_accepted() {
        // the agreement ends 2028-02-08, one day short.
        let mut req = request();
        req.agreement_ends_on = d(2028, 2, 8);
        assert_eq!(code_of(&req), Some(UserErrorCode::TermExceedsAgreement));
        req.agreement_ends_on = d(2028, 2, 9);
        assert!(quote(&req).is_ok());
        req.agreement_ends_on = d(2027, 6, 30);
        req.term = OrderTerm::Prorated;
        let q = quote(&req).expect("prorated");
        // Feb (started), Mar, Apr, May, Jun: 5 months; 12 000.00 x 5 / 12 = 5 000.00.
        assert_eq!((q.price.months_charged, q.price.unit_price_cents), (5, 500_000));
        assert_eq!(q.ends_on, d(2027, 6, 30));
    }

    #[test]
    fn later_orders_end_with_the_running_subscription() {
        //
        let mut req = request();
        req.subscription_ends_on = Some(d(2027, 9, 30));
        req.term = OrderTerm::Prorated;
        let q = quote(&req).expect("prorated");
        assert_eq!(q.ends_on, d(2027, 9, 30));
        assert_eq!(q.price.months_charged, 8);
        req.term = OrderTerm::TwelveMonths;
        assert_eq!(code_of(&req), Some(UserErrorCode::CoTerminousWithSubscription));
        // A subscription that has ended no longer binds.
        req.subscription_ends_on = Some(d(2027, 2, 9));
        assert!(quote(&req).is_ok());
    }

    #[test]
    fn eligibility_failures_name_the_rule() {
        //
        let mut req = request();
        req.buyer.accredited = false;
        assert_eq!(code_of(&req), Some(UserErrorCode::NotAccredited));
        let mut req = request();
        req.buyer.certiport_testing_center = false;
        assert_eq!(code_of(&req), Some(UserErrorCode::NotCertiportTestingCenter));
        let mut req = request();
        req.buyer.kind = OrganizationKind::Enterprise;
        assert_eq!(code_of(&req), Some(UserErrorCode::NotAccredited));
        let mut req = request();
        req.item.retired = true;
        assert_eq!(code_of(&req), Some(UserErrorCode::PackageRetired));
        let mut req = request();
        req.program_active = false;
        assert_eq!(code_of(&req), Some(UserErrorCode::ProgramRetired));
        let mut req = request();
        req.item.orderable_under_program = false;
        assert_eq!(code_of(&req), Some(UserErrorCode::NotOrderableUnderProgram));
        let mut req = request();
        req.today = d(2029, 7, 1);
        assert_eq!(code_of(&req), Some(UserErrorCode::AgreementEnded));
        req.today = d(2029, 6, 30);
        req.term = OrderTerm::Prorated;
        assert!(quote(&req).is_ok(), "the last day of the agreement still counts");
    }

    #[test]
    fn a_prorated_order_runs_to_the_agreement_end_and_is_charged_every_started_month() {
        // R-5 (corrected): 2027-03-15 under an agreement ending 2028-12-31
        // runs to 2028-12-31 and is charged 22 months, not 10 to an
        // "agreement year" end.
        let mut req = request();
        req.term = OrderTerm::Prorated;
        req.agreement_starts_on = d(2026, 1, 1);
        req.agreement_ends_on = d(2028, 12, 31);
        req.today = d(2027, 3, 15);
        req.item.vouchers_per_pack = Some(1);
        let q = quote(&req).expect("prorated");
        assert_eq!((q.starts_on, q.ends_on), (d(2027, 3, 15), d(2028, 12, 31)));
        assert_eq!(q.price.months_charged, 22);
        // 12 000.00 x 22 / 12 = 22 000.00.
        assert_eq!(q.price.unit_price_cents, 2_200_000);
        // The boundary: from 2027-04-01 the span is 21 whole months; from
        // 2027-03-31, 21 months end on 2028-12-30 and the last day starts a 22nd.
        req.today = d(2027, 4, 1);
        assert_eq!(quote(&req).expect("prorated").price.months_charged, 21);
        req.today = d(2027, 3, 31);
        assert_eq!(quote(&req).expect("prorated").price.months_charged, 22);
        // A three-year agreement ordered on its first day: 36 months.
        req.today = d(2026, 1, 1);
        assert_eq!(quote(&req).expect("prorated").price.months_charged, 36);
    }

    #[test]
    fn late_cutoffs_agree_with_is_late_every_hour_for_a_month() {
        // the query's cutoffs and the per-order rule never disagree,
        // weekends included.
        let start = Utc.with_ymd_and_hms(2026, 11, 1, 0, 30, 0).single().expect("instant");
        for now_h in (0..24 * 30).step_by(7) {
            let now = start + Duration::hours(now_h);
            let (placed_before, invoiced_before) = late_cutoffs(now);
            for back_h in (0..24 * 20).step_by(5) {
                let at = now - Duration::hours(back_h);
                assert_eq!(is_late(OrderStatus::Placed, at, None, now), at < placed_before, "placed {at} at {now}");
                assert_eq!(
                    is_late(OrderStatus::Invoiced, at, Some(at), now),
                    at < invoiced_before,
                    "invoiced {at} at {now}"
                );
            }
        }
    }

    #[test]
    fn the_discount_tier_reached_lowers_the_unit_price() {
        //
        let mut req = request();
        req.item.vouchers_per_pack = Some(1);
        req.quantity = 10;
        let q = quote(&req).expect("accepted");
        assert_eq!(
            (q.price.discount_percent, q.price.unit_price_cents, q.price.total_cents),
            (10, 1_080_000, 10_800_000)
        );
    }

    #[test]
    fn quantities_and_totals_are_bounded() {
        let mut req = request();
        req.quantity = 0;
        assert_eq!(code_of(&req), Some(UserErrorCode::OutOfRange));
        req.quantity = 200;
        req.item.list_price_cents = 100;
        assert_eq!(quote(&req).map(|q| q.codes).ok(), Some(100_000), "500 x 200 is allowed");
        req.quantity = 201;
        assert_eq!(code_of(&req), Some(UserErrorCode::OutOfRange));
        let mut req = request();
        req.quantity = 1000;
        req.item.vouchers_per_pack = None;
        req.item.list_price_cents = 2_147_483_647;
        assert_eq!(code_of(&req), Some(UserErrorCode::OutOfRange));
    }

    #[test]
    fn only_the_allowed_steps_move_an_order() {
        //
        assert_eq!(Step::Confirm.from_to(), (&[OrderStatus::Placed][..], OrderStatus::Confirmed));
        assert!(!Step::Cancel.from_to().0.contains(&OrderStatus::Invoiced));
        assert!(!Step::Fulfil.from_to().0.contains(&OrderStatus::Confirmed));
        assert_eq!(Step::Cancel.refusal(OrderStatus::Invoiced).code, UserErrorCode::InvalidTransition);
    }

    #[test]
    fn due_dates_and_lateness_follow_the_clock() {
        // invoiced on Friday 2027-02-12: due Fri 19th .. Fri 26th.
        assert_eq!(delivery_window(d(2027, 2, 12)), Some((d(2027, 2, 19), d(2027, 2, 26))));
        let placed = Utc.with_ymd_and_hms(2027, 2, 10, 9, 0, 0).single().expect("instant");
        assert!(!is_late(OrderStatus::Placed, placed, None, placed + Duration::hours(48)));
        assert!(is_late(OrderStatus::Placed, placed, None, placed + Duration::hours(48) + Duration::seconds(1)));
        assert!(!is_late(OrderStatus::Confirmed, placed, None, placed + Duration::days(30)));
        let invoiced = Utc.with_ymd_and_hms(2027, 2, 12, 9, 0, 0).single().expect("instant");
        let day_26 = Utc.with_ymd_and_hms(2027, 2, 26, 23, 0, 0).single().expect("instant");
        assert!(!is_late(OrderStatus::Invoiced, placed, Some(invoiced), day_26));
        assert!(is_late(OrderStatus::Invoiced, placed, Some(invoiced), day_26 + Duration::hours(2)));
    }
}
