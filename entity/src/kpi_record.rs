//! `kpi_records`: A KPI record backed by an invoice.

use crate::enums::FactReview;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "kpi_records")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub year: i32,
    pub month: i32,
    pub omlp_type: String,
    pub purchase_unit: String,
    pub document_type: String,
    pub invoice_number: String,
    /// The invoice's date: visibility and the renewal window count days.
    pub invoiced_on: Date,
    pub kpi_value: i64,
    pub revenue_cents: i64,
    pub recorded_at: DateTimeUtc,
    /// The desk's review: only a verified fact counts.
    pub review: FactReview,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<DateTimeUtc>,
    pub rejection_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::OrganizationId",
        to = "super::organization::Column::Id"
    )]
    Organization,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
