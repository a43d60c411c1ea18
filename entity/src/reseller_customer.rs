//! `reseller_customers`: A reseller serving a customer organization.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reseller_customers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub reseller_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub customer_id: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
