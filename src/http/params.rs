//! A GraphQL request's parameters, from a POST body or a GET query string:
//! the body read within its size limit, JSON scanned for nesting before
//! serde_json sees it, and whether a GET would run a mutation.

use std::collections::HashMap;

use async_graphql::parser::types::OperationType;
use axum::{
    body::{Body, Bytes},
    http::{HeaderMap, StatusCode, header},
    response::Response,
};
use serde_json::Map;

use super::respond::{Media, bad_request, error_body, json_response};
use crate::graphql::{
    documents::Documents,
    persisted::{Persisted, PersistedError},
    prescan,
};

/// The parameters of one GraphQL request.
#[derive(Debug, Default)]
pub(super) struct Params {
    pub(super) query: String,
    pub(super) operation_name: Option<String>,
    pub(super) variables: Map<String, serde_json::Value>,
    pub(super) extensions: Map<String, serde_json::Value>,
}

/// Why request parameters were refused: 400 `BAD_REQUEST`, or a limit,
/// or a persisted query's hash not known yet.
#[derive(Debug)]
pub(super) enum ParamError {
    Malformed(&'static str),
    Limit(String),
    /// `PERSISTED_QUERY_NOT_FOUND`, with status 200 as Apollo's servers
    /// answer it, so that every client's link sends the text next.
    PersistedQueryNotFound,
}

impl From<&'static str> for ParamError {
    fn from(message: &'static str) -> Self {
        Self::Malformed(message)
    }
}

impl ParamError {
    pub(super) fn response(self, media: Media) -> Response {
        crate::logs::record_codes([match &self {
            Self::Malformed(_) => "BAD_REQUEST",
            Self::Limit(_) => "LIMIT_EXCEEDED",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
        }]);
        match self {
            Self::Malformed(message) => bad_request(media, message),
            Self::Limit(message) => {
                json_response(StatusCode::BAD_REQUEST, media, &error_body(&message, "LIMIT_EXCEEDED"))
            }
            Self::PersistedQueryNotFound => {
                json_response(StatusCode::OK, media, &error_body("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND"))
            }
        }
    }
}

/// The query text: the one sent, or a persisted query's ([`Persisted`]).
fn query_text(
    query: Option<String>,
    extensions: &Map<String, serde_json::Value>,
    persisted: &Persisted,
) -> Result<String, ParamError> {
    match persisted.resolve(query, extensions) {
        Ok(Some(text)) => Ok(text),
        Ok(None) => Err("the `query` parameter is missing".into()),
        Err(PersistedError::NotFound) => Err(ParamError::PersistedQueryNotFound),
        Err(PersistedError::Mismatch) => {
            Err("the query's SHA-256 is not `extensions.persistedQuery.sha256Hash`".into())
        }
        Err(PersistedError::Malformed) => {
            Err("`extensions.persistedQuery` must be { version: 1, sha256Hash: <64 hex digits> }".into())
        }
    }
}

/// Scans JSON text for nesting past `max_nesting` before serde_json (or
/// anything after it) recurses into it ([`prescan`]).
/// `envelope` levels of the text are the request's own wrapping (the POST
/// body's object), allowed on top of `max_nesting`.
pub(super) fn json_nesting(text: &[u8], max_nesting: usize, envelope: usize, what: &str) -> Result<(), ParamError> {
    prescan::json(text, max_nesting + envelope)
        .map_err(|_| ParamError::Limit(prescan::Refusal::Nesting(max_nesting).message(what)))
}

/// Reads `{query, operationName, variables, extensions}` from a POST body.
pub(super) fn post_params(body: &[u8], max_nesting: usize, persisted: &Persisted) -> Result<Params, ParamError> {
    if body.is_empty() {
        return Err("the request body is empty".into());
    }
    // The body's own object is one level more, so that variables may nest
    // as deep over POST as over GET.
    json_nesting(body, max_nesting, 1, "request body")?;
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| "the request body is not valid JSON")?;
    let object = match value {
        serde_json::Value::Object(object) => object,
        serde_json::Value::Array(_) => {
            return Err("batched requests are not supported: send one operation per request".into());
        }
        _ => return Err("the request body must be a JSON object".into()),
    };
    let query = match object.get("query") {
        Some(serde_json::Value::String(q)) => Some(q.clone()),
        None | Some(serde_json::Value::Null) => None,
        Some(_) => return Err("`query` must be a string".into()),
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
    let query = query_text(query, &extensions, persisted)?;
    Ok(Params { query, operation_name, variables, extensions })
}

