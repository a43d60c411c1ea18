//! KPI records: what the desk records (one at a time, or imported
//! from a CSV of marketplace purchases, all or none), what a partner
//! submits (a pending record, or a dispute of a recorded figure), the
//! desk's corrections kept in the history, and the sums a renewal counts.
//!
//! A record carries its invoice's date; the reports show it from the 15th
//! of the next month and a renewal counts it by day (`domain::kpis`).
//! Only a VERIFIED record counts.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use entity::{
    enums::{DocumentType, FactReview},
    kpi_record,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Select,
    Set,
};

use crate::{
    auth::Viewer,
    domain::{catalog::Problems, catalog::check_text, kpis},
    error::{AppError, UserError, UserErrorCode, constraint_to_user_error},
    service::{
        Outcome,
        codes::actor,
        history::{self, Change, Subject},
        memberships::partner,
        page::{self, Page, PageRequest},
        refuse, reviews, scope,
    },
};

pub use super::kpi_disputes::{DisputeInput, dispute_kpi, disputes_query, resolve_dispute};
pub use super::kpi_import::{ImportLine, LineStatus, import_kpis};

/// Longest free text of a KPI record.
pub const MAX_TEXT: usize = 100;

/// The seven fields of R-28 and the invoice's date, as given.
#[derive(Debug, Clone)]
pub struct Figures {
    /// The invoice's date (required).
    pub invoiced_on: Option<NaiveDate>,
    /// Kept for clients that send the month: must agree with the date.
    pub year: Option<i32>,
    pub month: Option<i32>,
    pub omlp_type: String,
    pub purchase_unit: String,
    pub document_type: DocumentType,
    pub invoice_number: String,
    pub kpi_value: i64,
    pub revenue_cents: i64,
}

/// Figures that passed [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Valid {
    pub invoiced_on: NaiveDate,
    pub omlp_type: String,
    pub purchase_unit: String,
    pub invoice_number: String,
    pub kpi_value: i64,
    pub revenue_cents: i64,
}

impl Valid {
    /// A record's figures as they stand.
    pub fn of(record: &kpi_record::Model) -> Self {
        Self {
            invoiced_on: record.invoiced_on,
            omlp_type: record.omlp_type.clone(),
            purchase_unit: record.purchase_unit.clone(),
            invoice_number: record.invoice_number.clone(),
            kpi_value: record.kpi_value,
            revenue_cents: record.revenue_cents,
        }
    }

