//! Partner memberships (R-21 .. ).

use chrono::{TimeZone, Utc};
use licensegraph::auth::{Role, Viewer};
use serde_json::{Value, json};

use crate::{
    fixtures::*,
    helpers::{TestApp, admin, error_code},
};

pub const ENROLL: &str = "mutation($input: EnrollMembershipInput!) {
    enrollMembership(input: $input) {
        membership { id offer level competency purchasedOn upgradeDiscount } userErrors { code field message }
    }
}";

pub const RENEW: &str = "mutation($input: RenewMembershipInput!) {
    renewMembership(input: $input) { membership { renewals anniversary } userErrors { code field message } }
}";

const REACTIVATE: &str = "mutation($input: ReactivateMembershipInput!) {
    reactivateMembership(input: $input) { membership { status exceptions { reason grantedBy } } userErrors { code } }
}";

pub const TRAINER: &str = "mutation($input: AddCertifiedTrainerInput!) {
    addCertifiedTrainer(input: $input) { trainer { id mctId } userErrors { code field } }
}";

pub async fn partner(app: &TestApp, name: &str, pga: &str) -> (Org, Viewer) {
    let org = organization(app, json!({ "name": name, "kind": "PARTNER", "partnerGlobalAccount": pga })).await;
    let pa = person(&format!("admin@{pga}"), &[Role::PartnerAdmin], org.id);
    (org, pa)
}

pub async fn enroll(app: &TestApp, who: &Viewer, org: &Org, offer: &str) -> Value {
    mutate(app, who, ENROLL, json!({ "organizationId": org.gid, "offer": offer })).await
}

#[tokio::test]
async fn a_learning_action_pack_needs_a_certified_trainer() {
    //
    let app = TestApp::spawn().await;
    let (org, pa) = partner(&app, "Northwind", "PGA-1").await;
    let refused = enroll(&app, &pa, &org, "LEARNING_ACTION_PACK").await;
    assert_eq!(user_errors(&refused), vec!["NO_CERTIFIED_TRAINER"]);
    assert!(refused["userErrors"][0]["message"].as_str().unwrap().contains("R-25"), "{refused}");
    let added =
        mutate(&app, &pa, TRAINER, json!({ "organizationId": org.gid, "name": "Grace", "mctId": "MCT-1001" })).await;
    assert_eq!(user_errors(&added), Vec::<String>::new(), "{added}");
    let twice =
        mutate(&app, &pa, TRAINER, json!({ "organizationId": org.gid, "name": "Grace", "mctId": "MCT-1001" })).await;
    assert_eq!(user_errors(&twice), vec!["TAKEN"]);
    // the partner's word is not enough; the trainer counts once the desk verifies it.
    let pending = enroll(&app, &pa, &org, "LEARNING_ACTION_PACK").await;
    assert_eq!(user_errors(&pending), vec!["NO_CERTIFIED_TRAINER"]);
    verify(&app, "reviewCertifiedTrainer", &added["trainer"]["id"]).await;
    let accepted = enroll(&app, &pa, &org, "LEARNING_ACTION_PACK").await;
    assert_eq!(accepted["membership"]["offer"], "LEARNING_ACTION_PACK", "{accepted}");
    assert_eq!(accepted["membership"]["purchasedOn"], "2026-11-21");
}

#[tokio::test]
async fn two_concurrent_action_pack_enrolments_on_one_account_give_exactly_one() {
    // R-24, settled by the database's partial unique index on both engines.
    let app = TestApp::spawn().await;
    let (org, pa) = partner(&app, "Northwind", "PGA-2").await;
    let attempts = (0..8).map(|_| enroll(&app, &pa, &org, "ACTION_PACK"));
    let results: Vec<Value> = futures_util::future::join_all(attempts).await;
    let wins = results.iter().filter(|p| user_errors(p).is_empty()).count();
    let taken = results.iter().filter(|p| user_errors(p) == vec!["ACTION_PACK_TAKEN"]).count();
    assert_eq!((wins, taken), (1, 7), "{results:?}");
    let again = enroll(&app, &pa, &org, "ACTION_PACK").await;
    assert_eq!(user_errors(&again), vec!["ACTION_PACK_TAKEN"]);
}

