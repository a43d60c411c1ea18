//! Codes in GraphQL (R-13 .. R-20): the `Code` object (values only for
//! those allowed) and its history, reading codes (`codes`, `code`, nested
//! pages), and the roots the actions below add to. One file per action:
//! [`assign`], [`redeem`], [`activate`] (and replacement tokens),
//! [`revoke`], [`validate`] (`validateCode`), [`plan`] (`voucherPlan`).

mod activate;
mod assign;
pub(crate) mod plan;
mod redeem;
mod revoke;
mod validate;

use std::{borrow::Cow, sync::Arc};

use futures_util::future::BoxFuture;

use async_graphql::{
    ContainerType, Context, ContextSelectionSet, ID, Lookahead, MergedObject, Object, ObjectType, OutputType,
    Positioned, Result, SelectionField, ServerResult, SimpleObject, Value, parser::types::Field, registry::Registry,
};
use entity::{
    code, code_event,
    enums::{BenefitProduct, CodeKind, CodeStatus},
};

use crate::{
    auth::Viewer,
    domain::{
        code_format,
        codes::{self as rules},
    },
    error::{AppError, GqlResultExt, UserError},
    graphql::{
        context::ContextExt,
        leaves,
        loaders::{
            CodeCountOf, CodeId, EventsOf, FirstCodesOf, MembershipId, OrderId, OrganizationId, ReplacementOf,
            loader_error,
        },
        memberships::Membership,
        orders::Order,
        organizations::{Agreement, Organization},
        relay::{IdConnection, TotalCount, connection, connection_cost, id_arg, page_request, payload_from_outcome},
        scalars::{Date, Instant},
    },
    id,
    service::{
        catalog::{self},
        code_rows::Columns,
        codes::{self as service, CodeFilter, CodeSource},
        page::{Page, PageRequest},
        scope,
    },
};

/// A delivered code: a bearer secret (R-13 .. R-19).
///
pub use self::{
    activate::{ActivateCodeInput, IssueReplacementTokenInput, ReplacementPayload},
    assign::AssignCodeInput,
    plan::{VoucherPlan, VoucherPlanInput},
    redeem::RedeemCodeInput,
    revoke::RevokeCodeInput,
    validate::{CodeProblem, CodeValidation},
};

/// The codes of a page share its rows rather than each owning a copy: a
/// nested page's rows sit in the loaders' cache, and copying 1 000 of them
/// out of it was 4 % of the server's CPU on the benchmark's page.
pub struct Code {
    /// The page's rows; this code is `rows[index]`.
    rows: Arc<Vec<code::Model>>,
    index: usize,
    /// What the rows hold: a brief row answers only [`BRIEF_FIELDS`].
    columns: Columns,
}

impl From<code::Model> for Code {
    /// A code read whole.
    fn from(row: code::Model) -> Self {
        Code { rows: Arc::new(vec![row]), index: 0, columns: Columns::All }
    }
}

/// The GraphQL object `Code`: [`Code`]'s fields, resolved on its row.
struct CodeFields<'a>(&'a code::Model);

/// `Code`'s fields that never wait (they read the row, the viewer and the
/// clock): a selection of only these resolves without a future per field
/// ([`leaves`]). Codes come in lists of up to 100 a page, 20 a nested page.
const CODE_LEAVES: &[&str] = &[
    "id",
    "kind",
    "status",
    "expiresOn",
    "value",
    "hint",
    "assignee",
    "assignedAt",
    "redeemedAt",
    "exam",
    "seats",
    "tenant",
    "activatedAt",
    "activationsTotal",
    "activationsLeft",
    "createdAt",
    "product",
    "coreBenefit",
];

impl OutputType for Code {
    fn type_name() -> Cow<'static, str> {
        <CodeFields<'static> as OutputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <CodeFields<'static> as OutputType>::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, _field: &Positioned<Field>) -> ServerResult<Value> {
        resolve_code(self, ctx).await
    }
}

/// Boxed, as async-graphql boxes each field: a code's fields can hold codes
/// (`replaces`), so the future's type would otherwise contain itself.
fn resolve_code<'a>(code: &'a Code, ctx: &'a ContextSelectionSet<'a>) -> BoxFuture<'a, ServerResult<Value>> {
    match code.columns {
        Columns::All => Box::pin(leaves::resolve_object(ctx, CodeFields(code.row()), CODE_LEAVES)),
        Columns::Brief => Box::pin(leaves::resolve_object(ctx, BriefCode(code.row()), BRIEF_FIELDS)),
    }
}

