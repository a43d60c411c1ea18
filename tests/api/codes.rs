//! Codes (R-13 .. R-20): assignment, redemption, activation, replacement,
//! revocation, expiry, visibility and validation.

use chrono::{TimeZone, Utc};
use licensegraph::{auth::Role, config::LimitArgs};
use serde_json::{Value, json};

use crate::{
    fixtures::*,
    helpers::{TestApp, admin, assert_brief_codes_answer_alike, assert_code_rows_read_alike, error_code},
};

/// An app whose attempt budget does not get in the way of concurrency tests.
async fn roomy() -> TestApp {
    TestApp::with_limits(LimitArgs { code_attempts_per_minute: 10_000, ..LimitArgs::default() }).await
}

struct Voucher {
    school: Org,
    id: String,
    value: String,
}

/// One fulfilled class pack; the first voucher assigned to `ada`.
async fn assigned_voucher(app: &TestApp) -> Voucher {
    voucher_in(app, "Voucher School", "EES-2026-0100").await
}

/// [`assigned_voucher`] in a school named `school` under agreement `number`.
async fn voucher_in(app: &TestApp, school: &str, number: &str) -> Voucher {
    let school = academic(app, school).await;
    let agreement = academic_year(app, &school, number).await;
    let order = fulfilled(app, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    let (id, value) = codes_of(app, &order, 1).await.remove(0);
    let payload = mutate(app, &customer_admin(&school), ASSIGN, json!({ "codeId": id, "assignee": "ada" })).await;
    assert_eq!(user_errors(&payload), Vec::<String>::new(), "{payload}");
    Voucher { school, id, value }
}

/// A code's events, oldest first, with the given fields (as admin).
async fn code_events(app: &TestApp, id: &str, fields: &str) -> Value {
    let query = format!("query($id: ID!) {{ node(id: $id) {{ ... on Code {{ events {{ {fields} }} }} }} }}");
    app.execute(&admin(), &query, json!({ "id": id })).await["data"]["node"]["events"].clone()
}

fn ada(school: &Org) -> licensegraph::auth::Viewer {
    person("ada", &[Role::Learner], school.id)
}

#[tokio::test]
async fn an_assigned_code_is_never_reassigned() {
    //
    let app = TestApp::spawn().await;
    let v = assigned_voucher(&app).await;
    let again = mutate(&app, &customer_admin(&v.school), ASSIGN, json!({ "codeId": v.id, "assignee": "bob" })).await;
    assert_eq!(user_errors(&again), vec!["ALREADY_ASSIGNED"]);
    let blank = mutate(&app, &customer_admin(&v.school), ASSIGN, json!({ "codeId": v.id, "assignee": "  " })).await;
    assert_eq!(user_errors(&blank), vec!["BLANK"]);
    // Another organization's administrator cannot even find it.
    let other = academic(&app, "Other").await;
    let theirs = mutate(&app, &customer_admin(&other), ASSIGN, json!({ "codeId": v.id, "assignee": "eve" })).await;
    assert_eq!(user_errors(&theirs), vec!["NOT_FOUND"]);
}

#[tokio::test]
async fn only_the_assignee_redeems_a_voucher_and_only_once() {
    //
    let app = TestApp::spawn().await;
    let v = assigned_voucher(&app).await;
    let bob = person("bob", &[Role::Learner], v.school.id);
    let input = json!({ "value": v.value, "exam": "70-740" });
    assert_eq!(user_errors(&mutate(&app, &bob, REDEEM, input.clone()).await), vec!["NOT_ASSIGNED_TO_YOU"]);
    // Typed loosely: lower case, spaces instead of dashes.
    let typed = v.value.to_lowercase().replace('-', " ");
    let first = mutate(&app, &ada(&v.school), REDEEM, json!({ "value": typed, "exam": "70-740" })).await;
    assert_eq!(first["code"]["status"], "REDEEMED", "{first}");
    assert_eq!(user_errors(&mutate(&app, &ada(&v.school), REDEEM, input).await), vec!["ALREADY_REDEEMED"]);
    let bad_exam = mutate(&app, &ada(&v.school), REDEEM, json!({ "value": v.value, "exam": "" })).await;
    assert_eq!(user_errors(&bad_exam), vec!["INVALID_FORMAT"]);
    // Assignee, assignment, redemption and exam filled in.
    assert_code_rows_read_alike(&app.db).await;
    assert_brief_codes_answer_alike(&app).await;
}

#[tokio::test]
async fn an_organizations_administrators_assign_vouchers_but_only_the_assignee_or_the_desk_redeems() {
    // administrators assign; the person redeems; the desk may
    // redeem on someone's behalf, recorded as such.
    let app = TestApp::spawn().await;
    let v = assigned_voucher(&app).await;
    let input = json!({ "value": v.value, "exam": "70-740" });
    let boss = customer_admin(&v.school);
    let partner = person("pa", &[Role::PartnerAdmin, Role::CustomerAdmin], v.school.id);
    for administrator in [&boss, &partner] {
        assert_eq!(user_errors(&mutate(&app, administrator, REDEEM, input.clone()).await), vec!["NOT_ASSIGNED_TO_YOU"]);
        let told = app.execute(administrator, VALIDATE, json!({ "v": v.value })).await;
        assert_eq!(told["data"]["validateCode"]["problem"], "NOT_ASSIGNED_TO_YOU", "{told}");
    }
    let desk = person("desk", &[Role::Admin], v.school.id);
    let redeemed = mutate(&app, &desk, REDEEM, input.clone()).await;
    assert_eq!(redeemed["code"]["status"], "REDEEMED", "{redeemed}");
    let events = code_events(&app, &v.id, "action actor detail").await;
    let last = &events.as_array().expect("events")[events.as_array().map_or(0, Vec::len) - 1];
    assert_eq!(last["action"], "REDEEM");
    assert_eq!(last["actor"], "desk");
    assert_eq!(last["detail"], "exam 70-740, redeemed by the licensing desk on behalf of ada");
    assert_eq!(user_errors(&mutate(&app, &ada(&v.school), REDEEM, input).await), vec!["ALREADY_REDEEMED"]);
}

#[tokio::test]
async fn an_administrator_racing_the_assignee_never_wins() {
    // under concurrency: before, the customer_admin could win.
    let app = roomy().await;
    for round in 0..8 {
        let v = voucher_in(&app, &format!("Race School {round}"), &format!("EES-2026-{:04}", 500 + round)).await;
        let input = json!({ "value": v.value, "exam": "70-740" });
        let boss = customer_admin(&v.school);
        let learner = ada(&v.school);
        let (a, b) =
            tokio::join!(mutate(&app, &boss, REDEEM, input.clone()), mutate(&app, &learner, REDEEM, input.clone()));
        // Whichever runs first, the administrator is refused (as not the
        // assignee, or as too late) and the learner's redemption stands.
        let refused = user_errors(&a);
        assert!(refused == ["NOT_ASSIGNED_TO_YOU"] || refused == ["ALREADY_REDEEMED"], "round {round}: {a}");
        assert_eq!(b["code"]["status"], "REDEEMED", "round {round}: {b}");
        let events = code_events(&app, &v.id, "action actor").await;
        let redeemed_by: Vec<&Value> =
            events.as_array().into_iter().flatten().filter(|e| e["action"] == "REDEEM").map(|e| &e["actor"]).collect();
        assert_eq!(redeemed_by, [&json!("ada")], "round {round}");
    }
}

#[tokio::test]
async fn a_learner_redeeming_their_own_voucher_costs_one_write_and_leaves_its_event() {
    // the common case is one guarded UPDATE found by the value
    // (one statement on PostgreSQL: the event is in the same statement),
    // with no look-up first; anything else falls back and says why.
    let app = TestApp::spawn().await;
    let v = assigned_voucher(&app).await;
    let variables = json!({ "input": { "value": v.value, "exam": "70-740" } });
    // a namesake in another organization does not even find it.
    let elsewhere = academic(&app, "Elsewhere School").await;
    let (namesake, _) = app.execute_counting(&ada(&elsewhere), REDEEM, variables.clone()).await;
    assert_eq!(user_errors(&namesake["data"]["redeemCode"]), vec!["UNKNOWN_CODE"], "{namesake}");
    let (response, statements) = app.execute_counting(&ada(&v.school), REDEEM, variables.clone()).await;
    assert_eq!(response["data"]["redeemCode"]["code"]["status"], "REDEEMED", "{response}");
    let pg = app.db.get_database_backend() == sea_orm::DbBackend::Postgres;
    // SQLite: UPDATE .. RETURNING, the outbox event's INSERT and the
    // history's, in one transaction.
    assert_eq!(statements, if pg { 1 } else { 3 }, "statements of one redemption");
    let (again, _) = app.execute_counting(&ada(&v.school), REDEEM, variables).await;
    assert_eq!(user_errors(&again["data"]["redeemCode"]), vec!["ALREADY_REDEEMED"], "{again}");
    let events = code_events(&app, &v.id, "actor action fromStatus toStatus detail").await;
    assert_eq!(
        events[2],
        json!({ "actor": "ada", "action": "REDEEM", "fromStatus": "ASSIGNED", "toStatus": "REDEEMED", "detail": "exam 70-740" }),
        "{events}"
    );
    assert_eq!(events.as_array().map(Vec::len), Some(3), "{events}");
}

#[tokio::test]
async fn redemptions_arriving_together_commit_together_and_each_gets_its_own_answer() {
    // requests that queue up while a commit runs are
    // redeemed in one commit (service::redemptions); each still gets the
    // answer it would get alone, and each redeemed voucher one event.
    let app = roomy().await;
    let school = academic(&app, "Batch School").await;
    let agreement = academic_year(&app, &school, "EES-2026-0100").await;
    let order = fulfilled(&app, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    let codes = codes_of(&app, &order, 30).await;
    let learner = |i: usize| person(&format!("learner{i}"), &[Role::Learner], school.id);
    for (i, (id, _)) in codes.iter().enumerate().take(28) {
        let input = json!({ "codeId": id, "assignee": format!("learner{i}") });
        assert_eq!(user_errors(&mutate(&app, &customer_admin(&school), ASSIGN, input).await), Vec::<String>::new());
    }
    let elsewhere = academic(&app, "Elsewhere School").await;
    let redeem = |value: &str| json!({ "input": { "value": value, "exam": "70-740" } });
    // A namesake of learner2 in another school asks first, for learner2's voucher.
    let mut requests = vec![(person("learner2", &[Role::Learner], elsewhere.id), redeem(&codes[2].1))];
    requests.extend((0..28).map(|i| (learner(i), redeem(&codes[i].1))));
    requests.push((learner(0), redeem(&codes[0].1)));
    requests.push((learner(1), redeem(&codes[28].1)));
    let attempts = requests.iter().map(|(who, variables)| app.execute_counting(who, REDEEM, variables.clone()));
    let answers: Vec<(Value, usize)> = futures_util::future::join_all(attempts).await;
    let said = |k: usize| {
        let payload = &answers[k].0["data"]["redeemCode"];
        if payload["code"]["status"] == "REDEEMED" { "REDEEMED".to_owned() } else { user_errors(payload).join(",") }
    };
    assert_eq!(said(0), "UNKNOWN_CODE", "{:?}", answers[0]);
    let redeemed: Vec<usize> = (0..answers.len()).filter(|&k| said(k) == "REDEEMED").collect();
    assert_eq!(redeemed, (1..=28).collect::<Vec<_>>(), "{answers:?}");
    assert_eq!(said(29), "ALREADY_REDEEMED", "the same request twice");
    assert_eq!(said(30), "NOT_ASSIGNED", "a voucher assigned to nobody");
    // Alone, each redemption costs at least one statement; together, the
    // 28 took one commit (plus a look-up for each of the 3 refusals).
    let statements: usize = answers.iter().map(|(_, n)| n).sum();
    assert!(statements < 28, "{statements} statements for 31 requests");
    for (id, _) in codes.iter().take(28) {
        let events = code_events(&app, id, "actor action detail").await;
        let redeems: Vec<&Value> =
            events.as_array().expect("events").iter().filter(|e| e["action"] == "REDEEM").collect();
        assert_eq!(redeems.len(), 1, "{events}");
    }
    // Each redemption has one `code.redeemed` event, which the group wrote
    // itself, and each history row names its own code's.
    assert_eq!(app.number("SELECT count(*) FROM events WHERE type = 'code.redeemed'").await, Some(28));
    let named = app
        .number(
            "SELECT count(*) FROM code_events ce JOIN events e ON e.id = ce.event_id \
         WHERE ce.action = 'REDEEM' AND e.type = 'code.redeemed' AND e.subject_type = 'Code' \
         AND e.subject_id = ce.code_id",
        )
        .await;
    assert_eq!(named, Some(28), "history rows naming their own code's event");
    let last = code_events(&app, &codes[27].0, "actor action fromStatus toStatus detail").await;
    assert_eq!(
        last[2],
        json!({ "actor": "learner27", "action": "REDEEM", "fromStatus": "ASSIGNED", "toStatus": "REDEEMED", "detail": "exam 70-740" })
    );
}

#[tokio::test]
async fn on_postgresql_a_redemption_group_commits_while_another_waits() {
    // on PostgreSQL a second group runs beside one that is waiting
    // (service::redemptions::IN_FLIGHT), once it has company enough
    // (COMPANY) or the first has committed. With one group at a time, the
    // second would wait for the first, which waits here on a row another
    // transaction holds. SQLite has one writer: there groups take turns,
    // and this has nothing to show.
    use licensegraph::service::redemptions::{COMPANY, OwnVoucher, Redemptions};
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let app = TestApp::spawn().await;
    if app.db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return;
    }
    let vouchers = crate::fixtures::assigned_vouchers(&app, COMPANY as i32 + 4).await;
    let request = crate::fixtures::own_redemption;
    let holder = app.db.begin().await.expect("begin");
    let lock = format!("SELECT id FROM codes WHERE value = '{}' FOR UPDATE", vouchers[0].0);
    holder.execute_unprepared(&lock).await.expect("lock the first voucher's row");
    let redemptions = Redemptions::start();
    let first = tokio::spawn({
        let (redemptions, db, voucher) = (redemptions.clone(), app.db.clone(), request(&vouchers[0]));
        async move { redemptions.redeem(&db, voucher).await }
    });
    let waiting = "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock'";
    let mut tries = 0;
    while app.number(waiting).await != Some(1) {
        tries += 1;
        assert!(tries < 500, "the first group never reached the held row");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let others =
        futures_util::future::join_all(vouchers[1..=COMPANY].iter().map(|v| redemptions.redeem(&app.db, request(v))));
    let others = tokio::time::timeout(std::time::Duration::from_secs(30), others)
        .await
        .expect("the second group waited for the first");
    for (i, answer) in others.iter().enumerate() {
        let redeemed = answer.as_ref().ok().and_then(Option::as_ref);
        assert_eq!(
            redeemed.map(|c| c.status),
            Some(entity::enums::StoredCodeStatus::Redeemed),
            "voucher {}: {answer:?}",
            i + 1
        );
    }
    assert!(!first.is_finished(), "the first group waits for the row");
    // Fewer than COMPANY wait beside the stalled group for company, or
    // for it to commit: then they go.
    let few = tokio::spawn({
        let (redemptions, db) = (redemptions.clone(), app.db.clone());
        let few: Vec<OwnVoucher> = vouchers[COMPANY + 1..].iter().map(request).collect();
        async move { futures_util::future::join_all(few.into_iter().map(|v| redemptions.redeem(&db, v))).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!few.is_finished(), "three redemptions started beside a stalled group without company");
    holder.rollback().await.expect("release the row");
    let first = first.await.expect("the first group's task");
    assert!(matches!(first, Ok(Some(_))), "{first:?}");
    let few = tokio::time::timeout(std::time::Duration::from_secs(30), few)
        .await
        .expect("the few waited past the first group's commit")
        .expect("their task");
    assert!(few.iter().all(|answer| matches!(answer, Ok(Some(_)))), "{few:?}");
    let events = "SELECT count(*) FROM events WHERE type = 'code.redeemed'";
    assert_eq!(app.number(events).await, Some(COMPANY as i64 + 4));
}

#[tokio::test]
async fn sixty_four_clients_redeeming_one_voucher_get_exactly_one_success() {
    // R-13, under real concurrency on the real pool (PostgreSQL with TEST_DATABASE_URL).
    let app = roomy().await;
    let v = assigned_voucher(&app).await;
    let learner = ada(&v.school);
    let input = json!({ "value": v.value, "exam": "70-740" });
    let attempts = (0..64).map(|_| {
        let (app, learner, input) = (&app, learner.clone(), input.clone());
        async move { mutate(app, &learner, REDEEM, input).await }
    });
    let results: Vec<Value> = futures_util::future::join_all(attempts).await;
    let wins = results.iter().filter(|p| p["code"]["status"] == "REDEEMED").count();
    let lost = results.iter().filter(|p| user_errors(p) == vec!["ALREADY_REDEEMED"]).count();
    assert_eq!((wins, lost), (1, 63), "{results:?}");
    let events = code_events(&app, &v.id, "action").await;
    assert_eq!(events, json!([{ "action": "ISSUE" }, { "action": "ASSIGN" }, { "action": "REDEEM" }]));
}

#[tokio::test]
async fn unused_codes_expire_when_their_agreement_ends() {
    // the agreement ends 2027-06-30; the code is usable that day, expired the next.
    let app = TestApp::spawn().await;
    let v = assigned_voucher(&app).await;
    let status = "query($id: ID!) { node(id: $id) { ... on Code { status expiresOn } } }";
    app.clock.set(Utc.with_ymd_and_hms(2027, 6, 30, 23, 59, 0).unwrap());
    let seen = app.execute(&admin(), status, json!({ "id": v.id })).await;
    assert_eq!(seen["data"]["node"], json!({ "status": "ASSIGNED", "expiresOn": "2027-06-30" }));
    app.clock.set(Utc.with_ymd_and_hms(2027, 7, 1, 0, 0, 0).unwrap());
    let seen = app.execute(&admin(), status, json!({ "id": v.id })).await;
    assert_eq!(seen["data"]["node"]["status"], "EXPIRED");
    let late = mutate(&app, &ada(&v.school), REDEEM, json!({ "value": v.value, "exam": "70-740" })).await;
    assert_eq!(user_errors(&late), vec!["EXPIRED"]);
    let expired = app
        .execute(
            &admin(),
            "{ codes(status: EXPIRED) { totalCount } issued: codes(status: ISSUED) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(expired["data"]["codes"]["totalCount"], 30);
    assert_eq!(expired["data"]["issued"]["totalCount"], 0);
}

#[tokio::test]
async fn a_voucher_is_redeemed_in_one_write_on_its_last_valid_day() {
    // valid through 2027-06-30 (its agreement's end) inclusive. The
    // statement count shows that the batched guard itself accepts the last
    // day, not the look-up path it falls back to.
    let app = TestApp::spawn().await;
    let v = assigned_voucher(&app).await;
    app.clock.set(Utc.with_ymd_and_hms(2027, 6, 30, 23, 59, 0).unwrap());
    let variables = json!({ "input": { "value": v.value, "exam": "70-740" } });
    let (response, statements) = app.execute_counting(&ada(&v.school), REDEEM, variables).await;
    assert_eq!(response["data"]["redeemCode"]["code"]["status"], "REDEEMED", "{response}");
    let pg = app.db.get_database_backend() == sea_orm::DbBackend::Postgres;
    assert_eq!(statements, if pg { 1 } else { 3 }, "statements of a redemption on the last day");
}

#[tokio::test]
async fn a_revoked_code_cannot_be_used() {
    let app = TestApp::spawn().await;
    let v = assigned_voucher(&app).await;
    let revoke =
        "mutation($input: RevokeCodeInput!) { revokeCode(input: $input) { code { status } userErrors { code } } }";
    let boss = customer_admin(&v.school);
    let response = app.execute(&boss, revoke, json!({ "input": { "codeId": v.id, "reason": "lost" } })).await;
    assert_eq!(error_code(&response), Some("FORBIDDEN"));
    let revoked = mutate(&app, &admin(), revoke, json!({ "codeId": v.id, "reason": "reported stolen" })).await;
    assert_eq!(revoked["code"]["status"], "REVOKED");
    let used = mutate(&app, &ada(&v.school), REDEEM, json!({ "value": v.value, "exam": "70-740" })).await;
    assert_eq!(user_errors(&used), vec!["REVOKED"]);
    assert_eq!(
        user_errors(&mutate(&app, &admin(), revoke, json!({ "codeId": v.id, "reason": "again" })).await),
        vec!["REVOKED"]
    );
}

#[tokio::test]
async fn values_are_shown_only_to_the_owner_the_assignee_and_admins() {
    let app = TestApp::spawn().await;
    let reseller =
        organization(&app, json!({ "name": "Shop", "kind": "PARTNER", "partnerGlobalAccount": "PGA-300" })).await;
    let v = assigned_voucher(&app).await;
    let link = "mutation($input: LinkResellerInput!) { linkReseller(input: $input) { userErrors { code } } }";
    mutate(&app, &admin(), link, json!({ "resellerId": reseller.gid, "customerId": v.school.gid })).await;
    let query = "query($id: ID!) { node(id: $id) { ... on Code { value hint assignee } } }";
    let hint = format!(
        "…{}",
        v.value.replace('-', "").chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect::<String>()
    );
    for (who, shows) in [
        (admin(), true),
        (customer_admin(&v.school), true),
        (ada(&v.school), true),
        (person("shop", &[Role::Reseller], reseller.id), false),
    ] {
        let seen = app.execute(&who, query, json!({ "id": v.id })).await;
        let node = &seen["data"]["node"];
        assert_eq!(node["hint"], hint.as_str(), "{who:?}: {seen}");
        assert_eq!(node["value"].as_str() == Some(v.value.as_str()), shows, "{who:?}: {seen}");
    }
    // A learner who is not the assignee does not see the code at all.
    let bob = person("bob", &[Role::Learner], v.school.id);
    assert!(app.execute(&bob, query, json!({ "id": v.id })).await["data"]["node"].is_null());
    let mine = app.execute(&ada(&v.school), "{ codes { totalCount nodes { order { id } } } }", json!({})).await;
    assert_eq!(mine["data"]["codes"]["totalCount"], 1, "a learner lists the codes assigned to them");
    assert!(mine["data"]["codes"]["nodes"][0]["order"].is_null(), "but not the order behind them");
}

#[tokio::test]
async fn library_access_is_activated_once_by_its_assignee() {
    //
    let app = TestApp::spawn().await;
    let (corp, id, value) = library_code(&app).await;
    let carol = person("carol", &[Role::Learner], corp.id);
    assert_eq!(user_errors(&mutate(&app, &carol, ACTIVATE, json!({ "value": value })).await), vec!["NOT_ASSIGNED"]);
    mutate(&app, &customer_admin(&corp), ASSIGN, json!({ "codeId": id, "assignee": "carol" })).await;
    let on = mutate(&app, &carol, ACTIVATE, json!({ "value": value })).await;
    assert_eq!(on["code"]["status"], "ACTIVE", "{on}");
    assert_eq!(user_errors(&mutate(&app, &carol, ACTIVATE, json!({ "value": value })).await), vec!["ALREADY_ACTIVE"]);
    assert_eq!(
        user_errors(&mutate(&app, &carol, REDEEM, json!({ "value": value, "exam": "70-740" })).await),
        vec!["WRONG_KIND"]
    );
}

#[tokio::test]
async fn an_assigned_library_code_is_not_redeemed_as_a_voucher() {
    // only exam vouchers are redeemed. Carol's library code is
    // ASSIGNED to her, valid and of her organization: everything the
    // one-write redemption checks but its kind.
    let app = TestApp::spawn().await;
    let (corp, id, value) = library_code(&app).await;
    let carol = person("carol", &[Role::Learner], corp.id);
    mutate(&app, &customer_admin(&corp), ASSIGN, json!({ "codeId": id, "assignee": "carol" })).await;
    let redeemed = mutate(&app, &carol, REDEEM, json!({ "value": value, "exam": "70-740" })).await;
    assert_eq!(user_errors(&redeemed), vec!["WRONG_KIND"], "{redeemed}");
    let seen = app
        .execute(&admin(), "query($id: ID!) { node(id: $id) { ... on Code { status } } }", json!({ "id": id }))
        .await;
    assert_eq!(seen["data"]["node"]["status"], "ASSIGNED", "{seen}");
}

/// An enterprise with a fulfilled order of library access (EREF-LIB), and
/// the id and value of its first code (not assigned yet).
async fn library_code(app: &TestApp) -> (Org, String, String) {
    let corp = organization(app, json!({ "name": "Contoso Ltd", "kind": "ENTERPRISE" })).await;
    let agreement = agreement(app, &corp, "EA", "EA-2026-0001", "2026-01-01", "2028-12-31").await;
    let order = fulfilled(app, &agreement, "EREF-LIB", 2, "PRORATED").await;
    let (id, value) = codes_of(app, &order, 1).await.remove(0);
    (corp, id, value)
}

/// A partner with a CSP agreement and a fulfilled order of two `kind` codes.
async fn partner_codes(app: &TestApp, kind: &str, capacity: (&str, i32)) -> (Org, Vec<(String, String)>) {
    let create = "mutation($input: CreatePackageInput!) { createPackage(input: $input) { package { sku } userErrors { code field } } }";
    let sku = format!("CSP-{}", kind.replace('_', "-"));
    let mut input =
        json!({ "sku": sku, "name": kind, "kind": kind, "listPriceCents": 10_000, "programCodes": ["CSP"] });
    input[capacity.0] = json!(capacity.1);
    let payload = mutate(app, &admin(), create, input).await;
    assert_eq!(user_errors(&payload), Vec::<String>::new(), "{payload}");
    let partner =
        organization(app, json!({ "name": "Partner", "kind": "PARTNER", "partnerGlobalAccount": "PGA-400" })).await;
    let agreement = agreement(app, &partner, "CSP", "CSP-2026-0001", "2026-01-01", "2028-12-31").await;
    let order = fulfilled(app, &agreement, &sku, 2, "PRORATED").await;
    (partner, codes_of(app, &order, 2).await)
}

#[tokio::test]
async fn an_activation_token_is_activated_whole_on_one_tenant() {
    //
    let app = TestApp::spawn().await;
    let (partner, codes) = partner_codes(&app, "ACTIVATION_TOKEN", ("seatsPerToken", 25)).await;
    let pa = person("pa", &[Role::PartnerAdmin], partner.id);
    let value = &codes[0].1;
    assert_eq!(user_errors(&mutate(&app, &pa, ACTIVATE, json!({ "value": value })).await), vec!["BLANK"]);
    let split =
        mutate(&app, &pa, ACTIVATE, json!({ "value": value, "tenant": "contoso.onmicrosoft.com", "seats": 5 })).await;
    assert_eq!(user_errors(&split), vec!["CANNOT_SPLIT"]);
    let whole =
        mutate(&app, &pa, ACTIVATE, json!({ "value": value, "tenant": "contoso.onmicrosoft.com", "seats": 25 })).await;
    assert_eq!(whole["code"]["status"], "ACTIVE", "{whole}");
    assert_eq!(
        (whole["code"]["seats"].as_i64(), whole["code"]["tenant"].as_str()),
        (Some(25), Some("contoso.onmicrosoft.com"))
    );
    let again = mutate(&app, &pa, ACTIVATE, json!({ "value": value, "tenant": "other.onmicrosoft.com" })).await;
    assert_eq!(user_errors(&again), vec!["ALREADY_ACTIVE"]);
    // A learner of the partner holding the value cannot use an unassigned token.
    let stranger = person("temp", &[Role::Learner], partner.id);
    let tried = mutate(&app, &stranger, ACTIVATE, json!({ "value": codes[1].1, "tenant": "x.example" })).await;
    assert_eq!(user_errors(&tried), vec!["NOT_ASSIGNED_TO_YOU"]);
}

const REPLACE: &str = "mutation($input: IssueReplacementTokenInput!) {
    issueReplacementToken(input: $input) {
        original { status replacedBy { id } } replacement { status seats replaces { id } } userErrors { code }
    }
}";

#[tokio::test]
async fn a_replacement_token_is_issued_once_through_day_thirty_after_activation() {
    // activated on D = 2026-11-21; allowed through D + 30 = 2026-12-21, refused from 2026-12-22.
    let app = TestApp::spawn().await;
    let (partner, codes) = partner_codes(&app, "ACTIVATION_TOKEN", ("seatsPerToken", 25)).await;
    let pa = person("pa", &[Role::PartnerAdmin], partner.id);
    for (_, value) in &codes {
        mutate(&app, &pa, ACTIVATE, json!({ "value": value, "tenant": "wrong.onmicrosoft.com" })).await;
    }
    app.clock.set(Utc.with_ymd_and_hms(2026, 12, 21, 23, 0, 0).unwrap());
    let replaced = mutate(&app, &pa, REPLACE, json!({ "codeId": codes[0].0, "seats": 20 })).await;
    assert_eq!(user_errors(&replaced), Vec::<String>::new(), "{replaced}");
    assert_eq!(replaced["original"]["status"], "REPLACED");
    assert_eq!(replaced["replacement"]["status"], "ISSUED");
    assert_eq!(replaced["replacement"]["seats"], 20);
    assert_eq!(replaced["replacement"]["replaces"]["id"], codes[0].0.as_str());
    let twice = mutate(&app, &pa, REPLACE, json!({ "codeId": codes[0].0 })).await;
    assert_eq!(user_errors(&twice), vec!["REPLACEMENT_ALREADY_ISSUED"]);
    let more = mutate(&app, &pa, REPLACE, json!({ "codeId": codes[1].0, "seats": 26 })).await;
    assert_eq!(user_errors(&more), vec!["OUT_OF_RANGE"], "a replacement never adds seats");
    app.clock.set(Utc.with_ymd_and_hms(2026, 12, 22, 0, 0, 0).unwrap());
    let late = mutate(&app, &pa, REPLACE, json!({ "codeId": codes[1].0 })).await;
    assert_eq!(user_errors(&late), vec!["REPLACEMENT_WINDOW_CLOSED"]);
    // Seats, tenants, activations and a replacement filled in.
    assert_code_rows_read_alike(&app.db).await;
    assert_brief_codes_answer_alike(&app).await;
}

#[tokio::test]
async fn concurrent_activations_of_a_product_key_stop_at_its_count() {
    // a 3-activation key, 12 clients at once: 3 succeed, 9 are told none is left.
    let app = roomy().await;
    let (partner, codes) = partner_codes(&app, "PRODUCT_KEY", ("activationsPerKey", 3)).await;
    let pa = person("pa", &[Role::PartnerAdmin], partner.id);
    let value = codes[0].1.clone();
    let attempts = (0..12).map(|_| {
        let (app, pa, value) = (&app, pa.clone(), value.clone());
        async move { mutate(app, &pa, ACTIVATE, json!({ "value": value })).await }
    });
    let results: Vec<Value> = futures_util::future::join_all(attempts).await;
    let wins = results.iter().filter(|p| user_errors(p).is_empty()).count();
    let none_left = results.iter().filter(|p| user_errors(p) == vec!["NO_ACTIVATIONS_LEFT"]).count();
    assert_eq!((wins, none_left), (3, 9), "{results:?}");
    let seen = app
        .execute(
            &admin(),
            "query($id: ID!) { node(id: $id) { ... on Code { activationsLeft events { action detail } } } }",
            json!({ "id": codes[0].0 }),
        )
        .await;
    assert_eq!(seen["data"]["node"]["activationsLeft"], 0);
    assert_eq!(seen["data"]["node"]["events"].as_array().unwrap().len(), 4, "{seen}");
    // Activations allowed and used filled in.
    assert_code_rows_read_alike(&app.db).await;
    assert_brief_codes_answer_alike(&app).await;
}

const VALIDATE: &str = "query($v: String!) { validateCode(value: $v) { usable problem kind status expiresOn } }";

#[tokio::test]
async fn validate_code_says_why_without_changing_anything() {
    let app = TestApp::spawn().await;
    let v = assigned_voucher(&app).await;
    let learner = ada(&v.school);
    let ask = |who: licensegraph::auth::Viewer, value: String| {
        let app = &app;
        async move { app.execute(&who, VALIDATE, json!({ "v": value })).await["data"]["validateCode"].clone() }
    };
    let ok = ask(learner.clone(), v.value.clone()).await;
    assert_eq!(
        ok,
        json!({ "usable": true, "problem": null, "kind": "EXAM_VOUCHER", "status": "ASSIGNED", "expiresOn": "2027-06-30" })
    );
    // A typo (one symbol changed) is told apart from an unknown code.
    let mut typo: Vec<char> = v.value.chars().collect();
    typo[0] = if typo[0] == 'A' { 'B' } else { 'A' };
    assert_eq!(ask(learner.clone(), typo.into_iter().collect()).await["problem"], "CHECK_CHARACTER_MISMATCH");
    let bob = person("bob", &[Role::Learner], v.school.id);
    assert_eq!(ask(bob, v.value.clone()).await["problem"], "NOT_ASSIGNED_TO_YOU");
    // Another organization: exactly as unknown.
    let other = academic(&app, "Elsewhere").await;
    let unknown = json!({ "usable": false, "problem": "UNKNOWN", "kind": null, "status": null, "expiresOn": null });
    assert_eq!(ask(customer_admin(&other), v.value.clone()).await, unknown);
    for value in ["22222-22222-22222-22222-2", "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ-Z", "nonsense", ""] {
        let answer = ask(learner.clone(), value.to_owned()).await;
        assert!(answer == unknown || answer["problem"] == "CHECK_CHARACTER_MISMATCH", "{value}: {answer}");
    }
    // Nothing changed.
    assert_eq!(ask(learner.clone(), v.value.clone()).await["usable"], true);
    mutate(&app, &learner, REDEEM, json!({ "value": v.value, "exam": "70-740" })).await;
    assert_eq!(ask(learner, v.value.clone()).await["problem"], "ALREADY_REDEEMED");
    let anonymous = app.execute(&licensegraph::auth::Viewer::anonymous(), VALIDATE, json!({ "v": v.value })).await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
}

/// a class pack's vouchers are usable for one year from delivery,
/// never past the order's end; `expiresOn`, `EXPIRED`, `validateCode`, the
/// redemption and the CSV export agree on the day.
#[tokio::test]
async fn pack_vouchers_last_one_year_from_delivery() {
    let app = roomy().await;
    let school = academic(&app, "Year School").await;
    let agreement = agreement(&app, &school, "SELECT_PLUS_EDU", "EES-2026-0600", "2026-01-01", "2028-12-31").await;
    app.clock.set(Utc.with_ymd_and_hms(2027, 3, 15, 12, 0, 0).unwrap());
    let order = fulfilled(&app, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    let codes = codes_of(&app, &order, 2).await;
    let ada = ada(&school);
    for (id, _) in &codes {
        let payload = mutate(&app, &customer_admin(&school), ASSIGN, json!({ "codeId": id, "assignee": "ada" })).await;
        assert_eq!(user_errors(&payload), Vec::<String>::new(), "{payload}");
    }
    let check = |value: String| {
        let (app, ada) = (&app, ada.clone());
        async move { app.execute(&ada, VALIDATE, json!({ "v": value })).await["data"]["validateCode"].clone() }
    };
    // The order runs to 2028-12-31; its vouchers through 2028-03-14.
    app.clock.set(Utc.with_ymd_and_hms(2028, 3, 14, 23, 59, 59).unwrap());
    let last_day = check(codes[0].1.clone()).await;
    assert_eq!((last_day["usable"].clone(), last_day["expiresOn"].clone()), (json!(true), json!("2028-03-14")));
    let redeemed = mutate(&app, &ada, REDEEM, json!({ "value": codes[0].1, "exam": "70-740" })).await;
    assert_eq!(user_errors(&redeemed), Vec::<String>::new(), "the last day still counts: {redeemed}");
    let csv = export(&app, &order, Some(app.token("desk", &[Role::Admin], None))).await;
    assert!(csv.text.lines().skip(1).all(|line| line.ends_with(",2028-03-14")), "{}", csv.text);
    app.clock.set(Utc.with_ymd_and_hms(2028, 3, 15, 0, 0, 0).unwrap());
    let after = check(codes[1].1.clone()).await;
    assert_eq!((after["usable"].clone(), after["status"].clone()), (json!(false), json!("EXPIRED")), "{after}");
    let refused = mutate(&app, &ada, REDEEM, json!({ "value": codes[1].1, "exam": "70-740" })).await;
    assert_eq!(user_errors(&refused), vec!["EXPIRED"], "{refused}");
    let listed = app
        .execute(
            &admin(),
            "query($o: ID!) { codes(orderId: $o, first: 2) { nodes { status expiresOn } } }",
            json!({ "o": order }),
        )
        .await;
    assert_eq!(
        listed["data"]["codes"]["nodes"][1],
        json!({ "status": "EXPIRED", "expiresOn": "2028-03-14" }),
        "{listed}"
    );
}

/// The customers' worklist: `codes(expiringWithinDays: N)` lists the codes
/// that can still be used and whose last day falls in the next N days,
/// today included; used-up and expired codes never.
#[tokio::test]
async fn codes_expiring_within_days_are_the_usable_ones_ending_soon() {
    let app = roomy().await;
    let v = assigned_voucher(&app).await; // a class pack: codes end 2027-06-30
    let boss = customer_admin(&v.school);
    let count = |days: i32| {
        let (app, boss) = (&app, boss.clone());
        async move {
            let q = "query($d: Int) { codes(expiringWithinDays: $d) { totalCount } }";
            let answer = app.execute(&boss, q, json!({ "d": days })).await;
            answer["data"]["codes"]["totalCount"].as_i64().unwrap_or(-1)
        }
    };
    // On 2027-06-01 the last day is 30 days away (today counts): within 30, not 29.
    app.clock.set(Utc.with_ymd_and_hms(2027, 6, 1, 8, 0, 0).unwrap());
    assert_eq!((count(29).await, count(30).await), (0, 30));
    // A redeemed voucher no longer expires.
    mutate(&app, &ada(&v.school), REDEEM, json!({ "value": v.value, "exam": "70-740" })).await;
    assert_eq!(count(30).await, 29);
    // On its last day, within 1; the day after, nothing.
    app.clock.set(Utc.with_ymd_and_hms(2027, 6, 30, 8, 0, 0).unwrap());
    assert_eq!(count(1).await, 29);
    app.clock.set(Utc.with_ymd_and_hms(2027, 7, 1, 8, 0, 0).unwrap());
    assert_eq!(count(366).await, 0);
    let refused = app.execute(&boss, "{ codes(expiringWithinDays: 0) { totalCount } }", json!({})).await;
    assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn code_attempts_are_rate_limited_per_subject() {
    // 30 attempts a minute by default, shared by validate, redeem and activate.
    let app = TestApp::spawn().await;
    let school = academic(&app, "Limit School").await;
    let guesser = person("guesser", &[Role::Learner], school.id);
    for _ in 0..30 {
        let answer = app.execute(&guesser, VALIDATE, json!({ "v": "22222-22222-22222-22222-2" })).await;
        assert!(answer["errors"].is_null(), "{answer}");
    }
    let blocked = app.execute(&guesser, VALIDATE, json!({ "v": "22222-22222-22222-22222-2" })).await;
    assert_eq!(error_code(&blocked), Some("RATE_LIMITED"));
    assert_eq!(blocked["errors"][0]["extensions"]["retryAfterSeconds"], 60, "the clock is at 09:30:00");
    let redeem = app.execute(&guesser, REDEEM, json!({ "input": { "value": "x", "exam": "70-740" } })).await;
    assert_eq!(error_code(&redeem), Some("RATE_LIMITED"));
    // Over HTTP: 429 with Retry-After (issue 5 item 3).
    let token = app.token("guesser", &[Role::Learner], Some(school.id));
    let http = app.post(Some(&token), VALIDATE, json!({ "v": "x" })).await;
    assert_eq!(
        (http.status.as_u16(), http.header("retry-after"), http.code()),
        (429, Some("60"), Some("RATE_LIMITED"))
    );
    app.clock.set(Utc.with_ymd_and_hms(2026, 11, 21, 9, 30, 45).unwrap());
    let later = app.post(Some(&token), VALIDATE, json!({ "v": "x" })).await;
    assert_eq!(later.header("retry-after"), Some("15"));
    let other = person("someone-else", &[Role::Learner], school.id);
    assert!(app.execute(&other, VALIDATE, json!({ "v": "x" })).await["errors"].is_null());
    app.clock.set(Utc.with_ymd_and_hms(2026, 11, 21, 9, 31, 0).unwrap());
    assert!(app.execute(&guesser, VALIDATE, json!({ "v": "x" })).await["errors"].is_null(), "a new minute");
}

#[tokio::test]
async fn voucher_plan_counts_vouchers_and_checks_the_time_left() {
    // 40 people x 2 certifications x 3 exams = 240 vouchers; on
    // 2026-11-21 the agreement (ending 2027-06-30) has 8 started months left.
    let app = TestApp::spawn().await;
    let school = academic(&app, "Plan School").await;
    let agreement = academic_year(&app, &school, "EES-2026-0200").await;
    let query = "query($input: VoucherPlanInput!) { voucherPlan(input: $input) { vouchersNeeded monthsLeft preparationMonths enoughTime } }";
    let input = |level: &str| json!({ "input": { "agreementId": agreement, "people": 40, "certificationsEach": 2, "examsPerCertification": 3, "level": level } });
    let basic = app.execute(&customer_admin(&school), query, input("BASIC")).await;
    assert_eq!(
        basic["data"]["voucherPlan"],
        json!({ "vouchersNeeded": 240, "monthsLeft": 8, "preparationMonths": 6, "enoughTime": true })
    );
    let advanced = app.execute(&customer_admin(&school), query, input("ADVANCED")).await;
    assert_eq!(advanced["data"]["voucherPlan"]["enoughTime"], false);
    let other = academic(&app, "Not Mine").await;
    assert!(app.execute(&customer_admin(&other), query, input("BASIC")).await["data"]["voucherPlan"].is_null());
    let mut zero = input("BASIC");
    zero["input"]["people"] = json!(0);
    assert_eq!(error_code(&app.execute(&admin(), query, zero).await), Some("BAD_USER_INPUT"));
}

async fn export(app: &TestApp, order: &str, token: Option<String>) -> crate::helpers::TestResponse {
    let mut request = axum::http::Request::builder().uri(format!("/exports/orders/{order}/codes.csv"));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    app.http(request.body(axum::body::Body::empty()).unwrap()).await
}

#[tokio::test]
async fn the_owning_customer_admin_exports_an_orders_codes_as_csv() {
    let app = TestApp::spawn().await;
    let reseller =
        organization(&app, json!({ "name": "Shop", "kind": "PARTNER", "partnerGlobalAccount": "PGA-500" })).await;
    let v = assigned_voucher(&app).await;
    let link = "mutation($input: LinkResellerInput!) { linkReseller(input: $input) { userErrors { code } } }";
    mutate(&app, &admin(), link, json!({ "resellerId": reseller.gid, "customerId": v.school.gid })).await;
    let order =
        app.execute(&admin(), "{ orders { nodes { id } } }", json!({})).await["data"]["orders"]["nodes"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let owner = export(&app, &order, Some(app.token("boss", &[Role::CustomerAdmin], Some(v.school.id)))).await;
    assert_eq!(owner.status, 200, "{}", owner.text);
    assert_eq!(owner.header("content-type"), Some("text/csv; charset=utf-8"));
    let lines: Vec<&str> = owner.text.lines().collect();
    assert_eq!(lines[0], "value,kind,status,assignee,expiresOn");
    assert_eq!(lines.len(), 31, "a header and 30 vouchers");
    assert_eq!(lines[1], format!("{},EXAM_VOUCHER,ASSIGNED,ada,2027-06-30", v.value));
    assert_eq!(lines[2].split(',').nth(2), Some("ISSUED"));
    let desk = export(&app, &order, Some(app.token("desk", &[Role::Admin], None))).await;
    assert_eq!(desk.status, 200);
    // Someone else's order is missing; a reseller sees the order but may not export it.
    let other = academic(&app, "Other").await;
    let stranger = export(&app, &order, Some(app.token("eve", &[Role::CustomerAdmin], Some(other.id)))).await;
    assert_eq!((stranger.status.as_u16(), stranger.code()), (404, Some("NOT_FOUND")));
    let missing =
        export(&app, &licensegraph::id::encode("Order", 999_999), Some(app.token("desk", &[Role::Admin], None))).await;
    assert_eq!(missing.status, 404);
    let shop = export(&app, &order, Some(app.token("shop", &[Role::Reseller], Some(reseller.id)))).await;
    assert_eq!(shop.status, 403);
    let learner = export(&app, &order, Some(app.token("ada", &[Role::Learner], Some(v.school.id)))).await;
    assert_eq!(learner.status, 404);
    assert_eq!(export(&app, &order, None).await.status, 401);
    assert_eq!(export(&app, &order, Some("not-a-token".into())).await.status, 401);
}

#[tokio::test]
async fn the_demo_data_set_follows_the_rules_and_is_added_once() {
    let app = TestApp::spawn().await;
    let now = crate::helpers::default_now();
    let people = licensegraph::service::demo::seed_demo(&app.db, now).await.expect("demo data");
    let again = licensegraph::service::demo::seed_demo(&app.db, now).await.expect("demo data again");
    assert_eq!((people.school_id, people.reseller_id), (again.school_id, again.reseller_id));
    let boss = person("boss@contoso.example", &[Role::CustomerAdmin], people.school_id);
    let seen = app
        .execute(&boss, "{ orders { totalCount } codes(status: REDEEMED) { totalCount } assigned: codes(status: ASSIGNED) { totalCount } }", json!({}))
        .await;
    assert_eq!(
        seen["data"],
        json!({ "orders": { "totalCount": 3 }, "codes": { "totalCount": 1 }, "assigned": { "totalCount": 2 } })
    );
    // the school's EES agreement brought its Imagine Academy grant.
    let grants = app
        .execute(
            &boss,
            "{ orders(first: 10) { nodes { granted pricing { total { cents } } package { sku } } } }",
            json!({}),
        )
        .await;
    let granted: Vec<&Value> =
        grants["data"]["orders"]["nodes"].as_array().expect("orders").iter().filter(|o| o["granted"] == true).collect();
    assert_eq!(
        granted,
        [&json!({ "granted": true, "pricing": { "total": { "cents": 0 } }, "package": { "sku": "IMAGINE-ACADEMY" } })]
    );
    let learner = person(&people.learner, &[Role::Learner], people.school_id);
    let mine = app.execute(&learner, "{ codes { nodes { status value } } }", json!({})).await;
    assert_eq!(mine["data"]["codes"]["nodes"][0]["status"], "ASSIGNED");
    assert!(mine["data"]["codes"]["nodes"][0]["value"].is_string());
    let partner = person("ada@northwind.example", &[Role::PartnerAdmin], people.reseller_id);
    // Verified facts and, apart, what the partner submitted itself.
    let facts = app
        .execute(
            &partner,
            "query($org: ID!) { membershipEligibility(organizationId: $org, offer: LEARNING_ACTION_PACK) {
                partner { certifiedTrainers passedExams } pending { certifiedTrainers passedExams kpiRecords } } }",
            json!({ "org": licensegraph::id::encode("Organization", people.reseller_id) }),
        )
        .await;
    assert_eq!(
        facts["data"]["membershipEligibility"],
        json!({ "partner": { "certifiedTrainers": 1, "passedExams": 1 },
                "pending": { "certifiedTrainers": 1, "passedExams": 1, "kpiRecords": 0 } }),
        "{facts}"
    );
    let memberships =
        app.execute(&partner, "{ memberships { nodes { offer status benefits { totalCount } } } }", json!({})).await;
    assert_eq!(
        memberships["data"]["memberships"]["nodes"],
        json!([
            { "offer": "LEARNING_ACTION_PACK", "status": "ACTIVE", "benefits": { "totalCount": 7 } },
            { "offer": "ACTION_PACK", "status": "ACTIVE", "benefits": { "totalCount": 5 } },
        ]),
        "{memberships}"
    );
}

#[tokio::test]
async fn listing_codes_deep_in_a_large_table_is_an_index_range_scan_not_an_offset() {
    // Item 7 of the issue: keyset pagination. SQLite's plan for the scoped,
    // filtered listing after a cursor must search an index, never scan.
    use sea_orm::{ConnectionTrait, DbBackend, QueryTrait, Statement};
    let app = TestApp::spawn().await;
    if app.db.get_database_backend() != DbBackend::Sqlite {
        return; // PostgreSQL plans depend on table statistics; the SQL is the same.
    }
    let boss = person("boss", &[Role::CustomerAdmin], 7);
    let today = crate::helpers::default_now().date_naive();
    for filter in [
        licensegraph::service::codes::CodeFilter::default(),
        licensegraph::service::codes::CodeFilter {
            status: Some(entity::enums::CodeStatus::Issued),
            ..Default::default()
        },
    ] {
        let select = licensegraph::service::codes::codes_query(&boss, &filter, today);
        let page = licensegraph::service::page::fetch(
            &app.db,
            select.clone(),
            entity::code::Column::Id,
            licensegraph::service::page::PageRequest::Forward { size: 20, after: Some(999_000), before: None },
        )
        .await
        .unwrap();
        assert!(page.items.is_empty());
        let sql = {
            use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
            select
                .filter(entity::code::Column::Id.gt(999_000))
                .order_by_asc(entity::code::Column::Id)
                .limit(21)
                .build(DbBackend::Sqlite)
                .to_string()
        };
        let plan = app
            .db
            .query_all_raw(Statement::from_string(DbBackend::Sqlite, format!("EXPLAIN QUERY PLAN {sql}")))
            .await
            .unwrap();
        let details: Vec<String> = plan.iter().map(|row| row.try_get::<String>("", "detail").unwrap()).collect();
        let codes_step = details.iter().find(|d| d.contains("codes")).expect("a step on codes");
        assert!(codes_step.starts_with("SEARCH"), "{details:?}");
        assert!(!sql.contains("OFFSET"), "{sql}");
    }
}

#[tokio::test]
async fn codes_of_a_twelve_month_subscription_expire_with_it_and_survive_the_packages_retirement() {
    // a subscription's codes expire when it ends, not with the agreement;
    // retiring the package leaves issued codes usable.
    let app = TestApp::spawn().await;
    let school = academic(&app, "Subscription School").await;
    let agreement = agreement(&app, &school, "SELECT_PLUS_EDU", "EES-2026-0300", "2026-07-01", "2029-06-30").await;
    let order = fulfilled(&app, &agreement, "CLASS-MCP-30", 1, "TWELVE_MONTHS").await;
    let (id, value) = codes_of(&app, &order, 1).await.remove(0);
    let expires = app
        .execute(&admin(), "query($id: ID!) { node(id: $id) { ... on Code { expiresOn } } }", json!({ "id": id }))
        .await;
    assert_eq!(expires["data"]["node"]["expiresOn"], "2027-11-20");
    let retire = "mutation($input: UpdatePackageInput!) { updatePackage(input: $input) { package { retired } userErrors { code } } }";
    let package =
        app.execute(&admin(), "{ package(sku: \"CLASS-MCP-30\") { id } }", json!({})).await["data"]["package"]["id"]
            .clone();
    let retired = mutate(&app, &admin(), retire, json!({ "id": package, "retired": true })).await;
    assert_eq!(retired["package"]["retired"], true);
    mutate(&app, &customer_admin(&school), ASSIGN, json!({ "codeId": id, "assignee": "ada" })).await;
    let redeemed = mutate(&app, &ada(&school), REDEEM, json!({ "value": value, "exam": "70-740" })).await;
    assert_eq!(redeemed["code"]["status"], "REDEEMED", "{redeemed}");
}

#[tokio::test]
async fn a_mixed_plan_counts_held_vouchers_and_suggests_the_cheapest_packs() {
    // R-20 with R-13's catalog: 620 basic vouchers and 40 for exam 70-740
    // (advanced), on 2026-11-21 under an agreement ending 2027-06-30 (8
    // started months). The school holds 30 unused class-pack vouchers.
    let app = TestApp::spawn().await;
    let school = academic(&app, "Mixed Plan School").await;
    let agreement = academic_year(&app, &school, "SPE-2026-0620").await;
    fulfilled(&app, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    let query = "query($input: VoucherPlanInput!) { voucherPlan(input: $input) {
        vouchersNeeded preparationMonths enoughTime heldUnused toOrder unmetVouchers suggestedTotalCents
        parts { level vouchersNeeded enoughTime heldUnused toOrder }
        suggestedOrders { package { sku } quantity vouchers term monthsCharged totalCents } } }";
    let input = json!({ "input": { "agreementId": agreement, "parts": [
        { "people": 310, "certificationsEach": 2, "examsPerCertification": 1, "level": "BASIC" },
        { "people": 40, "certificationsEach": 1, "examsPerCertification": 1, "exams": ["70-740"] },
    ] } });
    let plan = app.execute(&customer_admin(&school), query, input.clone()).await;
    assert_eq!(
        plan["data"]["voucherPlan"],
        json!({
            "vouchersNeeded": 660, "preparationMonths": 12, "enoughTime": false,
            "heldUnused": 30, "toOrder": 630, "unmetVouchers": 0, "suggestedTotalCents": 2_366_667,
            "parts": [
                { "level": "BASIC", "vouchersNeeded": 620, "enoughTime": true, "heldUnused": 0, "toOrder": 620 },
                { "level": "ADVANCED", "vouchersNeeded": 40, "enoughTime": false, "heldUnused": 30, "toOrder": 10 },
            ],
            // 620 basic: one 500-pack and one 125-pack (21 666.67), cheaper than
            // five 125-packs (23 750.00) or two 500-packs (33 333.34).
            "suggestedOrders": [
                { "package": { "sku": "SITE-MOS-MTA-MCE-500" }, "quantity": 1, "vouchers": 500, "term": "PRORATED",
                  "monthsCharged": 8, "totalCents": 1_666_667 },
                { "package": { "sku": "SITE-MTA-MOS-MCE-125" }, "quantity": 1, "vouchers": 125, "term": "PRORATED",
                  "monthsCharged": 8, "totalCents": 500_000 },
                { "package": { "sku": "CLASS-MCP-30" }, "quantity": 1, "vouchers": 30, "term": "PRORATED",
                  "monthsCharged": 8, "totalCents": 200_000 },
            ],
        }),
        "{plan}"
    );
    // A learner of the school plans too, but what the school holds is its administrators' to see.
    let learner = crate::fixtures::person("ada@school.example", &[licensegraph::auth::Role::Learner], school.id);
    let theirs = app.execute(&learner, query, input.clone()).await;
    assert_eq!(theirs["data"]["voucherPlan"]["heldUnused"], 0, "{theirs}");
    assert_eq!(theirs["data"]["voucherPlan"]["toOrder"], 660);
    // A plan is one part's fields or `parts`, never both.
    let mut both = input;
    both["input"]["people"] = json!(3);
    assert_eq!(error_code(&app.execute(&admin(), query, both).await), Some("BAD_USER_INPUT"));
}
