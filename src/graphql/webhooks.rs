//! Webhooks in GraphQL: registering endpoints, rotating their secrets,
//! turning them off and on, their deliveries with every attempt, and
//! sending events again (`redeliverEvent`, `replayEvents`). Customer and
//! partner administrators manage their organization's endpoints; admins
//! (the desk) every one, and endpoints of their own that receive every
//! event.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use entity::{webhook_attempt, webhook_delivery, webhook_endpoint};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::{
    domain::webhook_urls::UrlPolicy,
    error::{AppError, GqlResultExt, UserError},
    graphql::{
        context::ContextExt,
        events::Event,
        loaders::{AttemptsOf, EventId, loader_error},
        relay::{IdConnection, TotalCount, connection, connection_cost, id_arg, input_row, page_request},
        scalars::Instant,
    },
    id,
    service::{
        catalog, page,
        webhooks::{self as service, EndpointChange, NewEndpoint, WithSecret},
    },
};

/// An address events are POSTed to, signed as Standard Webhooks says.
pub struct WebhookEndpoint(pub webhook_endpoint::Model);

/// An address events are POSTed to, signed as Standard Webhooks says.
#[Object]
impl WebhookEndpoint {
    /// Opaque global id.
    async fn id(&self) -> ID {
        ID(id::encode("WebhookEndpoint", self.0.id))
    }

    /// Whose events it receives; null: the desk's endpoint, every event.
    async fn organization_id(&self) -> Option<ID> {
        self.0.organization_id.map(|o| ID(id::encode("Organization", o)))
    }

    /// Where events are POSTed.
    async fn url(&self) -> &str {
        &self.0.url
    }

    /// The event types it receives; empty: every type.
    async fn event_types(&self) -> Vec<String> {
        service::event_types(&self.0)
    }

    /// What it is for, as its administrators wrote.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// Off: nothing is sent (turned off by an administrator, or after
    /// five days of failures; `disabledReason` says which).
    async fn enabled(&self) -> bool {
        self.0.enabled
    }

    /// Why it is off, when it is.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }

    /// Since when its deliveries have failed with no success since.
    async fn failing_since(&self) -> Option<Instant> {
        self.0.failing_since.map(Instant)
    }

    /// Until when the secret before the last rotation still signs (two
    /// signatures are sent); null when it does not.
    async fn previous_secret_valid_until(&self, ctx: &Context<'_>) -> Result<Option<Instant>> {
        let now = ctx.clock().gql()?.now();
        Ok(self.0.previous_secret_until.filter(|until| *until > now).map(Instant))
    }

    /// When it was registered.
    async fn created_at(&self) -> Instant {
        Instant(self.0.created_at)
    }

    /// Its deliveries, newest first, optionally of one status (`PENDING`,
    /// `DELIVERED`, `FAILED`).
    #[graphql(complexity = "connection_cost(first, None, child_complexity)")]
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        status: Option<DeliveryStatus>,
        #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
    ) -> Result<IdConnection<WebhookDelivery>> {
        let request = page_request(first, after, None, None).gql()?;
        let db = ctx.db().gql()?.clone();
        let id = self.0.id;
        let query = move || {
            let mut q = service::deliveries_of(id);
            if let Some(s) = status {
                q = q.filter(webhook_delivery::Column::Status.eq(s.name()));
            }
            q
        };
        let fetched = page::fetch(&db, query(), webhook_delivery::Column::Id, request).await;
        let page = fetched.map_err(AppError::from).gql()?;
        let total = TotalCount::new(move || {
            let (db, q) = (db.clone(), query());
            async move { catalog::count(&db, q).await }
        });
        Ok(connection(page, |d| d.id, WebhookDelivery, total))
    }
}

/// Where a delivery stands.
#[derive(async_graphql::Enum, Copy, Clone, PartialEq, Eq, Debug)]
pub enum DeliveryStatus {
    /// To be sent, or sent again after a failure (`nextAttemptAt`).
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every attempt failed, or the endpoint was turned off.
    Failed,
}

impl DeliveryStatus {
    fn name(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Delivered => "DELIVERED",
            Self::Failed => "FAILED",
        }
    }

    fn of(text: &str) -> Self {
        match text {
            "DELIVERED" => Self::Delivered,
            "FAILED" => Self::Failed,
            _ => Self::Pending,
        }
    }
}

/// One event to one endpoint, with its attempts.
pub struct WebhookDelivery(pub webhook_delivery::Model);

/// One event to one endpoint, with its attempts.
#[Object]
impl WebhookDelivery {
    /// Opaque global id.
    async fn id(&self) -> ID {
        ID(id::encode("WebhookDelivery", self.0.id))
    }

    /// The event sent; its id is the `webhook-id` header.
    async fn event(&self, ctx: &Context<'_>) -> Result<Option<Event>> {
        let found = ctx.loaders().gql()?.load_one(EventId(self.0.event_id)).await.map_err(loader_error)?;
        Ok(found.map(Event))
    }

