//! people are stored trimmed and lowercase, and compared so. Codes
//! assigned before that keep the case they were typed in; this rewrites
//! each `codes.assignee` to its key, in Rust (SQLite's `lower()` knows
//! ASCII only, PostgreSQL's depends on the collation), a batch of rows at a
//! time. `person_key` must stay the server's `domain::people::person_key`
//! (a test in the server holds the two together).

use sea_orm_migration::{
    prelude::*,
    sea_orm::{DbBackend, Statement},
};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000009_people_lowercase"
    }
}

/// A person as stored: trimmed, lowercase.
pub fn person_key(text: &str) -> String {
    text.trim().to_lowercase()
}

const BATCH: i64 = 10_000;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let backend = manager.get_database_backend();
        let (p1, p2) = if backend == DbBackend::Postgres { ("$1", "$2") } else { ("?1", "?2") };
        let mut after = 0i64;
        loop {
            let select = format!(
                "SELECT id, assignee FROM codes WHERE assignee IS NOT NULL AND id > {p1} ORDER BY id LIMIT {BATCH}"
            );
            let rows = conn.query_all_raw(Statement::from_sql_and_values(backend, select, [after.into()])).await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get_by_index(0)?;
            for row in &rows {
                let (id, assignee): (i64, String) = (row.try_get_by_index(0)?, row.try_get_by_index(1)?);
                let key = person_key(&assignee);
                if key != assignee {
                    let update = format!("UPDATE codes SET assignee = {p1} WHERE id = {p2}");
                    conn.execute_raw(Statement::from_sql_and_values(backend, update, [key.into(), id.into()])).await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The case people were typed in is gone; nothing to restore.
        Ok(())
    }
}
