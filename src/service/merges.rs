//! Merging two partner accounts into one partner global account.
//!
//! `preview` shows what a merge would do and changes nothing; `merge` does
//! it in one transaction: the merged account is marked merged into the
//! survivor (it stays, as history), its memberships, their benefit codes,
//! trainers, passed exams and KPI records move to the survivor, and each
//! membership gets the fate `domain::benefits::merge_plan` gives it. A
//! record of the merge, with the plan, is kept in `partner_merges`.

use chrono::{DateTime, Days, NaiveDate, Utc};
use entity::{enums::OrganizationKind, membership, organization, partner_merge};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    Statement, sea_query::Expr,
};

use crate::{
    auth::Viewer,
    domain::{
        benefits::{Fate, Held, Side, merge_plan},
        memberships::Standing,
    },
    error::{AppError, UserErrorCode, constraint_to_user_error},
    service::{
        Outcome,
        memberships::{benefits_until, standing_of},
        placeholder, refuse,
    },
};

/// One membership in a merge plan.
#[derive(Debug, Clone)]
pub struct Entry {
    pub membership: membership::Model,
    pub side: Side,
    pub fate: Fate,
    /// The last day of its current renewal window: where "until its next
    /// renewal" ends.
    pub window_closes: NaiveDate,
}

/// What a merge of `merged` into `survivor` does.
#[derive(Debug, Clone)]
pub struct Plan {
    pub survivor: organization::Model,
    pub merged: organization::Model,
    pub entries: Vec<Entry>,
}

impl Plan {
    /// The membership whose core benefits package the account keeps.
    pub fn core(&self) -> Option<&membership::Model> {
        self.entries.iter().find(|e| e.fate == Fate::KeepsCorePackage).map(|e| &e.membership)
    }
}

/// A partner account that can take part in a merge.
async fn account<C: ConnectionTrait>(db: &C, id: i64) -> Result<Option<organization::Model>, AppError> {
    Ok(organization::Entity::find_by_id(id)
        .filter(organization::Column::Kind.eq(OrganizationKind::Partner))
        .one(db)
        .await?)
}

fn is_live(org: &organization::Model) -> bool {
    org.merged_into_id.is_none() && org.partner_global_account.is_some()
}

/// Every membership of both accounts not already ended, with its fate on `today`.
async fn entries<C: ConnectionTrait>(
    db: &C,
    survivor_id: i64,
    merged_id: i64,
    today: NaiveDate,
) -> Result<Vec<Entry>, AppError> {
    let rows = membership::Entity::find()
        .filter(membership::Column::OrganizationId.is_in([survivor_id, merged_id]))
        .filter(membership::Column::EndedOn.is_null())
        .order_by_asc(membership::Column::Id)
        .all(db)
        .await?;
    let mut held = Vec::with_capacity(rows.len());
    for m in &rows {
        held.push(Held {
            id: m.id,
            side: if m.organization_id == survivor_id { Side::Survivor } else { Side::Merged },
            offer: m.offer,
            level: m.level,
            competency: m.competency.clone(),
            live: standing_of(m, today)? != Standing::Expired,
            window_closes: benefits_until(m)?,
        });
    }
    let fates = merge_plan(&held);
    Ok(rows
        .into_iter()
        .zip(held)
        .zip(fates)
        .map(|((membership, h), fate)| Entry { membership, side: h.side, fate, window_closes: h.window_closes })
        .collect())
}

/// What merging `merged_id` into `survivor_id` would do on `today`; nothing
/// changes. Refused when either is not a partner account, they are the
/// same, or either was already merged.
pub async fn preview(
    db: &DatabaseConnection,
    survivor_id: i64,
    merged_id: i64,
    today: NaiveDate,
) -> Result<Outcome<Plan>, AppError> {
    if survivor_id == merged_id {
        return refuse("mergedId", UserErrorCode::InvalidFormat, "an account cannot be merged into itself");
    }
    let Some(survivor) = account(db, survivor_id).await? else {
        return refuse("survivorId", UserErrorCode::NotFound, "partner not found");
    };
    let Some(merged) = account(db, merged_id).await? else {
        return refuse("mergedId", UserErrorCode::NotFound, "partner not found");
    };
    for (field, org) in [("survivorId", &survivor), ("mergedId", &merged)] {
        if !is_live(org) {
            return refuse(field, UserErrorCode::AlreadyMerged, "this partner account was already merged into another");
        }
    }
    let entries = entries(db, survivor_id, merged_id, today).await?;
    Ok(Ok(Plan { survivor, merged, entries }))
}

