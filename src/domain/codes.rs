//! Code rules (R-13 .. ): the status a code shows on a given day,
//! why an operation on it is refused, the replacement window, and the
//! voucher planning arithmetic.

use chrono::{Days, NaiveDate};
use entity::enums::{CodeKind, CodeStatus, StoredCodeStatus};

use crate::error::UserErrorCode;

/// Days after activation during which a replacement token may be issued.
pub const REPLACEMENT_DAYS: u64 = 30;

/// The status a code shows on `today`: codes not used up expire
/// the day after `valid_until`; redeemed, revoked and replaced codes keep
/// their status for the record.
pub fn effective_status(stored: StoredCodeStatus, valid_until: NaiveDate, today: NaiveDate) -> CodeStatus {
    let expired = today > valid_until;
    match stored {
        StoredCodeStatus::Issued | StoredCodeStatus::Assigned | StoredCodeStatus::Active if expired => {
            CodeStatus::Expired
        }
        StoredCodeStatus::Issued => CodeStatus::Issued,
        StoredCodeStatus::Assigned => CodeStatus::Assigned,
        StoredCodeStatus::Active => CodeStatus::Active,
        StoredCodeStatus::Redeemed => CodeStatus::Redeemed,
        StoredCodeStatus::Revoked => CodeStatus::Revoked,
        StoredCodeStatus::Replaced => CodeStatus::Replaced,
    }
}

/// The last day an order's code may be used: the order's end (the
/// agreement's, or its subscription's); for a voucher of a class or site
/// pack (an exam-voucher package of more than one voucher a pack), also
/// never past one year from delivery: delivered on D, usable through
/// D + 12 months - 1 day, whichever comes first.
pub fn order_code_valid_until(
    kind: entity::enums::PackageKind,
    vouchers_per_pack: Option<i32>,
    delivered_on: NaiveDate,
    order_ends_on: NaiveDate,
) -> NaiveDate {
    let pack = kind == entity::enums::PackageKind::ExamVoucher && vouchers_per_pack.is_some_and(|n| n > 1);
    match crate::domain::dates::twelve_month_end(delivered_on) {
        Some(year) if pack => year.min(order_ends_on),
        _ => order_ends_on,
    }
}

/// The last day a replacement may be issued for a token activated on
/// `activated_on`: day D + 30 allowed, D + 31 refused.
pub fn replacement_deadline(activated_on: NaiveDate) -> Option<NaiveDate> {
    activated_on.checked_add_days(Days::new(REPLACEMENT_DAYS))
}

/// An exam id as the exam provider spells it: 2 to 40 of A-Z, 0-9 and `-`
/// (redemptions, R-13, and partners' passed exams, R-26).
pub fn is_exam(exam: &str) -> bool {
    (2..=40).contains(&exam.len()) && exam.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
}

/// What a code looks like to a caller trying to use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeFacts {
    pub kind: CodeKind,
    pub status: CodeStatus,
    pub assignee: Option<String>,
    pub activations_total: Option<i32>,
    pub activations_used: i32,
}

/// Why `caller` cannot redeem or activate a code described by `facts`, or
/// `None` when it can. `privileged` callers (admins, the owning
/// organization's administrators) act for the assignee.
pub fn usability_problem(facts: &CodeFacts, caller: Option<&str>, privileged: bool) -> Option<UserErrorCode> {
    match facts.status {
        CodeStatus::Expired => return Some(UserErrorCode::Expired),
        CodeStatus::Revoked => return Some(UserErrorCode::Revoked),
        CodeStatus::Replaced => return Some(UserErrorCode::Replaced),
        CodeStatus::Redeemed => return Some(UserErrorCode::AlreadyRedeemed),
        _ => {}
    }
    let personal = matches!(facts.kind, CodeKind::ExamVoucher | CodeKind::LibraryAccess | CodeKind::VsSubscription);
    match (&facts.assignee, personal) {
        (None, true) => return Some(UserErrorCode::NotAssigned),
        // Tokens and keys need no assignee, but then only the owning
        // organization's administrators (or admins) may use them.
        (None, false) if !privileged => return Some(UserErrorCode::NotAssignedToYou),
        (Some(assignee), _) if !privileged && caller != Some(assignee.as_str()) => {
            return Some(UserErrorCode::NotAssignedToYou);
        }
        _ => {}
    }
    match facts.kind {
        CodeKind::ProductKey if facts.activations_total.is_some_and(|total| facts.activations_used >= total) => {
            Some(UserErrorCode::NoActivationsLeft)
        }
        CodeKind::LibraryAccess | CodeKind::ActivationToken | CodeKind::VsSubscription
            if facts.status == CodeStatus::Active =>
        {
            Some(UserErrorCode::AlreadyActive)
        }
        _ => None,
    }
}

