//! Partner memberships in GraphQL (R-21 .. ): reading a
//! membership's calendar on any day, enrolment, renewal, reactivation by
//! exception, and the certified trainer roster.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::NaiveDate;
use entity::{
    certified_trainer,
    enums::{BenefitProduct, CodeKind, CodeStatus, CompetencyLevel, Offer},
    membership,
};

use crate::{
    domain::memberships::{Standing, anniversary_in_force, benefits_active, renewal_window, standing},
    error::{AppError, GqlResultExt, UserError},
    graphql::{
        codes::{Code, nested_codes},
        context::ContextExt,
        kpis::KpiTotal,
        loaders::{ExceptionsOf, OrganizationId, loader_error},
        organizations::Organization,
        relay::{
            IdConnection, TotalCount, connection, connection_cost, id_arg, input_row, page_request,
            payload_from_outcome,
        },
        reviews::FactReview,
        scalars::{Date, Instant},
    },
    id,
    service::{
        catalog::{self},
        codes::{CodeFilter, CodeSource},
        kpis,
        memberships::{self as service, Enrolment, ExtraGrant, MembershipFilter},
    },
};

/// A partner's membership in an offer (R-21 .. R-27).
pub struct Membership(pub membership::Model);

/// Where a membership stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum MembershipStatus {
    /// Within its term.
    Active,
    /// Past its anniversary, inside the 30-day renewal window; benefits stay active.
    InRenewalWindow,
    /// Past the window, or ended by a merge: benefits are lost.
    Expired,
}

impl From<Standing> for MembershipStatus {
    fn from(s: Standing) -> Self {
        match s {
            Standing::Active => Self::Active,
            Standing::InRenewalWindow => Self::InRenewalWindow,
            Standing::Expired => Self::Expired,
        }
    }
}

/// The renewal window after an anniversary.
#[derive(SimpleObject)]
pub struct RenewalWindow {
    /// The day after the anniversary.
    pub opens_on: Date,
    /// The 30th day of the window; the membership expires after it.
    pub closes_on: Date,
}

/// An exception an administrator granted to reactivate a membership.
#[derive(SimpleObject)]
pub struct MembershipException {
    /// Who granted it.
    pub granted_by: String,
    /// Why (the "support ticket").
    pub reason: String,
    /// When.
    pub granted_at: Instant,
}

impl Membership {
    fn anniversary_on(&self, as_of: NaiveDate) -> Result<NaiveDate, AppError> {
        anniversary_in_force(self.0.purchased_on, u32::try_from(self.0.renewals).unwrap_or(0), as_of)
            .ok_or_else(|| AppError::internal(format!("membership {} has no anniversary", self.0.id)))
    }
}

