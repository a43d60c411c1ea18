//! KPI records by day, disputes, corrections and the CSV import.
//!
//! A record carries its invoice's date: reports show it from the 15th of
//! the next month, and a renewal counts the invoices dated anniversary - 12
//! months ..= anniversary - 1 day, by day. A partner disputes a figure; the
//! desk accepts (the record is corrected, with history, and counts) or
//! rejects with a reason. The desk corrects records (kept in the history)
//! and imports a CSV of marketplace purchases, all lines or none.

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use crate::{
    fixtures::*,
    helpers::{TestApp, admin, error_code},
    memberships::{RECORD_KPI, partner},
};

const KPI_TOTAL: &str = "query($org: ID!, $on: Date!, $anniversary: Date!) {
    kpiTotal(organizationId: $org, asOf: $on, anniversary: $anniversary) { windowStartsOn windowEndsOn kpiValue invoices }
}";

const DISPUTE: &str = "mutation($input: DisputeKpiInput!) {
    disputeKpi(input: $input) { dispute { id review { status } record { id } } userErrors { code field message } }
}";

const VERIFY: &str = "mutation($input: VerifyPartnerFactInput!) {
    verifyPartnerFact(input: $input) { id status userErrors { code field } }
}";

const CORRECT: &str = "mutation($input: CorrectKpiRecordInput!) {
    correctKpiRecord(input: $input) { kpi { id kpiValue invoicedOn visibleFrom
        history { field from to reason actor } } userErrors { code field } }
}";

const IMPORT: &str = "mutation($input: ImportKpiRecordsInput!) {
    importKpiRecords(input: $input) { imported lines { line invoiceNumber status userErrors { code field } }
        userErrors { code field message } }
}";

fn record(org: &Org, day: &str, number: &str, kpi: i64) -> Value {
    json!({ "organizationId": org.gid, "invoicedOn": day, "omlpType": "OLP", "purchaseUnit": "Training",
            "documentType": "INVOICE", "invoiceNumber": number, "kpiValue": kpi, "revenueCents": kpi * 100 })
}

async fn desk_records(app: &TestApp, org: &Org, day: &str, number: &str, kpi: i64) -> String {
    let r = mutate(app, &admin(), RECORD_KPI, record(org, day, number, kpi)).await;
    assert_eq!(user_errors(&r), Vec::<String>::new(), "{r}");
    r["kpi"]["id"].as_str().expect("kpi id").to_owned()
}

async fn total(app: &TestApp, org: &Org, on: &str, anniversary: &str) -> Value {
    let r = app.execute(&admin(), KPI_TOTAL, json!({ "org": org.gid, "on": on, "anniversary": anniversary })).await;
    r["data"]["kpiTotal"].clone()
}

#[tokio::test]
async fn the_renewal_window_and_visibility_count_days_r28() {
    let app = TestApp::spawn().await;
    app.clock.set(Utc.with_ymd_and_hms(2027, 11, 1, 9, 0, 0).unwrap());
    let (org, _) = partner(&app, "Daywise", "PGA-DAY").await;
    // Anniversary 2027-09-15: invoices dated 2026-09-15 ..= 2027-09-14 count.
    for (day, number, kpi) in [
        ("2026-09-14", "EVE", 1),
        ("2026-09-15", "FIRST", 10),
        ("2027-09-14", "LAST", 100),
        ("2027-09-15", "ANNIVERSARY", 1000),
    ] {
        desk_records(&app, &org, day, number, kpi).await;
    }
    assert_eq!(
        total(&app, &org, "2027-10-15", "2027-09-15").await,
        json!({ "windowStartsOn": "2026-09-15", "windowEndsOn": "2027-09-14", "kpiValue": 110, "invoices": 2 })
    );
    // The last day's invoice shows from the 15th of the next month only.
    assert_eq!(total(&app, &org, "2027-10-14", "2027-09-15").await["kpiValue"], 10);
    // The reports themselves: an invoice of 30 September shows on 15 October, not the 14th.
    let seen = |on: &'static str| {
        let (app, org) = (&app, org.gid.clone());
        async move {
            let q = "query($org: ID!, $on: Date) { kpis(organizationId: $org, asOf: $on) { totalCount } }";
            app.execute(&admin(), q, json!({ "org": org, "on": on })).await["data"]["kpis"]["totalCount"].clone()
        }
    };
    assert_eq!(seen("2027-10-14").await, 2);
    assert_eq!(seen("2027-10-15").await, 4);
}

