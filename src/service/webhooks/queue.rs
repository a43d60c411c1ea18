//! Queueing deliveries: for the fan-out, and again on request
//! (`redeliverEvent`, `replayEvents`).

use chrono::{DateTime, Utc};
use entity::{event, webhook_endpoint};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};

use super::{MAX_REPLAY, endpoints_scope, event_types, find, takes};
use crate::{
    auth::Viewer,
    error::{AppError, UserErrorCode},
    service::{Outcome, outbox, placeholder, refuse},
};

/// Queues `event_ids` for `endpoint` now: new deliveries, and finished ones
/// pending again (their attempt count restarts; the log keeps the old
/// attempts). A delivery already pending is left as it is. How many are
/// pending now because of this.
pub async fn queue<C: ConnectionTrait>(
    db: &C,
    endpoint_id: i64,
    event_ids: &[i64],
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let backend = db.get_database_backend();
    let p = |n| placeholder(backend, n);
    let mut queued = 0;
    for chunk in event_ids.chunks(400) {
        let mut values: Vec<sea_orm::Value> = vec![endpoint_id.into(), now.into()];
        let rows: Vec<String> = chunk
            .iter()
            .map(|id| {
                values.push((*id).into());
                format!("({}, {}, 'PENDING', 0, {}, {})", p(values.len()), p(1), p(2), p(2))
            })
            .collect();
        let sql = format!(
            "INSERT INTO webhook_deliveries (event_id, endpoint_id, status, attempts, next_attempt_at, created_at) \
             VALUES {} ON CONFLICT (event_id, endpoint_id) DO UPDATE SET status = 'PENDING', attempts = 0, \
             next_attempt_at = excluded.next_attempt_at, claimed_until = NULL \
             WHERE webhook_deliveries.status <> 'PENDING'",
            rows.join(", ")
        );
        queued += db.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?.rows_affected();
    }
    Ok(queued)
}

/// Sends an event again to the viewer's endpoints that take it (or to the
/// one named). Its id (`webhook-id`) is the same, so receivers that kept it
/// know it. How many deliveries were queued.
pub async fn redeliver(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    event_id: i64,
    endpoint_id: Option<i64>,
) -> Result<Outcome<u64>, AppError> {
    let filter = outbox::EventFilter::default();
    let Some(event) = outbox::events_query(viewer, &filter).filter(event::Column::Id.eq(event_id)).one(db).await?
    else {
        return refuse("eventId", UserErrorCode::NotFound, "event not found");
    };
    let mut endpoints = webhook_endpoint::Entity::find().filter(endpoints_scope(viewer));
    if let Some(id) = endpoint_id {
        endpoints = endpoints.filter(webhook_endpoint::Column::Id.eq(id));
    }
    let endpoints = endpoints.all(db).await?;
    if endpoint_id.is_some() && endpoints.is_empty() {
        return refuse("endpointId", UserErrorCode::NotFound, "webhook endpoint not found");
    }
    let mut queued = 0;
    for endpoint in endpoints.iter().filter(|e| takes(e, &event_types(e), &event)) {
        queued += queue(db, endpoint.id, &[event.id], now).await?;
    }
    if endpoint_id.is_some() && queued == 0 && !endpoints.iter().any(|e| takes(e, &event_types(e), &event)) {
        return refuse("endpointId", UserErrorCode::WrongKind, "the endpoint does not take this event (its types)");
    }
    Ok(Ok(queued))
}

/// Sends an endpoint every event it takes that occurred at or after
/// `since` (at most [`MAX_REPLAY`]; narrow `since` for more). How many
/// deliveries were queued.
pub async fn replay(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    endpoint_id: i64,
    since: DateTime<Utc>,
) -> Result<Outcome<u64>, AppError> {
    let Some(endpoint) = find(db, viewer, endpoint_id).await? else {
        return refuse("endpointId", UserErrorCode::NotFound, "webhook endpoint not found");
    };
    let types = event_types(&endpoint);
    let mut select = event::Entity::find().filter(event::Column::OccurredAt.gte(since));
    if let Some(org) = endpoint.organization_id {
        select = select.filter(event::Column::OrganizationId.eq(org));
    }
    if !types.is_empty() {
        select = select.filter(event::Column::Kind.is_in(types.iter().map(String::as_str)));
    }
    let ids: Vec<i64> = select
        .select_only()
        .column(event::Column::Id)
        .order_by_asc(event::Column::Id)
        .limit(MAX_REPLAY + 1)
        .into_tuple()
        .all(db)
        .await?;
    if ids.len() as u64 > MAX_REPLAY {
        return refuse("since", UserErrorCode::OutOfRange, "more than 10 000 events: replay from a later instant");
    }
    let txn = crate::db::begin(db).await?;
    let queued = queue(&txn, endpoint.id, &ids, now).await?;
    txn.commit().await?;
    Ok(Ok(queued))
}
