//! Claims: a dispatcher takes due rows of `notices` or
//! `webhook_deliveries` for itself before sending them, by setting their
//! `claimed_until` in one statement. On PostgreSQL the rows are chosen
//! `FOR UPDATE SKIP LOCKED`, so two processes claiming at once take
//! different rows and never wait on each other; on SQLite the statement
//! takes the process's write turn (one dispatcher per database file).
//!
//! A claim is a lease: a process that dies mid-send leaves rows whose
//! lease runs out, and the next claim takes them again. That is why
//! delivery is at least once, with a stable message id to drop duplicates.
//! A finished send is recorded only under the claim that sent it
//! ([`release_sql`]), so a process whose lease ran out cannot overwrite
//! the outcome of the one that took over.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::{error::AppError, service::placeholder};

/// The two tables claimed this way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    Notices,
    Webhooks,
}

impl Queue {
    fn table(self) -> &'static str {
        match self {
            Self::Notices => "notices",
            Self::Webhooks => "webhook_deliveries",
        }
    }
}

/// A claim on some rows: their ids, and the lease's end (which identifies it).
#[derive(Debug, Clone)]
pub struct Claim {
    pub ids: Vec<i64>,
    pub until: DateTime<Utc>,
}

/// Claims up to `limit` due rows of `queue` for `lease`.
pub async fn claim(
    db: &DatabaseConnection,
    queue: Queue,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u64,
) -> Result<Claim, AppError> {
    let backend = db.get_database_backend();
    let p = |n| placeholder(backend, n);
    // Distinct per claim even within one instant, so a release names its claim.
    let until = now + lease + Duration::microseconds(i64::from(rand::random::<u16>()));
    let skip_locked = if backend == DbBackend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE {table} SET claimed_until = {until} WHERE id IN (SELECT id FROM {table} \
         WHERE status = 'PENDING' AND next_attempt_at <= {now} AND (claimed_until IS NULL OR claimed_until < {now}) \
         ORDER BY next_attempt_at, id LIMIT {limit}{skip_locked}) RETURNING id",
        table = queue.table(),
        until = p(1),
        now = p(2),
        limit = p(3),
    );
    let statement = Statement::from_sql_and_values(backend, sql, [until.into(), now.into(), (limit as i64).into()]);
    let _writer = crate::db::sqlite_writer(db).await;
    let rows = db.query_all_raw(statement).await?;
    let mut ids = rows.iter().map(|r| r.try_get_by_index::<i64>(0)).collect::<Result<Vec<_>, _>>()?;
    ids.sort_unstable();
    Ok(Claim { ids, until })
}

/// `WHERE` of a statement that records a send: the row, still under this claim.
pub fn release_sql(backend: DbBackend, id_param: usize, until_param: usize) -> String {
    format!("id = {} AND claimed_until = {}", placeholder(backend, id_param), placeholder(backend, until_param))
}