fn summary(plan: &Plan) -> String {
    let entries: Vec<_> = plan
        .entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "membershipId": e.membership.id,
                "from": if e.side == Side::Survivor { "SURVIVOR" } else { "MERGED" },
                "offer": format!("{:?}", e.membership.offer),
                "level": e.membership.level.map(|l| format!("{l:?}")),
                "competency": e.membership.competency,
                "fate": format!("{:?}", e.fate),
                "windowCloses": e.window_closes.to_string(),
            })
        })
        .collect();
    serde_json::json!({
        "survivorPartnerGlobalAccount": plan.survivor.partner_global_account,
        "mergedPartnerGlobalAccount": plan.merged.partner_global_account,
        "memberships": entries,
    })
    .to_string()
}

/// Merges `merged_id` into `survivor_id` (admin), irreversibly, in one
/// transaction. Each membership keeps its benefits until its next
/// renewal; duplicates then collapse, and only the highest achievement's
/// core benefits package carries on. One ACTION_PACK remains per account.
pub async fn merge(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    survivor_id: i64,
    merged_id: i64,
) -> Result<Outcome<(organization::Model, partner_merge::Model)>, AppError> {
    let today = now.date_naive();
    let txn = crate::db::begin(db).await?;
    // First statement, and the guard: marks the merged account, so two
    // merges of it cannot both happen, and on SQLite takes the write lock.
    let marked = organization::Entity::update_many()
        .col_expr(organization::Column::MergedIntoId, Expr::value(survivor_id))
        .filter(organization::Column::Id.eq(merged_id))
        .filter(organization::Column::Id.ne(survivor_id))
        .filter(organization::Column::MergedIntoId.is_null())
        .filter(organization::Column::PartnerGlobalAccount.is_not_null())
        .filter(organization::Column::Kind.eq(OrganizationKind::Partner))
        .exec(&txn)
        .await?
        .rows_affected;
    if marked != 1 {
        drop(txn);
        // Explain with the state as it is now.
        return match preview(db, survivor_id, merged_id, today).await? {
            Err(errors) => Ok(Err(errors)),
            Ok(_) => refuse("mergedId", UserErrorCode::AlreadyMerged, "the account was merged meanwhile"),
        };
    }
    let survivor = match account(&txn, survivor_id).await? {
        Some(s) if is_live(&s) => s,
        Some(_) => {
            return refuse(
                "survivorId",
                UserErrorCode::AlreadyMerged,
                "this partner account was already merged into another",
            );
        }
        None => return refuse("survivorId", UserErrorCode::NotFound, "partner not found"),
    };
    let merged = account(&txn, merged_id).await?.ok_or_else(|| AppError::internal("merged account vanished"))?;
    let plan = Plan { entries: entries(&txn, survivor_id, merged_id, today).await?, survivor, merged };
    let survivor_pga = plan.survivor.partner_global_account.clone().unwrap_or_default();
    let merged_pga = plan.merged.partner_global_account.clone().unwrap_or_default();
    let core_id = plan.core().map(|m| m.id);
    for e in &plan.entries {
        let reason = |what: &str| {
            let core = core_id.map(|c| format!("; core package of membership {c}")).unwrap_or_default();
            format!("{what}: merge of {merged_pga} into {survivor_pga}{core}")
        };
        let update = membership::Entity::update_many().filter(membership::Column::Id.eq(e.membership.id));
        match e.fate {
            Fate::KeepsCorePackage | Fate::StaysExpired => {}
            Fate::CoreBenefitsEndAtRenewal => {
                update.col_expr(membership::Column::CoreBenefitsUntil, Expr::value(e.window_closes)).exec(&txn).await?;
            }
            Fate::CollapsesAtRenewal => {
                let ends = e.window_closes.checked_add_days(Days::new(1)).unwrap_or(e.window_closes);
                update
                    .col_expr(membership::Column::EndedOn, Expr::value(ends))
                    .col_expr(membership::Column::EndedReason, Expr::value(reason("collapses at renewal")))
                    .exec(&txn)
                    .await?;
            }
            Fate::EndsNow => {
                update
                    .col_expr(membership::Column::EndedOn, Expr::value(today))
                    .col_expr(membership::Column::EndedReason, Expr::value(reason("expired, then ended")))
                    .exec(&txn)
                    .await?;
            }
        }
    }
    move_records(&txn, survivor_id, merged_id, &survivor_pga).await?;
    let record = partner_merge::ActiveModel {
        survivor_id: Set(survivor_id),
        merged_id: Set(merged_id),
        merged_by: Set(viewer.subject.clone().unwrap_or_default()),
        merged_at: Set(now),
        summary: Set(summary(&plan)),
        ..Default::default()
    };
    let record = match record.insert(&txn).await {
        Ok(r) => r,
        Err(err) => return constraint_to_user_error(err).map(|e| Err(vec![e])),
    };
    let event = crate::service::outbox::Event::new("merge.completed", ("PartnerMerge", record.id), Some(survivor_id))
        .with_id("survivor", "Organization", survivor_id)
        .with_id("merged", "Organization", merged_id);
    crate::service::outbox::emit(&txn, now, event).await?;
    txn.commit().await?;
    Ok(Ok((plan.survivor, record)))
}