#[tokio::test]
async fn a_29_february_anniversary_counts_from_28_february_r28() {
    let app = TestApp::spawn().await;
    app.clock.set(Utc.with_ymd_and_hms(2028, 4, 1, 9, 0, 0).unwrap());
    let (org, _) = partner(&app, "Leap", "PGA-LEAP").await;
    desk_records(&app, &org, "2027-02-27", "BEFORE", 1).await;
    desk_records(&app, &org, "2027-02-28", "FIRST", 10).await;
    desk_records(&app, &org, "2028-02-28", "LAST", 100).await;
    desk_records(&app, &org, "2028-02-29", "ANNIVERSARY", 1000).await;
    let t = total(&app, &org, "2028-03-15", "2028-02-29").await;
    assert_eq!((t["windowStartsOn"].clone(), t["kpiValue"].clone()), (json!("2027-02-28"), json!(110)), "{t}");
}

#[tokio::test]
async fn an_invoice_is_dated_today_at_the_latest_and_its_month_agrees() {
    let app = TestApp::spawn().await; // today: 2026-11-21
    let (org, _) = partner(&app, "Dated", "PGA-DATED").await;
    desk_records(&app, &org, "2026-11-21", "TODAY", 1).await;
    let tomorrow = mutate(&app, &admin(), RECORD_KPI, record(&org, "2026-11-22", "TOMORROW", 1)).await;
    assert_eq!(user_errors(&tomorrow), vec!["OUT_OF_RANGE"], "{tomorrow}");
    let mut other_month = record(&org, "2026-10-31", "OCT", 1);
    other_month["month"] = json!(11);
    let refused = mutate(&app, &admin(), RECORD_KPI, other_month).await;
    assert_eq!(refused["userErrors"][0]["field"], json!(["input", "month"]), "{refused}");
    let mut agreeing = record(&org, "2026-10-31", "OCT", 1);
    agreeing["year"] = json!(2026);
    agreeing["month"] = json!(10);
    assert_eq!(user_errors(&mutate(&app, &admin(), RECORD_KPI, agreeing).await), Vec::<String>::new());
}

