//! Group commit for the common redemption: a person redeeming an exam
//! voucher of their organization that is assigned to them, still
//! `ASSIGNED` and valid today, for an exam of the
//! catalog its package covers that has not retired, which the long
//! way never refuses.
//!
//! Requests hand such a redemption to one committer task and wait. The
//! committer takes whatever has queued up (at most [`MAX_BATCH`]; it never
//! waits for more) and redeems it all at once: on PostgreSQL one statement
//! that locks the codes in id order, updates them and writes their `REDEEM`
//! events; on SQLite one transaction holding one `UPDATE .. FROM
//! .. RETURNING`, one `INSERT` of their outbox events and one of their
//! history naming those (so SQLite's per-row copy trigger skips them).
//! Every request is answered only after that commit. A lone request is a
//! batch of one, so nothing waits for company; under load, one commit
//! carries many redemptions.
//!
//! The update's guard is that whole case, found by each voucher's value.
//! A request whose voucher the update did not match (a typo, someone
//! else's voucher, an expired one, the same request twice in one batch) gets `None` and then goes the long way in
//! [`super::codes::use_code`], which looks the code up and says why it is
//! refused, or redeems it. If a group's statement fails, each of its
//! requests is committed again alone, so that one caller's input never
//! decides another's outcome. The batch's statements run on the first
//! request's database handle, so that request's statement count includes
//! them.

use std::{
    collections::{HashMap, HashSet},
    ops::RangeInclusive,
};

use chrono::{DateTime, Utc};
use entity::{
    code,
    enums::{CodeKind, StoredCodeStatus},
};
use sea_orm::{ActiveEnum, ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait, Value};
use tokio::sync::{mpsc, oneshot};

use crate::{
    error::AppError,
    service::{
        code_rows::{self, Columns},
        exams, outbox, placeholder,
    },
};

/// The most redemptions one commit carries.
pub const MAX_BATCH: usize = 256;

/// Redemptions waiting for the committer; past this, senders wait.
const QUEUE: usize = 1024;

/// One person's redemption of a voucher assigned to them.
#[derive(Debug, Clone)]
pub struct OwnVoucher {
    /// The voucher's canonical value.
    pub value: String,
    /// The person (token subject), who must be its assignee.
    pub subject: String,
    /// Their organization, which must own it.
    pub organization: i64,
    /// The exam it is redeemed for.
    pub exam: String,
    /// The request's instant; the voucher must be valid on its date.
    pub now: DateTime<Utc>,
}

/// The handle requests redeem through: a queue to the committer task, or,
/// where no tokio runtime runs (seeding, the demo), each redemption
/// committed alone in the caller.
#[derive(Clone)]
pub struct Redemptions {
    queue: Option<mpsc::Sender<Pending>>,
}

struct Pending {
    db: DatabaseConnection,
    voucher: OwnVoucher,
    reply: oneshot::Sender<Result<Option<code::Model>, AppError>>,
}

impl Redemptions {
    /// Starts the committer on the current tokio runtime (outside one,
    /// [`Redemptions::inline`]). It ends when the last handle is dropped.
    pub fn start() -> Self {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Self::inline();
        };
        let (queue, pending) = mpsc::channel(QUEUE);
        runtime.spawn(commit_batches(pending));
        Self { queue: Some(queue) }
    }

    /// Each redemption committed alone, in the caller.
    pub fn inline() -> Self {
        Self { queue: None }
    }

    /// Redeems `voucher` on `db` if the guard matches: the code, now
    /// `REDEEMED`, or `None` when it did not match (nothing was written).
    pub async fn redeem(&self, db: &DatabaseConnection, voucher: OwnVoucher) -> Result<Option<code::Model>, AppError> {
        let alone = |voucher: OwnVoucher| async move { Ok(commit(db, &[voucher]).await?.pop().flatten()) };
        let Some(queue) = &self.queue else {
            return alone(voucher).await;
        };
        let (reply, answer) = oneshot::channel();
        let pending = Pending { db: db.clone(), voucher, reply };
        if let Err(mpsc::error::SendError(pending)) = queue.send(pending).await {
            // The committer has stopped (its runtime is shutting down).
            return alone(pending.voucher).await;
        }
        answer.await.unwrap_or_else(|_| Err(AppError::internal("the redemption committer stopped mid-batch")))
    }
}

