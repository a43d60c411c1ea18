//! The desk's changes to an agreement: its notice contact and end
//! date (`updateAgreement`), and a renewal for a new term
//! (`renewAgreement`), each kept in the agreement's history.
//!
//! An end date moved within a term carries every date computed from it
//! an order that ran to the agreement's end runs to the new one,
//! an order past a new, earlier end stops there, and the unused codes of
//! those orders expire accordingly (pack vouchers still one year after
//! their delivery at most). A 12-month subscription that ends before the
//! agreement does is its own term and stays. An order's price stays as it
//! was quoted. A renewal starts a new term the day after the old end:
//! nothing of the old term moves, and an academic agreement's new term
//! brings its Imagine Academy grant.

use chrono::{DateTime, Days, NaiveDate, Utc};
use entity::{
    agreement, code,
    enums::{OrderStatus, StoredCodeStatus},
    order, package,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    sea_query::Expr,
};

use crate::{
    domain::{
        codes::order_code_valid_until,
        organizations::{AgreementPatch, check_reason, is_email},
    },
    error::{AppError, UserError, UserErrorCode},
    service::{
        Outcome, grants,
        history::{self, Change, Subject},
        refuse,
    },
};

/// The statuses of a code that can still be used: their expiry moves.
const LIVE: [StoredCodeStatus; 3] = [StoredCodeStatus::Issued, StoredCodeStatus::Assigned, StoredCodeStatus::Active];

/// Changes an agreement's notice contact or end date (admin, R-34).
pub async fn update_agreement(
    db: &DatabaseConnection,
    actor: &str,
    now: DateTime<Utc>,
    id: i64,
    patch: AgreementPatch,
) -> Result<Outcome<agreement::Model>, AppError> {
    let Some(existing) = agreement::Entity::find_by_id(id).one(db).await? else {
        return refuse("id", UserErrorCode::NotFound, "agreement not found");
    };
    let contact =
        patch.notice_contact.as_deref().map_or_else(|| existing.notice_contact.clone(), |c| c.trim().to_owned());
    let ends_on = patch.ends_on.unwrap_or(existing.ends_on);
    let mut problems = check_reason(patch.reason.as_deref());
    if !is_email(&contact) {
        problems.push(UserError::on(
            "noticeContact",
            UserErrorCode::InvalidFormat,
            "the notice contact must be an e-mail address",
        ));
    }
    if ends_on <= existing.starts_on {
        problems.push(UserError::on("endsOn", UserErrorCode::OutOfRange, "the agreement must end after it starts"));
    }
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let changes: Vec<Change> = [
        Change::of("noticeContact", &existing.notice_contact, &contact),
        Change::of("endsOn", &existing.ends_on, &ends_on),
    ]
    .into_iter()
    .flatten()
    .collect();
    let txn = crate::db::begin(db).await?;
    let old_end = existing.ends_on;
    let mut model: agreement::ActiveModel = existing.into();
    model.notice_contact = Set(contact);
    model.ends_on = Set(ends_on);
    let agreement = model.update(&txn).await?;
    if ends_on != old_end {
        move_term_end(&txn, id, old_end, ends_on).await?;
    }
    history::record(&txn, Subject::Agreement(id), &changes, patch.reason.as_deref(), actor, now).await?;
    txn.commit().await?;
    Ok(Ok(agreement))
}

/// Renews an agreement for a new term, from the day after its end through
/// `ends_on` (admin, R-34), with the new term's Imagine Academy grant when
/// the agreement brings one: the agreement and the grant, if any.
pub async fn renew_agreement(
    db: &DatabaseConnection,
    actor: &str,
    now: DateTime<Utc>,
    id: i64,
    ends_on: NaiveDate,
    reason: Option<String>,
) -> Result<Outcome<(agreement::Model, Option<order::Model>)>, AppError> {
    let Some(existing) = agreement::Entity::find_by_id(id).one(db).await? else {
        return refuse("id", UserErrorCode::NotFound, "agreement not found");
    };
    let mut problems = check_reason(reason.as_deref());
    let Some(term_starts_on) = existing.ends_on.checked_add_days(Days::new(1)) else {
        return refuse("endsOn", UserErrorCode::OutOfRange, "the agreement cannot be renewed past the calendar");
    };
    if ends_on < term_starts_on {
        problems.push(UserError::on(
            "endsOn",
            UserErrorCode::OutOfRange,
            format!("a renewal's term starts on {term_starts_on}, after the current end; it must end on or after it"),
        ));
    }
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let changes: Vec<Change> = Change::of("endsOn", &existing.ends_on, &ends_on).into_iter().collect();
    let reason = reason.unwrap_or_else(|| "renewal".to_owned());
    let txn = crate::db::begin(db).await?;
    let mut model: agreement::ActiveModel = existing.into();
    model.ends_on = Set(ends_on);
    let agreement = model.update(&txn).await?;
    history::record(&txn, Subject::Agreement(id), &changes, Some(&reason), actor, now).await?;
    let grant = grants::grant_term(&txn, &agreement, term_starts_on, actor, now).await?;
    txn.commit().await?;
    Ok(Ok((agreement, grant)))
}

/// Moves the end of the orders of agreement `id` that ran to `old_end`, or
/// past `new_end`, to `new_end`, and their unused codes' expiry with them.
async fn move_term_end<C: ConnectionTrait>(
    txn: &C,
    id: i64,
    old_end: NaiveDate,
    new_end: NaiveDate,
) -> Result<(), AppError> {
    let orders = order::Entity::find()
        .filter(order::Column::AgreementId.eq(id))
        .filter(order::Column::Status.ne(OrderStatus::Cancelled))
        .filter(Condition::any().add(order::Column::EndsOn.eq(old_end)).add(order::Column::EndsOn.gt(new_end)))
        .all(txn)
        .await?;
    for o in orders {
        let Some(package) = package::Entity::find_by_id(o.package_id).one(txn).await? else {
            return Err(AppError::internal(format!("order {} has no package", o.id)));
        };
        let order_end = if o.ends_on == old_end { new_end } else { o.ends_on.min(new_end) };
        order::Entity::update_many()
            .col_expr(order::Column::EndsOn, Expr::value(order_end))
            .filter(order::Column::Id.eq(o.id))
            .exec(txn)
            .await?;
        let Some(delivered) = o.fulfilled_at else { continue };
        let valid_until =
            order_code_valid_until(package.kind, package.vouchers_per_pack, delivered.date_naive(), order_end);
        code::Entity::update_many()
            .col_expr(code::Column::ValidUntil, Expr::value(valid_until))
            .filter(code::Column::OrderId.eq(o.id))
            .filter(code::Column::Status.is_in(LIVE))
            .exec(txn)
            .await?;
    }
    Ok(())
}
