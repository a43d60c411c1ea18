//! Webhooks (Standard Webhooks): an endpoint receives its organization's
//! events and none of another's, signed; failures are retried on schedule
//! and logged; a redelivery keeps the `webhook-id`; a rotation signs with
//! both secrets; an endpoint failing for five days is turned off;
//! production refuses http and private addresses. The reference library's
//! own check runs in `hardening/notices.py`.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU16, Ordering},
};

use axum::{Router, body::Bytes, extract::State, http::HeaderMap, routing::post};
use licensegraph::{dispatch::signature, domain::webhook_urls::UrlPolicy};
use serde_json::{Value, json};

use crate::{
    fixtures::*,
    helpers::{TestApp, admin},
    notices::{dispatcher, run},
};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    id: String,
    timestamp: i64,
    signature: String,
    body: String,
}

#[derive(Clone)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
    /// Milliseconds each answer waits.
    delay: Arc<std::sync::atomic::AtomicU64>,
}

impl Receiver {
    fn all(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
    fn on(&self, path: &str) -> Vec<Received> {
        self.all().into_iter().filter(|r| r.path == path).collect()
    }
}

/// A receiver on a loopback port; its base URL.
async fn receiver() -> (Receiver, String) {
    let r = Receiver { got: Arc::default(), status: Arc::new(AtomicU16::new(200)), delay: Arc::default() };
    async fn hook(
        State(r): State<Receiver>,
        axum::extract::Path(path): axum::extract::Path<String>,
        headers: HeaderMap,
        body: Bytes,
    ) -> (axum::http::StatusCode, &'static str) {
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let delay = r.delay.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
        }
        r.got.lock().unwrap().push(Received {
            path,
            id: h("webhook-id"),
            timestamp: h("webhook-timestamp").parse().unwrap_or(0),
            signature: h("webhook-signature"),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        let status = axum::http::StatusCode::from_u16(r.status.load(Ordering::SeqCst)).unwrap();
        (status, "thanks")
    }
    let app = Router::new().route("/{path}", post(hook)).with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (r, format!("http://{address}"))
}

/// A test app registering webhooks as development does (http, loopback).
async fn open_app() -> TestApp {
    let mut app = TestApp::spawn().await;
    app.state = app.state.clone().with_webhook_urls(UrlPolicy::OPEN);
    app
}

const CREATE: &str = "mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
    endpoint { id url eventTypes enabled } secret userErrors { code field message } } }";

async fn register(app: &TestApp, viewer: &licensegraph::auth::Viewer, url: &str, types: Value) -> (String, String) {
    let created = mutate(app, viewer, CREATE, json!({ "url": url, "eventTypes": types })).await;
    assert_eq!(user_errors(&created), Vec::<String>::new(), "{created}");
    (created["endpoint"]["id"].as_str().unwrap().to_owned(), created["secret"].as_str().unwrap().to_owned())
}

fn verifies(r: &Received, secret: &str) -> bool {
    let expected = signature::sign(secret, &r.id, r.timestamp, &r.body).unwrap();
    r.signature.split(' ').any(|s| s == expected)
}

