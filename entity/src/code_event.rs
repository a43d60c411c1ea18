//! `code_events`: One entry of a code's append-only history: who did what, when.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "code_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub code_id: i64,
    pub at: DateTimeUtc,
    pub actor: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub detail: Option<String>,
    /// The outbox event its writer wrote itself, in the same transaction;
    /// `None` when the copy trigger wrote it (or it is not an outbox event).
    pub event_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::code::Entity", from = "Column::CodeId", to = "super::code::Column::Id")]
    Code,
}

impl Related<super::code::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Code.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
