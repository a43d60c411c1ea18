//! The desk keeps its books current and Imagine Academy comes with
//! an academic agreement: corrections and renewals, what they move,
//! the history they leave, and the grant once per term.

use licensegraph::auth::Role;
use serde_json::{Value, json};

use crate::{
    fixtures::*,
    helpers::{TestApp, admin, error_code},
    memberships::partner,
};

const UPDATE_ORG: &str = "mutation($input: UpdateOrganizationInput!) {
    updateOrganization(input: $input) { organization { name accredited certiportTestingCenter } userErrors { code field } }
}";

const UPDATE_AGREEMENT: &str = "mutation($input: UpdateAgreementInput!) {
    updateAgreement(input: $input) { agreement { endsOn noticeContact } userErrors { code field } }
}";

const RENEW: &str = "mutation($input: RenewAgreementInput!) {
    renewAgreement(input: $input) {
        agreement { endsOn }
        grant { granted status startsOn endsOn deliveredTo pricing { total { cents } } codes(first: 1) { totalCount nodes { kind expiresOn } } }
        userErrors { code field message }
    }
}";

/// The grants of an agreement: `(startsOn, endsOn, codes)` of each granted order.
async fn grants(app: &TestApp, agreement: &str) -> Vec<Value> {
    let seen = app
        .execute(
            &admin(),
            "query($a: ID!) { orders(agreementId: $a, first: 50) { nodes {
                granted status startsOn endsOn deliveredTo pricing { total { cents } } codes(first: 1) { totalCount } } } }",
            json!({ "a": agreement }),
        )
        .await;
    seen["data"]["orders"]["nodes"]
        .as_array()
        .expect("orders")
        .iter()
        .filter(|o| o["granted"] == true)
        .cloned()
        .collect()
}

/// `(endsOn, first code's expiresOn)` of two orders.
async fn ends(app: &TestApp, prorated: &str, yearly: &str) -> ((Value, Value), (Value, Value)) {
    let query = "query($p: ID!, $y: ID!) {
        p: order(id: $p) { endsOn codes(first: 1) { nodes { expiresOn } } }
        y: order(id: $y) { endsOn codes(first: 1) { nodes { expiresOn } } } }";
    let seen = app.execute(&admin(), query, json!({ "p": prorated, "y": yearly })).await;
    let pick = |o: &Value| (o["endsOn"].clone(), o["codes"]["nodes"][0]["expiresOn"].clone());
    (pick(&seen["data"]["p"]), pick(&seen["data"]["y"]))
}

async fn history(app: &TestApp, kind: &str, id: &str) -> Value {
    let query = format!(
        "query($id: ID!) {{ node(id: $id) {{ ... on {kind} {{ history {{ field from to reason actor at }} }} }} }}"
    );
    app.execute(&admin(), &query, json!({ "id": id })).await["data"]["node"]["history"].clone()
}

#[tokio::test]
async fn an_accredited_institutions_ees_school_or_ovs_es_agreement_brings_its_imagine_academy_vouchers() {
    let app = TestApp::spawn().await;
    let school = academic(&app, "Imagine School").await;
    for (i, program) in ["EES", "SCHOOL", "OVS_ES"].into_iter().enumerate() {
        let agreement = agreement(&app, &school, program, &format!("IA-{i}"), "2026-07-01", "2029-06-30").await;
        // one order priced zero, fulfilled, with 30 vouchers that last the term.
        assert_eq!(
            grants(&app, &agreement).await,
            [json!({ "granted": true, "status": "FULFILLED", "startsOn": "2026-07-01", "endsOn": "2029-06-30",
                     "deliveredTo": "licensing@example.edu", "pricing": { "total": { "cents": 0 } },
                     "codes": { "totalCount": 30 } })],
            "{program}"
        );
    }
    // Not with Select Plus, not for a school that is not accredited.
    let plus = agreement(&app, &school, "SELECT_PLUS_EDU", "IA-PLUS", "2026-07-01", "2029-06-30").await;
    assert_eq!(grants(&app, &plus).await, Vec::<Value>::new());
    let unaccredited = organization(&app, json!({ "name": "Unaccredited", "kind": "ACADEMIC" })).await;
    let ees = agreement(&app, &unaccredited, "EES", "IA-UNACC", "2026-07-01", "2029-06-30").await;
    assert_eq!(grants(&app, &ees).await, Vec::<Value>::new());
    // It is never ordered by hand.
    let by_hand = place(&app, &admin(), &plus, "IMAGINE-ACADEMY", 1, "PRORATED").await;
    assert_eq!(user_errors(&by_hand), ["GRANTED_WITH_AGREEMENT"]);
}

