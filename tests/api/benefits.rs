//! Benefits granted by memberships and account merges.

use chrono::{TimeZone, Utc};
use licensegraph::auth::{Role, Viewer};
use serde_json::{Value, json};

use crate::{
    fixtures::*,
    helpers::{TestApp, admin, error_code},
    memberships::{ENROLL, RENEW, TRAINER, enroll, invoice, partner, requirement},
};

const BENEFITS: &str = "query($id: ID!) { membership(id: $id) {
    status benefits(first: 50) { totalCount nodes { id kind product status expiresOn seats activationsLeft coreBenefit value } }
} }";

const GRANT: &str = "mutation($input: GrantMembershipBenefitInput!) {
    grantMembershipBenefit(input: $input) { membership { id } userErrors { code field message } }
}";

const PREVIEW: &str = "query($s: ID!, $m: ID!) { mergePreview(survivorId: $s, mergedId: $m) {
    preview {
        memberships { from fate benefitsContinueUntil membership { offer level competency } }
        corePackageFrom { offer level }
        corePackage { product codes seats activations }
    }
    userErrors { code field }
} }";

const MERGE: &str = "mutation($input: MergePartnerAccountsInput!) {
    mergePartnerAccounts(input: $input) { survivor { name } merge { mergedBy summary } userErrors { code field message } }
}";

async fn benefits(app: &TestApp, who: &Viewer, id: &str) -> Vec<Value> {
    let seen = app.execute(who, BENEFITS, json!({ "id": id })).await;
    assert!(seen["errors"].is_null(), "{seen}");
    seen["data"]["membership"]["benefits"]["nodes"].as_array().expect("benefits").clone()
}

fn products(codes: &[Value]) -> Vec<(String, String)> {
    let mut seen: Vec<_> = codes
        .iter()
        .map(|c| (c["kind"].as_str().unwrap().to_owned(), c["product"].as_str().unwrap().to_owned()))
        .collect();
    seen.sort();
    seen
}

fn id_of(payload: &Value) -> String {
    payload["membership"]["id"].as_str().expect("membership id").to_owned()
}

#[tokio::test]
async fn an_action_pack_grants_visual_studio_professional_never_enterprise() {
    //
    let app = TestApp::spawn().await;
    let (org, pa) = partner(&app, "Northwind", "PGA-B1").await;
    let id = id_of(&enroll(&app, &pa, &org, "ACTION_PACK").await);
    let granted = benefits(&app, &pa, &id).await;
    assert_eq!(
        products(&granted),
        vec![
            ("ACTIVATION_TOKEN".into(), "MICROSOFT_365_E3".into()),
            ("PRODUCT_KEY".into(), "WINDOWS_SERVER".into()),
            ("VS_SUBSCRIPTION".into(), "VISUAL_STUDIO_PROFESSIONAL".into()),
            ("VS_SUBSCRIPTION".into(), "VISUAL_STUDIO_PROFESSIONAL".into()),
            ("VS_SUBSCRIPTION".into(), "VISUAL_STUDIO_PROFESSIONAL".into()),
        ]
    );
    assert!(
        granted.iter().all(|c| c["status"] == "ISSUED" && c["expiresOn"] == "2027-12-21" && c["value"].is_string())
    );
    let enterprise = json!({ "membershipId": id, "product": "VISUAL_STUDIO_ENTERPRISE", "codes": 2 });
    let refused = mutate(&app, &admin(), GRANT, enterprise).await;
    assert_eq!(user_errors(&refused), vec!["NOT_GRANTED_BY_OFFER"], "{refused}");
    let professional = json!({ "membershipId": id, "product": "VISUAL_STUDIO_PROFESSIONAL", "codes": 2 });
    assert_eq!(user_errors(&mutate(&app, &admin(), GRANT, professional.clone()).await), Vec::<String>::new());
    assert_eq!(benefits(&app, &pa, &id).await.len(), 7);
    let by_partner = app.execute(&pa, GRANT, json!({ "input": professional })).await;
    assert_eq!(error_code(&by_partner), Some("FORBIDDEN"));
    let bad = json!({ "membershipId": id, "product": "WINDOWS_SERVER", "codes": 0, "seats": 5 });
    assert_eq!(
        user_errors(&mutate(&app, &admin(), GRANT, bad).await),
        vec!["OUT_OF_RANGE", "INVALID_FORMAT", "OUT_OF_RANGE"]
    );
    // A competency may grant Enterprise.
    requirement(&app, "Cloud Platform", "SILVER", 0, 0, 0).await;
    let silver = mutate(
        &app,
        &pa,
        ENROLL,
        json!({ "organizationId": org.gid, "offer": "COMPETENCY", "competency": "Cloud Platform", "level": "SILVER" }),
    )
    .await;
    let silver_codes = benefits(&app, &pa, &id_of(&silver)).await;
    assert!(silver_codes.iter().any(|c| c["product"] == "VISUAL_STUDIO_ENTERPRISE"), "{silver_codes:?}");
    // Memberships, products and core benefits filled in.
    crate::helpers::assert_code_rows_read_alike(&app.db).await;
    crate::helpers::assert_brief_codes_answer_alike(&app).await;
}

