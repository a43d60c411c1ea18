//! The exam catalog (R-13): exams are data the desk edits; a voucher books
//! only an exam of its package's families that has not retired, on the
//! group-commit path (a learner redeeming their own voucher) and on the
//! long way (the desk redeeming on someone's behalf) alike; passed exams
//! and voucher plans use the same catalog.

use chrono::Duration;
use licensegraph::auth::Role;
use serde_json::{Value, json};

use crate::{
    fixtures::*,
    helpers::{TestApp, admin, anonymous, default_now, error_code},
    memberships::partner,
};

const CREATE: &str = "mutation($input: CreateExamInput!) {
    createExam(input: $input) {
        exam { code name family level retiresAt retirementAnnounced retired } userErrors { code field message }
    }
}";

const UPDATE: &str = "mutation($input: UpdateExamInput!) {
    updateExam(input: $input) { exam { code family retiresAt retirementAnnounced retired } userErrors { code field } }
}";

const PASSED: &str = "mutation($input: RecordPassedExamInput!) {
    recordPassedExam(input: $input) { passedExam { exam passedOn } userErrors { code field message } }
}";

/// A fulfilled MTA/MCE and MOS/MCE site pack (families `MTA+MCE`,
/// `MOS+MCE`) with `n` vouchers assigned, one each, to `learner0..`.
async fn site_pack_vouchers(app: &TestApp, n: usize) -> (Org, Vec<(String, String)>) {
    let school = academic(app, "Exam School").await;
    let agreement = academic_year(app, &school, "EES-2026-1300").await;
    let order = fulfilled(app, &agreement, "SITE-MTA-MOS-MCE-125", 1, "PRORATED").await;
    let mut out = Vec::new();
    for (i, (id, value)) in codes_of(app, &order, n as i32).await.into_iter().enumerate() {
        let learner = format!("learner{i}@exam.example");
        let payload = mutate(app, &customer_admin(&school), ASSIGN, json!({ "codeId": id, "assignee": learner })).await;
        assert_eq!(user_errors(&payload), Vec::<String>::new(), "{payload}");
        out.push((value, learner));
    }
    (school, out)
}

fn status(payload: &Value) -> (Value, Vec<String>) {
    (payload["code"]["status"].clone(), user_errors(payload))
}

#[tokio::test]
async fn the_seeded_catalog_has_exams_per_family_and_imagine_academy_covers_fundamentals() {
    let app = TestApp::spawn().await;
    // Anyone reads the catalog; retired exams only when asked.
    let query = "query($f: String, $r: Boolean! = false) {
        exams(family: $f, includeRetired: $r, first: 100) { totalCount nodes { code family level retired } } }";
    let all = app.execute(&anonymous(), query, json!({ "r": true })).await;
    let nodes = all["data"]["exams"]["nodes"].as_array().expect("nodes").clone();
    let families: std::collections::BTreeSet<&str> = nodes.iter().map(|n| n["family"].as_str().unwrap()).collect();
    for family in ["MOS", "MTA", "MCE", "FUNDAMENTALS", "MCSA", "MCSE", "MCSD", "ROLE_BASED"] {
        assert!(families.contains(family), "{family} missing: {families:?}");
    }
    let current = app.execute(&anonymous(), query, json!({ "f": "MTA" })).await;
    assert_eq!(current["data"]["exams"]["totalCount"], 0, "every MTA exam has retired: {current}");
    let retired = app.execute(&anonymous(), query, json!({ "f": "MTA", "r": true })).await;
    assert_eq!(retired["data"]["exams"]["nodes"][0]["retired"], true);

    let one = app.execute(&anonymous(), "{ exam(code: \"AZ-104\") { family level } }", json!({})).await;
    assert_eq!(one["data"]["exam"], json!({ "family": "ROLE_BASED", "level": "ADVANCED" }));

    // R-33: Imagine Academy covers FUNDAMENTALS and comes with EES, SCHOOL and OVS_ES.
    let imagine = app
        .execute(
            &anonymous(),
            "{ package(sku: \"IMAGINE-ACADEMY\") { examFamilies programs { code } } program(code: \"OVS_ES\") { kind } }",
            json!({}),
        )
        .await;
    assert_eq!(imagine["data"]["package"]["examFamilies"], json!(["FUNDAMENTALS", "MCE", "MOS", "MTA"]));
    assert_eq!(
        imagine["data"]["package"]["programs"],
        json!([{ "code": "EES" }, { "code": "SCHOOL" }, { "code": "OVS_ES" }])
    );
    assert_eq!(imagine["data"]["program"]["kind"], "ACADEMIC");
}

