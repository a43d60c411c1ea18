//! A partner account's records in GraphQL: passed exams and competency
//! requirements, the eligibility dry run (R-24 .. R-26),
//! directory listings, renewal reminders and account merges
//!

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use entity::{
    competency_requirement, directory_listing,
    enums::{BenefitProduct, CompetencyLevel, ListingStatus, Offer},
    organization, partner_certification, partner_merge,
};

use crate::{
    auth::Role,
    domain::{
        benefits::{self, Fate, Side},
        memberships::{Requirement, Unmet},
    },
    error::{AppError, GqlResultExt, UserError},
    graphql::{
        context::ContextExt,
        memberships::Membership,
        organizations::Organization,
        relay::{id_arg, input_id, input_row},
        reviews::{FactReview, PendingFacts},
        scalars::{BigInt, Date, Instant, count},
    },
    id,
    service::{
        memberships::partner,
        merges::{self, Plan},
        partners::{self as service, Due, Listing, PassedExam as PassedExamInput},
    },
};

const PARTNER_ROLES: [Role; 2] = [Role::PartnerAdmin, Role::Admin];

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

/// A learning partner directory listing.
pub struct DirectoryListing(pub directory_listing::Model);

/// A learning partner directory listing.
#[Object]
impl DirectoryListing {
    /// Opaque global id.
    async fn id(&self) -> ID {
        ID(id::encode("DirectoryListing", self.0.id))
    }
    /// The name shown.
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    /// ISO 3166-1 alpha-2 country code.
    async fn country(&self) -> &str {
        &self.0.country
    }
    /// The partner's https homepage.
    async fn homepage_url(&self) -> &str {
        &self.0.homepage_url
    }
    /// The day it was submitted.
    async fn submitted_on(&self) -> Date {
        self.0.submitted_on.into()
    }
    /// The first day of the processing week (days 15-21 of the month; R-30).
    async fn processing_week_of(&self) -> Date {
        self.0.processing_week_of.into()
    }
    /// The day it becomes visible once approved: the 7th of the month after processing.
    async fn visible_from(&self) -> Date {
        self.0.visible_from.into()
    }
    /// Submitted (waiting for the desk), approved, rejected or withdrawn.
    async fn status(&self) -> ListingStatus {
        self.0.status
    }
    /// When the desk approved or rejected it.
    async fn reviewed_at(&self) -> Option<Instant> {
        self.0.reviewed_at.map(Instant)
    }
    /// Why the desk rejected it.
    async fn rejection_reason(&self) -> Option<&str> {
        self.0.rejection_reason.as_deref()
    }
}

/// Which date of a membership a reminder is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum RenewalDue {
    /// The anniversary: the renewal window opens the next day.
    Anniversary,
    /// The last day of the renewal window: the membership expires after it.
    WindowCloses,
}

/// A membership date coming up.
#[derive(SimpleObject)]
pub struct UpcomingRenewal {
    /// The day.
    pub on: Date,
    /// What happens that day.
    pub due: RenewalDue,
    /// Days from `asOf` to it.
    pub days_left: i32,
    /// The membership.
    pub membership: Membership,
}

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

/// Partner queries.
#[derive(Default)]
pub struct PartnerQuery;

#[Object]
impl PartnerQuery {
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

