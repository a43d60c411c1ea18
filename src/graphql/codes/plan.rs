//! `voucherPlan`: vouchers a certification plan needs, and whether the
//! agreement leaves the preparation time.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};

use super::Agreement;
use crate::{
    domain::codes::{self as rules, CertificationLevel as Level},
    error::{AppError, GqlResultExt},
    graphql::{context::ContextExt, relay::id_arg, scalars::count},
    service::organizations,
};

/// How long certifications take to prepare for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum CertificationLevel {
    /// Basic certifications: about 6 months of preparation.
    Basic,
    /// Advanced certifications: about 12 months of preparation.
    Advanced,
}

/// Input of `voucherPlan`.
#[derive(InputObject)]
pub struct VoucherPlanInput {
    /// The agreement the vouchers would be ordered under.
    pub agreement_id: ID,
    /// People to certify.
    pub people: i32,
    /// Certifications each person takes.
    pub certifications_each: i32,
    /// Exams per certification.
    pub exams_per_certification: i32,
    /// Level of the certifications.
    pub level: CertificationLevel,
}

/// How many vouchers a plan needs, and whether the agreement leaves time.
#[derive(SimpleObject)]
pub struct VoucherPlan {
    /// People x certifications each x exams per certification.
    pub vouchers_needed: i32,
    /// Months left on the agreement today, a started month counting whole.
    pub months_left: i32,
    /// Months of preparation the level needs (6 basic, 12 advanced).
    pub preparation_months: i32,
    /// Whether the months left cover the preparation.
    pub enough_time: bool,
    /// The agreement planned against.
    pub agreement: Agreement,
}

/// Most of each count in a voucher plan.
const MAX_PLAN_COUNT: i32 = 1_000_000;

/// `voucherPlan`.
#[derive(Default)]
pub struct PlanQuery;

#[Object]
impl PlanQuery {
    /// Vouchers needed for a certification plan, and whether the months
    /// left on the agreement cover the preparation. Null when the
    /// agreement is not the caller's to see.
    async fn voucher_plan(&self, ctx: &Context<'_>, input: VoucherPlanInput) -> Result<Option<VoucherPlan>> {
        let viewer = ctx.signed_in().gql()?;
        let agreement_id = id_arg("Agreement", "agreementId", &input.agreement_id).gql()?;
        for (name, n) in [
            ("people", input.people),
            ("certificationsEach", input.certifications_each),
            ("examsPerCertification", input.exams_per_certification),
        ] {
            if !(1..=MAX_PLAN_COUNT).contains(&n) {
                return Err(
                    AppError::bad_input(format!("`{name}` must be between 1 and {MAX_PLAN_COUNT}")).into_graphql()
                );
            }
        }
        let too_many = || {
            AppError::bad_input(format!(
                "a plan may need at most {} vouchers (people x certificationsEach x examsPerCertification)",
                rules::MAX_PLAN_VOUCHERS
            ))
            .into_graphql()
        };
        rules::vouchers_needed(input.people, input.certifications_each, input.exams_per_certification)
            .ok_or_else(too_many)?;
        let Some(agreement) = organizations::agreement(ctx.db().gql()?, viewer, agreement_id).await.gql()? else {
            return Ok(None);
        };
        let level = match input.level {
            CertificationLevel::Basic => Level::Basic,
            CertificationLevel::Advanced => Level::Advanced,
        };
        let today = ctx.clock().gql()?.now().date_naive();
        let plan = rules::voucher_plan(
            input.people,
            input.certifications_each,
            input.exams_per_certification,
            level,
            today,
            agreement.ends_on,
        )
        .ok_or_else(too_many)?;
        Ok(Some(VoucherPlan {
            vouchers_needed: count(plan.vouchers_needed),
            months_left: i32::try_from(plan.months_left).unwrap_or(i32::MAX),
            preparation_months: i32::try_from(plan.preparation_months).unwrap_or(12),
            enough_time: plan.enough_time,
            agreement: Agreement(agreement),
        }))
    }
}