impl ContainerType for Code {
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        match self.columns {
            Columns::All => CodeFields(self.row()).resolve_field(ctx).await,
            Columns::Brief => BriefCode(self.row()).resolve_field(ctx).await,
        }
    }
}

impl ObjectType for Code {}

impl Code {
    /// The codes of a page: `rows[index]` for each index of `page`, read
    /// with `columns`. Read with [`Columns::Brief`], a code answers
    /// [`BRIEF_FIELDS`] only, and any other field with an `INTERNAL` error,
    /// never a value made up of the row's neutral fillings
    /// ([`columns_for`] keeps other selections from reading brief rows).
    fn connection(
        rows: Arc<Vec<code::Model>>,
        page: Page<usize>,
        columns: Columns,
        total: TotalCount,
    ) -> IdConnection<Code> {
        connection(page, |&index| rows[index].id, |index| Code { rows: rows.clone(), index, columns }, total)
    }

    /// The codes of a page of whole rows.
    fn connection_of(page: Page<code::Model>, total: TotalCount) -> IdConnection<Code> {
        let Page { items, has_previous, has_next } = page;
        let indexes = (0..items.len()).collect();
        Code::connection(Arc::new(items), Page { items: indexes, has_previous, has_next }, Columns::All, total)
    }

    fn row(&self) -> &code::Model {
        &self.rows[self.index]
    }

    /// Opaque global id (the `Node` interface's field, which calls it as
    /// `#[Object]` rewrites resolvers: with the context, as a `Result`).
    pub async fn id(&self, _ctx: &Context<'_>) -> Result<ID> {
        Ok(global_id(self.row()))
    }
}

/// `Code`'s fields that read only a brief row's columns ([`Columns::Brief`]:
/// id, owners, kind, value, status, last usable day, assignee), with the
/// viewer and the clock. tests/api checks each against a whole row.
pub const BRIEF_FIELDS: &[&str] = &["id", "kind", "status", "expiresOn", "value", "hint", "assignee"];

/// A brief row's `Code`: [`CodeFields`] for [`BRIEF_FIELDS`], an
/// `INTERNAL` error for any other field.
struct BriefCode<'a>(&'a code::Model);

impl OutputType for BriefCode<'_> {
    fn type_name() -> Cow<'static, str> {
        <CodeFields<'static> as OutputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <CodeFields<'static> as OutputType>::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, _field: &Positioned<Field>) -> ServerResult<Value> {
        leaves::resolve_object(ctx, BriefCode(self.0), BRIEF_FIELDS).await
    }
}

impl ContainerType for BriefCode<'_> {
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        let name = ctx.item.node.name.node.as_str();
        if !BRIEF_FIELDS.contains(&name) {
            let error = AppError::Internal(format!("Code.{name} asked of a code read with brief columns"));
            return Err(error.into_graphql().into_server_error(ctx.item.pos));
        }
        CodeFields(self.0).resolve_field(ctx).await
    }
}

/// The columns a read of the codes of `connection` needs: brief when the
/// nodes it selects (under `nodes` and `edges { node }`, fragments
/// included whatever their type condition: more, never less, than will be
/// resolved; async-graphql has already dropped skipped fields) ask only for
/// [`BRIEF_FIELDS`].
pub(crate) fn columns_for(connection: &SelectionField<'_>) -> Columns {
    let brief = |node: SelectionField<'_>| {
        node.selection_set().all(|f| f.name() == "__typename" || BRIEF_FIELDS.contains(&f.name()))
    };
    let brief = connection.selection_set().all(|field| match field.name() {
        "nodes" => brief(field),
        "edges" => field.selection_set().all(|edge| edge.name() != "node" || brief(edge)),
        _ => true,
    });
    if brief { Columns::Brief } else { Columns::All }
}

fn global_id(code: &code::Model) -> ID {
    ID(id::encode("Code", code.id))
}

fn viewer_of<'a>(ctx: &'a Context<'_>) -> Result<&'a Viewer> {
    ctx.viewer().gql()
}

