//! HTTP: `/graphql` per GraphQL-over-HTTP, GraphiQL, health and readiness,
//! request ids and logs.
//!
//! Why not the stock async-graphql-axum handler: it always answers
//! `application/graphql-response+json`, returns 200 with `data: null` for
//! parse errors, and runs mutations over GET. This module follows the spec:
//! - media type negotiated from `Accept` (406 when nothing fits);
//! - POST needs `Content-Type: application/json` (415 otherwise);
//! - bodies over the limit get 413, malformed JSON or parameters 400;
//! - request errors (parse, validation, variable coercion, limits) carry no
//!   `data` and get 400 under `application/graphql-response+json`, 200 under
//!   `application/json`;
//! - a mutation over GET gets 405 with `Allow: POST`;
//! - a bad token gets 401 before anything runs (never anonymous).

mod assignments;
pub mod cors;
mod graphiql;
mod idempotent;
mod params;
mod respond;
mod ws;

use std::{
    collections::HashMap,
    sync::{Arc, atomic::Ordering},
    time::Instant,
};

use async_graphql::{Value, Variables, parser::types::OperationType};
use axum::{
    Router,
    body::Body,
    extract::{Query, Request, State, rejection::QueryRejection},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::Response,
    routing::get,
};
use serde_json::json;
use tower::ServiceExt;

pub use self::respond::{Media, negotiate};
pub(crate) use self::respond::{app_error_response, error_body, json_response};
use self::{
    params::{
        ParamError, Params, get_params, is_json_content_type, operation_of, post_params, read_body, selects_mutation,
    },
    respond::{bounded_json_response, error_code, not_acceptable, with_codes},
};
use crate::{
    AppState,
    auth::{self, Viewer},
    db,
    error::{AppError, field_error_code, request_error_code},
    graphql::loaders,
    logs,
};

const REQUEST_ID: &str = "x-request-id";

/// All routes.
pub fn router(state: AppState) -> Router {
    let routes = routes(state.clone());
    // Browsers' preflights go through the CORS layer; any other OPTIONS
    // reaches the routes as it always did (405 with Allow, or 404).
    let with_cors = routes.clone().layer(state.cors.layer());
    let split = tower::service_fn(move |request: Request| {
        let (parts, body) = request.into_parts();
        let target = if parts.method == Method::OPTIONS && !cors::is_preflight(&parts) { &routes } else { &with_cors };
        target.clone().oneshot(Request::from_parts(parts, body))
    });
    Router::new().fallback_service(split).layer(middleware::from_fn(request_context))
}

/// The routes, without CORS.
fn routes(state: AppState) -> Router {
    let mut router = Router::new();
    if state.metrics_with_api {
        router = router.route("/metrics", get(crate::metrics::render));
    }
    router
        .route("/", get(graphiql::page))
        .route("/graphiql", get(graphiql::page))
        .route("/graphiql/assets/{name}", get(graphiql::asset))
        .route("/graphiql/examples.json", get(graphiql::examples))
        .route("/graphql", get(graphql_get_or_upgrade).post(graphql_post))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/exports/orders/{id}/codes.csv", get(crate::export::order_codes_csv))
        .route("/orders/{id}/assignments", axum::routing::post(assignments::assign_csv))
        .fallback(not_found)
        .with_state(state)
}

/// Authenticates the request: no header is anonymous; anything else must
/// be a valid bearer token.
pub(crate) fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Viewer, AppError> {
    let viewer = match headers.get(header::AUTHORIZATION) {
        None => Viewer::anonymous(),
        Some(value) => {
            let value =
                value.to_str().map_err(|_| AppError::unauthenticated("the Authorization header is not text"))?;
            state.jwt.verify(auth::bearer_token(value)?)?
        }
    };
    match headers.get(auth::ROLE_HEADER) {
        None => Ok(viewer),
        Some(role) => {
            let role = role.to_str().map_err(|_| AppError::bad_input("the role header is not text"))?;
            auth::narrow(viewer, role)
        }
    }
}

async fn graphql_post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let Some(media) = negotiate(&headers) else { return not_acceptable() };
    if !is_json_content_type(&headers) {
        return json_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            &error_body("POST /graphql needs Content-Type: application/json", "UNSUPPORTED_MEDIA_TYPE"),
        );
    }
    let read = read_body(body, &headers, state.limits.max_body_bytes);
    let body = match tokio::time::timeout(state.limits.body_timeout(), read).await {
        Ok(Ok(body)) => body,
        Ok(Err(response)) => return response(media),
        Err(_) => {
            let message = format!(
                "the request body was not received within {} s (limit body_timeout_secs)",
                state.limits.body_timeout_secs
            );
            return json_response(StatusCode::REQUEST_TIMEOUT, media, &error_body(&message, "REQUEST_TIMEOUT"));
        }
    };
    match post_params(&body, state.limits.max_nesting as usize, &state.persisted) {
        Ok(params) => idempotent::run(&state, &headers, media, params).await,
        Err(error) => error.response(media),
    }
}

