//! `voucherPlan`: vouchers a certification plan needs, part by part (basic
//! and advanced certifications at once), whether the agreement leaves the
//! preparation time, what the organization already holds unused, and the
//! cheapest mix of packs to order for the rest at today's prices.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use entity::enums::OrderTerm;

use super::Agreement;
use crate::{
    domain::codes::{self as rules, CertificationLevel},
    error::{AppError, GqlResultExt},
    graphql::{
        catalog::Package,
        context::ContextExt,
        relay::id_arg,
        scalars::{BigInt, Date, count},
    },
    service::{
        organizations,
        voucher_plans::{self, PartRequest, PlannedPart, Suggestion},
    },
};

/// Input of `voucherPlan`: one plan (`people`, `certificationsEach`,
/// `examsPerCertification`, and `level` or `exams`), or several `parts`.
#[derive(InputObject)]
pub struct VoucherPlanInput {
    /// The agreement the vouchers would be ordered under.
    pub agreement_id: ID,
    /// People to certify (a one-part plan).
    pub people: Option<i32>,
    /// Certifications each person takes (a one-part plan).
    pub certifications_each: Option<i32>,
    /// Exams per certification (a one-part plan).
    pub exams_per_certification: Option<i32>,
    /// Level of the certifications; may be left out when `exams` are named.
    pub level: Option<CertificationLevel>,
    /// The exams planned for, by code: each must be in the catalog
    /// and not retired; the preparation is that of the most advanced.
    pub exams: Option<Vec<String>>,
    /// A plan of several parts, for example basic and advanced
    /// certifications at once (instead of the fields above); at most 10.
    pub parts: Option<Vec<VoucherPlanPartInput>>,
}

/// One part of a voucher plan.
#[derive(InputObject)]
pub struct VoucherPlanPartInput {
    /// People to certify.
    pub people: i32,
    /// Certifications each person takes.
    pub certifications_each: i32,
    /// Exams per certification.
    pub exams_per_certification: i32,
    /// Level of the certifications; may be left out when `exams` are named.
    pub level: Option<CertificationLevel>,
    /// The exams, by code: a pack must be able to book every one of them.
    pub exams: Option<Vec<String>>,
}

/// One part of a plan, planned.
#[derive(SimpleObject)]
pub struct VoucherPlanPart {
    /// The level prepared for.
    pub level: CertificationLevel,
    /// The exams named, if any.
    pub exams: Vec<String>,
    /// People x certifications each x exams per certification.
    pub vouchers_needed: i32,
    /// Months of preparation the level needs (6 basic, 12 advanced).
    pub preparation_months: i32,
    /// Whether the months left on the agreement cover it.
    pub enough_time: bool,
    /// Unused, unexpired exam vouchers the organization holds that can serve
    /// this part (each counted once, for the first part it can serve).
    pub held_unused: i32,
    /// What is left to order.
    pub to_order: i32,
    /// Vouchers no pack orderable under the agreement today can supply.
    pub unmet: i32,
}

impl From<PlannedPart> for VoucherPlanPart {
    fn from(p: PlannedPart) -> Self {
        Self {
            level: p.level,
            exams: p.exams,
            vouchers_needed: count(p.vouchers_needed),
            preparation_months: i32::try_from(p.preparation_months).unwrap_or(12),
            enough_time: p.enough_time,
            held_unused: count(p.held),
            to_order: count(p.to_order),
            unmet: count(p.unmet),
        }
    }
}

/// An order the planner suggests: placed PRORATED today, it would cost this.
#[derive(SimpleObject)]
pub struct SuggestedOrder {
    /// The package.
    pub package: Package,
    /// Packs to order.
    pub quantity: i32,
    /// Vouchers they bring.
    pub vouchers: i32,
    /// The term priced: PRORATED, to the agreement's end.
    pub term: OrderTerm,
    /// The order would run from this day ...
    pub starts_on: Date,
    /// ... to this one.
    pub ends_on: Date,
    /// Started months charged.
    pub months_charged: i32,
    /// Quantity discount, in percent.
    pub discount_percent: i32,
    /// The order's total, in cents, at today's prices.
    pub total_cents: BigInt,
}

