//! `partner_merges`: A merge of one partner account into another.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partner_merges")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub survivor_id: i64,
    #[sea_orm(unique)]
    pub merged_id: i64,
    pub merged_by: String,
    pub merged_at: DateTimeUtc,
    pub summary: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
