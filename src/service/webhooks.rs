//! Webhook endpoints (Standard Webhooks): registering one, rotating its
//! secret, turning it off and on, and queueing deliveries again
//! (`redeliverEvent`, `replayEvents`). Sending is the dispatcher's
//! ([`crate::dispatch::webhooks`]).
//!
//! An endpoint belongs to an organization, whose customer or partner
//! administrators manage it, and receives only events about that
//! organization; the desk's endpoints (no organization) receive
//! every event. Another organization's endpoint is not found.

use chrono::{DateTime, Duration, Utc};
use entity::{event, webhook_attempt, webhook_delivery, webhook_endpoint};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};

use crate::{
    auth::{Role, Viewer},
    dispatch::signature,
    domain::webhook_urls::{self, UrlPolicy, UrlRefusal},
    error::{AppError, UserError, UserErrorCode},
    service::{Outcome, outbox, placeholder, refuse, scope},
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
fn manages(viewer: &Viewer, organization: Option<i64>) -> bool {
    viewer.is_admin()
        || (organization.is_some()
            && viewer.organization_id == organization
            && (viewer.has(Role::CustomerAdmin) || viewer.has(Role::PartnerAdmin)))
}

/// The event types of an endpoint, as stored.
pub fn event_types(endpoint: &webhook_endpoint::Model) -> Vec<String> {
    serde_json::from_str(&endpoint.event_types).unwrap_or_default()
}

fn check_types(types: &[String]) -> Vec<UserError> {
    let mut errors = Vec::new();
    if types.len() > MAX_EVENT_TYPES {
        errors.push(UserError::on("eventTypes", UserErrorCode::OutOfRange, "name at most 40 event types"));
    }
    for t in types.iter().take(MAX_EVENT_TYPES + 1) {
        if !outbox::TYPES.contains(&t.as_str()) {
            let shown: String = t.chars().take(64).collect();
            errors.push(UserError::on(
                "eventTypes",
                UserErrorCode::UnknownEventType,
                format!("`{shown}` is not an event type (see `eventTypes`)"),
            ));
        }
    }
    let mut sorted: Vec<&String> = types.iter().collect();
    sorted.sort();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        errors.push(UserError::on("eventTypes", UserErrorCode::Duplicate, "an event type is named twice"));
    }
    errors
}

fn check_url(url: &str, policy: UrlPolicy) -> Result<String, UserError> {
    webhook_urls::check(url, policy).map(|u| u.to_string()).map_err(|refusal| match refusal {
        UrlRefusal::Malformed => UserError::on(
            "url",
            UserErrorCode::InvalidFormat,
            "an absolute http(s) URL with a host and no user name or fragment",
        ),
        UrlRefusal::NotHttps => UserError::on("url", UserErrorCode::InsecureUrl, "webhook URLs must be https"),
        UrlRefusal::Private => UserError::on(
            "url",
            UserErrorCode::PrivateAddress,
            "the URL points at a loopback, private or internal address \
             (LICENSEGRAPH_WEBHOOK_ALLOW_PRIVATE allows it)",
        ),
    })
}

