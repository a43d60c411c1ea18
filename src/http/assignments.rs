//! `POST /orders/{id}/assignments`: `assignCodes` for a CSV of people, as
//! a spreadsheet exports it: one person a line, the first column;
//! a first line `assignee` or `email` is a header; blank lines are skipped.
//! All or none, like the mutation; refusals are 422 with the same
//! `userErrors`, positions counted among the people (header excluded).

use axum::{
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::Response,
};
use serde_json::json;

use super::{Media, authenticate, error_body, json_response, params::read_body};
use crate::{AppState, auth::Role, error::UserError, id, logs, service::assignments};

pub async fn assign_csv(
    State(state): State<AppState>,
    Path(order): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let media = Media::Json;
    let viewer = match authenticate(&state, &headers) {
        Ok(viewer) => viewer,
        Err(error) => return super::app_error_response(media, error),
    };
    if let Err(error) = viewer.require_any(&[Role::CustomerAdmin, Role::PartnerAdmin, Role::Admin]) {
        return super::app_error_response(media, error);
    }
    let csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("text/csv"));
    if !csv {
        let body = error_body("send the people as Content-Type: text/csv", "UNSUPPORTED_MEDIA_TYPE");
        return json_response(StatusCode::UNSUPPORTED_MEDIA_TYPE, media, &body);
    }
    let bytes = match read_body(body, &headers, state.limits.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(response) => return response(media),
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return json_response(StatusCode::BAD_REQUEST, media, &error_body("the CSV is not UTF-8", "BAD_REQUEST"));
    };
    let Some(order) = id::decode_as("Order", &order) else {
        return json_response(StatusCode::NOT_FOUND, media, &error_body("order not found", "NOT_FOUND"));
    };
    let people = people(text);
    let now = state.clock.now();
    match assignments::assign_many(&state.db, &viewer, now, order, &people).await {
        Ok(Ok(done)) => json_response(
            StatusCode::OK,
            media,
            &json!({ "orderId": id::encode("Order", done.order.id), "assigned": done.count, "userErrors": [] }),
        ),
        Ok(Err(errors)) if errors.iter().any(|e| e.code == crate::error::UserErrorCode::NotFound) => {
            logs::record_codes(["NOT_FOUND"]);
            json_response(StatusCode::NOT_FOUND, media, &error_body("order not found", "NOT_FOUND"))
        }
        Ok(Err(errors)) => {
            let codes: Vec<String> = errors.iter().map(code_name).collect();
            logs::record_codes(codes.iter().map(String::as_str));
            let listed: Vec<_> = errors
                .iter()
                .zip(&codes)
                .map(|(e, code)| json!({ "code": code, "field": e.field, "message": e.message }))
                .collect();
            json_response(StatusCode::UNPROCESSABLE_ENTITY, media, &json!({ "assigned": 0, "userErrors": listed }))
        }
        Err(error) => super::app_error_response(media, error),
    }
}

/// The people of a CSV: the first field of each line (RFC 4180 quotes
/// undone), a header line skipped.
fn people(text: &str) -> Vec<String> {
    // Spreadsheets' "CSV UTF-8" starts with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().map(|line| first_field(line.trim_end_matches('\r'))).filter(|f| !f.trim().is_empty());
    let mut people: Vec<String> = Vec::new();
    if let Some(first) = lines.next() {
        let header = ["assignee", "email", "e-mail"].iter().any(|h| first.trim().eq_ignore_ascii_case(h));
        if !header {
            people.push(first);
        }
    }
    people.extend(lines);
    people
}

fn first_field(line: &str) -> String {
    let Some(quoted) = line.strip_prefix('"') else {
        return line.split(',').next().unwrap_or_default().to_owned();
    };
    let mut out = String::new();
    let mut chars = quoted.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if chars.peek() == Some(&'"') => {
                out.push('"');
                chars.next();
            }
            '"' => break,
            c => out.push(c),
        }
    }
    out
}

fn code_name(error: &UserError) -> String {
    match async_graphql::resolver_utils::enum_value(error.code) {
        async_graphql::Value::Enum(name) => name.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spreadsheet_export_reads_as_people() {
        assert_eq!(
            people("Email\r\nada@x.edu\r\n\r\n\"Bob, Jr\"\"@x.edu\",Bob\r\ncarol@x.edu,Carol\n"),
            vec!["ada@x.edu", "Bob, Jr\"@x.edu", "carol@x.edu"]
        );
        assert_eq!(people("ada@x.edu\nbob@x.edu"), vec!["ada@x.edu", "bob@x.edu"]);
        assert!(people("assignee\n").is_empty());
        // A spreadsheet's byte-order mark is not part of the header.
        assert_eq!(people("\u{feff}email\nada@x.edu\n"), vec!["ada@x.edu"]);
        assert_eq!(people("\u{feff}ada@x.edu\n"), vec!["ada@x.edu"]);
        assert!(people("").is_empty());
    }
}
