//! `voucherPlan`: vouchers a certification plan needs, and whether the
//! agreement leaves the preparation time.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use super::Agreement;
use crate::{
    domain::codes::{self as rules, CertificationLevel},
    error::{AppError, GqlResultExt},
    graphql::{context::ContextExt, relay::id_arg, scalars::count},
    service::{exams, organizations},
};

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
    /// Level of the certifications; may be left out when `exams` are named.
    pub level: Option<CertificationLevel>,
    /// The exams planned for, by code: each must be in the catalog
    /// and not retired; the preparation is that of the most advanced.
    pub exams: Option<Vec<String>>,
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

/// Most exams one plan may name.
const MAX_PLAN_EXAMS: usize = 100;

/// The level a plan prepares for: the given one, or the most advanced of
/// the named exams, each of which must be in the catalog and not retired.
async fn plan_level(
    ctx: &Context<'_>,
    level: Option<CertificationLevel>,
    named: Option<&[String]>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<CertificationLevel> {
    let named = named.unwrap_or_default();
    if named.len() > MAX_PLAN_EXAMS {
        return Err(AppError::bad_input(format!("a plan names at most {MAX_PLAN_EXAMS} exams")).into_graphql());
    }
    let found = exams::by_codes(ctx.db().gql()?, named).await.gql()?;
    let mut levels: Vec<CertificationLevel> = level.into_iter().collect();
    for (code, exam) in named.iter().zip(&found) {
        if let Some(problem) = exams::unusable("exams", code, exam.as_ref(), now) {
            return Err(AppError::bad_input(problem.message).into_graphql());
        }
        levels.extend(exam.as_ref().map(|e| e.level));
    }
    if levels.is_empty() {
        return Err(AppError::bad_input("give the plan a `level` or the `exams` it is for").into_graphql());
    }
    Ok(if levels.contains(&CertificationLevel::Advanced) {
        CertificationLevel::Advanced
    } else {
        CertificationLevel::Basic
    })
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
        let now = ctx.clock().gql()?.now();
        let level = plan_level(ctx, input.level, input.exams.as_deref(), now).await?;
        let today = now.date_naive();
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