/// The committer: takes what has queued, commits it, answers each request.
async fn commit_batches(mut pending: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while pending.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let vouchers: Vec<OwnVoucher> = batch.iter().map(|p| p.voucher.clone()).collect();
        let outcome = commit(&batch[0].db, &vouchers).await;
        crate::metrics::redemption_group(vouchers.len());
        tracing::debug!(redemptions = vouchers.len(), ok = outcome.is_ok(), "redemption batch committed");
        match outcome {
            Ok(redeemed) => {
                for (p, code) in batch.drain(..).zip(redeemed) {
                    let _ = p.reply.send(Ok(code));
                }
            }
            Err(error) if batch.len() == 1 => {
                if let Some(p) = batch.pop() {
                    let _ = p.reply.send(Err(error));
                }
            }
            Err(error @ AppError::Unavailable(_)) => {
                // The database is not there: one by one would only wait
                // the pool's timeout once per member.
                for p in batch.drain(..) {
                    let _ = p.reply.send(Err(error.clone()));
                }
            }
            Err(error) => {
                // One member's input must never decide another's outcome:
                // answer each by itself (but not one who stopped waiting:
                // it was told the request failed).
                tracing::warn!(
                    redemptions = batch.len(),
                    code = error.code(),
                    "a redemption group failed; committing its members one by one"
                );
                for p in batch.drain(..).filter(|p| !p.reply.is_closed()) {
                    let alone = commit(&p.db, std::slice::from_ref(&p.voucher)).await;
                    let _ = p.reply.send(alone.map(|mut one| one.pop().flatten()));
                }
            }
        }
    }
}

/// Redeems every voucher whose guard matches, in one commit; the answers
/// line up with `vouchers`. Requests for one value by different people
/// cannot both match (a code has one organization and one assignee), so
/// all are tried; of identical requests only the first is, and the others
/// get `None` and find out why the long way.
pub(crate) async fn commit(
    db: &DatabaseConnection,
    vouchers: &[OwnVoucher],
) -> Result<Vec<Option<code::Model>>, AppError> {
    let mut seen = HashSet::new();
    let distinct: Vec<&OwnVoucher> =
        vouchers.iter().filter(|v| seen.insert((v.value.as_str(), v.subject.as_str(), v.organization))).collect();
    let backend = db.get_database_backend();
    let redeemed = if backend == DbBackend::Postgres {
        code_rows::by_statement(db, postgres_batch(&distinct), Columns::All).await?
    } else {
        let txn = db.begin().await?;
        let _writer = crate::db::sqlite_writer(db).await;
        let redeemed: Vec<code::Model> = code_rows::by_statement(&txn, sqlite_batch(&distinct), Columns::All).await?;
        if !redeemed.is_empty() {
            // Their outbox events in one statement, then their history
            // naming them, which the per-row copy trigger skips.
            let ids: Vec<i64> = redeemed.iter().map(|c| c.id).collect();
            let events = outbox::code_redemptions(&txn, &ids).await?;
            history(&txn, &ids, events).await?;
        }
        txn.commit().await?;
        redeemed
    };
    let mut by_value: HashMap<String, code::Model> = redeemed.into_iter().map(|c| (c.value.clone(), c)).collect();
    let mut answer = |v: &OwnVoucher| {
        let theirs = by_value.get(&v.value)?;
        let matches =
            theirs.assignee.as_deref() == Some(v.subject.as_str()) && theirs.organization_id == v.organization;
        if matches { by_value.remove(&v.value) } else { None }
    };
    Ok(vouchers.iter().map(&mut answer).collect())
}

/// Writes the `REDEEM` entries of the history of the codes `ids`, which
/// this transaction has just redeemed, as the long way writes them: by the
/// assignee, at the redemption's instant, "exam <exam>". Each names its
/// outbox event among `events` (so the copy trigger skips it), found by
/// the event's own subject; an error, to be rolled back with the rest,
/// unless `events` holds exactly one `code.redeemed` event of each code.
/// One statement whose text does not depend on how many.
async fn history<C: ConnectionTrait>(txn: &C, ids: &[i64], events: RangeInclusive<i64>) -> Result<(), AppError> {
    const SQL: &str = "INSERT INTO code_events (code_id, at, actor, action, from_status, to_status, detail, event_id) \
         SELECT c.id, c.redeemed_at, c.assignee, 'REDEEM', ?, c.status, 'exam ' || c.exam, e.id \
         FROM events e JOIN codes c ON c.id = e.subject_id \
         WHERE e.id BETWEEN ? AND ? AND e.type = 'code.redeemed' AND e.subject_type = 'Code' \
         AND c.id IN (SELECT value FROM json_each(?)) ORDER BY e.id";
    let list = serde_json::to_string(ids).map_err(|e| AppError::internal(e.to_string()))?;
    let values: [Value; 4] =
        [StoredCodeStatus::Assigned.to_value().into(), (*events.start()).into(), (*events.end()).into(), list.into()];
    let written = txn.execute_raw(Statement::from_sql_and_values(DbBackend::Sqlite, SQL, values)).await?;
    // The range holds as many events as `ids` has codes (the insert said
    // so), each about at most one code: all of them matched, or none of
    // this is written.
    if written.rows_affected() != ids.len() as u64 {
        return Err(AppError::internal(format!(
            "{} of {} redemptions found their event among {events:?}",
            written.rows_affected(),
            ids.len()
        )));
    }
    Ok(())
}