/// GET /graphql: a query in the URL, or the upgrade to a WebSocket for
/// subscriptions ([`ws`]).
async fn graphql_get_or_upgrade(State(state): State<AppState>, request: Request) -> Response {
    use axum::{extract::FromRequestParts, response::IntoResponse};
    let (mut parts, _) = request.into_parts();
    let upgrade = parts.headers.get(header::UPGRADE).and_then(|v| v.to_str().ok());
    if upgrade.is_some_and(|v| v.eq_ignore_ascii_case("websocket")) {
        let protocol = async_graphql_axum::GraphQLProtocol::from_request_parts(&mut parts, &state).await;
        let socket = axum::extract::ws::WebSocketUpgrade::from_request_parts(&mut parts, &state).await;
        return match (protocol, socket) {
            (Ok(protocol), Ok(socket)) => ws::upgrade(State(state), protocol, socket).await,
            (Err(status), _) => {
                (status, "Sec-WebSocket-Protocol must be graphql-transport-ws or graphql-ws").into_response()
            }
            (_, Err(rejection)) => rejection.into_response(),
        };
    }
    let query = Query::try_from_uri(&parts.uri);
    graphql_get(State(state), parts.headers, query).await
}

async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let Some(media) = negotiate(&headers) else { return not_acceptable() };
    let max_nesting = state.limits.max_nesting as usize;
    let params = match query
        .map_err(|_| ParamError::Malformed("the query string is malformed"))
        .and_then(|Query(raw)| get_params(raw, max_nesting, &state.persisted))
    {
        Ok(params) => params,
        Err(error) => return error.response(media),
    };
    if selects_mutation(&state.documents, &params) {
        let mut response = json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            &error_body("mutations must be sent with POST", "METHOD_NOT_ALLOWED"),
        );
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    execute(&state, &headers, media, params).await
}

async fn execute(state: &AppState, headers: &HeaderMap, media: Media, params: Params) -> Response {
    let viewer = match authenticate(state, headers) {
        Ok(viewer) => viewer,
        Err(error) => {
            logs::record_codes([error.code()]);
            return app_error_response(media, error);
        }
    };
    if state.trusted.only() && !viewer.is_admin() && !state.trusted.trusts(&params.query) {
        let error = AppError::forbidden(
            "this server runs only its trusted documents for callers other than admins; send one of them (or its hash)",
        );
        logs::record_codes([error.code()]);
        return app_error_response(media, error);
    }
    let (name, kind) = match operation_of(&state.documents, &params) {
        Some((name, OperationType::Query)) => (name, "query"),
        Some((name, OperationType::Mutation)) => (name, "mutation"),
        Some((name, OperationType::Subscription)) => (name, "subscription"),
        None => (params.operation_name.clone(), ""),
    };
    let roles: Vec<&str> = viewer.roles.iter().map(|r| r.as_claim()).collect();
    let role = if roles.is_empty() { "anonymous".to_owned() } else { roles.join("+") };
    logs::record_operation(name, kind, role);
    // Only names from bounded sets label metrics.
    if state.trusted.trusts(&params.query) || params.extensions.contains_key("persistedQuery") {
        logs::record_named();
    }
    let (db, statements) = db::counting_statements(&state.db);
    let mut request = async_graphql::Request::new(params.query)
        .variables(Variables::from_json(serde_json::Value::Object(params.variables)));
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    for (key, value) in params.extensions {
        if let Ok(value) = Value::from_json(value) {
            request.extensions.insert(key, value);
        }
    }
    let loaders = loaders::loaders(db.clone());
    let executed =
        tokio::time::timeout(state.limits.request_timeout(), state.execute(request, viewer, db, loaders)).await;
    logs::record_statements(statements.load(Ordering::Relaxed));
    let mut response = match executed {
        Ok(response) => response,
        Err(_) => {
            let error = AppError::Unavailable("request timed out".into());
            logs::record_codes([error.code()]);
            return json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                media,
                &error_body("the request took too long", error.code()),
            );
        }
    };

    // A request error stops before execution: no path, and no data.
    let request_error = !response.errors.is_empty()
        && response.data == Value::Null
        && response.errors.iter().all(|e| e.path.is_empty());
    if request_error {
        let errors = with_codes(response.errors, request_error_code);
        logs::record_codes(errors.iter().filter_map(error_code));
        let status = if media == Media::GraphqlResponse { StatusCode::BAD_REQUEST } else { StatusCode::OK };
        return json_response(status, media, &json!({ "errors": errors }));
    }
    response.errors = with_codes(response.errors, field_error_code);
    logs::record_codes(response.errors.iter().filter_map(error_code));
    let unavailable = response.errors.iter().any(|e| error_code(e) == Some("SERVICE_UNAVAILABLE"));
    // A rate-limited attempt answers 429 with the wait, like any HTTP API.
    let rate_limited = response
        .errors
        .iter()
        .filter(|e| error_code(e) == Some("RATE_LIMITED"))
        .map(|e| match e.extensions.as_ref().and_then(|ext| ext.get("retryAfterSeconds")) {
            Some(Value::Number(n)) => n.as_u64().unwrap_or(60),
            _ => 60,
        })
        .max();
    let (status, retry_after) = match (unavailable, rate_limited) {
        (true, _) => (StatusCode::SERVICE_UNAVAILABLE, Some(1)),
        (false, Some(seconds)) => (StatusCode::TOO_MANY_REQUESTS, Some(seconds)),
        (false, None) => (StatusCode::OK, None),
    };
    let mut http = bounded_json_response(status, media, &response, state.limits.max_response_bytes);
    if let Some(seconds) = retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
        http.headers_mut().insert(header::RETRY_AFTER, seconds);
    }
    http
}