    /// Pending, delivered or failed.
    async fn status(&self) -> DeliveryStatus {
        DeliveryStatus::of(&self.0.status)
    }

    /// Attempts since it was (last) queued.
    async fn attempt_count(&self) -> i32 {
        self.0.attempts
    }

    /// When it is tried next, while pending.
    async fn next_attempt_at(&self) -> Option<Instant> {
        (self.0.status == "PENDING").then_some(Instant(self.0.next_attempt_at))
    }

    /// When the endpoint answered 2xx.
    async fn delivered_at(&self) -> Option<Instant> {
        self.0.delivered_at.map(Instant)
    }

    /// Every attempt, oldest first (at most the latest 50).
    async fn attempts(&self, ctx: &Context<'_>) -> Result<Vec<WebhookAttempt>> {
        let found = ctx.loaders().gql()?.load_one(AttemptsOf(self.0.id)).await.map_err(loader_error)?;
        Ok(found.unwrap_or_default().into_iter().map(WebhookAttempt::from).collect())
    }
}

/// One HTTP attempt of a delivery.
#[derive(SimpleObject)]
pub struct WebhookAttempt {
    /// When it was sent (the server's clock).
    pub attempted_at: Instant,
    /// The response's status; null when none came.
    pub status_code: Option<i32>,
    /// Milliseconds from sending to the end of the answer (or the failure).
    pub latency_ms: i32,
    /// The start of the response body (at most 512 bytes).
    pub response_excerpt: String,
    /// Why it failed: no answer, a timeout, a refused address, a non-2xx.
    pub error: Option<String>,
}

impl From<webhook_attempt::Model> for WebhookAttempt {
    fn from(a: webhook_attempt::Model) -> Self {
        Self {
            attempted_at: Instant(a.attempted_at),
            status_code: a.status_code,
            latency_ms: i32::try_from(a.latency_ms).unwrap_or(i32::MAX),
            response_excerpt: a.response_excerpt,
            error: a.error,
        }
    }
}

/// Webhook queries.
#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// The endpoints the caller manages (all for admins), oldest first.
    async fn webhook_endpoints(&self, ctx: &Context<'_>, organization_id: Option<ID>) -> Result<Vec<WebhookEndpoint>> {
        let viewer = ctx.signed_in().gql()?;
        let mut q = webhook_endpoint::Entity::find().filter(service::endpoints_scope(viewer));
        if let Some(org) = organization_id {
            let org = id_arg("Organization", "organizationId", &org).gql()?;
            q = q.filter(webhook_endpoint::Column::OrganizationId.eq(org));
        }
        let rows = q
            .order_by_asc(webhook_endpoint::Column::Id)
            .limit(service::MAX_LISTED)
            .all(ctx.db().gql()?)
            .await
            .map_err(AppError::from)
            .gql()?;
        Ok(rows.into_iter().map(WebhookEndpoint).collect())
    }
}

/// Input of `createWebhookEndpoint`.
#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// Whose events it receives: the caller's organization when left out;
    /// admins leaving it out register a desk endpoint (every event).
    pub organization_id: Option<ID>,
    /// https (http only in development); no private addresses in production.
    pub url: String,
    /// Event types it receives (see `eventTypes`); empty: every type.
    pub event_types: Vec<String>,
    /// What it is for (at most 500 characters).
    pub description: Option<String>,
}

