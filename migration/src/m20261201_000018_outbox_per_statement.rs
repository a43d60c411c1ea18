//! PostgreSQL: code transitions reach the outbox once per statement rather
//! than once per row. The trigger of migration 000016 ran its function for
//! every `code_events` row, and a redemption group or a bulk assignment
//! writes hundreds in one statement: each row paid a PL/pgSQL call and an
//! `INSERT ... SELECT` of its own (redemption throughput fell by a quarter).
//! Now one statement-level trigger copies the statement's new rows (its
//! transition table) in one `INSERT`, in their order. What is copied is
//! unchanged. SQLite has no statement-level triggers and keeps its row
//! trigger, which runs inside the same statement without a call.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000018_outbox_per_statement"
    }
}

/// The `code_events` actions that are outbox events, and their types.
const CODE_TYPES: &str = "CASE n.action WHEN 'ASSIGN' THEN 'code.assigned' WHEN 'REDEEM' THEN 'code.redeemed' \
     WHEN 'ACTIVATE' THEN 'code.activated' WHEN 'REPLACE' THEN 'code.replaced' WHEN 'REVOKE' THEN 'code.revoked' END";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let conn = manager.get_connection();
        for statement in [
            "DROP TRIGGER IF EXISTS code_events_to_outbox ON code_events".to_owned(),
            format!(
                "CREATE OR REPLACE FUNCTION code_events_to_outbox() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN \
                 INSERT INTO events (type, subject_type, subject_id, organization_id, occurred_at, data) \
                 SELECT {CODE_TYPES}, 'Code', n.code_id, c.organization_id, n.at, \
                 json_build_object('status', n.to_status, 'previousStatus', n.from_status, 'kind', c.kind)::text \
                 FROM new_code_events n JOIN codes c ON c.id = n.code_id \
                 WHERE n.action IN ('ASSIGN', 'REDEEM', 'ACTIVATE', 'REPLACE', 'REVOKE') ORDER BY n.id; \
                 RETURN NULL; END $$"
            ),
            "CREATE TRIGGER code_events_to_outbox AFTER INSERT ON code_events \
             REFERENCING NEW TABLE AS new_code_events FOR EACH STATEMENT EXECUTE FUNCTION code_events_to_outbox()"
                .to_owned(),
        ] {
            conn.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let conn = manager.get_connection();
        for statement in [
            "DROP TRIGGER IF EXISTS code_events_to_outbox ON code_events".to_owned(),
            format!(
                "CREATE OR REPLACE FUNCTION code_events_to_outbox() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN \
                 INSERT INTO events (type, subject_type, subject_id, organization_id, occurred_at, data) \
                 SELECT {}, 'Code', NEW.code_id, c.organization_id, NEW.at, \
                 json_build_object('status', NEW.to_status, 'previousStatus', NEW.from_status, 'kind', c.kind)::text \
                 FROM codes c WHERE c.id = NEW.code_id \
                 AND NEW.action IN ('ASSIGN', 'REDEEM', 'ACTIVATE', 'REPLACE', 'REVOKE'); \
                 RETURN NULL; END $$",
                CODE_TYPES.replace("n.action", "NEW.action")
            ),
            "CREATE TRIGGER code_events_to_outbox AFTER INSERT ON code_events \
             FOR EACH ROW EXECUTE FUNCTION code_events_to_outbox()"
                .to_owned(),
        ] {
            conn.execute_unprepared(&statement).await?;
        }
        Ok(())
    }
}
