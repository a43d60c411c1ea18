//! `packages`: A package sold under one or more programs.

use crate::enums::PackageKind;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "packages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub sku: String,
    pub name: String,
    pub kind: PackageKind,
    pub description: String,
    pub list_price_cents: i64,
    pub currency: String,
    pub vouchers_per_pack: Option<i32>,
    /// Seats each activation token carries.
    pub seats_per_token: Option<i32>,
    /// Activations each product key allows.
    pub activations_per_key: Option<i32>,
    pub requires_accredited: bool,
    pub requires_certiport: bool,
    pub retired: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
