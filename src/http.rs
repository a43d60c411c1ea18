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

use std::{
    collections::HashMap,
    sync::{Arc, atomic::Ordering},
    time::Instant,
};

use async_graphql::{ServerError, Value, Variables, parser::types::OperationType};
use axum::{
    Router,
    body::{Body, Bytes},
    extract::{Query, Request, State, rejection::QueryRejection},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use serde_json::{Map, json};

use crate::{
    AppState,
    auth::{self, Viewer},
    db,
    error::{AppError, field_error_code, request_error_code},
    graphql::{documents::Documents, loaders, prescan},
    logs,
};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";
const REQUEST_ID: &str = "x-request-id";

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

/// All routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(graphiql))
        .route("/graphiql", get(graphiql))
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/exports/orders/{id}/codes.csv", get(crate::export::order_codes_csv))
        .fallback(not_found)
        .layer(middleware::from_fn(request_context))
        .with_state(state)
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
/// operation ran). Memory for the answer is bounded by `max`, not by what
/// the query asked for.
pub(crate) fn bounded_json_response(
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

fn bad_request(media: Media, message: &str) -> Response {
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

fn not_acceptable() -> Response {
    json_response(
        StatusCode::NOT_ACCEPTABLE,
        Media::Json,
        &error_body("accept application/graphql-response+json or application/json", "NOT_ACCEPTABLE"),
    )
}

/// The parameters of one GraphQL request.
#[derive(Debug, Default)]
struct Params {
    query: String,
    operation_name: Option<String>,
    variables: Map<String, serde_json::Value>,
    extensions: Map<String, serde_json::Value>,
}

/// Why request parameters were refused: 400 `BAD_REQUEST`, or a limit.
#[derive(Debug)]
enum ParamError {
    Malformed(&'static str),
    Limit(String),
}

impl From<&'static str> for ParamError {
    fn from(message: &'static str) -> Self {
        Self::Malformed(message)
    }
}

impl ParamError {
    fn response(self, media: Media) -> Response {
        match self {
            Self::Malformed(message) => bad_request(media, message),
            Self::Limit(message) => {
                json_response(StatusCode::BAD_REQUEST, media, &error_body(&message, "LIMIT_EXCEEDED"))
            }
        }
    }
}

/// Scans JSON text for nesting past `max_nesting` before serde_json (or
/// anything after it) recurses into it ([`prescan`]).
fn json_nesting(text: &[u8], max_nesting: usize, what: &str) -> Result<(), ParamError> {
    prescan::json(text, max_nesting).map_err(|refusal| ParamError::Limit(refusal.message(what)))
}

/// Reads `{query, operationName, variables, extensions}` from a POST body.
fn post_params(body: &[u8], max_nesting: usize) -> Result<Params, ParamError> {
    if body.is_empty() {
        return Err("the request body is empty".into());
    }
    json_nesting(body, max_nesting, "request body")?;
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| "the request body is not valid JSON")?;
    let object = match value {
        serde_json::Value::Object(object) => object,
        serde_json::Value::Array(_) => {
            return Err("batched requests are not supported: send one operation per request".into());
        }
        _ => return Err("the request body must be a JSON object".into()),
    };
    let query = match object.get("query") {
        Some(serde_json::Value::String(q)) => q.clone(),
        Some(_) => return Err("`query` must be a string".into()),
        None => return Err("the `query` parameter is missing".into()),
    };
    let operation_name = match object.get("operationName") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(name)) => Some(name.clone()),
        Some(_) => return Err("`operationName` must be a string".into()),
    };
    let map = |key: &str| match object.get(key) {
        None | Some(serde_json::Value::Null) => Ok(Map::new()),
        Some(serde_json::Value::Object(map)) => Ok(map.clone()),
        Some(_) => Err(()),
    };
    let variables = map("variables").map_err(|_| "`variables` must be an object")?;
    let extensions = map("extensions").map_err(|_| "`extensions` must be an object")?;
    Ok(Params { query, operation_name, variables, extensions })
}