#[tokio::test]
async fn a_voucher_books_only_a_current_exam_of_its_families_on_both_paths() {
    let app = TestApp::spawn().await;
    let (school, vouchers) = site_pack_vouchers(&app, 4).await;
    let learner = |i: usize| person(&vouchers[i].1, &[Role::Learner], school.id);
    let redeem = |i: usize, exam: &str| json!({ "value": vouchers[i].0, "exam": exam });

    // R-13: a MOS/MTA/MCE site-pack voucher cannot book AZ-104, nor an exam
    // the catalog lacks, nor a retired MTA exam; each refusal changes nothing.
    for (exam, code) in [("AZ-104", "EXAM_NOT_COVERED"), ("ZZ-999", "UNKNOWN_EXAM"), ("98-361", "EXAM_RETIRED")] {
        let mine = mutate(&app, &learner(0), REDEEM, redeem(0, exam)).await;
        assert_eq!(status(&mine), (Value::Null, vec![code.to_owned()]), "{exam}: {mine}");
        let desk = mutate(&app, &admin(), REDEEM, redeem(0, exam)).await;
        assert_eq!(status(&desk), (Value::Null, vec![code.to_owned()]), "desk, {exam}: {desk}");
    }
    // A FUNDAMENTALS exam is no family of this pack either.
    let fundamentals = mutate(&app, &learner(0), REDEEM, redeem(0, "AZ-900")).await;
    assert_eq!(user_errors(&fundamentals), ["EXAM_NOT_COVERED"]);

    // MO-100 (MOS) and 62-193 (MCE) are covered, by the learner and by the desk.
    let mos = mutate(&app, &learner(0), REDEEM, redeem(0, "MO-100")).await;
    assert_eq!(status(&mos), (json!("REDEEMED"), vec![]), "{mos}");
    let mce = mutate(&app, &admin(), REDEEM, redeem(1, "62-193")).await;
    assert_eq!(status(&mce), (json!("REDEEMED"), vec![]), "{mce}");
    // Redeemed stays redeemed whatever the exam (1st vs 2nd redemption).
    let again = mutate(&app, &learner(0), REDEEM, redeem(0, "AZ-104")).await;
    assert_eq!(user_errors(&again), ["ALREADY_REDEEMED"]);
}

#[tokio::test]
async fn an_exam_retires_at_its_announced_instant() {
    let app = TestApp::spawn().await;
    let (school, vouchers) = site_pack_vouchers(&app, 4).await;
    let learner = |i: usize| person(&vouchers[i].1, &[Role::Learner], school.id);
    let redeem = |i: usize| json!({ "value": vouchers[i].0, "exam": "MO-200" });

    // Announced for 2026-11-21 at 03:30 at UTC-6, which is 09:30 UTC: the
    // test clock's instant.
    let now = default_now();
    let announced = "2026-11-21T03:30:00-06:00";
    let set = mutate(&app, &admin(), UPDATE, json!({ "code": "MO-200", "retiresAt": announced })).await;
    assert_eq!(
        set["exam"],
        json!({ "code": "MO-200", "family": "MOS", "retiresAt": "2026-11-21T09:30:00Z",
                "retirementAnnounced": announced, "retired": true }),
        "{set}"
    );
    // One second before: bookable, on both paths.
    app.clock.set(now - Duration::seconds(1));
    assert_eq!(status(&mutate(&app, &learner(0), REDEEM, redeem(0)).await).0, "REDEEMED");
    assert_eq!(status(&mutate(&app, &admin(), REDEEM, redeem(1)).await).0, "REDEEMED");
    // At the instant: retired, on both paths.
    app.clock.set(now);
    assert_eq!(user_errors(&mutate(&app, &learner(2), REDEEM, redeem(2)).await), ["EXAM_RETIRED"]);
    assert_eq!(user_errors(&mutate(&app, &admin(), REDEEM, redeem(3)).await), ["EXAM_RETIRED"]);
    // Withdrawn, it can be booked again.
    let withdrawn = mutate(&app, &admin(), UPDATE, json!({ "code": "MO-200", "retiresAt": null })).await;
    assert_eq!(withdrawn["exam"]["retiresAt"], Value::Null, "{withdrawn}");
    assert_eq!(status(&mutate(&app, &learner(2), REDEEM, redeem(2)).await).0, "REDEEMED");
}

