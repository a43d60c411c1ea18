//! Builders for the order and code tests, all through GraphQL, so that every
//! fixture exercises the same paths a client does.

use licensegraph::{auth::Role, auth::Viewer, id};
use serde_json::{Value, json};

use crate::helpers::{TestApp, admin};

/// A viewer acting as `sub` with `roles` for organization `org`.
pub fn person(sub: &str, roles: &[Role], org: i64) -> Viewer {
    Viewer { subject: Some(sub.into()), roles: roles.iter().copied().collect(), organization_id: Some(org) }
}

/// The row id behind a global id.
pub fn row(global: &Value) -> i64 {
    id::decode(global.as_str().expect("an id")).expect("a global id").1
}

/// Runs a mutation and returns its payload, asserting there was no GraphQL error.
pub async fn mutate(app: &TestApp, viewer: &Viewer, query: &str, input: Value) -> Value {
    let response = app.execute(viewer, query, json!({ "input": input })).await;
    assert!(response["errors"].is_null(), "{response}");
    let data = response["data"].as_object().expect("data");
    data.values().next().expect("one payload").clone()
}

/// The codes of the user errors in a payload.
pub fn user_errors(payload: &Value) -> Vec<String> {
    payload["userErrors"]
        .as_array()
        .expect("userErrors")
        .iter()
        .map(|e| e["code"].as_str().expect("code").to_owned())
        .collect()
}

pub struct Org {
    pub id: i64,
    pub gid: String,
}

/// Creates an organization as admin.
pub async fn organization(app: &TestApp, input: Value) -> Org {
    let payload = mutate(
        app,
        &admin(),
        "mutation($input: CreateOrganizationInput!) {
            createOrganization(input: $input) { organization { id } userErrors { code field message } }
        }",
        input,
    )
    .await;
    assert_eq!(user_errors(&payload), Vec::<String>::new(), "{payload}");
    let gid = payload["organization"]["id"].clone();
    Org { id: row(&gid), gid: gid.as_str().expect("id").to_owned() }
}

/// An accredited academic Certiport testing center.
pub async fn academic(app: &TestApp, name: &str) -> Org {
    organization(app, json!({ "name": name, "kind": "ACADEMIC", "accredited": true, "certiportTestingCenter": true }))
        .await
}

/// Creates an agreement as admin; returns its global id.
pub async fn agreement(app: &TestApp, org: &Org, program: &str, number: &str, starts: &str, ends: &str) -> String {
    let payload = mutate(
        app,
        &admin(),
        "mutation($input: CreateAgreementInput!) {
            createAgreement(input: $input) { agreement { id } userErrors { code field message } }
        }",
        json!({
            "organizationId": org.gid, "programCode": program, "number": number,
            "startsOn": starts, "endsOn": ends, "noticeContact": "licensing@example.edu"
        }),
    )
    .await;
    assert_eq!(user_errors(&payload), Vec::<String>::new(), "{payload}");
    payload["agreement"]["id"].as_str().expect("id").to_owned()
}

pub const PLACE: &str = "mutation($input: PlaceOrderInput!) {
    placeOrder(input: $input) {
        order { id status term quantity startsOn endsOn
                pricing { listPrice { cents currency } monthsCharged discountPercent
                          unitPrice { cents } total { cents } explanation } }
        userErrors { code field message }
    }
}";

/// Places an order; returns the payload.
pub async fn place(app: &TestApp, viewer: &Viewer, agreement: &str, sku: &str, quantity: i32, term: &str) -> Value {
    let input = json!({ "agreementId": agreement, "packageSku": sku, "quantity": quantity, "term": term });
    mutate(app, viewer, PLACE, input).await
}

/// Runs one admin step (`confirmOrder`, `invoiceOrder`, `fulfillOrder`).
pub async fn step(app: &TestApp, mutation: &str, order: &str) -> Value {
    let query = format!(
        "mutation($input: OrderStepInput!) {{ {mutation}(input: $input) {{
            order {{ id status deliveredTo }} userErrors {{ code field message }} }} }}"
    );
    mutate(app, &admin(), &query, json!({ "id": order })).await
}

