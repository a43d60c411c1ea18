//! Bulk assignment and people compared by e-mail without case or
//! surrounding spaces, everywhere.

use axum::{
    body::Body,
    http::{Method, Request},
};
use licensegraph::auth::Role;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::{
    fixtures::*,
    helpers::{TestApp, TestResponse, admin, error_code},
};

const ASSIGN_MANY: &str = "mutation($input: AssignCodesInput!) {
    assignCodes(input: $input) { order { id } assigned userErrors { code field message } }
}";
const REDEEM: &str = "mutation($input: RedeemCodeInput!) {
    redeemCode(input: $input) { code { status } userErrors { code } }
}";

async fn assigned_count(app: &TestApp) -> i64 {
    let sql = "SELECT COUNT(*) FROM codes WHERE assignee IS NOT NULL";
    let row = app.db.query_one_raw(Statement::from_string(app.db.get_database_backend(), sql)).await.unwrap();
    row.unwrap().try_get_by_index(0).unwrap()
}

fn codes_of_field(errors: &Value) -> Vec<(String, String)> {
    errors
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let field: Vec<String> =
                e["field"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_owned()).collect();
            (e["code"].as_str().unwrap().to_owned(), field.join("."))
        })
        .collect()
}

/// A class pack of 30 vouchers, fulfilled, at an accredited school.
async fn class_pack(app: &TestApp) -> (Org, String) {
    let school = academic(app, "Bulk School").await;
    let agreement = academic_year(app, &school, "EES-2026-0700").await;
    let order = fulfilled(app, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    (school, order)
}

#[tokio::test]
async fn one_code_each_all_or_none_and_people_are_their_lowercase_trimmed_address() {
    let app = TestApp::spawn().await;
    let (school, order) = class_pack(&app).await;
    let boss = customer_admin(&school);
    let input = json!({ "orderId": order, "assignees": [" Ada@Example.EDU ", "bob@example.edu", "carol@example.edu"] });
    let done = mutate(&app, &boss, ASSIGN_MANY, input).await;
    assert_eq!((done["assigned"].clone(), done["order"]["id"].clone()), (json!(3), json!(order)), "{done}");
    assert_eq!(assigned_count(&app).await, 3);

    // The same person however written: codes(assignee:) finds Ada's code...
    let found = app
        .execute(
            &boss,
            "query($a: String!) { codes(assignee: $a) { nodes { assignee value events { action detail } } } }",
            json!({ "a": "ADA@example.edu" }),
        )
        .await;
    let node = &found["data"]["codes"]["nodes"][0];
    assert_eq!(node["assignee"], "ada@example.edu", "{found}");
    assert_eq!(node["events"][1], json!({ "action": "ASSIGN", "detail": "assigned to ada@example.edu" }));
    let value = node["value"].as_str().unwrap().to_owned();
    // ...and Ada's token, whatever the case of its subject, sees and redeems it.
    let ada = person("Ada@EXAMPLE.edu", &[Role::Learner], school.id);
    let mine = app.execute(&ada, "{ codes { totalCount nodes { value } } }", json!({})).await;
    assert_eq!(mine["data"]["codes"]["nodes"], json!([{ "value": value }]), "{mine}");
    let redeemed = mutate(&app, &ada, REDEEM, json!({ "value": value, "exam": "70-740" })).await;
    assert_eq!(redeemed["code"]["status"], "REDEEMED", "{redeemed}");

    // Anyone who already holds a code of the order, or is listed twice:
    // refused whole, each listed by position; nothing changes.
    let again = json!({ "orderId": order, "assignees": ["dan@example.edu", "BOB@example.edu ", "erin@example.edu", "Dan@example.edu"] });
    let refused = mutate(&app, &boss, ASSIGN_MANY, again).await;
    assert_eq!(refused["assigned"], 0);
    assert_eq!(
        codes_of_field(&refused["userErrors"]),
        vec![("DUPLICATE".to_owned(), "input.assignees.3".to_owned())],
        "duplicates first: {refused}"
    );
    let holders = json!({ "orderId": order, "assignees": ["dan@example.edu", "BOB@example.edu ", "erin@example.edu", "carol@example.edu"] });
    let refused = mutate(&app, &boss, ASSIGN_MANY, holders).await;
    assert_eq!(
        codes_of_field(&refused["userErrors"]),
        vec![
            ("ALREADY_HOLDS_CODE".to_owned(), "input.assignees.1".to_owned()),
            ("ALREADY_HOLDS_CODE".to_owned(), "input.assignees.3".to_owned())
        ],
        "{refused}"
    );
    assert_eq!(assigned_count(&app).await, 3, "all or none");

    // 27 codes left: 28 people are too many; 27 fit exactly.
    let many: Vec<String> = (0..28).map(|i| format!("student{i}@example.edu")).collect();
    let refused = mutate(&app, &boss, ASSIGN_MANY, json!({ "orderId": order, "assignees": many })).await;
    assert_eq!(
        codes_of_field(&refused["userErrors"]),
        vec![("NOT_ENOUGH_CODES".to_owned(), "input.assignees".to_owned())]
    );
    assert_eq!(assigned_count(&app).await, 3);
    let fit: Vec<String> = (0..27).map(|i| format!("student{i}@example.edu")).collect();
    let done = mutate(&app, &boss, ASSIGN_MANY, json!({ "orderId": order, "assignees": fit })).await;
    assert_eq!(done["assigned"], 27, "{done}");
    assert_eq!(assigned_count(&app).await, 30);
}

#[tokio::test]
async fn only_the_owning_administrators_assign_and_another_organization_s_order_is_missing() {
    let app = TestApp::spawn().await;
    let (school, order) = class_pack(&app).await;
    let other = academic(&app, "Other School").await;
    let input = json!({ "orderId": order, "assignees": ["ada@example.edu"] });
    let stranger = mutate(&app, &customer_admin(&other), ASSIGN_MANY, input.clone()).await;
    assert_eq!(codes_of_field(&stranger["userErrors"]), vec![("NOT_FOUND".to_owned(), "input.orderId".to_owned())]);
    let learner = person("ada@example.edu", &[Role::Learner], school.id);
    let answer = app.execute(&learner, ASSIGN_MANY, json!({ "input": input })).await;
    assert_eq!(error_code(&answer), Some("FORBIDDEN"), "{answer}");
    let empty = mutate(&app, &admin(), ASSIGN_MANY, json!({ "orderId": order, "assignees": [] })).await;
    assert_eq!(codes_of_field(&empty["userErrors"]), vec![("OUT_OF_RANGE".to_owned(), "input.assignees".to_owned())]);
    assert_eq!(assigned_count(&app).await, 0);
}

/// Up to 10 000 people in one call, one statement for the codes and one
/// for their events; 10 001 is refused.
#[tokio::test]
async fn ten_thousand_people_in_one_call() {
    let app = TestApp::spawn().await;
    let school = academic(&app, "Big School").await;
    let agreement = academic_year(&app, &school, "EES-2026-0701").await;
    let order = fulfilled(&app, &agreement, "SITE-MOS-MTA-MCE-500", 21, "PRORATED").await;
    let too_many: Vec<String> = (0..10_001).map(|i| format!("p{i}@example.edu")).collect();
    let refused = mutate(&app, &admin(), ASSIGN_MANY, json!({ "orderId": order, "assignees": too_many })).await;
    assert_eq!(codes_of_field(&refused["userErrors"]), vec![("OUT_OF_RANGE".to_owned(), "input.assignees".to_owned())]);
    let people: Vec<String> = (0..10_000).map(|i| format!("p{i}@example.edu")).collect();
    let done = mutate(&app, &admin(), ASSIGN_MANY, json!({ "orderId": order, "assignees": people })).await;
    assert_eq!(done["assigned"], 10_000, "{}", done["userErrors"]);
    assert_eq!(assigned_count(&app).await, 10_000);
    let sql = "SELECT COUNT(*) FROM code_events WHERE action = 'ASSIGN'";
    let row = app.db.query_one_raw(Statement::from_string(app.db.get_database_backend(), sql)).await.unwrap();
    assert_eq!(row.unwrap().try_get_by_index::<i64>(0).unwrap(), 10_000);
}

async fn post_csv(app: &TestApp, order: &str, token: &str, csv: &str) -> TestResponse {
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/orders/{order}/assignments"))
        .header("content-type", "text/csv; charset=utf-8")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(csv.to_owned()))
        .unwrap();
    app.http(request).await
}

