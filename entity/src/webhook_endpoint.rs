//! `webhook_endpoints`: an HTTPS address an organization's administrators
//! (or the desk, with no organization) registered to receive events.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Whose events it receives; `None`: the desk's, every event.
    pub organization_id: Option<i64>,
    pub url: String,
    /// A JSON array of event types; empty: every type.
    pub event_types: String,
    pub description: String,
    /// The signing secret, `whsec_` and base64.
    pub secret: String,
    /// The secret before the last rotation, still signing until `previous_secret_until`.
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<DateTimeUtc>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// When its deliveries started failing without a success since.
    pub failing_since: Option<DateTimeUtc>,
    /// Events after this one are delivered to it.
    pub after_event_id: i64,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
