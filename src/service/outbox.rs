//! The outbox: every business event, written with [`emit`] in the
//! transaction of the change that caused it (never after it), so an event
//! exists exactly when its change does. Rows are never altered; delivery
//! (e-mail, webhooks, subscriptions) reads them in id order.
//!
//! An event names its subject by type and row id, the organization it is
//! about (whose administrators may read it, R-32), and carries ids and
//! non-secret fields only: never a code's value.

use std::ops::RangeInclusive;

use chrono::{DateTime, Utc};
use entity::{enums::StoredCodeStatus, event};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter,
    Select, Set, Statement, sea_query::OnConflict,
};
use serde_json::{Map, Value};

use crate::{auth::Viewer, error::AppError, service::scope};

/// The event types written today, as clients filter on them.
pub const TYPES: [&str; 24] = [
    "order.placed",
    "order.confirmed",
    "order.invoiced",
    "order.fulfilled",
    "order.cancelled",
    "order.late",
    "code.assigned",
    "code.redeemed",
    "code.activated",
    "code.replaced",
    "code.revoked",
    "codes.expiring",
    "membership.enrolled",
    "membership.renewed",
    "membership.reactivated",
    "membership.renewal_due",
    "membership.window_opened",
    "membership.window_closing",
    "membership.expired",
    "merge.completed",
    "directory.approved",
    "directory.rejected",
    "kpi.dispute_resolved",
    "webhook.endpoint_disabled",
];

/// An event about to be written.
#[derive(Debug, Clone)]
pub struct Event {
    /// One of [`TYPES`].
    pub kind: &'static str,
    /// The subject's GraphQL type (`Order`, `Membership`, ...) and row id.
    pub subject: (&'static str, i64),
    /// The organization it is about.
    pub organization_id: Option<i64>,
    /// Ids (as global ids) and non-secret fields.
    pub data: Map<String, Value>,
}

impl Event {
    /// An event of `kind` about `subject`, for `organization_id`, whose data
    /// starts with the subject's global id under its camel-case type name.
    pub fn new(kind: &'static str, subject: (&'static str, i64), organization_id: Option<i64>) -> Self {
        debug_assert!(TYPES.contains(&kind), "{kind} is not in outbox::TYPES");
        let mut data = Map::new();
        let key = lower_first(subject.0);
        data.insert(key, Value::String(crate::id::encode(subject.0, subject.1)));
        Self { kind, subject, organization_id, data }
    }

    /// Adds a field to the data.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.data.insert(key.to_owned(), value.into());
        self
    }

    /// Adds another object's global id to the data, under `key`.
    pub fn with_id(self, key: &str, kind: &str, id: i64) -> Self {
        self.with(key, crate::id::encode(kind, id))
    }
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_ascii_lowercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// The row of `event`, with its once-only `key` if it has one.
fn row(at: DateTime<Utc>, event: Event, key: Option<String>) -> event::ActiveModel {
    event::ActiveModel {
        kind: Set(event.kind.to_owned()),
        subject_type: Set(event.subject.0.to_owned()),
        subject_id: Set(event.subject.1),
        organization_id: Set(event.organization_id),
        occurred_at: Set(at),
        data: Set(Value::Object(event.data).to_string()),
        dedupe_key: Set(key),
        ..Default::default()
    }
}

/// Writes `event` in the caller's transaction.
pub async fn emit<C: ConnectionTrait>(db: &C, at: DateTime<Utc>, event: Event) -> Result<(), AppError> {
    row(at, event, None).insert(db).await?;
    Ok(())
}

/// Writes the `code.redeemed` events of codes this transaction has just
/// redeemed from `ASSIGNED`, in one statement, exactly as the copy trigger
/// writes them. SQLite only (PostgreSQL's group writes them inside its one
/// statement: [`code_redemptions_postgres`]): its trigger runs once per row, and for a
/// redemption group that per-row work was most of the outbox's cost. The
/// ids go as one JSON array, so the statement's text is the same for any
/// number of codes and SQLite prepares it once.
///
/// Returns the ids of the events written: consecutive, as one statement of
/// the one writer inserts its rows, in code id order. The caller then
/// writes the codes' `REDEEM` history naming them (`code_events.event_id`),
/// which the trigger skips, and checks that the range holds exactly these
/// codes' events. An error, to be rolled back with the rest, unless each
/// code got one.
pub async fn code_redemptions<C: ConnectionTrait>(db: &C, code_ids: &[i64]) -> Result<RangeInclusive<i64>, AppError> {
    const SQL: &str = "INSERT INTO events (type, subject_type, subject_id, organization_id, occurred_at, data) \
         SELECT 'code.redeemed', 'Code', id, organization_id, redeemed_at, \
         json_object('status', status, 'previousStatus', ?, 'kind', kind) \
         FROM codes WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id";
    let ids = serde_json::to_string(code_ids).map_err(|e| AppError::internal(e.to_string()))?;
    let values: [sea_orm::Value; 2] = [StoredCodeStatus::Assigned.to_value().into(), ids.into()];
    let written = db.execute_raw(Statement::from_sql_and_values(DbBackend::Sqlite, SQL, values)).await?;
    let (count, last) = (written.rows_affected(), written.last_insert_id());
    match (i64::try_from(count), i64::try_from(last)) {
        (Ok(count), Ok(last)) if count == code_ids.len() as i64 && count > 0 => Ok(last - count + 1..=last),
        _ => Err(AppError::internal(format!("{count} code.redeemed events written for {} codes", code_ids.len()))),
    }
}

