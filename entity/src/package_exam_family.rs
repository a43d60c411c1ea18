//! `package_exam_families`: An exam family a package covers (e.g. `MOS`, or `MTA+MCE`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "package_exam_families")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub package_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub family: String,
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
