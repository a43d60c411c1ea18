//! The desk's review of partners' facts in GraphQL:
//! `FactReview` on each certified trainer, passed exam and KPI record,
//! `PendingFacts` in the eligibility dry run, and the three review
//! mutations.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use entity::enums::FactReview as Status;

use crate::{
    error::{GqlResultExt, UserError},
    graphql::{
        context::ContextExt,
        relay::input_row,
        scalars::{Instant, count},
    },
    service::{
        kpis,
        reviews::{self, Fact, Pending},
    },
};

/// Where a partner's fact stands with the desk: only a verified one counts
/// towards eligibility, enrolment and renewal.
#[derive(SimpleObject)]
pub struct FactReview {
    /// Pending (submitted by the partner), verified or rejected.
    pub status: Status,
    /// Who at the desk verified or rejected it (or recorded it verified).
    pub reviewed_by: Option<String>,
    /// When.
    pub reviewed_at: Option<Instant>,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
}

impl FactReview {
    pub fn of(
        status: Status,
        by: &Option<String>,
        at: Option<chrono::DateTime<chrono::Utc>>,
        why: &Option<String>,
    ) -> Self {
        Self { status, reviewed_by: by.clone(), reviewed_at: at.map(Instant), rejection_reason: why.clone() }
    }
}

/// A partner's facts waiting for the desk: listed apart, counted for nothing.
#[derive(SimpleObject)]
pub struct PendingFacts {
    /// Certified trainers submitted and not yet verified.
    pub certified_trainers: i32,
    /// Passed exams submitted and not yet verified.
    pub passed_exams: i32,
    /// KPI records the partner submitted and the desk has not decided.
    pub kpi_records: i32,
    /// KPI disputes the desk has not decided.
    pub kpi_disputes: i32,
}

impl From<Pending> for PendingFacts {
    fn from(p: Pending) -> Self {
        let n = |v: u64| count(i64::try_from(v).unwrap_or(i64::MAX));
        Self {
            certified_trainers: n(p.certified_trainers),
            passed_exams: n(p.passed_exams),
            kpi_records: n(p.kpi_records),
            kpi_disputes: n(p.kpi_disputes),
        }
    }
}

/// The desk's decision on a pending fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum FactVerdict {
    /// It is true: it counts from now on.
    Verify,
    /// It is not: it never counts; say why.
    Reject,
}

macro_rules! review_input {
    ($name:ident, $what:literal) => {
        #[doc = concat!("Input of the review of ", $what, ".")]
        #[derive(InputObject)]
        pub struct $name {
            #[doc = concat!("The ", $what, ".")]
            pub id: ID,
            /// Verify or reject.
            pub verdict: FactVerdict,
            /// Why (required to reject; at most 500 characters).
            pub reason: Option<String>,
        }
    };
}

review_input!(ReviewCertifiedTrainerInput, "certified trainer");
review_input!(ReviewPassedExamInput, "passed exam");
review_input!(ReviewKpiRecordInput, "KPI record");
review_input!(VerifyPartnerFactInput, "fact: a CertifiedTrainer, PassedExam, KpiRecord or KpiDispute id");

