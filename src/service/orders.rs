//! Orders (R-5 .. R-12): placement, the state machine and fulfilment.
//!
//! Every state change is one conditional `UPDATE ... WHERE status IN (...)`:
//! two admins pressing the same button at once get one success and one
//! `INVALID_TRANSITION`, on both engines, without read-then-write races.

use chrono::{DateTime, Utc};
use entity::{
    agreement, code, discount_tier,
    enums::{CodeKind, OrderStatus, OrderTerm, PackageKind, StoredCodeStatus},
    order, organization, package, package_program, program,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Select, Set,
    sea_query::{Expr, Query},
};

use crate::{
    auth::Viewer,
    domain::orders::{self, Buyer, Item, OrderRequest, Step},
    error::{AppError, UserErrorCode},
    service::{
        Outcome,
        codes::{self, CodeSource},
        outbox,
        page::{self, Page, PageRequest},
        refuse, scope,
    },
};

/// Filters of `orders`.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub agreement_id: Option<i64>,
    pub organization_id: Option<i64>,
    /// Late (or not) at this instant.
    pub late: Option<(bool, DateTime<Utc>)>,
}

pub fn orders_query(viewer: &Viewer, filter: &OrderFilter) -> Select<order::Entity> {
    let mut select = order::Entity::find().filter(scope::orders(viewer));
    if let Some(status) = filter.status {
        select = select.filter(order::Column::Status.eq(status));
    }
    if let Some(agreement) = filter.agreement_id {
        select = select.filter(order::Column::AgreementId.eq(agreement));
    }
    if let Some(org) = filter.organization_id {
        let agreements = Query::select()
            .column(agreement::Column::Id)
            .from(agreement::Entity)
            .and_where(agreement::Column::OrganizationId.eq(org))
            .to_owned();
        select = select.filter(order::Column::AgreementId.in_subquery(agreements));
    }
    if let Some((late, now)) = filter.late {
        let is_late = late_at(now);
        select = select.filter(if late { is_late } else { is_late.not() });
    }
    select
}

/// Orders late at `now`, as a condition: PLACED and not confirmed
/// 48 hours on, or INVOICED and without codes past the tenth business day.
pub(crate) fn late_at(now: DateTime<Utc>) -> Condition {
    let (placed_before, invoiced_before) = crate::domain::orders::late_cutoffs(now);
    Condition::any()
        .add(
            Condition::all()
                .add(order::Column::Status.eq(OrderStatus::Placed))
                .add(order::Column::PlacedAt.lt(placed_before)),
        )
        .add(
            Condition::all()
                .add(order::Column::Status.eq(OrderStatus::Invoiced))
                .add(order::Column::InvoicedAt.lt(invoiced_before)),
        )
}

pub async fn list_orders(
    db: &DatabaseConnection,
    viewer: &Viewer,
    filter: &OrderFilter,
    request: PageRequest,
) -> Result<Page<order::Model>, AppError> {
    Ok(page::fetch(db, orders_query(viewer, filter), order::Column::Id, request).await?)
}

/// One order, if the viewer may see it.
pub async fn order<C: ConnectionTrait>(db: &C, viewer: &Viewer, id: i64) -> Result<Option<order::Model>, AppError> {
    Ok(orders_query(viewer, &OrderFilter::default()).filter(order::Column::Id.eq(id)).one(db).await?)
}

