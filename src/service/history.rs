//! The books' history: every change the desk makes to an
//! organization, an agreement or a KPI record, one row per field, written in the
//! transaction of the change and never altered (`changes` is append-only).

use chrono::{DateTime, Utc};
use entity::change;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::error::AppError;

/// What a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Organization(i64),
    Agreement(i64),
    /// A KPI record the desk corrected.
    KpiRecord(i64),
}

impl Subject {
    fn parts(self) -> (&'static str, i64) {
        match self {
            Self::Organization(id) => ("ORGANIZATION", id),
            Self::Agreement(id) => ("AGREEMENT", id),
            Self::KpiRecord(id) => ("KPI_RECORD", id),
        }
    }
}

/// One field's change, before it is written.
#[derive(Debug, Clone)]
pub struct Change {
    pub field: &'static str,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl Change {
    /// A change of `field`, or `None` when the value stays the same.
    pub fn of<T: ToString + PartialEq>(field: &'static str, from: &T, to: &T) -> Option<Self> {
        (from != to).then(|| Self { field, from: Some(from.to_string()), to: Some(to.to_string()) })
    }
}

/// Writes `changes` of `subject` in the caller's transaction.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    subject: Subject,
    changes: &[Change],
    reason: Option<&str>,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    if changes.is_empty() {
        return Ok(());
    }
    let (subject_type, subject_id) = subject.parts();
    let rows = changes.iter().map(|c| change::ActiveModel {
        subject_type: Set(subject_type.to_owned()),
        subject_id: Set(subject_id),
        field: Set(c.field.to_owned()),
        old_value: Set(c.from.clone()),
        new_value: Set(c.to.clone()),
        reason: Set(reason.map(str::to_owned)),
        actor: Set(actor.to_owned()),
        at: Set(at),
        ..Default::default()
    });
    change::Entity::insert_many(rows).exec_without_returning(db).await?;
    Ok(())
}

/// The most changes one read returns.
pub const MAX_READ: u64 = 100;

/// The latest changes of `subject`, newest first, at most `limit` (and
/// [`MAX_READ`]).
pub async fn of<C: ConnectionTrait>(db: &C, subject: Subject, limit: u64) -> Result<Vec<change::Model>, AppError> {
    let (subject_type, subject_id) = subject.parts();
    Ok(change::Entity::find()
        .filter(change::Column::SubjectType.eq(subject_type))
        .filter(change::Column::SubjectId.eq(subject_id))
        .order_by_desc(change::Column::Id)
        .limit(limit.min(MAX_READ))
        .all(db)
        .await?)
}
