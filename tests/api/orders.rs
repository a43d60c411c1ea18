//! Organizations, agreements and orders (R-2 .. ).

use chrono::{TimeZone, Utc};
use licensegraph::auth::Role;
use sea_orm::{ConnectionTrait, DbBackend};
use serde_json::{Value, json};
use std::time::Duration;

use crate::{
    fixtures::*,
    helpers::{TestApp, admin, error_code},
};

/// R-5 (corrected): a prorated order runs to the agreement's end and is
/// charged every started month, more than 12 if so; `monthsLeft` agrees.
#[tokio::test]
async fn a_prorated_order_runs_to_the_agreement_end_however_many_months() {
    let app = TestApp::spawn().await;
    let school = academic(&app, "Long Agreement School").await;
    let agreement = agreement(&app, &school, "SELECT_PLUS_EDU", "EES-2026-0500", "2026-01-01", "2028-12-31").await;
    app.clock.set(Utc.with_ymd_and_hms(2027, 3, 15, 10, 0, 0).unwrap());
    let placed = place(&app, &admin(), &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    assert_eq!(user_errors(&placed), Vec::<String>::new(), "{placed}");
    let order = &placed["order"];
    assert_eq!((order["startsOn"].as_str(), order["endsOn"].as_str()), (Some("2027-03-15"), Some("2028-12-31")));
    assert_eq!(order["pricing"]["monthsCharged"], 22);
    // 3 000.00 x 22 / 12 = 5 500.00.
    assert_eq!(order["pricing"]["unitPrice"]["cents"], 550_000);
    let left = app
        .execute(
            &admin(),
            "query($id: ID!) { node(id: $id) { ... on Agreement { monthsLeft } } }",
            json!({ "id": agreement }),
        )
        .await;
    assert_eq!(left["data"]["node"]["monthsLeft"], 22, "{left}");
    // From the first of the next month: 21.
    app.clock.set(Utc.with_ymd_and_hms(2027, 4, 1, 0, 0, 0).unwrap());
    let placed = place(&app, &admin(), &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    assert_eq!(placed["order"]["pricing"]["monthsCharged"], 21, "{placed}");
    assert_eq!(placed["order"]["endsOn"], "2028-12-31");
}

/// R-11 worklist: `orders(late: true)` is exactly the orders whose `late`
/// says so, to the hour and across a weekend.
#[tokio::test]
async fn late_orders_are_listed_on_the_day_they_become_late() {
    let app = TestApp::spawn().await;
    let school = academic(&app, "Late School").await;
    let agreement = academic_year(&app, &school, "EES-2026-0800").await;
    // Saturday 2026-11-21 09:30: one order placed, one invoiced.
    let placed = place(&app, &admin(), &agreement, "CLASS-MCP-30", 1, "PRORATED").await["order"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let invoiced = place(&app, &admin(), &agreement, "CLASS-MCP-30", 2, "PRORATED").await["order"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    step(&app, "confirmOrder", &invoiced).await;
    step(&app, "invoiceOrder", &invoiced).await;
    let listed = |late: bool| {
        let app = &app;
        async move {
            let answer = app
                .execute(
                    &admin(),
                    "query($l: Boolean) { orders(late: $l) { nodes { id late } } }",
                    json!({ "l": late }),
                )
                .await;
            let nodes = answer["data"]["orders"]["nodes"].as_array().cloned().unwrap_or_default();
            assert!(nodes.iter().all(|n| n["late"] == late), "{answer}");
            nodes.iter().map(|n| n["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(true).await, Vec::<String>::new());
    // 48 hours after placement: Monday 09:30 exactly is still on time.
    app.clock.set(Utc.with_ymd_and_hms(2026, 11, 23, 9, 30, 0).unwrap());
    assert_eq!(listed(true).await, Vec::<String>::new());
    app.clock.set(Utc.with_ymd_and_hms(2026, 11, 23, 9, 31, 0).unwrap());
    assert_eq!(listed(true).await, vec![placed.clone()]);
    // Invoiced on a Saturday: the 10th business day is Friday 2026-12-04.
    app.clock.set(Utc.with_ymd_and_hms(2026, 12, 4, 23, 59, 0).unwrap());
    assert_eq!(listed(true).await, vec![placed.clone()]);
    assert_eq!(listed(false).await, vec![invoiced.clone()]);
    app.clock.set(Utc.with_ymd_and_hms(2026, 12, 5, 0, 0, 0).unwrap());
    assert_eq!(listed(true).await, vec![placed.clone(), invoiced.clone()]);
    assert_eq!(listed(false).await, Vec::<String>::new());
}

#[tokio::test]
async fn the_whole_journey_from_agreement_to_a_redeemed_voucher_works_through_graphql() {
    let app = TestApp::spawn().await;
    // Admin records a reseller and an accredited academic testing center it serves.
    let reseller = organization(
        &app,
        json!({ "name": "Northwind Learning", "kind": "PARTNER", "partnerGlobalAccount": "PGA-100" }),
    )
    .await;
    let school = organization(
        &app,
        json!({ "name": "Contoso University", "kind": "ACADEMIC", "accredited": true,
                "certiportTestingCenter": true, "resellerIds": [reseller.gid] }),
    )
    .await;
    let agreement = academic_year(&app, &school, "EES-2026-0001").await;

    // The reseller places a prorated order for a site pack: on
    // 2026-11-21, Nov (started) .. Jun = 8 months of 7 500.00 = 5 000.00.
    let shop = person("sales@northwind.example", &[Role::Reseller], reseller.id);
    let placed = place(&app, &shop, &agreement, "SITE-MTA-MOS-MCE-125", 1, "PRORATED").await;
    assert_eq!(user_errors(&placed), Vec::<String>::new(), "{placed}");
    let order = &placed["order"];
    assert_eq!(order["status"], "PLACED");
    assert_eq!(order["pricing"]["monthsCharged"], 8);
    assert_eq!(order["pricing"]["total"]["cents"], 500_000);
    assert_eq!(order["endsOn"], "2027-06-30");
    let order_id = order["id"].as_str().unwrap().to_owned();

    // Admin confirms, invoices and fulfils it: 125 vouchers.
    assert_eq!(step(&app, "confirmOrder", &order_id).await["order"]["status"], "CONFIRMED");
    assert_eq!(step(&app, "invoiceOrder", &order_id).await["order"]["status"], "INVOICED");
    let fulfilled = step(&app, "fulfillOrder", &order_id).await;
    assert_eq!(fulfilled["order"]["status"], "FULFILLED");
    assert_eq!(fulfilled["order"]["deliveredTo"], "licensing@example.edu");

    // The customer admin sees the codes, with their values, and assigns one.
    let boss = customer_admin(&school);
    let listed = app
        .execute(
            &boss,
            "query($o: ID!) { orders { totalCount } codes(orderId: $o, first: 1) { totalCount nodes { id value status } } }",
            json!({ "o": order_id }),
        )
        .await;
    assert_eq!(listed["data"]["orders"]["totalCount"], 1, "{listed}");
    assert_eq!(listed["data"]["codes"]["totalCount"], 125);
    let code = &listed["data"]["codes"]["nodes"][0];
    let (code_id, value) = (code["id"].as_str().unwrap(), code["value"].as_str().unwrap());
    let assigned = mutate(&app, &boss, ASSIGN, json!({ "codeId": code_id, "assignee": "ada@contoso.edu" })).await;
    assert_eq!(assigned["code"]["status"], "ASSIGNED", "{assigned}");

    // The learner redeems it; a second redemption fails.
    let ada = person("ada@contoso.edu", &[Role::Learner], school.id);
    let input = json!({ "value": value, "exam": "MO-100" });
    let redeemed = mutate(&app, &ada, REDEEM, input.clone()).await;
    assert_eq!(redeemed["code"]["status"], "REDEEMED", "{redeemed}");
    assert_eq!(redeemed["code"]["exam"], "MO-100");
    let again = mutate(&app, &ada, REDEEM, input).await;
    assert_eq!(user_errors(&again), vec!["ALREADY_REDEEMED"]);
}

#[tokio::test]
async fn a_twelve_month_order_is_refused_when_fewer_than_twelve_months_are_left() {
    // the agreement ends 2027-06-30; a 12-month order from 2026-11-21 would end 2027-11-20.
    let app = TestApp::spawn().await;
    let school = academic(&app, "Fabrikam College").await;
    let agreement = academic_year(&app, &school, "EES-2026-0002").await;
    let refused = place(&app, &admin(), &agreement, "CLASS-MCP-30", 1, "TWELVE_MONTHS").await;
    assert_eq!(user_errors(&refused), vec!["TERM_EXCEEDS_AGREEMENT"]);
    assert_eq!(refused["userErrors"][0]["field"], json!(["input", "term"]));
    assert!(refused["order"].is_null());
}

#[tokio::test]
async fn a_twelve_month_order_runs_to_the_day_before_its_anniversary_and_later_orders_end_with_it() {
    //
    let app = TestApp::spawn().await;
    let school = academic(&app, "Adatum Academy").await;
    let agreement = agreement(&app, &school, "SELECT_PLUS_EDU", "EES-2026-0003", "2026-07-01", "2029-06-30").await;
    let year = place(&app, &admin(), &agreement, "CLASS-MCP-30", 1, "TWELVE_MONTHS").await;
    assert_eq!(
        (year["order"]["startsOn"].as_str(), year["order"]["endsOn"].as_str()),
        (Some("2026-11-21"), Some("2027-11-20"))
    );
    assert_eq!(year["order"]["pricing"]["total"]["cents"], 300_000);

    // Three months later a prorated order ends with the subscription:
    // 2027-02-21 .. 2027-11-20 = 9 started months of 3 000.00 = 2 250.00.
    app.clock.set(Utc.with_ymd_and_hms(2027, 2, 21, 12, 0, 0).unwrap());
    let later = place(&app, &admin(), &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    assert_eq!(later["order"]["endsOn"], "2027-11-20", "{later}");
    assert_eq!(later["order"]["pricing"]["monthsCharged"], 9);
    assert_eq!(later["order"]["pricing"]["total"]["cents"], 225_000);
    let second_year = place(&app, &admin(), &agreement, "CLASS-MCP-30", 1, "TWELVE_MONTHS").await;
    assert_eq!(user_errors(&second_year), vec!["CO_TERMINOUS_WITH_SUBSCRIPTION"]);
}

#[tokio::test]
async fn the_highest_discount_tier_reached_applies_and_the_price_says_how_it_was_computed() {
    // CLASS-MCP-30 has 5 % from 10 packs; 8 months x 3 000.00 = 2 000.00, less 5 % = 1 900.00.
    let app = TestApp::spawn().await;
    let school = academic(&app, "Tailspin School").await;
    let agreement = academic_year(&app, &school, "EES-2026-0004").await;
    let nine = place(&app, &admin(), &agreement, "CLASS-MCP-30", 9, "PRORATED").await;
    assert_eq!(nine["order"]["pricing"]["discountPercent"], 0);
    let ten = place(&app, &admin(), &agreement, "CLASS-MCP-30", 10, "PRORATED").await;
    let pricing = &ten["order"]["pricing"];
    assert_eq!(pricing["discountPercent"], 5);
    assert_eq!(pricing["unitPrice"]["cents"], 190_000);
    assert_eq!(pricing["total"]["cents"], 1_900_000);
    assert_eq!(pricing["listPrice"], json!({ "cents": 300_000, "currency": "USD" }));
    assert!(pricing["explanation"].as_str().unwrap().contains("8/12 months"), "{pricing}");
}

#[tokio::test]
async fn ineligible_orders_are_refused_with_the_rule_they_break() {
    let app = TestApp::spawn().await;
    // not accredited.
    let plain = organization(&app, json!({ "name": "Plain School", "kind": "ACADEMIC" })).await;
    let agreement = academic_year(&app, &plain, "EES-2026-0005").await;
    let refused = place(&app, &admin(), &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    assert_eq!(user_errors(&refused), vec!["NOT_ACCREDITED"]);
    // accredited, but not a Certiport testing center, for a MOS/MTA site pack.
    let accredited =
        organization(&app, json!({ "name": "Accredited School", "kind": "ACADEMIC", "accredited": true })).await;
    let agreement = academic_year(&app, &accredited, "EES-2026-0006").await;
    assert_eq!(
        user_errors(&place(&app, &admin(), &agreement, "SITE-MOS-MTA-MCE-500", 1, "PRORATED").await),
        vec!["NOT_CERTIPORT_TESTING_CENTER"]
    );
    assert_eq!(
        user_errors(&place(&app, &admin(), &agreement, "CLASS-MCP-30", 1, "PRORATED").await),
        Vec::<String>::new()
    );
    // Not sold under the program.
    assert_eq!(
        user_errors(&place(&app, &admin(), &agreement, "MCP-VOUCHER", 1, "PRORATED").await),
        vec!["NOT_ORDERABLE_UNDER_PROGRAM"]
    );
    // retired.
    let corp = organization(&app, json!({ "name": "Contoso Ltd", "kind": "ENTERPRISE" })).await;
    let vl = crate::fixtures::agreement(&app, &corp, "VL", "VL-2026-0001", "2026-01-01", "2028-12-31").await;
    assert_eq!(user_errors(&place(&app, &admin(), &vl, "ELEARNING-VL", 1, "PRORATED").await), vec!["PACKAGE_RETIRED"]);
    assert_eq!(user_errors(&place(&app, &admin(), &vl, "NO-SUCH-SKU", 1, "PRORATED").await), vec!["NOT_FOUND"]);
    assert_eq!(user_errors(&place(&app, &admin(), &vl, "MCP-VOUCHER", 0, "PRORATED").await), vec!["OUT_OF_RANGE"]);
    // the agreement has ended (its last day still counts).
    app.clock.set(Utc.with_ymd_and_hms(2028, 12, 31, 23, 0, 0).unwrap());
    assert_eq!(user_errors(&place(&app, &admin(), &vl, "MCP-VOUCHER", 1, "PRORATED").await), Vec::<String>::new());
    app.clock.set(Utc.with_ymd_and_hms(2029, 1, 1, 0, 0, 0).unwrap());
    assert_eq!(user_errors(&place(&app, &admin(), &vl, "MCP-VOUCHER", 1, "PRORATED").await), vec!["AGREEMENT_ENDED"]);
}

#[tokio::test]
async fn resellers_order_only_for_organizations_they_serve_and_customers_only_for_themselves() {
    //
    let app = TestApp::spawn().await;
    let reseller =
        organization(&app, json!({ "name": "Reseller", "kind": "PARTNER", "partnerGlobalAccount": "PGA-200" })).await;
    let served = academic(&app, "Served School").await;
    let other = academic(&app, "Other School").await;
    let link = mutate(
        &app,
        &admin(),
        "mutation($input: LinkResellerInput!) { linkReseller(input: $input) { organization { name } userErrors { code } } }",
        json!({ "resellerId": reseller.gid, "customerId": served.gid }),
    )
    .await;
    assert_eq!(link["organization"]["name"], "Served School");
    let served_agreement = academic_year(&app, &served, "EES-2026-0010").await;
    let other_agreement = academic_year(&app, &other, "EES-2026-0011").await;
    let shop = person("shop", &[Role::Reseller], reseller.id);
    assert_eq!(
        user_errors(&place(&app, &shop, &served_agreement, "CLASS-MCP-30", 1, "PRORATED").await),
        Vec::<String>::new()
    );
    assert_eq!(
        user_errors(&place(&app, &shop, &other_agreement, "CLASS-MCP-30", 1, "PRORATED").await),
        vec!["NOT_FOUND"]
    );
    let boss = customer_admin(&other);
    assert_eq!(
        user_errors(&place(&app, &boss, &served_agreement, "CLASS-MCP-30", 1, "PRORATED").await),
        vec!["NOT_FOUND"]
    );
    assert_eq!(
        user_errors(&place(&app, &boss, &other_agreement, "CLASS-MCP-30", 1, "PRORATED").await),
        Vec::<String>::new()
    );
    // A learner may not order at all.
    let learner = person("kid", &[Role::Learner], other.id);
    let response = app.execute(&learner, PLACE, json!({ "input": { "agreementId": other_agreement, "packageSku": "CLASS-MCP-30", "quantity": 1, "term": "PRORATED" } })).await;
    assert_eq!(error_code(&response), Some("FORBIDDEN"));

    // Each sees its own: the reseller its served customer and itself, the customer admin itself.
    let seen = app.execute(&shop, "{ organizations { nodes { name } } orders { totalCount } }", json!({})).await;
    assert_eq!(seen["data"]["organizations"]["nodes"], json!([{ "name": "Reseller" }, { "name": "Served School" }]));
    assert_eq!(seen["data"]["orders"]["totalCount"], 1);
    let seen = app
        .execute(
            &boss,
            "{ organizations { nodes { name } } agreements { nodes { number } } orders { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(seen["data"]["organizations"]["nodes"], json!([{ "name": "Other School" }]));
    assert_eq!(seen["data"]["agreements"]["nodes"], json!([{ "number": "EES-2026-0011" }]));
    assert_eq!(seen["data"]["orders"]["totalCount"], 1);
    let seen = app.execute(&learner, "{ orders { totalCount } agreements { totalCount } }", json!({})).await;
    assert_eq!(seen["data"]["orders"]["totalCount"], 0, "{seen}");
    assert_eq!(seen["data"]["agreements"]["totalCount"], 1);
}

#[tokio::test]
async fn another_organizations_objects_are_indistinguishable_from_missing_ones() {
    // R-32, through every door: by id, through node, in lists.
    let app = TestApp::spawn().await;
    let mine = academic(&app, "Mine").await;
    let theirs = academic(&app, "Theirs").await;
    let agreement = academic_year(&app, &theirs, "EES-2026-0012").await;
    let order = fulfilled(&app, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    let code = codes_of(&app, &order, 1).await.remove(0).0;
    let boss = customer_admin(&mine);
    let query = "query($ids: [ID!]!, $o: ID!, $org: ID!) {
        nodes(ids: $ids) { id }
        order(id: $o) { id }
        organization(id: $org) { id }
        codes { totalCount }
    }";
    let ids = json!([agreement, order, code, theirs.gid, licensegraph::id::encode("Order", 99_999)]);
    let seen = app.execute(&boss, query, json!({ "ids": ids, "o": order, "org": theirs.gid })).await;
    assert!(seen["errors"].is_null(), "{seen}");
    assert_eq!(seen["data"]["nodes"], json!([null, null, null, null, null]));
    assert!(seen["data"]["order"].is_null());
    assert!(seen["data"]["organization"].is_null());
    assert_eq!(seen["data"]["codes"]["totalCount"], 0);
    // The owner sees them all.
    let owner = customer_admin(&theirs);
    let seen = app.execute(&owner, query, json!({ "ids": ids, "o": order, "org": theirs.gid })).await;
    assert_eq!(seen["data"]["nodes"].as_array().unwrap().iter().filter(|n| !n.is_null()).count(), 4, "{seen}");
}

#[tokio::test]
async fn orders_move_only_along_the_state_machine() {
    //
    let app = TestApp::spawn().await;
    let school = academic(&app, "State School").await;
    let agreement = academic_year(&app, &school, "EES-2026-0013").await;
    let placed = place(&app, &admin(), &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    let order = placed["order"]["id"].as_str().unwrap().to_owned();
    assert_eq!(user_errors(&step(&app, "invoiceOrder", &order).await), vec!["INVALID_TRANSITION"]);
    assert_eq!(user_errors(&step(&app, "fulfillOrder", &order).await), vec!["INVALID_TRANSITION"]);
    step(&app, "confirmOrder", &order).await;
    assert_eq!(user_errors(&step(&app, "confirmOrder", &order).await), vec!["INVALID_TRANSITION"]);
    step(&app, "invoiceOrder", &order).await;
    let cancel = "mutation($input: CancelOrderInput!) { cancelOrder(input: $input) { order { status cancelReason } userErrors { code } } }";
    let refused = mutate(&app, &admin(), cancel, json!({ "id": order, "reason": "changed our mind" })).await;
    assert_eq!(user_errors(&refused), vec!["INVALID_TRANSITION"], "no cancelling once invoiced");
    // A confirmed order can still be cancelled.
    let other = place(&app, &admin(), &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    let other = other["order"]["id"].as_str().unwrap().to_owned();
    step(&app, "confirmOrder", &other).await;
    let cancelled = mutate(&app, &admin(), cancel, json!({ "id": other, "reason": "duplicate" })).await;
    assert_eq!(cancelled["order"], json!({ "status": "CANCELLED", "cancelReason": "duplicate" }));
    // Only admins move orders.
    let boss = customer_admin(&school);
    let response = app
        .execute(
            &boss,
            "mutation($i: OrderStepInput!) { confirmOrder(input: $i) { order { id } } }",
            json!({ "i": { "id": order } }),
        )
        .await;
    assert_eq!(error_code(&response), Some("FORBIDDEN"));
}

#[tokio::test]
async fn concurrent_confirmations_of_one_order_succeed_exactly_once() {
    let app = TestApp::spawn().await;
    let school = academic(&app, "Race School").await;
    let agreement = academic_year(&app, &school, "EES-2026-0014").await;
    let placed = place(&app, &admin(), &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    let order = placed["order"]["id"].as_str().unwrap().to_owned();
    let attempts = (0..16).map(|_| step(&app, "confirmOrder", &order));
    let results = futures_util::future::join_all(attempts).await;
    let wins = results.iter().filter(|p| user_errors(p).is_empty()).count();
    assert_eq!(wins, 1);
    assert!(
        results.iter().filter(|p| !user_errors(p).is_empty()).all(|p| user_errors(p) == vec!["INVALID_TRANSITION"])
    );
}

#[tokio::test]
async fn due_dates_are_shown_and_late_orders_flagged() {
    // placed Saturday 2026-11-21 09:30; confirmation due Monday 09:30.
    let app = TestApp::spawn().await;
    let school = academic(&app, "Due School").await;
    let agreement = academic_year(&app, &school, "EES-2026-0015").await;
    let placed = place(&app, &admin(), &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    let order = placed["order"]["id"].as_str().unwrap().to_owned();
    let query = "query($id: ID!) { order(id: $id) { confirmationDueAt deliveryDueBetween { from to } late } }";
    let seen = app.execute(&admin(), query, json!({ "id": order })).await;
    assert_eq!(
        seen["data"]["order"],
        json!({ "confirmationDueAt": "2026-11-23T09:30:00Z", "deliveryDueBetween": null, "late": false })
    );
    app.clock.set(Utc.with_ymd_and_hms(2026, 11, 23, 9, 30, 1).unwrap());
    assert_eq!(app.execute(&admin(), query, json!({ "id": order })).await["data"]["order"]["late"], true);
    // Invoiced on Monday 23rd: codes due Mon 30th .. Mon 7 December.
    step(&app, "confirmOrder", &order).await;
    step(&app, "invoiceOrder", &order).await;
    let seen = app.execute(&admin(), query, json!({ "id": order })).await;
    assert_eq!(seen["data"]["order"]["deliveryDueBetween"], json!({ "from": "2026-11-30", "to": "2026-12-07" }));
    assert_eq!(seen["data"]["order"]["late"], false);
    app.clock.set(Utc.with_ymd_and_hms(2026, 12, 8, 0, 0, 0).unwrap());
    assert_eq!(app.execute(&admin(), query, json!({ "id": order })).await["data"]["order"]["late"], true);
}

#[tokio::test]
async fn a_failed_fulfilment_leaves_no_code_and_the_order_unfulfilled() {
    // all or none. A trigger makes the last statement of the
    // fulfilment (the events) fail after the codes were inserted.
    let app = TestApp::spawn().await;
    let school = academic(&app, "Atomic School").await;
    let agreement = academic_year(&app, &school, "EES-2026-0016").await;
    let placed = place(&app, &admin(), &agreement, "CLASS-MCP-30", 2, "PRORATED").await;
    let order = placed["order"]["id"].as_str().unwrap().to_owned();
    step(&app, "confirmOrder", &order).await;
    step(&app, "invoiceOrder", &order).await;
    let backend = app.db.get_database_backend();
    let sabotage: &[&str] = if backend == DbBackend::Postgres {
        &[
            "CREATE FUNCTION sabotage() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'sabotage'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER sabotage BEFORE INSERT ON code_events FOR EACH ROW EXECUTE FUNCTION sabotage()",
        ]
    } else {
        &["CREATE TRIGGER sabotage BEFORE INSERT ON code_events BEGIN SELECT RAISE(ABORT, 'sabotage'); END"]
    };
    for sql in sabotage {
        app.db.execute_unprepared(sql).await.unwrap();
    }
    let response = app
        .execute(
            &admin(),
            "mutation($i: OrderStepInput!) { fulfillOrder(input: $i) { order { id } } }",
            json!({ "i": { "id": order } }),
        )
        .await;
    assert_eq!(error_code(&response), Some("INTERNAL"), "{response}");
    let seen = app
        .execute(&admin(), "query($id: ID!) { order(id: $id) { status codes { totalCount } } }", json!({ "id": order }))
        .await;
    assert_eq!(seen["data"]["order"], json!({ "status": "INVOICED", "codes": { "totalCount": 0 } }));
    app.db.execute_unprepared("DROP TRIGGER sabotage ON code_events").await.ok();
    app.db.execute_unprepared("DROP TRIGGER IF EXISTS sabotage").await.ok();
    let done = step(&app, "fulfillOrder", &order).await;
    assert_eq!(done["order"]["status"], "FULFILLED", "{done}");
    let seen = app
        .execute(&admin(), "query($id: ID!) { order(id: $id) { codes { totalCount } } }", json!({ "id": order }))
        .await;
    assert_eq!(seen["data"]["order"]["codes"]["totalCount"], 60, "2 class packs x 30 vouchers");
}

#[tokio::test]
async fn a_five_hundred_voucher_site_pack_times_two_hundred_is_fulfilled_in_one_go() {
    // 100 000 codes, inserted in batches within both engines' parameter limits.
    let app = TestApp::spawn().await;
    let school = academic(&app, "Big School").await;
    let agreement = academic_year(&app, &school, "EES-2026-0017").await;
    let order = fulfilled(&app, &agreement, "SITE-MOS-MTA-MCE-500", 200, "PRORATED").await;
    let seen = app
        .execute(
            &admin(),
            "query($id: ID!) { order(id: $id) { codes(first: 1) { totalCount nodes { events { action } } } } }",
            json!({ "id": order }),
        )
        .await;
    assert_eq!(seen["data"]["order"]["codes"]["totalCount"], 100_000, "{seen}");
    assert_eq!(seen["data"]["order"]["codes"]["nodes"][0]["events"], json!([{ "action": "ISSUE" }]));
    let over = place(&app, &admin(), &agreement, "SITE-MOS-MTA-MCE-500", 201, "PRORATED").await;
    assert_eq!(user_errors(&over), vec!["OUT_OF_RANGE"]);
}

/// The benchmark's nested page (bench/run.py, docs/performance.md): 50
/// orders with 20 codes each, their package and program, in at most 4
/// statements (orders, packages, programs through the agreements, codes).
const BENCH_ORDERS_PAGE: &str = include_str!("../../bench/orders_page.graphql");

/// 50 fulfilled class packs (30 vouchers each) of one school under EES.
async fn fifty_fulfilled_orders(app: &TestApp) {
    let school = academic(app, "Batch School").await;
    let agreement = academic_year(app, &school, "EES-2026-0018").await;
    for _ in 0..50 {
        fulfilled(app, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    }
}

#[tokio::test]
async fn the_benchmark_page_of_fifty_orders_costs_at_most_four_statements_however_fast_batches_close() {
    let app = TestApp::spawn().await;
    fifty_fulfilled_orders(&app).await;
    // A zero batching delay is the worst case of a loaded server: without
    // loading ahead, batches close while the executor is still polling the
    // orders and split (10 statements here, 30..42 under load in the
    // bench); with it, the page's children are loaded before any order
    // resolves. Through edges { node } as well as nodes.
    let through_edges =
        BENCH_ORDERS_PAGE.replace("nodes {\n      id", "edges { node {\n      id").replace("\n  }\n}", "}\n  }\n}");
    assert_ne!(through_edges, BENCH_ORDERS_PAGE);
    for (query, path) in [(BENCH_ORDERS_PAGE.to_owned(), "/data/orders/nodes"), (through_edges, "/data/orders/edges")] {
        let (response, statements) = app.execute_counting_with_delay(&admin(), &query, json!({}), Duration::ZERO).await;
        assert!(response["errors"].is_null(), "{response}");
        let orders = response.pointer(path).and_then(Value::as_array).unwrap();
        assert_eq!(orders.len(), 50);
        for order in orders {
            let order = order.get("node").unwrap_or(order);
            assert_eq!(order["codes"]["nodes"].as_array().unwrap().len(), 20, "{order}");
            assert_eq!(order["package"]["sku"], "CLASS-MCP-30");
            assert_eq!(order["program"]["code"], "SELECT_PLUS_EDU", "the agreement's program: {order}");
        }
        assert!(statements <= 4, "{statements} statements for the benchmark page ({path})");
    }
}

#[tokio::test]
async fn a_nested_page_reads_brief_code_columns_only_when_every_field_it_may_resolve_needs_no_more() {
    let app = TestApp::spawn().await;
    let school = academic(&app, "Brief School").await;
    let agreement = academic_year(&app, &school, "EES-2026-0019").await;
    for _ in 0..2 {
        fulfilled(&app, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    }
    let page = |codes: &str| format!("{{ orders(first: 5) {{ nodes {{ {codes} }} }} }}");
    // (query, what each of its reads of codes selects: brief or whole)
    let cases = [
        (page("codes(first: 3) { nodes { id value status expiresOn } }"), vec!["brief"]),
        (
            page(
                "codes(first: 3) { totalCount pageInfo { hasNextPage } edges { cursor node { __typename id hint kind assignee } } }",
            ),
            vec!["brief"],
        ),
        (page("codes(first: 3) { nodes { id createdAt } }"), vec!["whole"]),
        (page("codes(first: 3) { nodes { id order { id } } }"), vec!["whole"]),
        (page("codes(first: 3) { nodes { id ... on Code { exam } } }"), vec!["whole"]),
        (page("codes(first: 3) { nodes { ...more } }") + " fragment more on Code { id redeemedAt }", vec!["whole"]),
        // async-graphql drops skipped fields before executing.
        (page("codes(first: 3) { nodes { id createdAt @skip(if: true) } }"), vec!["brief"]),
        (page("codes(first: 3) { nodes { id createdAt @include(if: true) } }"), vec!["whole"]),
        // Two pages of one size: one read of each kind.
        (page("a: codes(first: 3) { nodes { id } } b: codes(first: 3) { nodes { id seats } }"), vec!["brief", "whole"]),
    ];
    for (query, expected) in cases {
        let (response, sql) = app.execute_recording(&admin(), &query).await;
        assert!(response["errors"].is_null(), "{query}: {response}");
        let mut reads: Vec<&str> = sql
            .iter()
            .filter(|s| s.contains("FROM codes WHERE"))
            .map(|s| if s.contains("created_at") { "whole" } else { "brief" })
            .collect();
        reads.sort_unstable();
        assert_eq!(reads, expected, "{query}");
        let orders = response["data"]["orders"]["nodes"].as_array().expect("orders");
        assert_eq!(orders.len(), 2, "{response}");
        for order in orders {
            for page in order.as_object().expect("an order").values() {
                let codes = page.get("nodes").or_else(|| page.get("edges")).and_then(Value::as_array);
                assert_eq!(codes.map(Vec::len), Some(3), "{query}: {response}");
            }
        }
    }
}

#[tokio::test]
async fn a_mutation_request_never_reads_a_row_cached_before_its_change() {
    // The loaders cache only in read-only documents. Here `invoiceOrder`
    // reads the order's first codes page (empty) before `fulfillOrder`
    // generates them, in one request: the second read must see them.
    let app = TestApp::spawn().await;
    let school = academic(&app, "Cache School").await;
    let agreement = academic_year(&app, &school, "EES-2026-0017").await;
    let placed = place(&app, &admin(), &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    let order = placed["order"]["id"].as_str().unwrap().to_owned();
    assert_eq!(user_errors(&step(&app, "confirmOrder", &order).await), Vec::<String>::new());
    let query = "mutation($id: ID!) {
        invoiced: invoiceOrder(input: { id: $id }) { order { codes(first: 5) { nodes { id } } } }
        fulfilled: fulfillOrder(input: { id: $id }) { order { codes(first: 5) { nodes { id } } } } }";
    let response = app.execute(&admin(), query, json!({ "id": order })).await;
    assert!(response["errors"].is_null(), "{response}");
    assert_eq!(response["data"]["invoiced"]["order"]["codes"]["nodes"], json!([]), "{response}");
    assert_eq!(response["data"]["fulfilled"]["order"]["codes"]["nodes"].as_array().unwrap().len(), 5, "{response}");
}

#[tokio::test]
async fn a_page_of_fifty_orders_with_their_codes_costs_a_handful_of_statements() {
    // STYLE habit 8: nested lists are batched.
    let app = TestApp::spawn().await;
    fifty_fulfilled_orders(&app).await;
    let query = "{ orders(first: 50) { totalCount nodes { id status package { sku programs { code } } agreement { number organization { name } }
                   codes(first: 5) { totalCount nodes { id status value hint events { action } } } } } }";
    let (response, statements) = app.execute_counting(&admin(), query, json!({})).await;
    assert!(response["errors"].is_null(), "{response}");
    assert_eq!(response["data"]["orders"]["nodes"].as_array().unwrap().len(), 50);
    assert_eq!(response["data"]["orders"]["nodes"][49]["codes"]["totalCount"], 30);
    assert!(statements <= 10, "{statements} statements for 50 orders with their codes");
}

#[tokio::test]
async fn first_code_pages_of_more_parents_than_one_compound_select_allows_are_all_found() {
    // SQLite allows 500 terms in a compound SELECT; first_codes_of splits
    // its UNION ALL into chunks. 600 sources (aliased pages can ask for
    // that many in one batch), of which three real orders spread over
    // the chunks: each gets its own first codes, in id order.
    use licensegraph::service::{
        code_rows::Columns,
        codes::{CodeSource, first_codes_of},
    };
    let app = TestApp::spawn().await;
    let school = academic(&app, "Chunk School").await;
    let agreement = academic_year(&app, &school, "EES-2026-0016").await;
    let mut orders = vec![];
    for _ in 0..3 {
        let order = fulfilled(&app, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
        orders.push(row(&Value::String(order)));
    }
    let mut sources: Vec<CodeSource> = (1_000_000..1_000_600).map(CodeSource::Order).collect();
    for (slot, order) in [0, 299, 599].into_iter().zip(&orders) {
        sources[slot] = CodeSource::Order(*order);
    }
    for columns in [Columns::All, Columns::Brief] {
        let found = first_codes_of(&app.db, &sources, 4, columns).await.expect("one statement per chunk");
        for order in &orders {
            let ids: Vec<i64> =
                found.iter().filter(|(s, _)| *s == CodeSource::Order(*order)).map(|(_, c)| c.id).collect();
            assert_eq!(ids.len(), 5, "size + 1 codes of order {order}");
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "in id order: {ids:?}");
        }
        assert_eq!(found.len(), 15);
    }
}