/// A delivered code: a bearer secret (R-13 .. R-19). Its `value` is shown
/// only to the owning organization's administrators, its assignee and
/// admins; everyone else sees `null` and a masked `hint`.
#[Object(name = "Code")]
impl CodeFields<'_> {
    /// Opaque global id.
    async fn id(&self) -> ID {
        global_id(self.0)
    }

    /// Exam voucher, library access code, activation token, product key or subscription.
    async fn kind(&self) -> CodeKind {
        self.0.kind
    }

    /// Where the code stands today; `EXPIRED` once its agreement or
    /// subscription has ended unused.
    async fn status(&self, ctx: &Context<'_>) -> Result<CodeStatus> {
        let today = ctx.clock().gql()?.now().date_naive();
        Ok(rules::effective_status(self.0.status, self.0.valid_until, today))
    }

    /// Last day the code can be used (the agreement's or subscription's end, R-18).
    async fn expires_on(&self) -> Date {
        self.0.valid_until.into()
    }

    /// The code itself, for those allowed to see it; null for everyone else.
    async fn value(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        Ok(scope::may_see_value(viewer_of(ctx)?, self.0).then_some(self.0.value.as_str()))
    }

    /// The last four characters, to tell codes apart without revealing them.
    async fn hint(&self) -> String {
        code_format::hint(&self.0.value)
    }

    /// The person (token subject) the code is assigned to, for good.
    async fn assignee(&self) -> Option<&str> {
        self.0.assignee.as_deref()
    }

    /// When it was assigned.
    async fn assigned_at(&self) -> Option<Instant> {
        self.0.assigned_at.map(Instant)
    }

    /// When the exam voucher was redeemed.
    async fn redeemed_at(&self) -> Option<Instant> {
        self.0.redeemed_at.map(Instant)
    }

    /// The exam a redeemed voucher registered for.
    async fn exam(&self) -> Option<&str> {
        self.0.exam.as_deref()
    }

    /// Seats an activation token carries, activated whole.
    async fn seats(&self) -> Option<i32> {
        self.0.seats
    }

    /// The tenant an activation token was activated on.
    async fn tenant(&self) -> Option<&str> {
        self.0.tenant.as_deref()
    }

    /// When the code was (first) activated.
    async fn activated_at(&self) -> Option<Instant> {
        self.0.activated_at.map(Instant)
    }

    /// Activations a product key allows in all.
    async fn activations_total(&self) -> Option<i32> {
        self.0.activations_total
    }

    /// Activations a product key has left.
    async fn activations_left(&self) -> Option<i32> {
        self.0.activations_total.map(|total| (total - self.0.activations_used).max(0))
    }

    /// When the code was generated.
    async fn created_at(&self) -> Instant {
        Instant(self.0.created_at)
    }

    /// The organization the code was delivered to.
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        let loaders = ctx.loaders().gql()?;
        Ok(loaders.load_one(OrganizationId(self.0.organization_id)).await.map_err(loader_error)?.map(Organization))
    }

    /// The order that generated the code; null for learners and for
    /// membership benefits.
    async fn order(&self, ctx: &Context<'_>) -> Result<Option<Order>> {
        let Some(order_id) = self.0.order_id else { return Ok(None) };
        if !scope::may_see_orders_of(viewer_of(ctx)?, self.0.organization_id) {
            return Ok(None);
        }
        let loaders = ctx.loaders().gql()?;
        Ok(loaders.load_one(OrderId(order_id)).await.map_err(loader_error)?.map(Order))
    }

    /// The product a membership's benefit licenses; null for codes of orders.
    async fn product(&self) -> Option<BenefitProduct> {
        self.0.product
    }

    /// Whether it belongs to its membership's core benefits package.
    async fn core_benefit(&self) -> bool {
        self.0.core_benefit
    }

    /// The membership that granted this benefit; null for codes of
    /// orders and for callers who do not act for the partner.
    async fn membership(&self, ctx: &Context<'_>) -> Result<Option<Membership>> {
        let Some(membership_id) = self.0.membership_id else { return Ok(None) };
        if !scope::acts_for_partner(viewer_of(ctx)?, self.0.organization_id) {
            return Ok(None);
        }
        let loaders = ctx.loaders().gql()?;
        Ok(loaders.load_one(MembershipId(membership_id)).await.map_err(loader_error)?.map(Membership))
    }

    /// The token this one replaces.
    async fn replaces(&self, ctx: &Context<'_>) -> Result<Option<Code>> {
        let Some(original) = self.0.replaces_id else { return Ok(None) };
        let loaders = ctx.loaders().gql()?;
        Ok(loaders.load_one(CodeId(original)).await.map_err(loader_error)?.map(Code::from))
    }

    /// The token that replaced this one.
    async fn replaced_by(&self, ctx: &Context<'_>) -> Result<Option<Code>> {
        let loaders = ctx.loaders().gql()?;
        Ok(loaders.load_one(ReplacementOf(self.0.id)).await.map_err(loader_error)?.map(Code::from))
    }

    /// Every transition of the code, oldest first (append-only).
    async fn events(&self, ctx: &Context<'_>) -> Result<Vec<CodeEvent>> {
        let loaders = ctx.loaders().gql()?;
        let events = loaders.load_one(EventsOf(self.0.id)).await.map_err(loader_error)?.unwrap_or_default();
        Ok(events.into_iter().map(CodeEvent).collect())
    }
}