pub async fn orders_by_ids(db: &DatabaseConnection, ids: &[i64]) -> Result<Vec<order::Model>, AppError> {
    Ok(order::Entity::find().filter(order::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// What `placeOrder` asks for.
#[derive(Debug, Clone)]
pub struct PlaceOrder {
    pub agreement_id: i64,
    pub package_sku: String,
    pub quantity: i32,
    pub term: OrderTerm,
}

/// What pricing an order of `quantity` x `package` under `agreement` on
/// `today` needs to know: the buyer, the program, the discount tiers and the
/// agreement's running 12-month subscription (R-5 .. R-8). `placeOrder` and
/// the voucher planner price through it alike.
pub(crate) async fn order_request<C: ConnectionTrait>(
    db: &C,
    agreement: &agreement::Model,
    package: &package::Model,
    quantity: i32,
    term: OrderTerm,
    today: chrono::NaiveDate,
) -> Result<OrderRequest, AppError> {
    let Some(org) = organization::Entity::find_by_id(agreement.organization_id).one(db).await? else {
        return Err(AppError::internal(format!("agreement {} has no organization", agreement.id)));
    };
    let program_active = program::Entity::find_by_id(agreement.program_id).one(db).await?.is_some_and(|p| p.active);
    let orderable = package_program::Entity::find_by_id((package.id, agreement.program_id)).one(db).await?.is_some();
    let tiers = discount_tier::Entity::find()
        .filter(discount_tier::Column::PackageId.eq(package.id))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.min_quantity, t.percent_off))
        .collect();
    let subscription_ends_on = order::Entity::find()
        .filter(order::Column::AgreementId.eq(agreement.id))
        .filter(order::Column::Term.eq(OrderTerm::TwelveMonths))
        .filter(order::Column::Status.ne(OrderStatus::Cancelled))
        .order_by_desc(order::Column::EndsOn)
        .one(db)
        .await?
        .map(|o| o.ends_on);
    Ok(OrderRequest {
        today,
        buyer: Buyer {
            kind: org.kind,
            accredited: org.accredited,
            certiport_testing_center: org.certiport_testing_center,
        },
        program_active,
        agreement_starts_on: agreement.starts_on,
        agreement_ends_on: agreement.ends_on,
        subscription_ends_on,
        item: Item {
            kind: package.kind,
            retired: package.retired,
            requires_accredited: package.requires_accredited,
            requires_certiport: package.requires_certiport,
            list_price_cents: package.list_price_cents,
            vouchers_per_pack: package.vouchers_per_pack,
            tiers,
            orderable_under_program: orderable,
        },
        quantity,
        term,
    })
}

/// Places an order: checks the rules, prices it and stores the price with
/// how it was computed (R-5 .. R-9).
pub async fn place_order(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    input: PlaceOrder,
) -> Result<Outcome<order::Model>, AppError> {
    let txn = crate::db::begin(db).await?;
    // Serialises placements on one agreement (a row lock on PostgreSQL, the
    // write lock on SQLite), so two first 12-month orders cannot both miss
    // each other. A no-op write, and the first statement, so SQLite
    // takes its write lock before reading anything.
    agreement::Entity::update_many()
        .col_expr(agreement::Column::Id, Expr::col(agreement::Column::Id))
        .filter(agreement::Column::Id.eq(input.agreement_id))
        .exec(&txn)
        .await?;
    let Some(agreement) = agreement::Entity::find()
        .filter(scope::orderable_agreements(viewer))
        .filter(agreement::Column::Id.eq(input.agreement_id))
        .one(&txn)
        .await?
    else {
        return refuse("agreementId", UserErrorCode::NotFound, "agreement not found");
    };
    let Some(package) = package::Entity::find().filter(package::Column::Sku.eq(&input.package_sku)).one(&txn).await?
    else {
        return refuse("packageSku", UserErrorCode::NotFound, "no package has this sku");
    };
    if package.sku == crate::domain::grants::IMAGINE_ACADEMY_SKU {
        return refuse(
            "packageSku",
            UserErrorCode::GrantedWithAgreement,
            "Imagine Academy comes with an accredited institution's EES, SCHOOL or OVS_ES agreement, at no cost; \
             it is not ordered (R-33)",
        );
    }
    let request = order_request(&txn, &agreement, &package, input.quantity, input.term, now.date_naive()).await?;
    let quote = match orders::quote(&request) {
        Ok(quote) => quote,
        Err(errors) => return Ok(Err(errors)),
    };
    let placed_by_org = viewer.organization_id.filter(|_| !viewer.is_admin());
    let model = order::ActiveModel {
        agreement_id: Set(agreement.id),
        package_id: Set(package.id),
        placed_by: Set(viewer.subject.clone().unwrap_or_default()),
        placed_by_organization_id: Set(placed_by_org),
        quantity: Set(input.quantity),
        term: Set(input.term),
        status: Set(OrderStatus::Placed),
        list_price_cents: Set(quote.price.list_price_cents),
        months_charged: Set(i32::try_from(quote.price.months_charged).unwrap_or(12)),
        discount_percent: Set(i32::try_from(quote.price.discount_percent).unwrap_or(0)),
        unit_price_cents: Set(quote.price.unit_price_cents),
        total_cents: Set(quote.price.total_cents),
        currency: Set(package.currency.clone()),
        starts_on: Set(quote.starts_on),
        ends_on: Set(quote.ends_on),
        placed_at: Set(now),
        ..Default::default()
    };
    let order = model.insert(&txn).await?;
    outbox::emit(&txn, now, order_event("order.placed", &order, agreement.organization_id)).await?;
    txn.commit().await?;
    Ok(Ok(order))
}

/// Moves an order one step (confirm, invoice, cancel); fulfilment has its
/// own function because it generates the codes.
pub async fn step(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    id: i64,
    step: Step,
    cancel_reason: Option<String>,
) -> Result<Outcome<order::Model>, AppError> {
    let (from, to) = step.from_to();
    let mut update = order::Entity::update_many().col_expr(order::Column::Status, Expr::value(to));
    update = match step {
        Step::Confirm => update.col_expr(order::Column::ConfirmedAt, Expr::value(now)),
        Step::Invoice => update.col_expr(order::Column::InvoicedAt, Expr::value(now)),
        Step::Fulfil => update.col_expr(order::Column::FulfilledAt, Expr::value(now)),
        Step::Cancel => update
            .col_expr(order::Column::CancelledAt, Expr::value(now))
            .col_expr(order::Column::CancelReason, Expr::value(cancel_reason)),
    };
    // The guarded update first (on SQLite it takes the write lock before
    // anything is read), then its event, in one transaction.
    let txn = crate::db::begin(db).await?;
    let done = update
        .filter(order::Column::Id.eq(id))
        .filter(order::Column::Status.is_in(from.iter().copied()))
        .exec(&txn)
        .await?
        .rows_affected;
    let Some(order) = order::Entity::find_by_id(id).one(&txn).await? else {
        return refuse("id", UserErrorCode::NotFound, "order not found");
    };
    if done != 1 {
        return Ok(Err(vec![step.refusal(order.status)]));
    }
    let kind = match step {
        Step::Confirm => "order.confirmed",
        Step::Invoice => "order.invoiced",
        Step::Fulfil => "order.fulfilled",
        Step::Cancel => "order.cancelled",
    };
    let organization_id = agreement::Entity::find_by_id(order.agreement_id).one(&txn).await?.map(|a| a.organization_id);
    outbox::emit(&txn, now, order_event(kind, &order, organization_id.unwrap_or_default())).await?;
    txn.commit().await?;
    Ok(Ok(order))
}

/// An order's event: its id, agreement, status and quantity.
fn order_event(kind: &'static str, order: &order::Model, organization_id: i64) -> outbox::Event {
    outbox::Event::new(kind, ("Order", order.id), Some(organization_id))
        .with_id("agreement", "Agreement", order.agreement_id)
        .with("status", sea_orm::ActiveEnum::to_value(&order.status))
        .with("quantity", order.quantity)
}

/// The kind of code a package delivers.
pub fn code_kind(package: PackageKind) -> CodeKind {
    match package {
        PackageKind::LibraryAccess => CodeKind::LibraryAccess,
        PackageKind::ExamVoucher | PackageKind::Subscription => CodeKind::ExamVoucher,
        PackageKind::ActivationToken => CodeKind::ActivationToken,
        PackageKind::ProductKey => CodeKind::ProductKey,
    }
}

/// Fulfils an invoiced order: generates quantity x vouchers-per-pack codes
/// and their `ISSUED` events, all in one transaction, and records the
/// agreement's notice contact as where they were delivered.
pub async fn fulfil(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &str,
    id: i64,
) -> Result<Outcome<order::Model>, AppError> {
    let txn = crate::db::begin(db).await?;
    // The guard is the first statement: on SQLite it takes the write lock
    // before anything is read, so concurrent fulfilments queue instead of
    // failing on a stale snapshot.
    let done = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(OrderStatus::Fulfilled))
        .col_expr(order::Column::FulfilledAt, Expr::value(now))
        .filter(order::Column::Id.eq(id))
        .filter(order::Column::Status.eq(OrderStatus::Invoiced))
        .exec(&txn)
        .await?
        .rows_affected;
    if done != 1 {
        drop(txn);
        return match order::Entity::find_by_id(id).one(db).await? {
            None => refuse("id", UserErrorCode::NotFound, "order not found"),
            Some(order) => Ok(Err(vec![Step::Fulfil.refusal(order.status)])),
        };
    }
    let Some(existing) = order::Entity::find_by_id(id).one(&txn).await? else {
        return Err(AppError::internal(format!("order {id} vanished during fulfilment")));
    };
    let Some(agreement) = agreement::Entity::find_by_id(existing.agreement_id).one(&txn).await? else {
        return Err(AppError::internal(format!("order {id} has no agreement")));
    };
    order::Entity::update_many()
        .col_expr(order::Column::DeliveredTo, Expr::value(agreement.notice_contact.clone()))
        .filter(order::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    let Some(package) = package::Entity::find_by_id(existing.package_id).one(&txn).await? else {
        return Err(AppError::internal(format!("order {id} has no package")));
    };
    deliver_codes(&txn, &existing, &package, agreement.organization_id, now, actor).await?;
    let order = order::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::internal(format!("order {id} vanished during fulfilment")))?;
    let event = order_event("order.fulfilled", &order, agreement.organization_id)
        .with("codes", crate::domain::orders::codes_for(order.quantity, package.vouchers_per_pack));
    outbox::emit(&txn, now, event).await?;
    txn.commit().await?;
    Ok(Ok(order))
}

