//! `notices`: one e-mail a notice event calls for: to whom,
//! what, and how its sending went. The message's body is not kept: a
//! delivery e-mail holds code values, which live only in `codes`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notices")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub event_id: i64,
    /// `CODES_DELIVERED`, `SITE_PACK`, `RENEWAL_REMINDER`, ...
    pub kind: String,
    /// The organization it is about, whose administrators may read it.
    pub organization_id: Option<i64>,
    /// A JSON array of addresses.
    pub recipients: String,
    pub subject: String,
    /// `PENDING`, `SENT`, `FAILED` or `NO_RECIPIENT`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub claimed_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    /// The Message-ID it was sent with.
    pub message_id: Option<String>,
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
