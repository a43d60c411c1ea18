//! Issuing codes: the rows fulfilment and membership benefits insert
//! and their ISSUED events.

use chrono::{DateTime, Utc};
use entity::code;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbBackend, IdenStatic, Iterable, Statement};

use crate::{
    domain::code_format::{self},
    error::AppError,
    service::placeholder,
};

/// Where codes come from: an order's fulfilment or a membership's benefits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeSource {
    Order(i64),
    Membership(i64),
}

impl CodeSource {
    /// The column of `codes` naming this kind of source.
    pub(super) fn column(self) -> &'static str {
        match self {
            Self::Order(_) => "order_id",
            Self::Membership(_) => "membership_id",
        }
    }

    pub(super) fn id(self) -> i64 {
        match self {
            Self::Order(id) | Self::Membership(id) => id,
        }
    }

    /// The same kind of source with another id.
    pub fn with_id(self, id: i64) -> Self {
        match self {
            Self::Order(_) => Self::Order(id),
            Self::Membership(_) => Self::Membership(id),
        }
    }

    /// The source of `code`, of this kind.
    pub(super) fn of(self, code: &code::Model) -> Option<Self> {
        match self {
            Self::Order(_) => code.order_id.map(Self::Order),
            Self::Membership(_) => code.membership_id.map(Self::Membership),
        }
    }
}

/// Inserts `count` codes with fresh values, every other column as in
/// `template`, in one statement: the template's columns are bound once and
/// the values arrive as one JSON array that the database unnests (SQLite
/// `json_each`, PostgreSQL `json_array_elements_text`), in order, so ids
/// follow it. A value collision (100 random bits: never expected) violates
/// `codes_value_key` and fails the statement.
/// A multi-row INSERT bound 17 parameters per code, which SQLite's
/// fulfilment of 100 000 codes spent most of its time on. Every bulk issue
/// goes through here: order fulfilment and membership benefits.
pub(crate) async fn insert_codes<C: ConnectionTrait>(
    db: &C,
    template: &code::ActiveModel,
    count: u64,
) -> Result<(), AppError> {
    let values =
        (0..count).map(|_| code_format::generate().map_err(AppError::internal)).collect::<Result<Vec<_>, _>>()?;
    let backend = db.get_database_backend();
    let mut columns = Vec::new();
    let mut params: Vec<sea_orm::Value> = Vec::new();
    for column in code::Column::iter() {
        if matches!(column, code::Column::Id | code::Column::Value) {
            continue;
        }
        if let Some(value) = template.get(column).into_value() {
            columns.push(column.as_str());
            params.push(value);
        }
    }
    let list = serde_json::to_string(&values).map_err(|e| AppError::internal(format!("code values as JSON: {e}")))?;
    params.push(list.into());
    let list = placeholder(backend, params.len());
    let source = match backend {
        DbBackend::Postgres => format!("json_array_elements_text({list}::json) AS list(value)"),
        _ => format!("json_each({list}) AS list"),
    };
    let bound: Vec<String> = (1..params.len()).map(|n| placeholder(backend, n)).collect();
    let sql = format!(
        "INSERT INTO codes ({}, value) SELECT {}, list.value FROM {source}",
        columns.join(", "),
        bound.join(", ")
    );
    db.execute_raw(Statement::from_sql_and_values(backend, sql, params)).await?;
    Ok(())
}

/// One `ISSUED` event per code of `source`, in a single INSERT ... SELECT.
pub(crate) async fn issue_events<C: ConnectionTrait>(
    db: &C,
    source: CodeSource,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<(), AppError> {
    let backend = db.get_database_backend();
    let p = |n| placeholder(backend, n);
    // An order is fulfilled once, so all its codes are new; a membership
    // gains codes more than once, so only those without an event are.
    let (detail, only_new) = match source {
        CodeSource::Order(id) => (format!("fulfilment of order {id}"), ""),
        CodeSource::Membership(id) => (
            format!("benefit of membership {id}"),
            " AND NOT EXISTS (SELECT 1 FROM code_events e WHERE e.code_id = codes.id)",
        ),
    };
    let sql = format!(
        "INSERT INTO code_events (code_id, at, actor, action, from_status, to_status, detail) \
         SELECT id, {}, {}, 'ISSUE', NULL, 'ISSUED', {} FROM codes WHERE {} = {}{only_new} ORDER BY id",
        p(1),
        p(2),
        p(3),
        source.column(),
        p(4)
    );
    let values: Vec<sea_orm::Value> = vec![now.into(), actor.into(), detail.into(), source.id().into()];
    db.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    Ok(())
}
