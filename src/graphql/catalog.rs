//! The catalog in GraphQL: `Program`, `Package`, their queries and the
//! admin-only mutations.
//!
//! Who sees what: anyone reads active programs and packages that are not
//! retired; retired packages and inactive programs stay readable for
//! signed-in callers (R-9: codes stay usable under existing agreements).

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use entity::{
    discount_tier,
    enums::{PackageKind, ProgramKind, SolutionArea},
    package, program,
};

use crate::{
    auth::Viewer,
    domain::catalog::{DiscountTierDraft, PackageDraft, PackagePatch, ProgramDraft, ProgramPatch},
    error::{AppError, GqlResultExt, UserError},
    graphql::{
        context::ContextExt,
        loaders::{AreasOf, FamiliesOf, ProgramsOf, TiersOf, loader_error},
        relay::{IdConnection, TotalCount, connection, connection_cost, input_row, page_request, payload_from_outcome},
    },
    id,
    service::{
        catalog::{self, PackageFilter, ProgramFilter},
        page::PageRequest,
    },
};

/// A way to buy: a licensing program.
pub struct Program(pub program::Model);

/// Money in integer cents.
#[derive(SimpleObject)]
pub struct Money {
    /// Amount in the currency's minor unit (cents), within GraphQL's 32-bit
    /// `Int`: prices are entered as `Int` and order totals are bounded to
    /// it when the order is placed.
    pub cents: i32,
    /// ISO 4217 currency code.
    pub currency: String,
}

impl Money {
    /// `cents` of `currency`; past 32 bits (which the rules that bound
    /// prices and totals never let through) an `INTERNAL` error rather
    /// than a wrong amount.
    pub fn of(cents: i64, currency: &str) -> Result<Self> {
        let cents = i32::try_from(cents)
            .map_err(|_| AppError::internal(format!("an amount of {cents} cents passed 32 bits")).into_graphql())?;
        Ok(Self { cents, currency: currency.to_owned() })
    }
}

/// A way to buy: a licensing program.
#[Object]
impl Program {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        ID(id::encode("Program", self.0.id))
    }

    /// Unique program code, such as `EES`.
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Volume, academic or partner.
    async fn kind(&self) -> ProgramKind {
        self.0.kind
    }

    /// What the program is for.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// False once the program is retired: hidden from ordering, history kept.
    async fn active(&self) -> bool {
        self.0.active
    }

    /// Packages that can be ordered under this program.
    #[graphql(complexity = "connection_cost(first, last, child_complexity)")]
    async fn packages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size from the start, 1..100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1..100.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
        #[graphql(desc = "Include retired packages (signed-in callers).", default = false)] include_retired: bool,
    ) -> Result<IdConnection<Package>> {
        let filter = PackageFilter { program_code: Some(self.0.code.clone()), kind: None, include_retired };
        list_packages(ctx, filter, page_request(first, after, last, before).gql()?).await
    }
}

/// Something that can be ordered under one or more programs: a single
/// service subscription license with one single-tier price.
pub struct Package(pub package::Model);

/// Something that can be ordered under one or more programs: a single
/// service subscription license with one single-tier price.
#[Object]
impl Package {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        ID(id::encode("Package", self.0.id))
    }

    /// Unique stock-keeping unit, such as `MCP-VOUCHER`.
    async fn sku(&self) -> &str {
        &self.0.sku
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What the package delivers.
    async fn kind(&self) -> PackageKind {
        self.0.kind
    }

    /// What the package is for.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// Single-tier list price of one pack for 12 months.
    async fn list_price(&self) -> Result<Money> {
        Money::of(self.0.list_price_cents, &self.0.currency)
    }

    /// Codes delivered per pack ordered; null for one code per pack.
    async fn vouchers_per_pack(&self) -> Option<i32> {
        self.0.vouchers_per_pack
    }

    /// Seats each activation token of a pack carries; null for other kinds.
    async fn seats_per_token(&self) -> Option<i32> {
        self.0.seats_per_token
    }

    /// Activations each product key of a pack allows; null for other kinds.
    async fn activations_per_key(&self) -> Option<i32> {
        self.0.activations_per_key
    }

    /// Ordering needs an accredited academic organization.
    async fn requires_accredited(&self) -> bool {
        self.0.requires_accredited
    }

    /// Ordering needs a Certiport Authorized Testing Center.
    async fn requires_certiport_testing_center(&self) -> bool {
        self.0.requires_certiport
    }

    /// Retired packages cannot be ordered but stay readable, and their codes
    /// stay usable under existing agreements.
    async fn retired(&self) -> bool {
        self.0.retired
    }

    /// Exam families covered, such as `MOS` or `MTA+MCE`.
    async fn exam_families(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        let loaders = ctx.loaders().gql()?;
        Ok(loaders.load_one(FamiliesOf(self.0.id)).await.map_err(loader_error)?.unwrap_or_default())
    }

    /// Solution areas covered; available in all regions.
    async fn solution_areas(&self, ctx: &Context<'_>) -> Result<Vec<SolutionArea>> {
        let loaders = ctx.loaders().gql()?;
        Ok(loaders.load_one(AreasOf(self.0.id)).await.map_err(loader_error)?.unwrap_or_default())
    }

    /// Programs the package can be ordered under.
    async fn programs(&self, ctx: &Context<'_>) -> Result<Vec<Program>> {
        let loaders = ctx.loaders().gql()?;
        let programs = loaders.load_one(ProgramsOf(self.0.id)).await.map_err(loader_error)?.unwrap_or_default();
        Ok(programs.into_iter().map(Program).collect())
    }

    /// Volume discount tiers, by ascending minimum quantity.
    async fn discount_tiers(&self, ctx: &Context<'_>) -> Result<Vec<DiscountTier>> {
        let loaders = ctx.loaders().gql()?;
        let tiers = loaders.load_one(TiersOf(self.0.id)).await.map_err(loader_error)?.unwrap_or_default();
        Ok(tiers.into_iter().map(DiscountTier::from).collect())
    }
}

