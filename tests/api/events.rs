//! The outbox (notices and events): each change writes its event in its
//! own transaction, so an event exists exactly when its change does; an
//! organization's administrators read their own events, no one else's;
//! events carry ids and non-secret fields, never a code's value.

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::{
    fixtures::*,
    helpers::{TestApp, admin},
    memberships::{ENROLL, partner},
};

const EVENTS: &str = "query($org: ID, $subject: ID) { events(organizationId: $org, subjectId: $subject, first: 50) {
    totalCount nodes { id type subjectType subjectId organizationId occurredAt data } } }";

async fn events(app: &TestApp, viewer: &licensegraph::auth::Viewer, org: Option<&str>, subject: Option<&str>) -> Value {
    let r = app.execute(viewer, EVENTS, json!({ "org": org, "subject": subject })).await;
    assert!(r["errors"].is_null(), "{r}");
    r["data"]["events"].clone()
}

fn types(events: &Value) -> Vec<String> {
    events["nodes"].as_array().expect("nodes").iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn an_orders_life_writes_one_event_per_step_for_its_organization_only() {
    let app = TestApp::spawn().await;
    let school = academic(&app, "Evented School").await;
    let agreement = academic_year(&app, &school, "SPE-2026-EV01").await;
    let placed = place(&app, &customer_admin(&school), &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    let order = placed["order"]["id"].as_str().expect("order id").to_owned();
    for mutation in ["confirmOrder", "invoiceOrder", "fulfillOrder"] {
        let payload = step(&app, mutation, &order).await;
        assert_eq!(user_errors(&payload), Vec::<String>::new(), "{mutation}: {payload}");
    }
    // A refused step writes nothing.
    let again = step(&app, "confirmOrder", &order).await;
    assert!(!user_errors(&again).is_empty());

    let mine = events(&app, &customer_admin(&school), None, Some(&order)).await;
    assert_eq!(types(&mine), vec!["order.placed", "order.confirmed", "order.invoiced", "order.fulfilled"], "{mine}");
    let fulfilled = &mine["nodes"][3];
    assert_eq!(fulfilled["subjectType"], "Order");
    assert_eq!(fulfilled["subjectId"], json!(order));
    assert_eq!(fulfilled["organizationId"], json!(school.gid));
    assert_eq!(fulfilled["data"]["order"], json!(order));
    assert_eq!(fulfilled["data"]["agreement"], json!(agreement));
    assert_eq!(
        (fulfilled["data"]["status"].clone(), fulfilled["data"]["codes"].clone()),
        (json!("FULFILLED"), json!(30))
    );
    // Ids are stable and distinct.
    let ids: std::collections::HashSet<_> = mine["nodes"].as_array().unwrap().iter().map(|e| e["id"].clone()).collect();
    assert_eq!(ids.len(), 4);
    // No code value appears in any event.
    let codes = codes_of(&app, &order, 30).await;
    let text = mine.to_string();
    assert!(codes.iter().all(|(_, value)| !text.contains(value.as_str())), "a code value leaked into an event");

    // Another school's administrator, a learner of this school, an anonymous caller: nothing.
    let other = academic(&app, "Quiet School").await;
    assert_eq!(events(&app, &customer_admin(&other), None, Some(&order)).await["totalCount"], 0);
    assert_eq!(events(&app, &customer_admin(&other), Some(&school.gid), None).await["totalCount"], 0);
    let learner = person("ada@evented.example", &[licensegraph::auth::Role::Learner], school.id);
    assert_eq!(events(&app, &learner, None, None).await["totalCount"], 0);
    // The desk sees them all.
    assert_eq!(events(&app, &admin(), Some(&school.gid), None).await["totalCount"], 4);
}

#[tokio::test]
async fn memberships_write_their_events_and_the_outbox_cannot_be_edited() {
    let app = TestApp::spawn().await;
    let (org, pa) = partner(&app, "Evented Partner", "PGA-EVENTS").await;
    let enrolled = mutate(&app, &pa, ENROLL, json!({ "organizationId": org.gid, "offer": "ACTION_PACK" })).await;
    assert_eq!(user_errors(&enrolled), Vec::<String>::new(), "{enrolled}");
    let seen = events(&app, &pa, None, None).await;
    assert_eq!(types(&seen), vec!["membership.enrolled"], "{seen}");
    assert_eq!(seen["nodes"][0]["data"]["offer"], "ACTION_PACK");
    // A refused enrolment (one ACTION_PACK per account, R-24) writes no event.
    let twice = mutate(&app, &pa, ENROLL, json!({ "organizationId": org.gid, "offer": "ACTION_PACK" })).await;
    assert_eq!(user_errors(&twice), vec!["ACTION_PACK_TAKEN"]);
    assert_eq!(events(&app, &pa, None, None).await["totalCount"], 1);
    // Append-only, in the database itself.
    use sea_orm::ConnectionTrait;
    for sql in ["UPDATE events SET type = 'order.placed'", "DELETE FROM events"] {
        assert!(app.db.execute_unprepared(sql).await.is_err(), "{sql} must fail");
    }
    assert_eq!(events(&app, &admin(), None, None).await["totalCount"], 1);
}

pub fn at(y: i32, m: u32, d: u32) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc.with_ymd_and_hms(y, m, d, 9, 0, 0).unwrap()
}

async fn of_types(app: &TestApp, viewer: &licensegraph::auth::Viewer, kinds: &[&str]) -> Vec<Value> {
    let q = "query($types: [String!]) { events(types: $types, first: 100) { nodes { type subjectId data } } }";
    let r = app.execute(viewer, q, json!({ "types": kinds })).await;
    assert!(r["errors"].is_null(), "{r}");
    r["data"]["events"]["nodes"].as_array().expect("nodes").clone()
}

/// The renewal-window events the partner administrator sees, by type.
async fn window_types(app: &TestApp, viewer: &licensegraph::auth::Viewer) -> Vec<String> {
    let kinds = ["membership.window_opened", "membership.window_closing", "membership.expired"];
    of_types(app, viewer, &kinds).await.iter().map(|e| e["type"].as_str().unwrap_or_default().to_owned()).collect()
}

async fn tick(app: &TestApp, now: chrono::DateTime<chrono::Utc>) -> u64 {
    licensegraph::service::schedule::tick(&app.db, now).await.expect("tick")
}

#[tokio::test]
async fn time_driven_events_are_enqueued_once_on_their_day_and_caught_up_after_downtime() {
    let app = TestApp::spawn().await;
    // bought 2025-11-01, anniversary 2026-11-01, window 2026-11-02 ..= 2026-12-01.
    let (org, pa) = partner(&app, "Timely Partner", "PGA-TIMELY").await;
    app.clock.set(at(2025, 11, 1));
    mutate(&app, &pa, ENROLL, json!({ "organizationId": org.gid, "offer": "ACTION_PACK" })).await;
    tick(&app, at(2026, 11, 1)).await;
    assert!(window_types(&app, &pa).await.is_empty(), "nothing on the anniversary itself");
    tick(&app, at(2026, 11, 2)).await;
    assert_eq!(window_types(&app, &pa).await, vec!["membership.window_opened"]);
    tick(&app, at(2026, 11, 23)).await;
    assert_eq!(window_types(&app, &pa).await, vec!["membership.window_opened"], "8 days before the last day: not yet");
    tick(&app, at(2026, 11, 24)).await;
    tick(&app, at(2026, 11, 24)).await;
    assert_eq!(window_types(&app, &pa).await, vec!["membership.window_opened", "membership.window_closing"]);
    tick(&app, at(2026, 12, 1)).await;
    assert_eq!(window_types(&app, &pa).await.len(), 2, "the window's last day: not expired yet");
    tick(&app, at(2026, 12, 2)).await;
    assert_eq!(
        window_types(&app, &pa).await,
        vec!["membership.window_opened", "membership.window_closing", "membership.expired"]
    );
    // Down the whole window: the first run after catches up, once.
    let (late, late_pa) = partner(&app, "Sleepy Partner", "PGA-SLEEPY").await;
    app.clock.set(at(2025, 10, 1));
    mutate(&app, &late_pa, ENROLL, json!({ "organizationId": late.gid, "offer": "ACTION_PACK" })).await;
    let first = tick(&app, at(2026, 12, 5)).await;
    assert_eq!(tick(&app, at(2026, 12, 5)).await, 0, "a second run enqueues nothing");
    let caught = events(&app, &late_pa, None, None).await;
    assert_eq!(
        types(&caught),
        vec![
            "membership.enrolled",
            "membership.renewal_due",
            "membership.window_opened",
            "membership.window_closing",
            "membership.expired"
        ]
    );
    assert!(first >= 4);
}

#[tokio::test]
async fn late_orders_and_expiring_codes_are_announced_once() {
    let app = TestApp::spawn().await; // 2026-11-21 09:30
    let school = academic(&app, "Late School").await;
    let agreement = academic_year(&app, &school, "SPE-2026-LATE").await; // ends 2027-06-30
    let waiting = place(&app, &customer_admin(&school), &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    let waiting = waiting["order"]["id"].as_str().unwrap().to_owned();
    let delivered = fulfilled(&app, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    let admin_of_school = customer_admin(&school);
    // confirmation is due 48 hours after placement.
    use chrono::Duration;
    let placed = crate::helpers::default_now();
    tick(&app, placed + Duration::hours(48)).await;
    assert!(of_types(&app, &admin_of_school, &["order.late"]).await.is_empty(), "due, not late, at 48 hours");
    tick(&app, placed + Duration::hours(48) + Duration::minutes(1)).await;
    tick(&app, placed + Duration::hours(72)).await;
    let announced = of_types(&app, &admin_of_school, &["order.late"]).await;
    assert_eq!(announced.len(), 1, "{announced:?}");
    assert_eq!(
        (announced[0]["subjectId"].clone(), announced[0]["data"]["waitingFor"].clone()),
        (json!(waiting), json!("confirmation"))
    );
    // The delivered order's 30 unused vouchers end on 2027-06-30 (the agreement's end, R-18): announced from 2027-05-31.
    tick(&app, at(2027, 5, 30)).await;
    assert!(of_types(&app, &admin_of_school, &["codes.expiring"]).await.is_empty(), "31 days before: not yet");
    tick(&app, at(2027, 5, 31)).await;
    tick(&app, at(2027, 6, 15)).await;
    let announced = of_types(&app, &admin_of_school, &["codes.expiring"]).await;
    assert_eq!(announced.len(), 1, "{announced:?}");
    assert_eq!(announced[0]["subjectId"], json!(agreement));
    assert_eq!(
        (announced[0]["data"]["expiresOn"].clone(), announced[0]["data"]["unusedCodes"].clone()),
        (json!("2027-06-30"), json!(30))
    );
    let _ = delivered;
    // Another school's administrator sees none of it.
    let other = academic(&app, "Unrelated School").await;
    assert_eq!(events(&app, &customer_admin(&other), None, None).await["totalCount"], 0);
}

#[tokio::test]
async fn a_redemptions_event_is_the_same_whichever_writer_wrote_it() {
    // A learner's own redemption goes through the redemption
    // group, which writes its `code.redeemed` events itself (in one
    // statement, on both engines) and names them in the code's history; the desk's
    // redemption on someone's behalf goes the long way, whose history row
    // names none, so the copy trigger writes its event. Both events read
    // alike, and the trigger copies exactly the rows that name no event.
    use licensegraph::auth::Role;
    let app = TestApp::spawn().await;
    let school = academic(&app, "Twin School").await;
    let agreement = academic_year(&app, &school, "EES-2026-0200").await;
    let order = fulfilled(&app, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    let codes = codes_of(&app, &order, 2).await;
    for (id, _) in &codes {
        let payload = mutate(&app, &customer_admin(&school), ASSIGN, json!({ "codeId": id, "assignee": "ada" })).await;
        assert_eq!(user_errors(&payload), Vec::<String>::new(), "{payload}");
    }
    let redeem = |value: &str| json!({ "value": value, "exam": "70-740" });
    let own = mutate(&app, &person("ada", &[Role::Learner], school.id), REDEEM, redeem(&codes[0].1)).await;
    let desk = mutate(&app, &person("desk", &[Role::Admin], school.id), REDEEM, redeem(&codes[1].1)).await;
    assert_eq!((&own["code"]["status"], &desk["code"]["status"]), (&json!("REDEEMED"), &json!("REDEEMED")));

    let mut read = Vec::new();
    for (id, _) in &codes {
        let all = events(&app, &customer_admin(&school), None, Some(id)).await;
        assert_eq!(types(&all), vec!["code.assigned", "code.redeemed"], "{all}");
        let mut event = all["nodes"][1].clone();
        assert_eq!(event["subjectType"], "Code");
        assert_eq!(event["organizationId"], json!(school.gid));
        assert_eq!(event["data"]["code"], json!(id));
        let history = app
            .execute(
                &admin(),
                "query($id: ID!) { node(id: $id) { ... on Code { events { action at } } } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(history["data"]["node"]["events"][2]["action"], "REDEEM", "{history}");
        assert_eq!(event["occurredAt"], history["data"]["node"]["events"][2]["at"], "{event} {history}");
        for varies in ["id", "subjectId", "occurredAt"] {
            event[varies] = Value::Null;
        }
        event["data"]["code"] = Value::Null;
        read.push(event);
    }
    assert_eq!(read[0], read[1], "the group's event and the trigger's");
    assert_eq!(
        read[0]["data"],
        json!({ "status": "REDEEMED", "previousStatus": "ASSIGNED", "kind": "EXAM_VOUCHER", "code": null })
    );

    // As stored: one JSON text for both, and each at its history's instant.
    let texts = "SELECT count(DISTINCT data) FROM events WHERE type = 'code.redeemed'";
    assert_eq!(app.number(texts).await, Some(1), "the two events' data, as text");
    let timed = "SELECT count(*) FROM events e JOIN code_events ce ON ce.code_id = e.subject_id \
         AND ce.action = 'REDEEM' WHERE e.type = 'code.redeemed' AND e.occurred_at = ce.at";
    assert_eq!(app.number(timed).await, Some(2), "each event at its redemption's stored instant");

    // The group's history row names its event; the long way's names none.
    let named = |value: &str| {
        format!(
            "SELECT ce.event_id FROM code_events ce JOIN codes c ON c.id = ce.code_id \
             WHERE c.value = '{value}' AND ce.action = 'REDEEM'"
        )
    };
    let written = |value: &str| {
        format!(
            "SELECT e.id FROM events e JOIN codes c ON c.id = e.subject_id \
             WHERE e.subject_type = 'Code' AND e.type = 'code.redeemed' AND c.value = '{value}'"
        )
    };
    let group_event = app.number(&written(&codes[0].1)).await;
    assert!(group_event.is_some(), "the group's event");
    assert_eq!(app.number(&named(&codes[0].1)).await, group_event);
    assert_eq!(app.number(&named(&codes[1].1)).await, None);

    // The trigger skips a history row that names an event and copies one
    // that names none.
    let count = "SELECT count(*) FROM events";
    let before = app.number(count).await.unwrap_or_default();
    let revoke = |event: &str| {
        format!(
            "INSERT INTO code_events (code_id, at, actor, action, from_status, to_status, detail, event_id) \
             SELECT id, redeemed_at, 'desk', 'REVOKE', 'REDEEMED', 'REVOKED', 'test', {event} FROM codes \
             WHERE value = '{}'",
            codes[1].1
        )
    };
    let named_event = group_event.expect("the group's event").to_string();
    app.db.execute_unprepared(&revoke(&named_event)).await.expect("a row naming an event");
    assert_eq!(app.number(count).await, Some(before), "a row naming its event is not copied");
    app.db.execute_unprepared(&revoke("NULL")).await.expect("a row naming none");
    assert_eq!(app.number(count).await, Some(before + 1), "a row naming no event is copied");
    let revoked = app.number("SELECT count(*) FROM events WHERE type = 'code.revoked'").await;
    assert_eq!(revoked, Some(1));
}
