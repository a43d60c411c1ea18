//! `redeemCode`: an exam voucher used for one exam, exactly once.

use async_graphql::{Context, InputObject, Object, Result};

use super::{CodePayload, validate::count_attempt};
use crate::{
    error::GqlResultExt,
    graphql::context::ContextExt,
    service::codes::{self as service, Use},
};

/// Input of `redeemCode`.
#[derive(InputObject)]
pub struct RedeemCodeInput {
    /// The voucher's value.
    pub value: String,
    /// The exam it registers for, such as `MO-100`.
    pub exam: String,
}

/// `redeemCode`.
#[derive(Default)]
pub struct RedeemMutation;

#[Object]
impl RedeemMutation {
    /// Redeems an exam voucher for one exam: only its assignee (or an
    /// admin), exactly once, however many try at once.
    async fn redeem_code(&self, ctx: &Context<'_>, input: RedeemCodeInput) -> Result<CodePayload> {
        let viewer = ctx.signed_in().gql()?;
        let now = ctx.clock().gql()?.now();
        count_attempt(ctx, viewer, now).await?;
        let how = Use::Redeem { exam: input.exam.trim().to_uppercase() };
        let redemptions = ctx.redemptions().gql()?;
        Ok(service::use_code(ctx.db().gql()?, viewer, now, &input.value, how, redemptions).await.gql()?.into())
    }
}
