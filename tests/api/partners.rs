//! A partner account's records: KPIs, the eligibility dry run and
//! requirements (R-24 .. R-26), the directory, renewal reminders
//! and who may see them.

use chrono::{TimeZone, Utc};
use licensegraph::auth::Role;
use serde_json::{Value, json};

use crate::{
    fixtures::*,
    helpers::{TestApp, admin, error_code},
    memberships::{RECORD_KPI, TRAINER, enroll, invoice, kpi_input, partner, passed_exams, requirement},
};

const KPI_TOTAL: &str = "query($org: ID!, $on: Date, $anniversary: Date) {
    kpiTotal(organizationId: $org, asOf: $on, anniversary: $anniversary) {
        anniversary windowStartsOn windowEndsOn kpiValue revenueCents invoices
    }
}";

const ELIGIBILITY: &str = "query($org: ID!, $offer: Offer!, $competency: String, $level: CompetencyLevel, $on: Date) {
    membershipEligibility(organizationId: $org, offer: $offer, competency: $competency, level: $level, asOf: $on) {
        eligible bestLevel unmet { rule requirement level required actual }
        partner { kpiValue certifiedTrainers passedExams holdsActionPack }
    }
}";

const LISTING: &str = "mutation($input: SubmitDirectoryListingInput!) {
    submitDirectoryListing(input: $input) {
        listing { displayName country submittedOn processingWeekOf visibleFrom } userErrors { code field message }
    }
}";

#[tokio::test]
async fn only_invoices_count_and_each_invoice_once() {
    //
    let app = TestApp::spawn().await;
    let (org, pa) = partner(&app, "Northwind", "PGA-K1").await;
    for document in ["ORDER_CONFIRMATION", "PARTNER_REPORT"] {
        let mut input = kpi_input(&org, (2026, 9), "INV-1", 10, 100);
        input["documentType"] = json!(document);
        let refused = mutate(&app, &pa, RECORD_KPI, input).await;
        assert_eq!(user_errors(&refused), vec!["NOT_AN_INVOICE"], "{document}: {refused}");
        assert_eq!(refused["userErrors"][0]["field"], json!(["input", "documentType"]));
    }
    let first = mutate(&app, &pa, RECORD_KPI, kpi_input(&org, (2026, 9), "INV-1", 10, 100)).await;
    assert_eq!(first["kpi"]["visibleFrom"], "2026-10-15", "{first}");
    let twice = mutate(&app, &pa, RECORD_KPI, kpi_input(&org, (2026, 10), " INV-1 ", 99, 100)).await;
    assert_eq!(user_errors(&twice), vec!["DUPLICATE_INVOICE"]);
    // Eight clients record one new invoice at once: it is counted once.
    let racing = (0..8).map(|_| mutate(&app, &pa, RECORD_KPI, kpi_input(&org, (2026, 10), "INV-2", 5, 5)));
    let results: Vec<Value> = futures_util::future::join_all(racing).await;
    let wins = results.iter().filter(|p| user_errors(p).is_empty()).count();
    let duplicates = results.iter().filter(|p| user_errors(p) == vec!["DUPLICATE_INVOICE"]).count();
    assert_eq!((wins, duplicates), (1, 7), "{results:?}");
    // A month that is not the date's, blank texts, negative values: every reason at once, nothing written.
    let mut bad = kpi_input(&org, (2026, 9), " ", -1, -1);
    bad["month"] = json!(13);
    bad["omlpType"] = json!("");
    let refused = mutate(&app, &pa, RECORD_KPI, bad).await;
    assert_eq!(
        user_errors(&refused),
        vec!["OUT_OF_RANGE", "BLANK", "BLANK", "OUT_OF_RANGE", "OUT_OF_RANGE"],
        "{refused}"
    );
    // A record without its invoice's date is refused: the windows count days.
    let mut undated = kpi_input(&org, (2026, 9), "INV-9", 1, 1);
    undated.as_object_mut().unwrap().remove("invoicedOn");
    let refused = mutate(&app, &pa, RECORD_KPI, undated).await;
    assert_eq!(refused["userErrors"][0]["field"], json!(["input", "invoicedOn"]), "{refused}");
    let future = mutate(&app, &pa, RECORD_KPI, kpi_input(&org, (2026, 12), "INV-3", 1, 1)).await;
    assert_eq!(user_errors(&future), vec!["OUT_OF_RANGE"]);
    let total = app
        .execute(
            &pa,
            "query($org: ID!) { kpis(organizationId: $org, asOf: \"2027-01-01\") { totalCount } }",
            json!({ "org": org.gid }),
        )
        .await;
    assert_eq!(total["data"]["kpis"]["totalCount"], 2, "{total}");
}

