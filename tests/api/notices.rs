//! Notices: fulfilment mails the codes to the notice contact
//! and no one else, a site pack's instructions follow, renewal reminders
//! reach the partner's admins once, late orders reach the desk; `notices`
//! shows what was sent to whom, to the organization's administrators only.

use std::{path::PathBuf, sync::Arc, time::Duration};

use licensegraph::{
    dispatch::{Dispatcher, Report, mail::Mailer, webhooks::Sender},
    domain::webhook_urls::UrlPolicy,
};
use serde_json::{Value, json};

use crate::{
    events::at,
    fixtures::*,
    helpers::{TestApp, admin},
    memberships::{enroll, partner},
};

pub const DESK: &str = "desk@licensing.example";

/// A dispatcher over the test's database and clock, writing `.eml` files
/// into a fresh folder (returned).
pub fn dispatcher(app: &TestApp) -> (Dispatcher, PathBuf) {
    let dir = std::env::temp_dir().join(format!("lg-mail-{}", rand::random::<u64>()));
    let mailer = Mailer::new(None, dir.clone(), "licensegraph <notices@licensing.example>").expect("mailer");
    let sender = Sender::new(UrlPolicy::OPEN, Duration::from_secs(5)).expect("sender");
    let clock = Arc::new(app.clock.clone());
    (Dispatcher::new(app.db.clone(), clock, mailer, sender, Some(DESK.into()), Duration::ZERO), dir)
}

pub async fn run(dispatcher: &Dispatcher) -> Report {
    dispatcher.run_once().await.expect("dispatch run")
}

const NOTICES: &str = "query($kind: String) { notices(kind: $kind, first: 50) { totalCount nodes {
    kind recipients subject status attempts sentAt messageId lastError event { type } } } }";

async fn notices(app: &TestApp, viewer: &licensegraph::auth::Viewer, kind: Option<&str>) -> Value {
    let r = app.execute(viewer, NOTICES, json!({ "kind": kind })).await;
    assert!(r["errors"].is_null(), "{r}");
    r["data"]["notices"].clone()
}

fn eml_files(dir: &PathBuf) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "eml")).collect()
        })
        .unwrap_or_else(|_| Vec::new());
    files.sort();
    files.iter().map(|p| std::fs::read_to_string(p).expect("eml")).collect()
}

