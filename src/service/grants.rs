//! The Imagine Academy grant: with a first purchase (an agreement
//! created) or a renewal of an accredited institution's EES, SCHOOL or
//! OVS_ES agreement, an order priced zero carrying the IMAGINE-ACADEMY
//! package's 30 faculty-and-staff vouchers, delivered at once, once per
//! agreement term (`orders_one_grant_per_term`).

use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    agreement,
    enums::{OrderStatus, OrderTerm},
    order, organization, package, program,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::{
    domain::{dates::started_months, grants},
    error::AppError,
    service::orders::deliver_codes,
};

/// Grants the term of `agreement` that starts on `term_starts_on`, in the
/// caller's transaction: the order, or `None` when the agreement is not
/// entitled, the package is missing or retired, or the term already
/// has its grant.
pub async fn grant_term<C: ConnectionTrait>(
    txn: &C,
    agreement: &agreement::Model,
    term_starts_on: NaiveDate,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Option<order::Model>, AppError> {
    let (Some(org), Some(program)) = (
        organization::Entity::find_by_id(agreement.organization_id).one(txn).await?,
        program::Entity::find_by_id(agreement.program_id).one(txn).await?,
    ) else {
        return Err(AppError::internal(format!("agreement {} lost its organization or program", agreement.id)));
    };
    if !grants::entitled(org.kind, org.accredited, &program.code) {
        return Ok(None);
    }
    let Some(package) = package::Entity::find()
        .filter(package::Column::Sku.eq(grants::IMAGINE_ACADEMY_SKU))
        .one(txn)
        .await?
        .filter(|p| !p.retired)
    else {
        return Ok(None);
    };
    let granted = order::Entity::find()
        .filter(order::Column::AgreementId.eq(agreement.id))
        .filter(order::Column::StartsOn.eq(term_starts_on))
        .filter(order::Column::Granted.eq(true))
        .one(txn)
        .await?;
    if granted.is_some() {
        return Ok(None);
    }
    let months = started_months(term_starts_on.max(now.date_naive()), agreement.ends_on).max(1);
    let model = order::ActiveModel {
        agreement_id: Set(agreement.id),
        package_id: Set(package.id),
        placed_by: Set(actor.to_owned()),
        placed_by_organization_id: Set(None),
        quantity: Set(1),
        term: Set(OrderTerm::Prorated),
        status: Set(OrderStatus::Fulfilled),
        list_price_cents: Set(0),
        months_charged: Set(i32::try_from(months).unwrap_or(i32::MAX)),
        discount_percent: Set(0),
        unit_price_cents: Set(0),
        total_cents: Set(0),
        currency: Set(package.currency.clone()),
        starts_on: Set(term_starts_on),
        ends_on: Set(agreement.ends_on),
        placed_at: Set(now),
        confirmed_at: Set(Some(now)),
        invoiced_at: Set(Some(now)),
        fulfilled_at: Set(Some(now)),
        delivered_to: Set(Some(agreement.notice_contact.clone())),
        granted: Set(true),
        ..Default::default()
    };
    let order = model.insert(txn).await?;
    deliver_codes(txn, &order, &package, agreement.organization_id, now, actor).await?;
    Ok(Some(order))
}
