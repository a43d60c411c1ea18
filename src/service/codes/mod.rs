//! Codes (R-13 .. R-19): listing, and every transition of a code's life.
//!
//! Each transition is a guarded `UPDATE codes SET ... WHERE id = ? AND
//! <the state it was read in>` followed by its event, atomically: on
//! PostgreSQL one statement (see [`guarded`]), on SQLite one transaction
//! whose first statement is that UPDATE (SQLite then queues writers on its
//! lock instead of failing them). Of many concurrent attempts exactly one
//! matches the guard; the others re-read the code and are told why they
//! lost (`ALREADY_REDEEMED`, `ALREADY_ACTIVE`, `NO_ACTIVATIONS_LEFT`...).
//!
//! One file per action: `listing`, `issue`, `use_code`, `replace`,
//! `revoke`, `validate`; what they share (the guarded update, events,
//! refusals) is here.

mod issue;
mod listing;
mod replace;
mod revoke;
mod use_code;
mod validate;

pub use issue::*;
pub use listing::*;
pub use replace::*;
pub use revoke::*;
pub use use_code::*;
pub use validate::*;

use chrono::{DateTime, NaiveDate, Utc};
use entity::{code, code_event, enums::StoredCodeStatus};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QueryTrait, Set, Statement, UpdateMany,
};

use crate::{
    auth::Viewer,
    domain::{
        code_format::{self, Parsed},
        codes::{CodeFacts, effective_status},
    },
    error::{AppError, UserErrorCode},
    service::{Outcome, placeholder, refuse},
};

/// Times a transition re-reads and retries when another writer changed
/// the code between its read and its guarded update.
pub(super) const ATTEMPTS: usize = 3;

fn facts(code: &code::Model, today: NaiveDate) -> CodeFacts {
    CodeFacts {
        kind: code.kind,
        status: effective_status(code.status, code.valid_until, today),
        assignee: code.assignee.clone(),
        activations_total: code.activations_total,
        activations_used: code.activations_used,
    }
}

pub(crate) fn actor(viewer: &Viewer) -> &str {
    viewer.subject.as_deref().unwrap_or("anonymous")
}

/// What a refusal code says, for messages.
pub(super) fn explain(code: UserErrorCode) -> &'static str {
    match code {
        UserErrorCode::Expired => "the code's agreement or subscription has ended (R-18)",
        UserErrorCode::Revoked => "the code was revoked",
        UserErrorCode::Replaced => "the token was replaced (R-15)",
        UserErrorCode::AlreadyRedeemed => "the voucher was already redeemed (R-13)",
        UserErrorCode::NotAssigned => "the code must first be assigned to a person (R-17)",
        UserErrorCode::NotAssignedToYou => "the code is assigned to someone else (R-17)",
        UserErrorCode::NoActivationsLeft => "the product key has no activations left (R-16)",
        UserErrorCode::AlreadyActive => "the code is already activated",
        UserErrorCode::AlreadyAssigned => "the code is already assigned and cannot be reassigned (R-17)",
        UserErrorCode::WrongKind => "this operation does not apply to this kind of code",
        UserErrorCode::NotActive => "the token is not activated",
        UserErrorCode::UnknownCode => "no code has this value",
        UserErrorCode::CheckCharacterMismatch => "the check character does not match: a typo? (R-19)",
        _ => "the code cannot be used",
    }
}

pub(super) fn refuse_code<T>(field: &str, code: UserErrorCode) -> Result<Outcome<T>, AppError> {
    refuse(field, code, explain(code))
}

