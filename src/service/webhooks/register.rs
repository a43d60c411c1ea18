//! Registering an endpoint, rotating its secret and changing it: the
//! checks on its URL, types and description, and the writes.

use chrono::{DateTime, Duration, Utc};
use entity::webhook_endpoint;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Set};

use super::{
    DEFAULT_ROTATION_HOURS, MAX_DESCRIPTION, MAX_EVENT_TYPES, MAX_PER_ORGANIZATION, NewEndpoint, WithSecret, find,
    manages,
};
use crate::{
    auth::Viewer,
    dispatch::signature,
    domain::webhook_urls::{self, UrlPolicy, UrlRefusal},
    error::{AppError, UserError, UserErrorCode},
    service::{Outcome, outbox, refuse},
};

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