#[tokio::test]
async fn benefits_work_through_the_window_stop_after_it_and_follow_a_renewal() {
    // purchase 2020-09-01 -> window 2021-09-02 .. 2021-10-01.
    let app = TestApp::spawn().await;
    app.clock.set(Utc.with_ymd_and_hms(2020, 9, 1, 10, 0, 0).unwrap());
    let (org, pa) = partner(&app, "Northwind", "PGA-B2").await;
    let lapsing = id_of(&enroll(&app, &pa, &org, "ACTION_PACK").await);
    mutate(&app, &admin(), TRAINER, json!({ "organizationId": org.gid, "name": "Grace", "mctId": "MCT-1" })).await;
    let renewed = id_of(&enroll(&app, &pa, &org, "LEARNING_ACTION_PACK").await);
    let key_of = |codes: &[Value]| -> String {
        codes.iter().find(|c| c["kind"] == "PRODUCT_KEY").unwrap()["value"].as_str().unwrap().to_owned()
    };
    let lapsing_key = key_of(&benefits(&app, &pa, &lapsing).await);
    let renewed_key = key_of(&benefits(&app, &pa, &renewed).await);
    // Day 30 of the window: benefits still work, and the LAP is renewed.
    app.clock.set(Utc.with_ymd_and_hms(2021, 10, 1, 23, 0, 0).unwrap());
    let used = mutate(&app, &pa, ACTIVATE, json!({ "value": lapsing_key })).await;
    assert_eq!(used["code"]["status"], "ACTIVE", "{used}");
    let renewal = mutate(&app, &pa, RENEW, json!({ "id": renewed, "feePaid": true, "profileReviewed": true })).await;
    assert_eq!(user_errors(&renewal), Vec::<String>::new(), "{renewal}");
    // The day after the window: the lapsed membership's benefits are EXPIRED and refused.
    app.clock.set(Utc.with_ymd_and_hms(2021, 10, 2, 0, 0, 0).unwrap());
    let lapsed = benefits(&app, &pa, &lapsing).await;
    assert!(lapsed.iter().all(|c| c["status"] == "EXPIRED"), "{lapsed:?}");
    let refused = mutate(&app, &pa, ACTIVATE, json!({ "value": lapsing_key })).await;
    assert_eq!(user_errors(&refused), vec!["EXPIRED"]);
    // The renewed membership's benefits moved with its term: through 2022-10-01.
    let kept = benefits(&app, &pa, &renewed).await;
    assert!(kept.iter().all(|c| c["status"] == "ISSUED" && c["expiresOn"] == "2022-10-01"), "{kept:?}");
    let works = mutate(&app, &pa, ACTIVATE, json!({ "value": renewed_key })).await;
    assert_eq!(works["code"]["status"], "ACTIVE", "{works}");
    let expired_list = app.execute(&pa, "{ codes(status: EXPIRED) { totalCount } }", json!({})).await;
    assert_eq!(expired_list["data"]["codes"]["totalCount"], 5, "{expired_list}");
    // An admin's exception brings the benefits back with the membership.
    let back = mutate(
        &app,
        &admin(),
        "mutation($input: ReactivateMembershipInput!) { reactivateMembership(input: $input) { userErrors { code } } }",
        json!({ "id": lapsing, "reason": "ticket 9: fee paid late" }),
    )
    .await;
    assert_eq!(user_errors(&back), Vec::<String>::new());
    let restored = benefits(&app, &pa, &lapsing).await;
    assert!(restored.iter().all(|c| c["status"] != "EXPIRED"), "{restored:?}");
}