/// Generates an order's codes, quantity x vouchers-per-pack, and their
/// `ISSUED` events, in the caller's transaction: fulfilment
/// and the Imagine Academy grant deliver the same way.
pub(crate) async fn deliver_codes<C: ConnectionTrait>(
    txn: &C,
    existing: &order::Model,
    package: &package::Model,
    organization_id: i64,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<(), AppError> {
    let id = existing.id;
    let count = orders::codes_for(existing.quantity, package.vouchers_per_pack);
    let template = code::ActiveModel {
        organization_id: Set(organization_id),
        order_id: Set(Some(id)),
        membership_id: Set(None),
        kind: Set(code_kind(package.kind)),
        status: Set(StoredCodeStatus::Issued),
        // unused codes expire with the agreement or the subscription;
        // pack vouchers also one year after delivery.
        valid_until: Set(crate::domain::codes::order_code_valid_until(
            package.kind,
            package.vouchers_per_pack,
            now.date_naive(),
            existing.ends_on,
        )),
        assignee: Set(None),
        assigned_at: Set(None),
        redeemed_at: Set(None),
        exam: Set(None),
        seats: Set(package.seats_per_token.filter(|_| package.kind == PackageKind::ActivationToken)),
        activations_total: Set(package.activations_per_key.filter(|_| package.kind == PackageKind::ProductKey)),
        activations_used: Set(0),
        tenant: Set(None),
        activated_at: Set(None),
        replaces_id: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    // A value collision rolls the whole fulfilment back.
    let count = u64::try_from(count).map_err(|_| AppError::internal(format!("order {id}: {count} codes")))?;
    codes::insert_codes(txn, &template, count).await?;
    codes::issue_events(txn, CodeSource::Order(id), now, actor).await?;
    Ok(())
}
