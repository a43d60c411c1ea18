//! Organizations and agreements in GraphQL, scoped by role.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use entity::{agreement, enums::OrganizationKind, organization};

use crate::{
    domain::{
        dates::started_months,
        organizations::{AgreementDraft, OrganizationDraft},
    },
    error::{GqlResultExt, UserError},
    graphql::{
        catalog::Program,
        context::ContextExt,
        desk::{Change, history_of},
        loaders::{OrganizationId, ProgramId, loader_error},
        relay::{
            IdConnection, TotalCount, connection, connection_cost, id_arg, input_id, input_row, page_request,
            payload_from_outcome,
        },
        scalars::{Date, Instant},
    },
    id,
    service::{
        catalog::{self},
        history::Subject,
        organizations::{self as service, AgreementFilter, OrganizationFilter},
    },
};

/// A customer (enterprise or academic institution) or a partner.
pub struct Organization(pub organization::Model);

/// A customer (enterprise or academic institution) or a partner.
#[Object]
impl Organization {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        ID(id::encode("Organization", self.0.id))
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Enterprise, academic or partner.
    async fn kind(&self) -> OrganizationKind {
        self.0.kind
    }

    /// An accredited academic institution.
    async fn accredited(&self) -> bool {
        self.0.accredited
    }

    /// A Certiport Authorized Testing Center.
    async fn certiport_testing_center(&self) -> bool {
        self.0.certiport_testing_center
    }

    /// Where notices to its administrators go (renewal reminders, expiring
    /// codes, R-36); visible to its customer or partner administrators and
    /// admins, null to others.
    async fn notice_emails(&self, ctx: &Context<'_>) -> Result<Option<Vec<String>>> {
        use crate::auth::Role;
        let viewer = ctx.viewer().gql()?;
        let own = viewer.is_authenticated()
            && viewer.organization_id == Some(self.0.id)
            && (viewer.has(Role::CustomerAdmin) || viewer.has(Role::PartnerAdmin));
        Ok((viewer.is_admin() || own).then(|| serde_json::from_str(&self.0.notice_emails).unwrap_or_default()))
    }

    /// The partner global account id of a partner.
    async fn partner_global_account(&self) -> Option<&str> {
        self.0.partner_global_account.as_deref()
    }

    /// Whether this partner account was merged into another; it is
    /// kept as history and acts for nothing any more.
    async fn merged(&self) -> bool {
        self.0.merged_into_id.is_some()
    }

    /// When the organization was recorded.
    async fn created_at(&self) -> Instant {
        Instant(self.0.created_at)
    }

    /// The desk's changes to the organization, newest first.
    async fn history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many of the latest, 1..100.", default = 20)] first: i32,
    ) -> Result<Vec<Change>> {
        history_of(ctx, Subject::Organization(self.0.id), first).await
    }
}

/// An agreement (enrollment) tying an organization to a program.
pub struct Agreement(pub agreement::Model);

/// An agreement (enrollment) tying an organization to a program.
#[Object]
impl Agreement {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        ID(id::encode("Agreement", self.0.id))
    }

    /// The agreement number.
    async fn number(&self) -> &str {
        &self.0.number
    }

    /// First day of the agreement.
    async fn starts_on(&self) -> Date {
        self.0.starts_on.into()
    }

    /// Last day of the agreement; unused codes expire after it.
    async fn ends_on(&self) -> Date {
        self.0.ends_on.into()
    }

    /// The notice / online contact that receives delivered codes.
    async fn notice_contact(&self) -> &str {
        &self.0.notice_contact
    }

    /// Months left on `asOf` (default today), a started month counting whole.
    async fn months_left(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The day to count from.")] as_of: Option<Date>,
    ) -> Result<i32> {
        let today = as_of.map_or_else(|| ctx.clock().map(|c| c.now().date_naive()), |d| Ok(d.0)).gql()?;
        Ok(i32::try_from(started_months(today, self.0.ends_on)).unwrap_or(i32::MAX))
    }

    /// The organization holding the agreement.
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        let loaders = ctx.loaders().gql()?;
        Ok(loaders.load_one(OrganizationId(self.0.organization_id)).await.map_err(loader_error)?.map(Organization))
    }

    /// The program the agreement is under.
    async fn program(&self, ctx: &Context<'_>) -> Result<Option<Program>> {
        let loaders = ctx.loaders().gql()?;
        Ok(loaders.load_one(ProgramId(self.0.program_id)).await.map_err(loader_error)?.map(Program))
    }

    /// When the agreement was recorded.
    async fn created_at(&self) -> Instant {
        Instant(self.0.created_at)
    }

    /// The desk's changes to the agreement, newest first.
    async fn history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many of the latest, 1..100.", default = 20)] first: i32,
    ) -> Result<Vec<Change>> {
        history_of(ctx, Subject::Agreement(self.0.id), first).await
    }
}