/// A partner's membership in an offer (R-21 .. R-27).
#[Object]
impl Membership {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        ID(id::encode("Membership", self.0.id))
    }

    /// ACTION_PACK, LEARNING_ACTION_PACK or COMPETENCY.
    async fn offer(&self) -> Offer {
        self.0.offer
    }

    /// SILVER or GOLD, for a competency.
    async fn level(&self) -> Option<CompetencyLevel> {
        self.0.level
    }

    /// The competency's area, such as `Cloud Platform`.
    async fn competency(&self) -> Option<&str> {
        self.0.competency.as_deref()
    }

    /// Whether it includes the learning option.
    async fn learning_option(&self) -> bool {
        self.0.learning_option
    }

    /// The partner global account it belongs to.
    async fn partner_global_account(&self) -> &str {
        &self.0.partner_global_account
    }

    /// The purchase date.
    async fn purchased_on(&self) -> Date {
        self.0.purchased_on.into()
    }

    /// Renewals so far; each moved the anniversary one year on.
    async fn renewals(&self) -> i32 {
        self.0.renewals
    }

    /// The anniversary of the term in force on `asOf` (default today): the
    /// purchase's month and day, 29 February -> 28 February in common years.
    async fn anniversary(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The day (default today).")] as_of: Option<Date>,
    ) -> Result<Date> {
        let day = ctx.day_or_today(as_of).gql()?;
        Ok(self.anniversary_on(day).gql()?.into())
    }

    /// ACTIVE, IN_RENEWAL_WINDOW or EXPIRED on `asOf` (default today).
    async fn status(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The day (default today).")] as_of: Option<Date>,
    ) -> Result<MembershipStatus> {
        let day = ctx.day_or_today(as_of).gql()?;
        let anniversary = self.anniversary_on(day).gql()?;
        Ok(standing(anniversary, self.0.ended_on, day).into())
    }

    /// The renewal window after the anniversary of the term in force on
    /// `asOf` (default today): its next day through 30 days later.
    async fn renewal_window(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The day (default today).")] as_of: Option<Date>,
    ) -> Result<RenewalWindow> {
        let day = ctx.day_or_today(as_of).gql()?;
        let anniversary = self.anniversary_on(day).gql()?;
        let (opens, closes) =
            renewal_window(anniversary).ok_or_else(|| AppError::internal("no renewal window").into_graphql())?;
        Ok(RenewalWindow { opens_on: opens.into(), closes_on: closes.into() })
    }

    /// Whether its benefits are active on `asOf` (default today): through the
    /// renewal window, not after.
    async fn benefits_active(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The day (default today).")] as_of: Option<Date>,
    ) -> Result<bool> {
        let day = ctx.day_or_today(as_of).gql()?;
        let anniversary = self.anniversary_on(day).gql()?;
        Ok(benefits_active(standing(anniversary, self.0.ended_on, day)))
    }

    /// Whether it was bought as an upgrade from SILVER, with the upgrade discount.
    async fn upgrade_discount(&self) -> bool {
        self.0.upgrade_discount
    }

    /// The SILVER membership it upgraded, if any.
    async fn upgraded_from_id(&self) -> Option<ID> {
        self.0.upgraded_from_id.map(|m| ID(id::encode("Membership", m)))
    }

    /// The day it was ended (an upgrade or a merge), if it was.
    async fn ended_on(&self) -> Option<Date> {
        self.0.ended_on.map(Date::from)
    }

    /// Why it was ended.
    async fn ended_reason(&self) -> Option<&str> {
        self.0.ended_reason.as_deref()
    }

    /// The last day of its core benefits, when a merge ended them at its
    /// renewal; null when they follow its renewals.
    async fn core_benefits_until(&self) -> Option<Date> {
        self.0.core_benefits_until.map(Date::from)
    }

    /// The benefits it granted: activation tokens, product keys and
    /// Visual Studio subscriptions, as codes. They work through its renewal
    /// window and show EXPIRED after it.
    #[graphql(complexity = "connection_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments, reason = "GraphQL arguments")]
    async fn benefits(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size from the start, 1..100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1..100.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
        #[graphql(desc = "Only codes showing this status today.")] status: Option<CodeStatus>,
        #[graphql(desc = "Only codes of this kind.")] kind: Option<CodeKind>,
    ) -> Result<IdConnection<Code>> {
        let request = page_request(first, after, last, before).gql()?;
        let filter = CodeFilter { status, kind, ..CodeFilter::default() };
        nested_codes(ctx, CodeSource::Membership(self.0.id), request, filter).await
    }

    /// The KPIs counting towards the renewal at the anniversary in force on
    /// `asOf` (default today), as visible on `asOf`.
    async fn kpi_total(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The day of evaluation (default today).")] as_of: Option<Date>,
    ) -> Result<KpiTotal> {
        let day = ctx.day_or_today(as_of).gql()?;
        let anniversary = self.anniversary_on(day).gql()?;
        let total = kpis::kpi_total(ctx.db().gql()?, self.0.organization_id, anniversary, day).await.gql()?;
        KpiTotal::from_service(total)
    }

    /// Exceptions granted to reactivate it, with their reasons.
    async fn exceptions(&self, ctx: &Context<'_>) -> Result<Vec<MembershipException>> {
        let loaders = ctx.loaders().gql()?;
        let rows = loaders.load_one(ExceptionsOf(self.0.id)).await.map_err(loader_error)?.unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|e| MembershipException {
                granted_by: e.granted_by,
                reason: e.reason,
                granted_at: Instant(e.granted_at),
            })
            .collect())
    }

    /// The partner organization.
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        let loaders = ctx.loaders().gql()?;
        Ok(loaders.load_one(OrganizationId(self.0.organization_id)).await.map_err(loader_error)?.map(Organization))
    }
}

/// A Microsoft Certified Trainer on a partner's roster.
pub struct CertifiedTrainer(pub certified_trainer::Model);

/// A Microsoft Certified Trainer on a partner's roster.
#[Object]
impl CertifiedTrainer {
    /// Opaque global id.
    async fn id(&self) -> ID {
        ID(id::encode("CertifiedTrainer", self.0.id))
    }

    /// The trainer's name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The trainer's MCT id.
    async fn mct_id(&self) -> &str {
        &self.0.mct_id
    }

    /// When the trainer was added.
    async fn added_at(&self) -> Instant {
        Instant(self.0.added_at)
    }

    /// Where it stands with the desk: a trainer a partner adds counts once
    /// verified.
    async fn review(&self) -> FactReview {
        let t = &self.0;
        FactReview::of(t.review, &t.reviewed_by, t.reviewed_at, &t.rejection_reason)
    }
}

