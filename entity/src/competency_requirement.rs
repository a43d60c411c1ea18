//! `competency_requirements`: What a competency level requires; data, editable by admin.

use crate::enums::CompetencyLevel;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "competency_requirements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub competency: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub level: CompetencyLevel,
    pub min_kpi_value: i64,
    pub min_revenue_cents: i64,
    pub min_certified_trainers: i32,
    pub min_passed_exams: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
