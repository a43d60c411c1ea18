//! `events`: the outbox, one row per business event, append-only.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `order.fulfilled`, `membership.renewed`, ...
    #[sea_orm(column_name = "type")]
    pub kind: String,
    pub subject_type: String,
    pub subject_id: i64,
    /// The organization the event is about, whose administrators see it.
    pub organization_id: Option<i64>,
    pub occurred_at: DateTimeUtc,
    /// Ids and non-secret fields, as JSON text.
    pub data: String,
    /// Kind, subject and due day of a time-driven event: enqueued once.
    pub dedupe_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
