//! State several server processes on one database share, kept in it
//! rather than in each process's memory:
//!
//! - `attempt_budgets`: how many code attempts by value a subject
//!   made in a one-minute window, counted by every process in one
//!   statement (an upsert returning the count). Used on PostgreSQL; an
//!   SQLite database is served by one process, which counts in memory.
//!   On PostgreSQL the table is UNLOGGED: a transaction that writes only
//!   unlogged rows commits without waiting for the WAL to reach the disk,
//!   and one subject's attempts all update one row, each waiting for the
//!   previous one's commit (logged, that cost redemption two thirds of its
//!   throughput in `bench/outbox.py`'s one-learner load). A crash of the
//!   database server empties it: the budgets of that minute start again.
//! - `instance_settings`: values generated once for the whole deployment,
//!   such as the development JWT secret when none is configured, so that
//!   every process on the database accepts the others' tokens.

use crate::sql::Ddl;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000017_shared_state"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let ddl = Ddl::new(manager);
        ddl.run(&[
            "CREATE TABLE attempt_budgets (
                    subject TEXT NOT NULL,
                    minute BIGINT NOT NULL,
                    attempts INTEGER NOT NULL,
                    CONSTRAINT attempt_budgets_pkey PRIMARY KEY (subject, minute)
                )",
            "CREATE INDEX attempt_budgets_minute_idx ON attempt_budgets (minute)",
            "CREATE TABLE instance_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        ])
        .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager.get_connection().execute_unprepared("ALTER TABLE attempt_budgets SET UNLOGGED").await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Ddl::new(manager).drop_tables(&["instance_settings", "attempt_budgets"]).await
    }
}
