//! `assignCode`: one code to one person, for good.

use async_graphql::{Context, ID, InputObject, Object, Result};

use super::CodePayload;
use crate::{
    auth::Role,
    error::GqlResultExt,
    graphql::{context::ContextExt, relay::input_row},
    service::codes as service,
};

/// Input of `assignCode`.
#[derive(InputObject)]
pub struct AssignCodeInput {
    /// The code.
    pub code_id: ID,
    /// The person it is for: their token subject. Final.
    pub assignee: String,
}

/// `assignCode`.
#[derive(Default)]
pub struct AssignMutation;

#[Object]
impl AssignMutation {
    /// Assigns a code to one person, for good (customer or partner
    /// administrator of the owning organization, or admin; R-17).
    async fn assign_code(&self, ctx: &Context<'_>, input: AssignCodeInput) -> Result<CodePayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_any(&[Role::CustomerAdmin, Role::PartnerAdmin, Role::Admin]).gql()?;
        let row = input_row!("Code", "codeId", &input.code_id);
        let now = ctx.clock().gql()?.now();
        Ok(service::assign(ctx.db().gql()?, viewer, now, row, input.assignee).await.gql()?.into())
    }
}