pub use entity::enums::CertificationLevel;

/// Months of preparation a level needs: about 6 for basic
/// certifications, about 12 for advanced ones.
pub fn preparation_months(level: CertificationLevel) -> u32 {
    match level {
        CertificationLevel::Basic => 6,
        CertificationLevel::Advanced => 12,
    }
}

/// The most vouchers one plan may need: a plan is for one organization's
/// people, and the answer is a GraphQL `Int`.
pub const MAX_PLAN_VOUCHERS: i64 = 1_000_000;

/// People x certifications each x exams per certification; `None` when a
/// count is not positive or the product passes [`MAX_PLAN_VOUCHERS`].
pub fn vouchers_needed(people: i32, certifications_each: i32, exams_per_certification: i32) -> Option<i64> {
    let positive = |n: i32| (n > 0).then_some(i64::from(n));
    let needed = positive(people)?
        .checked_mul(positive(certifications_each)?)?
        .checked_mul(positive(exams_per_certification)?)?;
    (needed <= MAX_PLAN_VOUCHERS).then_some(needed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    #[test]
    fn pack_vouchers_last_one_year_from_delivery_or_until_the_order_ends() {
        use entity::enums::PackageKind::{ExamVoucher, LibraryAccess};
        // delivered 2027-03-15, usable through 2028-03-14.
        assert_eq!(order_code_valid_until(ExamVoucher, Some(30), d(2027, 3, 15), d(2028, 12, 31)), d(2028, 3, 14));
        // The order ends first: its end.
        assert_eq!(order_code_valid_until(ExamVoucher, Some(125), d(2027, 3, 15), d(2027, 6, 30)), d(2027, 6, 30));
        // One year exactly to the order's end: the same day either way.
        assert_eq!(order_code_valid_until(ExamVoucher, Some(500), d(2027, 3, 15), d(2028, 3, 14)), d(2028, 3, 14));
        assert_eq!(order_code_valid_until(ExamVoucher, Some(500), d(2027, 3, 15), d(2028, 3, 15)), d(2028, 3, 14));
        // 29 February: + 12 months is 28 February, less a day.
        assert_eq!(order_code_valid_until(ExamVoucher, Some(30), d(2028, 2, 29), d(2030, 6, 30)), d(2029, 2, 27));
        // A single voucher, a library code: the order's end.
        assert_eq!(order_code_valid_until(ExamVoucher, Some(1), d(2027, 3, 15), d(2028, 12, 31)), d(2028, 12, 31));
        assert_eq!(order_code_valid_until(LibraryAccess, None, d(2027, 3, 15), d(2028, 12, 31)), d(2028, 12, 31));
    }

    #[test]
    fn unused_codes_expire_the_day_after_their_end() {
        //
        let end = d(2027, 6, 30);
        assert_eq!(effective_status(StoredCodeStatus::Issued, end, end), CodeStatus::Issued);
        assert_eq!(effective_status(StoredCodeStatus::Issued, end, d(2027, 7, 1)), CodeStatus::Expired);
        assert_eq!(effective_status(StoredCodeStatus::Assigned, end, d(2027, 7, 1)), CodeStatus::Expired);
        assert_eq!(effective_status(StoredCodeStatus::Active, end, d(2027, 7, 1)), CodeStatus::Expired);
        assert_eq!(effective_status(StoredCodeStatus::Redeemed, end, d(2027, 7, 1)), CodeStatus::Redeemed);
        assert_eq!(effective_status(StoredCodeStatus::Revoked, end, d(2027, 7, 1)), CodeStatus::Revoked);
    }

    #[test]
    fn a_replacement_is_allowed_through_day_thirty() {
        // activated on D, allowed through D + 30.
        assert_eq!(replacement_deadline(d(2027, 1, 31)), Some(d(2027, 3, 2)));
        assert_eq!(replacement_deadline(d(2028, 2, 1)), Some(d(2028, 3, 2)));
    }

    fn facts(kind: CodeKind, status: CodeStatus, assignee: Option<&str>) -> CodeFacts {
        CodeFacts { kind, status, assignee: assignee.map(str::to_owned), activations_total: None, activations_used: 0 }
    }

    #[test]
    fn only_the_assignee_uses_a_personal_code() {
        //
        let voucher = facts(CodeKind::ExamVoucher, CodeStatus::Assigned, Some("ada"));
        assert_eq!(usability_problem(&voucher, Some("ada"), false), None);
        assert_eq!(usability_problem(&voucher, Some("bob"), false), Some(UserErrorCode::NotAssignedToYou));
        assert_eq!(usability_problem(&voucher, Some("bob"), true), None);
        let unassigned = facts(CodeKind::ExamVoucher, CodeStatus::Issued, None);
        assert_eq!(usability_problem(&unassigned, Some("ada"), true), Some(UserErrorCode::NotAssigned));
        let used = facts(CodeKind::ExamVoucher, CodeStatus::Redeemed, Some("ada"));
        assert_eq!(usability_problem(&used, Some("ada"), false), Some(UserErrorCode::AlreadyRedeemed));
    }

    #[test]
    fn product_keys_stop_at_zero_and_tokens_activate_once() {
        //
        let mut key = facts(CodeKind::ProductKey, CodeStatus::Active, None);
        key.activations_total = Some(2);
        key.activations_used = 1;
        assert_eq!(usability_problem(&key, None, true), None);
        key.activations_used = 2;
        assert_eq!(usability_problem(&key, None, true), Some(UserErrorCode::NoActivationsLeft));
        let token = facts(CodeKind::ActivationToken, CodeStatus::Active, None);
        assert_eq!(usability_problem(&token, None, true), Some(UserErrorCode::AlreadyActive));
        let token = facts(CodeKind::ActivationToken, CodeStatus::Issued, None);
        assert_eq!(usability_problem(&token, None, true), None);
        assert_eq!(usability_problem(&token, Some("ada"), false), Some(UserErrorCode::NotAssignedToYou));
    }

    #[test]
    fn the_plan_multiplies_and_checks_the_months_left() {
        // 40 people x 2 certifications x 3 exams = 240 vouchers; from
        // 2027-01-15 to 2027-06-30, 6 started months: enough for basic only.
        assert_eq!(vouchers_needed(40, 2, 3), Some(240));
        let months_left = crate::domain::dates::started_months(d(2027, 1, 15), d(2027, 6, 30));
        assert_eq!(months_left, 6);
        assert!(months_left >= preparation_months(CertificationLevel::Basic));
        assert!(months_left < preparation_months(CertificationLevel::Advanced));
        assert_eq!(vouchers_needed(0, 2, 3), None);
        assert_eq!(vouchers_needed(1000, 1000, 2), None, "past the most one plan may need");
    }

    #[test]
    fn a_plan_needs_at_most_a_million_vouchers() {
        // Before, 10^6 x 10^6 x 10^6 came back as 10^18 through a 32-bit Int.
        assert_eq!(vouchers_needed(1_000, 100, 10), Some(1_000_000));
        assert_eq!(vouchers_needed(1_000, 100, 11), None);
        assert_eq!(vouchers_needed(1_000_000, 1_000_000, 1_000_000), None);
        assert_eq!(vouchers_needed(i32::MAX, i32::MAX, i32::MAX), None);
        assert_eq!(vouchers_needed(-1, 1, 1), None);
    }
}
