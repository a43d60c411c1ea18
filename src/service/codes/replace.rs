//! Issuing a replacement activation token.

use chrono::{DateTime, Utc};
use entity::{
    code,
    enums::{CodeKind, CodeStatus, StoredCodeStatus},
};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, sea_query::Expr};

use super::{actor, record_event, refuse_code};
use crate::{
    auth::Viewer,
    domain::{
        code_format::{self},
        codes::{effective_status, replacement_deadline},
    },
    error::{AppError, UserErrorCode, constraint_to_user_error},
    service::{Outcome, refuse, scope},
};

/// Issues the one replacement an activated token may get, within 30 days
/// after its activation. The original becomes `REPLACED`; the
/// replacement carries the same or fewer seats.
pub async fn replace(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    id: i64,
    seats: Option<i32>,
) -> Result<Outcome<(code::Model, code::Model)>, AppError> {
    let today = now.date_naive();
    let Some(original) =
        super::listing::code(db, viewer, id).await?.filter(|c| scope::administers(viewer, c.organization_id))
    else {
        return refuse("codeId", UserErrorCode::NotFound, "code not found");
    };
    if original.kind != CodeKind::ActivationToken {
        return refuse_code("codeId", UserErrorCode::WrongKind);
    }
    if original.replaces_id.is_some() || original.status == StoredCodeStatus::Replaced {
        return refuse("codeId", UserErrorCode::ReplacementAlreadyIssued, "a token is replaced at most once (R-15)");
    }
    match effective_status(original.status, original.valid_until, today) {
        CodeStatus::Active => {}
        CodeStatus::Expired => return refuse_code("codeId", UserErrorCode::Expired),
        CodeStatus::Revoked => return refuse_code("codeId", UserErrorCode::Revoked),
        _ => return refuse_code("codeId", UserErrorCode::NotActive),
    }
    let activated_on = original.activated_at.map(|at| at.date_naive());
    let Some(deadline) = activated_on.and_then(replacement_deadline) else {
        return refuse_code("codeId", UserErrorCode::NotActive);
    };
    if today > deadline {
        return refuse(
            "codeId",
            UserErrorCode::ReplacementWindowClosed,
            format!("replacements are issued within 30 days after activation, so through {deadline} (R-15)"),
        );
    }
    let full = original.seats.unwrap_or(1);
    let seats = seats.unwrap_or(full);
    if !(1..=full).contains(&seats) {
        return refuse("seats", UserErrorCode::OutOfRange, format!("a replacement carries 1 to {full} seats"));
    }
    let txn = crate::db::begin(db).await?;
    let done = code::Entity::update_many()
        .col_expr(code::Column::Status, Expr::value(StoredCodeStatus::Replaced))
        .filter(code::Column::Id.eq(id))
        .filter(code::Column::Status.eq(StoredCodeStatus::Active))
        .exec(&txn)
        .await?
        .rows_affected;
    if done != 1 {
        return refuse("codeId", UserErrorCode::ReplacementAlreadyIssued, "a token is replaced at most once (R-15)");
    }
    let status = if original.assignee.is_some() { StoredCodeStatus::Assigned } else { StoredCodeStatus::Issued };
    let replacement = code::ActiveModel {
        organization_id: Set(original.organization_id),
        order_id: Set(original.order_id),
        membership_id: Set(original.membership_id),
        kind: Set(CodeKind::ActivationToken),
        value: Set(code_format::generate().map_err(AppError::internal)?),
        status: Set(status),
        valid_until: Set(original.valid_until),
        assignee: Set(original.assignee.clone()),
        assigned_at: Set(original.assigned_at),
        seats: Set(Some(seats)),
        activations_used: Set(0),
        replaces_id: Set(Some(id)),
        created_at: Set(now),
        product: Set(original.product),
        core_benefit: Set(original.core_benefit),
        ..Default::default()
    };
    let replacement = match replacement.insert(&txn).await {
        Ok(r) => r,
        Err(err) => return constraint_to_user_error(err).map(|e| Err(vec![e])),
    };
    let who = actor(viewer);
    let detail = Some(format!("replaced by code {}", replacement.id));
    record_event(&txn, id, now, who, "REPLACE", Some(original.status), StoredCodeStatus::Replaced, detail).await?;
    let detail = Some(format!("replacement of code {id}, {seats} seats"));
    record_event(&txn, replacement.id, now, who, "ISSUE", None, status, detail).await?;
    txn.commit().await?;
    let original = code::Entity::find_by_id(id).one(db).await?.unwrap_or(original);
    Ok(Ok((original, replacement)))
}