#[tokio::test]
async fn the_grants_vouchers_book_mos_mta_fundamentals_and_mce_exams_for_faculty() {
    let app = TestApp::spawn().await;
    let school = academic(&app, "Faculty School").await;
    let agreement = agreement(&app, &school, "EES", "IA-FAC", "2026-07-01", "2029-06-30").await;
    let order = grants(&app, &agreement).await;
    assert_eq!(order.len(), 1);
    let ids = app
        .execute(
            &admin(),
            "query($a: ID!) { orders(agreementId: $a) { nodes { id granted } } }",
            json!({ "a": agreement }),
        )
        .await;
    let grant = ids["data"]["orders"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["granted"] == true)
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .expect("the grant");
    let codes = codes_of(&app, &grant, 3).await;
    for (i, (id, _)) in codes.iter().enumerate() {
        let teacher = format!("teacher{i}@faculty.example");
        let assigned =
            mutate(&app, &customer_admin(&school), ASSIGN, json!({ "codeId": id, "assignee": teacher })).await;
        assert_eq!(user_errors(&assigned), Vec::<String>::new());
    }
    let teacher = |i: usize| person(&format!("teacher{i}@faculty.example"), &[Role::Learner], school.id);
    let redeem = |i: usize, exam: &str| json!({ "value": codes[i].1, "exam": exam });
    assert_eq!(user_errors(&mutate(&app, &teacher(0), REDEEM, redeem(0, "AZ-104")).await), ["EXAM_NOT_COVERED"]);
    assert_eq!(mutate(&app, &teacher(0), REDEEM, redeem(0, "AZ-900")).await["code"]["status"], "REDEEMED");
    assert_eq!(mutate(&app, &teacher(1), REDEEM, redeem(1, "62-193")).await["code"]["status"], "REDEEMED");
}

#[tokio::test]
async fn a_renewal_starts_a_new_term_with_its_own_grant_and_keeps_the_old_terms_codes() {
    let app = TestApp::spawn().await;
    let school = academic(&app, "Renewing School").await;
    let agreement = agreement(&app, &school, "EES", "IA-REN", "2026-07-01", "2027-06-30").await;
    let old_codes = app
        .execute(&admin(), "{ codes(first: 1, status: ISSUED) { totalCount nodes { expiresOn } } }", json!({}))
        .await;
    assert_eq!(old_codes["data"]["codes"]["nodes"][0]["expiresOn"], "2027-06-30");

    // A renewal must end after the current end.
    for bad in ["2027-06-30", "2027-01-01"] {
        let refused = mutate(&app, &admin(), RENEW, json!({ "id": agreement, "endsOn": bad })).await;
        assert_eq!(user_errors(&refused), ["OUT_OF_RANGE"], "{bad}");
    }
    // Not for anyone but the desk.
    let nosy = app
        .execute(&customer_admin(&school), RENEW, json!({ "input": { "id": agreement, "endsOn": "2028-06-30" } }))
        .await;
    assert_eq!(error_code(&nosy), Some("FORBIDDEN"));

    let renewed = mutate(&app, &admin(), RENEW, json!({ "id": agreement, "endsOn": "2028-06-30" })).await;
    assert_eq!(
        renewed["grant"],
        json!({ "granted": true, "status": "FULFILLED", "startsOn": "2027-07-01", "endsOn": "2028-06-30",
                "deliveredTo": "licensing@example.edu", "pricing": { "total": { "cents": 0 } },
                "codes": { "totalCount": 30, "nodes": [{ "kind": "EXAM_VOUCHER", "expiresOn": "2028-06-30" }] } }),
        "{renewed}"
    );
    // The first term's grant keeps its term: two grants, one per term.
    let terms: Vec<(Value, Value)> =
        grants(&app, &agreement).await.iter().map(|g| (g["startsOn"].clone(), g["endsOn"].clone())).collect();
    assert_eq!(terms, [(json!("2026-07-01"), json!("2027-06-30")), (json!("2027-07-01"), json!("2028-06-30"))]);
    // The history says who renewed, when and why.
    assert_eq!(
        history(&app, "Agreement", &agreement).await,
        json!([{ "field": "endsOn", "from": "2027-06-30", "to": "2028-06-30", "reason": "renewal", "actor": "tester",
                 "at": "2026-11-21T09:30:00Z" }])
    );
}

