//! GraphQL subscriptions: events as they happen, over WebSocket
//! ([`crate::http::ws`]), scoped exactly as the `events` query, `order`
//! and `code` are: `events(types)` for the organizations the caller
//! administers (every one for admins), `orderUpdated(id)` and
//! `codeUpdated(id)` for an order or code the caller may see. Each stream
//! reads the process's live feed ([`crate::live`]); a connection holds at
//! most [`PER_CONNECTION`] subscriptions at once.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use async_graphql::{Context, ID, Result, Subscription};
use entity::event;
use futures_util::{Stream, stream};
use tokio::sync::broadcast::error::RecvError;

use crate::{
    auth::{Role, Viewer},
    error::{AppError, GqlResultExt},
    graphql::{context::ContextExt, events::Event, relay::id_arg},
    live::Live,
    service::{self, outbox},
};

/// Subscriptions one connection may hold at once.
pub const PER_CONNECTION: usize = 20;

/// The subscriptions a connection holds, counted (connection data).
#[derive(Debug, Default, Clone)]
pub struct ConnectionSlots(Arc<AtomicUsize>);

/// One subscription's place in its connection's count, given back when
/// its stream is dropped.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn slot(ctx: &Context<'_>) -> Result<Slot> {
    let Some(slots) = ctx.data_opt::<ConnectionSlots>() else {
        // Not over a WebSocket (a test executing the schema): uncounted.
        return Ok(Slot(Arc::new(AtomicUsize::new(1))));
    };
    let held = slots.0.fetch_add(1, Ordering::SeqCst);
    let slot = Slot(slots.0.clone());
    if held >= PER_CONNECTION {
        return Err(AppError::LimitExceeded(format!(
            "a connection holds at most {PER_CONNECTION} subscriptions; complete one first"
        ))
        .into_graphql());
    }
    Ok(slot)
}

/// The events of the live feed that `keep` accepts, for as long as the
/// stream is held; a subscriber too slow to keep up skips what it missed.
/// Only events written after the subscription began are sent (the feed
/// may still hold some from just before).
async fn feed<K>(ctx: &Context<'_>, slot: Slot, keep: K) -> Result<impl Stream<Item = Event> + Send + 'static + use<K>>
where
    K: Fn(&event::Model) -> bool + Send + Sync + 'static,
{
    let receiver = live(ctx)?.subscribe();
    let since = outbox::last_id(ctx.db().gql()?).await.gql()?;
    Ok(stream::unfold((receiver, slot, keep), move |(mut receiver, slot, keep)| async move {
        loop {
            match receiver.recv().await {
                Ok(e) if e.id > since && keep(&e) => return Some((Event((*e).clone()), (receiver, slot, keep))),
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return None,
            }
        }
    }))
}

/// Whether the viewer may read `e` through `events` (as `scope::events`).
fn administers(viewer: &Viewer, e: &event::Model) -> bool {
    viewer.is_admin()
        || (e.organization_id.is_some()
            && e.organization_id == viewer.organization_id
            && (viewer.has(Role::CustomerAdmin) || viewer.has(Role::PartnerAdmin)))
}

fn live<'a>(ctx: &'a Context<'_>) -> Result<&'a Arc<Live>> {
    ctx.data::<Arc<Live>>().map_err(|_| AppError::internal("the live feed is not running").into_graphql())
}

/// Subscriptions.
#[derive(Default)]
pub struct SubscriptionRoot;

/// Events as they happen, over WebSocket (`graphql-transport-ws`), with the
/// token in `connection_init`; scoped as the matching queries are.
#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Events about the organizations the caller administers (all for
    /// admins) as they are written, optionally of some types only (at most
    /// 20; see `eventTypes`).
    async fn events(&self, ctx: &Context<'_>, types: Option<Vec<String>>) -> Result<impl Stream<Item = Event> + use<>> {
        let viewer = ctx.signed_in().gql()?.clone();
        if let Some(types) = &types {
            if types.len() > 20 {
                return Err(AppError::bad_input("`types` names at most 20 types").into_graphql());
            }
            if let Some(unknown) = types.iter().find(|t| !outbox::TYPES.contains(&t.as_str())) {
                let shown: String = unknown.chars().take(64).collect();
                return Err(AppError::bad_input(format!("`{shown}` is not an event type")).into_graphql());
            }
        }
        let slot = slot(ctx)?;
        feed(ctx, slot, move |e| administers(&viewer, e) && types.as_ref().is_none_or(|t| t.contains(&e.kind))).await
    }

    /// The events of one order the caller may see (placed, confirmed,
    /// invoiced, fulfilled, cancelled, late), as they are written.
    async fn order_updated(&self, ctx: &Context<'_>, id: ID) -> Result<impl Stream<Item = Event> + use<>> {
        let viewer = ctx.signed_in().gql()?;
        let row = id_arg("Order", "id", &id).gql()?;
        if service::orders::order(ctx.db().gql()?, viewer, row).await.gql()?.is_none() {
            return Err(AppError::not_found("order").into_graphql());
        }
        let slot = slot(ctx)?;
        feed(ctx, slot, move |e| e.subject_type == "Order" && e.subject_id == row).await
    }

    /// The events of one code the caller may see (assigned, redeemed,
    /// activated, replaced, revoked), as they are written. Never its value.
    async fn code_updated(&self, ctx: &Context<'_>, id: ID) -> Result<impl Stream<Item = Event> + use<>> {
        let viewer = ctx.signed_in().gql()?;
        let row = id_arg("Code", "id", &id).gql()?;
        if service::codes::code(ctx.db().gql()?, viewer, row).await.gql()?.is_none() {
            return Err(AppError::not_found("code").into_graphql());
        }
        let slot = slot(ctx)?;
        feed(ctx, slot, move |e| e.subject_type == "Code" && e.subject_id == row).await
    }
}
