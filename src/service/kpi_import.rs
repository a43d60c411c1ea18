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
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

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
    let day = get("invoicedOn");
    let invoiced_on = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok().filter(|_| day.len() == 10);
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
    // 32-bit, as `recordKpi` takes them: a record is read back as an `Int`.
    let mut number = |field: &str| match get(field).parse::<i32>() {
        Ok(n) => i64::from(n),
        Err(_) => {
            errors.push(UserError::on(
                field,
                UserErrorCode::InvalidFormat,
                "a whole number from -2147483648 to 2147483647",
            ));
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

/// The line (from 1) of the record that starts at `byte`: the reader
/// places a record before the line break that precedes it (the `\n` of a
/// CRLF, blank lines), so those breaks count too.
fn line_at(text: &str, byte: u64) -> u64 {
    let start = usize::try_from(byte).unwrap_or(usize::MAX).min(text.len());
    let (before, after) = text.as_bytes().split_at(start);
    let pending = after.iter().take_while(|b| matches!(b, b'\r' | b'\n')).filter(|b| **b == b'\n').count();
    let breaks = before.iter().filter(|b| **b == b'\n').count() + pending;
    u64::try_from(breaks).map_or(u64::MAX, |n| n + 1)
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
            Some(_) if header.iter().filter(|h| **h == key(column)).count() > 1 => {
                return Ok(file_error(UserErrorCode::InvalidFormat, format!("the header names {column} twice")));
            }
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
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(csv_text, p.byte()));
                return Ok(file_error(UserErrorCode::InvalidFormat, format!("line {line} is not CSV")));
            }
        };
        let line = record.position().map_or(0, |p| line_at(csv_text, p.byte()));
        if record.iter().all(str::is_empty) {
            continue;
        }
        if parsed.len() == MAX_LINES {
            return Ok(file_error(UserErrorCode::OutOfRange, format!("at most {MAX_LINES} lines in one import")));
        }
        let cells: HashMap<&str, &str> = at.iter().map(|(c, i)| (*c, record.get(*i).unwrap_or_default())).collect();
        // A field that spans lines is an unclosed quote swallowing the
        // lines after it, or a value no invoice has: refused either way.
        let outcome = if record.iter().any(|f| f.contains(['\n', '\r'])) {
            Err(vec![UserError::on("csv", UserErrorCode::InvalidFormat, "a field spans lines: is a quote left open?")])
        } else {
            parse_line(&cells, today)
        };
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
    let mut recorded = HashMap::new();
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
            recorded.extend(
                rows.into_iter().map(|r| ((r.organization_id, r.invoice_number), r.review == FactReview::Pending)),
            );
        }
    }
    let mut seen: HashMap<(i64, String), u64> = HashMap::new();
    for (report, valid) in &mut parsed {
        let Some((org, v)) = valid.as_ref() else { continue };
        if !partners.contains(org) {
            report.errors.push(UserError::on("organizationId", UserErrorCode::NotFound, "partner not found"));
        } else if let Some(pending) = recorded.get(&(*org, v.invoice_number.clone())) {
            report.errors.push(UserError::on(
                "invoiceNumber",
                UserErrorCode::DuplicateInvoice,
                if *pending {
                    "the partner submitted this invoice and it waits for review: verify or reject it \
                     (verifyPartnerFact), then import"
                } else {
                    "this invoice is already recorded; an invoice counts once (R-28)"
                },
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
        let txn = crate::db::begin(db).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_as_an_editor_shows_them() {
        let crlf = "a,b\r\n1,2\r\n\r\n3,4\r\n";
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(crlf.as_bytes());
        let lines: Vec<u64> = reader
            .records()
            .map(|r| r.expect("csv"))
            .filter(|r| !r.iter().all(str::is_empty))
            .map(|r| line_at(crlf, r.position().expect("position").byte()))
            .collect();
        assert_eq!(lines, vec![2, 4]);
        let lf = "a,b\n1,2\n\n3,4\n";
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(lf.as_bytes());
        let lines: Vec<u64> =
            reader.records().map(|r| line_at(lf, r.expect("csv").position().expect("position").byte())).collect();
        assert_eq!(lines, vec![2, 4]);
    }
}