/// PostgreSQL's counterpart of [`code_redemptions`]: a data-modifying
/// `WITH` query (name it yourself) writing the `code.redeemed` events of the
/// rows `updated` (codes just redeemed from the status bound as `previous`)
/// exactly as the copy trigger writes them, and returning each event's `id`
/// and `subject_id`, for the history rows that name them. The redemption
/// group's one statement holds it (`service::redemptions`).
pub fn code_redemptions_postgres(updated: &str, previous: &str) -> String {
    format!(
        "INSERT INTO events (type, subject_type, subject_id, organization_id, occurred_at, data) \
         SELECT 'code.redeemed', 'Code', id, organization_id, redeemed_at, \
         json_build_object('status', status, 'previousStatus', {previous}, 'kind', kind)::text \
         FROM {updated} ORDER BY id RETURNING id, subject_id"
    )
}

/// Writes `event` under `key` unless an event with that key exists (a
/// time-driven event: its kind, subject and due day). Whether it was
/// written; of several processes writing it at once, one does.
pub async fn emit_once<C: ConnectionTrait>(
    db: &C,
    at: DateTime<Utc>,
    event: Event,
    key: String,
) -> Result<bool, AppError> {
    // Looked up first: on PostgreSQL an insert that conflicts still takes
    // an id, and the gap it leaves holds the fan-out back for its grace
    // (dispatch::fanout). Only writers racing each other reach the conflict.
    let known = event::Entity::find().filter(event::Column::DedupeKey.eq(key.as_str())).count(db).await?;
    if known > 0 {
        return Ok(false);
    }
    let written = event::Entity::insert(row(at, event, Some(key)))
        .on_conflict(
            // The key's unique index is partial (rows with a key only), so
            // the conflict target names its condition.
            OnConflict::column(event::Column::DedupeKey)
                .target_and_where(event::Column::DedupeKey.is_not_null())
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(written > 0)
}

/// An event's data as clients read it: what was written, with the
/// subject's global id under its camel-case type name when the writer (a
/// database trigger, for `code.*`) could not encode it.
pub fn data(event: &event::Model) -> Value {
    let mut data = match serde_json::from_str(&event.data) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let key = lower_first(&event.subject_type);
    if !data.contains_key(&key) {
        data.insert(key, Value::String(crate::id::encode(&event.subject_type, event.subject_id)));
    }
    Value::Object(data)
}

/// The newest event's id (0 when there is none).
pub async fn last_id<C: ConnectionTrait>(db: &C) -> Result<i64, AppError> {
    use sea_orm::{QueryOrder, QuerySelect};
    let newest = event::Entity::find().select_only().column(event::Column::Id).order_by_desc(event::Column::Id);
    Ok(newest.into_tuple::<i64>().one(db).await?.unwrap_or(0))
}

/// The global id of an event: the `webhook-id` of its deliveries.
pub fn global_id(event_id: i64) -> String {
    crate::id::encode("Event", event_id)
}

/// Filters of `events`.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub types: Option<Vec<String>>,
    pub organization_id: Option<i64>,
    pub subject: Option<(String, i64)>,
}

/// The events the viewer may read, matching `filter`.
pub fn events_query(viewer: &Viewer, filter: &EventFilter) -> Select<event::Entity> {
    let mut select = event::Entity::find().filter(scope::events(viewer, event::Column::OrganizationId));
    if let Some(types) = &filter.types {
        select = select.filter(event::Column::Kind.is_in(types.iter().map(String::as_str)));
    }
    if let Some(org) = filter.organization_id {
        select = select.filter(event::Column::OrganizationId.eq(org));
    }
    if let Some((kind, id)) = &filter.subject {
        select = select.filter(event::Column::SubjectType.eq(kind.as_str())).filter(event::Column::SubjectId.eq(*id));
    }
    select
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_names_its_subject_by_global_id() {
        let e = Event::new("order.fulfilled", ("Order", 7), Some(3)).with("status", "FULFILLED");
        assert_eq!(e.data["order"], Value::String(crate::id::encode("Order", 7)));
        assert_eq!(e.data["status"], "FULFILLED");
    }
}
