//! Facts are verified before they earn anything: what a
//! partner submits is PENDING and counts for nothing, in the dry run, at
//! enrolment and at renewal, until the desk verifies it; the desk's own
//! records count at once; a rejection says why; a fact is reviewed once.

use serde_json::{Value, json};

use crate::{
    fixtures::*,
    helpers::{TestApp, admin, error_code},
    memberships::{ENROLL, RECORD_KPI, TRAINER, kpi_input, partner},
};

const PASSED: &str = "mutation($input: RecordPassedExamInput!) {
    recordPassedExam(input: $input) { passedExam { id review { status reviewedBy } } userErrors { code } }
}";

const DRY_RUN: &str = "query($org: ID!) { membershipEligibility(organizationId: $org, offer: COMPETENCY,
    competency: \"Cloud Platform\", level: GOLD) {
    eligible partner { kpiValue certifiedTrainers passedExams } pending { certifiedTrainers passedExams kpiRecords } } }";

fn review(kind: &str) -> String {
    format!(
        "mutation($input: Review{kind}Input!) {{ review{kind}(input: $input) {{ id status userErrors {{ code field }} }} }}"
    )
}

#[tokio::test]
async fn a_partner_reaches_gold_only_on_facts_the_desk_verified() {
    let app = TestApp::spawn().await;
    let (org, pa) = partner(&app, "Eager Partner", "PGA-EAGER").await;
    // GOLD in Cloud Platform (seeded): KPI 500, revenue 50 000.00, 2 trainers, 4 exams.
    let mut trainers = Vec::new();
    for mct in ["MCT-E1", "MCT-E2"] {
        let t = mutate(&app, &pa, TRAINER, json!({ "organizationId": org.gid, "name": mct, "mctId": mct })).await;
        trainers.push(t["trainer"]["id"].clone());
    }
    let mut exams = Vec::new();
    for exam in ["AZ-104", "AZ-305", "AZ-204", "AZ-400"] {
        let input = json!({ "organizationId": org.gid, "person": "grace", "exam": exam, "passedOn": "2026-06-01" });
        let e = mutate(&app, &pa, PASSED, input).await;
        assert_eq!(e["passedExam"]["review"], json!({ "status": "PENDING", "reviewedBy": null }), "{e}");
        exams.push(e["passedExam"]["id"].clone());
    }
    // A KPI figure from the partner is a dispute: pending too.
    let kpi = mutate(&app, &pa, RECORD_KPI, kpi_input(&org, (2026, 9), "INV-E1", 600, 6_000_000)).await;
    let kpi_id = kpi["kpi"]["id"].clone();

    let run = app.execute(&pa, DRY_RUN, json!({ "org": org.gid })).await;
    assert_eq!(
        run["data"]["membershipEligibility"],
        json!({ "eligible": false, "partner": { "kpiValue": 0, "certifiedTrainers": 0, "passedExams": 0 },
                "pending": { "certifiedTrainers": 2, "passedExams": 4, "kpiRecords": 1 } }),
        "{run}"
    );
    let gold =
        json!({ "organizationId": org.gid, "offer": "COMPETENCY", "competency": "Cloud Platform", "level": "GOLD" });
    let refused = mutate(&app, &pa, ENROLL, gold.clone()).await;
    assert!(user_errors(&refused).iter().all(|c| c == "REQUIREMENT_NOT_MET"), "{refused}");
    assert!(!user_errors(&refused).is_empty());

    // The partner cannot verify its own facts.
    let own = app
        .execute(&pa, &review("CertifiedTrainer"), json!({ "input": { "id": trainers[0], "verdict": "VERIFY" } }))
        .await;
    assert_eq!(error_code(&own), Some("FORBIDDEN"));

    // The desk verifies everything but one exam: still short of GOLD by one.
    for t in &trainers {
        assert_eq!(
            mutate(&app, &admin(), &review("CertifiedTrainer"), json!({ "id": t, "verdict": "VERIFY" })).await["status"],
            "VERIFIED"
        );
    }
    for e in &exams[..3] {
        assert_eq!(
            mutate(&app, &admin(), &review("PassedExam"), json!({ "id": e, "verdict": "VERIFY" })).await["status"],
            "VERIFIED"
        );
    }
    let accepted = mutate(&app, &admin(), &review("KpiRecord"), json!({ "id": kpi_id, "verdict": "VERIFY" })).await;
    assert_eq!(accepted["status"], "VERIFIED");
    let run = app.execute(&pa, DRY_RUN, json!({ "org": org.gid })).await;
    assert_eq!(
        run["data"]["membershipEligibility"],
        json!({ "eligible": false, "partner": { "kpiValue": 600, "certifiedTrainers": 2, "passedExams": 3 },
                "pending": { "certifiedTrainers": 0, "passedExams": 1, "kpiRecords": 0 } })
    );
    // A rejection needs a reason, and a rejected pass never counts.
    let bare = mutate(&app, &admin(), &review("PassedExam"), json!({ "id": exams[3], "verdict": "REJECT" })).await;
    assert_eq!(user_errors(&bare), ["BLANK"]);
    let rejected = mutate(
        &app,
        &admin(),
        &review("PassedExam"),
        json!({ "id": exams[3], "verdict": "REJECT", "reason": "no transcript for AZ-400" }),
    )
    .await;
    assert_eq!(rejected["status"], "REJECTED");
    let again = mutate(&app, &admin(), &review("PassedExam"), json!({ "id": exams[3], "verdict": "VERIFY" })).await;
    assert_eq!(user_errors(&again), ["ALREADY_REVIEWED"]);
    let listed = app
        .execute(
            &pa,
            "query($org: ID!) { passedExams(organizationId: $org) { exam review { status rejectionReason } } }",
            json!({ "org": org.gid }),
        )
        .await;
    let az400: Vec<&Value> =
        listed["data"]["passedExams"].as_array().unwrap().iter().filter(|e| e["exam"] == "AZ-400").collect();
    assert_eq!(
        az400,
        [
            &json!({ "exam": "AZ-400", "review": { "status": "REJECTED", "rejectionReason": "no transcript for AZ-400" } })
        ]
    );
    assert_eq!(user_errors(&mutate(&app, &pa, ENROLL, gold.clone()).await), ["REQUIREMENT_NOT_MET"]);

    // A fourth pass, recorded by the desk itself, counts at once: GOLD.
    let desk = mutate(
        &app,
        &admin(),
        PASSED,
        json!({ "organizationId": org.gid, "person": "alan", "exam": "AZ-500", "passedOn": "2026-07-01" }),
    )
    .await;
    assert_eq!(desk["passedExam"]["review"], json!({ "status": "VERIFIED", "reviewedBy": "tester" }));
    let enrolled = mutate(&app, &pa, ENROLL, gold).await;
    assert_eq!(enrolled["membership"]["level"], "GOLD", "{enrolled}");
}

#[tokio::test]
async fn reviewing_a_missing_fact_is_not_found() {
    let app = TestApp::spawn().await;
    let missing = licensegraph::id::encode("KpiRecord", 987_654);
    let answer = mutate(&app, &admin(), &review("KpiRecord"), json!({ "id": missing, "verdict": "VERIFY" })).await;
    assert_eq!(user_errors(&answer), ["NOT_FOUND"]);
    let wrong_kind = licensegraph::id::encode("PassedExam", 1);
    let answer = mutate(&app, &admin(), &review("KpiRecord"), json!({ "id": wrong_kind, "verdict": "VERIFY" })).await;
    assert_eq!(user_errors(&answer), ["NOT_FOUND"]);
}