#[tokio::test]
async fn the_renewal_window_and_status_follow_the_calendar_to_the_day() {
    // purchased 2020-09-01 -> window 2021-09-02 .. 2021-10-01.
    let app = TestApp::spawn().await;
    app.clock.set(Utc.with_ymd_and_hms(2020, 9, 1, 10, 0, 0).unwrap());
    let (org, pa) = partner(&app, "Northwind", "PGA-3").await;
    let id = enroll(&app, &pa, &org, "ACTION_PACK").await["membership"]["id"].as_str().unwrap().to_owned();
    let query = "query($id: ID!, $on: Date!) { membership(id: $id) {
        anniversary(asOf: $on) status(asOf: $on) benefitsActive(asOf: $on) renewalWindow(asOf: $on) { opensOn closesOn } } }";
    for (on, status, benefits) in [
        ("2021-09-01", "ACTIVE", true),
        ("2021-09-02", "IN_RENEWAL_WINDOW", true),
        ("2021-10-01", "IN_RENEWAL_WINDOW", true),
        ("2021-10-02", "EXPIRED", false),
    ] {
        let seen = app.execute(&pa, query, json!({ "id": id, "on": on })).await;
        let m = &seen["data"]["membership"];
        assert_eq!(
            (m["status"].as_str(), m["benefitsActive"].as_bool()),
            (Some(status), Some(benefits)),
            "{on}: {seen}"
        );
        assert_eq!(m["anniversary"], "2021-09-01");
        assert_eq!(m["renewalWindow"], json!({ "opensOn": "2021-09-02", "closesOn": "2021-10-01" }));
    }
}

#[tokio::test]
async fn a_29_february_purchase_renews_around_28_february() {
    //
    let app = TestApp::spawn().await;
    app.clock.set(Utc.with_ymd_and_hms(2024, 2, 29, 10, 0, 0).unwrap());
    let (org, pa) = partner(&app, "Leap", "PGA-4").await;
    let id = enroll(&app, &pa, &org, "ACTION_PACK").await["membership"]["id"].as_str().unwrap().to_owned();
    let query = "query($id: ID!) { membership(id: $id) { anniversary renewalWindow { opensOn closesOn } } }";
    let seen = app.execute(&pa, query, json!({ "id": id })).await;
    assert_eq!(
        seen["data"]["membership"],
        json!({ "anniversary": "2025-02-28", "renewalWindow": { "opensOn": "2025-03-01", "closesOn": "2025-03-30" } })
    );
}

#[tokio::test]
async fn renewal_needs_the_window_the_fee_and_the_profile_and_expiry_needs_an_exception() {
    //
    let app = TestApp::spawn().await;
    app.clock.set(Utc.with_ymd_and_hms(2020, 9, 1, 10, 0, 0).unwrap());
    let (org, pa) = partner(&app, "Northwind", "PGA-5").await;
    let id = enroll(&app, &pa, &org, "ACTION_PACK").await["membership"]["id"].as_str().unwrap().to_owned();
    let renew = |fee: bool, profile: bool| json!({ "id": id, "feePaid": fee, "profileReviewed": profile });
    app.clock.set(Utc.with_ymd_and_hms(2021, 9, 1, 23, 0, 0).unwrap());
    assert_eq!(user_errors(&mutate(&app, &pa, RENEW, renew(true, true)).await), vec!["RENEWAL_WINDOW_NOT_OPEN"]);
    app.clock.set(Utc.with_ymd_and_hms(2021, 9, 2, 8, 0, 0).unwrap());
    assert_eq!(
        user_errors(&mutate(&app, &pa, RENEW, renew(false, false)).await),
        vec!["FEE_NOT_PAID", "PROFILE_NOT_REVIEWED"]
    );
    let renewed = mutate(&app, &pa, RENEW, renew(true, true)).await;
    assert_eq!(renewed["membership"], json!({ "renewals": 1, "anniversary": "2022-09-01" }), "{renewed}");
    // The next year nobody renews: expired from 2022-10-02.
    app.clock.set(Utc.with_ymd_and_hms(2022, 10, 2, 0, 0, 0).unwrap());
    assert_eq!(user_errors(&mutate(&app, &pa, RENEW, renew(true, true)).await), vec!["MEMBERSHIP_EXPIRED"]);
    let reason = json!({ "id": id, "reason": "ticket 4711: payment lost by the bank" });
    assert_eq!(error_code(&app.execute(&pa, REACTIVATE, json!({ "input": reason })).await), Some("FORBIDDEN"));
    let blank = mutate(&app, &admin(), REACTIVATE, json!({ "id": id, "reason": " " })).await;
    assert_eq!(user_errors(&blank), vec!["BLANK"]);
    let back = mutate(&app, &admin(), REACTIVATE, reason).await;
    assert_eq!(back["membership"]["status"], "ACTIVE", "{back}");
    assert_eq!(back["membership"]["exceptions"][0]["reason"], "ticket 4711: payment lost by the bank");
    let again = mutate(&app, &admin(), REACTIVATE, json!({ "id": id, "reason": "again" })).await;
    assert_eq!(user_errors(&again), vec!["NOT_EXPIRED"]);
}