/// One entry of a code's history.
pub struct CodeEvent(code_event::Model);

/// One entry of a code's history.
#[Object]
impl CodeEvent {
    /// When it happened.
    async fn at(&self) -> Instant {
        Instant(self.0.at)
    }

    /// Who did it (token subject).
    async fn actor(&self) -> &str {
        &self.0.actor
    }

    /// What was done: ISSUE, ASSIGN, REDEEM, ACTIVATE, REPLACE or REVOKE.
    async fn action(&self) -> &str {
        &self.0.action
    }

    /// Stored status before.
    async fn from_status(&self) -> Option<&str> {
        self.0.from_status.as_deref()
    }

    /// Stored status after.
    async fn to_status(&self) -> &str {
        &self.0.to_status
    }

    /// Details: the assignee, the exam, the tenant, the reason.
    async fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }
}

/// Code queries: reading codes, `validateCode`, `voucherPlan`.
#[derive(MergedObject, Default)]
pub struct CodeQuery(ReadQuery, validate::ValidateQuery, plan::PlanQuery);

/// Reading codes.
#[derive(Default)]
pub struct ReadQuery;

/// A page of the codes matching `filter` that the caller may see, with a lazy total.
pub(crate) async fn codes_connection(
    ctx: &Context<'_>,
    request: PageRequest,
    filter: CodeFilter,
) -> Result<IdConnection<Code>> {
    let viewer = ctx.signed_in().gql()?.clone();
    let today = ctx.clock().gql()?.now().date_naive();
    let db = ctx.db().gql()?.clone();
    let page = service::list_codes(&db, &viewer, &filter, today, request).await.gql()?;
    let total = TotalCount::new(move || {
        let (db, viewer, filter) = (db.clone(), viewer.clone(), filter.clone());
        async move { catalog::count(&db, service::codes_query(&viewer, &filter, today)).await }
    });
    Ok(Code::connection_of(page, total))
}

/// The first pages (size and columns) of the `codes` fields in `selected`
/// that [`nested_codes`] loads through [`FirstCodesOf`] (a first page, no
/// cursor, no filter), so that a parent page can load them for all its rows
/// at once. A field whose arguments do not make such a page is left to
/// resolve alone, errors included.
pub(crate) fn first_pages(selected: &Lookahead<'_>) -> Vec<(u64, Columns)> {
    let mut pages: Vec<(u64, Columns)> = selected
        .selection_fields()
        .iter()
        .filter_map(|field| {
            let mut first = None;
            for (name, value) in field.arguments().ok()? {
                match (name.as_str(), value) {
                    (_, Value::Null) => {}
                    ("first", Value::Number(n)) => first = Some(i32::try_from(n.as_i64()?).ok()?),
                    _ => return None,
                }
            }
            match page_request(first, None, None, None).ok()? {
                PageRequest::Forward { size, after: None, before: None } => Some((size, columns_for(field))),
                _ => None,
            }
        })
        .collect();
    pages.sort_unstable();
    pages.dedup();
    pages
}