#[tokio::test]
async fn an_endpoint_receives_its_organizations_events_signed_and_none_of_anothers_r32() {
    let app = open_app().await;
    let (dispatcher, _) = dispatcher(&app);
    let (rx, base) = receiver().await;
    let school = academic(&app, "Hooked School").await;
    let other = academic(&app, "Other School").await;
    let (_, secret) = register(&app, &customer_admin(&school), &format!("{base}/a"), json!([])).await;
    let (_, other_secret) =
        register(&app, &customer_admin(&other), &format!("{base}/b"), json!(["order.placed"])).await;
    let (_, desk_secret) = register(&app, &admin(), &format!("{base}/desk"), json!(["order.fulfilled"])).await;
    assert!(secret.starts_with("whsec_") && secret != other_secret);

    let mine = academic_year(&app, &school, "SPE-2026-HOOK").await;
    let theirs = academic_year(&app, &other, "SPE-2026-OTHR").await;
    let order = fulfilled(&app, &mine, "CLASS-MCP-30", 1, "PRORATED").await;
    place(&app, &customer_admin(&other), &theirs, "CLASS-MCP-30", 1, "PRORATED").await;
    // A code of the order assigned: its event goes out too, without its value.
    let codes = codes_of(&app, &order, 1).await;
    let assigned = mutate(&app, &admin(), ASSIGN, json!({ "codeId": codes[0].0, "assignee": "kid@example.edu" })).await;
    assert_eq!(user_errors(&assigned), Vec::<String>::new(), "{assigned}");

    let report = run(&dispatcher).await;
    assert_eq!(report.webhooks_failed, 0, "{report:?}");
    let a = rx.on("a");
    // Sent concurrently: in no promised order.
    let mut types: Vec<String> = a
        .iter()
        .map(|r| serde_json::from_str::<Value>(&r.body).unwrap()["type"].as_str().unwrap().to_owned())
        .collect();
    types.sort();
    assert_eq!(types, ["code.assigned", "order.confirmed", "order.fulfilled", "order.invoiced", "order.placed"]);
    assert!(a.iter().all(|r| verifies(r, &secret)), "signed with the endpoint's secret");
    assert!(a.iter().all(|r| !verifies(r, &other_secret)));
    let assigned = a.iter().find(|r| r.body.contains("code.assigned")).unwrap();
    let body: Value = serde_json::from_str(&assigned.body).unwrap();
    assert_eq!(body["data"]["code"], json!(codes[0].0));
    assert_eq!(body["data"]["status"], "ASSIGNED");
    assert!(a.iter().all(|r| !r.body.contains(&codes[0].1)), "no code value in a webhook");
    // The other school's endpoint got its own order.placed only; the desk's every fulfilment.
    let b = rx.on("b");
    assert_eq!(b.len(), 1);
    assert!(verifies(&b[0], &other_secret));
    assert!(!b[0].body.contains(&order));
    let desk = rx.on("desk");
    assert_eq!(desk.len(), 1);
    assert!(verifies(&desk[0], &desk_secret) && desk[0].body.contains(&order));
    // Timestamps are the wall clock's, as receivers check them.
    let now = chrono::Utc::now().timestamp();
    assert!(a.iter().all(|r| (r.timestamp - now).abs() < 60));
    // Nothing twice.
    assert_eq!(run(&dispatcher).await.webhooks_delivered, 0);
}

const ENDPOINTS: &str = "{ webhookEndpoints { id enabled disabledReason failingSince deliveries(first: 10) {
    totalCount nodes { status attemptCount nextAttemptAt event { id type } attempts { statusCode error responseExcerpt latencyMs } } } } }";

