//! Benefits granted by memberships and what a merge changes.
//!
//! - `codes.product`: the product a benefit code licenses (for example
//!   `VISUAL_STUDIO_PROFESSIONAL`); null for codes delivered by orders.
//! - `codes.core_benefit`: the code belongs to its membership's core
//!   benefits package (R-29: after a merge only the highest achievement's
//!   core package is renewed).
//! - `memberships.core_benefits_until`: set by a merge on every membership
//!   but the highest achievement: its core benefits end with its current
//!   renewal window instead of following renewals.
//!
//! A membership's benefits are found through `codes_membership_idx` (000004).

use crate::sql::Ddl;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261121_000006_membership_benefits"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Ddl::new(manager)
            .run(&[
                "ALTER TABLE codes ADD COLUMN product TEXT CONSTRAINT codes_product_check
                    CHECK (product IN ('VISUAL_STUDIO_PROFESSIONAL', 'VISUAL_STUDIO_ENTERPRISE',
                                       'MICROSOFT_365_E3', 'WINDOWS_SERVER', 'SQL_SERVER'))",
                "ALTER TABLE codes ADD COLUMN core_benefit BOOLEAN NOT NULL DEFAULT FALSE",
                "ALTER TABLE memberships ADD COLUMN core_benefits_until DATE",
            ])
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Ddl::new(manager)
            .run(&[
                "ALTER TABLE memberships DROP COLUMN core_benefits_until",
                "ALTER TABLE codes DROP COLUMN core_benefit",
                "ALTER TABLE codes DROP COLUMN product",
            ])
            .await
    }
}
