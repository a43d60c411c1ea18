//! The desk's bulk term extensions: the plan (which
//! memberships, their new dates), and its application, all or none, each
//! membership guarded on the term it was planned from, its reason kept as
//! an exception on it, its benefits following the new term.

use chrono::{DateTime, Utc};
use entity::{membership, membership_exception};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::{Expr, ExprTrait},
};

use crate::{
    auth::Viewer,
    domain::extensions::{Extended, ExtensionRequest, MAX_EXTENDED, extend},
    error::{AppError, UserError, UserErrorCode},
    service::{Outcome, codes::actor, memberships::follow_term, refuse},
};

/// One membership the extension moves.
#[derive(Debug, Clone)]
pub struct Planned {
    pub membership: membership::Model,
    pub term: Extended,
}

/// The memberships `request` moves, in id order, with their new dates;
/// nothing changes. Refused when the request is invalid or moves more
/// than [`MAX_EXTENDED`].
pub async fn plan<C: ConnectionTrait>(db: &C, request: &ExtensionRequest) -> Result<Outcome<Vec<Planned>>, AppError> {
    if let Err(errors) = request.validate() {
        return Ok(Err(errors));
    }
    let live = membership::Entity::find()
        .filter(membership::Column::EndedOn.is_null())
        .order_by_asc(membership::Column::Id)
        .all(db)
        .await?;
    let mut planned = Vec::new();
    for m in live {
        let Some(term) = extend(m.purchased_on, u32::try_from(m.renewals).unwrap_or(0)) else { continue };
        if request.covers(term.anniversary, m.offer, m.competency.as_deref()) {
            planned.push(Planned { membership: m, term });
        }
    }
    if planned.len() > MAX_EXTENDED {
        return refuse(
            "anniversariesTo",
            UserErrorCode::OutOfRange,
            format!("{} memberships: one extension moves at most {MAX_EXTENDED}; split the range", planned.len()),
        );
    }
    Ok(Ok(planned))
}

/// Applies the extension (admin): every planned membership's term moves to
/// its next anniversary, in one transaction. If any membership changed
/// since it was read (renewed, reactivated), nothing is applied.
pub async fn apply(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    request: ExtensionRequest,
) -> Result<Outcome<Vec<Planned>>, AppError> {
    let txn = crate::db::begin(db).await?;
    let planned = match plan(&txn, &request).await? {
        Ok(planned) => planned,
        Err(errors) => return Ok(Err(errors)),
    };
    let reason = format!("term extended to the next anniversary: {}", request.reason.trim());
    let mut moved = Vec::with_capacity(planned.len());
    for p in planned {
        let m = &p.membership;
        let done = membership::Entity::update_many()
            .col_expr(membership::Column::Renewals, Expr::col(membership::Column::Renewals).add(1))
            .filter(membership::Column::Id.eq(m.id))
            .filter(membership::Column::Renewals.eq(m.renewals))
            .exec(&txn)
            .await?
            .rows_affected;
        if done != 1 {
            return Ok(Err(vec![UserError::on(
                "anniversariesFrom",
                UserErrorCode::InvalidTransition,
                format!("membership {} changed while the extension ran; nothing was extended", m.id),
            )]));
        }
        membership_exception::ActiveModel {
            membership_id: Set(m.id),
            granted_by: Set(actor(viewer).to_owned()),
            reason: Set(reason.clone()),
            granted_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let extended = membership::Entity::find_by_id(m.id)
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::internal(format!("membership {} vanished mid-extension", m.id)))?;
        follow_term(&txn, &extended).await?;
        moved.push(Planned { membership: extended, term: p.term });
    }
    txn.commit().await?;
    Ok(Ok(moved))
}