/// Registers an endpoint; its secret is in the answer and nowhere else.
pub async fn create(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    policy: UrlPolicy,
    new: NewEndpoint,
) -> Result<Outcome<WithSecret>, AppError> {
    let organization_id = new.organization_id.or(if viewer.is_admin() { None } else { viewer.organization_id });
    if !manages(viewer, organization_id) {
        if new.organization_id.is_none() {
            return Err(AppError::forbidden("registering the desk's endpoints is for admins"));
        }
        return refuse("organizationId", UserErrorCode::NotFound, "organization not found");
    }
    let mut errors = check_types(&new.event_types);
    let url = check_url(&new.url, policy).map_err(|e| errors.push(e)).ok();
    let description = new.description.unwrap_or_default().trim().to_owned();
    if description.chars().count() > MAX_DESCRIPTION {
        errors.push(UserError::on("description", UserErrorCode::TooLong, "at most 500 characters"));
    }
    let Some(url) = url.filter(|_| errors.is_empty()) else {
        return Ok(Err(errors));
    };
    if let Some(org) = organization_id {
        let exists = entity::organization::Entity::find_by_id(org).one(db).await?;
        if exists.is_none() {
            return refuse("organizationId", UserErrorCode::NotFound, "organization not found");
        }
    }
    let same_owner = match organization_id {
        Some(org) => webhook_endpoint::Column::OrganizationId.eq(org),
        None => webhook_endpoint::Column::OrganizationId.is_null(),
    };
    let registered = webhook_endpoint::Entity::find().filter(same_owner).count(db).await?;
    if registered >= MAX_PER_ORGANIZATION {
        return refuse("organizationId", UserErrorCode::OutOfRange, "at most 20 endpoints per organization");
    }
    let secret = signature::new_secret();
    let endpoint = webhook_endpoint::ActiveModel {
        organization_id: Set(organization_id),
        url: Set(url),
        event_types: Set(serde_json::to_string(&new.event_types).unwrap_or_else(|_| "[]".into())),
        description: Set(description),
        secret: Set(secret.clone()),
        enabled: Set(true),
        after_event_id: Set(outbox::last_id(db).await?),
        created_by: Set(crate::service::codes::actor(viewer).to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(Ok(WithSecret { endpoint, secret }))
}

/// An endpoint the viewer manages, or `None` (another organization's too).
pub async fn find(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<webhook_endpoint::Model>, AppError> {
    Ok(webhook_endpoint::Entity::find_by_id(id).filter(endpoints_scope(viewer)).one(db).await?)
}

/// A new secret for an endpoint; the old one keeps signing (both
/// signatures are sent) for `keep_hours` (0: not at all), so receivers can
/// switch without losing a message.
pub async fn rotate(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    id: i64,
    keep_hours: Option<i32>,
) -> Result<Outcome<WithSecret>, AppError> {
    let keep = i64::from(keep_hours.unwrap_or(DEFAULT_ROTATION_HOURS as i32));
    if !(0..=168).contains(&keep) {
        return refuse("keepPreviousHours", UserErrorCode::OutOfRange, "0 to 168 hours");
    }
    let Some(endpoint) = find(db, viewer, id).await? else {
        return refuse("id", UserErrorCode::NotFound, "webhook endpoint not found");
    };
    let secret = signature::new_secret();
    let mut active: webhook_endpoint::ActiveModel = endpoint.clone().into();
    active.secret = Set(secret.clone());
    active.previous_secret = Set((keep > 0).then(|| endpoint.secret.clone()));
    active.previous_secret_until = Set((keep > 0).then(|| now + Duration::hours(keep)));
    let endpoint = active.update(db).await?;
    Ok(Ok(WithSecret { endpoint, secret }))
}

/// Changes an endpoint: its URL, types, description, or whether it is on
/// (turning it on again clears the failure that turned it off).
pub async fn update(
    db: &DatabaseConnection,
    viewer: &Viewer,
    policy: UrlPolicy,
    id: i64,
    change: EndpointChange,
) -> Result<Outcome<webhook_endpoint::Model>, AppError> {
    let Some(endpoint) = find(db, viewer, id).await? else {
        return refuse("id", UserErrorCode::NotFound, "webhook endpoint not found");
    };
    let mut errors = change.event_types.as_deref().map(check_types).unwrap_or_default();
    let url = match &change.url {
        Some(url) => check_url(url, policy).map_err(|e| errors.push(e)).ok(),
        None => None,
    };
    let description = change.description.map(|d| d.trim().to_owned());
    if description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
        errors.push(UserError::on("description", UserErrorCode::TooLong, "at most 500 characters"));
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let mut active: webhook_endpoint::ActiveModel = endpoint.into();
    if let Some(url) = url {
        active.url = Set(url);
    }
    if let Some(types) = change.event_types {
        active.event_types = Set(serde_json::to_string(&types).unwrap_or_else(|_| "[]".into()));
    }
    if let Some(description) = description {
        active.description = Set(description);
    }
    if let Some(enabled) = change.enabled {
        active.enabled = Set(enabled);
        active.disabled_reason = Set((!enabled).then(|| "turned off by an administrator".to_owned()));
        active.failing_since = Set(None);
    }
    Ok(Ok(active.update(db).await?))
}

/// What `updateWebhookEndpoint` changes.
#[derive(Debug, Clone, Default)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// Whether `endpoint` takes `event`: its organization's (any, for the
/// desk's), of a type it names (any, when it names none).
pub fn takes(endpoint: &webhook_endpoint::Model, types: &[String], event: &event::Model) -> bool {
    let organization = endpoint.organization_id.is_none() || endpoint.organization_id == event.organization_id;
    organization && (types.is_empty() || types.contains(&event.kind))
}

/// Queues `event_ids` for `endpoint` now: new deliveries, and finished ones
/// pending again (their attempt count restarts; the log keeps the old
/// attempts). A delivery already pending is left as it is. How many are
/// pending now because of this.
pub async fn queue<C: ConnectionTrait>(
    db: &C,
    endpoint_id: i64,
    event_ids: &[i64],
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let backend = db.get_database_backend();
    let p = |n| placeholder(backend, n);
    let mut queued = 0;
    for chunk in event_ids.chunks(400) {
        let mut values: Vec<sea_orm::Value> = vec![endpoint_id.into(), now.into()];
        let rows: Vec<String> = chunk
            .iter()
            .map(|id| {
                values.push((*id).into());
                format!("({}, {}, 'PENDING', 0, {}, {})", p(values.len()), p(1), p(2), p(2))
            })
            .collect();
        let sql = format!(
            "INSERT INTO webhook_deliveries (event_id, endpoint_id, status, attempts, next_attempt_at, created_at) \
             VALUES {} ON CONFLICT (event_id, endpoint_id) DO UPDATE SET status = 'PENDING', attempts = 0, \
             next_attempt_at = excluded.next_attempt_at, claimed_until = NULL \
             WHERE webhook_deliveries.status <> 'PENDING'",
            rows.join(", ")
        );
        queued += db.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?.rows_affected();
    }
    Ok(queued)
}

/// Sends an event again to the viewer's endpoints that take it (or to the
/// one named). Its id (`webhook-id`) is the same, so receivers that kept it
/// know it. How many deliveries were queued.
pub async fn redeliver(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    event_id: i64,
    endpoint_id: Option<i64>,
) -> Result<Outcome<u64>, AppError> {
    let filter = outbox::EventFilter::default();
    let Some(event) = outbox::events_query(viewer, &filter).filter(event::Column::Id.eq(event_id)).one(db).await?
    else {
        return refuse("eventId", UserErrorCode::NotFound, "event not found");
    };
    let mut endpoints = webhook_endpoint::Entity::find().filter(endpoints_scope(viewer));
    if let Some(id) = endpoint_id {
        endpoints = endpoints.filter(webhook_endpoint::Column::Id.eq(id));
    }
    let endpoints = endpoints.all(db).await?;
    if endpoint_id.is_some() && endpoints.is_empty() {
        return refuse("endpointId", UserErrorCode::NotFound, "webhook endpoint not found");
    }
    let mut queued = 0;
    for endpoint in endpoints.iter().filter(|e| takes(e, &event_types(e), &event)) {
        queued += queue(db, endpoint.id, &[event.id], now).await?;
    }
    if endpoint_id.is_some() && queued == 0 && !endpoints.iter().any(|e| takes(e, &event_types(e), &event)) {
        return refuse("endpointId", UserErrorCode::WrongKind, "the endpoint does not take this event (its types)");
    }
    Ok(Ok(queued))
}

/// Sends an endpoint every event it takes that occurred at or after
/// `since` (at most [`MAX_REPLAY`]; narrow `since` for more). How many
/// deliveries were queued.
pub async fn replay(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    endpoint_id: i64,
    since: DateTime<Utc>,
) -> Result<Outcome<u64>, AppError> {
    let Some(endpoint) = find(db, viewer, endpoint_id).await? else {
        return refuse("endpointId", UserErrorCode::NotFound, "webhook endpoint not found");
    };
    let types = event_types(&endpoint);
    let mut select = event::Entity::find().filter(event::Column::OccurredAt.gte(since));
    if let Some(org) = endpoint.organization_id {
        select = select.filter(event::Column::OrganizationId.eq(org));
    }
    if !types.is_empty() {
        select = select.filter(event::Column::Kind.is_in(types.iter().map(String::as_str)));
    }
    let ids: Vec<i64> = select
        .select_only()
        .column(event::Column::Id)
        .order_by_asc(event::Column::Id)
        .limit(MAX_REPLAY + 1)
        .into_tuple()
        .all(db)
        .await?;
    if ids.len() as u64 > MAX_REPLAY {
        return refuse("since", UserErrorCode::OutOfRange, "more than 10 000 events: replay from a later instant");
    }
    let txn = crate::db::begin(db).await?;
    let queued = queue(&txn, endpoint.id, &ids, now).await?;
    txn.commit().await?;
    Ok(Ok(queued))
}

/// The deliveries of an endpoint, newest first.
pub fn deliveries_of(endpoint_id: i64) -> sea_orm::Select<webhook_delivery::Entity> {
    webhook_delivery::Entity::find().filter(webhook_delivery::Column::EndpointId.eq(endpoint_id))
}

/// The attempts of `deliveries`, oldest first.
pub async fn attempts_of(
    db: &DatabaseConnection,
    delivery_ids: &[i64],
) -> Result<Vec<webhook_attempt::Model>, AppError> {
    Ok(webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.is_in(delivery_ids.iter().copied()))
        .order_by_asc(webhook_attempt::Column::Id)
        .all(db)
        .await?)
}
