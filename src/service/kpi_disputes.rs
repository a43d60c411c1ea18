//! A partner's disputes of KPI figures: the partner submits the
//! seven fields and the invoice's date, naming the record it contests or
//! none (an invoice the desk has not recorded); the desk accepts the
//! dispute (the record is corrected or created, verified, and counts) or
//! rejects it with a reason. Nothing the partner writes counts before that.

use chrono::{DateTime, Utc};
use entity::{enums::FactReview, kpi_dispute, kpi_record};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Select, Set,
    sea_query::Expr,
};

use crate::{
    auth::Viewer,
    domain::{
        catalog::{Problems, check_text},
        organizations::check_reason,
    },
    error::{AppError, UserError, UserErrorCode, constraint_to_user_error},
    service::{
        Outcome,
        codes::actor,
        kpis::{Figures, Valid, check, new_row, rewrite},
        memberships::partner,
        outbox, refuse,
        reviews::Verdict,
        scope,
    },
};

/// Longest explanation of a dispute.
pub const MAX_EXPLANATION: usize = 500;

/// What `disputeKpi` asks for.
#[derive(Debug, Clone)]
pub struct DisputeInput {
    pub organization_id: i64,
    /// The record contested, or `None` for an invoice not recorded yet.
    pub record_id: Option<i64>,
    pub figures: Figures,
    pub explanation: Option<String>,
}

/// Submits a dispute (partner administrator of the account, or admin). A
/// record named must be the partner's; an invoice already recorded must be
/// contested by naming its record, so that accepting the dispute corrects
/// it rather than counting the invoice twice.
pub async fn dispute_kpi(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    input: DisputeInput,
) -> Result<Outcome<kpi_dispute::Model>, AppError> {
    let Some(partner) = partner(db, viewer, input.organization_id).await? else {
        return refuse("organizationId", UserErrorCode::NotFound, "partner not found");
    };
    let mut problems = Problems::default();
    let explanation = input.explanation.as_deref().map(str::trim).filter(|e| !e.is_empty());
    if let Some(e) = explanation {
        check_text(&mut problems, "explanation", e, MAX_EXPLANATION, false);
    }
    let valid = check(&input.figures, now.date_naive());
    let mut errors = problems.into_result().err().unwrap_or_default();
    let valid = match valid {
        Ok(valid) if errors.is_empty() => valid,
        Ok(_) => return Ok(Err(errors)),
        Err(more) => {
            errors.extend(more);
            return Ok(Err(errors));
        }
    };
    match input.record_id {
        Some(record_id) => {
            let record = kpi_record::Entity::find_by_id(record_id)
                .filter(kpi_record::Column::OrganizationId.eq(partner.id))
                .one(db)
                .await?;
            if record.is_none() {
                return refuse("recordId", UserErrorCode::NotFound, "KPI record not found");
            }
        }
        None => {
            let recorded = kpi_record::Entity::find()
                .filter(kpi_record::Column::OrganizationId.eq(partner.id))
                .filter(kpi_record::Column::InvoiceNumber.eq(valid.invoice_number.as_str()))
                .one(db)
                .await?;
            if let Some(r) = recorded {
                return refuse(
                    "invoiceNumber",
                    UserErrorCode::DuplicateInvoice,
                    format!(
                        "this invoice is recorded as {}: name it in recordId to contest its figures",
                        crate::id::encode("KpiRecord", r.id)
                    ),
                );
            }
        }
    }
    let row = kpi_dispute::ActiveModel {
        organization_id: Set(partner.id),
        record_id: Set(input.record_id),
        invoiced_on: Set(valid.invoiced_on),
        omlp_type: Set(valid.omlp_type),
        purchase_unit: Set(valid.purchase_unit),
        invoice_number: Set(valid.invoice_number),
        kpi_value: Set(valid.kpi_value),
        revenue_cents: Set(valid.revenue_cents),
        explanation: Set(explanation.map(str::to_owned)),
        submitted_by: Set(actor(viewer).to_owned()),
        submitted_at: Set(now),
        status: Set(FactReview::Pending),
        ..Default::default()
    };
    Ok(Ok(row.insert(db).await?))
}

/// The disputes the viewer may see, of one partner or all.
pub fn disputes_query(viewer: &Viewer, organization_id: Option<i64>) -> Select<kpi_dispute::Entity> {
    let select =
        kpi_dispute::Entity::find().filter(scope::partner_accounts(viewer, kpi_dispute::Column::OrganizationId));
    match organization_id {
        Some(id) => select.filter(kpi_dispute::Column::OrganizationId.eq(id)),
        None => select,
    }
}

