//! Hostile input: texts and bodies built to crash, stall or bloat the
//! server. Each is refused with a typed error, and the server goes on.

use axum::{
    body::Body,
    http::{Method, Request},
};
use licensegraph::config::LimitArgs;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse};

/// A GET of `/graphql` with `query` (and raw `variables` text, if any);
/// `None` when the URI is longer than the `http` crate takes (64 KiB).
async fn get(app: &TestApp, query: &str, variables: Option<&str>) -> Option<TestResponse> {
    let mut uri = format!("/graphql?query={}", urlencode(query));
    if let Some(variables) = variables {
        uri.push_str(&format!("&variables={}", urlencode(variables)));
    }
    if uri.len() > 65_000 {
        return None;
    }
    let request = Request::builder()
        .method(Method::GET)
        .uri(uri)
        .header("accept", "application/graphql-response+json")
        .body(Body::empty())
        .expect("request");
    Some(app.http(request).await)
}

/// POSTs raw body bytes as JSON.
async fn post_raw(app: &TestApp, body: String) -> TestResponse {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/graphql")
        .header("content-type", "application/json")
        .header("accept", "application/graphql-response+json")
        .body(Body::from(body))
        .expect("request");
    app.http(request).await
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn assert_refused(res: &TestResponse, code: &str, says: &str, why: &str) {
    let excerpt = &res.text[..res.text.len().min(300)];
    assert_eq!(res.status, 400, "{why}: {excerpt}");
    assert_eq!(res.code(), Some(code), "{why}: {excerpt}");
    assert!(res.body["errors"][0]["message"].as_str().is_some_and(|m| m.contains(says)), "{why}: {excerpt}");
    assert!(res.body.get("data").is_none(), "{why}: a request error has no data");
}

async fn still_serves(app: &TestApp) {
    let res = app.post(None, "{ __typename }", json!({})).await;
    assert_eq!(res.body, json!({ "data": { "__typename": "Query" } }));
}

/// The attack that aborted the process: `{ nodes(ids: [[[…"x"…]]]) { id } }`
/// with 1 600 brackets (about 3 KB), and its kin.
fn deep_texts(n: usize) -> Vec<(String, String)> {
    vec![
        (format!("{n} nested lists"), format!("{{ nodes(ids: {}\"x\"{}) {{ id }} }}", "[".repeat(n), "]".repeat(n))),
        (
            format!("{n} nested objects"),
            format!("{{ program(code: {}1{}) {{ code }} }}", "{a:".repeat(n), "}".repeat(n)),
        ),
        (format!("{n} nested selection sets"), format!("{}__typename{}", "{ viewer ".repeat(n), " }".repeat(n))),
        (format!("{n} unclosed parentheses"), format!("{{ a{}", "(".repeat(n))),
        (
            format!("{n} nested lists in a variable's default"),
            format!("query Q($v: [ID!] = {}\"x\"{}) {{ __typename }}", "[".repeat(n), "]".repeat(n)),
        ),
        (
            format!("{n} nested lists in a directive"),
            format!("{{ __typename @include(if: {}true{}) }}", "[".repeat(n), "]".repeat(n)),
        ),
        (
            format!("{n} nested lists in a fragment"),
            format!(
                "{{ ...F }} fragment F on Query {{ nodes(ids: {}\"x\"{}) {{ id }} }}",
                "[".repeat(n),
                "]".repeat(n)
            ),
        ),
    ]
}

#[tokio::test]
async fn deeply_nested_queries_of_any_size_are_refused_over_post_and_get_and_the_server_goes_on() {
    // Default limits, and limits opened so wide that only nesting stops them.
    let wide = LimitArgs { max_query_bytes: 1 << 20, max_tokens: 1 << 20, ..LimitArgs::default() };
    for app in [TestApp::spawn().await, TestApp::with_limits(wide).await] {
        for n in [1_600, 5_000] {
            for (what, text) in deep_texts(n) {
                let res = app.post(None, &text, json!({})).await;
                if text.len() > app.state.limits.max_query_bytes {
                    assert_refused(&res, "LIMIT_EXCEEDED", "max_query_bytes", &what);
                } else if res.body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("max_tokens")) {
                    assert_refused(&res, "LIMIT_EXCEEDED", "max_tokens", &what);
                } else {
                    assert_refused(&res, "LIMIT_EXCEEDED", "max_nesting = 32", &what);
                }
                if let Some(res) = get(&app, &text, None).await {
                    assert_eq!(res.status, 400, "GET {what}");
                    assert_eq!(res.code(), Some("LIMIT_EXCEEDED"), "GET {what}");
                }
            }
        }
        still_serves(&app).await;
    }
}

