//! Orders in GraphQL (R-5 .. R-12): placement, the admin steps, prices
//! with how they were computed, due dates, and the codes delivered.

use async_graphql::{Context, ID, InputObject, Lookahead, Object, Result, SimpleObject};
use entity::{
    enums::{OrderStatus, OrderTerm},
    order,
};

use crate::{
    auth::Role,
    domain::orders::{self as rules, Step},
    error::{GqlResultExt, UserError},
    graphql::{
        catalog::{Money, Package, Program},
        codes::{Code, first_pages, nested_codes},
        context::ContextExt,
        loaders::{AgreementId, FirstCodesOf, OrganizationId, PackageId, ProgramOfAgreement, loader_error},
        organizations::{Agreement, Organization},
        relay::{
            IdConnection, TotalCount, connection, connection_cost, id_arg, input_row, page_request,
            payload_from_outcome,
        },
        scalars::{Date, Instant},
    },
    id,
    service::{
        catalog::{self},
        codes::{CodeFilter, CodeSource},
        orders::{self as service, OrderFilter, PlaceOrder},
    },
};

/// An order of a package under an agreement (R-5 .. R-12).
pub struct Order(pub order::Model);

/// How an order's price was computed, frozen at placement.
#[derive(SimpleObject)]
pub struct OrderPricing {
    /// The package's 12-month list price per pack.
    pub list_price: Money,
    /// Months charged: 12 for a subscription, the started months left when prorated.
    pub months_charged: i32,
    /// Volume discount of the highest tier reached, in percent.
    pub discount_percent: i32,
    /// Price per pack: list x months / 12 x (100 - discount) / 100, rounded half up to the cent.
    pub unit_price: Money,
    /// Unit price x quantity.
    pub total: Money,
    /// The computation in words.
    pub explanation: String,
}

/// The days codes are due: 5 to 10 business days after invoicing.
#[derive(SimpleObject)]
pub struct DeliveryWindow {
    /// Earliest due day.
    pub from: Date,
    /// Latest due day; after it the order is late.
    pub to: Date,
}

/// An order of a package under an agreement (R-5 .. R-12).
#[Object]
impl Order {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        ID(id::encode("Order", self.0.id))
    }

    /// Where the order stands.
    async fn status(&self) -> OrderStatus {
        self.0.status
    }

    /// 12-month subscription or prorated.
    async fn term(&self) -> OrderTerm {
        self.0.term
    }

    /// Packs ordered.
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }

    /// The price and how it was computed.
    async fn pricing(&self) -> Result<OrderPricing> {
        let o = &self.0;
        let explanation = format!(
            "{} x {}/12 months x {}% = {} per pack (rounded half up to the cent) x {} = {} {}",
            o.list_price_cents,
            o.months_charged,
            100 - o.discount_percent,
            o.unit_price_cents,
            o.quantity,
            o.total_cents,
            o.currency
        );
        Ok(OrderPricing {
            list_price: Money::of(o.list_price_cents, &o.currency)?,
            months_charged: o.months_charged,
            discount_percent: o.discount_percent,
            unit_price: Money::of(o.unit_price_cents, &o.currency)?,
            total: Money::of(o.total_cents, &o.currency)?,
            explanation: format!("{explanation} (amounts in cents)"),
        })
    }

    /// First day the order runs.
    async fn starts_on(&self) -> Date {
        self.0.starts_on.into()
    }

    /// Last day the order runs: its codes expire after it.
    async fn ends_on(&self) -> Date {
        self.0.ends_on.into()
    }

    /// Subject of who placed it.
    async fn placed_by(&self) -> &str {
        &self.0.placed_by
    }

    /// When it was placed.
    async fn placed_at(&self) -> Instant {
        Instant(self.0.placed_at)
    }

    /// When it was confirmed.
    async fn confirmed_at(&self) -> Option<Instant> {
        self.0.confirmed_at.map(Instant)
    }

    /// When it was invoiced.
    async fn invoiced_at(&self) -> Option<Instant> {
        self.0.invoiced_at.map(Instant)
    }

    /// When its codes were generated and delivered.
    async fn fulfilled_at(&self) -> Option<Instant> {
        self.0.fulfilled_at.map(Instant)
    }

    /// When it was cancelled.
    async fn cancelled_at(&self) -> Option<Instant> {
        self.0.cancelled_at.map(Instant)
    }

    /// Why it was cancelled.
    async fn cancel_reason(&self) -> Option<&str> {
        self.0.cancel_reason.as_deref()
    }

    /// Confirmation is due 48 hours after placement.
    async fn confirmation_due_at(&self) -> Instant {
        Instant(rules::confirmation_due(self.0.placed_at))
    }

    /// The days the codes are due, once invoiced.
    async fn delivery_due_between(&self) -> Option<DeliveryWindow> {
        let invoiced = self.0.invoiced_at?.date_naive();
        rules::delivery_window(invoiced).map(|(from, to)| DeliveryWindow { from: from.into(), to: to.into() })
    }

    /// Not confirmed within 48 hours, or invoiced and its codes past due.
    async fn late(&self, ctx: &Context<'_>) -> Result<bool> {
        let now = ctx.clock().gql()?.now();
        Ok(rules::is_late(self.0.status, self.0.placed_at, self.0.invoiced_at, now))
    }

    /// The address the codes were delivered to: the agreement's notice contact.
    async fn delivered_to(&self) -> Option<&str> {
        self.0.delivered_to.as_deref()
    }

    /// Whether the order carries an agreement term's Imagine Academy grant,
    /// priced zero and delivered with the agreement, not ordered.
    async fn granted(&self) -> bool {
        self.0.granted
    }

    /// The agreement ordered under.
    async fn agreement(&self, ctx: &Context<'_>) -> Result<Option<Agreement>> {
        let loaders = ctx.loaders().gql()?;
        Ok(loaders.load_one(AgreementId(self.0.agreement_id)).await.map_err(loader_error)?.map(Agreement))
    }

    /// The organization ordering (the agreement's).
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        let loaders = ctx.loaders().gql()?;
        let Some(agreement) = loaders.load_one(AgreementId(self.0.agreement_id)).await.map_err(loader_error)? else {
            return Ok(None);
        };
        Ok(loaders.load_one(OrganizationId(agreement.organization_id)).await.map_err(loader_error)?.map(Organization))
    }

    /// The program the order is under: its agreement's. Fetched for a
    /// whole page in one statement, without loading the agreements.
    async fn program(&self, ctx: &Context<'_>) -> Result<Option<Program>> {
        let loaders = ctx.loaders().gql()?;
        Ok(loaders.load_one(ProgramOfAgreement(self.0.agreement_id)).await.map_err(loader_error)?.map(Program))
    }

    /// The package ordered.
    async fn package(&self, ctx: &Context<'_>) -> Result<Option<Package>> {
        let loaders = ctx.loaders().gql()?;
        Ok(loaders.load_one(PackageId(self.0.package_id)).await.map_err(loader_error)?.map(Package))
    }

    /// The codes generated at fulfilment. The first page of many
    /// orders is fetched in one statement.
    #[graphql(complexity = "connection_cost(first, last, child_complexity)")]
    async fn codes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size from the start, 1..100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1..100.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<IdConnection<Code>> {
        let request = page_request(first, after, last, before).gql()?;
        nested_codes(ctx, CodeSource::Order(self.0.id), request, CodeFilter::default()).await
    }
}

