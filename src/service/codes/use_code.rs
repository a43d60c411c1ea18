//! Using a code (R-13 .. R-17): assigning, redeeming an exam voucher,
//! activating library access, a token, a key or a subscription.

use chrono::{DateTime, Utc};
use entity::{
    code,
    enums::{CodeKind, StoredCodeStatus},
};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, UpdateMany,
    sea_query::{Expr, ExprTrait},
};

use super::{ATTEMPTS, LIVE, actor, by_value, canonical, facts, guarded, refuse_code, still};
use crate::{
    auth::Viewer,
    domain::codes::{is_exam, usability_problem},
    error::{AppError, UserErrorCode},
    service::{
        Outcome, exams,
        redemptions::{OwnVoucher, Redemptions},
        refuse, scope,
    },
};

/// How a code is used by its value.
#[derive(Debug, Clone)]
pub enum Use {
    /// Redeem an exam voucher for one exam.
    Redeem { exam: String },
    /// Activate a library access code, a token on a tenant, a product key
    /// or a subscription (R-14 .. ).
    Activate { tenant: Option<String>, seats: Option<i32> },
}

/// Redeems or activates the code a value names. Safe under concurrency:
/// 64 clients redeeming one voucher get one success and 63
/// `ALREADY_REDEEMED`; N+k clients activating an N-activation key get N
/// successes.
pub async fn use_code(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    value: &str,
    how: Use,
    redemptions: &Redemptions,
) -> Result<Outcome<code::Model>, AppError> {
    let canonical = match canonical(value) {
        Ok(v) => v,
        Err(problem) => return refuse_code("value", problem),
    };
    match &how {
        Use::Redeem { exam } if !is_exam(exam) => {
            return refuse(
                "exam",
                UserErrorCode::InvalidFormat,
                "an exam id is 2-40 of A-Z, 0-9 and -, such as MO-100",
            );
        }
        Use::Activate { tenant: Some(t), .. } if t.trim().is_empty() || t.chars().count() > 200 => {
            return refuse("tenant", UserErrorCode::InvalidFormat, "a tenant is 1-200 characters");
        }
        _ => {}
    }
    let today = now.date_naive();
    if let Use::Redeem { exam } = &how
        && let Some(redeemed) = redeem_own_voucher(db, redemptions, viewer, now, &canonical, exam).await?
    {
        return Ok(Ok(redeemed));
    }
    for _ in 0..ATTEMPTS {
        let Some(code) = by_value(db, viewer, &canonical).await? else {
            return refuse_code("value", UserErrorCode::UnknownCode);
        };
        let wrong_kind = match &how {
            Use::Redeem { .. } => code.kind != CodeKind::ExamVoucher,
            Use::Activate { .. } => code.kind == CodeKind::ExamVoucher,
        };
        if wrong_kind {
            return refuse_code("value", UserErrorCode::WrongKind);
        }
        let privileged = uses_for_others(viewer, &code);
        let person = viewer.person();
        if let Some(problem) = usability_problem(&facts(&code, today), person.as_deref(), privileged) {
            return refuse_code("value", problem);
        }
        if let Use::Redeem { exam } = &how
            && let Some(problem) = exams::voucher_refusal(db, &code, exam, now).await?
        {
            return Ok(Err(vec![problem]));
        }
        let mut guard = still(&code, today);
        if !privileged {
            guard = guard.add(code::Column::Assignee.eq(person.as_deref().unwrap_or_default()));
        }
        let base = code::Entity::update_many();
        let (update, action, detail) = match (&how, code.kind) {
            (Use::Redeem { exam }, _) => {
                let detail = match code.assignee.as_deref() {
                    Some(holder) if person.as_deref() != Some(holder) => {
                        format!("exam {exam}, redeemed by the licensing desk on behalf of {holder}")
                    }
                    _ => format!("exam {exam}"),
                };
                (redemption(exam, now), "REDEEM", Some(detail))
            }
            (Use::Activate { tenant, seats }, CodeKind::ActivationToken) => {
                let Some(tenant) = tenant.as_ref().map(|t| t.trim().to_owned()) else {
                    return refuse(
                        "tenant",
                        UserErrorCode::Blank,
                        "an activation token is activated on a tenant (R-15)",
                    );
                };
                if seats.is_some_and(|s| Some(s) != code.seats) {
                    return refuse(
                        "seats",
                        UserErrorCode::CannotSplit,
                        format!(
                            "an activation token is activated whole: all {} seats on one tenant (R-15)",
                            code.seats.unwrap_or(0)
                        ),
                    );
                }
                (
                    base.col_expr(code::Column::Status, Expr::value(StoredCodeStatus::Active))
                        .col_expr(code::Column::Tenant, Expr::value(tenant.clone()))
                        .col_expr(code::Column::ActivatedAt, Expr::value(now)),
                    "ACTIVATE",
                    Some(format!("{} seats on tenant {tenant}", code.seats.unwrap_or(0))),
                )
            }
            (Use::Activate { .. }, CodeKind::ProductKey) => {
                // Guarded on the count, not the status: concurrent activations
                // of one key each take one, until none is left.
                guard = Condition::all()
                    .add(code::Column::Status.is_in(LIVE))
                    .add(code::Column::ValidUntil.gte(today))
                    .add(Expr::col(code::Column::ActivationsUsed).lt(Expr::col(code::Column::ActivationsTotal)));
                if !privileged {
                    guard = guard.add(code::Column::Assignee.eq(person.as_deref().unwrap_or_default()));
                }
                (
                    base.col_expr(code::Column::Status, Expr::value(StoredCodeStatus::Active))
                        .col_expr(code::Column::ActivationsUsed, Expr::col(code::Column::ActivationsUsed).add(1))
                        .col_expr(
                            code::Column::ActivatedAt,
                            Expr::col(code::Column::ActivatedAt).if_null(Expr::value(now)),
                        ),
                    "ACTIVATE",
                    Some(format!(
                        "activation {} of {}",
                        code.activations_used + 1,
                        code.activations_total.unwrap_or(0)
                    )),
                )
            }
            (Use::Activate { .. }, _) => (
                base.col_expr(code::Column::Status, Expr::value(StoredCodeStatus::Active))
                    .col_expr(code::Column::ActivatedAt, Expr::value(now)),
                "ACTIVATE",
                None,
            ),
        };
        if let Some(updated) =
            guarded(db, code.id, guard, update, now, actor(viewer), action, code.status, detail).await?
        {
            return Ok(Ok(updated));
        }
    }
    // Lost the race every time: report the state the code is in now.
    let Some(code) = by_value(db, viewer, &canonical).await? else {
        return refuse_code("value", UserErrorCode::UnknownCode);
    };
    let privileged = uses_for_others(viewer, &code);
    let problem = usability_problem(&facts(&code, today), viewer.person().as_deref(), privileged)
        .unwrap_or(UserErrorCode::AlreadyActive);
    refuse_code("value", problem)
}