/// The desk decides a pending dispute (admin). Accepting it writes the
/// disputed figures: over the record it names (each change kept in the
/// record's history, the record verified), or as a new verified record.
/// All in one transaction: if the figures cannot be written (the invoice
/// number is another record's), nothing changes. A decided dispute is
/// refused (`ALREADY_REVIEWED`); of two desks deciding at once, one wins.
pub async fn resolve_dispute(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    id: i64,
    verdict: Verdict,
    reason: Option<String>,
) -> Result<Outcome<kpi_dispute::Model>, AppError> {
    let mut problems: Vec<UserError> = check_reason(reason.as_deref());
    if verdict == Verdict::Reject && reason.is_none() {
        problems.push(UserError::on("reason", UserErrorCode::Blank, "a rejection says why"));
    }
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let reason = reason.map(|r| r.trim().to_owned());
    let who = actor(viewer).to_owned();
    let to = if verdict == Verdict::Verify { FactReview::Verified } else { FactReview::Rejected };
    let _writer = crate::db::sqlite_writer(db).await;
    let txn = crate::db::begin(db).await?;
    let done = kpi_dispute::Entity::update_many()
        .col_expr(kpi_dispute::Column::Status, Expr::value(to))
        .col_expr(kpi_dispute::Column::ReviewedBy, Expr::value(who.clone()))
        .col_expr(kpi_dispute::Column::ReviewedAt, Expr::value(now))
        .col_expr(
            kpi_dispute::Column::RejectionReason,
            Expr::value(if verdict == Verdict::Reject { reason.clone() } else { None }),
        )
        .filter(kpi_dispute::Column::Id.eq(id))
        .filter(kpi_dispute::Column::Status.eq(FactReview::Pending))
        .exec(&txn)
        .await?
        .rows_affected;
    let Some(dispute) = kpi_dispute::Entity::find_by_id(id).one(&txn).await? else {
        return refuse("id", UserErrorCode::NotFound, "no such dispute");
    };
    if done != 1 {
        return refuse("id", UserErrorCode::AlreadyReviewed, "the desk has already decided this dispute");
    }
    if verdict == Verdict::Reject {
        outbox::emit(&txn, now, resolved(&dispute, FactReview::Rejected, None)).await?;
        txn.commit().await?;
        return Ok(Ok(dispute));
    }
    let valid = Valid {
        invoiced_on: dispute.invoiced_on,
        omlp_type: dispute.omlp_type.clone(),
        purchase_unit: dispute.purchase_unit.clone(),
        invoice_number: dispute.invoice_number.clone(),
        kpi_value: dispute.kpi_value,
        revenue_cents: dispute.revenue_cents,
    };
    let note = format!(
        "dispute {} accepted{}",
        crate::id::encode("KpiDispute", dispute.id),
        reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
    );
    // The record contested, the dispute's partner's still (a merge may have
    // left it with the other account), read for update.
    let written = match dispute.record_id {
        Some(r) => {
            let contested = kpi_record::Entity::find_by_id(r)
                .filter(kpi_record::Column::OrganizationId.eq(dispute.organization_id))
                .lock_exclusive()
                .one(&txn)
                .await?;
            let Some(record) = contested else {
                return refuse("id", UserErrorCode::NotFound, "the disputed record is no longer this partner's");
            };
            rewrite(&txn, record, valid, Some((FactReview::Verified, now)), &note, &who, now).await?
        }
        None => {
            let row =
                new_row(dispute.organization_id, valid, (FactReview::Verified, Some(who.clone()), Some(now)), now);
            match row.insert(&txn).await {
                Ok(record) => Ok(record),
                Err(err) => Err(vec![constraint_to_user_error(err)?]),
            }
        }
    };
    let record = match written {
        Ok(record) => record,
        Err(errors) => return Ok(Err(errors)),
    };
    let mut decided: kpi_dispute::ActiveModel = dispute.into();
    decided.result_record_id = Set(Some(record.id));
    let decided = decided.update(&txn).await?;
    outbox::emit(&txn, now, resolved(&decided, FactReview::Verified, Some(record.id))).await?;
    txn.commit().await?;
    Ok(Ok(decided))
}

/// `kpi.dispute_resolved`: the dispute, its partner, the decision and the
/// record it wrote.
fn resolved(dispute: &kpi_dispute::Model, status: FactReview, record: Option<i64>) -> outbox::Event {
    let event = outbox::Event::new("kpi.dispute_resolved", ("KpiDispute", dispute.id), Some(dispute.organization_id))
        .with("status", sea_orm::ActiveEnum::to_value(&status));
    match record {
        Some(r) => event.with_id("record", "KpiRecord", r),
        None => event,
    }
}
