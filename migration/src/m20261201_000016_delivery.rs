//! Delivery of the outbox: code transitions become events,
//! organizations get notice addresses, and the tables of the two outward
//! channels: e-mail `notices` and `webhook_deliveries` to registered
//! `webhook_endpoints`, each attempt of which is kept in `webhook_attempts`.
//!
//! - `code_events` rows of a transition (ASSIGN, REDEEM, ACTIVATE, REPLACE,
//!   REVOKE) are copied into `events` by a trigger, in the statement that
//!   wrote them, so every path that changes a code (the guarded update, the
//!   redemption group, bulk assignment) writes its `code.*` event with it
//!   and none can forget to. The code's value is never copied.
//! - On PostgreSQL a statement-level trigger on `events` sends one
//!   `NOTIFY licensegraph_events` per writing statement, which wakes the
//!   dispatchers and subscriptions of every process; the table stays the
//!   source of truth, so a lost notification loses nothing.
//! - `dispatch_cursors` holds how far the fan-out (events -> deliveries)
//!   has read. It starts after the events that exist now: delivery begins
//!   with the events written after this migration.

use crate::sql::Ddl;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000016_delivery"
    }
}

/// The `code_events` actions that are outbox events, and their types.
const CODE_TYPES: &str = "CASE NEW.action WHEN 'ASSIGN' THEN 'code.assigned' WHEN 'REDEEM' THEN 'code.redeemed' \
     WHEN 'ACTIVATE' THEN 'code.activated' WHEN 'REPLACE' THEN 'code.replaced' WHEN 'REVOKE' THEN 'code.revoked' END";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let ddl = Ddl::new(manager);
        ddl.run(&[
            // Addresses notices to an organization's administrators go to
            // (renewal reminders, expiring codes): a JSON array of e-mails.
            "ALTER TABLE organizations ADD COLUMN notice_emails TEXT NOT NULL DEFAULT '[]'",
            "CREATE TABLE webhook_endpoints (
                id {ID},
                organization_id BIGINT REFERENCES organizations (id),
                url TEXT NOT NULL,
                event_types TEXT NOT NULL,
                description TEXT NOT NULL DEFAULT '',
                secret TEXT NOT NULL,
                previous_secret TEXT,
                previous_secret_until {TS},
                enabled BOOLEAN NOT NULL DEFAULT TRUE,
                disabled_reason TEXT,
                failing_since {TS},
                after_event_id BIGINT NOT NULL,
                created_by TEXT NOT NULL,
                created_at {TS} NOT NULL
            )",
            "CREATE INDEX webhook_endpoints_organization_idx ON webhook_endpoints (organization_id)",
            "CREATE TABLE webhook_deliveries (
                id {ID},
                event_id BIGINT NOT NULL REFERENCES events (id),
                endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints (id),
                status TEXT NOT NULL CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at {TS} NOT NULL,
                claimed_until {TS},
                created_at {TS} NOT NULL,
                delivered_at {TS},
                CONSTRAINT webhook_deliveries_once UNIQUE (event_id, endpoint_id)
            )",
            "CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, next_attempt_at)",
            "CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id)",
            "CREATE TABLE webhook_attempts (
                id {ID},
                delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries (id),
                attempted_at {TS} NOT NULL,
                status_code INTEGER,
                latency_ms BIGINT NOT NULL,
                response_excerpt TEXT NOT NULL DEFAULT '',
                error TEXT
            )",
            "CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id)",
            "CREATE TABLE notices (
                id {ID},
                event_id BIGINT NOT NULL REFERENCES events (id),
                kind TEXT NOT NULL,
                organization_id BIGINT REFERENCES organizations (id),
                recipients TEXT NOT NULL,
                subject TEXT NOT NULL DEFAULT '',
                status TEXT NOT NULL CHECK (status IN ('PENDING', 'SENT', 'FAILED', 'NO_RECIPIENT')),
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at {TS} NOT NULL,
                claimed_until {TS},
                created_at {TS} NOT NULL,
                sent_at {TS},
                message_id TEXT,
                last_error TEXT,
                CONSTRAINT notices_once UNIQUE (event_id, kind)
            )",
            "CREATE INDEX notices_due_idx ON notices (status, next_attempt_at)",
            "CREATE INDEX notices_organization_idx ON notices (organization_id, id)",
            "CREATE TABLE dispatch_cursors (name TEXT PRIMARY KEY, event_id BIGINT NOT NULL)",
            "INSERT INTO dispatch_cursors (name, event_id) SELECT 'fanout', COALESCE(MAX(id), 0) FROM events",
        ])
        .await?;
        let conn = manager.get_connection();
        let copy = format!(
            "INSERT INTO events (type, subject_type, subject_id, organization_id, occurred_at, data) \
             SELECT {CODE_TYPES}, 'Code', NEW.code_id, c.organization_id, NEW.at, {data} \
             FROM codes c WHERE c.id = NEW.code_id AND NEW.action IN ('ASSIGN', 'REDEEM', 'ACTIVATE', 'REPLACE', 'REVOKE')",
            data = match manager.get_database_backend() {
                DbBackend::Postgres => {
                    "json_build_object('status', NEW.to_status, 'previousStatus', NEW.from_status, 'kind', c.kind)::text"
                }
                _ => "json_object('status', NEW.to_status, 'previousStatus', NEW.from_status, 'kind', c.kind)",
            }
        );
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                for statement in [
                    format!(
                        "CREATE FUNCTION code_events_to_outbox() RETURNS trigger LANGUAGE plpgsql AS $$ \
                         BEGIN {copy}; RETURN NULL; END $$"
                    ),
                    "CREATE TRIGGER code_events_to_outbox AFTER INSERT ON code_events \
                     FOR EACH ROW EXECUTE FUNCTION code_events_to_outbox()"
                        .to_owned(),
                    "CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN PERFORM pg_notify('licensegraph_events', ''); RETURN NULL; END $$"
                        .to_owned(),
                    "CREATE TRIGGER events_notify AFTER INSERT ON events \
                     FOR EACH STATEMENT EXECUTE FUNCTION events_notify()"
                        .to_owned(),
                ] {
                    conn.execute_unprepared(&statement).await?;
                }
            }
            _ => {
                conn.execute_unprepared(&format!(
                    "CREATE TRIGGER code_events_to_outbox AFTER INSERT ON code_events BEGIN {copy}; END"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                for statement in [
                    "DROP TRIGGER IF EXISTS code_events_to_outbox ON code_events",
                    "DROP FUNCTION IF EXISTS code_events_to_outbox()",
                    "DROP TRIGGER IF EXISTS events_notify ON events",
                    "DROP FUNCTION IF EXISTS events_notify()",
                ] {
                    conn.execute_unprepared(statement).await?;
                }
            }
            _ => {
                conn.execute_unprepared("DROP TRIGGER IF EXISTS code_events_to_outbox").await?;
            }
        }
        Ddl::new(manager)
            .drop_tables(&[
                "dispatch_cursors",
                "notices",
                "webhook_attempts",
                "webhook_deliveries",
                "webhook_endpoints",
            ])
            .await?;
        conn.execute_unprepared("ALTER TABLE organizations DROP COLUMN notice_emails").await?;
        Ok(())
    }
}
