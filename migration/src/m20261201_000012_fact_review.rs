//! a fact that earns a benefit counts once the desk has
//! verified it. Certified trainers, passed exams and KPI records carry
//! `review` (`PENDING` when a partner submitted it, `VERIFIED` or
//! `REJECTED` once the desk looked, with who, when and, for a rejection,
//! why). Rows recorded before this migration were accepted under the old
//! rules and stay counted: they are `VERIFIED`. A row written later
//! without a review is `PENDING`, the safe side.

use crate::sql::Ddl;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000012_fact_review"
    }
}

const TABLES: [&str; 3] = ["certified_trainers", "partner_certifications", "kpi_records"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let ddl = Ddl::new(manager);
        for table in TABLES {
            let statements = [
                // A row written without a review waits for the desk...
                format!(
                    "ALTER TABLE {table} ADD COLUMN review TEXT NOT NULL DEFAULT 'PENDING' \
                     CONSTRAINT {table}_review_check CHECK (review IN ('PENDING', 'VERIFIED', 'REJECTED'))"
                ),
                // ...but those accepted before this migration stay counted.
                format!("UPDATE {table} SET review = 'VERIFIED'"),
                format!("ALTER TABLE {table} ADD COLUMN reviewed_by TEXT"),
                format!("ALTER TABLE {table} ADD COLUMN reviewed_at {{TS}}"),
                format!("ALTER TABLE {table} ADD COLUMN rejection_reason TEXT"),
                format!("CREATE INDEX {table}_pending_idx ON {table} (review, id)"),
            ];
            let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
            ddl.run(&refs).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let ddl = Ddl::new(manager);
        for table in TABLES {
            let statements = [
                format!("DROP INDEX {table}_pending_idx"),
                format!("ALTER TABLE {table} DROP COLUMN rejection_reason"),
                format!("ALTER TABLE {table} DROP COLUMN reviewed_at"),
                format!("ALTER TABLE {table} DROP COLUMN reviewed_by"),
                format!("ALTER TABLE {table} DROP COLUMN review"),
            ];
            let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
            ddl.run(&refs).await?;
        }
        Ok(())
    }
}