/// Places, confirms, invoices and fulfils an order as admin; returns its id.
pub async fn fulfilled(app: &TestApp, agreement: &str, sku: &str, quantity: i32, term: &str) -> String {
    let placed = place(app, &admin(), agreement, sku, quantity, term).await;
    assert_eq!(user_errors(&placed), Vec::<String>::new(), "{placed}");
    let order = placed["order"]["id"].as_str().expect("id").to_owned();
    for mutation in ["confirmOrder", "invoiceOrder", "fulfillOrder"] {
        let payload = step(app, mutation, &order).await;
        assert_eq!(user_errors(&payload), Vec::<String>::new(), "{mutation}: {payload}");
    }
    order
}

/// The first `n` codes of an order, as admin: `(id, value)`.
pub async fn codes_of(app: &TestApp, order: &str, n: i32) -> Vec<(String, String)> {
    let response = app
        .execute(
            &admin(),
            "query($order: ID!, $n: Int!) { codes(orderId: $order, first: $n) { nodes { id value } } }",
            json!({ "order": order, "n": n }),
        )
        .await;
    response["data"]["codes"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|c| (c["id"].as_str().expect("id").to_owned(), c["value"].as_str().expect("value").to_owned()))
        .collect()
}

pub const ASSIGN: &str = "mutation($input: AssignCodeInput!) {
    assignCode(input: $input) { code { id status assignee } userErrors { code field message } }
}";

pub const REDEEM: &str = "mutation($input: RedeemCodeInput!) {
    redeemCode(input: $input) { code { id status exam redeemedAt } userErrors { code field message } }
}";

pub const ACTIVATE: &str = "mutation($input: ActivateCodeInput!) {
    activateCode(input: $input) {
        code { id status tenant seats activationsLeft activatedAt } userErrors { code field message }
    }
}";

/// An academic agreement for `org` from 2026-07-01 to 2027-06-30, under
/// Select Plus for Education: unlike EES, it brings no Imagine Academy
/// grant, so a test's orders and codes are all its own.
pub async fn academic_year(app: &TestApp, org: &Org, number: &str) -> String {
    agreement(app, org, "SELECT_PLUS_EDU", number, "2026-07-01", "2027-06-30").await
}

/// The roles that may act on their own organization's codes.
pub fn customer_admin(org: &Org) -> Viewer {
    person("boss@example.edu", &[Role::CustomerAdmin], org.id)
}

/// `count` (at most 30) vouchers of one class pack, each assigned to its
/// own learner: `(value, learner, organization row)`.
pub async fn assigned_vouchers(app: &TestApp, count: i32) -> Vec<(String, String, i64)> {
    let school = academic(app, "Group School").await;
    let agreement = academic_year(app, &school, "EES-2026-0300").await;
    let order = fulfilled(app, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    let mut vouchers = Vec::new();
    let codes = codes_of(app, &order, count).await;
    assert_eq!(codes.len(), count as usize, "a class pack has 30 vouchers");
    for (i, (id, value)) in codes.into_iter().enumerate() {
        let learner = format!("learner{i}");
        let payload = mutate(app, &customer_admin(&school), ASSIGN, json!({ "codeId": id, "assignee": learner })).await;
        assert_eq!(user_errors(&payload), Vec::<String>::new(), "{payload}");
        vouchers.push((value, learner, school.id));
    }
    vouchers
}

/// A learner's own redemption of one of [`assigned_vouchers`], for exam
/// 70-740 at the tests' default instant, as the redemption group takes it.
pub fn own_redemption(
    (value, subject, organization): &(String, String, i64),
) -> licensegraph::service::redemptions::OwnVoucher {
    licensegraph::service::redemptions::OwnVoucher {
        value: value.clone(),
        subject: subject.clone(),
        organization: *organization,
        exam: "70-740".into(),
        now: crate::helpers::default_now(),
    }
}