/// Whether `viewer` may use `code` for someone else: an exam voucher only
/// the desk (admin), on its assignee's behalf, since an organization's
/// administrators assign vouchers but do not use them; other
/// codes the owning organization's administrators too.
pub(super) fn uses_for_others(viewer: &Viewer, code: &code::Model) -> bool {
    match code.kind {
        CodeKind::ExamVoucher => viewer.is_admin(),
        _ => scope::administers(viewer, code.organization_id),
    }
}

/// The update that redeems a voucher for `exam`.
fn redemption(exam: &str, now: DateTime<Utc>) -> UpdateMany<code::Entity> {
    code::Entity::update_many()
        .col_expr(code::Column::Status, Expr::value(StoredCodeStatus::Redeemed))
        .col_expr(code::Column::RedeemedAt, Expr::value(now))
        .col_expr(code::Column::Exam, Expr::value(exam.to_owned()))
}

/// The common redemption, committed with whatever others are waiting
/// ([`super::redemptions`]): a person redeeming an exam voucher of their
/// organization that is assigned to them and still ASSIGNED and valid
/// today, which `usability_problem` never refuses. The
/// guard is that whole case, found by the voucher's value, so there is no
/// look-up first. `None` for every other case (a typo, someone else's
/// voucher, an expired one, an administrator redeeming for someone):
/// [`use_code`] then looks the code up and says why it is refused, or
/// redeems it.
async fn redeem_own_voucher(
    db: &DatabaseConnection,
    redemptions: &Redemptions,
    viewer: &Viewer,
    now: DateTime<Utc>,
    canonical: &str,
    exam: &str,
) -> Result<Option<code::Model>, AppError> {
    let (Some(subject), Some(organization)) = (viewer.person(), viewer.organization_id) else {
        return Ok(None);
    };
    // Only what cannot fail a shared statement joins a group: a value in
    // the code alphabet and an exam id were checked by the caller; a
    // subject with a control character (which tokens no longer carry)
    // goes the long way alone.
    if subject.chars().any(char::is_control) {
        return Ok(None);
    }
    let voucher = OwnVoucher { value: canonical.to_owned(), subject, organization, exam: exam.to_owned(), now };
    redemptions.redeem(db, voucher).await
}
