//! Organizations, the resellers that serve them, agreements and
//! orders (R-5 .. R-11).

use crate::sql::Ddl;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261121_000002_customers_and_orders"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Ddl::new(manager)
            .run(&[
                // a partner has one partner global account (PGA); after a
                // merge the absorbed organization points at the survivor
                // and gives up its own PGA.
                "CREATE TABLE organizations (
                    id {ID},
                    name TEXT NOT NULL,
                    kind TEXT NOT NULL CONSTRAINT organizations_kind_check
                        CHECK (kind IN ('ENTERPRISE', 'ACADEMIC', 'PARTNER')),
                    accredited BOOLEAN NOT NULL DEFAULT FALSE,
                    certiport_testing_center BOOLEAN NOT NULL DEFAULT FALSE,
                    partner_global_account TEXT
                        CONSTRAINT organizations_partner_global_account_key UNIQUE,
                    merged_into_id BIGINT REFERENCES organizations (id),
                    created_at {TS} NOT NULL,
                    CONSTRAINT organizations_academic_flags_check
                        CHECK (kind = 'ACADEMIC' OR (NOT accredited AND NOT certiport_testing_center)),
                    CONSTRAINT organizations_pga_check
                        CHECK ((kind = 'PARTNER') = (partner_global_account IS NOT NULL OR merged_into_id IS NOT NULL))
                )",
                "CREATE TABLE reseller_customers (
                    reseller_id BIGINT NOT NULL REFERENCES organizations (id),
                    customer_id BIGINT NOT NULL REFERENCES organizations (id),
                    CONSTRAINT reseller_customers_pkey PRIMARY KEY (reseller_id, customer_id),
                    CONSTRAINT reseller_customers_self_check CHECK (reseller_id <> customer_id)
                )",
                "CREATE INDEX reseller_customers_customer_idx ON reseller_customers (customer_id)",
                "CREATE TABLE agreements (
                    id {ID},
                    organization_id BIGINT NOT NULL REFERENCES organizations (id),
                    program_id BIGINT NOT NULL REFERENCES programs (id),
                    number TEXT NOT NULL CONSTRAINT agreements_number_key UNIQUE,
                    starts_on DATE NOT NULL,
                    ends_on DATE NOT NULL,
                    notice_contact TEXT NOT NULL,
                    created_at {TS} NOT NULL,
                    CONSTRAINT agreements_dates_check CHECK (ends_on > starts_on)
                )",
                "CREATE INDEX agreements_organization_idx ON agreements (organization_id, id)",
                // Prices are frozen on the order at placement, with how they
                // were computed: integer cents only.
                "CREATE TABLE orders (
                    id {ID},
                    agreement_id BIGINT NOT NULL REFERENCES agreements (id),
                    package_id BIGINT NOT NULL REFERENCES packages (id),
                    placed_by TEXT NOT NULL,
                    placed_by_organization_id BIGINT REFERENCES organizations (id),
                    quantity INTEGER NOT NULL CONSTRAINT orders_quantity_check CHECK (quantity > 0),
                    term TEXT NOT NULL CONSTRAINT orders_term_check
                        CHECK (term IN ('TWELVE_MONTHS', 'PRORATED')),
                    status TEXT NOT NULL CONSTRAINT orders_status_check
                        CHECK (status IN ('PLACED', 'CONFIRMED', 'INVOICED', 'FULFILLED', 'CANCELLED')),
                    list_price_cents BIGINT NOT NULL CONSTRAINT orders_list_price_check CHECK (list_price_cents >= 0),
                    months_charged INTEGER NOT NULL
                        CONSTRAINT orders_months_check CHECK (months_charged BETWEEN 1 AND 12),
                    discount_percent INTEGER NOT NULL
                        CONSTRAINT orders_discount_check CHECK (discount_percent BETWEEN 0 AND 80),
                    unit_price_cents BIGINT NOT NULL CONSTRAINT orders_unit_price_check CHECK (unit_price_cents >= 0),
                    total_cents BIGINT NOT NULL CONSTRAINT orders_total_check CHECK (total_cents >= 0),
                    currency TEXT NOT NULL,
                    starts_on DATE NOT NULL,
                    ends_on DATE NOT NULL,
                    placed_at {TS} NOT NULL,
                    confirmed_at {TS},
                    invoiced_at {TS},
                    fulfilled_at {TS},
                    cancelled_at {TS},
                    cancel_reason TEXT,
                    CONSTRAINT orders_dates_check CHECK (ends_on >= starts_on)
                )",
                "CREATE INDEX orders_agreement_idx ON orders (agreement_id, id)",
                "CREATE INDEX orders_status_idx ON orders (status, id)",
            ])
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Ddl::new(manager).drop_tables(&["orders", "agreements", "reseller_customers", "organizations"]).await
    }
}