#[tokio::test]
async fn failures_are_retried_on_schedule_logged_and_redelivered_with_the_same_id() {
    let app = open_app().await;
    let (dispatcher, _) = dispatcher(&app);
    let (rx, base) = receiver().await;
    let school = academic(&app, "Flaky School").await;
    let boss = customer_admin(&school);
    let (endpoint, _) = register(&app, &boss, &format!("{base}/a"), json!(["order.placed"])).await;
    let agreement = academic_year(&app, &school, "SPE-2026-FLKY").await;
    rx.status.store(500, Ordering::SeqCst);
    let t0 = crate::helpers::default_now();
    place(&app, &boss, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    assert_eq!(run(&dispatcher).await.webhooks_failed, 1);
    let seen = app.execute(&boss, ENDPOINTS, json!({})).await;
    let delivery = &seen["data"]["webhookEndpoints"][0]["deliveries"]["nodes"][0];
    assert_eq!((delivery["status"].clone(), delivery["attemptCount"].clone()), (json!("PENDING"), json!(1)), "{seen}");
    assert_eq!(delivery["attempts"][0]["statusCode"], 500);
    assert_eq!(delivery["attempts"][0]["responseExcerpt"], "thanks");
    let next: chrono::DateTime<chrono::Utc> = delivery["nextAttemptAt"].as_str().unwrap().parse().unwrap();
    let wait = (next - t0).num_milliseconds();
    assert!((4_500..=5_500).contains(&wait), "the 2nd attempt 5 s later, within a tenth: {wait} ms");
    assert!(seen["data"]["webhookEndpoints"][0]["failingSince"].is_string());
    // Not before it is due.
    app.clock.set(t0 + chrono::Duration::seconds(4));
    assert_eq!(run(&dispatcher).await.webhooks_failed + run(&dispatcher).await.webhooks_delivered, 0);
    rx.status.store(200, Ordering::SeqCst);
    app.clock.set(t0 + chrono::Duration::seconds(6));
    assert_eq!(run(&dispatcher).await.webhooks_delivered, 1);
    let got = rx.on("a");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].id, got[1].id, "a retry keeps its webhook-id");
    let seen = app.execute(&boss, ENDPOINTS, json!({})).await;
    assert!(seen["data"]["webhookEndpoints"][0]["failingSince"].is_null(), "a success clears the failure");
    let event =
        seen["data"]["webhookEndpoints"][0]["deliveries"]["nodes"][0]["event"]["id"].as_str().unwrap().to_owned();
    assert_eq!(event, got[0].id, "webhook-id is the event's id");

    // Sent again on request, with the same id; replayed from an instant.
    let again = mutate(
        &app,
        &boss,
        "mutation($input: RedeliverEventInput!) { redeliverEvent(input: $input) { queued userErrors { code } } }",
        json!({ "eventId": event, "endpointId": endpoint }),
    )
    .await;
    assert_eq!(again["queued"], 1, "{again}");
    run(&dispatcher).await;
    assert_eq!(rx.on("a").len(), 3);
    assert_eq!(rx.on("a")[2].id, event);
    place(&app, &boss, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    run(&dispatcher).await;
    let replay = mutate(
        &app,
        &boss,
        "mutation($input: ReplayEventsInput!) { replayEvents(input: $input) { queued userErrors { code } } }",
        json!({ "endpointId": endpoint, "since": "2026-01-01T00:00:00Z" }),
    )
    .await;
    assert_eq!(replay["queued"], 2, "{replay}");
    run(&dispatcher).await;
    assert_eq!(rx.on("a").len(), 6);
    // Another school's administrator cannot touch it.
    let stranger = customer_admin(&academic(&app, "Stranger School").await);
    let theirs = mutate(
        &app,
        &stranger,
        "mutation($input: RedeliverEventInput!) { redeliverEvent(input: $input) { queued userErrors { code } } }",
        json!({ "eventId": event }),
    )
    .await;
    assert_eq!(user_errors(&theirs), ["NOT_FOUND"]);
}