/// Result of a review.
#[derive(SimpleObject)]
pub struct ReviewPayload {
    /// The fact's id, when the review was recorded.
    pub id: Option<ID>,
    /// Its status now.
    pub status: Option<Status>,
    /// Why the review was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

async fn decide(
    ctx: &Context<'_>,
    fact: Fact,
    kind: &'static str,
    row: i64,
    verdict: FactVerdict,
    reason: Option<String>,
) -> Result<ReviewPayload> {
    let viewer = ctx.viewer().gql()?;
    let now = ctx.clock().gql()?.now();
    let verdict = match verdict {
        FactVerdict::Verify => reviews::Verdict::Verify,
        FactVerdict::Reject => reviews::Verdict::Reject,
    };
    let outcome = reviews::review(ctx.db().gql()?, viewer, now, fact, row, verdict, reason).await.gql()?;
    Ok(match outcome {
        Ok(id) => ReviewPayload {
            id: Some(ID(crate::id::encode(kind, id))),
            status: Some(if verdict == reviews::Verdict::Verify { Status::Verified } else { Status::Rejected }),
            user_errors: vec![],
        },
        Err(user_errors) => ReviewPayload { id: None, status: None, user_errors },
    })
}

impl From<Result<ReviewPayload, Vec<UserError>>> for ReviewPayload {
    fn from(outcome: Result<ReviewPayload, Vec<UserError>>) -> Self {
        outcome.unwrap_or_else(|user_errors| Self { id: None, status: None, user_errors })
    }
}

/// Decides a KPI dispute: accepted, its figures are written and count.
async fn decide_dispute(
    ctx: &Context<'_>,
    row: i64,
    verdict: FactVerdict,
    reason: Option<String>,
) -> Result<ReviewPayload> {
    let viewer = ctx.viewer().gql()?;
    let now = ctx.clock().gql()?.now();
    let verdict = match verdict {
        FactVerdict::Verify => reviews::Verdict::Verify,
        FactVerdict::Reject => reviews::Verdict::Reject,
    };
    let outcome = kpis::resolve_dispute(ctx.db().gql()?, viewer, now, row, verdict, reason).await.gql()?;
    Ok(match outcome {
        Ok(dispute) => ReviewPayload {
            id: Some(ID(crate::id::encode("KpiDispute", dispute.id))),
            status: Some(dispute.status),
            user_errors: vec![],
        },
        Err(user_errors) => ReviewPayload { id: None, status: None, user_errors },
    })
}

/// The desk's reviews (admin).
#[derive(Default)]
pub struct ReviewMutation;

#[Object]
impl ReviewMutation {
    /// Verifies any fact a partner submitted, or rejects it with a reason
    /// (admin, R-25, R-26, R-28): a certified trainer, a passed exam, a KPI
    /// record, or a KPI dispute (accepted, its figures are written: the
    /// record it names is corrected, with history, or a new record is made).
    /// Only a verified fact counts.
    async fn verify_partner_fact(&self, ctx: &Context<'_>, input: VerifyPartnerFactInput) -> Result<ReviewPayload> {
        ctx.viewer().gql()?.require_admin().gql()?;
        let not_found = || ReviewPayload {
            id: None,
            status: None,
            user_errors: vec![UserError::on("id", crate::error::UserErrorCode::NotFound, "no such fact")],
        };
        let Some((kind, row)) = crate::id::decode(&input.id) else { return Ok(not_found()) };
        let (fact, kind) = match kind.as_str() {
            "CertifiedTrainer" => (Fact::CertifiedTrainer, "CertifiedTrainer"),
            "PassedExam" => (Fact::PassedExam, "PassedExam"),
            "KpiRecord" => (Fact::KpiRecord, "KpiRecord"),
            "KpiDispute" => return decide_dispute(ctx, row, input.verdict, input.reason).await,
            _ => return Ok(not_found()),
        };
        decide(ctx, fact, kind, row, input.verdict, input.reason).await
    }

    /// Verifies a certified trainer a partner added, or rejects it with a
    /// reason (admin, R-25): only a verified trainer counts.
    async fn review_certified_trainer(
        &self,
        ctx: &Context<'_>,
        input: ReviewCertifiedTrainerInput,
    ) -> Result<ReviewPayload> {
        ctx.viewer().gql()?.require_admin().gql()?;
        let row = input_row!("CertifiedTrainer", "id", &input.id);
        decide(ctx, Fact::CertifiedTrainer, "CertifiedTrainer", row, input.verdict, input.reason).await
    }

    /// Verifies a passed exam a partner reported, or rejects it with a
    /// reason (admin, R-26): only a verified pass counts.
    async fn review_passed_exam(&self, ctx: &Context<'_>, input: ReviewPassedExamInput) -> Result<ReviewPayload> {
        ctx.viewer().gql()?.require_admin().gql()?;
        let row = input_row!("PassedExam", "id", &input.id);
        decide(ctx, Fact::PassedExam, "PassedExam", row, input.verdict, input.reason).await
    }

    /// Accepts a partner's KPI record (its dispute of a figure), or rejects
    /// it with a reason (admin, R-28): only an accepted record counts.
    async fn review_kpi_record(&self, ctx: &Context<'_>, input: ReviewKpiRecordInput) -> Result<ReviewPayload> {
        ctx.viewer().gql()?.require_admin().gql()?;
        let row = input_row!("KpiRecord", "id", &input.id);
        decide(ctx, Fact::KpiRecord, "KpiRecord", row, input.verdict, input.reason).await
    }
}
