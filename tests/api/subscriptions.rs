//! Subscriptions, at schema level (the WebSocket transport is tested with
//! the real graphql-ws client in clients/subscriptions.mjs): events reach
//! their organization's administrators live and no one else; a focused
//! subscription on another organization's order or code answers exactly as
//! on a missing one.

use std::time::Duration;

use futures_util::StreamExt;
use licensegraph::{auth::Viewer, id};
use serde_json::{Value, json};

use crate::{
    fixtures::*,
    helpers::{TestApp, anonymous},
};

fn subscribe(
    app: &TestApp,
    viewer: &Viewer,
    query: &str,
    variables: Value,
) -> impl futures_util::Stream<Item = Value> + Unpin + use<> {
    let request = async_graphql::Request::new(query)
        .variables(async_graphql::Variables::from_json(variables))
        .data(viewer.clone())
        .data(app.db.clone());
    app.state.schema.execute_stream(request).map(|r| serde_json::to_value(&r).unwrap()).boxed()
}

async fn next(stream: &mut (impl futures_util::Stream<Item = Value> + Unpin), within: Duration) -> Option<Value> {
    tokio::time::timeout(within, stream.next()).await.ok().flatten()
}

const EVENTS: &str = "subscription { events { type organizationId data } }";

#[tokio::test]
async fn events_reach_their_organizations_administrators_live_and_no_one_else_r32() {
    let app = TestApp::spawn().await;
    let school = academic(&app, "Live School").await;
    let other = academic(&app, "Dark School").await;
    let agreement = academic_year(&app, &school, "SPE-2026-LIVE").await;
    let mut mine = subscribe(&app, &customer_admin(&school), EVENTS, json!({}));
    let mut theirs = subscribe(&app, &customer_admin(&other), EVENTS, json!({}));
    let mut learner =
        subscribe(&app, &person("kid@example.edu", &[licensegraph::auth::Role::Learner], school.id), EVENTS, json!({}));
    // A stream starts (its resolver runs) when first polled: start them
    // all before anything happens.
    for stream in [&mut mine, &mut theirs, &mut learner] {
        assert!(next(stream, Duration::from_millis(100)).await.is_none());
    }
    let placed = place(&app, &customer_admin(&school), &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    let order = placed["order"]["id"].as_str().unwrap().to_owned();
    let got = next(&mut mine, Duration::from_secs(5)).await.expect("the event arrives live");
    assert_eq!(got["data"]["events"]["type"], "order.placed", "{got}");
    assert_eq!(got["data"]["events"]["organizationId"], json!(school.gid));
    assert_eq!(got["data"]["events"]["data"]["order"], json!(order));
    assert!(next(&mut theirs, Duration::from_millis(800)).await.is_none(), "another school's admin sees nothing");
    assert!(next(&mut learner, Duration::from_millis(200)).await.is_none(), "a learner administers nothing");

    // orderUpdated follows one order.
    let mut follow = subscribe(
        &app,
        &customer_admin(&school),
        "subscription($id: ID!) { orderUpdated(id: $id) { type } }",
        json!({ "id": order }),
    );
    assert!(next(&mut follow, Duration::from_millis(100)).await.is_none(), "nothing from before it began");
    step(&app, "confirmOrder", &order).await;
    let got = next(&mut follow, Duration::from_secs(5)).await.expect("orderUpdated");
    assert_eq!(got["data"]["orderUpdated"]["type"], "order.confirmed", "{got}");
}

#[tokio::test]
async fn another_organizations_order_or_code_answers_like_a_missing_one_r32() {
    let app = TestApp::spawn().await;
    let school = academic(&app, "Owner School").await;
    let other = academic(&app, "Prying School").await;
    let agreement = academic_year(&app, &school, "SPE-2026-OWNR").await;
    let order = fulfilled(&app, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    let code = codes_of(&app, &order, 1).await[0].0.clone();
    let prying = customer_admin(&other);
    for (field, kind, theirs) in [("orderUpdated", "Order", &order), ("codeUpdated", "Code", &code)] {
        let query = format!("subscription($id: ID!) {{ {field}(id: $id) {{ type }} }}");
        let answer = |id: &str| {
            let mut s = subscribe(&app, &prying, &query, json!({ "id": id }));
            async move { next(&mut s, Duration::from_secs(5)).await.expect("an answer") }
        };
        let missing = id::encode(kind, 987_654_321);
        let (a, b) = (answer(theirs).await, answer(&missing).await);
        assert_eq!(a.to_string().replace(theirs.as_str(), "<ID>"), b.to_string().replace(&missing, "<ID>"), "{field}");
        assert_eq!(a["errors"][0]["extensions"]["code"], "NOT_FOUND", "{a}");
    }
    // Anonymous callers may not subscribe; unknown types are refused.
    let mut anon = subscribe(&app, &anonymous(), EVENTS, json!({}));
    let refused = next(&mut anon, Duration::from_secs(5)).await.unwrap();
    assert_eq!(refused["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{refused}");
    let mut bad = subscribe(
        &app,
        &customer_admin(&school),
        "subscription { events(types: [\"order.eaten\"]) { type } }",
        json!({}),
    );
    let refused = next(&mut bad, Duration::from_secs(5)).await.unwrap();
    assert_eq!(refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{refused}");
}

#[tokio::test]
async fn a_feed_nobody_subscribes_to_reads_nothing_per_notification() {
    // On PostgreSQL every statement that writes events sends a NOTIFY;
    // under load that is hundreds a second. With no subscriber the feed
    // ignores them (it notes the newest id every 250 ms); a subscriber
    // wakes it, and then events reach it.
    let app = TestApp::spawn().await;
    let (counted, statements) = licensegraph::db::counting_statements(&app.db);
    let live = licensegraph::live::Live::start(counted);
    tokio::time::sleep(Duration::from_millis(30)).await; // its first read of the newest id
    let before = statements.load(std::sync::atomic::Ordering::SeqCst);
    for _ in 0..20 {
        live.written.notify_waiters();
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let read = statements.load(std::sync::atomic::Ordering::SeqCst) - before;
    assert!(read <= 1, "20 notifications to an idle feed cost {read} statements");

    let mut receiver = live.subscribe();
    let now = crate::helpers::default_now();
    let event = licensegraph::service::outbox::Event::new("order.placed", ("Order", 77), None);
    licensegraph::service::outbox::emit(&app.db, now, event).await.unwrap();
    live.written.notify_waiters();
    let got = tokio::time::timeout(Duration::from_secs(3), receiver.recv()).await.expect("the event, live").unwrap();
    assert_eq!((got.kind.as_str(), got.subject_id), ("order.placed", 77));
}
