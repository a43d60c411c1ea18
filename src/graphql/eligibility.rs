//! The eligibility dry run (R-24 .. R-26) and the competency requirements
//! it measures against, in GraphQL.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use entity::{
    competency_requirement,
    enums::{CompetencyLevel, Offer},
};

use crate::{
    domain::memberships::{Requirement, Unmet},
    error::{GqlResultExt, UserError},
    graphql::{
        context::ContextExt,
        relay::id_arg,
        reviews::PendingFacts,
        scalars::{BigInt, Date, count},
    },
    service::partners::{self as service},
};

/// One requirement a partner does not meet.
#[derive(SimpleObject)]
pub struct UnmetRequirement {
    /// The rule, such as `R-25`.
    pub rule: String,
    /// What is measured: `kpiValue`, `revenueCents`, `certifiedTrainers`,
    /// `passedExams` or `actionPacksPerAccount`.
    pub requirement: String,
    /// For a competency, the level whose requirement this is.
    pub level: Option<CompetencyLevel>,
    /// The value required.
    pub required: BigInt,
    /// The partner's value.
    pub actual: BigInt,
}

impl From<Unmet> for UnmetRequirement {
    fn from(u: Unmet) -> Self {
        Self {
            rule: u.rule.to_owned(),
            requirement: u.requirement.to_owned(),
            level: u.level,
            required: BigInt(u.required),
            actual: BigInt(u.actual),
        }
    }
}

/// What a partner has, as eligibility measures it.
#[derive(SimpleObject)]
pub struct PartnerValues {
    /// KPI value of the invoices counting on the day.
    pub kpi_value: BigInt,
    /// Revenue of those invoices, in cents.
    pub revenue_cents: BigInt,
    /// Certified trainers on the roster.
    pub certified_trainers: i32,
    /// Exams passed by the partner's people by the day.
    pub passed_exams: i32,
    /// Whether the partner global account already holds an ACTION_PACK.
    pub holds_action_pack: bool,
}

/// The answer of a dry run of an enrolment (R-24 .. R-26).
#[derive(SimpleObject)]
pub struct MembershipEligibility {
    /// Whether `enrollMembership` would accept it on the day.
    pub eligible: bool,
    /// Every requirement not met, with its rule, the required value and the partner's.
    pub unmet: Vec<UnmetRequirement>,
    /// For a competency, the best level the partner qualifies for; null if none.
    pub best_level: Option<CompetencyLevel>,
    /// The partner's values the requirements were measured against:
    /// verified facts only.
    pub partner: PartnerValues,
    /// Facts the partner submitted that the desk has not reviewed: they
    /// count for nothing until verified.
    pub pending: PendingFacts,
    /// The day of evaluation.
    pub as_of: Date,
}

/// What a competency level requires; data, edited by admins.
pub struct CompetencyRequirement(pub competency_requirement::Model);

/// What a competency level requires; data, edited by admins.
#[Object]
impl CompetencyRequirement {
    /// The competency, such as `Cloud Platform`.
    async fn competency(&self) -> &str {
        &self.0.competency
    }
    /// SILVER or GOLD (GOLD needs the SILVER requirements as well).
    async fn level(&self) -> CompetencyLevel {
        self.0.level
    }
    /// Minimum KPI value over the 12 months before the anniversary.
    async fn min_kpi_value(&self) -> BigInt {
        BigInt(self.0.min_kpi_value)
    }
    /// Minimum revenue over that window, in cents.
    async fn min_revenue_cents(&self) -> BigInt {
        BigInt(self.0.min_revenue_cents)
    }
    /// Minimum certified trainers on the roster.
    async fn min_certified_trainers(&self) -> i32 {
        self.0.min_certified_trainers
    }
    /// Minimum exams passed.
    async fn min_passed_exams(&self) -> i32 {
        self.0.min_passed_exams
    }
}

