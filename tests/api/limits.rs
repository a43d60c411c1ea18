//! Query limits: depth, complexity, fields (aliases and `__typename`
//! included), directives per field and query size, each configurable and
//! each answered with `LIMIT_EXCEEDED` before anything runs.

use licensegraph::config::LimitArgs;
use serde_json::json;

use crate::helpers::TestApp;

async fn assert_limited(app: &TestApp, query: &str, why: &str) {
    let res = app.post(None, query, json!({})).await;
    assert_eq!(res.status, 400, "{why}: {}", &res.text[..res.text.len().min(300)]);
    assert_eq!(res.code(), Some("LIMIT_EXCEEDED"), "{why}: {}", &res.text[..res.text.len().min(300)]);
    assert!(res.body.get("data").is_none(), "{why}");
}

fn aliases(n: usize) -> String {
    format!("{{ {} }}", (0..n).map(|i| format!("a{i}: __typename")).collect::<Vec<_>>().join(" "))
}

#[tokio::test]
async fn five_thousand_aliased_typenames_do_not_pass() {
    let app = TestApp::spawn().await;
    assert_limited(&app, &aliases(5000), "5000 aliases").await;
    assert_limited(&app, &aliases(501), "just over the default 500 fields").await;
    let ok = app.post(None, &aliases(400), json!({})).await;
    assert_eq!(ok.status, 200, "400 fields are fine");
}

#[tokio::test]
async fn fragments_spread_many_times_are_counted_each_time() {
    let app = TestApp::spawn().await;
    let fragment = (0..60).map(|i| format!("f{i}: __typename")).collect::<Vec<_>>().join(" ");
    let spreads = (0..10).map(|i| format!("v{i}: viewer {{ ...F }}")).collect::<Vec<_>>().join(" ");
    assert_limited(&app, &format!("{{ {spreads} }} fragment F on Viewer {{ {fragment} }}"), "spread fragments").await;
}

#[tokio::test]
async fn deep_queries_are_refused() {
    let app = TestApp::with_limits(LimitArgs { max_depth: 5, ..LimitArgs::default() }).await;
    let deep = "{ programs { nodes { packages { nodes { programs { code } } } } } }";
    assert_limited(&app, deep, "depth 6 over 5").await;
    let shallow = app.post(None, "{ programs { nodes { code } } }", json!({})).await;
    assert_eq!(shallow.status, 200);
}

#[tokio::test]
async fn complex_queries_are_refused() {
    let app = TestApp::spawn().await;
    let q = "{ packages(first: 100) { nodes { programs { packages(first: 100) { nodes { sku name kind } } } } } }";
    assert_limited(&app, q, "100 x 100 nested pages").await;
}

#[tokio::test]
async fn too_many_directives_on_a_field_are_refused() {
    let app = TestApp::with_limits(LimitArgs { max_directives: 1, ..LimitArgs::default() }).await;
    assert_limited(&app, "{ __typename @include(if: true) @skip(if: false) }", "two directives over one").await;
}

#[tokio::test]
async fn oversized_query_text_is_refused() {
    let app = TestApp::with_limits(LimitArgs { max_query_bytes: 1024, ..LimitArgs::default() }).await;
    let padded = format!("{{ __typename }} # {}", "x".repeat(2000));
    assert_limited(&app, &padded, "query over 1 KiB").await;
}
