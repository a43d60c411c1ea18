//! Sending webhook deliveries (Standard Webhooks): each claimed delivery
//! is one HTTP POST of `{"type", "timestamp", "data"}` with the headers
//! `webhook-id` (the event's global id: the same on every attempt and
//! redelivery), `webhook-timestamp` (the attempt's Unix seconds, by the
//! wall clock, as receivers check it against theirs) and
//! `webhook-signature`. A 2xx answer delivers it; anything else, or none
//! within the timeout, is retried on [`WEBHOOK_RETRIES`]'s schedule, with
//! jitter, and after the last the delivery has failed. Every attempt is
//! logged. An endpoint that has failed for [`DISABLE_AFTER_DAYS`] days
//! without a success is turned off, and a `webhook.endpoint_disabled`
//! event says so.
//!
//! Redirects are not followed, and the addresses a name resolves to are
//! checked at each delivery (loopback and private ones refused in
//! production), so a registered name cannot later point inside.

use std::{collections::HashMap, net::SocketAddr, sync::Arc, time::Instant};

use chrono::{DateTime, Duration, Utc};
use entity::{event, webhook_attempt, webhook_delivery, webhook_endpoint};
use futures_util::{StreamExt, stream};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, Statement};

use crate::{
    dispatch::{
        claim::{self, Queue, release_sql},
        signature,
    },
    domain::{
        notices::{DISABLE_AFTER_DAYS, WEBHOOK_RETRIES, disable_endpoint, next_attempt},
        webhook_urls::{self, UrlPolicy, internal},
    },
    error::AppError,
    service::{
        outbox::{self, Event},
        placeholder,
    },
};

/// Deliveries claimed at once.
pub const CLAIM: u64 = 256;
/// Requests in flight at once.
pub const IN_FLIGHT: usize = 64;
/// The most of a response body kept in the attempt log.
pub const EXCERPT: usize = 512;

/// The HTTP client deliveries go out through.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    policy: UrlPolicy,
    timeout: std::time::Duration,
}

/// Resolves names, keeping only the addresses the policy allows.
struct Guarded {
    allow_private: bool,
}

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found.into_iter().filter(|a| allow_private || !internal(a.ip())).collect();
            if allowed.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    format!("{} resolves to no public address", name.as_str()).into();
                return Err(refused);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