#[tokio::test]
async fn kpi_reports_show_an_invoice_from_the_15th_of_the_next_month() {
    // an invoice dated in month M is visible from the 15th of M+1.
    let app = TestApp::spawn().await;
    let (org, pa) = partner(&app, "Northwind", "PGA-K2").await;
    invoice(&app, &org, (2026, 9), "SEP", 10, 0).await;
    invoice(&app, &org, (2026, 10), "OCT", 20, 0).await;
    let query = "query($org: ID!, $on: Date) { kpis(organizationId: $org, asOf: $on) { nodes { invoiceNumber } } }";
    let seen = |on: &'static str| {
        let app = &app;
        let pa = pa.clone();
        let org = org.gid.clone();
        async move {
            let r = app.execute(&pa, query, json!({ "org": org, "on": on })).await;
            r["data"]["kpis"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["invoiceNumber"].clone())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(seen("2026-10-14").await, Vec::<Value>::new());
    assert_eq!(seen("2026-10-15").await, vec![json!("SEP")]);
    assert_eq!(seen("2026-11-14").await, vec![json!("SEP")]);
    assert_eq!(seen("2026-11-15").await, vec![json!("SEP"), json!("OCT")]);
}

#[tokio::test]
async fn renewal_kpis_count_the_12_months_before_the_anniversary_visible_on_the_day() {
    // window anniversary - 12 months .. anniversary - 1 day, visible on the day of evaluation.
    let app = TestApp::spawn().await;
    app.clock.set(Utc.with_ymd_and_hms(2027, 10, 1, 9, 0, 0).unwrap());
    let (org, pa) = partner(&app, "Northwind", "PGA-K3").await;
    for (month, number, kpi) in [
        ((2026, 8), "AUG-26", 1),
        ((2026, 9), "SEP-26", 10),
        ((2027, 7), "JUL-27", 100),
        ((2027, 8), "AUG-27", 1000),
        ((2027, 9), "SEP-27", 10000),
    ] {
        invoice(&app, &org, month, number, kpi, kpi * 100).await;
    }
    let total = |on: &'static str| {
        let (app, pa, org) = (&app, pa.clone(), org.gid.clone());
        async move {
            let r = app.execute(&pa, KPI_TOTAL, json!({ "org": org, "on": on, "anniversary": "2027-09-01" })).await;
            r["data"]["kpiTotal"].clone()
        }
    };
    // On the anniversary's 14 September, August 2027 is not visible yet.
    assert_eq!(
        total("2027-09-14").await,
        json!({ "anniversary": "2027-09-01", "windowStartsOn": "2026-09-01", "windowEndsOn": "2027-08-31",
                "kpiValue": 110, "revenueCents": 11000, "invoices": 2 })
    );
    // From the 15th it is; August 2026 (before the window) and September 2027 (after it) never count.
    assert_eq!(total("2027-09-15").await["kpiValue"], 1110);
}

