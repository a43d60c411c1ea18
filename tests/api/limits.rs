//! Query limits: depth, complexity, fields (aliases and `__typename`
//! included), directives per field and query size, each configurable and
//! each answered with `LIMIT_EXCEEDED` before anything runs.

use licensegraph::{
    auth::Role,
    config::{Introspection, LimitArgs},
};
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
    // The refusal says the figures, as numbers and in words.
    let res = app.post(None, q, json!({})).await;
    let cost = &res.body["errors"][0]["extensions"]["cost"];
    assert_eq!(cost["maximumQueryCost"], 10_000, "{}", res.text);
    let figure = cost["requestedQueryCost"].as_u64().expect("a figure");
    assert!(figure > 10_000, "{}", res.text);
    let message = res.body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&figure.to_string()) && message.contains("10000"), "{message}");
}

/// Every answer reports its cost and the limit (as Shopify's Admin API
/// does), the figure async-graphql's own limit works with: the limit set
/// to the figure passes, one below refuses.
#[tokio::test]
async fn every_answer_carries_its_cost_and_the_limit() {
    let app = TestApp::spawn().await;
    let q = "query Pages { programs(first: 5) { totalCount nodes { code packages(first: 3) { nodes { sku } } } } }";
    let res = app.post(None, q, json!({})).await;
    assert!(res.body.get("errors").is_none(), "{}", res.text);
    let cost = res.body["extensions"]["cost"]["requestedQueryCost"].as_u64().expect("a cost");
    assert_eq!(res.body["extensions"]["cost"]["maximumQueryCost"], 10_000);
    // Named variables count as their values.
    let res = app.post(None, "query P($n: Int) { programs(first: $n) { nodes { code } } }", json!({ "n": 7 })).await;
    assert_eq!(res.body["extensions"]["cost"]["requestedQueryCost"], 7 * 2 + 1, "{}", res.text);
    let at = |limit: usize| TestApp::with_limits(LimitArgs { max_complexity: limit, ..LimitArgs::default() });
    let exact = at(cost as usize).await.post(None, q, json!({})).await;
    assert!(exact.body.get("errors").is_none(), "{}", exact.text);
    let below = at(cost as usize - 1).await.post(None, q, json!({})).await;
    assert_eq!(below.code(), Some("LIMIT_EXCEEDED"), "{}", below.text);
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

#[tokio::test]
async fn token_count_is_limited_before_parsing() {
    let app = TestApp::with_limits(LimitArgs { max_tokens: 100, max_fields: 10_000, ..LimitArgs::default() }).await;
    // `{`, three tokens per alias, `}`: 33 aliases are 101 tokens.
    assert_limited(&app, &aliases(33), "101 tokens over 100").await;
    let ok = app.post(None, &aliases(32), json!({})).await;
    assert_eq!(ok.status, 200, "98 tokens pass: {}", ok.text);
}

/// The introspection query GraphQL tooling sends (graphql-js's
/// `getIntrospectionQuery` with every option on) nests `ofType` deeper
/// than the depth limit; it must still pass, under the default limits.
#[tokio::test]
async fn the_standard_introspection_query_passes_the_limits() {
    let app = TestApp::spawn().await;
    let res = app.post(None, include_str!("introspection.graphql"), json!({})).await;
    assert_eq!(res.status, 200, "{}", &res.text[..res.text.len().min(300)]);
    assert!(res.body["data"]["__schema"]["types"].as_array().is_some_and(|t| t.len() > 50));
}

/// `fields { type { fields { type { ...` grows the answer exponentially
/// with each level: refused past three type lists, like graphql-js does.
#[tokio::test]
async fn nested_introspection_is_refused() {
    let app = TestApp::spawn().await;
    let three = "{ __schema { types { fields { type { fields { type { inputFields { name } } } } } } } }";
    let ok = app.post(None, three, json!({})).await;
    assert_eq!(ok.status, 200, "{}", &ok.text[..ok.text.len().min(300)]);
    let four = "{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }";
    assert_limited(&app, four, "four nested type lists").await;
    let via_fragment = "{ __type(name: \"Query\") { ...T } } \
        fragment T on __Type { fields { type { interfaces { possibleTypes { interfaces { name } } } } } }";
    assert_limited(&app, via_fragment, "type lists nested through a fragment").await;
}

/// Production mode: introspection is for admins; `__typename` stays open.
#[tokio::test]
async fn introspection_can_be_closed_to_all_but_admins() {
    let app =
        TestApp::with_limits(LimitArgs { introspection: Some(Introspection::Admins), ..LimitArgs::default() }).await;
    let learner = app.token("ada@contoso.example", &[Role::Learner], Some(1));
    let customer = app.token("boss@contoso.example", &[Role::CustomerAdmin], Some(1));
    let admin = app.token("desk@licensegraph.example", &[Role::Admin], None);
    for query in [
        "{ __schema { queryType { name } } }",
        "{ __type(name: \"Code\") { name } }",
        "{ ...F } fragment F on Query { __schema { types { name } } }",
    ] {
        for (who, token) in
            [("anonymous", None), ("learner", Some(learner.as_str())), ("customer_admin", Some(customer.as_str()))]
        {
            let res = app.post(token, query, json!({})).await;
            assert_eq!(res.code(), Some("FORBIDDEN"), "{who}: {query}: {}", res.text);
            assert!(res.body.get("data").is_none(), "{who}: nothing runs");
        }
        let res = app.post(Some(&admin), query, json!({})).await;
        assert_eq!(res.status, 200, "admin: {query}: {}", res.text);
        assert!(res.body.get("errors").is_none(), "admin: {}", res.text);
    }
    let typename = app.post(None, "{ __typename }", json!({})).await;
    assert_eq!(typename.body["data"]["__typename"], "Query");

    // The default (development) leaves it open to everyone.
    let open = TestApp::spawn().await;
    let res = open.post(None, "{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!(res.body["data"]["__schema"]["queryType"]["name"], "Query", "{}", res.text);
}

/// The mode picks the introspection default; an explicit setting wins.
#[test]
fn production_mode_defaults_introspection_to_admins() {
    use clap::Parser;
    use licensegraph::config::{Cli, Command};
    let serve = |args: &[&str]| match Cli::try_parse_from(args).expect("parses").command().2 {
        Command::Serve(serve) => serve.effective_limits().introspection,
        _ => unreachable!("serve"),
    };
    assert_eq!(serve(&["licensegraph", "serve"]), Some(Introspection::Everyone));
    assert_eq!(serve(&["licensegraph", "serve", "--mode", "production"]), Some(Introspection::Admins));
    assert_eq!(
        serve(&["licensegraph", "serve", "--mode", "production", "--introspection", "everyone"]),
        Some(Introspection::Everyone)
    );
    let check = |args: &[&str]| match Cli::try_parse_from(args).expect("parses").command().2 {
        Command::Serve(serve) => serve.check_mode(),
        _ => unreachable!("serve"),
    };
    assert!(check(&["licensegraph", "serve", "--mode", "production"]).is_err(), "no generated secret");
    let secret = "s".repeat(40);
    assert!(check(&["licensegraph", "serve", "--mode", "production", "--jwt-secret", &secret]).is_ok());
    // A secret file is configuration too (it must exist when serving starts).
    assert!(check(&["licensegraph", "serve", "--mode", "production", "--jwt-secret-file", "/run/secrets/jwt"]).is_ok());
    assert!(check(&["licensegraph", "serve"]).is_ok(), "development generates one");
}

/// A JSON array of operations is refused whole: nothing in it runs.
#[tokio::test]
async fn batched_requests_are_refused() {
    use axum::{body::Body, http::Request};
    let app = TestApp::spawn().await;
    let one = json!({"query": "mutation { __typename }"});
    let batch = serde_json::Value::Array(vec![one; 100]).to_string();
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("accept", "application/graphql-response+json")
        .body(Body::from(batch))
        .expect("request");
    let res = app.http(request).await;
    assert_eq!(res.status, 400, "{}", res.text);
    assert!(res.text.contains("batched requests are not supported"), "{}", res.text);
    assert!(res.body.get("data").is_none());
}
