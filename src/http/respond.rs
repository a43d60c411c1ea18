//! Answers: the media type negotiated from `Accept`, JSON bodies (GraphQL
//! answers through a writer bounded by the response size limit), errors
//! as HTTP responses, and the codes of errors async-graphql raised without
//! one.

use async_graphql::{ServerError, Value};
use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::error::AppError;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";

/// The response media type chosen from `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// `application/graphql-response+json`: request errors get 4xx.
    GraphqlResponse,
    /// `application/json`: every well-formed request gets 200.
    Json,
}

impl Media {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::GraphqlResponse => GRAPHQL_RESPONSE_JSON,
            Self::Json => JSON,
        })
    }
}

/// A JSON body of GraphQL-style errors.
pub(crate) fn error_body(message: &str, code: &str) -> serde_json::Value {
    json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
}

/// `body` as JSON, serialized straight to bytes (an answer is never
/// built twice, as a `serde_json::Value` first).
pub(crate) fn json_response(status: StatusCode, media: Media, body: &impl serde::Serialize) -> Response {
    let bytes = match serde_json::to_vec(body) {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::error!(error = %err, "an answer could not be serialized");
            return json_response(StatusCode::INTERNAL_SERVER_ERROR, media, &error_body("internal error", "INTERNAL"));
        }
    };
    let mut response = (status, bytes).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, media.content_type());
    response
}

/// A GraphQL answer as JSON, unless it serializes to more than `max`
/// bytes: then serialization stops there, and the client gets
/// `data: null` and a `LIMIT_EXCEEDED` error instead (status 200: the
/// operation ran). The bytes sent are bounded by `max`; the answer's value
/// tree was built before this, and is bounded by the document limits
/// (fields, depth, complexity, page sizes, introspection without aliases).
pub(super) fn bounded_json_response(
    status: StatusCode,
    media: Media,
    body: &impl serde::Serialize,
    max: usize,
) -> Response {
    let mut out = Bounded { bytes: Vec::with_capacity(4096.min(max)), max };
    match serde_json::to_writer(&mut out, body) {
        Ok(()) => {
            let mut response = (status, out.bytes).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, media.content_type());
            response
        }
        Err(err) if err.is_io() => {
            tracing::info!(max_response_bytes = max, "an answer passed the response size limit");
            let message = format!("the response is larger than {max} bytes (limit max_response_bytes = {max})");
            let body =
                json!({ "data": null, "errors": [{ "message": message, "extensions": { "code": "LIMIT_EXCEEDED" } }] });
            json_response(StatusCode::OK, media, &body)
        }
        Err(err) => {
            tracing::error!(error = %err, "an answer could not be serialized");
            json_response(StatusCode::INTERNAL_SERVER_ERROR, media, &error_body("internal error", "INTERNAL"))
        }
    }
}

/// A byte buffer that refuses to grow past `max`.
struct Bounded {
    bytes: Vec<u8>,
    max: usize,
}

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > self.max {
            return Err(std::io::Error::other("response size limit"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An error raised before execution, as an HTTP response.
pub(crate) fn app_error_response(media: Media, error: AppError) -> Response {
    let status = match &error {
        AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::LimitExceeded(_) => StatusCode::PAYLOAD_TOO_LARGE,
        AppError::RateLimited(..) => StatusCode::TOO_MANY_REQUESTS,
        AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        AppError::NotFound(_) | AppError::BadUserInput(_) => StatusCode::BAD_REQUEST,
    };
    let mut response = json_response(status, media, &error_body(error.public_message(), error.code()));
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
    }
    response
}

pub(super) fn bad_request(media: Media, message: &str) -> Response {
    json_response(StatusCode::BAD_REQUEST, media, &error_body(message, "BAD_REQUEST"))
}

/// Picks the response media type from `Accept`; `None` when nothing we
/// can produce is acceptable.
pub fn negotiate(headers: &HeaderMap) -> Option<Media> {
    let Some(accept) = headers.get(header::ACCEPT) else { return Some(Media::Json) };
    let Ok(accept) = accept.to_str() else { return Some(Media::Json) };
    if accept.trim().is_empty() {
        return Some(Media::Json);
    }
    let mut best: Option<(f32, Media)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media_range = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q =
            parts.filter_map(|p| p.trim().strip_prefix("q=")).find_map(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
        if q <= 0.0 {
            continue;
        }
        let media = match media_range.as_str() {
            "application/graphql-response+json" => Media::GraphqlResponse,
            "application/json" | "application/*" | "*/*" => Media::Json,
            _ => continue,
        };
        // Higher q wins; on a tie the GraphQL media type wins (the spec's preference).
        let better = match best {
            None => true,
            Some((best_q, best_media)) => {
                q > best_q || (q == best_q && media == Media::GraphqlResponse && best_media == Media::Json)
            }
        };
        if better {
            best = Some((q, media));
        }
    }
    best.map(|(_, media)| media)
}

pub(super) fn not_acceptable() -> Response {
    json_response(
        StatusCode::NOT_ACCEPTABLE,
        Media::Json,
        &error_body("accept application/graphql-response+json or application/json", "NOT_ACCEPTABLE"),
    )
}

/// Adds `extensions.code` to the errors async-graphql raised without one,
/// so every error a client sees has a code. `code_of` classifies them by
/// message ([`request_error_code`] before execution, [`field_error_code`]
/// during it); one classified `INTERNAL` escaped our error design and is
/// logged, and the client sees only "internal error".
pub(super) fn with_codes(errors: Vec<ServerError>, code_of: impl Fn(&str) -> &'static str) -> Vec<ServerError> {
    errors
        .into_iter()
        .map(|mut error| {
            if error_code(&error).is_none() {
                let code = code_of(&error.message);
                if code == "INTERNAL" {
                    tracing::error!(message = %error.message, path = ?error.path, "an error without a code");
                    error.message = "internal error".into();
                }
                error.extensions.get_or_insert_with(Default::default).set("code", code);
            }
            error
        })
        .collect()
}

pub(super) fn error_code(error: &ServerError) -> Option<&str> {
    match error.extensions.as_ref()?.get("code")? {
        Value::String(code) => Some(code.as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn accept(value: &str) -> Option<Media> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).expect("header"));
        negotiate(&headers)
    }

    #[test]
    fn accept_headers_are_negotiated() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(Media::Json));
        assert_eq!(accept("application/json"), Some(Media::Json));
        assert_eq!(accept("*/*"), Some(Media::Json));
        assert_eq!(accept("application/graphql-response+json"), Some(Media::GraphqlResponse));
        assert_eq!(accept("application/json, application/graphql-response+json"), Some(Media::GraphqlResponse));
        assert_eq!(accept("application/graphql-response+json;q=0.5, application/json"), Some(Media::Json));
        assert_eq!(accept("text/html"), None);
        assert_eq!(accept("application/json;q=0"), None);
    }

    #[test]
    fn answers_past_the_response_limit_are_replaced_by_an_error() {
        let small = bounded_json_response(StatusCode::OK, Media::Json, &json!({"data": {"a": "x"}}), 100);
        assert_eq!(small.status(), StatusCode::OK);
        let big = json!({"data": {"a": "x".repeat(200)}});
        let response = bounded_json_response(StatusCode::OK, Media::Json, &big, 100);
        assert_eq!(response.status(), StatusCode::OK);
        let body = futures_util::FutureExt::now_or_never(axum::body::to_bytes(response.into_body(), 10_000))
            .expect("ready")
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(body["data"], serde_json::Value::Null);
        assert_eq!(body["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED");
    }
}