#[tokio::test]
async fn the_dry_run_lists_every_unmet_requirement_and_the_best_level() {
    // R-24 .. R-26; nothing changes.
    let app = TestApp::spawn().await;
    let (org, pa) = partner(&app, "Northwind", "PGA-E1").await;
    requirement(&app, "Cloud Platform", "SILVER", 100, 1, 2).await;
    requirement(&app, "Cloud Platform", "GOLD", 500, 2, 4).await;
    let ask = |offer: &str, level: Option<&str>| json!({ "org": org.gid, "offer": offer, "competency": if offer == "COMPETENCY" { Some("Cloud Platform") } else { None }, "level": level });
    let lap = app.execute(&pa, ELIGIBILITY, ask("LEARNING_ACTION_PACK", None)).await;
    assert_eq!(
        lap["data"]["membershipEligibility"]["unmet"],
        json!([{ "rule": "R-25", "requirement": "certifiedTrainers", "level": null, "required": 1, "actual": 0 }]),
        "{lap}"
    );
    mutate(&app, &admin(), TRAINER, json!({ "organizationId": org.gid, "name": "Grace", "mctId": "MCT-1" })).await;
    passed_exams(&app, &org, "grace", &["AZ-104", "AZ-305"]).await;
    invoice(&app, &org, (2026, 9), "INV-1", 300, 0).await;
    let gold = app.execute(&pa, ELIGIBILITY, ask("COMPETENCY", Some("GOLD"))).await;
    assert_eq!(
        gold["data"]["membershipEligibility"],
        json!({
            "eligible": false,
            "bestLevel": "SILVER",
            "unmet": [
                { "rule": "R-26", "requirement": "kpiValue", "level": "GOLD", "required": 500, "actual": 300 },
                { "rule": "R-26", "requirement": "certifiedTrainers", "level": "GOLD", "required": 2, "actual": 1 },
                { "rule": "R-26", "requirement": "passedExams", "level": "GOLD", "required": 4, "actual": 2 },
            ],
            "partner": { "kpiValue": 300, "certifiedTrainers": 1, "passedExams": 2, "holdsActionPack": false },
        }),
        "{gold}"
    );
    // The same day a week earlier: the September invoice was not visible before 15 October.
    let mut earlier = ask("COMPETENCY", Some("SILVER"));
    earlier["on"] = json!("2026-10-14");
    let before = app.execute(&pa, ELIGIBILITY, earlier).await;
    assert_eq!(before["data"]["membershipEligibility"]["bestLevel"], Value::Null, "{before}");
    let silver = app.execute(&pa, ELIGIBILITY, ask("COMPETENCY", Some("SILVER"))).await;
    assert_eq!(silver["data"]["membershipEligibility"]["eligible"], true);
    enroll(&app, &pa, &org, "ACTION_PACK").await;
    let second = app.execute(&pa, ELIGIBILITY, ask("ACTION_PACK", None)).await;
    assert_eq!(second["data"]["membershipEligibility"]["unmet"][0]["rule"], "R-24", "{second}");
    let listed = app.execute(&pa, "{ memberships { totalCount } }", json!({})).await;
    assert_eq!(listed["data"]["memberships"]["totalCount"], 1, "the dry runs enrolled nothing");
    let unknown = app
        .execute(&pa, ELIGIBILITY, json!({ "org": org.gid, "offer": "COMPETENCY", "competency": "Basket Weaving" }))
        .await;
    assert_eq!(error_code(&unknown), Some("BAD_USER_INPUT"), "{unknown}");
}