    /// A partner's directory listings, newest first; empty when the partner
    /// is not the caller's.
    async fn directory_listings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The partner.")] organization_id: ID,
    ) -> Result<Vec<DirectoryListing>> {
        let viewer = ctx.signed_in().gql()?;
        let org = id_arg("Organization", "organizationId", &organization_id).gql()?;
        let db = ctx.db().gql()?;
        if partner(db, viewer, org).await.gql()?.is_none() {
            return Ok(vec![]);
        }
        Ok(service::listings_of(db, org).await.gql()?.into_iter().map(DirectoryListing).collect())
    }

    /// Memberships whose anniversary or renewal window end falls within
    /// `within` days of `asOf` (default today), soonest first: all for
    /// admins, their own for partner administrators.
    async fn upcoming_renewals(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Days to look ahead, 0..366.")] within: i32,
        #[graphql(desc = "The first day (default today).")] as_of: Option<Date>,
        #[graphql(desc = "Only this partner's memberships.")] organization_id: Option<ID>,
        #[graphql(desc = "At most this many, 1..500 (default 100).", default = 100)] first: i32,
    ) -> Result<Vec<UpcomingRenewal>> {
        let viewer = ctx.signed_in().gql()?;
        let org = organization_id.map(|id| id_arg("Organization", "organizationId", &id)).transpose().gql()?;
        let limit = usize::try_from(first)
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| AppError::bad_input("`first` is 1 to 500").into_graphql())?;
        let day = ctx.day_or_today(as_of).gql()?;
        let due =
            service::upcoming_renewals(ctx.db().gql()?, viewer, org, i64::from(within), day, limit).await.gql()?;
        Ok(due
            .into_iter()
            .map(|(on, what, m)| UpcomingRenewal {
                on: on.into(),
                due: match what {
                    Due::Anniversary => RenewalDue::Anniversary,
                    Due::WindowCloses => RenewalDue::WindowCloses,
                },
                days_left: count((on - day).num_days()),
                membership: Membership(m),
            })
            .collect())
    }

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

/// Input of `submitDirectoryListing`.
#[derive(InputObject)]
pub struct SubmitDirectoryListingInput {
    /// The partner.
    pub organization_id: ID,
    /// The name shown, 1..200 characters.
    pub display_name: String,
    /// ISO 3166-1 alpha-2 country code, such as `DE`.
    pub country: String,
    /// The partner-owned homepage, an https URL.
    pub homepage_url: String,
}

/// Input of `mergePartnerAccounts`.
#[derive(InputObject)]
pub struct MergePartnerAccountsInput {
    /// The account that stays.
    pub survivor_id: ID,
    /// The account merged into it, irreversibly.
    pub merged_id: ID,
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

/// Result of `submitDirectoryListing`.
#[derive(SimpleObject)]
pub struct DirectoryListingPayload {
    /// The listing, with its processing week and first visible day.
    pub listing: Option<DirectoryListing>,
    /// Why it was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

crate::graphql::relay::payload_from_outcome!(DirectoryListingPayload {
    listing: DirectoryListing(directory_listing::Model)
});

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

/// Partner mutations.
#[derive(Default)]
pub struct PartnerMutation;

#[Object]
impl PartnerMutation {
    /// Records an exam passed by one of a partner's people.
    async fn record_passed_exam(&self, ctx: &Context<'_>, input: RecordPassedExamInput) -> Result<PassedExamPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_any(&PARTNER_ROLES).gql()?;
        let organization_id = input_row!("Organization", "organizationId", &input.organization_id);
        let exam =
            PassedExamInput { organization_id, person: input.person, exam: input.exam, passed_on: input.passed_on.0 };
        let now = ctx.clock().gql()?.now();
        Ok(service::record_passed_exam(ctx.db().gql()?, viewer, now, exam).await.gql()?.into())
    }

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

    /// Submits a learning partner directory listing: validated, with
    /// the week it is processed and the day it becomes visible.
    async fn submit_directory_listing(
        &self,
        ctx: &Context<'_>,
        input: SubmitDirectoryListingInput,
    ) -> Result<DirectoryListingPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_any(&PARTNER_ROLES).gql()?;
        let organization_id = input_row!("Organization", "organizationId", &input.organization_id);
        let listing = Listing {
            organization_id,
            display_name: input.display_name,
            country: input.country,
            homepage_url: input.homepage_url,
        };
        let now = ctx.clock().gql()?.now();
        Ok(service::submit_listing(ctx.db().gql()?, viewer, now, listing).await.gql()?.into())
    }

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
