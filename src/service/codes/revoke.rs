//! Revoking a code (admin).

use chrono::{DateTime, Utc};
use entity::{code, enums::StoredCodeStatus};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, sea_query::Expr};

use super::{ATTEMPTS, actor, guarded, refuse_code};
use crate::{
    auth::Viewer,
    error::{AppError, UserErrorCode},
    service::{Outcome, refuse},
};

/// Revokes a code that is not used up (admin).
pub async fn revoke(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    id: i64,
    reason: String,
) -> Result<Outcome<code::Model>, AppError> {
    let reason = reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 500 {
        return refuse("reason", UserErrorCode::Blank, "say why, in 1 to 500 characters");
    }
    for _ in 0..ATTEMPTS {
        let Some(code) = super::listing::code(db, viewer, id).await? else {
            return refuse("codeId", UserErrorCode::NotFound, "code not found");
        };
        let problem = match code.status {
            StoredCodeStatus::Redeemed => Some(UserErrorCode::AlreadyRedeemed),
            StoredCodeStatus::Revoked => Some(UserErrorCode::Revoked),
            StoredCodeStatus::Replaced => Some(UserErrorCode::Replaced),
            _ => None,
        };
        if let Some(problem) = problem {
            return refuse_code("codeId", problem);
        }
        let update = code::Entity::update_many().col_expr(code::Column::Status, Expr::value(StoredCodeStatus::Revoked));
        let guard = Condition::all().add(code::Column::Status.eq(code.status));
        let detail = Some(reason.clone());
        if let Some(updated) = guarded(db, id, guard, update, now, actor(viewer), "REVOKE", code.status, detail).await?
        {
            return Ok(Ok(updated));
        }
    }
    refuse_code("codeId", UserErrorCode::Revoked)
}
