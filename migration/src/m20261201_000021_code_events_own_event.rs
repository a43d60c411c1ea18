//! A code event may name the outbox event its writer wrote itself
//! (`code_events.event_id`); the copy trigger copies only those that name
//! none.
//!
//! On SQLite the trigger of migration 000016 runs once per `code_events`
//! row (SQLite has no statement-level triggers), and each run opens its
//! cursors, reads the code and inserts one event: for the redemption group,
//! which writes hundreds of `REDEEM` rows in one statement, that per-row
//! work was most of what the outbox cost (measured on one SQLite: about
//! 9 µs a row through the trigger, 2 to 4 µs through one `INSERT ..
//! SELECT`). Now the group writes its
//! `code.redeemed` events in one statement of its own, in the same
//! transaction, and then its code events naming them; the trigger's `WHEN`
//! skips those rows before it opens anything.
//!
//! The trigger stays the rule for every other writer: a code event that
//! names no event is copied, so a writer that knows nothing of the outbox
//! still cannot forget its event. Only a writer that names the event it
//! wrote opts out. PostgreSQL's statement-level copy (migration 000018)
//! skips such rows too, so both engines read the column alike.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000021_code_events_own_event"
    }
}

/// The `code_events` actions that are outbox events, and their types, over
/// the row alias `{row}`.
fn code_types(row: &str) -> String {
    format!(
        "CASE {row}.action WHEN 'ASSIGN' THEN 'code.assigned' WHEN 'REDEEM' THEN 'code.redeemed' \
         WHEN 'ACTIVATE' THEN 'code.activated' WHEN 'REPLACE' THEN 'code.replaced' WHEN 'REVOKE' THEN 'code.revoked' END"
    )
}

const ACTIONS: &str = "('ASSIGN', 'REDEEM', 'ACTIVATE', 'REPLACE', 'REVOKE')";

/// SQLite's row trigger, copying the rows `when` admits.
fn sqlite_trigger(when: &str) -> String {
    format!(
        "CREATE TRIGGER code_events_to_outbox AFTER INSERT ON code_events {when}BEGIN \
         INSERT INTO events (type, subject_type, subject_id, organization_id, occurred_at, data) \
         SELECT {types}, 'Code', NEW.code_id, c.organization_id, NEW.at, \
         json_object('status', NEW.to_status, 'previousStatus', NEW.from_status, 'kind', c.kind) \
         FROM codes c WHERE c.id = NEW.code_id AND NEW.action IN {ACTIONS}; END",
        types = code_types("NEW"),
    )
}

/// PostgreSQL's statement-level copy, of the new rows `filter` admits.
fn postgres_function(filter: &str) -> String {
    format!(
        "CREATE OR REPLACE FUNCTION code_events_to_outbox() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN \
         INSERT INTO events (type, subject_type, subject_id, organization_id, occurred_at, data) \
         SELECT {types}, 'Code', n.code_id, c.organization_id, n.at, \
         json_build_object('status', n.to_status, 'previousStatus', n.from_status, 'kind', c.kind)::text \
         FROM new_code_events n JOIN codes c ON c.id = n.code_id \
         WHERE n.action IN {ACTIONS}{filter} ORDER BY n.id; \
         RETURN NULL; END $$",
        types = code_types("n"),
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        // No foreign key: SQLite cannot drop a column that has one, and the
        // one writer that sets it takes the id from its own INSERT.
        conn.execute_unprepared("ALTER TABLE code_events ADD COLUMN event_id BIGINT").await?;
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                conn.execute_unprepared(&postgres_function(" AND n.event_id IS NULL")).await?;
            }
            _ => {
                conn.execute_unprepared("DROP TRIGGER IF EXISTS code_events_to_outbox").await?;
                conn.execute_unprepared(&sqlite_trigger("WHEN NEW.event_id IS NULL ")).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                conn.execute_unprepared(&postgres_function("")).await?;
            }
            _ => {
                conn.execute_unprepared("DROP TRIGGER IF EXISTS code_events_to_outbox").await?;
                conn.execute_unprepared(&sqlite_trigger("")).await?;
            }
        }
        conn.execute_unprepared("ALTER TABLE code_events DROP COLUMN event_id").await?;
        Ok(())
    }
}