/// Reads the same parameters from a GET query string, where `variables`
/// and `extensions` are JSON text.
fn get_params(mut raw: HashMap<String, String>, max_nesting: usize) -> Result<Params, ParamError> {
    let query = raw.remove("query").ok_or("the `query` parameter is missing")?;
    let json_map = |text: Option<String>, what: &str, malformed: &'static str| match text.as_deref().map(str::trim) {
        None | Some("") | Some("null") => Ok(Map::new()),
        Some(text) => {
            json_nesting(text.as_bytes(), max_nesting, what)?;
            match serde_json::from_str(text) {
                Ok(serde_json::Value::Object(map)) => Ok(map),
                _ => Err(ParamError::Malformed(malformed)),
            }
        }
    };
    let variables = json_map(raw.remove("variables"), "`variables`", "`variables` must be a JSON object")?;
    let extensions = json_map(raw.remove("extensions"), "`extensions`", "`extensions` must be a JSON object")?;
    let operation_name = raw.remove("operationName").filter(|n| !n.is_empty());
    Ok(Params { query, operation_name, variables, extensions })
}

/// Whether the operation a GET would run is a mutation (or subscription).
/// The document is the one execution will use, measured once: a text the
/// limits refuse is never parsed, and is reported when it is executed.
fn selects_mutation(documents: &Documents, params: &Params) -> bool {
    let Ok(measured) = documents.measured(&params.query) else { return false };
    let mut operations = measured.document.operations.iter();
    let selected = match &params.operation_name {
        Some(name) => operations.find(|(n, _)| n.map(|n| n.as_str()) == Some(name.as_str())),
        None => operations.next(),
    };
    selected.is_some_and(|(_, op)| op.node.ty != OperationType::Query)
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
    match post_params(&body, state.limits.max_nesting as usize) {
        Ok(params) => execute(&state, &headers, media, params).await,
        Err(error) => error.response(media),
    }
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
        .and_then(|Query(raw)| get_params(raw, max_nesting))
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

fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return false;
    }
    // Only UTF-8 is accepted; no charset means UTF-8.
    parts.all(|p| match p.trim().split_once('=') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
            value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        _ => true,
    })
}

type MediaResponse = Box<dyn FnOnce(Media) -> Response + Send>;

/// Reads the body up to `limit` bytes: 413 beyond it, 400 if it breaks off.
async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes, MediaResponse> {
    let too_large = move |media: Media| {
        json_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            media,
            &error_body(&format!("the request body is larger than {limit} bytes"), "LIMIT_EXCEEDED"),
        )
    };
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(Box::new(too_large));
    }
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => Ok(bytes),
        Err(err) => {
            let over = std::error::Error::source(&err)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>())
                || err.to_string().contains("length limit");
            if over {
                Err(Box::new(too_large))
            } else {
                Err(Box::new(|media| bad_request(media, "the request body could not be read")))
            }
        }
    }
}

/// Adds `extensions.code` to the errors async-graphql raised without one,
/// so every error a client sees has a code. `code_of` classifies them by
/// message ([`request_error_code`] before execution, [`field_error_code`]
/// during it); one classified `INTERNAL` escaped our error design and is
/// logged, and the client sees only "internal error".
fn with_codes(errors: Vec<ServerError>, code_of: impl Fn(&str) -> &'static str) -> Vec<ServerError> {
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

fn error_code(error: &ServerError) -> Option<&str> {
    match error.extensions.as_ref()?.get("code")? {
        Value::String(code) => Some(code.as_str()),
        _ => None,
    }
}

async fn execute(state: &AppState, headers: &HeaderMap, media: Media, params: Params) -> Response {
    let viewer = match authenticate(state, headers) {
        Ok(viewer) => viewer,
        Err(error) => return app_error_response(media, error),
    };
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
        let status = if media == Media::GraphqlResponse { StatusCode::BAD_REQUEST } else { StatusCode::OK };
        return json_response(status, media, &json!({ "errors": errors }));
    }
    response.errors = with_codes(response.errors, field_error_code);
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

async fn graphiql() -> Html<&'static str> {
    Html(include_str!("graphiql.html"))
}