#[tokio::test]
async fn a_mutation_over_get_nested_too_deep_is_refused_by_the_limit_not_parsed() {
    let app = TestApp::spawn().await;
    let text =
        format!("mutation {{ placeOrder(input: {}1{}) {{ __typename }} }}", "{a:".repeat(5_000), "}".repeat(5_000));
    let res = get(&app, &text, None).await.expect("fits a URI");
    assert_refused(&res, "LIMIT_EXCEEDED", "max_nesting", "deep mutation over GET");
}

#[tokio::test]
async fn json_bodies_nested_past_the_bound_are_a_400_and_the_server_goes_on() {
    let app = TestApp::spawn().await;
    for n in [40, 127, 128, 129, 1_600, 100_000] {
        let variables = format!("{}1{}", "[".repeat(n), "]".repeat(n));
        let body = format!(r#"{{"query":"{{ __typename }}","variables":{{"x":{variables}}}}}"#);
        let res = post_raw(&app, body).await;
        assert_refused(&res, "LIMIT_EXCEEDED", "max_nesting = 32", &format!("{n}-deep JSON body"));
        if let Some(res) = get(&app, "{ __typename }", Some(&format!(r#"{{"x":{variables}}}"#))).await {
            assert_refused(&res, "LIMIT_EXCEEDED", "max_nesting = 32", &format!("{n}-deep variables over GET"));
        }
        let objects =
            format!(r#"{{"query":"{{ __typename }}","extensions":{}1{}}}"#, r#"{"a":"#.repeat(n), "}".repeat(n));
        let res = post_raw(&app, objects).await;
        assert_refused(&res, "LIMIT_EXCEEDED", "max_nesting = 32", &format!("{n}-deep extensions"));
    }
    still_serves(&app).await;
}

#[tokio::test]
async fn a_parse_error_is_named_without_parsing_the_text_again() {
    let app = TestApp::spawn().await;
    let res = app.post(None, "{ nope", json!({})).await;
    assert_refused(&res, "GRAPHQL_PARSE_FAILED", "expected", "unclosed selection");
    let res = app.post(None, "{ nope }", json!({})).await;
    assert_refused(&res, "GRAPHQL_VALIDATION_FAILED", "nope", "unknown field");
}

#[tokio::test]
async fn fragment_cycles_that_would_stall_a_walker_are_refused_at_once() {
    let app = TestApp::spawn().await;
    let mut text = String::from("{ ...F0 }");
    for i in 0..30 {
        text.push_str(&format!(" fragment F{i} on Query {{ ...F{n} ...F{n} }}", n = (i + 1) % 30));
    }
    let res = app.post(None, &text, json!({})).await;
    assert_refused(&res, "GRAPHQL_VALIDATION_FAILED", "spreads itself", "doubling fragment cycle");
    let mut chain = String::from("{ ...F0 }");
    for i in 0..100 {
        chain.push_str(&format!(" fragment F{i} on Query {{ ...F{} }}", i + 1));
    }
    chain.push_str(" fragment F100 on Query { __typename }");
    let res = app.post(None, &chain, json!({})).await;
    assert_refused(&res, "LIMIT_EXCEEDED", "max_nesting = 32", "a chain of 100 spreads");
}

#[tokio::test]
async fn aliased_introspection_lists_are_refused_and_the_standard_query_is_not() {
    let app = TestApp::spawn().await;
    // 5 aliases at each of 3 levels: 3.7 MB from 4.7 KB before.
    let level =
        |inner: &str| (0..5).map(|i| format!("f{i}: fields {{ type {{ {inner} }} }}")).collect::<Vec<_>>().join(" ");
    let text = format!("{{ __schema {{ types {{ {} }} }} }}", level(&level(&level("name"))));
    assert!(text.len() < 5_000);
    let res = app.post(None, &text, json!({})).await;
    assert_refused(&res, "LIMIT_EXCEEDED", "may not alias", "aliased introspection");
    let standard = include_str!("introspection.graphql");
    let res = app.post(None, standard, json!({})).await;
    assert_eq!(res.status, 200, "{}", &res.text[..300]);
    assert!(res.body["data"]["__schema"]["types"].as_array().is_some_and(|t| t.len() > 50));
}

#[tokio::test]
async fn an_answer_past_the_response_limit_is_an_error_not_memory() {
    let app = TestApp::with_limits(LimitArgs { max_response_bytes: 20_000, ..LimitArgs::default() }).await;
    let res = app.post(None, include_str!("introspection.graphql"), json!({})).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["data"], Value::Null);
    assert_eq!(res.code(), Some("LIMIT_EXCEEDED"));
    assert!(res.text.len() < 1_000, "the error alone is sent");
    assert!(res.text.contains("max_response_bytes = 20000"));
    still_serves(&app).await;
}