#[tokio::test]
async fn a_dispute_counts_only_once_the_desk_accepts_it_and_the_record_keeps_its_history() {
    let app = TestApp::spawn().await;
    app.clock.set(Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap());
    let (org, pa) = partner(&app, "Disputer", "PGA-DISPUTE").await;
    let kpi = desk_records(&app, &org, "2026-09-10", "INV-D1", 10).await;
    let mut contest = record(&org, "2026-09-10", "INV-D1", 25);
    contest["recordId"] = json!(kpi);
    contest["explanation"] = json!("two training days, not one");
    // Naming the invoice without the record would count it twice: refused.
    let unnamed = mutate(&app, &pa, DISPUTE, record(&org, "2026-09-10", "INV-D1", 25)).await;
    assert_eq!(user_errors(&unnamed), vec!["DUPLICATE_INVOICE"], "{unnamed}");
    let dispute = mutate(&app, &pa, DISPUTE, contest.clone()).await;
    assert_eq!(dispute["dispute"]["review"]["status"], "PENDING", "{dispute}");
    assert_eq!(dispute["dispute"]["record"]["id"], json!(kpi));
    let dispute_id = dispute["dispute"]["id"].clone();
    // Pending: the figure is still the desk's.
    assert_eq!(total(&app, &org, "2026-11-21", "2027-01-01").await["kpiValue"], 10);
    // Only the desk decides.
    let refused = app.execute(&pa, VERIFY, json!({ "input": { "id": dispute_id, "verdict": "VERIFY" } })).await;
    assert_eq!(error_code(&refused), Some("FORBIDDEN"), "{refused}");
    let accepted = mutate(&app, &admin(), VERIFY, json!({ "id": dispute_id, "verdict": "VERIFY" })).await;
    assert_eq!(accepted["status"], "VERIFIED", "{accepted}");
    assert_eq!(total(&app, &org, "2026-11-21", "2027-01-01").await["kpiValue"], 25);
    let again = mutate(&app, &admin(), VERIFY, json!({ "id": dispute_id, "verdict": "REJECT", "reason": "no" })).await;
    assert_eq!(user_errors(&again), vec!["ALREADY_REVIEWED"]);
    // A correction that changes nothing writes nothing: the history holds the dispute's changes only.
    let corrected = mutate(&app, &admin(), CORRECT, json!({ "id": kpi, "reason": "look" })).await;
    let changes = corrected["kpi"]["history"].as_array().expect("history").clone();
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(changes.iter().any(|c| c["field"] == "kpiValue" && c["from"] == "10" && c["to"] == "25"));
    assert!(changes.iter().all(|c| c["reason"].as_str().unwrap().starts_with("dispute ")), "{changes:?}");

    // A rejected dispute says why and changes nothing.
    let second = mutate(&app, &pa, DISPUTE, contest).await;
    let second_id = second["dispute"]["id"].clone();
    let no_reason = mutate(&app, &admin(), VERIFY, json!({ "id": second_id, "verdict": "REJECT" })).await;
    assert_eq!(user_errors(&no_reason), vec!["BLANK"]);
    let rejected =
        mutate(&app, &admin(), VERIFY, json!({ "id": second_id, "verdict": "REJECT", "reason": "already fixed" }))
            .await;
    assert_eq!(rejected["status"], "REJECTED", "{rejected}");
    assert_eq!(total(&app, &org, "2026-11-21", "2027-01-01").await["kpiValue"], 25);

    // A claim of an invoice the desk has not recorded: accepted, it becomes a verified record.
    let claim = mutate(&app, &pa, DISPUTE, record(&org, "2026-10-02", "INV-D2", 7)).await;
    let claim_id = claim["dispute"]["id"].clone();
    let pending = app
        .execute(
            &pa,
            "query($org: ID!) { kpiDisputes(organizationId: $org, status: PENDING) { totalCount } }",
            json!({ "org": org.gid }),
        )
        .await;
    assert_eq!(pending["data"]["kpiDisputes"]["totalCount"], 1, "{pending}");
    mutate(&app, &admin(), VERIFY, json!({ "id": claim_id, "verdict": "VERIFY" })).await;
    assert_eq!(total(&app, &org, "2026-11-21", "2027-01-01").await["kpiValue"], 32);

    // Another partner cannot see or contest this partner's records.
    let (other, other_pa) = partner(&app, "Snoop", "PGA-SNOOP").await;
    let mut foreign = record(&other, "2026-09-10", "INV-D1", 99);
    foreign["recordId"] = json!(kpi);
    assert_eq!(user_errors(&mutate(&app, &other_pa, DISPUTE, foreign).await), vec!["NOT_FOUND"]);
    let theirs = app.execute(&other_pa, "{ kpiDisputes { totalCount } }", json!({})).await;
    assert_eq!(theirs["data"]["kpiDisputes"]["totalCount"], 0, "{theirs}");
}

