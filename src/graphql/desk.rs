//! The desk keeps its books current: `updateOrganization`,
//! `updateAgreement` and `renewAgreement` (with its Imagine Academy grant,
//! R-33), and `Change`, one entry of an object's `history`.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use entity::{agreement, change, order};

use crate::{
    domain::organizations::{AgreementPatch, OrganizationPatch},
    error::{GqlResultExt, UserError},
    graphql::{
        context::ContextExt,
        orders::Order,
        organizations::{Agreement, AgreementPayload, OrganizationPayload},
        relay::input_row,
        scalars::{Date, Instant},
    },
    service::{
        agreements,
        codes::actor,
        history::{self, Subject},
        organizations,
    },
};

/// One changed field of an organization or an agreement: before, after,
/// who changed it, when and why.
#[derive(SimpleObject)]
pub struct Change {
    /// The field, as the API names it (`endsOn`, `accredited`).
    pub field: String,
    /// Its value before, as text.
    pub from: Option<String>,
    /// Its value after, as text.
    pub to: Option<String>,
    /// Why, when the desk said (a renewal is `renewal` unless it said more).
    pub reason: Option<String>,
    /// Who changed it (the token's subject).
    pub actor: String,
    /// When.
    pub at: Instant,
}

impl From<change::Model> for Change {
    fn from(c: change::Model) -> Self {
        Self { field: c.field, from: c.old_value, to: c.new_value, reason: c.reason, actor: c.actor, at: Instant(c.at) }
    }
}

/// The latest changes of an object the caller already sees, newest first.
pub async fn history_of(ctx: &Context<'_>, subject: Subject, first: i32) -> Result<Vec<Change>> {
    let limit = u64::try_from(first.clamp(1, history::MAX_READ as i32)).unwrap_or(1);
    Ok(history::of(ctx.db().gql()?, subject, limit).await.gql()?.into_iter().map(Into::into).collect())
}

/// Input of `updateOrganization`: what is given changes, what is left out stays.
#[derive(InputObject)]
pub struct UpdateOrganizationInput {
    /// The organization.
    pub id: ID,
    /// A new name.
    pub name: Option<String>,
    /// Whether it is an accredited academic institution.
    pub accredited: Option<bool>,
    /// Whether it is a Certiport Authorized Testing Center.
    pub certiport_testing_center: Option<bool>,
    /// Why, kept in the history (at most 500 characters).
    pub reason: Option<String>,
}

/// Input of `updateAgreement`: what is given changes, what is left out stays.
#[derive(InputObject)]
pub struct UpdateAgreementInput {
    /// The agreement.
    pub id: ID,
    /// A new notice contact, the address codes are delivered to.
    pub notice_contact: Option<String>,
    /// A new end of the current term: the orders that ran to the old end,
    /// and their unused codes, follow it.
    pub ends_on: Option<Date>,
    /// Why, kept in the history (at most 500 characters).
    pub reason: Option<String>,
}

/// Input of `renewAgreement`.
#[derive(InputObject)]
pub struct RenewAgreementInput {
    /// The agreement.
    pub id: ID,
    /// The new term's last day; the term starts the day after the current end.
    pub ends_on: Date,
    /// Why, kept in the history (`renewal` when left out).
    pub reason: Option<String>,
}

/// Result of `renewAgreement`.
#[derive(SimpleObject)]
pub struct RenewAgreementPayload {
    /// The agreement, when it was renewed.
    pub agreement: Option<Agreement>,
    /// The new term's Imagine Academy grant: an order priced zero with its
    /// vouchers, for an accredited institution's EES, SCHOOL or OVS_ES
    /// agreement; null otherwise.
    pub grant: Option<Order>,
    /// Why the renewal was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

impl From<crate::service::Outcome<(agreement::Model, Option<order::Model>)>> for RenewAgreementPayload {
    fn from(outcome: crate::service::Outcome<(agreement::Model, Option<order::Model>)>) -> Self {
        match outcome {
            Ok((a, grant)) => Self { agreement: Some(Agreement(a)), grant: grant.map(Order), user_errors: vec![] },
            Err(user_errors) => Self { agreement: None, grant: None, user_errors },
        }
    }
}

/// The desk's corrections and renewals (admin).
#[derive(Default)]
pub struct DeskMutation;

#[Object]
impl DeskMutation {
    /// Changes an organization's name, accreditation or Certiport status
    /// (admin, R-34); each changed field goes to its `history`.
    async fn update_organization(
        &self,
        ctx: &Context<'_>,
        input: UpdateOrganizationInput,
    ) -> Result<OrganizationPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_admin().gql()?;
        let row_id = input_row!("Organization", "id", &input.id);
        let patch = OrganizationPatch {
            name: input.name,
            accredited: input.accredited,
            certiport_testing_center: input.certiport_testing_center,
            reason: input.reason,
        };
        let now = ctx.clock().gql()?.now();
        Ok(organizations::update_organization(ctx.db().gql()?, actor(viewer), now, row_id, patch).await.gql()?.into())
    }

    /// Changes an agreement's notice contact or the end of its current term
    /// (admin, R-34); each changed field goes to its `history`.
    async fn update_agreement(&self, ctx: &Context<'_>, input: UpdateAgreementInput) -> Result<AgreementPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_admin().gql()?;
        let row_id = input_row!("Agreement", "id", &input.id);
        let patch = AgreementPatch {
            notice_contact: input.notice_contact,
            ends_on: input.ends_on.map(|d| d.0),
            reason: input.reason,
        };
        let now = ctx.clock().gql()?.now();
        Ok(agreements::update_agreement(ctx.db().gql()?, actor(viewer), now, row_id, patch).await.gql()?.into())
    }

    /// Renews an agreement for a new term (admin, R-34), which brings an
    /// accredited institution's EES, SCHOOL or OVS_ES agreement its Imagine
    /// Academy grant for the term.
    async fn renew_agreement(&self, ctx: &Context<'_>, input: RenewAgreementInput) -> Result<RenewAgreementPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_admin().gql()?;
        let row_id = input_row!("Agreement", "id", &input.id);
        let now = ctx.clock().gql()?.now();
        let db = ctx.db().gql()?;
        Ok(agreements::renew_agreement(db, actor(viewer), now, row_id, input.ends_on.0, input.reason)
            .await
            .gql()?
            .into())
    }
}