#[tokio::test]
async fn a_visual_studio_subscription_is_assigned_then_activated_by_its_user_never_shared() {
    // per user.
    let app = TestApp::spawn().await;
    let (org, pa) = partner(&app, "Northwind", "PGA-B3").await;
    let id = id_of(&enroll(&app, &pa, &org, "ACTION_PACK").await);
    let sub = benefits(&app, &pa, &id).await.into_iter().find(|c| c["kind"] == "VS_SUBSCRIPTION").unwrap();
    let value = sub["value"].as_str().unwrap().to_owned();
    let dev = person("dev@northwind.example", &[Role::Learner], org.id);
    // Not even the partner's admin activates it for nobody.
    let unassigned = mutate(&app, &pa, ACTIVATE, json!({ "value": value })).await;
    assert_eq!(user_errors(&unassigned), vec!["NOT_ASSIGNED"]);
    let assigned = mutate(&app, &pa, ASSIGN, json!({ "codeId": sub["id"], "assignee": "dev@northwind.example" })).await;
    assert_eq!(user_errors(&assigned), Vec::<String>::new(), "{assigned}");
    let colleague = person("other@northwind.example", &[Role::Learner], org.id);
    assert_eq!(
        user_errors(&mutate(&app, &colleague, ACTIVATE, json!({ "value": value })).await),
        vec!["NOT_ASSIGNED_TO_YOU"]
    );
    assert_eq!(mutate(&app, &dev, ACTIVATE, json!({ "value": value })).await["code"]["status"], "ACTIVE");
    assert_eq!(user_errors(&mutate(&app, &dev, ACTIVATE, json!({ "value": value })).await), vec!["ALREADY_ACTIVE"]);
}

#[tokio::test]
async fn upgrading_silver_to_gold_replaces_the_silver_benefits() {
    //
    let app = TestApp::spawn().await;
    let (org, pa) = partner(&app, "Northwind", "PGA-B4").await;
    requirement(&app, "Data", "SILVER", 0, 0, 0).await;
    requirement(&app, "Data", "GOLD", 0, 0, 0).await;
    let input =
        |level: &str| json!({ "organizationId": org.gid, "offer": "COMPETENCY", "competency": "Data", "level": level });
    let silver = id_of(&mutate(&app, &pa, ENROLL, input("SILVER")).await);
    let gold = mutate(&app, &pa, ENROLL, input("GOLD")).await;
    assert_eq!(gold["membership"]["upgradeDiscount"], true);
    assert!(benefits(&app, &pa, &silver).await.iter().all(|c| c["status"] == "EXPIRED"));
    let gold_codes = benefits(&app, &pa, &id_of(&gold)).await;
    assert!(gold_codes.iter().all(|c| c["status"] == "ISSUED"));
    assert_eq!(gold_codes.iter().filter(|c| c["product"] == "VISUAL_STUDIO_ENTERPRISE").count(), 10);
}

/// Two partner accounts: Contoso (survivor) with an ACTION_PACK and a
/// SILVER in Cloud Platform; Fabrikam (merged) with an ACTION_PACK, a GOLD
/// in Cloud Platform and a SILVER in Security.
async fn two_accounts(app: &TestApp) -> ((Org, Viewer), (Org, Viewer), Vec<String>) {
    requirement(app, "Cloud Platform", "SILVER", 0, 0, 0).await;
    requirement(app, "Cloud Platform", "GOLD", 0, 0, 0).await;
    requirement(app, "Security", "SILVER", 0, 0, 0).await;
    let (contoso, pa_c) = partner(app, "Contoso", "PGA-C").await;
    let (fabrikam, pa_f) = partner(app, "Fabrikam", "PGA-F").await;
    let competency = |org: &Org, name: &str, level: &str| json!({ "organizationId": org.gid, "offer": "COMPETENCY", "competency": name, "level": level });
    app.clock.set(Utc.with_ymd_and_hms(2026, 1, 10, 9, 0, 0).unwrap());
    let c_ap = id_of(&enroll(app, &pa_c, &contoso, "ACTION_PACK").await);
    let c_silver = id_of(&mutate(app, &pa_c, ENROLL, competency(&contoso, "Cloud Platform", "SILVER")).await);
    app.clock.set(Utc.with_ymd_and_hms(2026, 3, 5, 9, 0, 0).unwrap());
    let f_ap = id_of(&enroll(app, &pa_f, &fabrikam, "ACTION_PACK").await);
    let f_gold = id_of(&mutate(app, &pa_f, ENROLL, competency(&fabrikam, "Cloud Platform", "GOLD")).await);
    let f_security = id_of(&mutate(app, &pa_f, ENROLL, competency(&fabrikam, "Security", "SILVER")).await);
    app.clock.set(Utc.with_ymd_and_hms(2026, 11, 21, 9, 30, 0).unwrap());
    ((contoso, pa_c), (fabrikam, pa_f), vec![c_ap, c_silver, f_ap, f_gold, f_security])
}