/// The codes of an order or a membership, as a nested connection. The
/// first page without a cursor or a filter is loaded for every parent of
/// the request in one statement, and the totals in another; any other page
/// is one scoped query.
pub(crate) async fn nested_codes(
    ctx: &Context<'_>,
    source: CodeSource,
    request: PageRequest,
    filter: CodeFilter,
) -> Result<IdConnection<Code>> {
    let filter = match source {
        CodeSource::Order(id) => CodeFilter { order_id: Some(id), ..filter },
        CodeSource::Membership(id) => CodeFilter { membership_id: Some(id), ..filter },
    };
    let unfiltered = filter.status.is_none()
        && filter.kind.is_none()
        && filter.assignee.is_none()
        && filter.expiring_before.is_none()
        && filter.expiring_within_days.is_none();
    if !unfiltered {
        return codes_connection(ctx, request, filter).await;
    }
    let loaders = ctx.loaders().gql()?.clone();
    let counting = loaders.clone();
    let total = TotalCount::new(move || {
        let loaders = counting.clone();
        async move { Ok(loaders.load_one(CodeCountOf(source)).await.map_err(Arc::unwrap_or_clone)?.unwrap_or(0)) }
    });
    Ok(match request {
        PageRequest::Forward { size, after: None, before: None } => {
            let columns = columns_for(&ctx.field());
            let first = FirstCodesOf { source, size, columns };
            let loaded = loaders.load_one(first).await.map_err(loader_error)?.unwrap_or_default();
            let shown = loaded.len().min(usize::try_from(size).unwrap_or(usize::MAX));
            let page = Page { items: (0..shown).collect(), has_previous: false, has_next: loaded.len() > shown };
            Code::connection(loaded, page, columns, total)
        }
        request => {
            let viewer = ctx.viewer().gql()?;
            let today = ctx.clock().gql()?.now().date_naive();
            Code::connection_of(
                service::list_codes(ctx.db().gql()?, viewer, &filter, today, request).await.gql()?,
                total,
            )
        }
    })
}

#[Object]
impl ReadQuery {
    /// Codes the caller may see: admins all; customer and partner
    /// administrators their organization's; resellers those of the
    /// organizations they serve (values masked); learners those assigned
    /// to them. Keyset pagination: as fast on page 10 000 as on page 1.
    #[graphql(complexity = "connection_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments, reason = "GraphQL arguments")]
    async fn codes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size from the start, 1..100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1..100.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
        #[graphql(desc = "Only codes of this order.")] order_id: Option<ID>,
        #[graphql(desc = "Only codes showing this status today.")] status: Option<CodeStatus>,
        #[graphql(desc = "Only codes of this kind.")] kind: Option<CodeKind>,
        #[graphql(desc = "Only codes assigned to this person (compared without case or surrounding spaces).")]
        assignee: Option<String>,
        #[graphql(desc = "Only codes whose last usable day is before this date.")] expiring_before: Option<Date>,
        #[graphql(desc = "Only codes that can still be used and whose last usable day falls within the next N days, \
                          today included (1..366): `expiringWithinDays: 30` is what expires in the next 30 days.")]
        expiring_within_days: Option<i32>,
        #[graphql(desc = "Only benefits of this membership (R-27).")] membership_id: Option<ID>,
    ) -> Result<IdConnection<Code>> {
        let request = page_request(first, after, last, before).gql()?;
        let filter = CodeFilter {
            order_id: order_id.map(|id| id_arg("Order", "orderId", &id)).transpose().gql()?,
            membership_id: membership_id.map(|id| id_arg("Membership", "membershipId", &id)).transpose().gql()?,
            status,
            kind,
            assignee,
            expiring_before: expiring_before.map(|d| d.0),
            expiring_within_days: match expiring_within_days {
                None => None,
                Some(days @ 1..=366) => Some(days.unsigned_abs()),
                Some(_) => {
                    return Err(AppError::bad_input("`expiringWithinDays` must be between 1 and 366").into_graphql());
                }
            },
        };
        codes_connection(ctx, request, filter).await
    }

    /// One code; null when it does not exist or is not the caller's to see.
    async fn code(&self, ctx: &Context<'_>, #[graphql(desc = "Its global id.")] id: ID) -> Result<Option<Code>> {
        let viewer = ctx.signed_in().gql()?;
        let Some(row) = id::decode_as("Code", &id) else { return Ok(None) };
        Ok(service::code(ctx.db().gql()?, viewer, row).await.gql()?.map(Code::from))
    }
}

