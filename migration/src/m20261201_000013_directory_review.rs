//! directory listings are reviewed by hand. `status` is `SUBMITTED`
//! (waiting for the desk), `APPROVED` (visible from its `visible_from`),
//! `REJECTED` (with `rejection_reason`) or `WITHDRAWN` by the partner.
//! Listings submitted before this migration were shown on their schedule
//! under the old rules and stay so: they are `APPROVED`. The public
//! directory reads approved listings by country and id.

use crate::sql::Ddl;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000013_directory_review"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Ddl::new(manager)
            .run(&[
                "ALTER TABLE directory_listings ADD COLUMN status TEXT NOT NULL DEFAULT 'SUBMITTED' \
                 CONSTRAINT directory_listings_status_check \
                 CHECK (status IN ('SUBMITTED', 'APPROVED', 'REJECTED', 'WITHDRAWN'))",
                "UPDATE directory_listings SET status = 'APPROVED'",
                "ALTER TABLE directory_listings ADD COLUMN reviewed_by TEXT",
                "ALTER TABLE directory_listings ADD COLUMN reviewed_at {TS}",
                "ALTER TABLE directory_listings ADD COLUMN rejection_reason TEXT",
                "CREATE INDEX directory_listings_public_idx ON directory_listings (status, country, id)",
            ])
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Ddl::new(manager)
            .run(&[
                "DROP INDEX directory_listings_public_idx",
                "ALTER TABLE directory_listings DROP COLUMN rejection_reason",
                "ALTER TABLE directory_listings DROP COLUMN reviewed_at",
                "ALTER TABLE directory_listings DROP COLUMN reviewed_by",
                "ALTER TABLE directory_listings DROP COLUMN status",
            ])
            .await
    }
}
