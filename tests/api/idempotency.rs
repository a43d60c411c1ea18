//! `Idempotency-Key`: a mutation runs at most once per caller and key; a
//! retry gets the kept answer, another body 422, a retry while the first
//! runs 409; a key left by a process that died is resolved by whether its
//! transaction committed.

use std::sync::Arc;

use axum::{
    body::Body,
    http::{Method, Request},
};
use chrono::Duration;
use licensegraph::{auth::Role, clock::Clock, idempotency};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::{
    fixtures::{PLACE, academic, agreement},
    helpers::{TestApp, TestResponse},
};

fn request(token: &str, key: Option<&str>, body: &Value) -> Request<Body> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri("/graphql")
        .header("content-type", "application/json")
        .header("accept", "application/graphql-response+json")
        .header("authorization", format!("Bearer {token}"));
    if let Some(key) = key {
        builder = builder.header("idempotency-key", key);
    }
    builder.body(Body::from(body.to_string())).expect("request")
}

async fn setup() -> (TestApp, String, Value) {
    let app = TestApp::spawn().await;
    let school = academic(&app, "Idempotent School").await;
    let agreement = agreement(&app, &school, "SELECT_PLUS_EDU", "EES-2026-0101", "2026-07-01", "2029-06-30").await;
    let token = app.token("desk@licensegraph.example", &[Role::Admin], None);
    let body = json!({
        "query": PLACE,
        "variables": { "input": { "agreementId": agreement, "packageSku": "SITE-MTA-MOS-MCE-125", "quantity": 1, "term": "PRORATED" } },
    });
    (app, token, body)
}

async fn orders(app: &TestApp) -> i64 {
    let row = app
        .db
        .query_one_raw(Statement::from_string(app.db.get_database_backend(), "SELECT COUNT(*) AS n FROM orders"))
        .await
        .expect("count")
        .expect("a row");
    row.try_get("", "n").expect("n")
}

fn placed(res: &TestResponse) -> bool {
    res.status == 200 && res.body["data"]["placeOrder"]["order"]["id"].is_string()
}

#[tokio::test]
async fn a_retry_with_the_same_key_and_body_gets_the_kept_answer_and_places_nothing() {
    let (app, token, body) = setup().await;
    let first = app.http(request(&token, Some("order-1"), &body)).await;
    assert!(placed(&first), "{}", first.text);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = app.http(request(&token, Some("\"order-1\""), &body)).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.text, first.text, "the very same answer");
    assert_eq!(again.header("content-type"), first.header("content-type"));
    assert_eq!(orders(&app).await, 1);
    // Another key is another order; no key at all is one more each time.
    assert!(placed(&app.http(request(&token, Some("order-2"), &body)).await));
    assert!(placed(&app.http(request(&token, None, &body)).await));
    assert_eq!(orders(&app).await, 3);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused_with_422() {
    let (app, token, body) = setup().await;
    assert!(placed(&app.http(request(&token, Some("k"), &body)).await));
    let mut other = body.clone();
    other["variables"]["input"]["quantity"] = json!(2);
    let refused = app.http(request(&token, Some("k"), &other)).await;
    assert_eq!((refused.status.as_u16(), refused.code()), (422, Some("IDEMPOTENCY_KEY_REUSED")), "{}", refused.text);
    assert_eq!(orders(&app).await, 1);
}

#[tokio::test]
async fn keys_belong_to_their_caller() {
    let (app, token, body) = setup().await;
    assert!(placed(&app.http(request(&token, Some("shared"), &body)).await));
    let other = app.token("other-desk@licensegraph.example", &[Role::Admin], None);
    let theirs = app.http(request(&other, Some("shared"), &body)).await;
    assert!(placed(&theirs) && theirs.header("idempotent-replayed").is_none(), "{}", theirs.text);
    assert_eq!(orders(&app).await, 2);
}

#[tokio::test]
async fn malformed_keys_are_refused_and_queries_ignore_the_header() {
    let (app, token, body) = setup().await;
    for bad in ["", "a b", "\"unterminated", &"k".repeat(256)] {
        let res = app.http(request(&token, Some(bad), &body)).await;
        assert_eq!((res.status.as_u16(), res.code()), (400, Some("IDEMPOTENCY_KEY_INVALID")), "{bad:?}: {}", res.text);
    }
    assert_eq!(orders(&app).await, 0);
    let query = json!({ "query": "query Count { programs { totalCount } }" });
    for _ in 0..2 {
        let res = app.http(request(&token, Some("q"), &query)).await;
        assert_eq!(res.status, 200);
        assert_eq!(res.header("idempotent-replayed"), None, "queries are not kept");
    }
}

