//! The outbox in GraphQL: `events`, what happened to the objects the caller
//! administers, oldest first, in pages (the feed webhooks and
//! subscriptions will deliver from).

use async_graphql::{Context, ID, Json, Object, Result};
use entity::event;

use crate::{
    error::{AppError, GqlResultExt},
    graphql::{
        context::ContextExt,
        relay::{IdConnection, TotalCount, connection, connection_cost, id_arg, page_request},
        scalars::Instant,
    },
    id,
    service::{
        catalog,
        outbox::{self, EventFilter},
        page,
    },
};

/// Something that happened: an order placed or fulfilled, a membership
/// renewed, a dispute decided... Written in the same transaction as the
/// change, never altered.
pub struct Event(pub event::Model);

/// Something that happened, written with the change that caused it.
#[Object]
impl Event {
    /// Opaque global id; stable, for dropping duplicates.
    async fn id(&self) -> ID {
        ID(outbox::global_id(self.0.id))
    }
    /// The event type, such as `order.fulfilled` (see `eventTypes`).
    #[graphql(name = "type")]
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// The subject's type, such as `Order`.
    async fn subject_type(&self) -> &str {
        &self.0.subject_type
    }
    /// The subject's global id.
    async fn subject_id(&self) -> ID {
        ID(id::encode(&self.0.subject_type, self.0.subject_id))
    }
    /// The organization it is about.
    async fn organization_id(&self) -> Option<ID> {
        self.0.organization_id.map(|o| ID(id::encode("Organization", o)))
    }
    /// When it happened (UTC).
    async fn occurred_at(&self) -> Instant {
        Instant(self.0.occurred_at)
    }
    /// Its fields: global ids and non-secret values only.
    async fn data(&self) -> Json<serde_json::Value> {
        Json(outbox::data(&self.0))
    }
}

/// Event queries.
#[derive(Default)]
pub struct EventQuery;

#[Object]
impl EventQuery {
    /// The event types the server writes.
    async fn event_types(&self) -> Vec<&'static str> {
        outbox::TYPES.to_vec()
    }

    /// Events about the organizations the caller administers (all of them
    /// for admins), oldest first. Filter by type, organization or
    /// subject.
    #[graphql(complexity = "connection_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments, reason = "GraphQL arguments")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only these types (at most 20).")] types: Option<Vec<String>>,
        #[graphql(desc = "Only events about this organization.")] organization_id: Option<ID>,
        #[graphql(desc = "Only events about this object (any global id).")] subject_id: Option<ID>,
        #[graphql(desc = "Page size from the start, 1..100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1..100.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<IdConnection<Event>> {
        let request = page_request(first, after, last, before).gql()?;
        let viewer = ctx.signed_in().gql()?.clone();
        if types.as_ref().is_some_and(|t| t.len() > 20) {
            return Err(AppError::bad_input("`types` names at most 20 types").into_graphql());
        }
        let organization_id =
            organization_id.map(|o| id_arg("Organization", "organizationId", &o)).transpose().gql()?;
        let subject = match subject_id {
            Some(s) => {
                Some(id::decode(&s).ok_or_else(|| AppError::bad_input("`subjectId` is not an id").into_graphql())?)
            }
            None => None,
        };
        let filter = EventFilter { types, organization_id, subject };
        let db = ctx.db().gql()?.clone();
        let fetched = page::fetch(&db, outbox::events_query(&viewer, &filter), event::Column::Id, request).await;
        let page = fetched.map_err(AppError::from).gql()?;
        let total = TotalCount::new(move || {
            let (db, viewer, filter) = (db.clone(), viewer.clone(), filter.clone());
            async move { catalog::count(&db, outbox::events_query(&viewer, &filter)).await }
        });
        Ok(connection(page, |e| e.id, Event, total))
    }
}
