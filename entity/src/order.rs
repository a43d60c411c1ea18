//! `orders`: An order of a package under an agreement, priced at placement (R-5 .. R-11).

use crate::enums::{OrderStatus, OrderTerm};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub agreement_id: i64,
    pub package_id: i64,
    pub placed_by: String,
    pub placed_by_organization_id: Option<i64>,
    pub quantity: i32,
    pub term: OrderTerm,
    pub status: OrderStatus,
    pub list_price_cents: i64,
    pub months_charged: i32,
    pub discount_percent: i32,
    pub unit_price_cents: i64,
    pub total_cents: i64,
    pub currency: String,
    pub starts_on: Date,
    pub ends_on: Date,
    pub placed_at: DateTimeUtc,
    pub confirmed_at: Option<DateTimeUtc>,
    pub invoiced_at: Option<DateTimeUtc>,
    pub fulfilled_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    pub cancel_reason: Option<String>,
    /// The agreement's notice contact at fulfilment.
    pub delivered_to: Option<String>,
    /// The order carries a term's Imagine Academy grant, priced zero.
    pub granted: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::agreement::Entity",
        from = "Column::AgreementId",
        to = "super::agreement::Column::Id"
    )]
    Agreement,
    #[sea_orm(belongs_to = "super::package::Entity", from = "Column::PackageId", to = "super::package::Column::Id")]
    Package,
}

impl Related<super::agreement::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Agreement.def()
    }
}

impl Related<super::package::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Package.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
