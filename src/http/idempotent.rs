//! `Idempotency-Key` over HTTP: which POSTs it applies to (a mutation by an
//! authenticated caller), and the answers to a retry: the kept answer, 409
//! while the first runs, 422 for another body ([`crate::idempotency`]).

use async_graphql::parser::types::OperationType;
use axum::{
    body::{Body, to_bytes},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::Response,
};

use super::{AppState, Media, Params, authenticate, error_body, execute, json_response, params::operation_of};
use crate::idempotency::{self, Claim, Kept};

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Runs a POST's operation, at most once per caller and key when it
/// carries `Idempotency-Key` and is a mutation.
pub(super) async fn run(state: &AppState, headers: &HeaderMap, media: Media, params: Params) -> Response {
    let Some(raw) = headers.get(IDEMPOTENCY_KEY) else { return execute(state, headers, media, params).await };
    let Some(key) = idempotency::parse_key(raw.as_bytes()) else {
        let message = format!(
            "Idempotency-Key must be 1 to {} visible ASCII characters, bare or in double quotes",
            idempotency::MAX_KEY_CHARS
        );
        return json_response(StatusCode::BAD_REQUEST, media, &error_body(&message, "IDEMPOTENCY_KEY_INVALID"));
    };
    // Queries are safe to repeat, and an anonymous or refused caller has no
    // key space: those run as they would without the header.
    let mutation = matches!(operation_of(&state.documents, &params), Some((_, OperationType::Mutation)));
    let subject = authenticate(state, headers).ok().and_then(|v| v.subject.map(|s| (s, v.organization_id)));
    let (Some((subject, organization)), true) = (subject, mutation) else {
        return execute(state, headers, media, params).await;
    };
    let caller = match organization {
        Some(id) => format!("{subject}\u{1f}{id}"),
        None => subject,
    };
    let now = state.clock.now();
    let limits = &state.limits;
    // What the request asks, not its bytes: a persisted query's retry by
    // hash alone is the same request; the role it narrows to is part of it.
    let role = headers.get(crate::auth::ROLE_HEADER).and_then(|v| v.to_str().ok());
    let hash = idempotency::request_hash(&params.query, params.operation_name.as_deref(), &params.variables, role);
    let claimed =
        idempotency::claim(&state.db, &caller, &key, &hash, now, limits.idempotency_lease(), limits.idempotency_ttl())
            .await;
    match claimed {
        Ok(Claim::Run(id)) => {
            let response = idempotency::scope(id, execute(state, headers, media, params)).await;
            keep(state, id, response).await
        }
        Ok(Claim::Replay(kept)) => replay(kept),
        Ok(Claim::InProgress) => {
            let mut response = json_response(
                StatusCode::CONFLICT,
                media,
                &error_body(
                    "a request with this Idempotency-Key is still running; retry later",
                    "IDEMPOTENCY_KEY_IN_USE",
                ),
            );
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
        Ok(Claim::Mismatch) => json_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            media,
            &error_body("this Idempotency-Key was used with another request body", "IDEMPOTENCY_KEY_REUSED"),
        ),
        Ok(Claim::AnswerLost) => json_response(
            StatusCode::CONFLICT,
            media,
            &error_body(
                "the request with this Idempotency-Key took effect, but the server stopped before keeping its \
                 answer; read the outcome with a query",
                "IDEMPOTENCY_ANSWER_LOST",
            ),
        ),
        Err(error) => {
            tracing::warn!(%error, "idempotency key claim failed");
            json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                media,
                &error_body("the database is unavailable", "SERVICE_UNAVAILABLE"),
            )
        }
    }
}

/// Keeps the answer (or gives the key back after a transient failure) and
/// returns it.
async fn keep(state: &AppState, id: i64, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = match to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::warn!(%error, "an answer could not be read back to keep it");
            let _ = idempotency::release(&state.db, id, state.clock.now()).await;
            return Response::from_parts(parts, Body::empty());
        }
    };
    let status = parts.status;
    // Not worth keeping for a day: a 5xx, a 429, and a 200 whose errors
    // are ours or the database's (INTERNAL, SERVICE_UNAVAILABLE).
    let failed = crate::logs::operation().codes.iter().any(|c| c == "INTERNAL" || c == "SERVICE_UNAVAILABLE");
    let transient = status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS || failed;
    let stored = if transient {
        idempotency::release(&state.db, id, state.clock.now()).await
    } else {
        let content_type =
            parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        idempotency::finish(&state.db, id, &Kept { status: status.as_u16(), content_type, body }).await
    };
    if let Err(error) = stored {
        tracing::warn!(%error, "an idempotency key's answer could not be kept");
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(kept: Kept) -> Response {
    let status = StatusCode::from_u16(kept.status).unwrap_or(StatusCode::OK);
    let mut response = Response::new(Body::from(kept.body));
    *response.status_mut() = status;
    if let Ok(content_type) = HeaderValue::from_str(&kept.content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, content_type);
    }
    response.headers_mut().insert(REPLAYED, HeaderValue::from_static("true"));
    response
}
