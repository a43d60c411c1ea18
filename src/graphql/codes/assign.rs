//! `assignCode`: one code to one person, for good; `assignCodes`:
//! one code each to a list of people, all or none.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use super::CodePayload;
use crate::{
    auth::Role,
    error::{GqlResultExt, UserError},
    graphql::{
        context::ContextExt,
        orders::Order,
        relay::{input_id, input_row},
    },
    service::assignments as service,
};

/// Input of `assignCode`.
#[derive(InputObject)]
pub struct AssignCodeInput {
    /// The code.
    pub code_id: ID,
    /// The person it is for: their e-mail address (their token subject),
    /// kept trimmed and lowercase. Final.
    pub assignee: String,
}

/// Input of `assignCodes`.
#[derive(InputObject)]
pub struct AssignCodesInput {
    /// The order whose unassigned codes are given out, first codes first.
    pub order_id: ID,
    /// The people, 1 to 10 000, each named once (e-mail addresses,
    /// compared without case or surrounding spaces).
    pub assignees: Vec<String>,
}

/// Result of `assignCodes`.
#[derive(SimpleObject)]
pub struct AssignCodesPayload {
    /// The order, when the codes were assigned.
    pub order: Option<Order>,
    /// People given a code (0 when refused).
    pub assigned: i32,
    /// Why nothing was assigned: each person listed twice or already
    /// holding a code of the order, with their position in `assignees`.
    pub user_errors: Vec<UserError>,
}

impl From<Result<service::Assigned, Vec<UserError>>> for AssignCodesPayload {
    fn from(outcome: Result<service::Assigned, Vec<UserError>>) -> Self {
        match outcome {
            Ok(done) => Self {
                order: Some(Order(done.order)),
                assigned: i32::try_from(done.count).unwrap_or(i32::MAX),
                user_errors: vec![],
            },
            Err(user_errors) => Self { order: None, assigned: 0, user_errors },
        }
    }
}

/// `assignCode` and `assignCodes`.
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

    /// Gives one unassigned code of an order to each person, all or none:
    /// nothing is assigned when anyone is listed twice, already holds a
    /// code of the order, or there are fewer usable codes than people
    /// . Up to 10 000 people in one call; the same over HTTP as CSV:
    /// `POST /orders/{id}/assignments`.
    async fn assign_codes(&self, ctx: &Context<'_>, input: AssignCodesInput) -> Result<AssignCodesPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_any(&[Role::CustomerAdmin, Role::PartnerAdmin, Role::Admin]).gql()?;
        let order = match input_id("Order", "orderId", &input.order_id) {
            Ok(row) => row,
            Err(errors) => return Ok(Err(errors).into()),
        };
        let now = ctx.clock().gql()?.now();
        Ok(service::assign_many(ctx.db().gql()?, viewer, now, order, &input.assignees).await.gql()?.into())
    }
}