    /// The fields that differ from `before`, for the history.
    pub fn changes_from(&self, before: &Self) -> Vec<Change> {
        [
            Change::of("invoicedOn", &before.invoiced_on, &self.invoiced_on),
            Change::of("omlpType", &before.omlp_type, &self.omlp_type),
            Change::of("purchaseUnit", &before.purchase_unit, &self.purchase_unit),
            Change::of("invoiceNumber", &before.invoice_number, &self.invoice_number),
            Change::of("kpiValue", &before.kpi_value, &self.kpi_value),
            Change::of("revenueCents", &before.revenue_cents, &self.revenue_cents),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// Checks figures: an invoice, not an order confirmation or a
/// partner report; dated, not after `today`, in 2000 ..= 9999; a `year` or
/// `month` given agrees with the date; texts present and short; values
/// not negative.
pub fn check(figures: &Figures, today: NaiveDate) -> Result<Valid, Vec<UserError>> {
    let mut problems = Problems::default();
    if figures.document_type != DocumentType::Invoice {
        problems.add(
            "documentType",
            UserErrorCode::NotAnInvoice,
            "only invoices count as KPIs, not order confirmations or partner reports (R-28)",
        );
    }
    match figures.invoiced_on {
        None => problems.add("invoicedOn", UserErrorCode::Blank, "a KPI record carries its invoice's date (R-28)"),
        Some(day) => {
            if day > today {
                problems.add("invoicedOn", UserErrorCode::OutOfRange, "an invoice cannot be dated after today");
            }
            if !(2000..=9999).contains(&day.year()) {
                problems.add("invoicedOn", UserErrorCode::OutOfRange, "an invoice is dated in 2000 to 9999");
            }
            if figures.year.is_some_and(|y| y != day.year()) {
                problems.add("year", UserErrorCode::OutOfRange, "the year must be the invoice date's");
            }
            if figures.month.is_some_and(|m| i64::from(m) != i64::from(day.month())) {
                problems.add("month", UserErrorCode::OutOfRange, "the month must be the invoice date's");
            }
        }
    }
    let mut text = |value: &str, field: &str| {
        let value = value.trim();
        check_text(&mut problems, field, value, MAX_TEXT, true);
        value.to_owned()
    };
    let omlp_type = text(&figures.omlp_type, "omlpType");
    let purchase_unit = text(&figures.purchase_unit, "purchaseUnit");
    let invoice_number = text(&figures.invoice_number, "invoiceNumber");
    if figures.kpi_value < 0 {
        problems.add("kpiValue", UserErrorCode::OutOfRange, "a KPI value is not negative");
    }
    if figures.revenue_cents < 0 {
        problems.add("revenueCents", UserErrorCode::OutOfRange, "an invoice's revenue is not negative");
    }
    problems.into_result()?;
    Ok(Valid {
        invoiced_on: figures.invoiced_on.unwrap_or(today),
        omlp_type,
        purchase_unit,
        invoice_number,
        kpi_value: figures.kpi_value,
        revenue_cents: figures.revenue_cents,
    })
}

/// A new record's row: verified when the desk writes it, pending when a
/// partner submits it.
pub(crate) fn new_row(
    organization_id: i64,
    valid: Valid,
    review: (FactReview, Option<String>, Option<DateTime<Utc>>),
    now: DateTime<Utc>,
) -> kpi_record::ActiveModel {
    let (review, reviewed_by, reviewed_at) = review;
    kpi_record::ActiveModel {
        organization_id: Set(organization_id),
        year: Set(valid.invoiced_on.year()),
        month: Set(i32::try_from(valid.invoiced_on.month()).unwrap_or(1)),
        invoiced_on: Set(valid.invoiced_on),
        omlp_type: Set(valid.omlp_type),
        purchase_unit: Set(valid.purchase_unit),
        document_type: Set("INVOICE".to_owned()),
        invoice_number: Set(valid.invoice_number),
        kpi_value: Set(valid.kpi_value),
        revenue_cents: Set(valid.revenue_cents),
        recorded_at: Set(now),
        review: Set(review),
        reviewed_by: Set(reviewed_by),
        reviewed_at: Set(reviewed_at),
        ..Default::default()
    }
}

/// Records a KPI backed by an invoice. The desk's record counts at
/// once; a partner's is pending until the desk verifies it. An invoice
/// number is recorded once per partner.
pub async fn record_kpi(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    organization_id: i64,
    figures: Figures,
) -> Result<Outcome<kpi_record::Model>, AppError> {
    let Some(partner) = partner(db, viewer, organization_id).await? else {
        return refuse("organizationId", UserErrorCode::NotFound, "partner not found");
    };
    let valid = match check(&figures, now.date_naive()) {
        Ok(valid) => valid,
        Err(errors) => return Ok(Err(errors)),
    };
    // The unique (partner, invoice number) constraint settles duplicates,
    // concurrent ones included.
    match new_row(partner.id, valid, reviews::submitted(viewer, now), now).insert(db).await {
        Ok(r) => Ok(Ok(r)),
        Err(err) => constraint_to_user_error(err).map(|e| Err(vec![e])),
    }
}

/// What the desk changes in a record; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct Correction {
    pub invoiced_on: Option<NaiveDate>,
    pub omlp_type: Option<String>,
    pub purchase_unit: Option<String>,
    pub invoice_number: Option<String>,
    pub kpi_value: Option<i64>,
    pub revenue_cents: Option<i64>,
}

impl Correction {
    /// The figures the record would have.
    fn apply(self, record: &kpi_record::Model) -> Figures {
        Figures {
            invoiced_on: Some(self.invoiced_on.unwrap_or(record.invoiced_on)),
            year: None,
            month: None,
            omlp_type: self.omlp_type.unwrap_or_else(|| record.omlp_type.clone()),
            purchase_unit: self.purchase_unit.unwrap_or_else(|| record.purchase_unit.clone()),
            document_type: DocumentType::Invoice,
            invoice_number: self.invoice_number.unwrap_or_else(|| record.invoice_number.clone()),
            kpi_value: self.kpi_value.unwrap_or(record.kpi_value),
            revenue_cents: self.revenue_cents.unwrap_or(record.revenue_cents),
        }
    }
}

/// Corrects a wrong record (admin, R-28, R-34): the new figures are checked
/// as a new record's, each changed field is kept in the record's history
/// with who, when and why; a correction that changes nothing writes
/// nothing.
pub async fn correct_kpi(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    id: i64,
    correction: Correction,
    reason: String,
) -> Result<Outcome<kpi_record::Model>, AppError> {
    let mut problems = crate::domain::organizations::check_reason(Some(&reason));
    // The record is read for update: a concurrent correction waits, and is
    // then made over this one's figures (not reverted by it).
    let _writer = crate::db::sqlite_writer(db).await;
    let txn = crate::db::begin(db).await?;
    let Some(record) = kpi_record::Entity::find_by_id(id).lock_exclusive().one(&txn).await? else {
        return refuse("id", UserErrorCode::NotFound, "KPI record not found");
    };
    let valid = match check(&correction.apply(&record), now.date_naive()) {
        Ok(valid) => Some(valid),
        Err(errors) => {
            problems.extend(errors);
            None
        }
    };
    let Some(valid) = valid.filter(|_| problems.is_empty()) else {
        return Ok(Err(problems));
    };
    if valid == Valid::of(&record) {
        return Ok(Ok(record));
    }
    let outcome = rewrite(&txn, record, valid, None, reason.trim(), actor(viewer), now).await?;
    if outcome.is_ok() {
        txn.commit().await?;
    }
    Ok(outcome)
}

/// Writes `valid` over `record` (and, with `review`, its review), keeping
/// each change in the history, in the caller's transaction.
pub(crate) async fn rewrite<C: ConnectionTrait>(
    db: &C,
    record: kpi_record::Model,
    valid: Valid,
    review: Option<(FactReview, DateTime<Utc>)>,
    reason: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Outcome<kpi_record::Model>, AppError> {
    let mut changes = valid.changes_from(&Valid::of(&record));
    let id = record.id;
    let mut row: kpi_record::ActiveModel = record.clone().into();
    row.year = Set(valid.invoiced_on.year());
    row.month = Set(i32::try_from(valid.invoiced_on.month()).unwrap_or(1));
    row.invoiced_on = Set(valid.invoiced_on);
    row.omlp_type = Set(valid.omlp_type);
    row.purchase_unit = Set(valid.purchase_unit);
    row.invoice_number = Set(valid.invoice_number);
    row.kpi_value = Set(valid.kpi_value);
    row.revenue_cents = Set(valid.revenue_cents);
    if let Some((status, at)) = review {
        changes.extend(Change::of(
            "review",
            &format!("{:?}", record.review).to_uppercase(),
            &format!("{status:?}").to_uppercase(),
        ));
        row.review = Set(status);
        row.reviewed_by = Set(Some(actor.to_owned()));
        row.reviewed_at = Set(Some(at));
        row.rejection_reason = Set(None);
    }
    let updated = match row.update(db).await {
        Ok(updated) => updated,
        Err(err) => return constraint_to_user_error(err).map(|e| Err(vec![e])),
    };
    history::record(db, Subject::KpiRecord(id), &changes, Some(reason), actor, now).await?;
    Ok(Ok(updated))
}

/// A partner's KPI records visible on `as_of`, the caller's to see.
pub fn kpis_query(viewer: &Viewer, organization_id: i64, as_of: NaiveDate) -> Select<kpi_record::Entity> {
    let select = kpi_record::Entity::find()
        .filter(scope::partner_accounts(viewer, kpi_record::Column::OrganizationId))
        .filter(kpi_record::Column::OrganizationId.eq(organization_id));
    match kpis::last_visible_invoice_day(as_of) {
        Some(last) => select.filter(kpi_record::Column::InvoicedOn.lte(last)),
        None => select.filter(kpi_record::Column::Id.lt(0)),
    }
}

pub async fn list_kpis(
    db: &DatabaseConnection,
    viewer: &Viewer,
    organization_id: i64,
    as_of: NaiveDate,
    request: PageRequest,
) -> Result<Page<kpi_record::Model>, AppError> {
    Ok(page::fetch(db, kpis_query(viewer, organization_id, as_of), kpi_record::Column::Id, request).await?)
}

/// KPI and revenue summed over the invoices that count towards the renewal
/// at `anniversary`, judged on `as_of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KpiTotal {
    pub anniversary: NaiveDate,
    pub as_of: NaiveDate,
    pub kpi_value: i64,
    pub revenue_cents: i64,
    pub invoices: i64,
}

/// Sums a partner's verified KPI records dated in the renewal's window and
/// visible on `as_of`.
pub async fn kpi_total<C: ConnectionTrait>(
    db: &C,
    organization_id: i64,
    anniversary: NaiveDate,
    as_of: NaiveDate,
) -> Result<KpiTotal, AppError> {
    let mut total = KpiTotal { anniversary, as_of, kpi_value: 0, revenue_cents: 0, invoices: 0 };
    let Some((start, end)) = kpis::window(anniversary) else { return Ok(total) };
    let rows = kpi_record::Entity::find()
        .filter(kpi_record::Column::OrganizationId.eq(organization_id))
        .filter(kpi_record::Column::Review.eq(FactReview::Verified))
        .filter(kpi_record::Column::InvoicedOn.between(start, end))
        .all(db)
        .await?;
    for k in rows.into_iter().filter(|k| kpis::counts(k.invoiced_on, anniversary, as_of)) {
        total.kpi_value = total.kpi_value.saturating_add(k.kpi_value);
        total.revenue_cents = total.revenue_cents.saturating_add(k.revenue_cents);
        total.invoices += 1;
    }
    Ok(total)
}
