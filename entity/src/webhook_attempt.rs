//! `webhook_attempts`: every HTTP attempt of a delivery, as it went.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub delivery_id: i64,
    pub attempted_at: DateTimeUtc,
    /// The response's status; `None` when none came (refused, timed out).
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    /// The start of the response body.
    pub response_excerpt: String,
    /// Why no response came, or why it was not accepted.
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
