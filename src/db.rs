//! Connecting to the database and bringing it up to date.
//!
//! SQLite: the file is created if missing, runs in WAL mode with a busy
//! timeout (concurrent writers wait rather than fail) and enforces foreign
//! keys. An in-memory SQLite database lives in one connection, so its pool
//! holds exactly one that never expires.

use std::{
    str::FromStr,
    sync::OnceLock,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, TransactionTrait,
    sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
};
use tokio::sync::{Mutex, MutexGuard};

/// The direct PostgreSQL URL of this process's database, when configured.
static DIRECT_URL: OnceLock<String> = OnceLock::new();

/// Names the direct URL (bypassing any connection pooler) for sessions
/// of their own; once per process, before the database is opened.
pub fn set_direct_url(url: &str) {
    if DIRECT_URL.set(url.to_owned()).is_err() {
        tracing::warn!("the direct database URL was already set");
    }
}

/// The direct URL for a session of its own: the configured one, or `url`.
pub fn direct_url(url: &str) -> &str {
    DIRECT_URL.get().map_or(url, String::as_str)
}

/// The configured direct URL, if any.
pub fn configured_direct_url() -> Option<&'static str> {
    DIRECT_URL.get().map(String::as_str)
}

/// The PostgreSQL advisory lock held while a process migrates and seeds:
/// processes starting at once take turns, and the later ones find the work
/// done. (`lgstart!` in ASCII.)
pub const START_LOCK: i64 = 0x6c67_7374_6172_7421;

/// How long a SQLite writer waits for the lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a pool on `url` (`sqlite:` or `postgres:`).
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(5))
        .max_connections(max_connections.max(1));
    if url.starts_with("sqlite:") {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if in_memory {
            options.max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None);
        }
        // Validate the URL here so a typo is an error, not a panic in the closure.
        SqliteConnectOptions::from_str(url).map_err(|e| DbErr::Custom(format!("bad SQLite URL: {e}")))?;
        options.map_sqlx_sqlite_opts(move |opts| {
            let opts = opts
                .create_if_missing(true)
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .synchronous(SqliteSynchronous::Normal);
            if in_memory { opts } else { opts.journal_mode(SqliteJournalMode::Wal) }
        });
    }
    Database::connect(options).await
}

/// A handle on the same pool that counts the statements run through it:
/// a request's `statements=N` log field (an N+1 shows in production logs),
/// and the tests that prove nested lists are batched.
pub fn counting_statements(db: &DatabaseConnection) -> (DatabaseConnection, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let mut counted = db.clone();
    let seen = count.clone();
    counted.set_metric_callback(move |_| {
        seen.fetch_add(1, Ordering::Relaxed);
    });
    (counted, count)
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Begins a transaction for a service. Under an `Idempotency-Key` claim,
/// its first statement marks the key in the same transaction
/// ([`crate::idempotency::mark`]), so the key says whether anything took
/// effect even if the process dies before the answer is kept.
pub async fn begin<C: TransactionTrait>(db: &C) -> Result<C::Transaction, DbErr> {
    let txn = db.begin().await?;
    crate::idempotency::mark(&txn).await?;
    Ok(txn)
}

/// The writers of this process, one at a time, on SQLite.
static SQLITE_WRITER: Mutex<()> = Mutex::const_new(());

/// On SQLite, waits for this process's turn to write and holds it until
/// the guard drops; on PostgreSQL, `None` at once. SQLite lets one writer
/// in at a time and makes the others sleep and retry in its busy handler,
/// in steps that grow to 100 ms: 64 clients redeeming codes spent most of
/// their time asleep (p99 680 ms). Queued on an async lock instead, each
/// writer starts the moment the previous one commits. (One lock for the
/// process: a process serves one database, tests excepted, where it only
/// orders their writes.)
pub async fn sqlite_writer(db: &impl ConnectionTrait) -> Option<MutexGuard<'static, ()>> {
    match db.get_database_backend() {
        DbBackend::Sqlite => Some(SQLITE_WRITER.lock().await),
        _ => None,
    }
}
