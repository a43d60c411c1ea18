//! R-5 (corrected): a prorated order is charged every started month to the
//! agreement's end, more than 12 on a multi-year agreement, so
//! `orders_months_check` allows any number of months from 1.
//!
//! PostgreSQL replaces the constraint. SQLite cannot alter a CHECK; its
//! documented way for loosening one (ALTER TABLE, "other kinds of table
//! schema changes") rewrites the table's stored definition under
//! `writable_schema` and bumps `schema_version`, which touches no row.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000008_prorated_months"
    }
}

async fn set_check(manager: &SchemaManager<'_>, from: &str, to: &str) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    match manager.get_database_backend() {
        DbBackend::Postgres => {
            conn.execute_unprepared(&format!(
                "ALTER TABLE orders DROP CONSTRAINT orders_months_check, \
                 ADD CONSTRAINT orders_months_check CHECK ({to})"
            ))
            .await?;
        }
        _ => {
            let version: i64 = conn
                .query_one_raw(sea_orm::Statement::from_string(DbBackend::Sqlite, "PRAGMA schema_version"))
                .await?
                .ok_or_else(|| DbErr::Custom("no schema_version".into()))?
                .try_get_by_index(0)?;
            // One batch, so one connection of the pool runs all of it.
            conn.execute_unprepared(&format!(
                "PRAGMA writable_schema = ON; \
                 UPDATE sqlite_schema SET sql = replace(sql, 'CHECK ({from})', 'CHECK ({to})') \
                 WHERE type = 'table' AND name = 'orders'; \
                 PRAGMA schema_version = {}; \
                 PRAGMA writable_schema = OFF;",
                version + 1
            ))
            .await?;
            let changed = conn
                .query_one_raw(sea_orm::Statement::from_string(
                    DbBackend::Sqlite,
                    format!(
                        "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'orders' AND instr(sql, 'CHECK ({to})') > 0"
                    ),
                ))
                .await?
                .map(|row| row.try_get_by_index::<i64>(0))
                .transpose()?
                .unwrap_or(0);
            if changed != 1 {
                return Err(DbErr::Custom("the orders table's definition was not found".into()));
            }
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_check(manager, "months_charged BETWEEN 1 AND 12", "months_charged >= 1").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_check(manager, "months_charged >= 1", "months_charged BETWEEN 1 AND 12").await
    }
}
