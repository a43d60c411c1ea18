//! The shared attempt counter: counts code attempts in `attempt_budgets`
//! for every process on the database, as a group commit.
//!
//! Requests hand their attempt to one counter task and wait. The task takes
//! whatever has queued (at most [`MAX_BATCH`]; it never waits for more),
//! adds each window's attempts in one upsert that returns the windows'
//! totals, and numbers the attempts of a window in the order they queued:
//! a window that went from `t - k` to `t` gave its `k` attempts the numbers
//! `t - k + 1 ..= t`, exactly as `k` upserts one after another would. So
//! one subject's burst costs one statement, not one row lock per attempt,
//! and the budget stays exact across processes. A lone attempt is a batch
//! of one. Once a minute the windows that have ended are swept, in a task
//! of their own, off the attempts' path.

use std::{
    collections::BTreeMap,
    sync::atomic::{AtomicI64, Ordering},
};

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, Value};
use tokio::sync::{mpsc, oneshot};

use crate::error::AppError;

/// The most attempts one statement counts.
const MAX_BATCH: usize = 512;
/// Attempts waiting for the counter; past this, senders wait.
const QUEUE: usize = 2048;

/// Where an attempt's number in its window is sent.
type Reply = oneshot::Sender<Result<u32, AppError>>;

/// A subject's one-minute window.
type Window = (String, i64);

/// One attempt: by `subject`, in `minute`.
struct Attempt {
    subject: String,
    minute: i64,
    reply: Reply,
}

/// The handle attempts are counted through: a queue to the counter task,
/// or, where no tokio runtime runs, each attempt counted in the caller.
pub struct Counter {
    db: DatabaseConnection,
    queue: Option<mpsc::Sender<Attempt>>,
    /// The last minute this process swept ended windows in.
    swept: AtomicI64,
}

impl Counter {
    /// Starts the counter task on the current runtime (outside one, each
    /// attempt is counted alone). The task ends when the handle is dropped.
    pub fn start(db: DatabaseConnection) -> Self {
        let queue = tokio::runtime::Handle::try_current().ok().map(|runtime| {
            let (queue, attempts) = mpsc::channel(QUEUE);
            runtime.spawn(count_batches(db.clone(), attempts));
            queue
        });
        Self { db, queue, swept: AtomicI64::new(i64::MIN) }
    }

    /// Counts one attempt of `subject` in `minute`: its number in that
    /// window, counting every process's attempts.
    pub async fn count(&self, subject: &str, minute: i64) -> Result<u32, AppError> {
        self.sweep(minute);
        let alone = || async {
            let key = (subject.to_owned(), minute);
            let totals = add(&self.db, &[(&key, 1)]).await?;
            totals.get(&key).copied().ok_or_else(|| AppError::internal("no attempt count returned"))
        };
        let Some(queue) = &self.queue else { return alone().await };
        let (reply, answer) = oneshot::channel();
        let attempt = Attempt { subject: subject.to_owned(), minute, reply };
        if queue.send(attempt).await.is_err() {
            // The counter has stopped (its runtime is shutting down).
            return alone().await;
        }
        answer.await.unwrap_or_else(|_| Err(AppError::internal("the attempt counter stopped mid-batch")))
    }

    /// The first time this process counts in a minute, deletes the windows
    /// that ended before it, in a task of its own (outside a runtime, the
    /// next minute's first count on one does).
    fn sweep(&self, minute: i64) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let last = self.swept.load(Ordering::Relaxed);
        if last >= minute || self.swept.compare_exchange(last, minute, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return;
        }
        let db = self.db.clone();
        runtime.spawn(async move {
            let backend = db.get_database_backend();
            let sql = format!("DELETE FROM attempt_budgets WHERE minute < {}", crate::service::placeholder(backend, 1));
            let statement = Statement::from_sql_and_values(backend, sql, [minute.into()]);
            if let Err(error) = db.execute_raw(statement).await {
                tracing::warn!(%error, "cannot sweep ended attempt windows");
            }
        });
    }
}

/// The counter task: takes what has queued, counts it, answers each.
async fn count_batches(db: DatabaseConnection, mut attempts: mpsc::Receiver<Attempt>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while attempts.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // Each window's waiters, in the order they queued; windows in key
        // order, so that concurrent batches (other processes) lock rows in
        // one order and cannot deadlock.
        let mut windows: BTreeMap<Window, Vec<Reply>> = BTreeMap::new();
        for a in batch.drain(..) {
            windows.entry((a.subject, a.minute)).or_default().push(a.reply);
        }
        let added: Vec<_> = windows.iter().map(|(key, waiting)| (key, waiting.len())).collect();
        match add(&db, &added).await {
            Ok(totals) => {
                for (key, waiting) in windows {
                    let total = totals.get(&key).copied();
                    let first = total.map(|t| t.saturating_sub(waiting.len() as u32));
                    for (n, reply) in waiting.into_iter().enumerate() {
                        let number = first
                            .map(|first| first.saturating_add(n as u32 + 1))
                            .ok_or_else(|| AppError::internal("no attempt count returned"));
                        let _ = reply.send(number);
                    }
                }
            }
            Err(error) => {
                for reply in windows.into_values().flatten() {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }
}

/// Adds `k` attempts to each window, in one statement; the windows' totals.
async fn add(db: &DatabaseConnection, windows: &[(&Window, usize)]) -> Result<BTreeMap<Window, u32>, AppError> {
    let backend = db.get_database_backend();
    let p = |n: usize| crate::service::placeholder(backend, n);
    let mut values: Vec<Value> = Vec::with_capacity(windows.len() * 3);
    let mut rows = Vec::with_capacity(windows.len());
    for ((subject, minute), k) in windows {
        let n = values.len();
        rows.push(format!("({}, {}, {})", p(n + 1), p(n + 2), p(n + 3)));
        values.extend([subject.clone().into(), (*minute).into(), i32::try_from(*k).unwrap_or(i32::MAX).into()]);
    }
    let sql = format!(
        "INSERT INTO attempt_budgets (subject, minute, attempts) VALUES {} \
         ON CONFLICT (subject, minute) DO UPDATE SET attempts = attempt_budgets.attempts + excluded.attempts \
         RETURNING subject, minute, attempts",
        rows.join(", ")
    );
    let rows = db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    let mut totals = BTreeMap::new();
    for row in rows {
        let subject: String = row.try_get_by_index(0)?;
        let minute: i64 = row.try_get_by_index(1)?;
        let attempts: i32 = row.try_get_by_index(2)?;
        totals.insert((subject, minute), u32::try_from(attempts).unwrap_or(0));
    }
    Ok(totals)
}
