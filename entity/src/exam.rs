//! `exams`: An exam of the catalog: code, name, family, level and, once announced, when it retires.

use crate::enums::CertificationLevel;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "exams")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub code: String,
    pub name: String,
    pub family: String,
    pub level: CertificationLevel,
    /// The retirement instant, in UTC.
    pub retires_at: Option<DateTimeUtc>,
    /// The UTC offset, in minutes, of the time zone the retirement was announced in.
    pub retirement_offset_minutes: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