/// Result of the code mutations.
#[derive(SimpleObject)]
pub struct CodePayload {
    /// The code, when the change succeeded.
    pub code: Option<Code>,
    /// Why the change was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

payload_from_outcome!(CodePayload { code: code::Model => Code::from });

/// Code mutations, one file each.
#[derive(MergedObject, Default)]
pub struct CodeMutation(
    assign::AssignMutation,
    redeem::RedeemMutation,
    activate::ActivateMutation,
    revoke::RevokeMutation,
);

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Schema};
    use chrono::{TimeZone, Utc};
    use entity::enums::StoredCodeStatus;

    use super::*;

    /// `CODE_LEAVES` names fields of `Code` whose values are scalars or
    /// enums: a misspelt name would silently send every code the slow way,
    /// and an object-typed one would load in turn instead of together.
    #[test]
    fn code_leaves_are_codes_scalar_fields() {
        let sdl = crate::graphql::sdl();
        let body = sdl.split("type Code implements Node {").nth(1).and_then(|rest| rest.split("\n}").next());
        let body = body.expect("the Code type in the SDL");
        let fields: Vec<(&str, &str)> = body
            .lines()
            .filter(|line| line.starts_with('\t') && !line.starts_with("\t\t") && line.contains(':'))
            .filter_map(|line| {
                let (name, ty) = line.trim().split_once(':')?;
                Some((name.split('(').next()?, ty.trim().trim_matches(|c| matches!(c, '[' | ']' | '!'))))
            })
            .collect();
        assert!(fields.len() > CODE_LEAVES.len(), "{fields:?}");
        for leaf in CODE_LEAVES {
            let ty = fields.iter().find(|(name, _)| name == leaf).map(|(_, ty)| *ty);
            let ty = ty.unwrap_or_else(|| panic!("`{leaf}` is not a field of Code"));
            assert!(!sdl.contains(&format!("\ntype {ty} ")), "`{leaf}` is an object ({ty})");
        }
    }

    /// Every brief field is one of the plain fields: a scalar or an enum
    /// of Code (so resolved in turn, and spelt right).
    #[test]
    fn brief_fields_are_code_leaves() {
        for field in BRIEF_FIELDS {
            assert!(CODE_LEAVES.contains(field), "{field}");
        }
    }

    /// Hands out one code read whole and the same code read brief.
    struct Probe(code::Model);

    #[Object]
    impl Probe {
        async fn whole(&self) -> Code {
            Code::from(self.0.clone())
        }
        async fn brief(&self) -> Code {
            Code { rows: Arc::new(vec![self.0.clone()]), index: 0, columns: Columns::Brief }
        }
    }

    fn probe() -> Schema<Probe, EmptyMutation, EmptySubscription> {
        let row = code::Model {
            id: 7,
            order_id: Some(2),
            value: "MCP-AAAA-BBBB-CCCC".into(),
            status: StoredCodeStatus::Issued,
            created_at: Utc.with_ymd_and_hms(2026, 11, 21, 9, 30, 0).single().expect("an instant"),
            ..crate::service::scope::tests::code(1, None)
        };
        Schema::new(Probe(row), EmptyMutation, EmptySubscription)
    }

    /// A code read brief answers its brief fields, and any other field
    /// (in a plain selection or through a fragment) with `INTERNAL`, never
    /// with a neutral filling such as the epoch.
    #[tokio::test]
    async fn a_brief_code_refuses_the_fields_it_did_not_read() {
        let schema = probe();
        let both = schema.execute("{ whole { id hint kind } brief { id hint kind } }").await.into_result();
        let both = both.expect("brief fields answer").data.into_json().expect("json");
        assert_eq!(both["whole"], both["brief"]);
        assert_eq!(both["brief"]["hint"], "…CCCC");
        let whole = schema.execute("{ whole { createdAt } }").await.into_result().expect("read whole");
        assert_eq!(whole.data.into_json().expect("json")["whole"]["createdAt"], "2026-11-21T09:30:00Z");
        for query in ["{ brief { id createdAt } }", "{ brief { ... on Code { id exam } } }"] {
            let errors = schema.execute(query).await.errors;
            let codes: Vec<_> =
                errors.iter().map(|e| e.extensions.as_ref().and_then(|x| x.get("code")).cloned()).collect();
            assert_eq!(codes, vec![Some(Value::from("INTERNAL"))], "{query}: {errors:?}");
            assert!(!format!("{errors:?}").contains("1970"), "{errors:?}");
        }
    }
}