/// Organization and agreement queries.
#[derive(Default)]
pub struct OrganizationQuery;

#[Object]
impl OrganizationQuery {
    /// Organizations the caller may see: admins all; resellers their own and
    /// those they serve; everyone else their own.
    #[graphql(complexity = "connection_cost(first, last, child_complexity)")]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size from the start, 1..100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1..100.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
        #[graphql(desc = "Only organizations of this kind.")] kind: Option<OrganizationKind>,
    ) -> Result<IdConnection<Organization>> {
        let request = page_request(first, after, last, before).gql()?;
        let viewer = ctx.signed_in().gql()?.clone();
        let db = ctx.db().gql()?.clone();
        let filter = OrganizationFilter { kind };
        let page = service::list_organizations(&db, &viewer, &filter, request).await.gql()?;
        let total = TotalCount::new(move || {
            let (db, viewer, filter) = (db.clone(), viewer.clone(), filter.clone());
            async move { catalog::count(&db, service::organizations_query(&viewer, &filter)).await }
        });
        Ok(connection(page, |o| o.id, Organization, total))
    }

    /// One organization; null when it does not exist or is not the caller's to see.
    async fn organization(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Its global id.")] id: ID,
    ) -> Result<Option<Organization>> {
        let viewer = ctx.signed_in().gql()?;
        let Some(row) = id::decode_as("Organization", &id) else { return Ok(None) };
        Ok(service::organization(ctx.db().gql()?, viewer, row).await.gql()?.map(Organization))
    }

    /// Agreements of the organizations the caller may see.
    #[graphql(complexity = "connection_cost(first, last, child_complexity)")]
    async fn agreements(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size from the start, 1..100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1..100.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
        #[graphql(desc = "Only this organization's agreements.")] organization_id: Option<ID>,
    ) -> Result<IdConnection<Agreement>> {
        let request = page_request(first, after, last, before).gql()?;
        let viewer = ctx.signed_in().gql()?.clone();
        let organization_id =
            organization_id.map(|id| id_arg("Organization", "organizationId", &id)).transpose().gql()?;
        let db = ctx.db().gql()?.clone();
        let filter = AgreementFilter { organization_id };
        let page = service::list_agreements(&db, &viewer, &filter, request).await.gql()?;
        let total = TotalCount::new(move || {
            let (db, viewer, filter) = (db.clone(), viewer.clone(), filter.clone());
            async move { catalog::count(&db, service::agreements_query(&viewer, &filter)).await }
        });
        Ok(connection(page, |a| a.id, Agreement, total))
    }
}

/// Input of `createOrganization`.
#[derive(InputObject)]
pub struct CreateOrganizationInput {
    /// Display name (1-200 characters).
    pub name: String,
    /// Enterprise, academic or partner.
    pub kind: OrganizationKind,
    /// An accredited academic institution (academic only).
    #[graphql(default)]
    pub accredited: bool,
    /// A Certiport Authorized Testing Center (academic only).
    #[graphql(default)]
    pub certiport_testing_center: bool,
    /// The partner global account id (partners only, required for them).
    pub partner_global_account: Option<String>,
    /// Partner organizations that resell to this one.
    #[graphql(default)]
    pub reseller_ids: Vec<ID>,
}