#[tokio::test]
async fn the_same_over_http_as_a_csv() {
    let app = TestApp::spawn().await;
    let (school, order) = class_pack(&app).await;
    let token = app.token("boss@example.edu", &[Role::CustomerAdmin], Some(school.id));
    let done = post_csv(&app, &order, &token, "Email\r\nada@example.edu\r\n\"Bob@Example.edu\",Bob\r\n\r\n").await;
    assert_eq!((done.status.as_u16(), done.body["assigned"].clone()), (200, json!(2)), "{}", done.text);
    let refused = post_csv(&app, &order, &token, "email\ncarol@example.edu\nBOB@example.edu\n").await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(refused.body["userErrors"][0]["code"], "ALREADY_HOLDS_CODE");
    assert_eq!(refused.body["userErrors"][0]["field"], json!(["input", "assignees", "1"]));
    assert_eq!(assigned_count(&app).await, 2);
    let other = academic(&app, "Elsewhere").await;
    let stranger = app.token("eve@example.edu", &[Role::CustomerAdmin], Some(other.id));
    assert_eq!(post_csv(&app, &order, &stranger, "x@example.edu").await.status, 404);
    let learner = app.token("ada@example.edu", &[Role::Learner], Some(school.id));
    assert_eq!(post_csv(&app, &order, &learner, "x@example.edu").await.status, 403);
    let mut json = Request::builder()
        .method(Method::POST)
        .uri(format!("/orders/{order}/assignments"))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"));
    json = json.header("accept", "application/json");
    assert_eq!(app.http(json.body(Body::from("[]")).unwrap()).await.status, 415);
}

