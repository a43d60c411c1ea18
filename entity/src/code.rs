//! `codes`: A delivered code: a bearer secret (R-13 .. R-19). `value` is never exposed directly.

use crate::enums::{BenefitProduct, CodeKind, StoredCodeStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "codes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: i64,
    pub order_id: Option<i64>,
    pub membership_id: Option<i64>,
    pub kind: CodeKind,
    #[sea_orm(unique)]
    pub value: String,
    pub status: StoredCodeStatus,
    pub valid_until: Date,
    pub assignee: Option<String>,
    pub assigned_at: Option<DateTimeUtc>,
    pub redeemed_at: Option<DateTimeUtc>,
    pub exam: Option<String>,
    pub seats: Option<i32>,
    pub activations_total: Option<i32>,
    pub activations_used: i32,
    pub tenant: Option<String>,
    pub activated_at: Option<DateTimeUtc>,
    #[sea_orm(unique)]
    pub replaces_id: Option<i64>,
    pub created_at: DateTimeUtc,
    /// The product a membership's benefit code licenses.
    pub product: Option<BenefitProduct>,
    /// Part of its membership's core benefits package.
    pub core_benefit: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::OrganizationId",
        to = "super::organization::Column::Id"
    )]
    Organization,
    #[sea_orm(belongs_to = "super::order::Entity", from = "Column::OrderId", to = "super::order::Column::Id")]
    Order,
    #[sea_orm(
        belongs_to = "super::membership::Entity",
        from = "Column::MembershipId",
        to = "super::membership::Column::Id"
    )]
    Membership,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::order::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Order.def()
    }
}

impl Related<super::membership::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Membership.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
