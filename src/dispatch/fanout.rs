//! The fan-out: reads the outbox in id order from where it last stopped
//! (`dispatch_cursors`) and writes what each event calls for: its e-mail
//! notices, with their recipients, and a delivery to each
//! enabled webhook endpoint that takes it. The cursor moves in the
//! transaction that writes them, so an event is fanned out exactly once,
//! whichever process does it and whenever it stops.
//!
//! Ids are handed out when an event is written but become visible when its
//! transaction commits, which on PostgreSQL need not be in id order; a
//! rolled-back transaction leaves a gap for ever. So the fan-out stops at
//! a gap until it has stood for [`GapWatch`]'s grace (a transaction still
//! running would have committed by then), and only then steps over it.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use entity::{agreement, event, notice, order, organization, package, webhook_endpoint};
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement,
};

use crate::{
    domain::notices::{Audience, NoticeKind, notices_for, stale},
    error::AppError,
    service::webhooks::{self, event_types, takes},
};

/// Seconds a gap in the event ids is waited on before the fan-out steps
/// over it: far longer than any transaction that writes events runs.
pub const GAP_GRACE_SECS: u64 = 10;

/// Events read per transaction.
pub const BATCH: u64 = 500;

/// Remembers a gap in the event ids from when it was first seen.
#[derive(Debug)]
pub struct GapWatch {
    grace: Duration,
    seen: Option<(i64, Instant)>,
}

impl GapWatch {
    pub fn new(grace: Duration) -> Self {
        Self { grace, seen: None }
    }

    /// Whether the fan-out may step over a gap just before `next`.
    fn may_skip(&mut self, next: i64) -> bool {
        match self.seen {
            Some((id, since)) if id == next => since.elapsed() >= self.grace,
            _ => {
                self.seen = Some((next, Instant::now()));
                self.grace.is_zero()
            }
        }
    }
}

/// Fans out what has been written since the last run; how many events.
pub async fn run(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    desk_email: Option<&str>,
    gaps: &mut GapWatch,
) -> Result<usize, AppError> {
    let mut total = 0;
    loop {
        let done = batch(db, now, desk_email, gaps).await?;
        total += done;
        if done < BATCH as usize {
            return Ok(total);
        }
    }
}

async fn batch(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    desk_email: Option<&str>,
    gaps: &mut GapWatch,
) -> Result<usize, AppError> {
    let _writer = crate::db::sqlite_writer(db).await;
    let txn = crate::db::begin(db).await?;
    let backend = txn.get_database_backend();
    let lock = if backend == DbBackend::Postgres { " FOR UPDATE" } else { "" };
    let cursor = txn
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT event_id FROM dispatch_cursors WHERE name = 'fanout'{lock}"),
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "event_id"))
        .transpose()?
        .ok_or_else(|| AppError::internal("the fan-out cursor is missing"))?;
    let events = event::Entity::find()
        .filter(event::Column::Id.gt(cursor))
        .order_by_asc(event::Column::Id)
        .limit(BATCH)
        .all(&txn)
        .await?;
    // The run without gaps, or over gaps that have stood their grace.
    let mut last = cursor;
    let mut ready = Vec::with_capacity(events.len());
    for e in events {
        if e.id != last + 1 && !gaps.may_skip(last + 1) {
            break;
        }
        last = e.id;
        ready.push(e);
    }
    if ready.is_empty() {
        return Ok(0);
    }
    let endpoints =
        webhook_endpoint::Entity::find().filter(webhook_endpoint::Column::Enabled.eq(true)).all(&txn).await?;
    let endpoints: Vec<_> = endpoints.into_iter().map(|e| (event_types(&e), e)).collect();
    for e in &ready {
        for (types, endpoint) in &endpoints {
            if e.id > endpoint.after_event_id && takes(endpoint, types, e) {
                webhooks::queue(&txn, endpoint.id, &[e.id], now).await?;
            }
        }
        write_notices(&txn, now, desk_email, e).await?;
    }
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        format!(
            "UPDATE dispatch_cursors SET event_id = {} WHERE name = 'fanout'",
            crate::service::placeholder(backend, 1)
        ),
        [last.into()],
    ))
    .await?;
    txn.commit().await?;
    Ok(ready.len())
}

