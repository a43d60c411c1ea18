//! The desk's import of KPI records from a CSV of marketplace purchases
//! every line is checked as a single record would be, and either
//! every line is recorded (verified) or none is, with a report per line.
//!
//! The file has a header naming its columns (any order, case and `_` or
//! spaces ignored; other columns are ignored): `organizationId`,
//! `invoicedOn` (YYYY-MM-DD), `omlpType`, `purchaseUnit`, `documentType`
//! (`INVOICE`; others are refused), `invoiceNumber`, `kpiValue`,
//! `revenueCents`. At most [`MAX_LINES`] lines.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    enums::{DocumentType, FactReview, OrganizationKind},
    kpi_record, organization,
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait};

use crate::{
    auth::Viewer,
    error::{AppError, UserError, UserErrorCode, constraint_to_user_error},
    service::{
        codes::actor,
        kpis::{Figures, Valid, check, new_row},
    },
};

/// Most data lines in one import, as with bulk assignment.
pub const MAX_LINES: usize = 10_000;
/// Rows per INSERT: far under SQLite's and PostgreSQL's parameter limits.
const CHUNK: usize = 500;

const COLUMNS: [&str; 8] = [
    "organizationId",
    "invoicedOn",
    "omlpType",
    "purchaseUnit",
    "documentType",
    "invoiceNumber",
    "kpiValue",
    "revenueCents",
];

/// What became of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineStatus {
    /// Recorded.
    Imported,
    /// Wrong: see its errors.
    Refused,
    /// Right, but not recorded because another line was refused.
    NotImported,
}

/// One data line's report.
#[derive(Debug, Clone)]
pub struct ImportLine {
    /// The line in the file (the header is line 1).
    pub line: u64,
    pub invoice_number: Option<String>,
    pub organization_id: Option<i64>,
    pub status: LineStatus,
    pub errors: Vec<UserError>,
}

/// The import's outcome: file-wide errors (no header, too many lines),
/// or a report of every line.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub imported: u64,
    pub errors: Vec<UserError>,
    pub lines: Vec<ImportLine>,
}

fn key(name: &str) -> String {
    name.chars().filter(|c| !matches!(c, '_' | ' ' | '-')).collect::<String>().to_ascii_lowercase()
}

fn file_error(code: UserErrorCode, message: impl Into<String>) -> ImportReport {
    ImportReport { errors: vec![UserError::on("csv", code, message)], ..ImportReport::default() }
}

fn document_type(text: &str) -> Option<DocumentType> {
    match key(text).as_str() {
        "invoice" => Some(DocumentType::Invoice),
        "orderconfirmation" => Some(DocumentType::OrderConfirmation),
        "partnerreport" => Some(DocumentType::PartnerReport),
        _ => None,
    }
}

/// One line's figures and partner, or its errors.
fn parse_line(cells: &HashMap<&str, &str>, today: NaiveDate) -> Result<(i64, Valid), Vec<UserError>> {
    let mut errors = Vec::new();
    let get = |c: &str| cells.get(c).copied().unwrap_or_default();
    let organization = crate::id::decode_as("Organization", get("organizationId"));
    if organization.is_none() {
        errors.push(UserError::on("organizationId", UserErrorCode::NotFound, "partner not found"));
    }
    let invoiced_on = NaiveDate::parse_from_str(get("invoicedOn"), "%Y-%m-%d").ok();
    if invoiced_on.is_none() {
        errors.push(UserError::on("invoicedOn", UserErrorCode::InvalidFormat, "a date is YYYY-MM-DD"));
    }
    let document = document_type(get("documentType"));
    if document.is_none() {
        errors.push(UserError::on(
            "documentType",
            UserErrorCode::InvalidFormat,
            "INVOICE, ORDER_CONFIRMATION or PARTNER_REPORT",
        ));
    }
    let mut number = |field: &str| match get(field).parse::<i64>() {
        Ok(n) => n,
        Err(_) => {
            errors.push(UserError::on(field, UserErrorCode::InvalidFormat, "a whole number"));
            0
        }
    };
    let (kpi_value, revenue_cents) = (number("kpiValue"), number("revenueCents"));
    let figures = Figures {
        invoiced_on: invoiced_on.or(Some(today)),
        year: None,
        month: None,
        omlp_type: get("omlpType").to_owned(),
        purchase_unit: get("purchaseUnit").to_owned(),
        document_type: document.unwrap_or(DocumentType::Invoice),
        invoice_number: get("invoiceNumber").to_owned(),
        kpi_value,
        revenue_cents,
    };
    match check(&figures, today) {
        Ok(valid) if errors.is_empty() => Ok((organization.unwrap_or_default(), valid)),
        Ok(_) => Err(errors),
        Err(more) => {
            errors.extend(more);
            Err(errors)
        }
    }
}

