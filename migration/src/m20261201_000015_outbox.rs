//! The outbox (notices and events): every business event, written in the
//! transaction of the change that caused it, never altered afterwards.
//! Delivery (e-mail, webhooks, subscriptions) reads from here and keeps its
//! own state elsewhere. `organization_id` is the organization the event is
//! about, whose administrators may see it; `data` holds ids and
//! non-secret fields only, as JSON. `dedupe_key` (kind, subject, due day)
//! lets a time-driven event be enqueued once.

use crate::sql::Ddl;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000015_outbox"
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
            "CREATE TABLE events (
                id {ID},
                type TEXT NOT NULL,
                subject_type TEXT NOT NULL,
                subject_id BIGINT NOT NULL,
                organization_id BIGINT REFERENCES organizations (id),
                occurred_at {TS} NOT NULL,
                data TEXT NOT NULL,
                dedupe_key TEXT CONSTRAINT events_dedupe_key UNIQUE
            )",
            "CREATE INDEX events_organization_idx ON events (organization_id, id)",
            "CREATE INDEX events_subject_idx ON events (subject_type, subject_id, id)",
        ])
        .await?;
        ddl.append_only("events").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Ddl::new(manager).drop_tables(&["events"]).await
    }
}