async fn healthz() -> Response {
    json_response(StatusCode::OK, Media::Json, &json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> Response {
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
    let mut response = logs::scope(request_id.clone(), async move {
        let response = next.run(request).await;
        let status = response.status().as_u16();
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let statements = logs::statements();
        if method == Method::GET && (path == "/healthz" || path == "/readyz") {
            tracing::debug!(%method, %path, status, elapsed_ms, "served");
        } else {
            tracing::info!(%method, %path, statements, status, elapsed_ms, "served");
        }
        response
    })
    .await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// 16 random hex digits, written without a `format!` per byte.
fn new_request_id() -> Arc<str> {
    use rand::Rng;
    let id: u64 = rand::rng().random();
    Arc::from(format!("{id:016x}"))
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
    fn post_parameters_are_checked() {
        assert!(post_params(br#"{"query":"{ __typename }"}"#, 32).is_ok());
        assert!(
            post_params(br#"{"query":"{ __typename }","variables":null,"operationName":null,"extensions":null}"#, 32)
                .is_ok()
        );
        for bad in [
            &b""[..],
            b"{",
            b"[]",
            b"1",
            br#"{"qeury":"x"}"#,
            br#"{"query":1}"#,
            br#"{"query":"x","variables":"s"}"#,
            br#"{"query":"x","variables":[1]}"#,
            br#"{"query":"x","operationName":1}"#,
            br#"{"query":"x","extensions":"e"}"#,
        ] {
            assert!(matches!(post_params(bad, 32), Err(ParamError::Malformed(_))), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn json_nested_past_the_bound_is_a_limit_and_serde_json_never_sees_it() {
        // serde_json alone stops at 128 levels with an error (no crash);
        // the scan refuses earlier, and says which limit.
        let deep =
            |n: usize| format!(r#"{{"query":"{{ a }}","variables":{{"x":{}1{}}}}}"#, "[".repeat(n), "]".repeat(n));
        assert!(post_params(deep(30).as_bytes(), 32).is_ok());
        for n in [31, 127, 128, 200, 100_000] {
            let Err(ParamError::Limit(message)) = post_params(deep(n).as_bytes(), 32) else { panic!("{n}") };
            assert!(message.contains("max_nesting = 32"), "{message}");
        }
        let raw = serde_json::from_str::<serde_json::Value>(&"[".repeat(200));
        assert!(raw.is_err_and(|e| e.to_string().contains("recursion limit")), "serde_json's own bound");
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

    #[test]
    fn only_utf8_json_is_accepted() {
        let with = |v: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(v).expect("header"));
            is_json_content_type(&headers)
        };
        assert!(with("application/json"));
        assert!(with("application/json; charset=utf-8"));
        assert!(with("Application/JSON; charset=\"UTF-8\""));
        assert!(!with("application/json; charset=latin1"));
        assert!(!with("text/plain"));
        assert!(!is_json_content_type(&HeaderMap::new()));
    }

    #[test]
    fn mutations_are_recognised_for_get() {
        let documents = Documents::new((&crate::config::LimitArgs::default()).into());
        let is_mutation = |query: &str, name: Option<&str>| {
            let params = Params { query: query.into(), operation_name: name.map(Into::into), ..Default::default() };
            selects_mutation(&documents, &params)
        };
        assert!(is_mutation("mutation { __typename }", None));
        assert!(!is_mutation("{ __typename }", None));
        assert!(is_mutation("query A { __typename } mutation B { __typename }", Some("B")));
        assert!(!is_mutation("query A { __typename } mutation B { __typename }", Some("A")));
        assert!(!is_mutation("{", None));
        // Refused by the limits before any parse: not a mutation here, and
        // execution reports the limit.
        let deep = format!("mutation {{ a(x: {}1{}) }}", "[".repeat(5_000), "]".repeat(5_000));
        assert!(!is_mutation(&deep, None));
    }
}