#[tokio::test]
async fn requirements_are_data_edited_by_admins_only() {
    // editable by admin; a raised requirement applies at once.
    let app = TestApp::spawn().await;
    let seeded = app.execute(&admin(), "{ competencyRequirements { competency } }", json!({})).await;
    assert_eq!(seeded["data"]["competencyRequirements"].as_array().unwrap().len(), 6, "seeded with the catalog");
    let (org, pa) = partner(&app, "Northwind", "PGA-E2").await;
    requirement(&app, "Security", "SILVER", 0, 0, 1).await;
    passed_exams(&app, &org, "ada", &["SC-200"]).await;
    // A pass counts once per person and exam, is never in the future, and names a real exam id.
    let passed =
        "mutation($input: RecordPassedExamInput!) { recordPassedExam(input: $input) { userErrors { code field } } }";
    for (exam, on, code) in [
        ("SC-200", "2026-06-01", "TAKEN"),
        ("SC-300", "2026-11-22", "OUT_OF_RANGE"),
        ("sc 300", "2026-06-01", "INVALID_FORMAT"),
    ] {
        let input = json!({ "organizationId": org.gid, "person": "ada", "exam": exam, "passedOn": on });
        assert_eq!(user_errors(&mutate(&app, &pa, passed, input).await), vec![code], "{exam} {on}");
    }
    let ask = json!({ "org": org.gid, "offer": "COMPETENCY", "competency": "Security", "level": "SILVER" });
    assert_eq!(app.execute(&pa, ELIGIBILITY, ask.clone()).await["data"]["membershipEligibility"]["eligible"], true);
    requirement(&app, "Security", "SILVER", 0, 0, 2).await;
    assert_eq!(app.execute(&pa, ELIGIBILITY, ask).await["data"]["membershipEligibility"]["eligible"], false);
    let listed = app
        .execute(
            &pa,
            "{ competencyRequirements(competency: \"Security\") { competency level minPassedExams } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed["data"]["competencyRequirements"],
        json!([{ "competency": "Security", "level": "SILVER", "minPassedExams": 2 }])
    );
    let input = json!({ "competency": "Security", "level": "GOLD", "minPassedExams": 1 });
    let forbidden = app
        .execute(&pa, "mutation($input: SetCompetencyRequirementInput!) { setCompetencyRequirement(input: $input) { userErrors { code } } }", json!({ "input": input }))
        .await;
    assert_eq!(error_code(&forbidden), Some("FORBIDDEN"));
    let negative = app
        .execute(&admin(), "mutation($input: SetCompetencyRequirementInput!) { setCompetencyRequirement(input: $input) { userErrors { code field } } }",
            json!({ "input": { "competency": " ", "level": "GOLD", "minKpiValue": -1 } }))
        .await;
    assert_eq!(
        negative["data"]["setCompetencyRequirement"]["userErrors"],
        json!([{ "code": "BLANK", "field": ["input", "competency"] }, { "code": "OUT_OF_RANGE", "field": ["input", "minKpiValue"] }])
    );
}

#[tokio::test]
async fn directory_listings_are_processed_in_the_third_week_and_visible_on_the_7th() {
    // on or before the 21st -> processed that month; later -> the next; visible the 7th after.
    let app = TestApp::spawn().await;
    let (org, pa) = partner(&app, "Northwind", "PGA-D1").await;
    learning_partner(&app, &org, &pa).await;
    let input = json!({ "organizationId": org.gid, "displayName": "Northwind Learning", "country": "DE",
        "homepageUrl": "https://learn.northwind.example/courses" });
    for (now, processing, visible) in [
        ((2026, 11, 21), "2026-11-15", "2026-12-07"),
        ((2026, 11, 22), "2026-12-15", "2027-01-07"),
        ((2026, 12, 22), "2027-01-15", "2027-02-07"),
        ((2027, 1, 1), "2027-01-15", "2027-02-07"),
    ] {
        app.clock.set(Utc.with_ymd_and_hms(now.0, now.1, now.2, 23, 59, 0).unwrap());
        let listed = mutate(&app, &pa, LISTING, input.clone()).await;
        assert_eq!(
            (listed["listing"]["processingWeekOf"].as_str(), listed["listing"]["visibleFrom"].as_str()),
            (Some(processing), Some(visible)),
            "{now:?}: {listed}"
        );
    }
    let bad = json!({ "organizationId": org.gid, "displayName": " ", "country": "UK", "homepageUrl": "http://northwind.example" });
    let refused = mutate(&app, &pa, LISTING, bad).await;
    assert_eq!(user_errors(&refused), vec!["BLANK", "INVALID_FORMAT", "INVALID_FORMAT"], "{refused}");
    // Country codes in any case become the assigned code; schemes in any case are https.
    let mut lower = input.clone();
    lower["country"] = json!("gb");
    lower["homepageUrl"] = json!("HTTPS://learn.northwind.example");
    let listed = mutate(&app, &pa, LISTING, lower).await;
    assert_eq!(listed["listing"]["country"], "GB", "{listed}");
    let url = app
        .execute(
            &pa,
            "query($org: ID!) { directoryListings(organizationId: $org) { homepageUrl } }",
            json!({ "org": org.gid }),
        )
        .await;
    assert_eq!(url["data"]["directoryListings"][0]["homepageUrl"], "https://learn.northwind.example", "{url}");
    for (country, url) in [
        ("XX", "https://northwind.example"),
        ("UK", "https://northwind.example"),
        ("XK", "https://northwind.example"),
        ("DEU", "https://northwind.example"),
        ("DE", "https://user:pw@northwind.example"),
    ] {
        let mut attempt = input.clone();
        attempt["country"] = json!(country);
        attempt["homepageUrl"] = json!(url);
        assert_eq!(user_errors(&mutate(&app, &pa, LISTING, attempt).await), vec!["INVALID_FORMAT"], "{country} {url}");
    }
    let listings = app
        .execute(
            &pa,
            "query($org: ID!) { directoryListings(organizationId: $org) { submittedOn } }",
            json!({ "org": org.gid }),
        )
        .await;
    assert_eq!(listings["data"]["directoryListings"].as_array().unwrap().len(), 5, "refusals wrote nothing");
}

