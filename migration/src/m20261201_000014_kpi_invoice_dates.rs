//! a KPI record carries its invoice's date (`invoiced_on`), and the
//! visibility and renewal windows count days. Records made before this
//! migration knew only a month: they are dated the month's first day, which
//! keeps every count they took part in. `year` and `month` stay, written
//! from the date, for readers that group by month.
//!
//! A partner contests a figure, or claims an invoice the desk has not
//! recorded, with a dispute (`kpi_disputes`): the seven fields and the
//! invoice date, optionally naming the record it contests. The desk accepts
//! it (the record is corrected, or created, and counts) or rejects it with a
//! reason.
//!
//! The desk's corrections of a KPI record are kept in `changes`, whose
//! subjects now include `KPI_RECORD` (SQLite cannot alter a CHECK, so there
//! the append-only table is rebuilt, rows, index and triggers included).

use crate::sql::Ddl;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000014_kpi_invoice_dates"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too: the rebuild of `changes` must not
    /// stop between dropping the old table and renaming the new one.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let first_of_month = match manager.get_database_backend() {
            DbBackend::Postgres => "UPDATE kpi_records SET invoiced_on = make_date(year, month, 1)",
            _ => "UPDATE kpi_records SET invoiced_on = printf('%04d-%02d-01', year, month)",
        };
        let ddl = Ddl::new(manager);
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                ddl.run(&[
                    "ALTER TABLE changes DROP CONSTRAINT changes_subject_type_check",
                    "ALTER TABLE changes ADD CONSTRAINT changes_subject_type_check \
                     CHECK (subject_type IN ('ORGANIZATION', 'AGREEMENT', 'KPI_RECORD'))",
                ])
                .await?;
            }
            _ => {
                ddl.run(&[
                    "CREATE TABLE changes_next (
                        id {ID},
                        subject_type TEXT NOT NULL CONSTRAINT changes_subject_type_check
                            CHECK (subject_type IN ('ORGANIZATION', 'AGREEMENT', 'KPI_RECORD')),
                        subject_id BIGINT NOT NULL,
                        field TEXT NOT NULL,
                        old_value TEXT,
                        new_value TEXT,
                        reason TEXT,
                        actor TEXT NOT NULL,
                        at {TS} NOT NULL
                    )",
                    "INSERT INTO changes_next (id, subject_type, subject_id, field, old_value, new_value, reason, actor, at) \
                     SELECT id, subject_type, subject_id, field, old_value, new_value, reason, actor, at FROM changes",
                    "DROP TABLE changes",
                    "ALTER TABLE changes_next RENAME TO changes",
                    "CREATE INDEX changes_subject_idx ON changes (subject_type, subject_id, id)",
                ])
                .await?;
                ddl.append_only("changes").await?;
            }
        }
        ddl.run(&[
            "ALTER TABLE kpi_records ADD COLUMN invoiced_on DATE NOT NULL DEFAULT '2000-01-01'",
            first_of_month,
            "CREATE INDEX kpi_records_invoiced_on_idx ON kpi_records (organization_id, invoiced_on)",
            "CREATE TABLE kpi_disputes (
                    id {ID},
                    organization_id BIGINT NOT NULL REFERENCES organizations (id),
                    record_id BIGINT REFERENCES kpi_records (id),
                    invoiced_on DATE NOT NULL,
                    omlp_type TEXT NOT NULL,
                    purchase_unit TEXT NOT NULL,
                    invoice_number TEXT NOT NULL,
                    kpi_value BIGINT NOT NULL CONSTRAINT kpi_disputes_kpi_value_check CHECK (kpi_value >= 0),
                    revenue_cents BIGINT NOT NULL CONSTRAINT kpi_disputes_revenue_check CHECK (revenue_cents >= 0),
                    explanation TEXT,
                    submitted_by TEXT NOT NULL,
                    submitted_at {TS} NOT NULL,
                    status TEXT NOT NULL DEFAULT 'PENDING' CONSTRAINT kpi_disputes_status_check
                        CHECK (status IN ('PENDING', 'VERIFIED', 'REJECTED')),
                    reviewed_by TEXT,
                    reviewed_at {TS},
                    rejection_reason TEXT,
                    result_record_id BIGINT REFERENCES kpi_records (id)
                )",
            "CREATE INDEX kpi_disputes_organization_idx ON kpi_disputes (organization_id, id)",
        ])
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Ddl::new(manager)
            .run(&[
                "DROP TABLE kpi_disputes",
                "DROP INDEX kpi_records_invoiced_on_idx",
                "ALTER TABLE kpi_records DROP COLUMN invoiced_on",
            ])
            .await
    }
}
