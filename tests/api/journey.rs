//! A partner's year, through GraphQL only (issue 4's acceptance walk):
//! enrol in a LEARNING_ACTION_PACK (refused without a trainer, accepted with
//! one), record KPIs, check eligibility for SILVER, reach the renewal
//! window, renew, then let a second membership lapse and see its benefits
//! stop. R-21 .. R-28 on their boundary days.

use chrono::{TimeZone, Utc};
use licensegraph::auth::Role;
use serde_json::{Value, json};

use crate::{
    fixtures::*,
    helpers::{TestApp, admin},
};

const ENROLL: &str = "mutation($input: EnrollMembershipInput!) {
    enrollMembership(input: $input) { membership { id purchasedOn anniversary } userErrors { code field message } }
}";

const MEMBERSHIP: &str = "query($id: ID!, $on: Date) { membership(id: $id) {
    status(asOf: $on) anniversary(asOf: $on) benefitsActive(asOf: $on) renewalWindow(asOf: $on) { opensOn closesOn }
    benefits(first: 20) { nodes { kind status value } }
} }";

#[tokio::test]
async fn a_partners_year() {
    let app = TestApp::spawn().await;
    let at = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 10, 0, 0).unwrap();
    app.clock.set(at(2026, 1, 15));
    let org = organization(
        &app,
        json!({ "name": "Northwind Learning", "kind": "PARTNER", "partnerGlobalAccount": "PGA-NW" }),
    )
    .await;
    let pa = person("ada@northwind.example", &[Role::PartnerAdmin], org.id);
    let desk = crate::helpers::admin();
    let requirement = "mutation($input: SetCompetencyRequirementInput!) {
        setCompetencyRequirement(input: $input) { userErrors { code } } }";
    let set = mutate(
        &app,
        &desk,
        requirement,
        json!({ "competency": "Cloud Platform", "level": "SILVER",
        "minKpiValue": 100, "minCertifiedTrainers": 1, "minPassedExams": 1 }),
    )
    .await;
    assert_eq!(user_errors(&set), Vec::<String>::new());

    // January: the Learning Action Pack needs a certified trainer.
    let lap = json!({ "organizationId": org.gid, "offer": "LEARNING_ACTION_PACK" });
    let refused = mutate(&app, &pa, ENROLL, lap.clone()).await;
    assert_eq!(user_errors(&refused), vec!["NO_CERTIFIED_TRAINER"], "{refused}");
    let trainer = mutate(
        &app,
        &pa,
        "mutation($input: AddCertifiedTrainerInput!) { addCertifiedTrainer(input: $input) { trainer { id } userErrors { code } } }",
        json!({ "organizationId": org.gid, "name": "Grace Hopper", "mctId": "MCT-4711" }),
    )
    .await;
    assert_eq!(user_errors(&trainer), Vec::<String>::new());
    // The desk verifies the trainer before it counts.
    crate::memberships::verify(&app, "reviewCertifiedTrainer", &trainer["trainer"]["id"]).await;
    let accepted = mutate(&app, &pa, ENROLL, lap).await;
    assert_eq!(accepted["membership"]["anniversary"], "2027-01-15", "{accepted}");
    let lap_id = accepted["membership"]["id"].as_str().unwrap().to_owned();

    // February: an Action Pack too, the membership that will lapse.
    app.clock.set(at(2026, 2, 1));
    let ap = mutate(&app, &pa, ENROLL, json!({ "organizationId": org.gid, "offer": "ACTION_PACK" })).await;
    let ap_id = ap["membership"]["id"].as_str().unwrap().to_owned();

    // June: KPIs from invoices and a passed exam.
    app.clock.set(at(2026, 6, 10));
    let kpi = "mutation($input: RecordKpiInput!) { recordKpi(input: $input) { userErrors { code } } }";
    for (month, number, value, document) in
        [(3, "INV-2603", 60, "INVOICE"), (5, "INV-2605", 50, "INVOICE"), (5, "OC-2605", 500, "ORDER_CONFIRMATION")]
    {
        let input = json!({ "organizationId": org.gid, "invoicedOn": format!("2026-{month:02}-20"), "omlpType": "OLP",
            "purchaseUnit": "Training", "documentType": document, "invoiceNumber": number,
            "kpiValue": value, "revenueCents": value * 1000 });
        // KPIs come from the desk's records of marketplace purchases.
        let recorded = mutate(&app, &admin(), kpi, input).await;
        let expected: Vec<String> = if document == "INVOICE" { vec![] } else { vec!["NOT_AN_INVOICE".into()] };
        assert_eq!(user_errors(&recorded), expected, "{number}");
    }
    let exam = mutate(
        &app,
        &pa,
        "mutation($input: RecordPassedExamInput!) { recordPassedExam(input: $input) { passedExam { id } userErrors { code } } }",
        json!({ "organizationId": org.gid, "person": "grace", "exam": "AZ-104", "passedOn": "2026-06-01" }),
    )
    .await;
    assert_eq!(user_errors(&exam), Vec::<String>::new());
    // The partner reported the pass; the desk verifies it before it counts.
    crate::memberships::verify(&app, "reviewPassedExam", &exam["passedExam"]["id"]).await;

    // Eligibility for SILVER: the May invoice shows from 15 June.
    let eligibility = "query($org: ID!, $on: Date) { membershipEligibility(organizationId: $org, offer: COMPETENCY,
        competency: \"Cloud Platform\", level: SILVER, asOf: $on) {
        eligible bestLevel unmet { rule requirement required actual } } }";
    let on_14th = app.execute(&pa, eligibility, json!({ "org": org.gid, "on": "2026-06-14" })).await;
    assert_eq!(
        on_14th["data"]["membershipEligibility"],
        json!({ "eligible": false, "bestLevel": null,
                "unmet": [{ "rule": "R-26", "requirement": "kpiValue", "required": 100, "actual": 60 }] }),
        "{on_14th}"
    );
    let on_15th = app.execute(&pa, eligibility, json!({ "org": org.gid, "on": "2026-06-15" })).await;
    assert_eq!(on_15th["data"]["membershipEligibility"]["bestLevel"], "SILVER", "{on_15th}");

    // New Year: the reminder lists the LAP's anniversary first.
    let reminders = app
        .execute(
            &pa,
            "{ upcomingRenewals(within: 31, asOf: \"2027-01-01\") { on due membership { offer } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        reminders["data"]["upcomingRenewals"],
        json!([
            { "on": "2027-01-15", "due": "ANNIVERSARY", "membership": { "offer": "LEARNING_ACTION_PACK" } },
            { "on": "2027-02-01", "due": "ANNIVERSARY", "membership": { "offer": "ACTION_PACK" } },
        ]),
        "{reminders}"
    );

    // The renewal window: 2027-01-16 .. 2027-02-14. Renew inside it.
    let renew = "mutation($input: RenewMembershipInput!) {
        renewMembership(input: $input) { membership { anniversary } userErrors { code } } }";
    app.clock.set(at(2027, 1, 15));
    let early = mutate(&app, &pa, renew, json!({ "id": lap_id, "feePaid": true, "profileReviewed": true })).await;
    assert_eq!(user_errors(&early), vec!["RENEWAL_WINDOW_NOT_OPEN"]);
    app.clock.set(at(2027, 1, 16));
    let seen = app.execute(&pa, MEMBERSHIP, json!({ "id": lap_id })).await;
    assert_eq!(seen["data"]["membership"]["status"], "IN_RENEWAL_WINDOW", "{seen}");
    assert_eq!(
        seen["data"]["membership"]["renewalWindow"],
        json!({ "opensOn": "2027-01-16", "closesOn": "2027-02-14" })
    );
    let renewed = mutate(&app, &pa, renew, json!({ "id": lap_id, "feePaid": true, "profileReviewed": true })).await;
    assert_eq!(renewed["membership"]["anniversary"], "2028-01-15", "{renewed}");

    // The Action Pack is never renewed: its window 2027-02-02 .. 2027-03-03.
    let key_of = |m: &Value| -> String {
        m["benefits"]["nodes"].as_array().unwrap().iter().find(|c| c["kind"] == "PRODUCT_KEY").unwrap()["value"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    app.clock.set(at(2027, 3, 3));
    let last_day = app.execute(&pa, MEMBERSHIP, json!({ "id": ap_id })).await;
    let m = &last_day["data"]["membership"];
    assert_eq!(
        (m["status"].as_str(), m["benefitsActive"].as_bool()),
        (Some("IN_RENEWAL_WINDOW"), Some(true)),
        "{last_day}"
    );
    let key = key_of(m);
    app.clock.set(at(2027, 3, 4));
    let lapsed = app.execute(&pa, MEMBERSHIP, json!({ "id": ap_id })).await;
    let m = &lapsed["data"]["membership"];
    assert_eq!((m["status"].as_str(), m["benefitsActive"].as_bool()), (Some("EXPIRED"), Some(false)), "{lapsed}");
    assert!(m["benefits"]["nodes"].as_array().unwrap().iter().all(|c| c["status"] == "EXPIRED"), "{lapsed}");
    let activate = "mutation($input: ActivateCodeInput!) { activateCode(input: $input) { userErrors { code } } }";
    let stopped = mutate(&app, &pa, activate, json!({ "value": key })).await;
    assert_eq!(user_errors(&stopped), vec!["EXPIRED"]);
    // The renewed LAP's benefits keep working.
    let lap_now = app.execute(&pa, MEMBERSHIP, json!({ "id": lap_id })).await;
    let lap_key = key_of(&lap_now["data"]["membership"]);
    assert_eq!(user_errors(&mutate(&app, &pa, activate, json!({ "value": lap_key })).await), Vec::<String>::new());
}