/// From `minQuantity` codes in one order, `percentOff` off the unit price.
#[derive(SimpleObject)]
pub struct DiscountTier {
    /// Smallest quantity that reaches this tier.
    pub min_quantity: i32,
    /// Percent off the list price, 0..80.
    pub percent_off: i32,
}

impl From<discount_tier::Model> for DiscountTier {
    fn from(m: discount_tier::Model) -> Self {
        Self { min_quantity: m.min_quantity, percent_off: m.percent_off }
    }
}

/// Whether `viewer` may see a program.
pub fn program_visible(viewer: &Viewer, program: &program::Model) -> bool {
    program.active || viewer.is_authenticated()
}

/// Whether `viewer` may see a package.
pub fn package_visible(viewer: &Viewer, package: &package::Model) -> bool {
    !package.retired || viewer.is_authenticated()
}

fn require_signed_in_for(viewer: &Viewer, asked: bool, what: &str) -> Result<(), AppError> {
    if asked && !viewer.is_authenticated() {
        return Err(AppError::unauthenticated(format!("sign in to list {what}")));
    }
    Ok(())
}

async fn list_packages(
    ctx: &Context<'_>,
    filter: PackageFilter,
    request: PageRequest,
) -> Result<IdConnection<Package>> {
    let viewer = ctx.viewer().gql()?;
    require_signed_in_for(viewer, filter.include_retired, "retired packages").gql()?;
    let db = ctx.db().gql()?.clone();
    let page = catalog::list_packages(&db, &filter, request).await.gql()?;
    let total = TotalCount::new(move || {
        let (db, filter) = (db.clone(), filter.clone());
        async move { catalog::count(&db, catalog::packages_query(&filter)).await }
    });
    Ok(connection(page, |p| p.id, Package, total))
}

/// Catalog queries.
#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// Programs, in catalog order. Anyone may list active ones.
    #[graphql(complexity = "connection_cost(first, last, child_complexity)")]
    async fn programs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size from the start, 1..100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1..100.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
        #[graphql(desc = "Include retired programs (signed-in callers).", default = false)] include_inactive: bool,
    ) -> Result<IdConnection<Program>> {
        let request = page_request(first, after, last, before).gql()?;
        let viewer = ctx.viewer().gql()?;
        require_signed_in_for(viewer, include_inactive, "retired programs").gql()?;
        let db = ctx.db().gql()?.clone();
        let filter = ProgramFilter { include_inactive };
        let page = catalog::list_programs(&db, filter, request).await.gql()?;
        let total = TotalCount::new(move || {
            let db = db.clone();
            async move { catalog::count(&db, catalog::programs_query(filter)).await }
        });
        Ok(connection(page, |p| p.id, Program, total))
    }

    /// One program by its code; null when there is none (or it is retired
    /// and the caller is anonymous).
    async fn program(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Program code, such as `EES`.")] code: String,
    ) -> Result<Option<Program>> {
        let viewer = ctx.viewer().gql()?;
        let found = catalog::program_by_code(ctx.db().gql()?, &code).await.gql()?;
        Ok(found.filter(|p| program_visible(viewer, p)).map(Program))
    }

    /// Packages, in catalog order, filtered by program, kind and retirement.
    #[graphql(complexity = "connection_cost(first, last, child_complexity)")]
    async fn packages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size from the start, 1..100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1..100.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
        #[graphql(desc = "Only packages orderable under this program code.")] program_code: Option<String>,
        #[graphql(desc = "Only packages of this kind.")] kind: Option<PackageKind>,
        #[graphql(desc = "Include retired packages (signed-in callers).", default = false)] include_retired: bool,
    ) -> Result<IdConnection<Package>> {
        let request = page_request(first, after, last, before).gql()?;
        list_packages(ctx, PackageFilter { program_code, kind, include_retired }, request).await
    }

    /// One package by its sku; null when there is none (or it is retired
    /// and the caller is anonymous).
    async fn package(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Stock-keeping unit, such as `MCP-VOUCHER`.")] sku: String,
    ) -> Result<Option<Package>> {
        let viewer = ctx.viewer().gql()?;
        let found = catalog::package_by_sku(ctx.db().gql()?, &sku).await.gql()?;
        Ok(found.filter(|p| package_visible(viewer, p)).map(Package))
    }
}