/// Loads the children a query selects on a page of orders (`package`,
/// `program`, first pages of `codes`) for all the orders at once, before
/// any of them resolves, into the request's loader cache: one statement
/// per kind of child, the same under load as on an idle server. (`orders`
/// is a query field, and a query operation's loaders cache.)
async fn load_ahead(ctx: &Context<'_>, orders: &[order::Model]) -> Result<()> {
    let loaders = ctx.loaders().gql()?;
    if orders.is_empty() {
        return Ok(());
    }
    let page = ctx.look_ahead();
    let mut nodes = page.field("nodes").selection_fields();
    nodes.extend(page.field("edges").field("node").selection_fields());
    let Ok(node) = Lookahead::try_from(nodes.as_slice()) else { return Ok(()) };
    let packages = async {
        if node.field("package").exists() {
            loaders.load_many(orders.iter().map(|o| PackageId(o.package_id))).await?;
        }
        Ok(())
    };
    let programs = async {
        if node.field("program").exists() {
            loaders.load_many(orders.iter().map(|o| ProgramOfAgreement(o.agreement_id))).await?;
        }
        Ok(())
    };
    let codes = async {
        for (size, columns) in first_pages(&node.field("codes")) {
            let firsts = orders.iter().map(|o| FirstCodesOf { source: CodeSource::Order(o.id), size, columns });
            loaders.load_many(firsts).await?;
        }
        Ok(())
    };
    tokio::try_join!(packages, programs, codes).map_err(loader_error)?;
    Ok(())
}