#[tokio::test]
async fn a_rotation_signs_with_both_secrets_until_the_old_one_retires() {
    let app = open_app().await;
    let (dispatcher, _) = dispatcher(&app);
    let (rx, base) = receiver().await;
    let school = academic(&app, "Rotating School").await;
    let boss = customer_admin(&school);
    let (endpoint, old) = register(&app, &boss, &format!("{base}/a"), json!(["order.placed"])).await;
    let rotated = mutate(
        &app,
        &boss,
        "mutation($input: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $input) {
        secret endpoint { previousSecretValidUntil } userErrors { code } } }",
        json!({ "id": endpoint, "keepPreviousHours": 1 }),
    )
    .await;
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(rotated["endpoint"]["previousSecretValidUntil"].is_string());
    let agreement = academic_year(&app, &school, "SPE-2026-ROTA").await;
    place(&app, &boss, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    run(&dispatcher).await;
    let first = &rx.on("a")[0];
    assert_eq!(first.signature.split(' ').count(), 2, "{}", first.signature);
    assert!(verifies(first, &old) && verifies(first, &new));
    app.clock.set(crate::helpers::default_now() + chrono::Duration::hours(2));
    place(&app, &boss, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    run(&dispatcher).await;
    let second = &rx.on("a")[1];
    assert!(verifies(second, &new) && !verifies(second, &old), "the old secret retired after an hour");
}

#[tokio::test]
async fn an_endpoint_failing_for_five_days_is_turned_off_with_an_event() {
    let app = open_app().await;
    let (dispatcher, _) = dispatcher(&app);
    let (rx, base) = receiver().await;
    rx.status.store(503, Ordering::SeqCst);
    let school = academic(&app, "Down School").await;
    let boss = customer_admin(&school);
    register(&app, &boss, &format!("{base}/a"), json!(["order.placed"])).await;
    let agreement = academic_year(&app, &school, "SPE-2026-DOWN").await;
    // An order a day, every delivery failing: on the fifth day, off.
    let t0 = crate::helpers::default_now();
    for day in 0..=5 {
        app.clock.set(t0 + chrono::Duration::days(day));
        place(&app, &boss, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
        run(&dispatcher).await;
        let enabled = app.execute(&boss, "{ webhookEndpoints { enabled } }", json!({})).await;
        assert_eq!(enabled["data"]["webhookEndpoints"][0]["enabled"], day < 5, "day {day}");
    }
    let seen = app.execute(&boss, ENDPOINTS, json!({})).await;
    let endpoint = &seen["data"]["webhookEndpoints"][0];
    assert_eq!(endpoint["enabled"], false, "{seen}");
    assert!(endpoint["disabledReason"].as_str().unwrap().contains("5 days"));
    let told = app.execute(&boss, "{ events(types: [\"webhook.endpoint_disabled\"]) { totalCount } }", json!({})).await;
    assert_eq!(told["data"]["events"]["totalCount"], 1, "{told}");
}

#[tokio::test]
async fn production_takes_https_to_public_addresses_only() {
    let app = TestApp::spawn().await; // production's policy
    let school = academic(&app, "Strict School").await;
    let boss = customer_admin(&school);
    for (url, code) in [
        ("http://hooks.example.com/lg", "INSECURE_URL"),
        ("https://127.0.0.1/lg", "PRIVATE_ADDRESS"),
        ("https://169.254.169.254/latest", "PRIVATE_ADDRESS"),
        ("https://user:pw@hooks.example.com/", "INVALID_FORMAT"),
    ] {
        let refused = mutate(&app, &boss, CREATE, json!({ "url": url, "eventTypes": [] })).await;
        assert_eq!(user_errors(&refused), [code], "{url}: {refused}");
    }
    let unknown =
        mutate(&app, &boss, CREATE, json!({ "url": "https://hooks.example.com/", "eventTypes": ["order.eaten"] }))
            .await;
    assert_eq!(user_errors(&unknown), ["UNKNOWN_EVENT_TYPE"]);
    let ok =
        mutate(&app, &boss, CREATE, json!({ "url": "https://hooks.example.com/lg", "eventTypes": ["order.placed"] }))
            .await;
    assert_eq!(user_errors(&ok), Vec::<String>::new());
    // A learner may not register one; a desk endpoint is for admins.
    let learner = person("kid@example.edu", &[licensegraph::auth::Role::Learner], school.id);
    let r = app
        .execute(&learner, CREATE, json!({ "input": { "url": "https://hooks.example.com/", "eventTypes": [] } }))
        .await;
    assert_eq!(crate::helpers::error_code(&r), Some("FORBIDDEN"), "{r}");
}

#[tokio::test]
async fn a_page_of_deliveries_with_their_events_and_attempts_costs_a_handful_of_statements() {
    // Nested lists are batched: twenty failed deliveries, each with its
    // event and its attempt, read in a fixed number of statements.
    let app = open_app().await;
    let (dispatcher, _) = dispatcher(&app);
    let (rx, base) = receiver().await;
    rx.status.store(500, Ordering::SeqCst);
    let school = academic(&app, "Batched School").await;
    let boss = customer_admin(&school);
    register(&app, &boss, &format!("{base}/a"), json!(["order.placed"])).await;
    let agreement = academic_year(&app, &school, "SPE-2026-BTCH").await;
    for _ in 0..20 {
        place(&app, &boss, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    }
    assert_eq!(run(&dispatcher).await.webhooks_failed, 20);
    let query =
        "{ webhookEndpoints { deliveries(first: 20) { nodes { event { id type } attempts { statusCode } } } } }";
    let (seen, statements) = app.execute_counting(&boss, query, json!({})).await;
    let nodes = seen["data"]["webhookEndpoints"][0]["deliveries"]["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), 20, "{seen}");
    assert!(nodes.iter().all(|n| n["event"]["type"] == "order.placed" && n["attempts"][0]["statusCode"] == 500));
    assert!(statements <= 6, "{statements} statements for 20 deliveries with their events and attempts");
}

#[tokio::test]
async fn a_delivery_lists_its_latest_fifty_attempts_oldest_first() {
    use entity::webhook_attempt;
    use sea_orm::{ActiveModelTrait, Set};
    let app = open_app().await;
    let (dispatcher, _) = dispatcher(&app);
    let (rx, base) = receiver().await;
    rx.status.store(500, Ordering::SeqCst);
    let school = academic(&app, "Persistent School").await;
    let boss = customer_admin(&school);
    register(&app, &boss, &format!("{base}/a"), json!(["order.placed"])).await;
    let agreement = academic_year(&app, &school, "SPE-2026-FIFT").await;
    place(&app, &boss, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    place(&app, &boss, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    run(&dispatcher).await;
    let deliveries: Vec<i64> = {
        use sea_orm::{EntityTrait, QueryOrder};
        entity::webhook_delivery::Entity::find()
            .order_by_asc(entity::webhook_delivery::Column::Id)
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect()
    };
    // 60 more attempts on the first delivery, told apart by their status.
    for n in 0..60 {
        webhook_attempt::ActiveModel {
            delivery_id: Set(deliveries[0]),
            attempted_at: Set(crate::helpers::default_now()),
            status_code: Set(Some(600 + n)),
            latency_ms: Set(1),
            response_excerpt: Set(String::new()),
            error: Set(None),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
    let found = licensegraph::service::webhooks::attempts_of(&app.db, &deliveries).await.unwrap();
    let first: Vec<i32> =
        found.iter().filter(|a| a.delivery_id == deliveries[0]).map(|a| a.status_code.unwrap()).collect();
    assert_eq!(first, (610..660).collect::<Vec<_>>(), "the latest 50, oldest first");
    assert_eq!(found.iter().filter(|a| a.delivery_id == deliveries[1]).count(), 1);
    let seen = app.execute(&boss, ENDPOINTS, json!({})).await;
    let nodes = seen["data"]["webhookEndpoints"][0]["deliveries"]["nodes"].as_array().unwrap().clone();
    let listed = nodes.iter().map(|n| n["attempts"].as_array().unwrap().len()).max();
    assert_eq!(listed, Some(50), "{seen}");
}

#[tokio::test]
async fn a_stopping_dispatcher_records_the_claim_in_hand_and_takes_no_other() {
    // Draining (docs/deployment.md): on SIGTERM the dispatcher finishes
    // and records the deliveries it is sending, then stops.
    let app = open_app().await;
    let (dispatcher, _) = dispatcher(&app);
    let (rx, base) = receiver().await;
    rx.delay.store(300, Ordering::SeqCst);
    let school = academic(&app, "Draining School").await;
    let boss = customer_admin(&school);
    register(&app, &boss, &format!("{base}/a"), json!(["order.placed"])).await;
    let agreement = academic_year(&app, &school, "SPE-2026-DRAN").await;
    for _ in 0..3 {
        place(&app, &boss, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = Arc::new(dispatcher.stopped_by(stopped)).spawn(std::time::Duration::from_millis(10));
    // The three are in flight (the receiver holds each 300 ms): stop now.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    stop.send(true).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), task).await.expect("stopped").unwrap();
    assert_eq!(rx.on("a").len(), 3, "the claim in hand was sent");
    let delivered =
        app.execute(&boss, "{ webhookEndpoints { deliveries(status: DELIVERED) { totalCount } } }", json!({})).await;
    assert_eq!(delivered["data"]["webhookEndpoints"][0]["deliveries"]["totalCount"], 3, "and recorded: {delivered}");
    // Nothing more is taken once stopped.
    place(&app, &boss, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(rx.on("a").len(), 3);
}
