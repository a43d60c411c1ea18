//! PostgreSQL: `events.organization_id` no longer carries a foreign key.
//! Checking it locked the organization's row `FOR KEY SHARE` for every
//! event written, and when many transactions of one organization write
//! events at once (its learners redeeming) those shared locks become
//! multixacts on one hot row. The column records whom an event was about,
//! in an append-only log; organizations are never deleted, and every
//! writer takes the id from a row it has just read. SQLite keeps the key:
//! its check is a plain index look-up, and dropping it would mean
//! rebuilding the table.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000019_events_without_organization_lock"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            let conn = manager.get_connection();
            conn.execute_unprepared("ALTER TABLE events DROP CONSTRAINT IF EXISTS events_organization_id_fkey").await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            let conn = manager.get_connection();
            conn.execute_unprepared(
                "ALTER TABLE events ADD CONSTRAINT events_organization_id_fkey \
                 FOREIGN KEY (organization_id) REFERENCES organizations (id)",
            )
            .await?;
        }
        Ok(())
    }
}