/// Membership queries.
#[derive(Default)]
pub struct MembershipQuery;

#[Object]
impl MembershipQuery {
    /// Memberships the caller may see: admins all, partner administrators
    /// their own partner's; nobody else any.
    #[graphql(complexity = "connection_cost(first, last, child_complexity)")]
    async fn memberships(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size from the start, 1..100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1..100.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
        #[graphql(desc = "Only this partner's memberships.")] organization_id: Option<ID>,
        #[graphql(desc = "Only memberships in this offer.")] offer: Option<Offer>,
    ) -> Result<IdConnection<Membership>> {
        let request = page_request(first, after, last, before).gql()?;
        let viewer = ctx.signed_in().gql()?.clone();
        let organization_id =
            organization_id.map(|id| id_arg("Organization", "organizationId", &id)).transpose().gql()?;
        let filter = MembershipFilter { organization_id, offer };
        let db = ctx.db().gql()?.clone();
        let page = service::list_memberships(&db, &viewer, &filter, request).await.gql()?;
        let total = TotalCount::new(move || {
            let (db, viewer, filter) = (db.clone(), viewer.clone(), filter.clone());
            async move { catalog::count(&db, service::memberships_query(&viewer, &filter)).await }
        });
        Ok(connection(page, |m| m.id, Membership, total))
    }

    /// One membership; null when it does not exist or is not the caller's to see.
    async fn membership(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Its global id.")] id: ID,
    ) -> Result<Option<Membership>> {
        let viewer = ctx.signed_in().gql()?;
        let Some(row) = id::decode_as("Membership", &id) else { return Ok(None) };
        Ok(service::membership(ctx.db().gql()?, viewer, row).await.gql()?.map(Membership))
    }

    /// A partner's certified trainers; empty when the partner is not the caller's.
    async fn certified_trainers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The partner.")] organization_id: ID,
    ) -> Result<Vec<CertifiedTrainer>> {
        let viewer = ctx.signed_in().gql()?;
        let org = id_arg("Organization", "organizationId", &organization_id).gql()?;
        let db = ctx.db().gql()?;
        if service::partner(db, viewer, org).await.gql()?.is_none() {
            return Ok(vec![]);
        }
        Ok(service::trainers_of(db, org).await.gql()?.into_iter().map(CertifiedTrainer).collect())
    }
}

/// Input of `enrollMembership`.
#[derive(InputObject)]
pub struct EnrollMembershipInput {
    /// The partner organization.
    pub organization_id: ID,
    /// The offer.
    pub offer: Offer,
    /// For a COMPETENCY: its area, such as `Cloud Platform`.
    pub competency: Option<String>,
    /// For a COMPETENCY: SILVER or GOLD.
    pub level: Option<CompetencyLevel>,
    /// With the learning option.
    #[graphql(default)]
    pub learning_option: bool,
    /// A purchase made before the books were kept here, on or before today
    /// (admin only, R-34): recorded as renewed each year since. Left out,
    /// the purchase is today.
    pub purchased_on: Option<Date>,
}

/// Input of `renewMembership`.
#[derive(InputObject)]
pub struct RenewMembershipInput {
    /// The membership.
    pub id: ID,
    /// The annual fee is paid.
    pub fee_paid: bool,
    /// The company profile is reviewed.
    pub profile_reviewed: bool,
}

/// Input of `reactivateMembership`.
#[derive(InputObject)]
pub struct ReactivateMembershipInput {
    /// The expired membership.
    pub id: ID,
    /// Why the exception is granted (kept).
    pub reason: String,
}

/// Input of `grantMembershipBenefit`.
#[derive(InputObject)]
pub struct GrantMembershipBenefitInput {
    /// The membership.
    pub membership_id: ID,
    /// The product; an ACTION_PACK never grants VISUAL_STUDIO_ENTERPRISE.
    pub product: BenefitProduct,
    /// How many codes, 1..100.
    #[graphql(default = 1)]
    pub codes: i32,
    /// Seats of each Microsoft 365 token (only for MICROSOFT_365_E3).
    pub seats: Option<i32>,
    /// Activations of each product key (only for server products).
    pub activations: Option<i32>,
}

/// Input of `addCertifiedTrainer`.
#[derive(InputObject)]
pub struct AddCertifiedTrainerInput {
    /// The partner organization.
    pub organization_id: ID,
    /// The trainer's name.
    pub name: String,
    /// The trainer's MCT id.
    pub mct_id: String,
}

/// Input of `removeCertifiedTrainer`.
#[derive(InputObject)]
pub struct RemoveCertifiedTrainerInput {
    /// The trainer.
    pub id: ID,
}