/// Imports the CSV (admin): all lines or none, each reported.
pub async fn import_kpis(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    csv_text: &str,
) -> Result<ImportReport, AppError> {
    let today = now.date_naive();
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(csv_text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(key).collect(),
        Err(e) => return Ok(file_error(UserErrorCode::InvalidFormat, format!("the header is not CSV: {e}"))),
    };
    let mut at = HashMap::new();
    let mut missing = Vec::new();
    for column in COLUMNS {
        match header.iter().position(|h| *h == key(column)) {
            Some(i) => {
                at.insert(column, i);
            }
            None => missing.push(column),
        }
    }
    if !missing.is_empty() {
        return Ok(file_error(
            UserErrorCode::InvalidFormat,
            format!("the header lacks {}; it names {}", missing.join(", "), COLUMNS.join(", ")),
        ));
    }
    // Parse and check each line.
    let mut parsed: Vec<(ImportLine, Option<(i64, Valid)>)> = Vec::new();
    for record in reader.records() {
        if parsed.len() == MAX_LINES {
            return Ok(file_error(UserErrorCode::OutOfRange, format!("at most {MAX_LINES} lines in one import")));
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                return Ok(file_error(UserErrorCode::InvalidFormat, format!("line {line} is not CSV")));
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        let cells: HashMap<&str, &str> = at.iter().map(|(c, i)| (*c, record.get(*i).unwrap_or_default())).collect();
        let outcome = parse_line(&cells, today);
        let report = ImportLine {
            line,
            invoice_number: Some(cells["invoiceNumber"].to_owned()).filter(|n| !n.is_empty()),
            organization_id: outcome.as_ref().ok().map(|(o, _)| *o),
            status: LineStatus::NotImported,
            errors: outcome.as_ref().err().cloned().unwrap_or_default(),
        };
        parsed.push((report, outcome.ok()));
    }
    if parsed.is_empty() {
        return Ok(file_error(UserErrorCode::Blank, "the file has no lines to import"));
    }
    // The partners named, and the invoices they already have.
    let ids: HashSet<i64> = parsed.iter().filter_map(|(_, v)| v.as_ref().map(|(o, _)| *o)).collect();
    let ids: Vec<i64> = ids.into_iter().collect();
    let mut partners = HashSet::new();
    let mut recorded = HashSet::new();
    for chunk in ids.chunks(CHUNK) {
        let orgs = organization::Entity::find()
            .filter(organization::Column::Id.is_in(chunk.iter().copied()))
            .filter(organization::Column::Kind.eq(OrganizationKind::Partner))
            .filter(organization::Column::MergedIntoId.is_null())
            .all(db)
            .await?;
        partners.extend(orgs.into_iter().map(|o| o.id));
        let numbers: Vec<String> = parsed
            .iter()
            .filter_map(|(_, v)| v.as_ref().filter(|(o, _)| chunk.contains(o)).map(|(_, v)| v.invoice_number.clone()))
            .collect();
        for numbers in numbers.chunks(CHUNK) {
            let rows = kpi_record::Entity::find()
                .filter(kpi_record::Column::OrganizationId.is_in(chunk.iter().copied()))
                .filter(kpi_record::Column::InvoiceNumber.is_in(numbers.iter().cloned()))
                .all(db)
                .await?;
            recorded.extend(rows.into_iter().map(|r| (r.organization_id, r.invoice_number)));
        }
    }
    let mut seen: HashMap<(i64, String), u64> = HashMap::new();
    for (report, valid) in &mut parsed {
        let Some((org, v)) = valid.as_ref() else { continue };
        if !partners.contains(org) {
            report.errors.push(UserError::on("organizationId", UserErrorCode::NotFound, "partner not found"));
        } else if recorded.contains(&(*org, v.invoice_number.clone())) {
            report.errors.push(UserError::on(
                "invoiceNumber",
                UserErrorCode::DuplicateInvoice,
                "this invoice is already recorded; an invoice counts once (R-28)",
            ));
        } else if let Some(first) = seen.insert((*org, v.invoice_number.clone()), report.line) {
            report.errors.push(UserError::on(
                "invoiceNumber",
                UserErrorCode::DuplicateInvoice,
                format!("this invoice is on line {first} too; an invoice counts once (R-28)"),
            ));
        }
    }
    let refused = parsed.iter().filter(|(r, _)| !r.errors.is_empty()).count();
    let mut report = ImportReport::default();
    if refused > 0 {
        report.errors.push(UserError::on(
            "csv",
            UserErrorCode::InvalidFormat,
            format!("{refused} of {} lines refused: nothing was imported", parsed.len()),
        ));
    } else {
        let verified = (FactReview::Verified, Some(actor(viewer).to_owned()), Some(now));
        let rows: Vec<_> = parsed
            .iter()
            .filter_map(|(_, v)| v.clone())
            .map(|(org, valid)| new_row(org, valid, verified.clone(), now))
            .collect();
        let txn = db.begin().await?;
        for chunk in rows.chunks(CHUNK) {
            if let Err(err) = kpi_record::Entity::insert_many(chunk.to_vec()).exec_without_returning(&txn).await {
                // Recorded meanwhile by someone else: nothing is imported.
                report.errors.push(constraint_to_user_error(err)?);
                break;
            }
        }
        if report.errors.is_empty() {
            txn.commit().await?;
            report.imported = u64::try_from(parsed.len()).unwrap_or(u64::MAX);
        }
    }
    let imported = report.imported > 0;
    report.lines = parsed
        .into_iter()
        .map(|(mut line, _)| {
            line.status = if !line.errors.is_empty() {
                LineStatus::Refused
            } else if imported {
                LineStatus::Imported
            } else {
                LineStatus::NotImported
            };
            line
        })
        .collect();
    Ok(report)
}
