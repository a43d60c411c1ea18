//! `kpi_disputes`: A partner's dispute of a KPI figure, or its claim of an
//! invoice the desk has not recorded, waiting for the desk.

use crate::enums::FactReview;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "kpi_disputes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    /// The record contested; `None` claims an invoice not yet recorded.
    pub record_id: Option<i64>,
    pub invoiced_on: Date,
    pub omlp_type: String,
    pub purchase_unit: String,
    pub invoice_number: String,
    pub kpi_value: i64,
    pub revenue_cents: i64,
    pub explanation: Option<String>,
    pub submitted_by: String,
    pub submitted_at: DateTimeUtc,
    /// PENDING until the desk accepts (VERIFIED) or rejects it.
    pub status: FactReview,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<DateTimeUtc>,
    pub rejection_reason: Option<String>,
    /// The record the accepted dispute corrected or created.
    pub result_record_id: Option<i64>,
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