#[tokio::test]
async fn upcoming_renewals_are_listed_soonest_first_for_admins_and_own_partners() {
    // R-22 reminders; R-31 scope.
    let app = TestApp::spawn().await;
    let (a, pa_a) = partner(&app, "Alpha", "PGA-R1").await;
    let (b, pa_b) = partner(&app, "Beta", "PGA-R2").await;
    app.clock.set(Utc.with_ymd_and_hms(2025, 12, 10, 9, 0, 0).unwrap());
    enroll(&app, &pa_a, &a, "ACTION_PACK").await; // anniversary 2026-12-10, window closes 2027-01-09
    app.clock.set(Utc.with_ymd_and_hms(2025, 11, 1, 9, 0, 0).unwrap());
    enroll(&app, &pa_b, &b, "ACTION_PACK").await; // anniversary 2026-11-01, window closes 2026-12-01
    app.clock.set(Utc.with_ymd_and_hms(2025, 6, 1, 9, 0, 0).unwrap());
    mutate(&app, &admin(), TRAINER, json!({ "organizationId": b.gid, "name": "Grace", "mctId": "MCT-9" })).await;
    enroll(&app, &pa_b, &b, "LEARNING_ACTION_PACK").await; // window closed 2026-07-01: expired, not listed
    let query = "query($within: Int!) { upcomingRenewals(within: $within, asOf: \"2026-11-21\") {
        on due daysLeft membership { offer organization { name } } } }";
    let all = app.execute(&admin(), query, json!({ "within": 20 })).await;
    assert_eq!(
        all["data"]["upcomingRenewals"],
        json!([
            { "on": "2026-12-01", "due": "WINDOW_CLOSES", "daysLeft": 10, "membership": { "offer": "ACTION_PACK", "organization": { "name": "Beta" } } },
            { "on": "2026-12-10", "due": "ANNIVERSARY", "daysLeft": 19, "membership": { "offer": "ACTION_PACK", "organization": { "name": "Alpha" } } },
        ]),
        "{all}"
    );
    // The period's last day is included; one day less leaves Alpha's anniversary out.
    assert_eq!(
        app.execute(&admin(), query, json!({ "within": 18 })).await["data"]["upcomingRenewals"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let own = app.execute(&pa_a, query, json!({ "within": 60 })).await;
    let days: Vec<_> = own["data"]["upcomingRenewals"].as_array().unwrap().iter().map(|r| r["on"].clone()).collect();
    assert_eq!(days, vec![json!("2026-12-10"), json!("2027-01-09")], "{own}");
    let too_far = app.execute(&admin(), query, json!({ "within": 400 })).await;
    assert_eq!(error_code(&too_far), Some("BAD_USER_INPUT"));
    let learner = person("x", &[Role::Learner], a.id);
    assert_eq!(app.execute(&learner, query, json!({ "within": 60 })).await["data"]["upcomingRenewals"], json!([]));

    // The same worklist, a page at a time: three entries in 60 days, two pages of two.
    let paged = "query($after: String) { upcomingRenewalsConnection(within: 60, asOf: \"2026-11-21\", first: 2, after: $after) {
        totalCount nodes { on due } pageInfo { hasNextPage endCursor } } }";
    let one = app.execute(&admin(), paged, json!({ "after": null })).await;
    let one = &one["data"]["upcomingRenewalsConnection"];
    assert_eq!(one["totalCount"], 3, "{one}");
    assert_eq!(
        one["nodes"],
        json!([{ "on": "2026-12-01", "due": "WINDOW_CLOSES" }, { "on": "2026-12-10", "due": "ANNIVERSARY" }])
    );
    assert_eq!(one["pageInfo"]["hasNextPage"], true);
    let two = app.execute(&admin(), paged, json!({ "after": one["pageInfo"]["endCursor"] })).await;
    let two = &two["data"]["upcomingRenewalsConnection"];
    assert_eq!(two["nodes"], json!([{ "on": "2027-01-09", "due": "WINDOW_CLOSES" }]), "{two}");
    assert_eq!(two["pageInfo"]["hasNextPage"], false);
    let theirs = app.execute(&pa_b, paged, json!({ "after": null })).await;
    assert_eq!(theirs["data"]["upcomingRenewalsConnection"]["totalCount"], 1, "{theirs}");
}

