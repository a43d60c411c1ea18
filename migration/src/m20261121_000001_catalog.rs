//! The catalog: programs and packages with their programs, exam
//! families, solution areas and volume discount tiers.

use crate::sql::Ddl;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261121_000001_catalog"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Ddl::new(manager)
            .run(&[
                "CREATE TABLE programs (
                    id {ID},
                    code TEXT NOT NULL CONSTRAINT programs_code_key UNIQUE,
                    name TEXT NOT NULL,
                    kind TEXT NOT NULL CONSTRAINT programs_kind_check
                        CHECK (kind IN ('VOLUME', 'ACADEMIC', 'PARTNER')),
                    description TEXT NOT NULL DEFAULT '',
                    active BOOLEAN NOT NULL DEFAULT TRUE,
                    created_at {TS} NOT NULL,
                    updated_at {TS} NOT NULL
                )",
                "CREATE TABLE packages (
                    id {ID},
                    sku TEXT NOT NULL CONSTRAINT packages_sku_key UNIQUE,
                    name TEXT NOT NULL,
                    kind TEXT NOT NULL CONSTRAINT packages_kind_check
                        CHECK (kind IN ('LIBRARY_ACCESS', 'EXAM_VOUCHER', 'SUBSCRIPTION',
                                        'ACTIVATION_TOKEN', 'PRODUCT_KEY')),
                    description TEXT NOT NULL DEFAULT '',
                    list_price_cents BIGINT NOT NULL
                        CONSTRAINT packages_price_check CHECK (list_price_cents >= 0),
                    currency TEXT NOT NULL DEFAULT 'USD'
                        CONSTRAINT packages_currency_check CHECK (length(currency) = 3),
                    vouchers_per_pack INTEGER
                        CONSTRAINT packages_vouchers_check CHECK (vouchers_per_pack > 0),
                    requires_accredited BOOLEAN NOT NULL DEFAULT FALSE,
                    requires_certiport BOOLEAN NOT NULL DEFAULT FALSE,
                    retired BOOLEAN NOT NULL DEFAULT FALSE,
                    created_at {TS} NOT NULL,
                    updated_at {TS} NOT NULL
                )",
                "CREATE TABLE package_programs (
                    package_id BIGINT NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
                    program_id BIGINT NOT NULL REFERENCES programs (id),
                    CONSTRAINT package_programs_pkey PRIMARY KEY (package_id, program_id)
                )",
                "CREATE INDEX package_programs_program_idx ON package_programs (program_id)",
                "CREATE TABLE package_exam_families (
                    package_id BIGINT NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
                    family TEXT NOT NULL CONSTRAINT package_exam_families_family_check
                        CHECK (length(family) BETWEEN 1 AND 40),
                    CONSTRAINT package_exam_families_pkey PRIMARY KEY (package_id, family)
                )",
                "CREATE TABLE package_solution_areas (
                    package_id BIGINT NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
                    area TEXT NOT NULL CONSTRAINT package_solution_areas_area_check
                        CHECK (area IN ('APPS_AND_INFRASTRUCTURE', 'DATA_AND_AI',
                                        'MODERN_WORKPLACE', 'BUSINESS_APPLICATIONS')),
                    CONSTRAINT package_solution_areas_pkey PRIMARY KEY (package_id, area)
                )",
                "CREATE TABLE discount_tiers (
                    package_id BIGINT NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
                    min_quantity INTEGER NOT NULL
                        CONSTRAINT discount_tiers_min_quantity_check CHECK (min_quantity >= 1),
                    percent_off INTEGER NOT NULL
                        CONSTRAINT discount_tiers_percent_check CHECK (percent_off BETWEEN 0 AND 80),
                    CONSTRAINT discount_tiers_pkey PRIMARY KEY (package_id, min_quantity)
                )",
            ])
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Ddl::new(manager)
            .drop_tables(&[
                "discount_tiers",
                "package_solution_areas",
                "package_exam_families",
                "package_programs",
                "packages",
                "programs",
            ])
            .await
    }
}