/// Input of `createProgram`.
#[derive(InputObject)]
pub struct CreateProgramInput {
    /// Unique code: 2-32 of A-Z, 0-9 and `_`, starting with a letter.
    pub code: String,
    /// Display name (1-200 characters).
    pub name: String,
    /// Volume, academic or partner.
    pub kind: ProgramKind,
    /// What the program is for.
    #[graphql(default)]
    pub description: String,
    /// Whether it can be ordered under now.
    #[graphql(default = true)]
    pub active: bool,
}

/// Input of `updateProgram`; omitted fields keep their value.
#[derive(InputObject)]
pub struct UpdateProgramInput {
    /// The program's id.
    pub id: ID,
    /// New display name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// `false` retires the program; `true` brings it back.
    pub active: Option<bool>,
}

/// Result of `createProgram` and `updateProgram`.
#[derive(SimpleObject)]
pub struct ProgramPayload {
    /// The program, when the change succeeded.
    pub program: Option<Program>,
    /// Why the change was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

payload_from_outcome!(ProgramPayload { program: Program(program::Model) });

/// One volume discount tier to set.
#[derive(InputObject)]
pub struct DiscountTierInput {
    /// Smallest quantity that reaches the tier (at least 1).
    pub min_quantity: i32,
    /// Percent off, 0..80.
    pub percent_off: i32,
}

impl From<DiscountTierInput> for DiscountTierDraft {
    fn from(t: DiscountTierInput) -> Self {
        Self { min_quantity: t.min_quantity, percent_off: t.percent_off }
    }
}

/// Input of `createPackage`.
#[derive(InputObject)]
pub struct CreatePackageInput {
    /// Unique sku: 2-64 of A-Z, 0-9 and `-`.
    pub sku: String,
    /// Display name (1-200 characters).
    pub name: String,
    /// What the package delivers; fixed once created.
    pub kind: PackageKind,
    /// What the package is for.
    #[graphql(default)]
    pub description: String,
    /// List price of one pack for 12 months, in cents.
    pub list_price_cents: i32,
    /// ISO 4217 currency code.
    #[graphql(default_with = "String::from(\"USD\")")]
    pub currency: String,
    /// Codes per pack; required for exam voucher and subscription packages.
    pub vouchers_per_pack: Option<i32>,
    /// Seats per activation token; required for activation-token packages.
    pub seats_per_token: Option<i32>,
    /// Activations per product key; required for product-key packages.
    pub activations_per_key: Option<i32>,
    /// Ordering needs an accredited academic organization.
    #[graphql(default)]
    pub requires_accredited: bool,
    /// Ordering needs a Certiport Authorized Testing Center.
    #[graphql(default)]
    pub requires_certiport_testing_center: bool,
    /// Exam families covered, such as `MOS` or `MTA+MCE`.
    #[graphql(default)]
    pub exam_families: Vec<String>,
    /// Solution areas covered.
    #[graphql(default)]
    pub solution_areas: Vec<SolutionArea>,
    /// Codes of the programs it can be ordered under (at least one).
    pub program_codes: Vec<String>,
    /// Volume discount tiers.
    #[graphql(default)]
    pub discount_tiers: Vec<DiscountTierInput>,
}

/// Input of `updatePackage`; omitted fields keep their value, and a list
/// given replaces the whole list.
#[derive(InputObject)]
pub struct UpdatePackageInput {
    /// The package's id.
    pub id: ID,
    /// New display name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New list price, in cents.
    pub list_price_cents: Option<i32>,
    /// New currency code.
    pub currency: Option<String>,
    /// New number of codes per pack.
    pub vouchers_per_pack: Option<i32>,
    /// New seats per activation token.
    pub seats_per_token: Option<i32>,
    /// New activations per product key.
    pub activations_per_key: Option<i32>,
    /// Whether ordering needs an accredited organization.
    pub requires_accredited: Option<bool>,
    /// Whether ordering needs a Certiport testing center.
    pub requires_certiport_testing_center: Option<bool>,
    /// `true` retires the package; `false` brings it back.
    pub retired: Option<bool>,
    /// New exam families.
    pub exam_families: Option<Vec<String>>,
    /// New solution areas.
    pub solution_areas: Option<Vec<SolutionArea>>,
    /// New program codes.
    pub program_codes: Option<Vec<String>>,
    /// New discount tiers.
    pub discount_tiers: Option<Vec<DiscountTierInput>>,
}

/// Result of `createPackage` and `updatePackage`.
#[derive(SimpleObject)]
pub struct PackagePayload {
    /// The package, when the change succeeded.
    pub package: Option<Package>,
    /// Why the change was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

payload_from_outcome!(PackagePayload { package: Package(package::Model) });

/// Catalog mutations: admin only.
#[derive(Default)]
pub struct CatalogMutation;

#[Object]
impl CatalogMutation {
    /// Adds a program to the catalog (admin).
    async fn create_program(&self, ctx: &Context<'_>, input: CreateProgramInput) -> Result<ProgramPayload> {
        ctx.viewer().gql()?.require_admin().gql()?;
        let draft = ProgramDraft {
            code: input.code,
            name: input.name,
            kind: input.kind,
            description: input.description,
            active: input.active,
        };
        let now = ctx.clock().gql()?.now();
        Ok(catalog::create_program(ctx.db().gql()?, now, draft).await.gql()?.into())
    }

