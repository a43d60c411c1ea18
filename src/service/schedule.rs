//! Time-driven events: what becomes due with the
//! passing of days rather than with a change. [`tick`] looks at the books
//! as they stand at `now` and enqueues every event that is due, each under
//! a key of its kind, subject and due day, so running it again, after
//! downtime, or in several processes at once enqueues each event once.
//!
//! - `order.late`: a PLACED order not confirmed 48 hours after placement,
//!   or an INVOICED one without codes after the tenth business day.
//! - `membership.renewal_due` (30 days before the anniversary),
//!   `membership.window_opened`, `membership.window_closing` (7 days before
//!   the window's last day), `membership.expired` (the day after it), for
//!   the anniversary that ends the membership's current term (R-22, R-23,
//!   After downtime each is enqueued late, once; the e-mail of a
//!   reminder that comes after its window closed is not sent
//!   ([`crate::domain::notices::stale`]).
//! - `codes.expiring`: an agreement's unused codes whose last day falls
//!   within 30 days, one event per agreement and last day.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use entity::{
    agreement, code,
    enums::{OrderStatus, StoredCodeStatus},
    membership, order,
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};

use crate::{
    domain::memberships::{current_anniversary, renewal_window},
    error::AppError,
    service::outbox::{Event, emit_once},
};

/// Days before its last day an agreement's unused codes are announced.
pub const EXPIRING_WITHIN_DAYS: u64 = 30;
/// Days before the renewal window's last day `membership.window_closing` is due.
pub const WINDOW_CLOSING_DAYS: u64 = 7;
/// Days before the anniversary `membership.renewal_due` is due.
pub const RENEWAL_DUE_DAYS: u64 = 30;

/// Enqueues every time-driven event due at `now`; returns how many were new.
pub async fn tick(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<u64, AppError> {
    let today = now.date_naive();
    let mut enqueued = 0;
    for (event, key) in late_orders(db, now).await? {
        enqueued += u64::from(emit_once(db, now, event, key).await?);
    }
    for (event, key) in membership_windows(db, today).await? {
        enqueued += u64::from(emit_once(db, now, event, key).await?);
    }
    for (event, key) in expiring_codes(db, today).await? {
        enqueued += u64::from(emit_once(db, now, event, key).await?);
    }
    Ok(enqueued)
}

/// The organizations of `agreement_ids`.
async fn organizations_of(db: &DatabaseConnection, agreement_ids: Vec<i64>) -> Result<HashMap<i64, i64>, AppError> {
    let mut owners = HashMap::new();
    for chunk in agreement_ids.chunks(500) {
        let rows = agreement::Entity::find().filter(agreement::Column::Id.is_in(chunk.iter().copied())).all(db).await?;
        owners.extend(rows.into_iter().map(|a| (a.id, a.organization_id)));
    }
    Ok(owners)
}

async fn late_orders(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Vec<(Event, String)>, AppError> {
    let late = order::Entity::find().filter(crate::service::orders::late_at(now)).all(db).await?;
    let owners = organizations_of(db, late.iter().map(|o| o.agreement_id).collect()).await?;
    Ok(late
        .into_iter()
        .map(|o| {
            let (waiting_for, step) =
                if o.status == OrderStatus::Placed { ("confirmation", "PLACED") } else { ("delivery", "INVOICED") };
            let event = Event::new("order.late", ("Order", o.id), owners.get(&o.agreement_id).copied())
                .with_id("agreement", "Agreement", o.agreement_id)
                .with("status", step)
                .with("waitingFor", waiting_for);
            (event, format!("order.late:{}:{step}", o.id))
        })
        .collect())
}

async fn membership_windows(db: &DatabaseConnection, today: NaiveDate) -> Result<Vec<(Event, String)>, AppError> {
    let live = membership::Entity::find().filter(membership::Column::EndedOn.is_null()).all(db).await?;
    let mut due = Vec::new();
    for m in live {
        let renewals = u32::try_from(m.renewals).unwrap_or(0);
        let Some(anniversary) = current_anniversary(m.purchased_on, renewals) else { continue };
        let Some((opens, closes)) = renewal_window(anniversary) else { continue };
        let closing = closes.checked_sub_days(Days::new(WINDOW_CLOSING_DAYS)).unwrap_or(closes);
        let expired = closes.checked_add_days(Days::new(1)).unwrap_or(closes);
        let reminder = anniversary.checked_sub_days(Days::new(RENEWAL_DUE_DAYS)).unwrap_or(anniversary);
        for (kind, from) in [
            ("membership.renewal_due", reminder),
            ("membership.window_opened", opens),
            ("membership.window_closing", closing),
            ("membership.expired", expired),
        ] {
            if today >= from {
                let event = Event::new(kind, ("Membership", m.id), Some(m.organization_id))
                    .with("offer", sea_orm::ActiveEnum::to_value(&m.offer))
                    .with("anniversary", anniversary.to_string())
                    .with("windowClosesOn", closes.to_string());
                due.push((event, format!("{kind}:{}:{anniversary}", m.id)));
            }
        }
    }
    Ok(due)
}

async fn expiring_codes(db: &DatabaseConnection, today: NaiveDate) -> Result<Vec<(Event, String)>, AppError> {
    let until = today.checked_add_days(Days::new(EXPIRING_WITHIN_DAYS)).unwrap_or(today);
    let groups: Vec<(Option<i64>, NaiveDate, i64)> = code::Entity::find()
        .select_only()
        .column(code::Column::OrderId)
        .column(code::Column::ValidUntil)
        .column_as(code::Column::Id.count(), "n")
        .filter(code::Column::Status.is_in([StoredCodeStatus::Issued, StoredCodeStatus::Assigned]))
        .filter(code::Column::ValidUntil.between(today, until))
        .filter(code::Column::OrderId.is_not_null())
        .group_by(code::Column::OrderId)
        .group_by(code::Column::ValidUntil)
        .into_tuple()
        .all(db)
        .await?;
    let order_ids: Vec<i64> = groups.iter().filter_map(|(o, _, _)| *o).collect();
    let mut agreement_of = HashMap::new();
    for chunk in order_ids.chunks(500) {
        let rows = order::Entity::find().filter(order::Column::Id.is_in(chunk.iter().copied())).all(db).await?;
        agreement_of.extend(rows.into_iter().map(|o| (o.id, o.agreement_id)));
    }
    // One event per agreement and last day, counting every order's codes.
    let mut per_agreement: HashMap<(i64, NaiveDate), i64> = HashMap::new();
    for (order_id, last_day, n) in groups {
        if let Some(agreement) = order_id.and_then(|o| agreement_of.get(&o)) {
            *per_agreement.entry((*agreement, last_day)).or_insert(0) += n;
        }
    }
    let owners = organizations_of(db, per_agreement.keys().map(|(a, _)| *a).collect()).await?;
    let mut due: Vec<((i64, NaiveDate), i64)> = per_agreement.into_iter().collect();
    due.sort();
    Ok(due
        .into_iter()
        .map(|((agreement, last_day), n)| {
            let event = Event::new("codes.expiring", ("Agreement", agreement), owners.get(&agreement).copied())
                .with("expiresOn", last_day.to_string())
                .with("unusedCodes", n);
            (event, format!("codes.expiring:{agreement}:{last_day}"))
        })
        .collect())
}
