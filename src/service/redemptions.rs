//! Group commit for the common redemption: a person redeeming an exam
//! voucher of their organization that is assigned to them, still
//! `ASSIGNED` and valid today, for an exam of the
//! catalog its package covers that has not retired, which the long
//! way never refuses.
//!
//! Requests hand such a redemption to one committer task and wait. The
//! committer takes whatever has queued up (at most [`MAX_BATCH`]) and
//! redeems it all at once: on PostgreSQL one statement that locks the codes
//! in id order, updates them and writes their `code.redeemed` outbox events
//! and their `REDEEM` history naming those; on SQLite one transaction
//! holding one `UPDATE .. FROM .. RETURNING`, one `INSERT` of their outbox
//! events and one of their history naming those. Either way the copy
//! trigger skips history rows that name their event.
//!
//! With no batch committing, a batch starts at once: a lone request is a
//! batch of one, so nothing waits for company. On PostgreSQL a second batch
//! runs beside a committing one ([`IN_FLIGHT`]) once it has [`COMPANY`]
//! members or the first has committed. Under load, one commit carries many
//! redemptions. Every request is answered only after its batch's commit.
//!
//! The update's guard is that whole case, found by each voucher's value.
//! A request whose voucher the update did not match (a typo, someone
//! else's voucher, an expired one, the same request twice in one batch)
//! gets `None` and then goes the long way in [`super::codes::use_code`],
//! which looks the code up and says why it is refused, or redeems it. If a
//! group's statement fails, each of its requests is committed again alone,
//! so that one caller's input never decides another's outcome. The batch's
//! statements run on the first request's database handle, so that
//! request's statement count includes them.

use std::{
    collections::{HashMap, HashSet},
    ops::RangeInclusive,
    sync::{Arc, LazyLock},
};

use chrono::{DateTime, Utc};
use entity::{
    code,
    enums::{CodeKind, StoredCodeStatus},
};
use sea_orm::{ActiveEnum, ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait, Value};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::{
    error::AppError,
    service::{
        code_rows::{self, Columns},
        exams, outbox, placeholder,
    },
};

/// The most redemptions one commit carries.
pub const MAX_BATCH: usize = 256;

/// Batches committing at once on PostgreSQL (SQLite: one).
pub const IN_FLIGHT: usize = 2;

/// The members a batch gathers before it starts beside a running one.
pub const COMPANY: usize = 16;

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

/// The committer: takes what has queued and commits it. On PostgreSQL up
/// to [`IN_FLIGHT`] batches run at once, each on its own connection: while
/// one waits for its commit to reach the disk, the next is executed (their
/// codes are locked in id order, so they cannot deadlock, and a voucher in
/// both is redeemed by whichever locks its row first; the other sees it
/// redeemed once that one commits, and its request goes the long way). A
/// batch that would run beside another starts once it has [`COMPANY`]
/// members or a running batch has committed, whichever comes first: no
/// later than the next commit, and not as a handful paying a whole
/// statement's overhead. SQLite has one writer, so there one batch commits
/// after another.
async fn commit_batches(mut pending: mpsc::Receiver<Pending>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut batch = Vec::with_capacity(MAX_BATCH);
        if pending.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        if batch[0].db.get_database_backend() != DbBackend::Postgres {
            settle(batch).await;
            continue;
        }
        // Another batch is running: gather company until one commits.
        while batch.len() < COMPANY && slots.available_permits() < IN_FLIGHT - 1 {
            let room = MAX_BATCH - batch.len();
            tokio::select! {
                // Both are cancel-safe: a request is either in `batch` or
                // still queued, and a permit taken here is given back.
                more = pending.recv_many(&mut batch, room) => {
                    if more == 0 {
                        break;
                    }
                }
                _ = slots.acquire() => break,
            }
        }
        tokio::spawn(async move {
            settle(batch).await;
            drop(slot);
        });
    }
}

/// Commits one batch and answers each of its requests.
async fn settle(mut batch: Vec<Pending>) {
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
            // The database is not there: one by one would only wait the
            // pool's timeout once per member.
            for p in batch.drain(..) {
                let _ = p.reply.send(Err(error.clone()));
            }
        }
        Err(error) => {
            // One member's input must never decide another's outcome:
            // answer each by itself (but not one who stopped waiting: it
            // was told the request failed).
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
        code_rows::by_statement(db, postgres_batch(&distinct)?, Columns::All).await?
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
fn requests(vouchers: &[&OwnVoucher]) -> (String, Vec<Value>, impl Fn(usize) -> String) {
    let p = |n: usize| placeholder(DbBackend::Sqlite, n);
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
    let (with, values, p) = requests(vouchers);
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
/// two batches cannot deadlock), redeems them, writes their `code.redeemed`
/// outbox events and their history naming those (so the statement-level
/// copy trigger skips them), returning the codes redeemed. The events read
/// exactly as the trigger would write them.
///
/// Its text is the same for every batch: the requests arrive as one JSON
/// array that PostgreSQL reads as rows (`json_to_recordset`), so the
/// statement is prepared once per connection and its plan kept, where one
/// placeholder per value made a new text, parsed and planned again, for
/// each batch size.
fn postgres_batch(vouchers: &[&OwnVoucher]) -> Result<Statement, AppError> {
    static TEXT: LazyLock<String> = LazyLock::new(|| {
        format!(
            "WITH j AS (SELECT * FROM json_to_recordset($1::json) \
               AS j(v text, s text, o bigint, exam text, at timestamptz, today date)), \
             matched AS (SELECT c.id, j.exam, j.at FROM codes c JOIN j ON c.value = j.v \
               WHERE c.kind = $2 AND c.status = $3 AND c.assignee = j.s \
               AND c.organization_id = j.o AND c.valid_until >= j.today AND {bookable} \
               ORDER BY c.id FOR UPDATE OF c), \
             updated AS (UPDATE codes SET status = $4, redeemed_at = matched.at, exam = matched.exam \
               FROM matched WHERE codes.id = matched.id RETURNING codes.*), \
             outbox AS ({outbox}), \
             history AS (INSERT INTO code_events (code_id, at, actor, action, from_status, to_status, detail, event_id) \
               SELECT u.id, u.redeemed_at, u.assignee, 'REDEEM', $3, u.status, 'exam ' || u.exam, o.id \
               FROM updated u JOIN outbox o ON o.subject_id = u.id) \
             SELECT * FROM updated",
            bookable = bookable(DbBackend::Postgres, "c"),
            outbox = outbox::code_redemptions_postgres("updated", "$3"),
        )
    });
    let rows: Vec<serde_json::Value> = vouchers
        .iter()
        .map(|v| {
            serde_json::json!({
                "v": v.value,
                "s": v.subject,
                "o": v.organization,
                "exam": v.exam,
                // Microseconds, as PostgreSQL keeps them and as a bound
                // instant is sent (truncated, never rounded).
                "at": v.now.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
                "today": v.now.date_naive().to_string(),
            })
        })
        .collect();
    let rows = serde_json::to_string(&rows).map_err(|e| AppError::internal(format!("redemptions as JSON: {e}")))?;
    let values: [Value; 4] = [
        rows.into(),
        CodeKind::ExamVoucher.to_value().into(),
        StoredCodeStatus::Assigned.to_value().into(),
        StoredCodeStatus::Redeemed.to_value().into(),
    ];
    Ok(Statement::from_sql_and_values(DbBackend::Postgres, TEXT.as_str(), values))
}
