//! Exams passed by a partner's people, in GraphQL: the list and
//! recording one (pending until the desk verifies it when the partner
//! records it).

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use entity::partner_certification;

use crate::{
    error::{GqlResultExt, UserError},
    graphql::{
        context::ContextExt,
        relay::{id_arg, input_row},
        reviews::FactReview,
        scalars::Date,
    },
    id,
    service::{
        memberships::partner,
        partners::{self as service, PassedExam as PassedExamInput},
    },
};

/// An exam passed by one of a partner's people.
pub struct PassedExam(pub partner_certification::Model);

/// An exam passed by one of a partner's people.
#[Object]
impl PassedExam {
    /// Opaque global id.
    async fn id(&self) -> ID {
        ID(id::encode("PassedExam", self.0.id))
    }
    /// Who passed it.
    async fn person(&self) -> &str {
        &self.0.person
    }
    /// The exam, such as `AZ-104`.
    async fn exam(&self) -> &str {
        &self.0.exam
    }
    /// When.
    async fn passed_on(&self) -> Date {
        self.0.passed_on.into()
    }

    /// Where it stands with the desk: a reported pass counts once verified.
    async fn review(&self) -> FactReview {
        let e = &self.0;
        FactReview::of(e.review, &e.reviewed_by, e.reviewed_at, &e.rejection_reason)
    }
}

/// Input of `recordPassedExam`.
#[derive(InputObject)]
pub struct RecordPassedExamInput {
    /// The partner.
    pub organization_id: ID,
    /// Who passed it.
    pub person: String,
    /// The exam, such as `AZ-104`.
    pub exam: String,
    /// When (not in the future).
    pub passed_on: Date,
}

/// Result of `recordPassedExam`.
#[derive(SimpleObject)]
pub struct PassedExamPayload {
    /// The record, when accepted.
    pub passed_exam: Option<PassedExam>,
    /// Why it was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

crate::graphql::relay::payload_from_outcome!(PassedExamPayload {
    passed_exam: PassedExam(partner_certification::Model)
});

/// PassedExam queries.
#[derive(Default)]
pub struct PassedExamQuery;

#[Object]
impl PassedExamQuery {
    /// Exams passed by a partner's people; empty when the partner is not the caller's.
    async fn passed_exams(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The partner.")] organization_id: ID,
    ) -> Result<Vec<PassedExam>> {
        let viewer = ctx.signed_in().gql()?;
        let org = id_arg("Organization", "organizationId", &organization_id).gql()?;
        let db = ctx.db().gql()?;
        if partner(db, viewer, org).await.gql()?.is_none() {
            return Ok(vec![]);
        }
        Ok(service::passed_exams_of(db, org).await.gql()?.into_iter().map(PassedExam).collect())
    }
}

/// PassedExam mutations.
#[derive(Default)]
pub struct PassedExamMutation;

#[Object]
impl PassedExamMutation {
    /// Records an exam passed by one of a partner's people.
    async fn record_passed_exam(&self, ctx: &Context<'_>, input: RecordPassedExamInput) -> Result<PassedExamPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_any(&crate::auth::PARTNER_ROLES).gql()?;
        let organization_id = input_row!("Organization", "organizationId", &input.organization_id);
        let exam =
            PassedExamInput { organization_id, person: input.person, exam: input.exam, passed_on: input.passed_on.0 };
        let now = ctx.clock().gql()?.now();
        Ok(service::record_passed_exam(ctx.db().gql()?, viewer, now, exam).await.gql()?.into())
    }
}
