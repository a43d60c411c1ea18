//! Browsers on other origins (CORS): preflights answered per the Fetch
//! standard for allowed origins, nothing granted to the others.

use axum::{
    body::Body,
    http::{Method, Request},
};
use licensegraph::{config::Mode, http::cors::CorsOrigins};
use serde_json::json;

use crate::helpers::{TestApp, TestResponse};

async fn app(mode: Mode, configured: &[&str]) -> TestApp {
    let mut app = TestApp::spawn().await;
    let configured: Vec<String> = configured.iter().map(|s| s.to_string()).collect();
    app.state = app.state.clone().with_cors(CorsOrigins::new(mode, &configured).expect("origins"));
    app
}

async fn preflight(app: &TestApp, origin: &str) -> TestResponse {
    let request = Request::builder()
        .method(Method::OPTIONS)
        .uri("/graphql")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization, content-type, x-licensegraph-role")
        .body(Body::empty())
        .expect("request");
    app.http(request).await
}

async fn post_from(app: &TestApp, origin: &str) -> TestResponse {
    let token = app.token("ada", &[licensegraph::auth::Role::Admin], None);
    let request = Request::builder()
        .method(Method::POST)
        .uri("/graphql")
        .header("origin", origin)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(json!({ "query": "{ viewer { subject } }" }).to_string()))
        .expect("request");
    app.http(request).await
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_is_answered_with_what_the_api_accepts() {
    let app = app(Mode::Development, &[]).await;
    let res = preflight(&app, "http://localhost:5173").await;
    assert!(res.status.is_success(), "{}", res.status);
    assert_eq!(res.header("access-control-allow-origin"), Some("http://localhost:5173"));
    let methods = res.header("access-control-allow-methods").unwrap_or_default().to_ascii_uppercase();
    assert!(methods.contains("POST") && methods.contains("GET"), "{methods}");
    let headers = res.header("access-control-allow-headers").unwrap_or_default().to_ascii_lowercase();
    for needed in
        ["authorization", "content-type", "x-licensegraph-role", "x-request-id", "idempotency-key", "traceparent"]
    {
        assert!(headers.contains(needed), "{needed} in {headers}");
    }
    assert_eq!(res.header("access-control-max-age"), Some("600"));
    assert!(res.header("vary").is_some_and(|v| v.to_ascii_lowercase().contains("origin")));
    // The call itself: readable, with the request id exposed.
    let res = post_from(&app, "http://localhost:5173").await;
    assert_eq!(res.body["data"]["viewer"]["subject"], "ada");
    assert_eq!(res.header("access-control-allow-origin"), Some("http://localhost:5173"));
    let exposed = res.header("access-control-expose-headers").unwrap_or_default().to_ascii_lowercase();
    assert!(
        exposed.contains("x-request-id") && exposed.contains("retry-after") && exposed.contains("idempotent-replayed"),
        "{exposed}"
    );
}

#[tokio::test]
async fn an_origin_not_on_the_list_gets_no_permission() {
    for (mode, configured, refused) in [
        (Mode::Development, vec![], "https://evil.example"),
        (Mode::Development, vec![], "http://localhost.evil.example:5173"),
        (Mode::Production, vec![], "http://localhost:5173"),
        (Mode::Production, vec!["https://portal.example"], "https://portal.example.evil"),
    ] {
        let app = app(mode, &configured).await;
        let res = preflight(&app, refused).await;
        assert_eq!(res.header("access-control-allow-origin"), None, "{mode:?} {refused}");
        let res = post_from(&app, refused).await;
        assert_eq!(res.header("access-control-allow-origin"), None, "{mode:?} {refused}");
    }
    let app = app(Mode::Production, &["https://portal.example"]).await;
    assert_eq!(
        preflight(&app, "https://portal.example").await.header("access-control-allow-origin"),
        Some("https://portal.example")
    );
}

#[tokio::test]
async fn an_options_request_that_is_no_preflight_reaches_the_routes_as_before() {
    let app = app(Mode::Development, &[]).await;
    for (uri, origin, status) in
        [("/graphql", None, 405), ("/nope", None, 404), ("/graphql", Some("http://localhost:5173"), 405)]
    {
        let mut request = Request::builder().method(Method::OPTIONS).uri(uri);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let res = app.http(request.body(Body::empty()).expect("request")).await;
        assert_eq!(res.status.as_u16(), status, "{uri} {origin:?}");
        assert_eq!(res.header("access-control-allow-methods"), None, "{uri} {origin:?}: no preflight answer");
    }
}
