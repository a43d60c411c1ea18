//! The desk's bulk term extensions in GraphQL:
//! `membershipTermExtensionPreview` (nothing changes) and
//! `extendMembershipTerms` (all or none).

use async_graphql::{Context, Enum, InputObject, Object, Result, SimpleObject};

use crate::{
    domain::extensions::ExtensionRequest,
    error::{GqlResultExt, UserError},
    graphql::{context::ContextExt, memberships::Membership, scalars::Date},
    service::extensions::{self, Planned},
};

/// How far an extension moves each term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum TermExtent {
    /// To the membership's next anniversary: one more year of benefits,
    /// with the fee due in that term's renewal window.
    NextAnniversary,
}

/// Input of `extendMembershipTerms` and its preview.
#[derive(InputObject)]
pub struct ExtendMembershipTermsInput {
    /// The first anniversary (end of the current term) the extension covers.
    pub anniversaries_from: Date,
    /// The last one, inclusive (at most two years after the first).
    pub anniversaries_to: Date,
    /// How far each term moves.
    #[graphql(default_with = "TermExtent::NextAnniversary")]
    pub extend_to: TermExtent,
    /// Competencies left out, by name (`Cloud Business Applications`).
    #[graphql(default)]
    pub except_competencies: Vec<String>,
    /// Why: kept on each membership extended (1 to 500 characters).
    pub reason: String,
}

impl ExtendMembershipTermsInput {
    fn request(self) -> ExtensionRequest {
        ExtensionRequest {
            anniversaries_from: self.anniversaries_from.0,
            anniversaries_to: self.anniversaries_to.0,
            except_competencies: self.except_competencies,
            reason: self.reason,
        }
    }
}

/// One membership's term, before and after an extension.
#[derive(SimpleObject)]
pub struct TermExtension {
    /// The membership.
    pub membership: Membership,
    /// The anniversary that ended its term.
    pub anniversary: Date,
    /// The next one, which ends it now.
    pub new_anniversary: Date,
    /// The last day its benefits work now: the new renewal window's last day.
    pub benefits_until: Date,
}

impl From<Planned> for TermExtension {
    fn from(p: Planned) -> Self {
        Self {
            anniversary: p.term.anniversary.into(),
            new_anniversary: p.term.new_anniversary.into(),
            benefits_until: p.term.benefits_until.into(),
            membership: Membership(p.membership),
        }
    }
}

/// The answer of a preview: what the extension would do.
#[derive(SimpleObject)]
pub struct TermExtensionPreview {
    /// The memberships it would move, in id order, with their new dates.
    pub extensions: Vec<TermExtension>,
    /// Why it would be refused; empty when it can run.
    pub user_errors: Vec<UserError>,
}

/// Result of `extendMembershipTerms`.
#[derive(SimpleObject)]
pub struct ExtendMembershipTermsPayload {
    /// The memberships moved, with their new dates; empty on a refusal.
    pub extensions: Vec<TermExtension>,
    /// Why nothing was moved; empty on success.
    pub user_errors: Vec<UserError>,
}

fn split(outcome: crate::service::Outcome<Vec<Planned>>) -> (Vec<TermExtension>, Vec<UserError>) {
    match outcome {
        Ok(planned) => (planned.into_iter().map(TermExtension::from).collect(), vec![]),
        Err(errors) => (vec![], errors),
    }
}

/// The preview, for the desk.
#[derive(Default)]
pub struct ExtensionQuery;

#[Object]
impl ExtensionQuery {
    /// What `extendMembershipTerms` would do with this input: which
    /// memberships, their new dates (admin, R-23). Nothing changes.
    async fn membership_term_extension_preview(
        &self,
        ctx: &Context<'_>,
        input: ExtendMembershipTermsInput,
    ) -> Result<TermExtensionPreview> {
        ctx.viewer().gql()?.require_admin().gql()?;
        let (extensions, user_errors) = split(extensions::plan(ctx.db().gql()?, &input.request()).await.gql()?);
        Ok(TermExtensionPreview { extensions, user_errors })
    }
}

/// The extension itself, for the desk.
#[derive(Default)]
pub struct ExtensionMutation;

#[Object]
impl ExtensionMutation {
    /// Extends, all or none, every membership whose term ends between two
    /// anniversaries to its next anniversary, except named competencies
    /// (admin, R-23, R-35): its benefits follow; the reason is kept on
    /// each (`exceptions`); the fee is due in the new renewal window.
    async fn extend_membership_terms(
        &self,
        ctx: &Context<'_>,
        input: ExtendMembershipTermsInput,
    ) -> Result<ExtendMembershipTermsPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_admin().gql()?;
        let now = ctx.clock().gql()?.now();
        let (extensions, user_errors) =
            split(extensions::apply(ctx.db().gql()?, viewer, now, input.request()).await.gql()?);
        Ok(ExtendMembershipTermsPayload { extensions, user_errors })
    }
}