impl Sender {
    /// A client under `policy`, giving up on a request after `timeout`.
    pub fn new(policy: UrlPolicy, timeout: std::time::Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(std::time::Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("licensegraph-webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(Guarded { allow_private: policy.allow_private }))
            .pool_max_idle_per_host(IN_FLIGHT)
            .build()
            .map_err(|e| format!("cannot build the webhook client: {e}"))?;
        Ok(Self { client, policy, timeout })
    }

    /// How long a claim holds: every request of a claim timing out, in the
    /// waves [`IN_FLIGHT`] allows, twice over. A process killed mid-send
    /// leaves its claims to others after this.
    pub fn lease(&self) -> Duration {
        let waves = CLAIM.div_ceil(IN_FLIGHT as u64) as i64;
        let timeout = i64::try_from(self.timeout.as_secs()).unwrap_or(60).max(1);
        Duration::seconds(timeout * waves * 2)
    }
}

/// What one attempt came to.
struct Outcome {
    delivery: webhook_delivery::Model,
    attempted_at: DateTime<Utc>,
    status: Option<u16>,
    latency_ms: i64,
    excerpt: String,
    error: Option<String>,
}

impl Outcome {
    fn delivered(&self) -> bool {
        self.error.is_none() && self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The body of a delivery.
pub fn body(event: &event::Model) -> String {
    serde_json::json!({
        "type": event.kind,
        "timestamp": event.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": outbox::data(event),
    })
    .to_string()
}

/// The secrets that sign at `now`: the current one, and the previous one
/// during a rotation.
pub fn signing_secrets(endpoint: &webhook_endpoint::Model, now: DateTime<Utc>) -> Vec<&str> {
    let mut secrets = vec![endpoint.secret.as_str()];
    if let (Some(previous), Some(until)) = (&endpoint.previous_secret, endpoint.previous_secret_until)
        && until > now
    {
        secrets.push(previous);
    }
    secrets
}

async fn attempt(
    sender: &Sender,
    delivery: webhook_delivery::Model,
    event: &event::Model,
    endpoint: &webhook_endpoint::Model,
    now: DateTime<Utc>,
) -> Outcome {
    let started = Instant::now();
    let wall = Utc::now();
    let mut outcome =
        Outcome { delivery, attempted_at: now, status: None, latency_ms: 0, excerpt: String::new(), error: None };
    if !endpoint.enabled {
        outcome.error = Some("the endpoint is disabled".into());
        return outcome;
    }
    if let Err(refusal) = webhook_urls::check(&endpoint.url, sender.policy) {
        outcome.error = Some(format!("the endpoint's URL is no longer allowed ({refusal:?})"));
        return outcome;
    }
    let id = outbox::global_id(event.id);
    let body = body(event);
    let timestamp = wall.timestamp();
    let signature = signature::header(&signing_secrets(endpoint, now), &id, timestamp, &body);
    let sent = sender
        .client
        .post(&endpoint.url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(mut response) => {
            outcome.status = Some(response.status().as_u16());
            let mut kept = Vec::new();
            while kept.len() < EXCERPT {
                match response.chunk().await {
                    Ok(Some(chunk)) => kept.extend_from_slice(&chunk[..chunk.len().min(EXCERPT - kept.len())]),
                    Ok(None) => break,
                    Err(error) => {
                        outcome.error = Some(format!("reading the answer: {error}"));
                        break;
                    }
                }
            }
            outcome.excerpt = String::from_utf8_lossy(&kept).into_owned();
            if !response.status().is_success() && outcome.error.is_none() {
                outcome.error = Some(format!("answered {}", response.status()));
            }
        }
        Err(error) => {
            outcome.error = Some(describe(&error));
        }
    }
    outcome.latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    outcome
}

fn describe(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_redirect() {
        "redirected (not followed)"
    } else {
        "failed"
    };
    let mut text = format!("{what}: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text.chars().take(500).collect()
}

/// Claims due deliveries, sends them, records each attempt; how many were
/// delivered and how many attempts failed.
pub async fn deliver_due(
    db: &DatabaseConnection,
    sender: &Sender,
    now: DateTime<Utc>,
) -> Result<(usize, usize), AppError> {
    let claim = claim::claim(db, Queue::Webhooks, now, sender.lease(), CLAIM).await?;
    if claim.ids.is_empty() {
        return Ok((0, 0));
    }
    let deliveries = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Id.is_in(claim.ids.iter().copied()))
        .all(db)
        .await?;
    let events: HashMap<i64, event::Model> = event::Entity::find()
        .filter(event::Column::Id.is_in(deliveries.iter().map(|d| d.event_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let endpoints: HashMap<i64, webhook_endpoint::Model> = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Id.is_in(deliveries.iter().map(|d| d.endpoint_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    // Owned, so the requests in flight borrow nothing from this frame.
    let work: Vec<(webhook_delivery::Model, event::Model, webhook_endpoint::Model)> = deliveries
        .into_iter()
        .filter_map(|d| {
            let event = events.get(&d.event_id)?.clone();
            let endpoint = endpoints.get(&d.endpoint_id)?.clone();
            Some((d, event, endpoint))
        })
        .collect();
    let outcomes: Vec<Outcome> = stream::iter(work)
        .map(|(d, e, p)| {
            let sender = sender.clone();
            async move { attempt(&sender, d, &e, &p, now).await }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    record(db, &claim.until, &endpoints, outcomes, now).await
}

/// Writes the attempts, the deliveries' new states and the endpoints'.
async fn record(
    db: &DatabaseConnection,
    until: &DateTime<Utc>,
    endpoints: &HashMap<i64, webhook_endpoint::Model>,
    outcomes: Vec<Outcome>,
    now: DateTime<Utc>,
) -> Result<(usize, usize), AppError> {
    let backend = db.get_database_backend();
    let p = |n| placeholder(backend, n);
    let (mut delivered, mut failed) = (0, 0);
    let mut succeeded_endpoints = Vec::new();
    let mut failing_endpoints = Vec::new();
    let _writer = crate::db::sqlite_writer(db).await;
    let txn = crate::db::begin(db).await?;
    let attempts: Vec<webhook_attempt::ActiveModel> = outcomes
        .iter()
        .filter(|o| endpoints.get(&o.delivery.endpoint_id).is_some_and(|e| e.enabled))
        .map(|o| webhook_attempt::ActiveModel {
            delivery_id: Set(o.delivery.id),
            attempted_at: Set(o.attempted_at),
            status_code: Set(o.status.map(i32::from)),
            latency_ms: Set(o.latency_ms),
            response_excerpt: Set(o.excerpt.clone()),
            error: Set(o.error.clone()),
            ..Default::default()
        })
        .collect();
    if !attempts.is_empty() {
        webhook_attempt::Entity::insert_many(attempts).exec_without_returning(&txn).await?;
    }
    for o in &outcomes {
        let attempts = o.delivery.attempts + 1;
        let enabled = endpoints.get(&o.delivery.endpoint_id).is_some_and(|e| e.enabled);
        let (status, next, delivered_at) = if o.delivered() {
            delivered += 1;
            succeeded_endpoints.push(o.delivery.endpoint_id);
            ("DELIVERED", now, Some(now))
        } else {
            failed += 1;
            if enabled {
                failing_endpoints.push(o.delivery.endpoint_id);
            }
            let jitter = rand::random::<f64>() * 2.0 - 1.0;
            match next_attempt(&WEBHOOK_RETRIES, usize::try_from(attempts).unwrap_or(usize::MAX), now, jitter) {
                Some(next) if enabled => ("PENDING", next, None),
                _ => ("FAILED", now, None),
            }
        };
        let sql = format!(
            "UPDATE webhook_deliveries SET status = {}, attempts = {}, next_attempt_at = {}, delivered_at = {}, \
             claimed_until = NULL WHERE {}",
            p(1),
            p(2),
            p(3),
            p(4),
            release_sql(backend, 5, 6)
        );
        let values: Vec<sea_orm::Value> = vec![
            status.into(),
            (if enabled { attempts } else { o.delivery.attempts }).into(),
            next.into(),
            delivered_at.into(),
            o.delivery.id.into(),
            (*until).into(),
        ];
        txn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    }
    if !succeeded_endpoints.is_empty() {
        succeeded_endpoints.sort_unstable();
        succeeded_endpoints.dedup();
        webhook_endpoint::Entity::update_many()
            .col_expr(
                webhook_endpoint::Column::FailingSince,
                sea_orm::sea_query::Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(webhook_endpoint::Column::Id.is_in(succeeded_endpoints.iter().copied()))
            .exec(&txn)
            .await?;
    }
    failing_endpoints.sort_unstable();
    failing_endpoints.dedup();
    for id in failing_endpoints.into_iter().filter(|id| !succeeded_endpoints.contains(id)) {
        failing(&txn, id, now).await?;
    }
    txn.commit().await?;
    Ok((delivered, failed))
}

/// Notes a failure of endpoint `id`: it is failing since now, or, failing
/// for [`DISABLE_AFTER_DAYS`] days, it is turned off (with an event).
async fn failing<C: ConnectionTrait>(db: &C, id: i64, now: DateTime<Utc>) -> Result<(), AppError> {
    let Some(endpoint) = webhook_endpoint::Entity::find_by_id(id).one(db).await? else { return Ok(()) };
    let since = endpoint.failing_since.unwrap_or(now);
    let mut active: webhook_endpoint::ActiveModel = endpoint.clone().into();
    if endpoint.failing_since.is_none() {
        active.failing_since = Set(Some(now));
    } else if disable_endpoint(since, now) && endpoint.enabled {
        active.enabled = Set(false);
        active.disabled_reason =
            Set(Some(format!("every delivery failed for {DISABLE_AFTER_DAYS} days (since {})", since.to_rfc3339())));
        let event = Event::new("webhook.endpoint_disabled", ("WebhookEndpoint", endpoint.id), endpoint.organization_id)
            .with("url", endpoint.url.clone())
            .with("failingSince", since.to_rfc3339());
        outbox::emit(db, now, event).await?;
    } else {
        return Ok(());
    }
    sea_orm::ActiveModelTrait::update(active, db).await?;
    Ok(())
}