#[tokio::test]
async fn fulfilment_mails_the_codes_to_the_notice_contact_and_nowhere_else_r12() {
    let app = TestApp::spawn().await;
    let (dispatcher, dir) = dispatcher(&app);
    let school = academic(&app, "Mailed School").await;
    let agreement = academic_year(&app, &school, "SPE-2026-MAIL").await; // notice contact licensing@example.edu
    let other = academic(&app, "Quiet School").await;
    let theirs = academic_year(&app, &other, "SPE-2026-QUIET").await;
    place(&app, &customer_admin(&other), &theirs, "CLASS-MCP-30", 1, "PRORATED").await;
    let order = fulfilled(&app, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    let report = run(&dispatcher).await;
    assert_eq!(report.notices_sent, 1, "{report:?}");

    let mine = notices(&app, &customer_admin(&school), None).await;
    assert_eq!(mine["totalCount"], 1, "{mine}");
    let sent = &mine["nodes"][0];
    assert_eq!(sent["kind"], "CODES_DELIVERED");
    assert_eq!(sent["recipients"], json!(["licensing@example.edu"]));
    assert_eq!(sent["status"], "SENT");
    assert_eq!(sent["event"]["type"], "order.fulfilled");
    assert!(sent["subject"].as_str().unwrap().contains("30 codes"), "{sent}");
    assert!(sent["messageId"].as_str().unwrap().starts_with("<notice-"));
    // The other school's administrators see none; a learner may not ask.
    assert_eq!(notices(&app, &customer_admin(&other), None).await["totalCount"], 0);
    let learner = person("kid@example.edu", &[licensegraph::auth::Role::Learner], school.id);
    assert_eq!(notices(&app, &learner, None).await["totalCount"], 0);

    let mails = eml_files(&dir);
    assert_eq!(mails.len(), 1, "one message, to the notice contact only");
    let mail = &mails[0];
    assert!(mail.contains("To: licensing@example.edu"), "{mail}");
    for (_, value) in codes_of(&app, &order, 30).await {
        assert!(mail.contains(&value), "code {value} is in the message");
    }
    // A second run sends nothing again.
    assert_eq!(run(&dispatcher).await, Report::default());
    assert_eq!(eml_files(&dir).len(), 1);
    // The notices row keeps no code.
    let rows = app.execute(&admin(), NOTICES, json!({})).await.to_string();
    for (_, value) in codes_of(&app, &order, 30).await {
        assert!(!rows.contains(&value));
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_site_pack_brings_its_instructions_and_many_codes_come_attached_r12() {
    let app = TestApp::spawn().await;
    let (dispatcher, dir) = dispatcher(&app);
    let school = academic(&app, "Site School").await;
    let agreement = academic_year(&app, &school, "SPE-2026-SITE").await;
    // 2 x 125 vouchers: past 200, the codes come as codes.csv.
    fulfilled(&app, &agreement, "SITE-MTA-MOS-MCE-125", 2, "PRORATED").await;
    let report = run(&dispatcher).await;
    assert_eq!(report.notices_sent, 2, "{report:?}");
    let kinds: Vec<String> = notices(&app, &customer_admin(&school), None).await["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["CODES_DELIVERED", "SITE_PACK"]);
    let mails = eml_files(&dir);
    assert!(mails[0].contains("codes.csv") && mails[0].contains("Content-Disposition: attachment"), "{}", mails[0]);
    assert!(mails[1].contains("Certiport customer service"), "{}", mails[1]);
    assert!(mails[1].contains("Content-Type: text/html") && mails[1].contains("Content-Type: text/plain"));
    let _ = std::fs::remove_dir_all(dir);
}

const SET_EMAILS: &str = "mutation($input: SetNoticeEmailsInput!) { setNoticeEmails(input: $input) {
    organization { noticeEmails } userErrors { code field } } }";

#[tokio::test]
async fn renewal_reminders_reach_the_partners_admins_once_r36() {
    let app = TestApp::spawn().await;
    let (dispatcher, dir) = dispatcher(&app);
    let (org, pa) = partner(&app, "Reminded Partner", "PGA-REMIND").await;
    let (silent, silent_pa) = partner(&app, "Silent Partner", "PGA-SILENT").await;
    let set =
        mutate(&app, &pa, SET_EMAILS, json!({ "organizationId": org.gid, "emails": [" Ops@Reminded.example "] })).await;
    assert_eq!(set["organization"]["noticeEmails"], json!(["Ops@Reminded.example"]), "{set}");
    // Refusals: not an address, twice, another organization's.
    let bad = mutate(
        &app,
        &pa,
        SET_EMAILS,
        json!({ "organizationId": org.gid, "emails": ["nope", "a@x.example", "A@x.example"] }),
    )
    .await;
    assert_eq!(user_errors(&bad), ["INVALID_FORMAT", "DUPLICATE"]);
    let theirs =
        mutate(&app, &pa, SET_EMAILS, json!({ "organizationId": silent.gid, "emails": ["a@x.example"] })).await;
    assert_eq!(user_errors(&theirs), ["NOT_FOUND"]);

    // Bought 2025-11-01: anniversary 2026-11-01, reminder due 2026-10-02 (30 days before).
    app.clock.set(at(2025, 11, 1));
    enroll(&app, &pa, &org, "ACTION_PACK").await;
    enroll(&app, &silent_pa, &silent, "ACTION_PACK").await;
    for (day, expected) in [((2026, 10, 1), 0), ((2026, 10, 2), 1), ((2026, 10, 2), 1), ((2026, 10, 20), 1)] {
        let now = at(day.0, day.1, day.2);
        app.clock.set(now);
        licensegraph::service::schedule::tick(&app.db, now).await.expect("tick");
        run(&dispatcher).await;
        let due = notices(&app, &pa, Some("RENEWAL_DUE")).await;
        assert_eq!(due["totalCount"], expected, "{day:?}: {due}");
    }
    let due = notices(&app, &pa, Some("RENEWAL_DUE")).await;
    assert_eq!(due["nodes"][0]["recipients"], json!(["Ops@Reminded.example"]));
    assert_eq!(due["nodes"][0]["status"], "SENT");
    // No addresses: kept as NO_RECIPIENT, saying why.
    let unsent = notices(&app, &silent_pa, Some("RENEWAL_DUE")).await;
    assert_eq!(unsent["nodes"][0]["status"], "NO_RECIPIENT", "{unsent}");
    assert!(unsent["nodes"][0]["lastError"].as_str().unwrap().contains("noticeEmails"));
    // The window opens the day after the anniversary, and closes 7 days later than the reminder says.
    app.clock.set(at(2026, 11, 2));
    licensegraph::service::schedule::tick(&app.db, at(2026, 11, 2)).await.expect("tick");
    run(&dispatcher).await;
    assert_eq!(notices(&app, &pa, Some("RENEWAL_WINDOW_OPENED")).await["totalCount"], 1);
    let mails = eml_files(&dir);
    assert_eq!(mails.len(), 2, "the reminder and the window, each once");
    assert!(mails.iter().all(|m| m.contains("To: Ops@Reminded.example")));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_late_order_alerts_the_desk_r36() {
    let app = TestApp::spawn().await;
    let (dispatcher, dir) = dispatcher(&app);
    let school = academic(&app, "Waiting School").await;
    let agreement = academic_year(&app, &school, "SPE-2026-WAIT").await;
    place(&app, &customer_admin(&school), &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    let later = crate::helpers::default_now() + chrono::Duration::hours(49);
    app.clock.set(later);
    licensegraph::service::schedule::tick(&app.db, later).await.expect("tick");
    run(&dispatcher).await;
    let late = notices(&app, &admin(), Some("ORDER_LATE")).await;
    assert_eq!(late["nodes"][0]["recipients"], json!([DESK]), "{late}");
    let mails = eml_files(&dir);
    assert!(mails[0].contains("awaits confirmation"), "{}", mails[0]);
    let _ = std::fs::remove_dir_all(dir);
}