    /// Changes or retires a program (admin).
    async fn update_program(&self, ctx: &Context<'_>, input: UpdateProgramInput) -> Result<ProgramPayload> {
        ctx.viewer().gql()?.require_admin().gql()?;
        let row_id = input_row!("Program", "id", &input.id);
        let patch = ProgramPatch { name: input.name, description: input.description, active: input.active };
        let now = ctx.clock().gql()?.now();
        Ok(catalog::update_program(ctx.db().gql()?, now, row_id, patch).await.gql()?.into())
    }

    /// Adds a package to the catalog, with its programs, exam families,
    /// solution areas and discount tiers, all or nothing (admin).
    async fn create_package(&self, ctx: &Context<'_>, input: CreatePackageInput) -> Result<PackagePayload> {
        ctx.viewer().gql()?.require_admin().gql()?;
        let draft = PackageDraft {
            sku: input.sku,
            name: input.name,
            kind: input.kind,
            description: input.description,
            list_price_cents: input.list_price_cents.into(),
            currency: input.currency,
            vouchers_per_pack: input.vouchers_per_pack,
            seats_per_token: input.seats_per_token,
            activations_per_key: input.activations_per_key,
            requires_accredited: input.requires_accredited,
            requires_certiport: input.requires_certiport_testing_center,
            retired: false,
            exam_families: input.exam_families,
            solution_areas: input.solution_areas,
            program_codes: input.program_codes,
            discount_tiers: input.discount_tiers.into_iter().map(Into::into).collect(),
        };
        let now = ctx.clock().gql()?.now();
        Ok(catalog::create_package(ctx.db().gql()?, now, draft).await.gql()?.into())
    }

    /// Changes or retires a package (admin).
    async fn update_package(&self, ctx: &Context<'_>, input: UpdatePackageInput) -> Result<PackagePayload> {
        ctx.viewer().gql()?.require_admin().gql()?;
        let row_id = input_row!("Package", "id", &input.id);
        let patch = PackagePatch {
            name: input.name,
            description: input.description,
            list_price_cents: input.list_price_cents.map(Into::into),
            currency: input.currency,
            vouchers_per_pack: input.vouchers_per_pack,
            seats_per_token: input.seats_per_token,
            activations_per_key: input.activations_per_key,
            requires_accredited: input.requires_accredited,
            requires_certiport: input.requires_certiport_testing_center,
            retired: input.retired,
            exam_families: input.exam_families,
            solution_areas: input.solution_areas,
            program_codes: input.program_codes,
            discount_tiers: input.discount_tiers.map(|t| t.into_iter().map(Into::into).collect()),
        };
        let now = ctx.clock().gql()?.now();
        Ok(catalog::update_package(ctx.db().gql()?, now, row_id, patch).await.gql()?.into())
    }
}