/// Reads the same parameters from a GET query string, where `variables`
/// and `extensions` are JSON text.
pub(super) fn get_params(
    mut raw: HashMap<String, String>,
    max_nesting: usize,
    persisted: &Persisted,
) -> Result<Params, ParamError> {
    let query = raw.remove("query").filter(|q| !q.is_empty());
    let json_map = |text: Option<String>, what: &str, malformed: &'static str| match text.as_deref().map(str::trim) {
        None | Some("") | Some("null") => Ok(Map::new()),
        Some(text) => {
            json_nesting(text.as_bytes(), max_nesting, 0, what)?;
            match serde_json::from_str(text) {
                Ok(serde_json::Value::Object(map)) => Ok(map),
                _ => Err(ParamError::Malformed(malformed)),
            }
        }
    };
    let variables = json_map(raw.remove("variables"), "`variables`", "`variables` must be a JSON object")?;
    let extensions = json_map(raw.remove("extensions"), "`extensions`", "`extensions` must be a JSON object")?;
    let operation_name = raw.remove("operationName").filter(|n| !n.is_empty());
    let query = query_text(query, &extensions, persisted)?;
    Ok(Params { query, operation_name, variables, extensions })
}

/// Whether the operation a GET would run is a mutation (or subscription).
pub(super) fn selects_mutation(documents: &Documents, params: &Params) -> bool {
    operation_of(documents, params).is_some_and(|(_, ty)| ty != OperationType::Query)
}

/// The name and type of the operation the request would run. The document
/// is the one execution will use, measured once: a text the limits refuse
/// is never parsed, and is reported when it is executed (`None` here).
pub(super) fn operation_of(documents: &Documents, params: &Params) -> Option<(Option<String>, OperationType)> {
    let measured = documents.measured(&params.query).ok()?;
    let (name, operation) = crate::graphql::documents::operation(&measured.document, params.operation_name.as_deref())?;
    Some((name.map(|n| n.to_string()), operation.node.ty))
}

pub(super) fn is_json_content_type(headers: &HeaderMap) -> bool {
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

pub(super) type MediaResponse = Box<dyn FnOnce(Media) -> Response + Send>;

/// Reads the body up to `limit` bytes: 413 beyond it, 400 if it breaks off.
pub(super) async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes, MediaResponse> {
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

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    #[test]
    fn post_parameters_are_checked() {
        assert!(post_params(br#"{"query":"{ __typename }"}"#, 32, &Persisted::default()).is_ok());
        assert!(
            post_params(
                br#"{"query":"{ __typename }","variables":null,"operationName":null,"extensions":null}"#,
                32,
                &Persisted::default()
            )
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
            assert!(
                matches!(post_params(bad, 32, &Persisted::default()), Err(ParamError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn json_nested_past_the_bound_is_a_limit_and_serde_json_never_sees_it() {
        // serde_json alone stops at 128 levels with an error (no crash);
        // the scan refuses earlier, and says which limit.
        let deep =
            |n: usize| format!(r#"{{"query":"{{ a }}","variables":{{"x":{}1{}}}}}"#, "[".repeat(n), "]".repeat(n));
        assert!(
            post_params(deep(31).as_bytes(), 32, &Persisted::default()).is_ok(),
            "variables nest 32 deep as over GET"
        );
        for n in [32, 127, 128, 200, 100_000] {
            let Err(ParamError::Limit(message)) = post_params(deep(n).as_bytes(), 32, &Persisted::default()) else {
                panic!("{n}")
            };
            assert!(message.contains("max_nesting = 32"), "{message}");
        }
        let raw = serde_json::from_str::<serde_json::Value>(&"[".repeat(200));
        assert!(raw.is_err_and(|e| e.to_string().contains("recursion limit")), "serde_json's own bound");
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
