//! Codes (R-12 .. R-19) and their append-only event history.
//!
//! `EXPIRED` is never stored: expiry is computed from `valid_until` at the
//! moment of the request, so no background job is needed for
//! correctness.

use crate::sql::Ddl;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261121_000004_codes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let ddl = Ddl::new(manager);
        ddl.run(&[
            // A code comes from an order or is a benefit granted by a
            // partner membership.
            "CREATE TABLE codes (
                id {ID},
                organization_id BIGINT NOT NULL REFERENCES organizations (id),
                order_id BIGINT REFERENCES orders (id),
                membership_id BIGINT REFERENCES memberships (id),
                kind TEXT NOT NULL CONSTRAINT codes_kind_check
                    CHECK (kind IN ('EXAM_VOUCHER', 'LIBRARY_ACCESS', 'ACTIVATION_TOKEN',
                                    'PRODUCT_KEY', 'VS_SUBSCRIPTION')),
                value TEXT NOT NULL CONSTRAINT codes_value_key UNIQUE,
                status TEXT NOT NULL CONSTRAINT codes_status_check
                    CHECK (status IN ('ISSUED', 'ASSIGNED', 'REDEEMED', 'ACTIVE', 'REVOKED', 'REPLACED')),
                valid_until DATE NOT NULL,
                assignee TEXT,
                assigned_at {TS},
                redeemed_at {TS},
                exam TEXT,
                seats INTEGER CONSTRAINT codes_seats_check CHECK (seats > 0),
                activations_total INTEGER CONSTRAINT codes_activations_total_check CHECK (activations_total > 0),
                activations_used INTEGER NOT NULL DEFAULT 0,
                tenant TEXT,
                activated_at {TS},
                replaces_id BIGINT REFERENCES codes (id)
                    CONSTRAINT codes_replaces_key UNIQUE,
                created_at {TS} NOT NULL,
                CONSTRAINT codes_source_check CHECK (order_id IS NOT NULL OR membership_id IS NOT NULL),
                CONSTRAINT codes_activations_check
                    CHECK (activations_used >= 0 AND (activations_total IS NULL OR activations_used <= activations_total)),
                CONSTRAINT codes_assignee_check CHECK (status <> 'ASSIGNED' OR assignee IS NOT NULL)
            )",
            "CREATE INDEX codes_organization_idx ON codes (organization_id, id)",
            "CREATE INDEX codes_order_idx ON codes (order_id, id)",
            "CREATE INDEX codes_membership_idx ON codes (membership_id, id)",
            "CREATE INDEX codes_assignee_idx ON codes (assignee, id)",
            "CREATE INDEX codes_valid_until_idx ON codes (valid_until, id)",
            "CREATE TABLE code_events (
                id {ID},
                code_id BIGINT NOT NULL REFERENCES codes (id),
                at {TS} NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                from_status TEXT,
                to_status TEXT NOT NULL,
                detail TEXT
            )",
            "CREATE INDEX code_events_code_idx ON code_events (code_id, id)",
        ])
        .await?;
        ddl.append_only("code_events").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Ddl::new(manager).drop_tables(&["code_events", "codes"]).await
    }
}