#[tokio::test]
async fn the_desk_corrects_a_record_and_the_change_is_kept_r28() {
    let app = TestApp::spawn().await;
    let (org, pa) = partner(&app, "Corrected", "PGA-FIX").await;
    let kpi = desk_records(&app, &org, "2026-09-30", "INV-F1", 40).await;
    desk_records(&app, &org, "2026-09-01", "INV-F2", 1).await;
    let forbidden = app.execute(&pa, CORRECT, json!({ "input": { "id": kpi, "kpiValue": 1, "reason": "mine" } })).await;
    assert_eq!(error_code(&forbidden), Some("FORBIDDEN"), "{forbidden}");
    // Wrong corrections change nothing: another record's invoice number, a blank reason, a negative value.
    let clash =
        mutate(&app, &admin(), CORRECT, json!({ "id": kpi, "invoiceNumber": "INV-F2", "reason": "typo" })).await;
    assert_eq!(user_errors(&clash), vec!["DUPLICATE_INVOICE"], "{clash}");
    let bad = mutate(&app, &admin(), CORRECT, json!({ "id": kpi, "kpiValue": -1, "reason": " " })).await;
    assert_eq!(user_errors(&bad), vec!["BLANK", "OUT_OF_RANGE"], "{bad}");
    let fixed = mutate(
        &app,
        &admin(),
        CORRECT,
        json!({ "id": kpi, "kpiValue": 45, "invoicedOn": "2026-10-01", "reason": "marketplace re-issued the invoice" }),
    )
    .await;
    assert_eq!(user_errors(&fixed), Vec::<String>::new(), "{fixed}");
    assert_eq!(
        (fixed["kpi"]["kpiValue"].clone(), fixed["kpi"]["visibleFrom"].clone()),
        (json!(45), json!("2026-11-15"))
    );
    let history = fixed["kpi"]["history"].as_array().expect("history");
    let fields: Vec<_> = history.iter().map(|c| (c["field"].clone(), c["from"].clone(), c["to"].clone())).collect();
    assert_eq!(
        fields,
        vec![
            (json!("kpiValue"), json!("40"), json!("45")),
            (json!("invoicedOn"), json!("2026-09-30"), json!("2026-10-01")),
        ],
        "{history:?}"
    );
    assert!(history.iter().all(|c| c["reason"] == "marketplace re-issued the invoice" && c["actor"] == "tester"));
}

fn csv(org: &Org, lines: &[&str]) -> String {
    let mut text = String::from(
        "Organization ID,Invoiced On,OMLP Type,Purchase Unit,Document Type,Invoice Number,KPI Value,Revenue Cents,Notes\n",
    );
    for line in lines {
        text.push_str(&line.replace("{org}", &org.gid));
        text.push('\n');
    }
    text
}

async fn count(app: &TestApp, org: &Org) -> Value {
    let q = "query($org: ID!) { kpis(organizationId: $org, asOf: \"2027-01-01\") { totalCount } }";
    app.execute(&admin(), q, json!({ "org": org.gid })).await["data"]["kpis"]["totalCount"].clone()
}