/// renewing needs the offer's requirements met again on the day,
/// checked as the dry run checks them, every unmet one listed with the fee
/// and profile; the KPIs are those of the 12 months before the anniversary
/// so last year's invoice no longer counts.
#[tokio::test]
async fn renewal_requalifies_on_the_day_and_lists_everything_unmet() {
    let app = TestApp::spawn().await;
    let (org, pa) = partner(&app, "Northwind", "PGA-RQ").await;
    requirement(&app, "Cloud Platform", "SILVER", 100, 1, 2).await;
    let trainer =
        mutate(&app, &admin(), TRAINER, json!({ "organizationId": org.gid, "name": "Grace", "mctId": "MCT-7001" }))
            .await;
    let trainer_id = trainer["trainer"]["id"].as_str().unwrap().to_owned();
    passed_exams(&app, &org, "grace", &["AZ-104", "AZ-305"]).await;
    invoice(&app, &org, (2026, 9), "INV-RQ-1", 300, 0).await;
    let input =
        json!({ "organizationId": org.gid, "offer": "COMPETENCY", "competency": "Cloud Platform", "level": "SILVER" });
    let enrolled = mutate(&app, &pa, ENROLL, input).await;
    assert_eq!(user_errors(&enrolled), Vec::<String>::new(), "{enrolled}");
    let id = enrolled["membership"]["id"].as_str().unwrap().to_owned();
    // The window of the 2027-11-21 anniversary opens on 2027-11-22; the
    // trainer has left, and the September 2026 invoice is outside
    // 2026-11-21 .. 2027-11-20.
    let removed = mutate(
        &app,
        &pa,
        "mutation($input: RemoveCertifiedTrainerInput!) { removeCertifiedTrainer(input: $input) { userErrors { code } } }",
        json!({ "id": trainer_id }),
    )
    .await;
    assert_eq!(user_errors(&removed), Vec::<String>::new(), "{removed}");
    app.clock.set(Utc.with_ymd_and_hms(2027, 11, 22, 9, 0, 0).unwrap());
    let refused = mutate(&app, &pa, RENEW, json!({ "id": id, "feePaid": false, "profileReviewed": true })).await;
    assert_eq!(user_errors(&refused), vec!["FEE_NOT_PAID", "REQUIREMENT_NOT_MET", "REQUIREMENT_NOT_MET"], "{refused}");
    let messages: Vec<&str> =
        refused["userErrors"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert!(messages[1].contains("kpiValue") || messages[2].contains("kpiValue"), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("certifiedTrainers")), "{messages:?}");
    // Facts of this year: an invoice dated June 2027 (visible since
    // 2027-07-15) and a trainer again; then it renews.
    invoice(&app, &org, (2027, 6), "INV-RQ-2", 150, 0).await;
    mutate(&app, &admin(), TRAINER, json!({ "organizationId": org.gid, "name": "Alan", "mctId": "MCT-7002" })).await;
    let renewed = mutate(&app, &pa, RENEW, json!({ "id": id, "feePaid": true, "profileReviewed": true })).await;
    assert_eq!(renewed["membership"], json!({ "renewals": 1, "anniversary": "2028-11-21" }), "{renewed}");
}

const PASSED: &str = "mutation($input: RecordPassedExamInput!) {
    recordPassedExam(input: $input) { passedExam { exam passedOn } userErrors { code field message } }
}";

pub const RECORD_KPI: &str = "mutation($input: RecordKpiInput!) {
    recordKpi(input: $input) { kpi { id invoiceNumber visibleFrom } userErrors { code field message } }
}";

const REQUIREMENT: &str = "mutation($input: SetCompetencyRequirementInput!) {
    setCompetencyRequirement(input: $input) { requirement { competency level } userErrors { code field message } }
}";