/// Result of the membership mutations.
#[derive(SimpleObject)]
pub struct MembershipPayload {
    /// The membership, when the change succeeded.
    pub membership: Option<Membership>,
    /// Why the change was refused (every unmet requirement); empty on success.
    pub user_errors: Vec<UserError>,
}

payload_from_outcome!(MembershipPayload { membership: Membership(membership::Model) });

/// Result of the trainer mutations.
#[derive(SimpleObject)]
pub struct CertifiedTrainerPayload {
    /// The trainer added or removed.
    pub trainer: Option<CertifiedTrainer>,
    /// Why the change was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

payload_from_outcome!(CertifiedTrainerPayload { trainer: CertifiedTrainer(certified_trainer::Model) });

/// Membership mutations.
#[derive(Default)]
pub struct MembershipMutation;

#[Object]
impl MembershipMutation {
    /// Enrols a partner in an offer (its partner administrator, or admin).
    /// Refusals list every unmet requirement with its rule, the required
    /// value and the partner's (R-24 .. R-26).
    async fn enroll_membership(&self, ctx: &Context<'_>, input: EnrollMembershipInput) -> Result<MembershipPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_any(&crate::auth::PARTNER_ROLES).gql()?;
        if input.purchased_on.is_some() {
            viewer.require_admin().gql()?;
        }
        let organization_id = input_row!("Organization", "organizationId", &input.organization_id);
        let enrolment = Enrolment {
            organization_id,
            offer: input.offer,
            competency: input.competency,
            level: input.level,
            learning_option: input.learning_option,
            purchased_on: input.purchased_on.map(|d| d.0),
        };
        let now = ctx.clock().gql()?.now();
        Ok(service::enroll(ctx.db().gql()?, viewer, now, enrolment).await.gql()?.into())
    }

    /// Renews a membership inside its renewal window, with the fee paid and
    /// the company profile reviewed; the anniversary moves one year on.
    async fn renew_membership(&self, ctx: &Context<'_>, input: RenewMembershipInput) -> Result<MembershipPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_any(&crate::auth::PARTNER_ROLES).gql()?;
        let row = input_row!("Membership", "id", &input.id);
        let now = ctx.clock().gql()?.now();
        let outcome =
            service::renew(ctx.db().gql()?, viewer, now, row, input.fee_paid, input.profile_reviewed).await.gql()?;
        Ok(outcome.into())
    }

    /// Reactivates an expired membership by exception, with a reason that is
    /// kept (admin, R-23).
    async fn reactivate_membership(
        &self,
        ctx: &Context<'_>,
        input: ReactivateMembershipInput,
    ) -> Result<MembershipPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_admin().gql()?;
        let row = input_row!("Membership", "id", &input.id);
        let now = ctx.clock().gql()?.now();
        Ok(service::reactivate(ctx.db().gql()?, viewer, now, row, input.reason).await.gql()?.into())
    }

    /// Grants extra benefits to a live membership (admin; R-27): codes that
    /// follow its term. An ACTION_PACK never grants Visual Studio Enterprise
    /// (NOT_GRANTED_BY_OFFER).
    async fn grant_membership_benefit(
        &self,
        ctx: &Context<'_>,
        input: GrantMembershipBenefitInput,
    ) -> Result<MembershipPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_admin().gql()?;
        let membership_id = input_row!("Membership", "membershipId", &input.membership_id);
        let grant = ExtraGrant {
            membership_id,
            product: input.product,
            codes: input.codes,
            seats: input.seats,
            activations: input.activations,
        };
        let now = ctx.clock().gql()?.now();
        Ok(service::grant_extra(ctx.db().gql()?, viewer, now, grant).await.gql()?.into())
    }

    /// Adds a certified trainer to a partner's roster.
    async fn add_certified_trainer(
        &self,
        ctx: &Context<'_>,
        input: AddCertifiedTrainerInput,
    ) -> Result<CertifiedTrainerPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_any(&crate::auth::PARTNER_ROLES).gql()?;
        let org = input_row!("Organization", "organizationId", &input.organization_id);
        let now = ctx.clock().gql()?.now();
        Ok(service::add_trainer(ctx.db().gql()?, viewer, now, org, input.name, input.mct_id).await.gql()?.into())
    }

    /// Removes a trainer from a partner's roster.
    async fn remove_certified_trainer(
        &self,
        ctx: &Context<'_>,
        input: RemoveCertifiedTrainerInput,
    ) -> Result<CertifiedTrainerPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_any(&crate::auth::PARTNER_ROLES).gql()?;
        let row = input_row!("CertifiedTrainer", "id", &input.id);
        Ok(service::remove_trainer(ctx.db().gql()?, viewer, row).await.gql()?.into())
    }
}