#[tokio::test]
async fn the_merge_preview_shows_each_membership_s_fate_and_the_core_package_and_changes_nothing() {
    //
    let app = TestApp::spawn().await;
    let ((contoso, _), (fabrikam, _), _) = two_accounts(&app).await;
    let preview = app.execute(&admin(), PREVIEW, json!({ "s": contoso.gid, "m": fabrikam.gid })).await;
    let plan = &preview["data"]["mergePreview"]["preview"];
    let fates: Vec<_> = plan["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["from"].as_str().unwrap(),
                e["membership"]["offer"].as_str().unwrap(),
                e["membership"]["competency"].as_str(),
                e["fate"].as_str().unwrap(),
                e["benefitsContinueUntil"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        fates,
        vec![
            ("SURVIVOR", "ACTION_PACK", None, "CORE_BENEFITS_END_AT_RENEWAL", "2027-02-09"),
            ("SURVIVOR", "COMPETENCY", Some("Cloud Platform"), "COLLAPSES_AT_RENEWAL", "2027-02-09"),
            ("MERGED", "ACTION_PACK", None, "COLLAPSES_AT_RENEWAL", "2027-04-04"),
            ("MERGED", "COMPETENCY", Some("Cloud Platform"), "KEEPS_CORE_PACKAGE", "2027-04-04"),
            ("MERGED", "COMPETENCY", Some("Security"), "CORE_BENEFITS_END_AT_RENEWAL", "2027-04-04"),
        ],
        "{preview}"
    );
    assert_eq!(plan["corePackageFrom"], json!({ "offer": "COMPETENCY", "level": "GOLD" }));
    assert_eq!(
        plan["corePackage"][0],
        json!({ "product": "VISUAL_STUDIO_ENTERPRISE", "codes": 10, "seats": null, "activations": null })
    );
    // Nothing changed: both accounts still hold their memberships.
    let count = app.execute(&admin(), "{ memberships { totalCount } }", json!({})).await;
    assert_eq!(count["data"]["memberships"]["totalCount"], 5);
    let pa = person("x", &[Role::PartnerAdmin], contoso.id);
    assert_eq!(
        error_code(&app.execute(&pa, PREVIEW, json!({ "s": contoso.gid, "m": fabrikam.gid })).await),
        Some("FORBIDDEN")
    );
    let itself = app.execute(&admin(), PREVIEW, json!({ "s": contoso.gid, "m": contoso.gid })).await;
    assert_eq!(itself["data"]["mergePreview"]["userErrors"][0]["code"], "INVALID_FORMAT");
}

#[tokio::test]
async fn a_merge_keeps_history_one_action_pack_and_each_benefit_until_its_renewal() {
    //
    let app = TestApp::spawn().await;
    let ((contoso, pa_c), (fabrikam, pa_f), ids) = two_accounts(&app).await;
    let f_ap = &ids[2];
    invoice(&app, &contoso, (2026, 9), "SHARED-1", 100, 0).await;
    invoice(&app, &fabrikam, (2026, 9), "SHARED-1", 100, 0).await;
    invoice(&app, &fabrikam, (2026, 9), "F-ONLY", 7, 0).await;
    let merged = mutate(&app, &admin(), MERGE, json!({ "survivorId": contoso.gid, "mergedId": fabrikam.gid })).await;
    assert_eq!(user_errors(&merged), Vec::<String>::new(), "{merged}");
    assert_eq!(merged["survivor"]["name"], "Contoso");
    assert!(merged["merge"]["summary"].as_str().unwrap().contains("PGA-F"), "{merged}");
    // Contoso's admin now sees all five memberships; Fabrikam's admin acts for nothing.
    let seen = app.execute(&pa_c, "{ memberships { totalCount } }", json!({})).await;
    assert_eq!(seen["data"]["memberships"]["totalCount"], 5, "{seen}");
    assert_eq!(user_errors(&enroll(&app, &pa_f, &fabrikam, "LEARNING_ACTION_PACK").await), vec!["NOT_FOUND"]);
    let marked = app
        .execute(&admin(), "query($id: ID!) { organization(id: $id) { merged } }", json!({ "id": fabrikam.gid }))
        .await;
    assert_eq!(marked["data"]["organization"]["merged"], true, "{marked}");
    // Still one ACTION_PACK per account.
    assert_eq!(user_errors(&enroll(&app, &pa_c, &contoso, "ACTION_PACK").await), vec!["ACTION_PACK_TAKEN"]);
    // The merged account's ACTION_PACK keeps its benefits until its renewal, then collapses.
    let f_ap_codes = benefits(&app, &pa_c, f_ap).await;
    assert!(f_ap_codes.iter().all(|c| c["status"] == "ISSUED"), "{f_ap_codes:?}");
    app.clock.set(Utc.with_ymd_and_hms(2027, 3, 6, 9, 0, 0).unwrap());
    let renew = mutate(&app, &pa_c, RENEW, json!({ "id": f_ap, "feePaid": true, "profileReviewed": true })).await;
    assert_eq!(user_errors(&renew), vec!["MEMBERSHIP_ENDED"], "{renew}");
    app.clock.set(Utc.with_ymd_and_hms(2027, 4, 5, 9, 0, 0).unwrap());
    assert!(benefits(&app, &pa_c, f_ap).await.iter().all(|c| c["status"] == "EXPIRED"));
    // The duplicate invoice is counted once; the other moved over.
    let total = app
        .execute(
            &pa_c,
            "query($org: ID!) { kpiTotal(organizationId: $org, asOf: \"2026-12-01\") { kpiValue invoices } }",
            json!({ "org": contoso.gid }),
        )
        .await;
    assert_eq!(total["data"]["kpiTotal"], json!({ "kpiValue": 107, "invoices": 2 }), "{total}");
    // Irreversible: a second merge of either way is refused.
    let again = mutate(&app, &admin(), MERGE, json!({ "survivorId": contoso.gid, "mergedId": fabrikam.gid })).await;
    assert_eq!(user_errors(&again), vec!["ALREADY_MERGED"]);
    let back = mutate(&app, &admin(), MERGE, json!({ "survivorId": fabrikam.gid, "mergedId": contoso.gid })).await;
    assert_eq!(user_errors(&back), vec!["ALREADY_MERGED"]);
}

#[tokio::test]
async fn after_a_merge_renewing_the_kept_membership_keeps_only_its_core_package() {
    // the survivor's ACTION_PACK renews, but its core benefits end with the window.
    let app = TestApp::spawn().await;
    let ((contoso, pa_c), (fabrikam, _), ids) = two_accounts(&app).await;
    let (c_ap, f_gold) = (&ids[0], &ids[3]);
    mutate(&app, &admin(), MERGE, json!({ "survivorId": contoso.gid, "mergedId": fabrikam.gid })).await;
    app.clock.set(Utc.with_ymd_and_hms(2027, 1, 11, 9, 0, 0).unwrap());
    let renewed = mutate(&app, &pa_c, RENEW, json!({ "id": c_ap, "feePaid": true, "profileReviewed": true })).await;
    assert_eq!(user_errors(&renewed), Vec::<String>::new(), "{renewed}");
    app.clock.set(Utc.with_ymd_and_hms(2027, 2, 10, 9, 0, 0).unwrap());
    let ap_codes = benefits(&app, &pa_c, c_ap).await;
    assert!(ap_codes.iter().all(|c| c["status"] == "EXPIRED"), "core benefits ended at renewal: {ap_codes:?}");
    let seen = app.execute(&pa_c, "query($id: ID!) { membership(id: $id) { status } }", json!({ "id": c_ap })).await;
    assert_eq!(seen["data"]["membership"]["status"], "ACTIVE", "the membership itself renewed");
    assert!(benefits(&app, &pa_c, f_gold).await.iter().all(|c| c["status"] == "ISSUED"));
}

#[tokio::test]
async fn two_concurrent_merges_of_one_account_give_exactly_one() {
    // one transaction, guarded on the merged account.
    let app = TestApp::spawn().await;
    let (a, _) = partner(&app, "A", "PGA-M1").await;
    let (b, _) = partner(&app, "B", "PGA-M2").await;
    let (c, _) = partner(&app, "C", "PGA-M3").await;
    let desk = admin();
    let merges = [&a, &b, &a, &b]
        .map(|survivor| mutate(&app, &desk, MERGE, json!({ "survivorId": survivor.gid, "mergedId": c.gid })));
    let results: Vec<Value> = futures_util::future::join_all(merges).await;
    let wins = results.iter().filter(|p| user_errors(p).is_empty()).count();
    assert_eq!(wins, 1, "{results:?}");
    assert!(results.iter().filter(|p| !user_errors(p).is_empty()).all(|p| user_errors(p) == vec!["ALREADY_MERGED"]));
}
