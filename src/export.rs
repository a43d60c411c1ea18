//! `GET /exports/orders/{id}/codes.csv`: an order's codes as CSV, for the
//! owning organization's customer administrator and admins.
//!
//! Streamed: rows are read in keyset steps of [`STEP`] codes and written as
//! they come, so a 100 000-code order never sits in memory. Someone else's
//! order answers 404, exactly like a missing one.

use axum::{
    body::{Body, Bytes},
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::NaiveDate;
use entity::code;
use sea_orm::DatabaseConnection;

use crate::{
    AppState,
    auth::{Role, Viewer},
    domain::codes::effective_status,
    error::AppError,
    http::{Media, app_error_response, authenticate, error_body, json_response},
    id,
    service::{codes, orders},
};

/// Codes read per database round trip.
pub const STEP: u64 = 1_000;

const HEADER: &str = "value,kind,status,assignee,expiresOn\n";

fn not_found() -> Response {
    json_response(StatusCode::NOT_FOUND, Media::Json, &error_body("order not found", "NOT_FOUND"))
}

/// A CSV field: quoted when needed, and defused when a spreadsheet would
/// read it as a formula (a leading `=`, `+`, `-`, `@`, tab or CR).
pub fn csv_field(text: &str) -> String {
    let defused = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() };
    if defused.contains([',', '"', '\n', '\r']) { format!("\"{}\"", defused.replace('"', "\"\"")) } else { defused }
}

fn row(code: &code::Model, today: NaiveDate) -> String {
    let kind = format!("{:?}", code.kind);
    let status = format!("{:?}", effective_status(code.status, code.valid_until, today));
    format!(
        "{},{},{},{},{}\n",
        csv_field(&code.value),
        screaming(&kind),
        screaming(&status),
        csv_field(code.assignee.as_deref().unwrap_or("")),
        code.valid_until.format("%Y-%m-%d")
    )
}

/// `ExamVoucher` -> `EXAM_VOUCHER`, as the GraphQL enums spell it.
fn screaming(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn may_export(viewer: &Viewer, organization_id: i64) -> bool {
    viewer.is_admin() || (viewer.has(Role::CustomerAdmin) && viewer.organization_id == Some(organization_id))
}

/// The handler.
pub async fn order_codes_csv(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let viewer = match authenticate(&state, &headers) {
        Ok(viewer) if viewer.is_authenticated() => viewer,
        Ok(_) => return app_error_response(Media::Json, AppError::sign_in_required()),
        Err(err) => return app_error_response(Media::Json, err),
    };
    let Some(order_id) = id::decode_as("Order", &id) else { return not_found() };
    let order = match orders::order(&state.db, &viewer, order_id).await {
        Ok(Some(order)) => order,
        Ok(None) => return not_found(),
        Err(err) => return app_error_response(Media::Json, err),
    };
    let organization_id = match crate::service::organizations::agreements_by_ids(&state.db, &[order.agreement_id]).await
    {
        Ok(found) => match found.first() {
            Some(agreement) => agreement.organization_id,
            None => return not_found(),
        },
        Err(err) => return app_error_response(Media::Json, err),
    };
    if !may_export(&viewer, organization_id) {
        // The caller sees the order (a reseller) but may not read its codes.
        return app_error_response(
            Media::Json,
            AppError::forbidden("only the organization's administrator exports codes"),
        );
    }
    let today = state.clock.now().date_naive();
    let stream = rows(state.db.clone(), order_id, today);
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"order-{order_id}-codes.csv\"")) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The CSV body: the header, then one chunk per keyset step.
fn rows(
    db: DatabaseConnection,
    order_id: i64,
    today: NaiveDate,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    // State: the last code id written; `None` once the export is complete.
    futures_util::stream::unfold(Some(-1i64), move |after| {
        let db = db.clone();
        async move {
            let after = after?;
            if after < 0 {
                return Some((Ok(Bytes::from_static(HEADER.as_bytes())), Some(0)));
            }
            match codes::codes_of_order_after(&db, order_id, after, STEP).await {
                Ok(batch) if batch.is_empty() => None,
                Ok(batch) => {
                    let last = batch.last().map_or(after, |c| c.id);
                    let next = (batch.len() as u64 == STEP).then_some(last);
                    let chunk: String = batch.iter().map(|c| row(c, today)).collect();
                    Some((Ok(Bytes::from(chunk)), next))
                }
                Err(err) => {
                    let code = err.code();
                    tracing::error!(order_id, code, "code export failed mid-stream");
                    Some((Err(std::io::Error::other("export failed")), None))
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("ada@contoso.edu"), "ada@contoso.edu");
        assert_eq!(csv_field("Smith, Ada"), "\"Smith, Ada\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(screaming("ExamVoucher"), "EXAM_VOUCHER");
    }
}
