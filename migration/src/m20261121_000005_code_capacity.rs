//! What a pack of an activation-token or product-key package delivers, and
//! where an order's codes were delivered.
//!
//! - `packages.seats_per_token`: the seats each activation token carries
//!   required for `ACTIVATION_TOKEN` packages.
//! - `packages.activations_per_key`: the activations each product key allows
//!   required for `PRODUCT_KEY` packages.
//! - `orders.delivered_to`: the agreement's notice contact at the moment of
//!   fulfilment, kept so the record does not move if the contact does.
//! - `codes (organization_id, status, id)`: the organization-scoped listing
//!   filtered by status stays an index range scan on a million codes.

use crate::sql::Ddl;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261121_000005_code_capacity"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Ddl::new(manager)
            .run(&[
                "ALTER TABLE packages ADD COLUMN seats_per_token INTEGER
                    CONSTRAINT packages_seats_per_token_check CHECK (seats_per_token > 0)",
                "ALTER TABLE packages ADD COLUMN activations_per_key INTEGER
                    CONSTRAINT packages_activations_per_key_check CHECK (activations_per_key > 0)",
                "ALTER TABLE orders ADD COLUMN delivered_to TEXT",
                "CREATE INDEX codes_organization_status_idx ON codes (organization_id, status, id)",
            ])
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Ddl::new(manager)
            .run(&[
                "DROP INDEX codes_organization_status_idx",
                "ALTER TABLE orders DROP COLUMN delivered_to",
                "ALTER TABLE packages DROP COLUMN activations_per_key",
                "ALTER TABLE packages DROP COLUMN seats_per_token",
            ])
            .await
    }
}