#[tokio::test]
async fn moving_an_agreements_end_moves_the_codes_computed_from_it_and_is_kept_in_history() {
    //
    let app = TestApp::spawn().await;
    let firm = organization(&app, json!({ "name": "Moving Firm", "kind": "ENTERPRISE" })).await;
    let agreement = agreement(&app, &firm, "EA", "EA-MOVE-1", "2026-07-01", "2028-06-30").await;
    // Ordered on 2026-11-21: to the agreement's end, then a 12-month
    // subscription through 2027-11-20.
    let prorated = fulfilled(&app, &agreement, "EREF-LIB", 1, "PRORATED").await;
    let yearly = fulfilled(&app, &agreement, "EREF-LIB", 1, "TWELVE_MONTHS").await;
    let d = |s: &str| json!(s);
    assert_eq!(
        ends(&app, &prorated, &yearly).await,
        ((d("2028-06-30"), d("2028-06-30")), (d("2027-11-20"), d("2027-11-20")))
    );

    // Extended a year: what ran to the end follows; the subscription stays.
    let input = json!({ "id": agreement, "endsOn": "2029-06-30", "reason": "extension signed on ticket 4411" });
    let extended = mutate(&app, &admin(), UPDATE_AGREEMENT, input).await;
    assert_eq!(extended["agreement"]["endsOn"], "2029-06-30", "{extended}");
    assert_eq!(
        ends(&app, &prorated, &yearly).await,
        ((d("2029-06-30"), d("2029-06-30")), (d("2027-11-20"), d("2027-11-20")))
    );
    // Cut short: everything past the new end stops there.
    mutate(&app, &admin(), UPDATE_AGREEMENT, json!({ "id": agreement, "endsOn": "2027-06-30" })).await;
    assert_eq!(
        ends(&app, &prorated, &yearly).await,
        ((d("2027-06-30"), d("2027-06-30")), (d("2027-06-30"), d("2027-06-30")))
    );

    // Bad input changes nothing and leaves no history.
    let bad = mutate(
        &app,
        &admin(),
        UPDATE_AGREEMENT,
        json!({ "id": agreement, "noticeContact": "nobody", "endsOn": "2026-06-01" }),
    )
    .await;
    assert_eq!(user_errors(&bad), ["INVALID_FORMAT", "OUT_OF_RANGE"]);
    let contact =
        mutate(&app, &admin(), UPDATE_AGREEMENT, json!({ "id": agreement, "noticeContact": " it@moving.example " }))
            .await;
    assert_eq!(contact["agreement"]["noticeContact"], "it@moving.example");
    let kept = history(&app, "Agreement", &agreement).await;
    let rows: Vec<(Value, Value, Value, Value)> = kept
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["field"].clone(), c["from"].clone(), c["to"].clone(), c["reason"].clone()))
        .collect();
    assert_eq!(
        rows,
        [
            (d("noticeContact"), d("licensing@example.edu"), d("it@moving.example"), Value::Null),
            (d("endsOn"), d("2029-06-30"), d("2027-06-30"), Value::Null),
            (d("endsOn"), d("2028-06-30"), d("2029-06-30"), d("extension signed on ticket 4411")),
        ]
    );
    // The change is an extension of the term, not a renewal: no grant (and
    // an enterprise's EA brings none anyway).
    assert_eq!(grants(&app, &agreement).await, Vec::<Value>::new());
}