/// Result of `createWebhookEndpoint` and `rotateWebhookSecret`.
#[derive(SimpleObject)]
pub struct WebhookSecretPayload {
    /// The endpoint, when registered or rotated.
    pub endpoint: Option<WebhookEndpoint>,
    /// The signing secret (`whsec_...`): shown this once, keep it.
    pub secret: Option<String>,
    /// Why it was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

impl From<crate::service::Outcome<WithSecret>> for WebhookSecretPayload {
    fn from(outcome: crate::service::Outcome<WithSecret>) -> Self {
        match outcome {
            Ok(w) => Self { endpoint: Some(WebhookEndpoint(w.endpoint)), secret: Some(w.secret), user_errors: vec![] },
            Err(user_errors) => Self { endpoint: None, secret: None, user_errors },
        }
    }
}

/// Input of `rotateWebhookSecret`.
#[derive(InputObject)]
pub struct RotateWebhookSecretInput {
    /// The endpoint.
    pub id: ID,
    /// Hours the old secret keeps signing beside the new one, 0..168
    /// (default 24).
    pub keep_previous_hours: Option<i32>,
}

/// Input of `updateWebhookEndpoint`: what is given changes.
#[derive(InputObject)]
pub struct UpdateWebhookEndpointInput {
    /// The endpoint.
    pub id: ID,
    /// A new URL, checked as at registration.
    pub url: Option<String>,
    /// New event types; empty: every type.
    pub event_types: Option<Vec<String>>,
    /// A new description.
    pub description: Option<String>,
    /// Off or on again (on clears the failure that turned it off).
    pub enabled: Option<bool>,
}

/// Result of `updateWebhookEndpoint`.
#[derive(SimpleObject)]
pub struct WebhookEndpointPayload {
    /// The endpoint, when changed.
    pub endpoint: Option<WebhookEndpoint>,
    /// Why it was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

crate::graphql::relay::payload_from_outcome!(WebhookEndpointPayload {
    endpoint: WebhookEndpoint(webhook_endpoint::Model)
});

/// Input of `redeliverEvent`.
#[derive(InputObject)]
pub struct RedeliverEventInput {
    /// The event to send again.
    pub event_id: ID,
    /// Only to this endpoint; to every one of the caller's that takes the
    /// event when left out.
    pub endpoint_id: Option<ID>,
}

/// Input of `replayEvents`.
#[derive(InputObject)]
pub struct ReplayEventsInput {
    /// The endpoint to send them to.
    pub endpoint_id: ID,
    /// Every event the endpoint takes that occurred at or after this.
    pub since: Instant,
}

/// Result of `redeliverEvent` and `replayEvents`.
#[derive(SimpleObject)]
pub struct QueuedPayload {
    /// Deliveries queued (one already pending is not counted).
    pub queued: Option<i32>,
    /// Why it was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

impl From<crate::service::Outcome<u64>> for QueuedPayload {
    fn from(outcome: crate::service::Outcome<u64>) -> Self {
        match outcome {
            Ok(n) => Self { queued: Some(i32::try_from(n).unwrap_or(i32::MAX)), user_errors: vec![] },
            Err(user_errors) => Self { queued: None, user_errors },
        }
    }
}

fn policy(ctx: &Context<'_>) -> UrlPolicy {
    ctx.data_opt::<UrlPolicy>().copied().unwrap_or(UrlPolicy::STRICT)
}

fn manager<'a>(ctx: &'a Context<'_>) -> Result<&'a crate::auth::Viewer> {
    let viewer = ctx.signed_in().gql()?;
    use crate::auth::Role;
    viewer.require_any(&[Role::Admin, Role::CustomerAdmin, Role::PartnerAdmin]).gql()?;
    Ok(viewer)
}

/// Webhook mutations.
#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers an endpoint for the caller's organization (admins: any,
    /// or the desk's). The answer holds its signing secret, once.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookEndpointInput,
    ) -> Result<WebhookSecretPayload> {
        let viewer = manager(ctx)?;
        let organization_id = match &input.organization_id {
            Some(o) => Some(input_row!("Organization", "organizationId", o)),
            None => None,
        };
        let new = NewEndpoint {
            organization_id,
            url: input.url,
            event_types: input.event_types,
            description: input.description,
        };
        let now = ctx.clock().gql()?.now();
        Ok(service::create(ctx.db().gql()?, viewer, now, policy(ctx), new).await.gql()?.into())
    }

    /// A new signing secret; the old one keeps signing beside it for
    /// `keepPreviousHours` so receivers can switch without a gap.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        input: RotateWebhookSecretInput,
    ) -> Result<WebhookSecretPayload> {
        let viewer = manager(ctx)?;
        let id = input_row!("WebhookEndpoint", "id", &input.id);
        let now = ctx.clock().gql()?.now();
        Ok(service::rotate(ctx.db().gql()?, viewer, now, id, input.keep_previous_hours).await.gql()?.into())
    }

    /// Changes an endpoint's URL, types or description, or turns it off or
    /// on again.
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: UpdateWebhookEndpointInput,
    ) -> Result<WebhookEndpointPayload> {
        let viewer = manager(ctx)?;
        let id = input_row!("WebhookEndpoint", "id", &input.id);
        let change = EndpointChange {
            url: input.url,
            event_types: input.event_types,
            description: input.description,
            enabled: input.enabled,
        };
        Ok(service::update(ctx.db().gql()?, viewer, policy(ctx), id, change).await.gql()?.into())
    }

    /// Sends an event again, with the same `webhook-id`, to the caller's
    /// endpoints that take it (or the one named).
    async fn redeliver_event(&self, ctx: &Context<'_>, input: RedeliverEventInput) -> Result<QueuedPayload> {
        let viewer = manager(ctx)?;
        let event_id = input_row!("Event", "eventId", &input.event_id);
        let endpoint_id = match &input.endpoint_id {
            Some(e) => Some(input_row!("WebhookEndpoint", "endpointId", e)),
            None => None,
        };
        let now = ctx.clock().gql()?.now();
        Ok(service::redeliver(ctx.db().gql()?, viewer, now, event_id, endpoint_id).await.gql()?.into())
    }

    /// Sends an endpoint again every event it takes since an instant (at
    /// most 10 000), oldest first, each with its own `webhook-id`.
    async fn replay_events(&self, ctx: &Context<'_>, input: ReplayEventsInput) -> Result<QueuedPayload> {
        let viewer = manager(ctx)?;
        let endpoint_id = input_row!("WebhookEndpoint", "endpointId", &input.endpoint_id);
        let now = ctx.clock().gql()?.now();
        Ok(service::replay(ctx.db().gql()?, viewer, now, endpoint_id, input.since.0).await.gql()?.into())
    }
}