#[tokio::test]
async fn keys_expire_after_their_time_to_live() {
    let (app, token, body) = setup().await;
    assert!(placed(&app.http(request(&token, Some("day"), &body)).await));
    app.clock.set(crate::helpers::default_now() + Duration::hours(23));
    assert_eq!(app.http(request(&token, Some("day"), &body)).await.header("idempotent-replayed"), Some("true"));
    app.clock.set(crate::helpers::default_now() + Duration::hours(24) + Duration::seconds(1));
    let fresh = app.http(request(&token, Some("day"), &body)).await;
    assert!(placed(&fresh) && fresh.header("idempotent-replayed").is_none(), "{}", fresh.text);
    assert_eq!(orders(&app).await, 2);
}

#[tokio::test]
async fn thirty_two_concurrent_retries_of_one_key_place_exactly_one_order() {
    let (app, token, body) = setup().await;
    let app = Arc::new(app);
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (app, token, body) = (app.clone(), token.clone(), body.clone());
            tokio::spawn(async move { app.http(request(&token, Some("burst"), &body)).await })
        })
        .collect();
    let mut first = Vec::new();
    let mut replayed = 0;
    let mut busy = 0;
    for task in tasks {
        let res = task.await.expect("task");
        match (res.status.as_u16(), res.header("idempotent-replayed")) {
            (200, Some("true")) => replayed += 1,
            (200, None) => first.push(res.text.clone()),
            (409, _) => {
                assert_eq!(res.code(), Some("IDEMPOTENCY_KEY_IN_USE"), "{}", res.text);
                assert_eq!(res.header("retry-after"), Some("1"));
                busy += 1;
            }
            other => panic!("unexpected answer {other:?}: {}", res.text),
        }
    }
    assert_eq!(first.len(), 1, "one request ran (replayed {replayed}, busy {busy})");
    assert_eq!(orders(&app).await, 1);
    // Once it finished, every retry is its answer.
    let after = app.http(request(&token, Some("burst"), &body)).await;
    assert_eq!((after.header("idempotent-replayed"), after.text.clone()), (Some("true"), first[0].clone()));
}

/// A process that died while holding a key left it `running` (nothing
/// committed: a retry after the lease runs it) or `committed` (something
/// took effect: a retry hears that, and nothing runs twice).
#[tokio::test]
async fn a_key_left_by_a_dead_process_is_resolved_by_what_committed() {
    let (app, token, body) = setup().await;
    let now = app.clock.now();
    let lease = std::time::Duration::from_secs(35);
    let ttl = std::time::Duration::from_secs(24 * 3600);
    let caller = "desk@licensegraph.example";
    let variables = body["variables"].as_object().cloned().unwrap_or_default();
    let hash = idempotency::request_hash(PLACE, None, &variables, None);
    let claim = |key: &'static str| {
        let (db, hash) = (app.db.clone(), hash.clone());
        async move { idempotency::claim(&db, caller, key, &hash, now, lease, ttl).await.expect("claim") }
    };

    // Died before its transaction committed: the mark rolled back with it.
    let idempotency::Claim::Run(id) = claim("died-early").await else { panic!("claimed") };
    idempotency::scope(id, async {
        let txn = licensegraph::db::begin(&app.db).await.expect("begin");
        txn.rollback().await.expect("rollback");
    })
    .await;
    // While the lease runs, retries wait; after it, one runs the request.
    assert!(matches!(
        app.http(request(&token, Some("died-early"), &body)).await.code(),
        Some("IDEMPOTENCY_KEY_IN_USE")
    ));
    app.clock.set(now + Duration::seconds(36));
    let retried = app.http(request(&token, Some("died-early"), &body)).await;
    assert!(placed(&retried), "{}", retried.text);
    assert_eq!(orders(&app).await, 1);

    // Died after its transaction committed, before keeping the answer.
    app.clock.set(now);
    let idempotency::Claim::Run(id) = claim("died-late").await else { panic!("claimed") };
    idempotency::scope(id, async {
        let txn = licensegraph::db::begin(&app.db).await.expect("begin");
        txn.commit().await.expect("commit");
    })
    .await;
    app.clock.set(now + Duration::seconds(36));
    let lost = app.http(request(&token, Some("died-late"), &body)).await;
    assert_eq!((lost.status.as_u16(), lost.code()), (409, Some("IDEMPOTENCY_ANSWER_LOST")), "{}", lost.text);
    assert_eq!(orders(&app).await, 1, "nothing ran twice");
}