#[tokio::test]
async fn an_institutions_accreditation_is_the_desks_to_change_and_counts_from_then_on() {
    //
    let app = TestApp::spawn().await;
    let school = academic(&app, "Changing School").await;
    let agreement = academic_year(&app, &school, "ACC-1").await;
    let nosy = app
        .execute(&customer_admin(&school), UPDATE_ORG, json!({ "input": { "id": school.gid, "accredited": false } }))
        .await;
    assert_eq!(error_code(&nosy), Some("FORBIDDEN"));

    let input = json!({ "id": school.gid, "accredited": false, "reason": "accreditation lapsed" });
    let changed = mutate(&app, &admin(), UPDATE_ORG, input).await;
    assert_eq!(
        changed["organization"],
        json!({ "name": "Changing School", "accredited": false, "certiportTestingCenter": true })
    );
    let refused = place(&app, &admin(), &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    assert_eq!(user_errors(&refused), ["NOT_ACCREDITED"]);
    // The organization's own administrators read its history.
    let seen = app
        .execute(
            &customer_admin(&school),
            "query($id: ID!) { organization(id: $id) { history { field from to reason } } }",
            json!({ "id": school.gid }),
        )
        .await;
    assert_eq!(
        seen["data"]["organization"]["history"],
        json!([{ "field": "accredited", "from": "true", "to": "false", "reason": "accreditation lapsed" }])
    );
    // Only an academic institution is accredited; nothing changes on a refusal.
    let firm = organization(&app, json!({ "name": "Firm", "kind": "ENTERPRISE" })).await;
    let bad = mutate(&app, &admin(), UPDATE_ORG, json!({ "id": firm.gid, "accredited": true, "reason": " " })).await;
    assert_eq!(user_errors(&bad), ["INVALID_FORMAT", "BLANK"]);
    assert_eq!(history(&app, "Organization", &firm.gid).await, json!([]));
}

#[tokio::test]
async fn the_desk_records_a_membership_bought_before_the_books_were_kept() {
    //
    let app = TestApp::spawn().await;
    let (org, pa) = partner(&app, "Old Partner", "PGA-OLD-1").await;
    let enroll = "mutation($input: EnrollMembershipInput!) {
        enrollMembership(input: $input) { membership { purchasedOn renewals anniversary status } userErrors { code field } } }";
    let input = json!({ "organizationId": org.gid, "offer": "ACTION_PACK", "purchasedOn": "2024-03-10" });
    let own = app.execute(&pa, enroll, json!({ "input": input })).await;
    assert_eq!(error_code(&own), Some("FORBIDDEN"), "a partner enrols today: {own}");
    let future = mutate(
        &app,
        &admin(),
        enroll,
        json!({ "organizationId": org.gid, "offer": "ACTION_PACK", "purchasedOn": "2026-11-22" }),
    )
    .await;
    assert_eq!(user_errors(&future), ["OUT_OF_RANGE"]);
    let recorded = mutate(&app, &admin(), enroll, input).await;
    assert_eq!(
        recorded["membership"],
        json!({ "purchasedOn": "2024-03-10", "renewals": 2, "anniversary": "2027-03-10", "status": "ACTIVE" }),
        "{recorded}"
    );
}
