//! Database migrations for licensegraph. One file per change; a migration is
//! never edited after it lands.
//!
//! Migrations are written as explicit DDL through [`sql::Ddl`], which papers
//! over the few differences between SQLite and PostgreSQL (identity columns,
//! timestamp type, triggers). Every constraint is named so that the service
//! layer can turn a violation into a typed user error (see `src/error.rs`).

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_catalog;
mod m20261121_000002_customers_and_orders;
mod m20261121_000003_partners;
mod m20261121_000004_codes;
mod m20261121_000005_code_capacity;
mod m20261121_000006_membership_benefits;
mod m20261130_000007_idempotency_keys;
mod m20261130_000008_prorated_months;
pub mod m20261130_000009_people_lowercase;
mod m20261201_000010_exams;
mod m20261201_000011_books;
mod m20261201_000012_fact_review;
mod m20261201_000013_directory_review;
mod m20261201_000014_kpi_invoice_dates;
mod m20261201_000015_outbox;
mod m20261201_000016_delivery;
mod m20261201_000017_shared_state;
mod m20261201_000018_outbox_per_statement;
mod m20261201_000019_events_without_organization_lock;
mod m20261201_000020_events_partial_dedupe;
mod m20261201_000021_code_events_own_event;
mod sql;

/// Runs every migration in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_catalog::Migration),
            Box::new(m20261121_000002_customers_and_orders::Migration),
            Box::new(m20261121_000003_partners::Migration),
            Box::new(m20261121_000004_codes::Migration),
            Box::new(m20261121_000005_code_capacity::Migration),
            Box::new(m20261121_000006_membership_benefits::Migration),
            Box::new(m20261130_000007_idempotency_keys::Migration),
            Box::new(m20261130_000008_prorated_months::Migration),
            Box::new(m20261130_000009_people_lowercase::Migration),
            Box::new(m20261201_000010_exams::Migration),
            Box::new(m20261201_000011_books::Migration),
            Box::new(m20261201_000012_fact_review::Migration),
            Box::new(m20261201_000013_directory_review::Migration),
            Box::new(m20261201_000014_kpi_invoice_dates::Migration),
            Box::new(m20261201_000015_outbox::Migration),
            Box::new(m20261201_000016_delivery::Migration),
            Box::new(m20261201_000017_shared_state::Migration),
            Box::new(m20261201_000018_outbox_per_statement::Migration),
            Box::new(m20261201_000019_events_without_organization_lock::Migration),
            Box::new(m20261201_000020_events_partial_dedupe::Migration),
            Box::new(m20261201_000021_code_events_own_event::Migration),
        ]
    }
}