impl From<Suggestion> for SuggestedOrder {
    fn from(s: Suggestion) -> Self {
        Self {
            package: Package(s.package),
            quantity: s.quantity,
            vouchers: count(s.vouchers),
            term: OrderTerm::Prorated,
            starts_on: s.quote.starts_on.into(),
            ends_on: s.quote.ends_on.into(),
            months_charged: i32::try_from(s.quote.price.months_charged).unwrap_or(i32::MAX),
            discount_percent: i32::try_from(s.quote.price.discount_percent).unwrap_or(0),
            total_cents: BigInt(s.quote.price.total_cents),
        }
    }
}

/// How many vouchers a plan needs, whether the agreement leaves time, what
/// is held already and what to order.
#[derive(SimpleObject)]
pub struct VoucherPlan {
    /// Vouchers the whole plan needs.
    pub vouchers_needed: i32,
    /// Months left on the agreement today, a started month counting whole.
    pub months_left: i32,
    /// Months of preparation the most demanding part needs.
    pub preparation_months: i32,
    /// Whether the months left cover every part's preparation.
    pub enough_time: bool,
    /// The agreement planned against.
    pub agreement: Agreement,
    /// Each part of the plan.
    pub parts: Vec<VoucherPlanPart>,
    /// Unused vouchers already held that the plan counts on.
    pub held_unused: i32,
    /// Vouchers left to order.
    pub to_order: i32,
    /// The cheapest mix of packs covering what is left to order, one order
    /// per package, priced PRORATED today.
    pub suggested_orders: Vec<SuggestedOrder>,
    /// What the suggested orders cost together, in cents.
    pub suggested_total_cents: BigInt,
    /// Vouchers no pack orderable under the agreement can supply.
    pub unmet_vouchers: i32,
}

/// Most exams one plan part may name.
const MAX_PLAN_EXAMS: usize = 100;
/// Most parts in one plan.
const MAX_PLAN_PARTS: usize = 10;
/// A plan's complexity: it reads the catalog and the codes held and
/// prices each pack, about as much as a page of 100 rows.
pub(crate) const PLAN_COST: usize = 100;
/// Most of each count in a voucher plan.
const MAX_PLAN_COUNT: i32 = 1_000_000;

fn bad(message: impl Into<String>) -> async_graphql::Error {
    AppError::bad_input(message).into_graphql()
}

/// One part's request, its counts checked.
fn part(
    people: Option<i32>,
    certifications_each: Option<i32>,
    exams_per_certification: Option<i32>,
    level: Option<CertificationLevel>,
    exams: Option<Vec<String>>,
) -> Result<PartRequest> {
    let mut counts = [0; 3];
    for (slot, (name, n)) in counts.iter_mut().zip([
        ("people", people),
        ("certificationsEach", certifications_each),
        ("examsPerCertification", exams_per_certification),
    ]) {
        let n = n.ok_or_else(|| bad(format!("`{name}` is required")))?;
        if !(1..=MAX_PLAN_COUNT).contains(&n) {
            return Err(bad(format!("`{name}` must be between 1 and {MAX_PLAN_COUNT}")));
        }
        *slot = n;
    }
    let exams = exams.unwrap_or_default();
    if exams.len() > MAX_PLAN_EXAMS {
        return Err(bad(format!("a plan names at most {MAX_PLAN_EXAMS} exams")));
    }
    if level.is_none() && exams.is_empty() {
        return Err(bad("give the plan a `level` or the `exams` it is for"));
    }
    let vouchers = rules::vouchers_needed(counts[0], counts[1], counts[2]).ok_or_else(too_many)?;
    Ok(PartRequest { level, exams, vouchers })
}

