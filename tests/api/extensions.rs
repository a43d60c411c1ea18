//! The desk's bulk term extensions: a preview first, then all
//! or none; the range is inclusive, named competencies stay out, benefits
//! follow the new term, the reason is kept on each, and the fee is still
//! due in the new window.

use serde_json::{Value, json};

use crate::{
    fixtures::*,
    helpers::{TestApp, admin, error_code},
    memberships::{TRAINER, partner, requirement},
};

const PREVIEW: &str = "query($input: ExtendMembershipTermsInput!) { membershipTermExtensionPreview(input: $input) {
    extensions { membership { id } anniversary newAnniversary benefitsUntil } userErrors { code field } } }";

const EXTEND: &str = "mutation($input: ExtendMembershipTermsInput!) { extendMembershipTerms(input: $input) {
    extensions { membership { id } anniversary newAnniversary benefitsUntil } userErrors { code field } } }";

const RECORD: &str = "mutation($input: EnrollMembershipInput!) {
    enrollMembership(input: $input) { membership { id anniversary } userErrors { code field message } } }";

/// Records, as the desk, a membership bought on `purchased_on`: its id.
async fn bought(app: &TestApp, pga: &str, offer: Value, purchased_on: &str) -> String {
    let (org, _) = partner(app, pga, pga).await;
    if offer["offer"] == "LEARNING_ACTION_PACK" {
        mutate(
            app,
            &admin(),
            TRAINER,
            json!({ "organizationId": org.gid, "name": "Grace", "mctId": format!("MCT-{pga}") }),
        )
        .await;
    }
    let mut input = offer;
    input["organizationId"] = json!(org.gid);
    input["purchasedOn"] = json!(purchased_on);
    let recorded = mutate(app, &admin(), RECORD, input).await;
    assert_eq!(user_errors(&recorded), Vec::<String>::new(), "{recorded}");
    recorded["membership"]["id"].as_str().expect("id").to_owned()
}

async fn membership(app: &TestApp, id: &str) -> Value {
    // Seen from 2026-12-02, after the first anniversary of the range.
    let query = "query($id: ID!) { node(id: $id) { ... on Membership {
        anniversary(asOf: \"2026-12-02\") status(asOf: \"2026-12-05\")
        exceptions { reason grantedBy } benefits(first: 1) { nodes { expiresOn } } } } }";
    app.execute(&admin(), query, json!({ "id": id })).await["data"]["node"].clone()
}

#[tokio::test]
async fn terms_ending_in_the_range_move_to_the_next_anniversary_all_or_none() {
    let app = TestApp::spawn().await;
    requirement(&app, "Cloud Business Applications", "SILVER", 0, 0, 0).await;
    // Today is 2026-11-21. Anniversaries 2026-12-01 .. 2027-01-31 are extended.
    let first = bought(&app, "PGA-EXT-A", json!({ "offer": "ACTION_PACK" }), "2025-12-01").await;
    let last = bought(&app, "PGA-EXT-B", json!({ "offer": "LEARNING_ACTION_PACK" }), "2024-01-31").await;
    let before = bought(&app, "PGA-EXT-C", json!({ "offer": "ACTION_PACK" }), "2025-11-30").await;
    let excepted = bought(
        &app,
        "PGA-EXT-D",
        json!({ "offer": "COMPETENCY", "competency": "Cloud Business Applications", "level": "SILVER" }),
        "2025-12-15",
    )
    .await;
    let input = json!({ "anniversariesFrom": "2026-12-01", "anniversariesTo": "2027-01-31", "extendTo": "NEXT_ANNIVERSARY",
                        "exceptCompetencies": ["Cloud Business Applications"], "reason": "storm closed the offices" });
    let expected = json!([
        { "membership": { "id": first }, "anniversary": "2026-12-01", "newAnniversary": "2027-12-01", "benefitsUntil": "2027-12-31" },
        // 2028 is a leap year: the window 2028-02-01 .. 2028-03-01.
        { "membership": { "id": last }, "anniversary": "2027-01-31", "newAnniversary": "2028-01-31", "benefitsUntil": "2028-03-01" },
    ]);

    // The preview changes nothing.
    let preview = app.execute(&admin(), PREVIEW, json!({ "input": input })).await;
    assert_eq!(preview["data"]["membershipTermExtensionPreview"]["extensions"], expected, "{preview}");
    let unchanged = membership(&app, &first).await;
    assert_eq!(
        (unchanged["anniversary"].clone(), unchanged["status"].clone()),
        (json!("2026-12-01"), json!("IN_RENEWAL_WINDOW"))
    );
    // The desk's only.
    let (_, pa) = partner(&app, "Nosy", "PGA-NOSY").await;
    assert_eq!(error_code(&app.execute(&pa, PREVIEW, json!({ "input": input })).await), Some("FORBIDDEN"));
    assert_eq!(error_code(&app.execute(&pa, EXTEND, json!({ "input": input })).await), Some("FORBIDDEN"));
    // A bad request moves nothing and says every reason.
    let bad = mutate(
        &app,
        &admin(),
        EXTEND,
        json!({ "anniversariesFrom": "2027-01-31", "anniversariesTo": "2026-12-01", "reason": " " }),
    )
    .await;
    assert_eq!(user_errors(&bad), ["OUT_OF_RANGE", "BLANK"]);

    let done = mutate(&app, &admin(), EXTEND, input.clone()).await;
    assert_eq!(done["extensions"], expected, "{done}");
    let a = membership(&app, &first).await;
    assert_eq!((a["anniversary"].clone(), a["status"].clone()), (json!("2027-12-01"), json!("ACTIVE")));
    assert_eq!(
        a["exceptions"],
        json!([{ "reason": "term extended to the next anniversary: storm closed the offices", "grantedBy": "tester" }])
    );
    // its benefits follow the new term.
    assert_eq!(a["benefits"]["nodes"][0]["expiresOn"], "2027-12-31");
    // Outside the range, or excepted: untouched.
    assert_eq!(membership(&app, &before).await["anniversary"], "2026-11-30");
    assert_eq!(membership(&app, &excepted).await["anniversary"], "2026-12-15");
    assert_eq!(membership(&app, &last).await["anniversary"], "2027-01-31");
    // Run again, it finds nothing left to move.
    let again = mutate(&app, &admin(), EXTEND, input).await;
    assert_eq!(again["extensions"], json!([]));

    // The fee is still due in the new window.
    app.clock.set(crate::helpers::default_now() + chrono::Duration::days(376));
    let renew = "mutation($input: RenewMembershipInput!) { renewMembership(input: $input) { userErrors { code } } }";
    let unpaid = mutate(&app, &admin(), renew, json!({ "id": first, "feePaid": false, "profileReviewed": true })).await;
    assert_eq!(user_errors(&unpaid), ["FEE_NOT_PAID"]);
}