/// `j(v, s, o, exam, at, today)`: one row of bind parameters per voucher,
/// then the guard's constants; returns the SQL of the rows and the values.
fn requests(backend: DbBackend, vouchers: &[&OwnVoucher]) -> (String, Vec<Value>, impl Fn(usize) -> String) {
    let p = move |n: usize| placeholder(backend, n);
    let mut values: Vec<Value> = Vec::with_capacity(vouchers.len() * 6 + 3);
    let mut rows = Vec::with_capacity(vouchers.len());
    for v in vouchers {
        let n = values.len();
        rows.push(format!("({}, {}, {}, {}, {}, {})", p(n + 1), p(n + 2), p(n + 3), p(n + 4), p(n + 5), p(n + 6)));
        values.extend([
            v.value.clone().into(),
            v.subject.clone().into(),
            v.organization.into(),
            v.exam.clone().into(),
            v.now.into(),
            v.now.date_naive().into(),
        ]);
    }
    values.extend([
        CodeKind::ExamVoucher.to_value().into(),
        StoredCodeStatus::Assigned.to_value().into(),
        StoredCodeStatus::Redeemed.to_value().into(),
    ]);
    (format!("WITH j(v, s, o, exam, at, today) AS (VALUES {})", rows.join(", ")), values, p)
}

/// The guard's exam part, on the code row `code`: the request's
/// exam is in the catalog, not retired at the request's instant, and a
/// family of the voucher's package covers it. A request it refuses goes
/// the long way, which says which of these failed.
fn bookable(backend: DbBackend, code: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM exams e JOIN orders o ON o.id = {code}.order_id \
           JOIN package_exam_families f ON f.package_id = o.package_id \
           WHERE e.code = j.exam AND (e.retires_at IS NULL OR e.retires_at > j.at) AND {covers})",
        covers = exams::covers_sql(backend, "f.family", "e.family"),
    )
}

/// SQLite: `UPDATE .. FROM` the requests, returning the codes redeemed.
fn sqlite_batch(vouchers: &[&OwnVoucher]) -> Statement {
    let (with, values, p) = requests(DbBackend::Sqlite, vouchers);
    let k = values.len() - 2;
    let sql = format!(
        "{with} UPDATE codes SET status = {redeemed}, redeemed_at = j.at, exam = j.exam FROM j \
         WHERE codes.value = j.v AND codes.kind = {kind} AND codes.status = {assigned} \
         AND codes.assignee = j.s AND codes.organization_id = j.o AND codes.valid_until >= j.today \
         AND {bookable} \
         RETURNING *",
        kind = p(k),
        assigned = p(k + 1),
        redeemed = p(k + 2),
        bookable = bookable(DbBackend::Sqlite, "codes"),
    );
    Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)
}

/// PostgreSQL: one statement that locks the matching codes in id order (so
/// two servers' batches cannot deadlock), redeems them and writes their
/// events, returning the codes redeemed.
fn postgres_batch(vouchers: &[&OwnVoucher]) -> Statement {
    let (with, values, p) = requests(DbBackend::Postgres, vouchers);
    let k = values.len() - 2;
    let sql = format!(
        "{with}, \
         matched AS (SELECT c.id, j.exam, j.at FROM codes c JOIN j ON c.value = j.v \
           WHERE c.kind = {kind} AND c.status = {assigned} AND c.assignee = j.s \
           AND c.organization_id = j.o AND c.valid_until >= j.today AND {bookable} \
           ORDER BY c.id FOR UPDATE OF c), \
         updated AS (UPDATE codes SET status = {redeemed}, redeemed_at = matched.at, exam = matched.exam \
           FROM matched WHERE codes.id = matched.id RETURNING codes.*), \
         event AS (INSERT INTO code_events (code_id, at, actor, action, from_status, to_status, detail) \
           SELECT id, redeemed_at, assignee, 'REDEEM', {assigned}, status, 'exam ' || exam FROM updated) \
         SELECT * FROM updated",
        kind = p(k),
        assigned = p(k + 1),
        redeemed = p(k + 2),
        bookable = bookable(DbBackend::Postgres, "c"),
    );
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}