fn too_many() -> async_graphql::Error {
    bad(format!(
        "a plan may need at most {} vouchers (people x certificationsEach x examsPerCertification)",
        rules::MAX_PLAN_VOUCHERS
    ))
}

/// The parts a plan's input asks for.
fn parts_of(input: VoucherPlanInput) -> Result<Vec<PartRequest>> {
    let Some(parts) = input.parts else {
        return Ok(vec![part(
            input.people,
            input.certifications_each,
            input.exams_per_certification,
            input.level,
            input.exams,
        )?]);
    };
    let single = [input.people, input.certifications_each, input.exams_per_certification];
    if single.iter().any(Option::is_some) || input.level.is_some() || input.exams.is_some() {
        return Err(bad("give either `parts` or one plan's fields, not both"));
    }
    if !(1..=MAX_PLAN_PARTS).contains(&parts.len()) {
        return Err(bad(format!("a plan has 1 to {MAX_PLAN_PARTS} parts")));
    }
    let parts = parts
        .into_iter()
        .map(|p| part(Some(p.people), Some(p.certifications_each), Some(p.exams_per_certification), p.level, p.exams))
        .collect::<Result<Vec<_>>>()?;
    let total: i64 = parts.iter().map(|p| p.vouchers).sum();
    if total > rules::MAX_PLAN_VOUCHERS {
        return Err(too_many());
    }
    Ok(parts)
}

/// `voucherPlan`.
#[derive(Default)]
pub struct PlanQuery;

#[Object]
impl PlanQuery {
    /// Vouchers needed for a certification plan, part by part, whether the
    /// months left on the agreement cover the preparation, the unused
    /// vouchers the organization already holds, and the cheapest mix of
    /// packs to order for the rest at today's prices. Null when the
    /// agreement is not the caller's to see. Costly: it prices every pack.
    #[graphql(complexity = "PLAN_COST + child_complexity")]
    async fn voucher_plan(&self, ctx: &Context<'_>, input: VoucherPlanInput) -> Result<Option<VoucherPlan>> {
        let viewer = ctx.signed_in().gql()?;
        let agreement_id = id_arg("Agreement", "agreementId", &input.agreement_id).gql()?;
        let parts = parts_of(input)?;
        let db = ctx.db().gql()?;
        let Some(agreement) = organizations::agreement(db, viewer, agreement_id).await.gql()? else {
            return Ok(None);
        };
        let now = ctx.clock().gql()?.now();
        // What the organization holds is its administrators' (and the desk's) to see.
        let count_held = crate::service::scope::administers(viewer, agreement.organization_id);
        let plan = voucher_plans::plan(db, &agreement, &parts, count_held, now).await.gql()?;
        let parts: Vec<VoucherPlanPart> = plan.parts.into_iter().map(Into::into).collect();
        let suggested: Vec<SuggestedOrder> = plan.suggestions.into_iter().map(Into::into).collect();
        let sum = |f: fn(&VoucherPlanPart) -> i32| parts.iter().map(|p| i64::from(f(p))).sum::<i64>();
        Ok(Some(VoucherPlan {
            vouchers_needed: count(sum(|p| p.vouchers_needed)),
            months_left: i32::try_from(plan.months_left).unwrap_or(i32::MAX),
            preparation_months: parts.iter().map(|p| p.preparation_months).max().unwrap_or(6),
            enough_time: parts.iter().all(|p| p.enough_time),
            agreement: Agreement(agreement),
            held_unused: count(sum(|p| p.held_unused)),
            to_order: count(sum(|p| p.to_order)),
            unmet_vouchers: count(sum(|p| p.unmet)),
            suggested_total_cents: BigInt(suggested.iter().map(|s| s.total_cents.0).sum()),
            suggested_orders: suggested,
            parts,
        }))
    }
}
