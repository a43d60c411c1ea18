//! `Idempotency-Key` (IETF draft-ietf-httpapi-idempotency-key-header): one
//! row per caller and key, shared by every server process on the database.
//!
//! - `state`: `running` (claimed; `lease_until` says how long the claimant
//!   may take), `committed` (the request's first database transaction wrote
//!   its effects: a retry must not run it again), `done` (the answer is
//!   kept in `status`, `content_type`, `body` and replayed to retries).
//! - `request_hash`: SHA-256 of the request body; the same key with another
//!   body is refused.
//! - `expires_at`: rows past it are deleted, and their key may be used again.

use crate::sql::Ddl;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000007_idempotency_keys"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Ddl::new(manager)
            .run(&[
                "CREATE TABLE idempotency_keys (
                    id {ID},
                    caller TEXT NOT NULL,
                    idempotency_key TEXT NOT NULL,
                    request_hash TEXT NOT NULL,
                    state TEXT NOT NULL CONSTRAINT idempotency_keys_state_check
                        CHECK (state IN ('running', 'committed', 'done')),
                    lease_until {TS} NOT NULL,
                    status INTEGER,
                    content_type TEXT,
                    body TEXT,
                    created_at {TS} NOT NULL,
                    expires_at {TS} NOT NULL,
                    CONSTRAINT idempotency_keys_caller_key_unique UNIQUE (caller, idempotency_key)
                )",
                "CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at)",
            ])
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Ddl::new(manager).run(&["DROP TABLE idempotency_keys"]).await
    }
}