/// The notices `event` calls for, with their recipients as they stand now.
async fn write_notices<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    desk_email: Option<&str>,
    event: &event::Model,
) -> Result<(), AppError> {
    // Most events call for no e-mail: nothing to read for them.
    if notices_for(&event.kind, true).is_empty() {
        return Ok(());
    }
    let order =
        if event.subject_type == "Order" { order::Entity::find_by_id(event.subject_id).one(db).await? } else { None };
    let site_pack = match &order {
        Some(o) if event.kind == "order.fulfilled" => {
            package::Entity::find_by_id(o.package_id).one(db).await?.is_some_and(|p| p.requires_certiport)
        }
        _ => false,
    };
    let data = crate::service::outbox::data(event);
    let closes = data["windowClosesOn"].as_str().and_then(|d| d.parse().ok());
    for kind in notices_for(&event.kind, site_pack) {
        if stale(kind, event.occurred_at.date_naive(), closes) {
            continue;
        }
        let recipients = recipients(db, kind, event, order.as_ref(), desk_email).await?;
        let status = if recipients.is_empty() { "NO_RECIPIENT" } else { "PENDING" };
        let row = notice::ActiveModel {
            id: NotSet,
            event_id: Set(event.id),
            kind: Set(kind.name().to_owned()),
            organization_id: Set(event.organization_id),
            recipients: Set(serde_json::to_string(&recipients).unwrap_or_else(|_| "[]".into())),
            subject: Set(String::new()),
            status: Set(status.to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            claimed_until: Set(None),
            created_at: Set(now),
            sent_at: Set(None),
            message_id: Set(None),
            last_error: Set(recipients.is_empty().then(|| no_recipient(kind).to_owned())),
        };
        notice::Entity::insert(row)
            .on_conflict(
                sea_orm::sea_query::OnConflict::columns([notice::Column::EventId, notice::Column::Kind])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

fn no_recipient(kind: NoticeKind) -> &'static str {
    match kind.audience() {
        Audience::Desk => "no desk address is configured (LICENSEGRAPH_DESK_EMAIL)",
        Audience::OrderContact => "the order has no notice contact",
        _ => "the organization has no notice addresses (updateOrganization noticeEmails)",
    }
}

/// The organization's notice addresses.
pub async fn notice_emails<C: ConnectionTrait>(db: &C, organization_id: Option<i64>) -> Result<Vec<String>, AppError> {
    let Some(id) = organization_id else { return Ok(vec![]) };
    let org = organization::Entity::find_by_id(id).one(db).await?;
    Ok(org.map(|o| serde_json::from_str(&o.notice_emails).unwrap_or_default()).unwrap_or_default())
}

async fn recipients<C: ConnectionTrait>(
    db: &C,
    kind: NoticeKind,
    event: &event::Model,
    order: Option<&order::Model>,
    desk_email: Option<&str>,
) -> Result<Vec<String>, AppError> {
    Ok(match kind.audience() {
        Audience::OrderContact => order.and_then(|o| o.delivered_to.clone()).into_iter().collect(),
        Audience::Desk => desk_email.map(str::to_owned).into_iter().collect(),
        Audience::OrganizationAdmins => notice_emails(db, event.organization_id).await?,
        Audience::OrganizationAdminsOrAgreementContact => {
            let admins = notice_emails(db, event.organization_id).await?;
            if !admins.is_empty() || event.subject_type != "Agreement" {
                admins
            } else {
                agreement::Entity::find_by_id(event.subject_id)
                    .one(db)
                    .await?
                    .map(|a| a.notice_contact)
                    .into_iter()
                    .collect()
            }
        }
    })
}