/// Input of `linkReseller`.
#[derive(InputObject)]
pub struct LinkResellerInput {
    /// The reseller: a partner organization.
    pub reseller_id: ID,
    /// The organization it serves.
    pub customer_id: ID,
}

/// Input of `createAgreement`.
#[derive(InputObject)]
pub struct CreateAgreementInput {
    /// The organization holding the agreement.
    pub organization_id: ID,
    /// The program's code, such as `EES`.
    pub program_code: String,
    /// Unique agreement number: 3-64 of A-Z, 0-9 and `-`.
    pub number: String,
    /// First day.
    pub starts_on: Date,
    /// Last day (after the first).
    pub ends_on: Date,
    /// E-mail address that receives delivered codes.
    pub notice_contact: String,
}

/// Result of `createOrganization` and `linkReseller`.
#[derive(SimpleObject)]
pub struct OrganizationPayload {
    /// The organization, when the change succeeded.
    pub organization: Option<Organization>,
    /// Why the change was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

payload_from_outcome!(OrganizationPayload { organization: Organization(organization::Model) });

/// Result of `createAgreement`.
#[derive(SimpleObject)]
pub struct AgreementPayload {
    /// The agreement, when the change succeeded.
    pub agreement: Option<Agreement>,
    /// Why the change was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

payload_from_outcome!(AgreementPayload { agreement: Agreement(agreement::Model) });

/// Organization and agreement mutations (admin).
#[derive(Default)]
pub struct OrganizationMutation;

#[Object]
impl OrganizationMutation {
    /// Records a customer or partner organization (admin, R-2).
    async fn create_organization(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganizationInput,
    ) -> Result<OrganizationPayload> {
        ctx.viewer().gql()?.require_admin().gql()?;
        let reseller_ids: std::result::Result<Vec<i64>, _> =
            input.reseller_ids.iter().map(|id| input_id("Organization", "resellerIds", id)).collect();
        let reseller_ids = match reseller_ids {
            Ok(ids) => ids,
            Err(errors) => return Ok(Err(errors).into()),
        };
        let draft = OrganizationDraft {
            name: input.name,
            kind: input.kind,
            accredited: input.accredited,
            certiport_testing_center: input.certiport_testing_center,
            partner_global_account: input.partner_global_account,
        };
        let now = ctx.clock().gql()?.now();
        Ok(service::create_organization(ctx.db().gql()?, now, draft, reseller_ids).await.gql()?.into())
    }

    /// Records that a reseller serves an organization, so it may see it and
    /// place orders for it (admin). Returns the organization served.
    async fn link_reseller(&self, ctx: &Context<'_>, input: LinkResellerInput) -> Result<OrganizationPayload> {
        ctx.viewer().gql()?.require_admin().gql()?;
        let reseller = input_row!("Organization", "resellerId", &input.reseller_id);
        let customer = input_row!("Organization", "customerId", &input.customer_id);
        Ok(service::link_reseller(ctx.db().gql()?, reseller, customer).await.gql()?.into())
    }

    /// Records an agreement of an organization under a program (admin, R-3).
    async fn create_agreement(&self, ctx: &Context<'_>, input: CreateAgreementInput) -> Result<AgreementPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_admin().gql()?;
        let organization_id = input_row!("Organization", "organizationId", &input.organization_id);
        let draft = AgreementDraft {
            organization_id,
            program_code: input.program_code,
            number: input.number.trim().to_owned(),
            starts_on: input.starts_on.0,
            ends_on: input.ends_on.0,
            notice_contact: input.notice_contact.trim().to_owned(),
        };
        let now = ctx.clock().gql()?.now();
        let actor = crate::service::codes::actor(viewer);
        Ok(service::create_agreement(ctx.db().gql()?, actor, now, draft).await.gql()?.into())
    }
}
