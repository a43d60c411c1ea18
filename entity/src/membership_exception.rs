//! `membership_exceptions`: An administrator's exception reactivating an expired membership.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "membership_exceptions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub membership_id: i64,
    pub granted_by: String,
    pub reason: String,
    pub granted_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::membership::Entity",
        from = "Column::MembershipId",
        to = "super::membership::Column::Id"
    )]
    Membership,
}

impl Related<super::membership::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Membership.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
