//! Partner account merges, in GraphQL: the preview and the merge.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use entity::{enums::BenefitProduct, organization, partner_merge};

use crate::{
    domain::benefits::{self, Fate, Side},
    error::{GqlResultExt, UserError},
    graphql::{
        context::ContextExt,
        memberships::Membership,
        organizations::Organization,
        relay::{input_id, input_row},
        scalars::{Date, Instant},
    },
    id,
    service::merges::{self, Plan},
};

/// What a merge does to one membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum MergeFate {
    /// The highest achievement: it and its core benefits package carry on.
    KeepsCorePackage,
    /// Carries on and renews; its core benefits end with its current
    /// renewal window; its competency-specific benefits carry on.
    CoreBenefitsEndAtRenewal,
    /// A duplicate: keeps its benefits until its renewal, then collapses into the one kept.
    CollapsesAtRenewal,
    /// Expired before the merge and duplicated by another: ended by the merge.
    EndsNow,
    /// Expired before the merge: moves over as it is.
    StaysExpired,
}

impl From<Fate> for MergeFate {
    fn from(f: Fate) -> Self {
        match f {
            Fate::KeepsCorePackage => Self::KeepsCorePackage,
            Fate::CoreBenefitsEndAtRenewal => Self::CoreBenefitsEndAtRenewal,
            Fate::CollapsesAtRenewal => Self::CollapsesAtRenewal,
            Fate::EndsNow => Self::EndsNow,
            Fate::StaysExpired => Self::StaysExpired,
        }
    }
}

/// Which account of a merge a membership comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum MergeSide {
    /// The account that stays.
    Survivor,
    /// The account merged into it.
    Merged,
}

/// One membership in a merge plan.
#[derive(SimpleObject)]
pub struct MergePlanEntry {
    /// The membership.
    pub membership: Membership,
    /// The account it comes from.
    pub from: MergeSide,
    /// What the merge does to it.
    pub fate: MergeFate,
    /// The last day its current benefits are sure to work: the end of its
    /// current renewal window ("until its next renewal").
    pub benefits_continue_until: Date,
}

/// One line of a benefits package.
#[derive(SimpleObject)]
pub struct BenefitGrant {
    /// The product.
    pub product: BenefitProduct,
    /// How many codes.
    pub codes: i32,
    /// Seats of each activation token.
    pub seats: Option<i32>,
    /// Activations of each product key.
    pub activations: Option<i32>,
    /// Part of the core package (one per merged account) or competency-specific.
    pub core: bool,
}

/// What a merge of two partner accounts would do; nothing changes.
#[derive(SimpleObject)]
pub struct MergePreview {
    /// The account that stays.
    pub survivor: Organization,
    /// The account merged into it.
    pub merged: Organization,
    /// Every membership of both, with its fate.
    pub memberships: Vec<MergePlanEntry>,
    /// The membership whose core benefits package the account keeps at renewal.
    pub core_package_from: Option<Membership>,
    /// That single core benefits package.
    pub core_package: Vec<BenefitGrant>,
}

fn preview_of(plan: Plan) -> MergePreview {
    let core = plan.core().cloned();
    let core_package = core
        .as_ref()
        .map(|m| {
            benefits::package(m.offer, m.level)
                .iter()
                .filter(|g| g.core)
                .map(|g| BenefitGrant {
                    product: g.product,
                    codes: i32::try_from(g.codes).unwrap_or(i32::MAX),
                    seats: g.seats,
                    activations: g.activations,
                    core: g.core,
                })
                .collect()
        })
        .unwrap_or_default();
    MergePreview {
        survivor: Organization(plan.survivor),
        merged: Organization(plan.merged),
        memberships: plan
            .entries
            .into_iter()
            .map(|e| MergePlanEntry {
                from: if e.side == Side::Survivor { MergeSide::Survivor } else { MergeSide::Merged },
                fate: e.fate.into(),
                benefits_continue_until: e.window_closes.into(),
                membership: Membership(e.membership),
            })
            .collect(),
        core_package_from: core.map(Membership),
        core_package,
    }
}

