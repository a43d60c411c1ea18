//! `discount_tiers`: A volume discount tier: from `min_quantity` codes, `percent_off`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "discount_tiers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub package_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub min_quantity: i32,
    pub percent_off: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::package::Entity", from = "Column::PackageId", to = "super::package::Column::Id")]
    Package,
}

impl Related<super::package::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Package.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
