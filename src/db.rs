//! Connecting to the database and bringing it up to date.
//!
//! SQLite: the file is created if missing, runs in WAL mode with a busy
//! timeout (concurrent writers wait rather than fail) and enforces foreign
//! keys. An in-memory SQLite database lives in one connection, so its pool
//! holds exactly one that never expires.

use std::{str::FromStr, time::Duration};

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DbErr,
    sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
};

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

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}