/// Moves the merged account's memberships (ended ones too, as history),
/// their benefit codes, trainers, passed exams and KPI records to the
/// survivor. Records the survivor already has (the same MCT id, the same
/// person's pass of the same exam, the same invoice number) stay with the
/// merged account as history: an invoice never counts twice.
async fn move_records<C: ConnectionTrait>(
    db: &C,
    survivor_id: i64,
    merged_id: i64,
    survivor_pga: &str,
) -> Result<(), AppError> {
    let backend = db.get_database_backend();
    let p = |n| placeholder(backend, n);
    let (to, from, pga) = (p(1), p(2), p(3));
    let ids = || -> Vec<sea_orm::Value> { vec![survivor_id.into(), merged_id.into()] };
    let with_pga = || -> Vec<sea_orm::Value> { vec![survivor_id.into(), merged_id.into(), survivor_pga.into()] };
    let statements = [
        (
            format!(
                "UPDATE codes SET organization_id = {to} WHERE membership_id IN \
                 (SELECT id FROM memberships WHERE organization_id = {from})"
            ),
            ids(),
        ),
        (
            format!(
                "UPDATE memberships SET organization_id = {to}, partner_global_account = {pga} \
                 WHERE organization_id = {from}"
            ),
            with_pga(),
        ),
        (
            format!(
                "UPDATE certified_trainers SET organization_id = {to} WHERE organization_id = {from} \
                 AND NOT EXISTS (SELECT 1 FROM certified_trainers s WHERE s.organization_id = {to} \
                 AND s.mct_id = certified_trainers.mct_id)"
            ),
            ids(),
        ),
        (
            format!(
                "UPDATE partner_certifications SET organization_id = {to} WHERE organization_id = {from} \
                 AND NOT EXISTS (SELECT 1 FROM partner_certifications s WHERE s.organization_id = {to} \
                 AND s.person = partner_certifications.person AND s.exam = partner_certifications.exam)"
            ),
            ids(),
        ),
        (
            format!(
                "UPDATE kpi_records SET organization_id = {to} WHERE organization_id = {from} \
                 AND NOT EXISTS (SELECT 1 FROM kpi_records s WHERE s.organization_id = {to} \
                 AND s.invoice_number = kpi_records.invoice_number)"
            ),
            ids(),
        ),
        (format!("UPDATE kpi_disputes SET organization_id = {to} WHERE organization_id = {from}"), ids()),
    ];
    for (sql, values) in statements {
        db.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    }
    Ok(())
}
