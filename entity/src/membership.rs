//! `memberships`: A partner membership in an offer (R-21 .. R-27).

use crate::enums::{CompetencyLevel, Offer};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "memberships")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub partner_global_account: String,
    pub offer: Offer,
    pub level: Option<CompetencyLevel>,
    pub competency: Option<String>,
    pub learning_option: bool,
    pub purchased_on: Date,
    pub renewals: i32,
    pub upgraded_from_id: Option<i64>,
    pub upgrade_discount: bool,
    pub ended_on: Option<Date>,
    pub ended_reason: Option<String>,
    pub created_at: DateTimeUtc,
    /// Set by a merge: the core benefits end on this day instead of following renewals.
    pub core_benefits_until: Option<Date>,
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