/// The answer of `mergePreview`: the plan, or why there can be none.
#[derive(SimpleObject)]
pub struct MergePreviewResult {
    /// The plan, when the merge is possible.
    pub preview: Option<MergePreview>,
    /// Why it is not; empty when it is.
    pub user_errors: Vec<UserError>,
}

/// Input of `mergePartnerAccounts`.
#[derive(InputObject)]
pub struct MergePartnerAccountsInput {
    /// The account that stays.
    pub survivor_id: ID,
    /// The account merged into it, irreversibly.
    pub merged_id: ID,
}

/// A merge that happened.
pub struct PartnerMerge(pub partner_merge::Model);

/// A merge that happened.
#[Object]
impl PartnerMerge {
    /// Opaque global id.
    async fn id(&self) -> ID {
        ID(id::encode("PartnerMerge", self.0.id))
    }
    /// Who merged.
    async fn merged_by(&self) -> &str {
        &self.0.merged_by
    }
    /// When.
    async fn merged_at(&self) -> Instant {
        Instant(self.0.merged_at)
    }
    /// The plan that was carried out, as JSON text (kept as history).
    async fn summary(&self) -> &str {
        &self.0.summary
    }
}

/// Result of `mergePartnerAccounts`.
#[derive(SimpleObject)]
pub struct MergePartnerAccountsPayload {
    /// The surviving account.
    pub survivor: Option<Organization>,
    /// The record of the merge.
    pub merge: Option<PartnerMerge>,
    /// Why it was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

impl From<crate::service::Outcome<(organization::Model, partner_merge::Model)>> for MergePartnerAccountsPayload {
    fn from(outcome: crate::service::Outcome<(organization::Model, partner_merge::Model)>) -> Self {
        match outcome {
            Ok((org, merge)) => {
                Self { survivor: Some(Organization(org)), merge: Some(PartnerMerge(merge)), user_errors: vec![] }
            }
            Err(user_errors) => Self { survivor: None, merge: None, user_errors },
        }
    }
}

/// Merge queries.
#[derive(Default)]
pub struct MergeQuery;

#[Object]
impl MergeQuery {
    /// What merging one partner account into another would do (admin;
    /// each membership's fate, until when its benefits continue, and
    /// the single core benefits package kept. Nothing changes.
    async fn merge_preview(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account that stays.")] survivor_id: ID,
        #[graphql(desc = "The account merged into it.")] merged_id: ID,
        #[graphql(desc = "The day of the merge (default today).")] as_of: Option<Date>,
    ) -> Result<MergePreviewResult> {
        ctx.viewer().gql()?.require_admin().gql()?;
        let ids = input_id("Organization", "survivorId", &survivor_id)
            .and_then(|s| input_id("Organization", "mergedId", &merged_id).map(|m| (s, m)));
        let (survivor, merged) = match ids {
            Ok(pair) => pair,
            Err(user_errors) => return Ok(MergePreviewResult { preview: None, user_errors }),
        };
        let day = ctx.day_or_today(as_of).gql()?;
        Ok(match merges::preview(ctx.db().gql()?, survivor, merged, day).await.gql()? {
            Ok(plan) => MergePreviewResult { preview: Some(preview_of(plan)), user_errors: vec![] },
            Err(user_errors) => MergePreviewResult { preview: None, user_errors },
        })
    }
}

/// Merge mutations.
#[derive(Default)]
pub struct MergeMutation;

#[Object]
impl MergeMutation {
    /// Merges one partner account into another (admin; R-29), irreversibly,
    /// in one transaction, as `mergePreview` shows it. History is kept.
    async fn merge_partner_accounts(
        &self,
        ctx: &Context<'_>,
        input: MergePartnerAccountsInput,
    ) -> Result<MergePartnerAccountsPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_admin().gql()?;
        let survivor = input_row!("Organization", "survivorId", &input.survivor_id);
        let merged = input_row!("Organization", "mergedId", &input.merged_id);
        let now = ctx.clock().gql()?.now();
        Ok(merges::merge(ctx.db().gql()?, viewer, now, survivor, merged).await.gql()?.into())
    }
}
