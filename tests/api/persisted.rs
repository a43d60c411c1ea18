//! Automatic persisted queries (Apollo's protocol): a hash alone runs a
//! query the server has seen with its text; an unknown hash asks for the
//! text; a text must have the hash it comes with.

use axum::{
    body::Body,
    http::{Method, Request},
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, TestResponse};

fn sha(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn post(app: &TestApp, body: Value) -> TestResponse {
    app.post_body(None, body.to_string()).await
}

async fn get(app: &TestApp, hash: &str) -> TestResponse {
    let extensions = persisted(hash).to_string();
    let encoded: String = extensions.bytes().map(|b| format!("%{b:02X}")).collect();
    let request = Request::builder()
        .method(Method::GET)
        .uri(format!("/graphql?extensions={encoded}"))
        .header("accept", "application/graphql-response+json")
        .body(Body::empty())
        .expect("request");
    app.http(request).await
}

#[tokio::test]
async fn a_hash_runs_its_query_once_the_text_came_with_it_over_post_and_get() {
    let app = TestApp::spawn().await;
    let text = "query Programs { programs(first: 1) { totalCount } }";
    let hash = sha(text);
    for res in [post(&app, json!({ "extensions": persisted(&hash) })).await, get(&app, &hash).await] {
        assert_eq!(res.status, 200, "{}", res.text);
        assert_eq!(res.code(), Some("PERSISTED_QUERY_NOT_FOUND"), "{}", res.text);
        assert_eq!(res.body["errors"][0]["message"], "PersistedQueryNotFound");
    }
    let registered = post(&app, json!({ "query": text, "extensions": persisted(&hash) })).await;
    assert!(registered.body["data"]["programs"]["totalCount"].as_i64().is_some(), "{}", registered.text);
    for res in [post(&app, json!({ "extensions": persisted(&hash) })).await, get(&app, &hash).await] {
        assert_eq!(res.body, registered.body, "{}", res.text);
    }
}

#[tokio::test]
async fn a_text_with_another_hash_is_refused_and_not_kept() {
    let app = TestApp::spawn().await;
    let claimed = sha("{ __typename }");
    let res = post(&app, json!({ "query": "mutation { __typename }", "extensions": persisted(&claimed) })).await;
    assert_eq!(res.status, 400, "{}", res.text);
    assert_eq!(res.code(), Some("BAD_REQUEST"));
    let res = post(&app, json!({ "extensions": persisted(&claimed) })).await;
    assert_eq!(res.code(), Some("PERSISTED_QUERY_NOT_FOUND"), "the wrong text was not kept under that hash");
    let res = post(&app, json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": claimed } } })).await;
    assert_eq!(res.status, 400, "{}", res.text);
}

#[tokio::test]
async fn a_persisted_mutation_still_needs_post() {
    let app = TestApp::spawn().await;
    let text = "mutation M { __typename }";
    let hash = sha(text);
    post(&app, json!({ "query": text, "extensions": persisted(&hash) })).await;
    let res = get(&app, &hash).await;
    assert_eq!(res.status, 405, "{}", res.text);
}

#[tokio::test]
async fn with_trusted_documents_only_non_admins_run_those_and_nothing_else() {
    let dir = std::env::temp_dir().join(format!("lg-trusted-api-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).expect("dir");
    let text = "query Programs { programs(first: 1) { totalCount } }";
    std::fs::write(dir.join("programs.graphql"), text).expect("write");
    let mut app = TestApp::spawn().await;
    let trusted =
        licensegraph::graphql::trusted::TrustedDocuments::load(&dir, true, |_| Ok(())).expect("trusted documents");
    app.state = app.state.clone().with_trusted(trusted);
    std::fs::remove_dir_all(&dir).expect("cleanup");

    let by_text = post(&app, json!({ "query": text })).await;
    assert!(by_text.body["data"]["programs"]["totalCount"].is_number(), "{}", by_text.text);
    // Known by hash from the start: no round trip for the text.
    let by_hash = post(&app, json!({ "extensions": persisted(&sha(text)) })).await;
    assert_eq!(by_hash.body, by_text.body, "{}", by_hash.text);
    let other = app.post(None, "{ programs(first: 1) { totalCount } }", json!({})).await;
    assert_eq!(other.status, 403, "{}", other.text);
    assert_eq!(other.code(), Some("FORBIDDEN"));
    let learner = app.token("ada", &[licensegraph::auth::Role::Learner], Some(1));
    assert_eq!(app.post(Some(&learner), "{ viewer { subject } }", json!({})).await.status, 403);
    let admin = app.token("desk", &[licensegraph::auth::Role::Admin], None);
    let explored = app.post(Some(&admin), "{ viewer { subject } }", json!({})).await;
    assert_eq!(explored.body["data"]["viewer"]["subject"], "desk", "admins keep the whole API");
}