/// Codes assigned before people were kept lowercase (" Ada@Contoso.edu")
/// are rewritten by migration 000009 and reach their person again.
#[tokio::test]
async fn assignees_stored_in_their_old_case_are_rewritten_and_reachable() {
    use migration::MigrationTrait;
    let app = TestApp::spawn().await;
    let (school, order) = class_pack(&app).await;
    let boss = customer_admin(&school);
    let input = json!({ "orderId": order, "assignees": ["ada@contoso.edu", "bob@contoso.edu"] });
    assert_eq!(mutate(&app, &boss, ASSIGN_MANY, input).await["assigned"], 2);
    // As the server before this change would have stored them.
    let backend = app.db.get_database_backend();
    for (old, new) in [(" Ada@Contoso.EDU ", "ada@contoso.edu"), ("ÉLODIE@Contoso.edu", "bob@contoso.edu")] {
        let sql = if backend == sea_orm::DbBackend::Postgres {
            "UPDATE codes SET assignee = $1 WHERE assignee = $2"
        } else {
            "UPDATE codes SET assignee = ?1 WHERE assignee = ?2"
        };
        app.db.execute_raw(Statement::from_sql_and_values(backend, sql, [old.into(), new.into()])).await.unwrap();
    }
    let elodie = person("élodie@contoso.edu", &[Role::Learner], school.id);
    let mine = || app.execute(&elodie, "{ codes { totalCount } }", json!({}));
    assert_eq!(mine().await["data"]["codes"]["totalCount"], 0, "out of reach before the migration");
    let manager = migration::SchemaManager::new(&app.db);
    migration::m20261130_000009_people_lowercase::Migration.up(&manager).await.unwrap();
    assert_eq!(mine().await["data"]["codes"]["totalCount"], 1);
    let ada = app.execute(&boss, "{ codes(assignee: \"ADA@contoso.edu\") { nodes { assignee } } }", json!({})).await;
    assert_eq!(ada["data"]["codes"]["nodes"], json!([{ "assignee": "ada@contoso.edu" }]), "{ada}");
}
