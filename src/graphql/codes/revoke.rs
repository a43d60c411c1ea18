//! `revokeCode`: the desk withdraws a code not used up.

use async_graphql::{Context, ID, InputObject, Object, Result};

use super::CodePayload;
use crate::{
    error::GqlResultExt,
    graphql::{context::ContextExt, relay::input_row},
    service::codes as service,
};

/// Input of `revokeCode`.
#[derive(InputObject)]
pub struct RevokeCodeInput {
    /// The code.
    pub code_id: ID,
    /// Why (kept in the code's history).
    pub reason: String,
}

/// `revokeCode`.
#[derive(Default)]
pub struct RevokeMutation;

#[Object]
impl RevokeMutation {
    /// Revokes a code that is not used up (admin).
    async fn revoke_code(&self, ctx: &Context<'_>, input: RevokeCodeInput) -> Result<CodePayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_admin().gql()?;
        let row = input_row!("Code", "codeId", &input.code_id);
        let now = ctx.clock().gql()?.now();
        Ok(service::revoke(ctx.db().gql()?, viewer, now, row, input.reason).await.gql()?.into())
    }
}