/// Order queries.
#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    /// Orders the caller may see: admins all; customer and partner
    /// administrators their organization's; resellers those of the
    /// organizations they serve; learners none.
    #[graphql(complexity = "connection_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments, reason = "GraphQL arguments")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size from the start, 1..100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1..100.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
        #[graphql(desc = "Only orders in this status.")] status: Option<OrderStatus>,
        #[graphql(desc = "Only orders under this agreement.")] agreement_id: Option<ID>,
        #[graphql(desc = "Only this organization's orders.")] organization_id: Option<ID>,
        #[graphql(desc = "Only late orders (true: placed and not confirmed within 48 hours, or invoiced and \
                          without codes after 10 business days), or only orders that are not (false) (R-11).")]
        late: Option<bool>,
    ) -> Result<IdConnection<Order>> {
        let request = page_request(first, after, last, before).gql()?;
        let viewer = ctx.signed_in().gql()?.clone();
        let filter = OrderFilter {
            status,
            agreement_id: agreement_id.map(|id| id_arg("Agreement", "agreementId", &id)).transpose().gql()?,
            organization_id: organization_id
                .map(|id| id_arg("Organization", "organizationId", &id))
                .transpose()
                .gql()?,
            late: match late {
                Some(late) => Some((late, ctx.clock().gql()?.now())),
                None => None,
            },
        };
        let db = ctx.db().gql()?.clone();
        let page = service::list_orders(&db, &viewer, &filter, request).await.gql()?;
        load_ahead(ctx, &page.items).await?;
        let total = TotalCount::new(move || {
            let (db, viewer, filter) = (db.clone(), viewer.clone(), filter.clone());
            async move { catalog::count(&db, service::orders_query(&viewer, &filter)).await }
        });
        Ok(connection(page, |o| o.id, Order, total))
    }

    /// One order; null when it does not exist or is not the caller's to see.
    async fn order(&self, ctx: &Context<'_>, #[graphql(desc = "Its global id.")] id: ID) -> Result<Option<Order>> {
        let viewer = ctx.signed_in().gql()?;
        let Some(row) = id::decode_as("Order", &id) else { return Ok(None) };
        Ok(service::order(ctx.db().gql()?, viewer, row).await.gql()?.map(Order))
    }
}

/// Input of `placeOrder`.
#[derive(InputObject)]
pub struct PlaceOrderInput {
    /// The agreement to order under.
    pub agreement_id: ID,
    /// The package's sku, such as `SITE-MOS-MTA-MCE-500`.
    pub package_sku: String,
    /// Packs ordered (1..10000; at most 100000 codes in all).
    pub quantity: i32,
    /// 12-month subscription or prorated to the agreement's end.
    pub term: OrderTerm,
}

/// Input of `confirmOrder`, `invoiceOrder` and `fulfillOrder`.
#[derive(InputObject)]
pub struct OrderStepInput {
    /// The order.
    pub id: ID,
}

/// Input of `cancelOrder`.
#[derive(InputObject)]
pub struct CancelOrderInput {
    /// The order.
    pub id: ID,
    /// Why it is cancelled.
    pub reason: Option<String>,
}

/// Result of the order mutations.
#[derive(SimpleObject)]
pub struct OrderPayload {
    /// The order, when the change succeeded.
    pub order: Option<Order>,
    /// Why the change was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

payload_from_outcome!(OrderPayload { order: Order(order::Model) });

async fn admin_step(ctx: &Context<'_>, id: &ID, step: Step, reason: Option<String>) -> Result<OrderPayload> {
    let viewer = ctx.viewer().gql()?;
    viewer.require_admin().gql()?;
    let row = input_row!("Order", "id", id);
    let now = ctx.clock().gql()?.now();
    let db = ctx.db().gql()?;
    let outcome = match step {
        Step::Fulfil => service::fulfil(db, now, viewer.subject.as_deref().unwrap_or("admin"), row).await,
        step => service::step(db, now, row, step, reason).await,
    };
    Ok(outcome.gql()?.into())
}

/// Order mutations.
#[derive(Default)]
pub struct OrderMutation;

#[Object]
impl OrderMutation {
    /// Places an order (reseller for an organization it serves, customer
    /// administrator for its own, or admin). Refusals name the unmet rule.
    async fn place_order(&self, ctx: &Context<'_>, input: PlaceOrderInput) -> Result<OrderPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_any(&[Role::Reseller, Role::CustomerAdmin, Role::Admin]).gql()?;
        let agreement_id = input_row!("Agreement", "agreementId", &input.agreement_id);
        let request =
            PlaceOrder { agreement_id, package_sku: input.package_sku, quantity: input.quantity, term: input.term };
        let now = ctx.clock().gql()?.now();
        Ok(service::place_order(ctx.db().gql()?, viewer, now, request).await.gql()?.into())
    }

    /// PLACED -> CONFIRMED (admin, R-11).
    async fn confirm_order(&self, ctx: &Context<'_>, input: OrderStepInput) -> Result<OrderPayload> {
        admin_step(ctx, &input.id, Step::Confirm, None).await
    }

    /// CONFIRMED -> INVOICED (admin, R-11); codes are then due in 5 to 10 business days.
    async fn invoice_order(&self, ctx: &Context<'_>, input: OrderStepInput) -> Result<OrderPayload> {
        admin_step(ctx, &input.id, Step::Invoice, None).await
    }

    /// INVOICED -> FULFILLED (admin): generates every code in one
    /// transaction, all or none, delivered to the notice contact.
    async fn fulfill_order(&self, ctx: &Context<'_>, input: OrderStepInput) -> Result<OrderPayload> {
        admin_step(ctx, &input.id, Step::Fulfil, None).await
    }

    /// PLACED or CONFIRMED -> CANCELLED (admin, R-11); not once invoiced.
    async fn cancel_order(&self, ctx: &Context<'_>, input: CancelOrderInput) -> Result<OrderPayload> {
        let reason = input.reason.map(|r| r.trim().chars().take(500).collect::<String>()).filter(|r| !r.is_empty());
        admin_step(ctx, &input.id, Step::Cancel, reason).await
    }
}