async fn healthz() -> Response {
    json_response(StatusCode::OK, Media::Json, &json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.draining.load(std::sync::atomic::Ordering::Relaxed) {
        return json_response(StatusCode::SERVICE_UNAVAILABLE, Media::Json, &json!({ "status": "draining" }));
    }
    match state.db.ping().await {
        Ok(()) => json_response(StatusCode::OK, Media::Json, &json!({ "status": "ready" })),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            json_response(StatusCode::SERVICE_UNAVAILABLE, Media::Json, &json!({ "status": "database unreachable" }))
        }
    }
}

async fn not_found() -> Response {
    json_response(StatusCode::NOT_FOUND, Media::Json, &error_body("no such route", "NOT_FOUND"))
}

/// Gives every request an id (kept from `X-Request-Id` when sane), which
/// every log line its task writes carries ([`logs::scope`]), and one log
/// line when it ends.
async fn request_context(request: Request, next: Next) -> Response {
    let request_id: Arc<str> = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map_or_else(new_request_id, Arc::from);
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let ids = crate::trace::TraceIds::from_header(request.headers().get("traceparent").map(|v| v.as_bytes()));
    let span = crate::trace::start(&ids, method.as_str(), &path);
    let mut response = logs::traced(request_id.clone(), Some(ids), async move {
        let response = next.run(request).await;
        let status = response.status().as_u16();
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let statements = logs::statements();
        let op = logs::operation();
        let (operation, kind, role, codes, cost) =
            (op.name.as_deref(), op.kind, op.role.as_str(), op.codes.join(","), op.cost);
        // A request answered INTERNAL (or a 500) is our fault: error. Every
        // refusal (a bad token, a limit, FORBIDDEN, a user error) is the
        // caller's: info.
        let ours = op.codes.iter().any(|c| c == "INTERNAL") || status == 500;
        if let Some(span) = span {
            span.end(status, operation, kind, &op.codes, cost);
        }
        if path == "/graphql" {
            let metric_name = match (op.named, operation) {
                (true, Some(name)) => name,
                _ => "anonymous",
            };
            let outcome = match op.codes.first() {
                Some(code) => code.as_str(),
                None if status < 400 => "ok",
                None => "http_error",
            };
            crate::metrics::request(kind, metric_name, outcome, status, elapsed_ms / 1000.0, statements.unwrap_or(0));
        }
        if method == Method::GET && (path == "/healthz" || path == "/readyz") {
            tracing::debug!(%method, %path, status, elapsed_ms, "served");
        } else if ours {
            tracing::error!(%method, %path, operation, kind, role, codes, cost, statements, status, elapsed_ms, "served");
        } else {
            tracing::info!(%method, %path, operation, kind, role, codes, cost, statements, status, elapsed_ms, "served");
        }
        response
    })
    .await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    // W3C Trace Context Level 2's answer header: this request's span.
    if let Ok(value) = HeaderValue::from_str(&ids.traceparent()) {
        response.headers_mut().insert("traceresponse", value);
    }
    response
}

/// 16 random hex digits, written without a `format!` per byte.
fn new_request_id() -> Arc<str> {
    use rand::Rng;
    let id: u64 = rand::rng().random();
    Arc::from(format!("{id:016x}"))
}

/// The README's GraphQL examples, for tests elsewhere.
#[cfg(test)]
pub(crate) fn readme_examples_for_tests() -> Vec<String> {
    graphiql::readme_examples(include_str!("../../README.md")).into_iter().map(|e| e.source).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn request_ids_are_sixteen_hex_digits_and_differ() {
        let (a, b) = (new_request_id(), new_request_id());
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{a}");
        assert_ne!(a, b);
    }
}