#[tokio::test]
async fn another_partners_records_answer_as_missing() {
    //
    let app = TestApp::spawn().await;
    let (mine, pa) = partner(&app, "Mine", "PGA-I1").await;
    let (theirs, _) = partner(&app, "Theirs", "PGA-I2").await;
    invoice(&app, &theirs, (2026, 9), "THEIRS-1", 10, 10).await;
    let reads = app
        .execute(
            &pa,
            "query($org: ID!) {
                kpis(organizationId: $org, asOf: \"2027-01-01\") { totalCount nodes { id } }
                kpiTotal(organizationId: $org) { kpiValue }
                membershipEligibility(organizationId: $org, offer: ACTION_PACK) { eligible }
                passedExams(organizationId: $org) { exam }
                directoryListings(organizationId: $org) { displayName }
                certifiedTrainers(organizationId: $org) { name }
                upcomingRenewals(within: 366, organizationId: $org) { on }
            }",
            json!({ "org": theirs.gid }),
        )
        .await;
    assert_eq!(
        reads["data"],
        json!({ "kpis": { "totalCount": 0, "nodes": [] }, "kpiTotal": null, "membershipEligibility": null,
                "passedExams": [], "directoryListings": [], "certifiedTrainers": [], "upcomingRenewals": [] }),
        "{reads}"
    );
    let writes = [
        (RECORD_KPI, kpi_input(&theirs, (2026, 9), "X-1", 1, 1)),
        (
            LISTING,
            json!({ "organizationId": theirs.gid, "displayName": "X", "country": "DE", "homepageUrl": "https://x.example" }),
        ),
        (
            "mutation($input: RecordPassedExamInput!) { recordPassedExam(input: $input) { userErrors { code field message } } }",
            json!({ "organizationId": theirs.gid, "person": "p", "exam": "AZ-900", "passedOn": "2026-01-01" }),
        ),
    ];
    for (mutation, input) in writes {
        let refused = mutate(&app, &pa, mutation, input).await;
        assert_eq!(user_errors(&refused), vec!["NOT_FOUND"], "{refused}");
    }
    // Its own records stay reachable.
    let own = mutate(&app, &pa, RECORD_KPI, kpi_input(&mine, (2026, 9), "MINE-1", 1, 1)).await;
    assert_eq!(user_errors(&own), Vec::<String>::new());
}

/// Makes a partner a learning partner: a verified trainer and a
/// Learning Action Pack in force.
pub async fn learning_partner(app: &TestApp, org: &Org, pa: &licensegraph::auth::Viewer) {
    let mct = format!("MCT-{}", org.id);
    mutate(app, &admin(), TRAINER, json!({ "organizationId": org.gid, "name": "Grace", "mctId": mct })).await;
    let lap = enroll(app, pa, org, "LEARNING_ACTION_PACK").await;
    assert_eq!(lap["membership"]["offer"], "LEARNING_ACTION_PACK", "{lap}");
}