/// Runs `update` on code `id` if `guard` still holds, and appends the
/// event, atomically. `None` when the code no longer matched.
///
/// PostgreSQL: one statement, `WITH updated AS (UPDATE .. RETURNING *),
/// event AS (INSERT .. SELECT .. FROM updated) SELECT * FROM updated`, so a
/// redemption is one round trip and one commit. SQLite, which has no
/// data-modifying CTE: `UPDATE .. RETURNING *` then the event, in one
/// transaction whose first statement is the UPDATE, taking turns with the
/// process's other writers ([`crate::db::sqlite_writer`]).
pub(super) async fn guarded(
    db: &DatabaseConnection,
    id: i64,
    guard: Condition,
    update: UpdateMany<code::Entity>,
    now: DateTime<Utc>,
    actor: &str,
    action: &str,
    from: StoredCodeStatus,
    detail: Option<String>,
) -> Result<Option<code::Model>, AppError> {
    let update = update.filter(code::Column::Id.eq(id)).filter(guard);
    let backend = db.get_database_backend();
    if backend != DbBackend::Postgres {
        // The writer's turn first: the transaction's first statement (an
        // idempotency key's mark, or the update) takes SQLite's lock.
        let _writer = crate::db::sqlite_writer(db).await;
        let txn = crate::db::begin(db).await?;
        let Some(updated) = update.exec_with_returning(&txn).await?.pop() else {
            return Ok(None);
        };
        record_event(&txn, updated.id, now, actor, action, Some(from), updated.status, detail).await?;
        txn.commit().await?;
        return Ok(Some(updated));
    }
    let built = update.build(backend);
    let mut values = built.values.map(|v| v.0).unwrap_or_default();
    let p = |n: usize| placeholder(backend, n);
    let first = values.len() + 1;
    let sql = format!(
        "WITH updated AS ({} RETURNING *), \
         event AS (INSERT INTO code_events (code_id, at, actor, action, from_status, to_status, detail) \
         SELECT id, {}, {}, {}, {}, status, {} FROM updated) \
         SELECT * FROM updated",
        built.sql,
        p(first),
        p(first + 1),
        p(first + 2),
        p(first + 3),
        p(first + 4)
    );
    values.extend([now.into(), actor.into(), action.into(), from.to_value().into(), detail.into()]);
    let statement = Statement::from_sql_and_values(backend, sql, values);
    if crate::idempotency::claimed() {
        // Under an Idempotency-Key: the key's mark commits with the change.
        let txn = crate::db::begin(db).await?;
        let updated = code::Entity::find().from_raw_sql(statement).one(&txn).await?;
        txn.commit().await?;
        return Ok(updated);
    }
    Ok(code::Entity::find().from_raw_sql(statement).one(db).await?)
}

pub(super) fn still(code: &code::Model, today: NaiveDate) -> Condition {
    Condition::all().add(code::Column::Status.eq(code.status)).add(code::Column::ValidUntil.gte(today))
}

/// Finds the code a typed value names, as the caller may know it: another
/// organization's code is unknown to non-admins.
///
/// The organization is part of the query, not a check on its answer: a
/// value of another organization's code is looked up exactly as an unknown
/// value is, with no row to decode and nothing to check, so it answers in
/// the same time as well as the same words (`validateCode` took 713 against
/// 651 µs when the row was read and then dropped).
async fn by_value(db: &DatabaseConnection, viewer: &Viewer, canonical: &str) -> Result<Option<code::Model>, AppError> {
    let mut select = code::Entity::find().filter(code::Column::Value.eq(canonical));
    if !viewer.is_admin() {
        // No organization (anonymous): an id no row has.
        select = select.filter(code::Column::OrganizationId.eq(viewer.organization_id.unwrap_or(0)));
    }
    Ok(select.one(db).await?)
}

/// Reads a typed value; a refusal when it cannot be a code.
fn canonical(value: &str) -> Result<String, UserErrorCode> {
    match code_format::parse(value) {
        Parsed::Valid(v) => Ok(v),
        Parsed::CheckMismatch => Err(UserErrorCode::CheckCharacterMismatch),
        Parsed::Malformed => Err(UserErrorCode::UnknownCode),
    }
}

/// Appends one event to a code's history.
pub(crate) async fn record_event<C: ConnectionTrait>(
    db: &C,
    code_id: i64,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    from: Option<StoredCodeStatus>,
    to: StoredCodeStatus,
    detail: Option<String>,
) -> Result<(), AppError> {
    code_event::ActiveModel {
        code_id: Set(code_id),
        at: Set(at),
        actor: Set(actor.to_owned()),
        action: Set(action.to_owned()),
        from_status: Set(from.map(|s| s.to_value())),
        to_status: Set(to.to_value()),
        detail: Set(detail),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
