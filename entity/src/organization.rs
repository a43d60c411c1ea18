//! `organizations`: A customer or partner organization.

use crate::enums::OrganizationKind;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub kind: OrganizationKind,
    pub accredited: bool,
    pub certiport_testing_center: bool,
    #[sea_orm(unique)]
    pub partner_global_account: Option<String>,
    pub merged_into_id: Option<i64>,
    pub created_at: DateTimeUtc,
    /// Where notices to the organization's administrators go (renewal
    /// reminders, expiring codes): a JSON array of e-mail addresses.
    pub notice_emails: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