/// Input of `setCompetencyRequirement`.
#[derive(InputObject)]
pub struct SetCompetencyRequirementInput {
    /// The competency, such as `Cloud Platform`.
    pub competency: String,
    /// SILVER or GOLD.
    pub level: CompetencyLevel,
    /// Minimum KPI value.
    #[graphql(default)]
    pub min_kpi_value: i32,
    /// Minimum revenue, in cents.
    #[graphql(default)]
    pub min_revenue_cents: i32,
    /// Minimum certified trainers.
    #[graphql(default)]
    pub min_certified_trainers: i32,
    /// Minimum exams passed.
    #[graphql(default)]
    pub min_passed_exams: i32,
}

/// Result of `setCompetencyRequirement`.
#[derive(SimpleObject)]
pub struct CompetencyRequirementPayload {
    /// The requirement as saved.
    pub requirement: Option<CompetencyRequirement>,
    /// Why it was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

crate::graphql::relay::payload_from_outcome!(CompetencyRequirementPayload {
    requirement: CompetencyRequirement(competency_requirement::Model)
});

/// Eligibility queries.
#[derive(Default)]
pub struct EligibilityQuery;

#[Object]
impl EligibilityQuery {
    /// Dry run of an enrolment on `asOf` (default today): every unmet
    /// requirement with its rule, the required value and the partner's, and
    /// the best level the partner qualifies for (R-24 .. R-26). Nothing
    /// changes. Null when the partner is not the caller's.
    async fn membership_eligibility(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The partner.")] organization_id: ID,
        #[graphql(desc = "The offer.")] offer: Offer,
        #[graphql(desc = "For a COMPETENCY: its area.")] competency: Option<String>,
        #[graphql(desc = "For a COMPETENCY: SILVER (default) or GOLD.")] level: Option<CompetencyLevel>,
        #[graphql(desc = "The day (default today).")] as_of: Option<Date>,
    ) -> Result<Option<MembershipEligibility>> {
        let viewer = ctx.signed_in().gql()?;
        let org = id_arg("Organization", "organizationId", &organization_id).gql()?;
        let day = ctx.day_or_today(as_of).gql()?;
        let db = ctx.db().gql()?;
        let Some(run) = service::dry_run(db, viewer, org, offer, competency.as_deref(), level, day).await.gql()? else {
            return Ok(None);
        };
        Ok(Some(MembershipEligibility {
            eligible: run.verdict.eligible(),
            unmet: run.verdict.unmet.into_iter().map(UnmetRequirement::from).collect(),
            best_level: run.verdict.best_level,
            partner: PartnerValues {
                kpi_value: BigInt(run.facts.kpi_value),
                revenue_cents: BigInt(run.facts.revenue_cents),
                certified_trainers: count(run.facts.certified_trainers),
                passed_exams: count(run.facts.passed_exams),
                holds_action_pack: run.facts.holds_action_pack,
            },
            pending: run.pending.into(),
            as_of: run.as_of.into(),
        }))
    }

    /// What each competency level requires, for anyone signed in.
    async fn competency_requirements(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this competency's levels.")] competency: Option<String>,
    ) -> Result<Vec<CompetencyRequirement>> {
        ctx.signed_in().gql()?;
        let rows = service::all_requirements(ctx.db().gql()?, competency.as_deref().map(str::trim)).await.gql()?;
        Ok(rows.into_iter().map(CompetencyRequirement).collect())
    }
}

/// Eligibility mutations.
#[derive(Default)]
pub struct EligibilityMutation;

#[Object]
impl EligibilityMutation {
    /// Sets what a competency level requires (admin; R-26).
    async fn set_competency_requirement(
        &self,
        ctx: &Context<'_>,
        input: SetCompetencyRequirementInput,
    ) -> Result<CompetencyRequirementPayload> {
        ctx.viewer().gql()?.require_admin().gql()?;
        let requirement = Requirement {
            min_kpi_value: input.min_kpi_value.into(),
            min_revenue_cents: input.min_revenue_cents.into(),
            min_certified_trainers: input.min_certified_trainers.into(),
            min_passed_exams: input.min_passed_exams.into(),
        };
        let outcome = service::set_requirement(ctx.db().gql()?, &input.competency, input.level, requirement).await;
        Ok(outcome.gql()?.into())
    }
}
