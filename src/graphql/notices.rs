//! Notices in GraphQL: the e-mails the server sent or tried to (R-12,
//! R-36), and where an organization's notices go (`setNoticeEmails`).

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use entity::notice;

use crate::{
    auth::Role,
    error::{AppError, GqlResultExt, UserError},
    graphql::{
        context::ContextExt,
        events::Event,
        loaders::{EventId, loader_error},
        organizations::Organization,
        relay::{IdConnection, TotalCount, connection, connection_cost, id_arg, input_row, page_request},
        scalars::Instant,
    },
    id,
    service::{
        catalog,
        notices::{self as service, NoticeFilter},
        organizations, page,
    },
};

/// An e-mail the server sent, or tried to: to whom, what, when, and how.
/// Its body is not kept (a delivery e-mail holds codes).
pub struct Notice(pub notice::Model);

/// An e-mail the server sent, or tried to: to whom, what, when, and how.
/// Its body is not kept (a delivery e-mail holds codes).
#[Object]
impl Notice {
    /// Opaque global id.
    async fn id(&self) -> ID {
        ID(id::encode("Notice", self.0.id))
    }

    /// `CODES_DELIVERED`, `SITE_PACK`, `ORDER_LATE`, `RENEWAL_DUE`,
    /// `RENEWAL_WINDOW_OPENED`, `RENEWAL_WINDOW_CLOSING`, `BENEFITS_LOST`,
    /// `CODES_EXPIRING`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }

    /// The organization it is about.
    async fn organization_id(&self) -> Option<ID> {
        self.0.organization_id.map(|o| ID(id::encode("Organization", o)))
    }

    /// The addresses it went to.
    async fn recipients(&self) -> Vec<String> {
        serde_json::from_str(&self.0.recipients).unwrap_or_default()
    }

    /// Its subject, once rendered.
    async fn subject(&self) -> &str {
        &self.0.subject
    }

    /// `PENDING`, `SENT`, `FAILED`, or `NO_RECIPIENT` (no address to send to).
    async fn status(&self) -> &str {
        &self.0.status
    }

    /// Times it was tried.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    /// When it was queued.
    async fn created_at(&self) -> Instant {
        Instant(self.0.created_at)
    }

    /// When it was sent (handed to the SMTP server, or written as `.eml`).
    async fn sent_at(&self) -> Option<Instant> {
        self.0.sent_at.map(Instant)
    }

    /// Its Message-ID header, the same however often it is sent.
    async fn message_id(&self) -> Option<&str> {
        self.0.message_id.as_deref()
    }

    /// Why the last attempt failed, or why there was no one to send to.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    /// The event it tells of.
    async fn event(&self, ctx: &Context<'_>) -> Result<Option<Event>> {
        let found = ctx.loaders().gql()?.load_one(EventId(self.0.event_id)).await.map_err(loader_error)?;
        Ok(found.map(Event))
    }
}

/// Notice queries.
#[derive(Default)]
pub struct NoticeQuery;

#[Object]
impl NoticeQuery {
    /// Notices about the organizations the caller administers (all for
    /// admins), oldest first.
    #[graphql(complexity = "connection_cost(first, None, child_complexity)")]
    #[allow(clippy::too_many_arguments, reason = "GraphQL arguments")]
    async fn notices(
        &self,
        ctx: &Context<'_>,
        organization_id: Option<ID>,
        #[graphql(desc = "Only this kind (`CODES_DELIVERED`, ...).")] kind: Option<String>,
        #[graphql(desc = "Only this status (`SENT`, ...).")] status: Option<String>,
        #[graphql(desc = "Only the notices of this event.")] event_id: Option<ID>,
        #[graphql(desc = "Page size, 1..100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
    ) -> Result<IdConnection<Notice>> {
        let request = page_request(first, after, None, None).gql()?;
        let viewer = ctx.signed_in().gql()?.clone();
        let organization_id =
            organization_id.map(|o| id_arg("Organization", "organizationId", &o)).transpose().gql()?;
        let event_id = event_id.map(|e| id_arg("Event", "eventId", &e)).transpose().gql()?;
        let filter = NoticeFilter { organization_id, kind, status, event_id };
        let db = ctx.db().gql()?.clone();
        let fetched = page::fetch(&db, service::notices_query(&viewer, &filter), notice::Column::Id, request).await;
        let page = fetched.map_err(AppError::from).gql()?;
        let total = TotalCount::new(move || {
            let (db, viewer, filter) = (db.clone(), viewer.clone(), filter.clone());
            async move { catalog::count(&db, service::notices_query(&viewer, &filter)).await }
        });
        Ok(connection(page, |n| n.id, Notice, total))
    }
}

/// Input of `setNoticeEmails`.
#[derive(InputObject)]
pub struct SetNoticeEmailsInput {
    /// The organization.
    pub organization_id: ID,
    /// Where notices to the organization's administrators go: renewal
    /// reminders, benefits lost, expiring codes. At most 10; empty
    /// to send none.
    pub emails: Vec<String>,
}

/// Result of `setNoticeEmails`.
#[derive(SimpleObject)]
pub struct NoticeEmailsPayload {
    /// The organization, when changed.
    pub organization: Option<Organization>,
    /// Why it was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

crate::graphql::relay::payload_from_outcome!(NoticeEmailsPayload {
    organization: Organization(entity::organization::Model)
});

/// Notice mutations.
#[derive(Default)]
pub struct NoticeMutation;

#[Object]
impl NoticeMutation {
    /// Sets where an organization's notices go (its customer or partner
    /// administrators, or admins).
    async fn set_notice_emails(&self, ctx: &Context<'_>, input: SetNoticeEmailsInput) -> Result<NoticeEmailsPayload> {
        let viewer = ctx.signed_in().gql()?;
        viewer.require_any(&[Role::Admin, Role::CustomerAdmin, Role::PartnerAdmin]).gql()?;
        let org = input_row!("Organization", "organizationId", &input.organization_id);
        let now = ctx.clock().gql()?.now();
        Ok(organizations::set_notice_emails(ctx.db().gql()?, viewer, now, org, input.emails).await.gql()?.into())
    }
}
