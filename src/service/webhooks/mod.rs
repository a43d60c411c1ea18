//! Webhook endpoints (Standard Webhooks): registering one, rotating its
//! secret, turning it off and on, and queueing deliveries again
//! (`redeliverEvent`, `replayEvents`). Sending is the dispatcher's
//! ([`crate::dispatch::webhooks`]).
//!
//! An endpoint belongs to an organization, whose customer or partner
//! administrators manage it, and receives only events about that
//! organization; the desk's endpoints (no organization) receive
//! every event. Another organization's endpoint is not found.

mod queue;
mod reads;
mod register;

use entity::{event, webhook_endpoint};
use sea_orm::{Condition, DatabaseConnection, EntityTrait, QueryFilter};

pub use queue::{queue, redeliver, replay};
pub use reads::{attempts_of, deliveries_of, events_by_ids};
pub use register::{EndpointChange, create, rotate, update};

use crate::{
    auth::{Role, Viewer},
    error::AppError,
    service::scope,
};

/// Event types one endpoint may name.
pub const MAX_EVENT_TYPES: usize = 40;
/// The longest description.
pub const MAX_DESCRIPTION: usize = 500;
/// Hours a rotated-out secret keeps signing when the caller names none.
pub const DEFAULT_ROTATION_HOURS: i64 = 24;
/// The most endpoints one organization (or the desk) registers.
pub const MAX_PER_ORGANIZATION: u64 = 20;
/// The most endpoints `webhookEndpoints` lists.
pub const MAX_LISTED: u64 = 100;
/// The most events one replay queues.
pub const MAX_REPLAY: u64 = 10_000;

/// A new endpoint, as asked for.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    pub organization_id: Option<i64>,
    pub url: String,
    pub event_types: Vec<String>,
    pub description: Option<String>,
}

/// An endpoint with its secret: what registering and rotating answer, once.
#[derive(Debug, Clone)]
pub struct WithSecret {
    pub endpoint: webhook_endpoint::Model,
    pub secret: String,
}

/// Endpoints the viewer manages.
pub fn endpoints_scope(viewer: &Viewer) -> Condition {
    scope::events(viewer, webhook_endpoint::Column::OrganizationId)
}

/// Whether the viewer may manage endpoints of `organization` (`None`: the desk's).
pub(super) fn manages(viewer: &Viewer, organization: Option<i64>) -> bool {
    viewer.is_admin()
        || (organization.is_some()
            && viewer.organization_id == organization
            && (viewer.has(Role::CustomerAdmin) || viewer.has(Role::PartnerAdmin)))
}

/// The event types of an endpoint, as stored.
pub fn event_types(endpoint: &webhook_endpoint::Model) -> Vec<String> {
    serde_json::from_str(&endpoint.event_types).unwrap_or_default()
}

/// An endpoint the viewer manages, or `None` (another organization's too).
pub async fn find(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<webhook_endpoint::Model>, AppError> {
    Ok(webhook_endpoint::Entity::find_by_id(id).filter(endpoints_scope(viewer)).one(db).await?)
}

/// Whether `endpoint` takes `event`: its organization's (any, for the
/// desk's), of a type it names (any, when it names none).
pub fn takes(endpoint: &webhook_endpoint::Model, types: &[String], event: &event::Model) -> bool {
    let organization = endpoint.organization_id.is_none() || endpoint.organization_id == event.organization_id;
    organization && (types.is_empty() || types.contains(&event.kind))
}