#[tokio::test]
async fn the_desk_edits_the_exam_catalog_and_no_one_else() {
    let app = TestApp::spawn().await;
    let input = json!({ "code": "PL-300", "name": "Microsoft Power BI Data Analyst", "family": "ROLE_BASED",
                        "level": "ADVANCED", "retiresAt": "2027-01-31T11:59:00-06:00" });
    let school = academic(&app, "Nosy School").await;
    for viewer in [customer_admin(&school), person("p", &[Role::PartnerAdmin], school.id)] {
        let refused = app.execute(&viewer, CREATE, json!({ "input": input })).await;
        assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused}");
    }
    let made = mutate(&app, &admin(), CREATE, input.clone()).await;
    assert_eq!(
        made["exam"],
        json!({ "code": "PL-300", "name": "Microsoft Power BI Data Analyst", "family": "ROLE_BASED",
                "level": "ADVANCED", "retiresAt": "2027-01-31T17:59:00Z",
                "retirementAnnounced": "2027-01-31T11:59:00-06:00", "retired": false }),
        "{made}"
    );
    assert_eq!(user_errors(&mutate(&app, &admin(), CREATE, input).await), ["TAKEN"]);

    // Every problem at once, each on its field; nothing is created.
    let bad = mutate(
        &app,
        &admin(),
        CREATE,
        json!({ "code": "pl 301", "name": " ", "family": "MOS+MCE", "level": "BASIC", "retiresAt": "2027-01-31 11:59" }),
    )
    .await;
    assert_eq!(user_errors(&bad), ["INVALID_FORMAT"], "the retirement is read first: {bad}");
    let bad =
        mutate(&app, &admin(), CREATE, json!({ "code": "pl 301", "name": " ", "family": "MCP", "level": "BASIC" }))
            .await;
    assert_eq!(user_errors(&bad), ["INVALID_FORMAT", "BLANK", "INVALID_FORMAT"], "{bad}");
    let missing = mutate(&app, &admin(), UPDATE, json!({ "code": "XX-000", "name": "Nothing" })).await;
    assert_eq!(user_errors(&missing), ["NOT_FOUND"]);
    let count = app.execute(&anonymous(), "{ exam(code: \"PL-301\") { code } }", json!({})).await;
    assert_eq!(count["data"]["exam"], Value::Null);
}

#[tokio::test]
async fn a_passed_exam_is_one_of_the_catalog_passed_before_it_retired() {
    let app = TestApp::spawn().await;
    let (org, _) = partner(&app, "Exam Partner", "PGA-EXAM-1").await;
    let record =
        |exam: &str, on: &str| json!({ "organizationId": org.gid, "person": "grace", "exam": exam, "passedOn": on });
    assert_eq!(user_errors(&mutate(&app, &admin(), PASSED, record("ZZ-999", "2026-06-01")).await), ["UNKNOWN_EXAM"]);
    // 98-361 retired 2022-06-30 at 23:59 UTC-6 (2022-07-01 in UTC): a pass
    // on the 30th counts, one on 1 July does not.
    let last_day = mutate(&app, &admin(), PASSED, record("98-361", "2022-06-30")).await;
    assert_eq!(user_errors(&last_day), Vec::<String>::new(), "{last_day}");
    let after = mutate(&app, &admin(), PASSED, record("98-364", "2022-07-01")).await;
    assert_eq!(
        (user_errors(&after), after["userErrors"][0]["field"].clone()),
        (vec!["EXAM_RETIRED".to_owned()], json!(["input", "passedOn"]))
    );
}

#[tokio::test]
async fn a_voucher_plan_prepares_for_its_most_advanced_exam() {
    let app = TestApp::spawn().await;
    let school = academic(&app, "Plan School").await;
    // 2026-11-21 .. 2027-06-30: 8 started months.
    let agreement = academic_year(&app, &school, "EES-2026-1301").await;
    let plan = "query($input: VoucherPlanInput!) { voucherPlan(input: $input) {
        vouchersNeeded monthsLeft preparationMonths enoughTime } }";
    let ask = |exams: Value, level: Value| {
        json!({ "input": { "agreementId": agreement, "people": 10, "certificationsEach": 1,
                           "examsPerCertification": 2, "exams": exams, "level": level } })
    };
    let basic = app.execute(&customer_admin(&school), plan, ask(json!(["MO-100", "MO-200"]), Value::Null)).await;
    assert_eq!(
        basic["data"]["voucherPlan"],
        json!({ "vouchersNeeded": 20, "monthsLeft": 8, "preparationMonths": 6, "enoughTime": true }),
        "{basic}"
    );
    let mixed = app.execute(&customer_admin(&school), plan, ask(json!(["MO-100", "AZ-104"]), Value::Null)).await;
    assert_eq!(mixed["data"]["voucherPlan"]["preparationMonths"], 12);
    assert_eq!(mixed["data"]["voucherPlan"]["enoughTime"], false);
    let retired = app.execute(&customer_admin(&school), plan, ask(json!(["98-361"]), Value::Null)).await;
    assert_eq!(error_code(&retired), Some("BAD_USER_INPUT"), "{retired}");
    let neither = app.execute(&customer_admin(&school), plan, ask(Value::Null, Value::Null)).await;
    assert_eq!(error_code(&neither), Some("BAD_USER_INPUT"), "{neither}");
}