#[tokio::test]
async fn the_desk_imports_a_csv_all_lines_or_none_with_a_report_per_line_r28() {
    let app = TestApp::spawn().await;
    let (org, pa) = partner(&app, "Imported", "PGA-IMPORT").await;
    desk_records(&app, &org, "2026-08-01", "KNOWN", 1).await;
    let wrong = csv(
        &org,
        &[
            "{org},2026-09-01,OLP,Training,INVOICE,MP-1,10,1000,\"a note, with a comma\"",
            "{org},2026-09-02,OLP,Training,ORDER_CONFIRMATION,MP-2,10,1000,",
            "{org},2026-09-03,OLP,Training,INVOICE,MP-1,10,1000,",
            "{org},2026-09-04,OLP,Training,INVOICE,KNOWN,10,1000,",
            "{org},2026-13-01,OLP,Training,INVOICE,MP-5,ten,1000,",
            "T3JnYW5pemF0aW9uOjk5OTk,2026-09-05,OLP,Training,INVOICE,MP-6,10,1000,",
        ],
    );
    let report = mutate(&app, &admin(), IMPORT, json!({ "csv": wrong })).await;
    assert_eq!(report["imported"], 0, "{report}");
    assert_eq!(user_errors(&report), vec!["INVALID_FORMAT"], "{report}");
    let lines: Vec<_> = report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["line"].as_i64().unwrap(), l["status"].as_str().unwrap().to_owned(), user_errors(l)))
        .collect();
    assert_eq!(
        lines,
        vec![
            (2, "NOT_IMPORTED".into(), vec![]),
            (3, "REFUSED".into(), vec!["NOT_AN_INVOICE".to_owned()]),
            (4, "REFUSED".into(), vec!["DUPLICATE_INVOICE".to_owned()]),
            (5, "REFUSED".into(), vec!["DUPLICATE_INVOICE".to_owned()]),
            (6, "REFUSED".into(), vec!["INVALID_FORMAT".to_owned(), "INVALID_FORMAT".to_owned()]),
            (7, "REFUSED".into(), vec!["NOT_FOUND".to_owned()]),
        ]
    );
    assert_eq!(count(&app, &org).await, 1, "nothing was imported");

    let right = csv(
        &org,
        &[
            "{org},2026-09-01,OLP,Training,INVOICE,MP-1,10,1000,\"a note, with a comma\"",
            "",
            "{org},2026-09-30,\"OLP, Academic\",Training,invoice,MP-2,20,2000,",
        ],
    );
    let report = mutate(&app, &admin(), IMPORT, json!({ "csv": right })).await;
    assert_eq!((report["imported"].clone(), user_errors(&report)), (json!(2), Vec::<String>::new()), "{report}");
    assert!(report["lines"].as_array().unwrap().iter().all(|l| l["status"] == "IMPORTED"));
    assert_eq!(count(&app, &org).await, 3);
    let t = total(&app, &org, "2026-11-21", "2027-01-01").await;
    assert_eq!(t["kpiValue"], 31, "{t}");
    // Importing the same file again refuses every line: each invoice counts once.
    let again = mutate(&app, &admin(), IMPORT, json!({ "csv": right })).await;
    assert_eq!(again["imported"], 0);

    // A value past 32 bits, and a quote left open that would swallow the lines after it: refused.
    let wide = csv(&org, &["{org},2026-09-01,OLP,Training,INVOICE,MP-9,3000000000,1,"]);
    let report = mutate(&app, &admin(), IMPORT, json!({ "csv": wide })).await;
    assert_eq!(user_errors(&report["lines"][0]), vec!["INVALID_FORMAT"], "{report}");
    let open_quote = csv(
        &org,
        &[
            "{org},2026-09-01,OLP,Training,INVOICE,MP-10,1,1,\"an open quote",
            "{org},2026-09-02,OLP,Training,INVOICE,MP-11,1,1,",
        ],
    );
    let report = mutate(&app, &admin(), IMPORT, json!({ "csv": open_quote })).await;
    assert_eq!(report["imported"], 0, "{report}");
    assert_eq!(count(&app, &org).await, 3);

    // A file without the columns, an empty file, and a partner: refused.
    let headless = mutate(&app, &admin(), IMPORT, json!({ "csv": "invoice,value\nA,1\n" })).await;
    assert_eq!(headless["userErrors"][0]["code"], "INVALID_FORMAT", "{headless}");
    assert!(headless["userErrors"][0]["message"].as_str().unwrap().contains("organizationId"));
    let empty = mutate(&app, &admin(), IMPORT, json!({ "csv": csv(&org, &[]) })).await;
    assert_eq!(user_errors(&empty), vec!["BLANK"]);
    let by_partner = app.execute(&pa, IMPORT, json!({ "input": { "csv": right } })).await;
    assert_eq!(error_code(&by_partner), Some("FORBIDDEN"), "{by_partner}");
}
