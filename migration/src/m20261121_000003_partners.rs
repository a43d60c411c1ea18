//! Partner memberships (R-21 .. R-27), their reactivation exceptions,
//! trainers and certifications, requirements per competency and
//! level, KPI records, account merges and directory
//! listings.

use crate::sql::Ddl;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261121_000003_partners"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Ddl::new(manager)
            .run(&[
                // The anniversary is derived from purchased_on and the number of
                // renewals, never stored, so a 29 February purchase comes back to
                // 29 February in leap years.
                "CREATE TABLE memberships (
                    id {ID},
                    organization_id BIGINT NOT NULL REFERENCES organizations (id),
                    partner_global_account TEXT NOT NULL,
                    offer TEXT NOT NULL CONSTRAINT memberships_offer_check
                        CHECK (offer IN ('ACTION_PACK', 'LEARNING_ACTION_PACK', 'COMPETENCY')),
                    level TEXT CONSTRAINT memberships_level_check CHECK (level IN ('SILVER', 'GOLD')),
                    competency TEXT,
                    learning_option BOOLEAN NOT NULL DEFAULT FALSE,
                    purchased_on DATE NOT NULL,
                    renewals INTEGER NOT NULL DEFAULT 0
                        CONSTRAINT memberships_renewals_check CHECK (renewals >= 0),
                    upgraded_from_id BIGINT REFERENCES memberships (id),
                    upgrade_discount BOOLEAN NOT NULL DEFAULT FALSE,
                    ended_on DATE,
                    ended_reason TEXT,
                    created_at {TS} NOT NULL,
                    CONSTRAINT memberships_competency_check
                        CHECK ((offer = 'COMPETENCY') = (level IS NOT NULL AND competency IS NOT NULL))
                )",
                // one ACTION_PACK per partner global account, enforced by
                // the database so that two concurrent enrolments cannot both win.
                "CREATE UNIQUE INDEX memberships_one_action_pack_key ON memberships (partner_global_account)
                    WHERE offer = 'ACTION_PACK' AND ended_on IS NULL",
                "CREATE INDEX memberships_organization_idx ON memberships (organization_id, id)",
                "CREATE TABLE membership_exceptions (
                    id {ID},
                    membership_id BIGINT NOT NULL REFERENCES memberships (id),
                    granted_by TEXT NOT NULL,
                    reason TEXT NOT NULL CONSTRAINT membership_exceptions_reason_check CHECK (length(reason) > 0),
                    granted_at {TS} NOT NULL
                )",
                "CREATE INDEX membership_exceptions_membership_idx ON membership_exceptions (membership_id, id)",
                "CREATE TABLE certified_trainers (
                    id {ID},
                    organization_id BIGINT NOT NULL REFERENCES organizations (id),
                    name TEXT NOT NULL,
                    mct_id TEXT NOT NULL,
                    added_at {TS} NOT NULL,
                    CONSTRAINT certified_trainers_mct_key UNIQUE (organization_id, mct_id)
                )",
                "CREATE TABLE partner_certifications (
                    id {ID},
                    organization_id BIGINT NOT NULL REFERENCES organizations (id),
                    person TEXT NOT NULL,
                    exam TEXT NOT NULL,
                    passed_on DATE NOT NULL,
                    CONSTRAINT partner_certifications_key UNIQUE (organization_id, person, exam)
                )",
                "CREATE TABLE competency_requirements (
                    competency TEXT NOT NULL,
                    level TEXT NOT NULL CONSTRAINT competency_requirements_level_check
                        CHECK (level IN ('SILVER', 'GOLD')),
                    min_kpi_value BIGINT NOT NULL DEFAULT 0,
                    min_revenue_cents BIGINT NOT NULL DEFAULT 0,
                    min_certified_trainers INTEGER NOT NULL DEFAULT 0,
                    min_passed_exams INTEGER NOT NULL DEFAULT 0,
                    CONSTRAINT competency_requirements_pkey PRIMARY KEY (competency, level),
                    CONSTRAINT competency_requirements_values_check CHECK (min_kpi_value >= 0
                        AND min_revenue_cents >= 0 AND min_certified_trainers >= 0 AND min_passed_exams >= 0)
                )",
                // only invoices count, and an invoice is counted once.
                "CREATE TABLE kpi_records (
                    id {ID},
                    organization_id BIGINT NOT NULL REFERENCES organizations (id),
                    year INTEGER NOT NULL CONSTRAINT kpi_records_year_check CHECK (year BETWEEN 2000 AND 9999),
                    month INTEGER NOT NULL CONSTRAINT kpi_records_month_check CHECK (month BETWEEN 1 AND 12),
                    omlp_type TEXT NOT NULL,
                    purchase_unit TEXT NOT NULL,
                    document_type TEXT NOT NULL CONSTRAINT kpi_records_document_type_check
                        CHECK (document_type = 'INVOICE'),
                    invoice_number TEXT NOT NULL,
                    kpi_value BIGINT NOT NULL CONSTRAINT kpi_records_kpi_value_check CHECK (kpi_value >= 0),
                    revenue_cents BIGINT NOT NULL,
                    recorded_at {TS} NOT NULL,
                    CONSTRAINT kpi_records_invoice_key UNIQUE (organization_id, invoice_number)
                )",
                "CREATE INDEX kpi_records_period_idx ON kpi_records (organization_id, year, month)",
                "CREATE TABLE partner_merges (
                    id {ID},
                    survivor_id BIGINT NOT NULL REFERENCES organizations (id),
                    merged_id BIGINT NOT NULL REFERENCES organizations (id)
                        CONSTRAINT partner_merges_merged_key UNIQUE,
                    merged_by TEXT NOT NULL,
                    merged_at {TS} NOT NULL,
                    summary TEXT NOT NULL,
                    CONSTRAINT partner_merges_self_check CHECK (survivor_id <> merged_id)
                )",
                "CREATE TABLE directory_listings (
                    id {ID},
                    organization_id BIGINT NOT NULL REFERENCES organizations (id),
                    display_name TEXT NOT NULL
                        CONSTRAINT directory_listings_name_check CHECK (length(display_name) BETWEEN 1 AND 200),
                    country TEXT NOT NULL CONSTRAINT directory_listings_country_check CHECK (length(country) = 2),
                    homepage_url TEXT NOT NULL
                        CONSTRAINT directory_listings_url_check CHECK (homepage_url LIKE 'https://%'),
                    submitted_on DATE NOT NULL,
                    processing_week_of DATE NOT NULL,
                    visible_from DATE NOT NULL,
                    created_at {TS} NOT NULL
                )",
                "CREATE INDEX directory_listings_organization_idx ON directory_listings (organization_id, id)",
            ])
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Ddl::new(manager)
            .drop_tables(&[
                "directory_listings",
                "partner_merges",
                "kpi_records",
                "competency_requirements",
                "partner_certifications",
                "certified_trainers",
                "membership_exceptions",
                "memberships",
            ])
            .await
    }
}
