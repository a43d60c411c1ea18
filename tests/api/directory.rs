//! The learning partner directory's review: only learning partners
//! list; the desk approves or rejects (with a reason); anyone reads the
//! approved listings from their visible day; an update is reviewed again;
//! a withdrawal leaves at once.

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use crate::{
    fixtures::*,
    helpers::{TestApp, admin, anonymous, error_code},
    memberships::partner,
    partners::learning_partner,
};

const SUBMIT: &str = "mutation($input: SubmitDirectoryListingInput!) {
    submitDirectoryListing(input: $input) { listing { id status visibleFrom } userErrors { code field } } }";
const UPDATE: &str = "mutation($input: UpdateDirectoryListingInput!) {
    updateDirectoryListing(input: $input) { listing { status visibleFrom } userErrors { code field } } }";
const WITHDRAW: &str = "mutation($input: WithdrawDirectoryListingInput!) {
    withdrawDirectoryListing(input: $input) { listing { status } userErrors { code field } } }";
const REVIEW: &str = "mutation($input: ReviewDirectoryListingInput!) {
    reviewDirectoryListing(input: $input) { listing { status rejectionReason } userErrors { code field } } }";
const DIRECTORY: &str = "query($country: String) { learningPartnerDirectory(country: $country) {
    totalCount nodes { displayName country homepageUrl listedSince } } }";

fn on(app: &TestApp, y: i32, m: u32, d: u32) {
    app.clock.set(Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap());
}

async fn shown(app: &TestApp, country: Option<&str>) -> Value {
    let answer = app.execute(&anonymous(), DIRECTORY, json!({ "country": country })).await;
    answer["data"]["learningPartnerDirectory"]["nodes"].clone()
}

#[tokio::test]
async fn only_an_approved_listing_of_a_learning_partner_is_shown_from_its_day() {
    let app = TestApp::spawn().await;
    let (org, pa) = partner(&app, "Northwind", "PGA-DIR-1").await;
    let input = json!({ "organizationId": org.gid, "displayName": "Northwind Learning", "country": "de",
                        "homepageUrl": "https://learn.northwind.example" });
    // Not a learning partner yet: refused.
    assert_eq!(user_errors(&mutate(&app, &pa, SUBMIT, input.clone()).await), ["NOT_A_LEARNING_PARTNER"]);
    learning_partner(&app, &org, &pa).await;
    // Submitted on 2026-11-21: processed that month, visible from 2026-12-07 once approved.
    let submitted = mutate(&app, &pa, SUBMIT, input).await;
    assert_eq!(
        (submitted["listing"]["status"].clone(), submitted["listing"]["visibleFrom"].clone()),
        (json!("SUBMITTED"), json!("2026-12-07"))
    );
    let id = submitted["listing"]["id"].clone();

    on(&app, 2026, 12, 7);
    assert_eq!(shown(&app, None).await, json!([]), "not reviewed yet");
    // The partner cannot approve its own listing; a rejection needs a reason.
    let own = app.execute(&pa, REVIEW, json!({ "input": { "id": id, "verdict": "APPROVE" } })).await;
    assert_eq!(error_code(&own), Some("FORBIDDEN"));
    assert_eq!(user_errors(&mutate(&app, &admin(), REVIEW, json!({ "id": id, "verdict": "REJECT" })).await), ["BLANK"]);
    let approved = mutate(&app, &admin(), REVIEW, json!({ "id": id, "verdict": "APPROVE" })).await;
    assert_eq!(approved["listing"]["status"], "APPROVED");
    assert_eq!(
        user_errors(&mutate(&app, &admin(), REVIEW, json!({ "id": id, "verdict": "REJECT", "reason": "late" })).await),
        ["ALREADY_REVIEWED"]
    );

    // Shown from its day, to anyone, by country in any case.
    on(&app, 2026, 12, 6);
    assert_eq!(shown(&app, None).await, json!([]), "the 6th is before its day");
    on(&app, 2026, 12, 7);
    let entry = json!([{ "displayName": "Northwind Learning", "country": "DE",
                         "homepageUrl": "https://learn.northwind.example", "listedSince": "2026-12-07" }]);
    assert_eq!(shown(&app, None).await, entry);
    assert_eq!(shown(&app, Some("de")).await, entry);
    assert_eq!(shown(&app, Some("FR")).await, json!([]));
    let uk = app.execute(&anonymous(), DIRECTORY, json!({ "country": "UK" })).await;
    assert_eq!(error_code(&uk), Some("BAD_USER_INPUT"));

    // An update is reviewed again, on today's schedule: gone until approved.
    let updated = mutate(
        &app,
        &pa,
        UPDATE,
        json!({ "id": id, "displayName": "Northwind Academy", "country": "DE", "homepageUrl": "https://academy.northwind.example" }),
    )
    .await;
    assert_eq!(updated["listing"], json!({ "status": "SUBMITTED", "visibleFrom": "2027-01-07" }), "{updated}");
    assert_eq!(shown(&app, None).await, json!([]));
    let rejected = mutate(
        &app,
        &admin(),
        REVIEW,
        json!({ "id": id, "verdict": "REJECT", "reason": "the page names a competitor" }),
    )
    .await;
    assert_eq!(rejected["listing"], json!({ "status": "REJECTED", "rejectionReason": "the page names a competitor" }));

    // Withdrawn: once.
    let withdrawn = mutate(&app, &pa, WITHDRAW, json!({ "id": id })).await;
    assert_eq!(withdrawn["listing"]["status"], "WITHDRAWN");
    assert_eq!(user_errors(&mutate(&app, &pa, WITHDRAW, json!({ "id": id })).await), ["INVALID_TRANSITION"]);

    // Another partner's admin finds nothing to change.
    let (_, other) = partner(&app, "Fabrikam", "PGA-DIR-2").await;
    assert_eq!(user_errors(&mutate(&app, &other, WITHDRAW, json!({ "id": id })).await), ["NOT_FOUND"]);
}
