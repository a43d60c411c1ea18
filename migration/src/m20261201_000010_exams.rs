//! exams are catalog data. `exams` holds each exam's code (as the
//! exam provider spells it, `MO-100`), name, family (`MOS`, `FUNDAMENTALS`,
//! `ROLE_BASED` for exams no voucher family covers) and level, and the
//! instant it retires, if announced: `retires_at` in UTC, and
//! `retirement_offset_minutes`, the UTC offset of the time zone the date
//! was announced in ("2021-01-31 at 11:59 test-centre time"), so the
//! announcement can be shown as it was made.
//!
//! Imagine Academy comes with EES, SCHOOL and OVS_ES agreements
//! (not Select Plus) and covers FUNDAMENTALS exams too. A database seeded
//! before this migration gets the OVS_ES program and its IMAGINE-ACADEMY
//! package is brought to that; a fresh one is seeded so (the statements
//! below find no package and change nothing).

use crate::sql::Ddl;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000010_exams"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Ddl::new(manager)
            .run(&[
                "CREATE TABLE exams (
                    id {ID},
                    code TEXT NOT NULL CONSTRAINT exams_code_unique UNIQUE,
                    name TEXT NOT NULL,
                    family TEXT NOT NULL,
                    level TEXT NOT NULL CONSTRAINT exams_level_check CHECK (level IN ('BASIC', 'ADVANCED')),
                    retires_at {TS},
                    retirement_offset_minutes INTEGER CONSTRAINT exams_offset_check
                        CHECK (retirement_offset_minutes BETWEEN -1080 AND 1080),
                    created_at {TS} NOT NULL,
                    updated_at {TS} NOT NULL,
                    CONSTRAINT exams_retirement_check
                        CHECK ((retires_at IS NULL) = (retirement_offset_minutes IS NULL))
                )",
                "CREATE INDEX exams_family_idx ON exams (family)",
                "INSERT INTO package_exam_families (package_id, family) \
                 SELECT id, 'FUNDAMENTALS' FROM packages WHERE sku = 'IMAGINE-ACADEMY' \
                 ON CONFLICT DO NOTHING",
                "INSERT INTO programs (code, name, kind, description, active, created_at, updated_at) \
                 SELECT 'OVS_ES', 'Open Value Subscription for Education Solutions', 'ACADEMIC', \
                   'Subscription licensing for academic institutions, with Imagine Academy.', TRUE, \
                   created_at, created_at \
                 FROM packages WHERE sku = 'IMAGINE-ACADEMY' \
                 ON CONFLICT DO NOTHING",
                "INSERT INTO package_programs (package_id, program_id) \
                 SELECT p.id, g.id FROM packages p, programs g \
                 WHERE p.sku = 'IMAGINE-ACADEMY' AND g.code IN ('EES', 'SCHOOL', 'OVS_ES') \
                 ON CONFLICT DO NOTHING",
                "DELETE FROM package_programs \
                 WHERE package_id IN (SELECT id FROM packages WHERE sku = 'IMAGINE-ACADEMY') \
                 AND program_id IN (SELECT id FROM programs WHERE code = 'SELECT_PLUS_EDU')",
            ])
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Ddl::new(manager)
            .run(&[
                "DELETE FROM package_exam_families WHERE family = 'FUNDAMENTALS' \
                 AND package_id IN (SELECT id FROM packages WHERE sku = 'IMAGINE-ACADEMY')",
                "DROP TABLE exams",
            ])
            .await
    }
}