/// The desk verifies a partner's fact with `mutation` (`reviewCertifiedTrainer`,
/// `reviewPassedExam`, `reviewKpiRecord`), asserting it was accepted.
pub async fn verify(app: &TestApp, mutation: &str, id: &Value) {
    let query = format!(
        "mutation($input: ReviewCertifiedTrainerInput!) {{ {mutation}(input: $input) {{ status userErrors {{ code }} }} }}"
    )
    .replace("ReviewCertifiedTrainerInput", &format!("{}Input", capitalized(mutation)));
    let payload = mutate(app, &admin(), &query, json!({ "id": id, "verdict": "VERIFY" })).await;
    assert_eq!(payload["status"], "VERIFIED", "{payload}");
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// Records exams a partner's person passed on 2026-06-01, through the API.
pub async fn passed_exams(app: &TestApp, org: &Org, person: &str, exams: &[&str]) {
    for exam in exams {
        let input = json!({ "organizationId": org.gid, "person": person, "exam": exam, "passedOn": "2026-06-01" });
        let payload = mutate(app, &admin(), PASSED, input).await;
        assert_eq!(user_errors(&payload), Vec::<String>::new(), "{payload}");
    }
}

/// The input of `recordKpi` for an invoice dated the first of `(year, month)`.
pub fn kpi_input(org: &Org, (year, month): (i32, i32), number: &str, kpi: i64, revenue_cents: i64) -> Value {
    json!({
        "organizationId": org.gid, "invoicedOn": format!("{year:04}-{month:02}-01"), "year": year, "month": month,
        "omlpType": "OLP", "purchaseUnit": "Training",
        "documentType": "INVOICE", "invoiceNumber": number, "kpiValue": kpi, "revenueCents": revenue_cents,
    })
}

/// Records an invoice's KPI for a partner, through the API.
pub async fn invoice(app: &TestApp, org: &Org, month: (i32, i32), number: &str, kpi: i64, revenue_cents: i64) {
    let payload = mutate(app, &admin(), RECORD_KPI, kpi_input(org, month, number, kpi, revenue_cents)).await;
    assert_eq!(user_errors(&payload), Vec::<String>::new(), "{payload}");
}

/// Sets a competency level's requirements as admin: KPI, trainers, exams.
pub async fn requirement(app: &TestApp, competency: &str, level: &str, kpi: i64, trainers: i64, exams: i64) {
    let input = json!({ "competency": competency, "level": level, "minKpiValue": kpi,
        "minCertifiedTrainers": trainers, "minPassedExams": exams });
    let payload = mutate(app, &admin(), REQUIREMENT, input).await;
    assert_eq!(user_errors(&payload), Vec::<String>::new(), "{payload}");
}

#[tokio::test]
async fn competency_enrolment_lists_every_unmet_requirement_and_records_the_upgrade() {
    // requirements are data per competency and level.
    let app = TestApp::spawn().await;
    let (org, pa) = partner(&app, "Northwind", "PGA-6").await;
    requirement(&app, "Cloud Platform", "SILVER", 100, 1, 2).await;
    requirement(&app, "Cloud Platform", "GOLD", 500, 2, 4).await;
    let input = |level: &str| json!({ "organizationId": org.gid, "offer": "COMPETENCY", "competency": "Cloud Platform", "level": level });
    let refused = mutate(&app, &pa, ENROLL, input("SILVER")).await;
    assert_eq!(user_errors(&refused), vec!["REQUIREMENT_NOT_MET"; 3], "{refused}");
    // Meet SILVER: 1 trainer, 2 passed exams, 300 KPI invoiced in 2026-09 (visible from 2026-10-15).
    mutate(&app, &admin(), TRAINER, json!({ "organizationId": org.gid, "name": "Grace", "mctId": "MCT-1" })).await;
    mutate(&app, &admin(), TRAINER, json!({ "organizationId": org.gid, "name": "Alan", "mctId": "MCT-2" })).await;
    passed_exams(&app, &org, "grace", &["AZ-104", "AZ-305"]).await;
    invoice(&app, &org, (2026, 9), "INV-1", 300, 1_000_000).await;
    let silver = mutate(&app, &pa, ENROLL, input("SILVER")).await;
    assert_eq!(silver["membership"]["level"], "SILVER", "{silver}");
    let gold = mutate(&app, &pa, ENROLL, input("GOLD")).await;
    assert_eq!(
        user_errors(&gold),
        vec!["REQUIREMENT_NOT_MET", "REQUIREMENT_NOT_MET"],
        "KPI 300 < 500 and 2 exams < 4: {gold}"
    );
    passed_exams(&app, &org, "alan", &["AZ-400", "AZ-500"]).await;
    invoice(&app, &org, (2026, 10), "INV-2", 200, 500_000).await;
    // The October invoice is visible from 2026-11-15, so on 2026-11-21 KPI = 500.
    let upgraded = mutate(&app, &pa, ENROLL, input("GOLD")).await;
    assert_eq!(upgraded["membership"]["upgradeDiscount"], true, "{upgraded}");
    let silver_id = silver["membership"]["id"].as_str().unwrap();
    let ended = app
        .execute(&pa, "query($id: ID!) { membership(id: $id) { status endedReason } }", json!({ "id": silver_id }))
        .await;
    assert_eq!(ended["data"]["membership"], json!({ "status": "EXPIRED", "endedReason": "upgraded to GOLD" }));
}

#[tokio::test]
async fn a_partner_admin_acts_on_its_own_partner_account_only() {
    //
    let app = TestApp::spawn().await;
    let (mine, pa) = partner(&app, "Mine", "PGA-7").await;
    let (theirs, other) = partner(&app, "Theirs", "PGA-8").await;
    let their_id = enroll(&app, &other, &theirs, "ACTION_PACK").await["membership"]["id"].as_str().unwrap().to_owned();
    assert_eq!(user_errors(&enroll(&app, &pa, &theirs, "ACTION_PACK").await), vec!["NOT_FOUND"]);
    assert_eq!(user_errors(&enroll(&app, &pa, &mine, "ACTION_PACK").await), Vec::<String>::new());
    let seen = app
        .execute(
            &pa,
            "query($id: ID!) { node(id: $id) { id } membership(id: $id) { id } memberships { totalCount } }",
            json!({ "id": their_id }),
        )
        .await;
    assert_eq!(seen["data"], json!({ "node": null, "membership": null, "memberships": { "totalCount": 1 } }));
    let renew = mutate(&app, &pa, RENEW, json!({ "id": their_id, "feePaid": true, "profileReviewed": true })).await;
    assert_eq!(user_errors(&renew), vec!["NOT_FOUND"]);
    let customer = person("boss", &[Role::CustomerAdmin], mine.id);
    let response = app
        .execute(&customer, ENROLL, json!({ "input": { "organizationId": mine.gid, "offer": "ACTION_PACK" } }))
        .await;
    assert_eq!(error_code(&response), Some("FORBIDDEN"));
    assert_eq!(
        app.execute(&customer, "{ memberships { totalCount } }", json!({})).await["data"]["memberships"]["totalCount"],
        0
    );
}

#[tokio::test]
async fn a_page_of_memberships_with_their_exceptions_and_partners_is_batched() {
    // STYLE habit 8.
    let app = TestApp::spawn().await;
    for n in 0..5 {
        let (org, pa) = partner(&app, &format!("Partner {n}"), &format!("PGA-B{n}")).await;
        enroll(&app, &pa, &org, "ACTION_PACK").await;
    }
    let query = "{ memberships { nodes { status exceptions { reason } organization { name } } } }";
    let (response, statements) = app.execute_counting(&admin(), query, json!({})).await;
    assert_eq!(response["data"]["memberships"]["nodes"].as_array().unwrap().len(), 5, "{response}");
    assert!(statements <= 3, "{statements} statements for 5 memberships");
}

#[tokio::test]
async fn a_page_of_memberships_with_their_benefits_is_batched() {
    // STYLE habit 8: nested benefits pages are one statement for all memberships, totals another.
    let app = TestApp::spawn().await;
    for n in 0..5 {
        let (org, pa) = partner(&app, &format!("Partner {n}"), &format!("PGA-N{n}")).await;
        enroll(&app, &pa, &org, "ACTION_PACK").await;
    }
    let query = "{ memberships { nodes { benefits(first: 2) { totalCount nodes { kind product } pageInfo { hasNextPage } } } } }";
    let (response, statements) = app.execute_counting(&admin(), query, json!({})).await;
    let nodes = response["data"]["memberships"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 5, "{response}");
    for m in nodes {
        assert_eq!(m["benefits"]["totalCount"], 5, "{response}");
        assert_eq!(m["benefits"]["nodes"].as_array().unwrap().len(), 2);
        assert_eq!(m["benefits"]["pageInfo"]["hasNextPage"], true);
    }
    assert!(statements <= 3, "{statements} statements for 5 memberships with their benefits");
}
