//! `activateCode` (library codes R-14, tokens R-15, product keys R-16,
//! subscriptions) and `issueReplacementToken`, the one replacement a
//! token may get.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use super::{Code, CodePayload, validate::count_attempt};
use crate::{
    auth::Role,
    error::{GqlResultExt, UserError},
    graphql::{context::ContextExt, relay::input_id},
    service::codes::{self as service, Use},
};

/// Input of `activateCode`.
#[derive(InputObject)]
pub struct ActivateCodeInput {
    /// The code's value.
    pub value: String,
    /// The tenant an activation token is activated on (required for tokens).
    pub tenant: Option<String>,
    /// Seats to activate: a token is activated whole, so this may only
    /// repeat its seat count.
    pub seats: Option<i32>,
}

/// Input of `issueReplacementToken`.
#[derive(InputObject)]
pub struct IssueReplacementTokenInput {
    /// The activated token to replace.
    pub code_id: ID,
    /// Seats on the replacement (default: the original's; never more).
    pub seats: Option<i32>,
}

/// Result of `issueReplacementToken`.
#[derive(SimpleObject)]
pub struct ReplacementPayload {
    /// The original token, now `REPLACED`.
    pub original: Option<Code>,
    /// The new token.
    pub replacement: Option<Code>,
    /// Why the replacement was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

/// `activateCode` and `issueReplacementToken`.
#[derive(Default)]
pub struct ActivateMutation;

#[Object]
impl ActivateMutation {
    /// Activates a library access code, an activation token on one
    /// tenant, whole, one activation of a product key, or a
    /// subscription.
    async fn activate_code(&self, ctx: &Context<'_>, input: ActivateCodeInput) -> Result<CodePayload> {
        let viewer = ctx.signed_in().gql()?;
        let now = ctx.clock().gql()?.now();
        count_attempt(ctx, viewer, now).await?;
        let how = Use::Activate { tenant: input.tenant, seats: input.seats };
        let redemptions = ctx.redemptions().gql()?;
        Ok(service::use_code(ctx.db().gql()?, viewer, now, &input.value, how, redemptions).await.gql()?.into())
    }

    /// Issues the one replacement an activated token may get, within 30
    /// days after activation; the original becomes `REPLACED`.
    async fn issue_replacement_token(
        &self,
        ctx: &Context<'_>,
        input: IssueReplacementTokenInput,
    ) -> Result<ReplacementPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_any(&[Role::CustomerAdmin, Role::PartnerAdmin, Role::Admin]).gql()?;
        let refused = |user_errors| ReplacementPayload { original: None, replacement: None, user_errors };
        let row = match input_id("Code", "codeId", &input.code_id) {
            Ok(row) => row,
            Err(errors) => return Ok(refused(errors)),
        };
        let now = ctx.clock().gql()?.now();
        Ok(match service::replace(ctx.db().gql()?, viewer, now, row, input.seats).await.gql()? {
            Ok((original, replacement)) => ReplacementPayload {
                original: Some(Code::from(original)),
                replacement: Some(Code::from(replacement)),
                user_errors: vec![],
            },
            Err(errors) => refused(errors),
        })
    }
}
