//! The outbox's once-only key (`events.dedupe_key`) is indexed only where
//! it is set. Only time-driven events carry one; every code transition
//! (most events by far) has none, yet the unique constraint of migration
//! 000015 gave each of them an index entry, inside the single writer's
//! critical section on SQLite: one B-tree insert in four that an event
//! row cost. A partial unique index keeps the rule (one event per key)
//! and skips those rows.
//!
//! SQLite cannot drop a table's constraint, so the table is rebuilt: its
//! rows are copied aside, the table is dropped and created again without
//! the constraint (and without the foreign key on `organization_id`,
//! which PostgreSQL dropped in migration 000019 for the reasons given
//! there), the rows go back with their ids, and the indexes, the
//! append-only triggers and the AUTOINCREMENT counter are restored. The
//! organization and subject indexes come back without their trailing
//! `id`: SQLite ends every index entry with the rowid, which `id` is, so
//! they order alike and each entry is smaller (measured: about 3 % more
//! redemptions a second, in every round). The
//! rows of `webhook_deliveries` and `notices` point at events by id: with
//! `defer_foreign_keys` their keys are checked at the commit, when every
//! event they point at is back.

use crate::sql::Ddl;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000020_events_partial_dedupe"
    }
}

const PARTIAL: &str = "CREATE UNIQUE INDEX events_dedupe_key ON events (dedupe_key) WHERE dedupe_key IS NOT NULL";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let ddl = Ddl::new(manager);
        if manager.get_database_backend() == DbBackend::Postgres {
            return ddl.run(&["ALTER TABLE events DROP CONSTRAINT IF EXISTS events_dedupe_key", PARTIAL]).await;
        }
        ddl.run(&[
            "PRAGMA defer_foreign_keys = ON",
            "CREATE TABLE events_rebuilt AS SELECT * FROM events",
            "CREATE TABLE events_rebuilt_sequence AS SELECT seq FROM sqlite_sequence WHERE name = 'events'",
            "DROP TABLE events",
            "CREATE TABLE events (
                id {ID},
                type TEXT NOT NULL,
                subject_type TEXT NOT NULL,
                subject_id BIGINT NOT NULL,
                organization_id BIGINT,
                occurred_at {TS} NOT NULL,
                data TEXT NOT NULL,
                dedupe_key TEXT
            )",
            "INSERT INTO events (id, type, subject_type, subject_id, organization_id, occurred_at, data, dedupe_key) \
             SELECT id, type, subject_type, subject_id, organization_id, occurred_at, data, dedupe_key \
             FROM events_rebuilt ORDER BY id",
            "DELETE FROM sqlite_sequence WHERE name = 'events'",
            "INSERT INTO sqlite_sequence (name, seq) SELECT 'events', seq FROM events_rebuilt_sequence",
            "DROP TABLE events_rebuilt",
            "DROP TABLE events_rebuilt_sequence",
            PARTIAL,
            // Every SQLite index entry ends with the row's rowid, which `id`
            // is: these order by id as the former `(.., id)` ones did, and
            // store it once instead of twice.
            "CREATE INDEX events_organization_idx ON events (organization_id)",
            "CREATE INDEX events_subject_idx ON events (subject_type, subject_id)",
        ])
        .await?;
        ddl.append_only("events").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let ddl = Ddl::new(manager);
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                ddl.run(&[
                    "DROP INDEX IF EXISTS events_dedupe_key",
                    "ALTER TABLE events ADD CONSTRAINT events_dedupe_key UNIQUE (dedupe_key)",
                ])
                .await
            }
            // The same rule as the constraint, as an index of every row.
            _ => {
                ddl.run(&[
                    "DROP INDEX IF EXISTS events_dedupe_key",
                    "CREATE UNIQUE INDEX events_dedupe_key ON events (dedupe_key)",
                ])
                .await
            }
        }
    }
}
