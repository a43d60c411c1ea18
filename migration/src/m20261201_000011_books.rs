//! the desk keeps its books current, and every change is history.
//! `changes` is append-only: one row per changed field of an organization
//! or an agreement, with the value before and after, who changed it, when,
//! and why (a renewal, a correction).
//!
//! Imagine Academy is granted with an academic agreement, not sold.
//! `orders.granted` marks the order that carries a term's grant (priced
//! zero), and `orders_one_grant_per_term` holds it to one per agreement
//! term, which a term's first day names. The seeded IMAGINE-ACADEMY
//! package's list price becomes zero on databases seeded before this.

use crate::sql::Ddl;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000011_books"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let ddl = Ddl::new(manager);
        ddl.run(&[
            "CREATE TABLE changes (
                id {ID},
                subject_type TEXT NOT NULL CONSTRAINT changes_subject_type_check
                    CHECK (subject_type IN ('ORGANIZATION', 'AGREEMENT')),
                subject_id BIGINT NOT NULL,
                field TEXT NOT NULL,
                old_value TEXT,
                new_value TEXT,
                reason TEXT,
                actor TEXT NOT NULL,
                at {TS} NOT NULL
            )",
            "CREATE INDEX changes_subject_idx ON changes (subject_type, subject_id, id)",
            "ALTER TABLE orders ADD COLUMN granted BOOLEAN NOT NULL DEFAULT FALSE",
            "CREATE UNIQUE INDEX orders_one_grant_per_term ON orders (agreement_id, starts_on) WHERE granted",
            "UPDATE packages SET list_price_cents = 0 WHERE sku = 'IMAGINE-ACADEMY'",
        ])
        .await?;
        ddl.append_only("changes").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Ddl::new(manager)
            .run(&[
                "DROP INDEX orders_one_grant_per_term",
                "ALTER TABLE orders DROP COLUMN granted",
                "DROP TABLE changes",
            ])
            .await
    }
}
