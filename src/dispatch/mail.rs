//! E-mail notices: renders a claimed notice from its templates
//! (`templates/mail/<kind>.txt` and `.html`, built into the binary) and
//! sends it through SMTP, or, with no SMTP configured (the embedded
//! default), writes it as an `.eml` file in a folder beside the database,
//! so what would have been sent can be opened.
//!
//! The codes of a delivery e-mail are read from `codes` when it is sent and
//! appear nowhere else outside that table: not in the event, not in the
//! `notices` row. Past [`CODES_IN_BODY`] they come as a CSV attachment.
//! Each notice has a stable Message-ID, so a message sent twice (a process
//! dying between sending and recording it) is recognisably one.

use std::{collections::HashMap, path::PathBuf, time::Duration as StdDuration};

use chrono::{DateTime, Duration, Utc};
use entity::{agreement, code, event, membership, notice, order, organization, package};
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Attachment, Mailbox, MultiPart, header::ContentType},
};
use minijinja::Environment;
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Statement,
};
use serde_json::{Value, json};

use crate::{
    dispatch::claim::{self, Queue, release_sql},
    domain::notices::{CODES_IN_BODY, MAIL_RETRIES, NoticeKind, next_attempt},
    error::AppError,
    service::{outbox, placeholder},
};

/// Notices claimed at once.
pub const CLAIM: u64 = 32;
const LEASE_SECS: i64 = 300;

/// Where messages go.
pub enum Transport {
    /// An SMTP server (`LICENSEGRAPH_SMTP_URL`).
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// `.eml` files in a folder.
    Folder(PathBuf),
}

/// Renders and sends notices.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    templates: Environment<'static>,
}

/// The templates, as the repository holds them.
const TEMPLATES: [(&str, &str); 18] = [
    ("layout.html", include_str!("../../templates/mail/layout.html")),
    ("footer.txt", include_str!("../../templates/mail/footer.txt")),
    ("codes_delivered.txt", include_str!("../../templates/mail/codes_delivered.txt")),
    ("codes_delivered.html", include_str!("../../templates/mail/codes_delivered.html")),
    ("site_pack.txt", include_str!("../../templates/mail/site_pack.txt")),
    ("site_pack.html", include_str!("../../templates/mail/site_pack.html")),
    ("order_late.txt", include_str!("../../templates/mail/order_late.txt")),
    ("order_late.html", include_str!("../../templates/mail/order_late.html")),
    ("renewal_due.txt", include_str!("../../templates/mail/renewal_due.txt")),
    ("renewal_due.html", include_str!("../../templates/mail/renewal_due.html")),
    ("renewal_window_opened.txt", include_str!("../../templates/mail/renewal_window_opened.txt")),
    ("renewal_window_opened.html", include_str!("../../templates/mail/renewal_window_opened.html")),
    ("renewal_window_closing.txt", include_str!("../../templates/mail/renewal_window_closing.txt")),
    ("renewal_window_closing.html", include_str!("../../templates/mail/renewal_window_closing.html")),
    ("benefits_lost.txt", include_str!("../../templates/mail/benefits_lost.txt")),
    ("benefits_lost.html", include_str!("../../templates/mail/benefits_lost.html")),
    ("codes_expiring.txt", include_str!("../../templates/mail/codes_expiring.txt")),
    ("codes_expiring.html", include_str!("../../templates/mail/codes_expiring.html")),
];

/// A rendered message.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Mailer {
    /// Sends through `smtp_url` (`smtp://`, `smtps://`; `?tls=required` for
    /// STARTTLS; user and password in the URL), or with none into `folder`.
    pub fn new(smtp_url: Option<&str>, folder: PathBuf, from: &str) -> Result<Self, String> {
        let from: Mailbox =
            from.parse().map_err(|e| format!("LICENSEGRAPH_MAIL_FROM `{from}` is not an address: {e}"))?;
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("LICENSEGRAPH_SMTP_URL is not an SMTP URL: {e}"))?
                    .timeout(Some(StdDuration::from_secs(30)))
                    .build(),
            ),
            None => Transport::Folder(folder),
        };
        let mut templates = Environment::new();
        for (name, source) in TEMPLATES {
            templates.add_template(name, source).map_err(|e| format!("mail template {name}: {e}"))?;
        }
        Ok(Self { transport, from, templates })
    }

    /// Where messages go, for the log.
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => "SMTP".to_owned(),
            Transport::Folder(dir) => format!(".eml files in {}", dir.display()),
        }
    }

    /// Renders `kind` with `context`: the text template's first line is
    /// `Subject: ...`, the rest its body.
    pub fn render(&self, kind: NoticeKind, context: &Value) -> Result<Rendered, String> {
        let stem = kind.template();
        let text = self
            .templates
            .get_template(&format!("{stem}.txt"))
            .and_then(|t| t.render(context))
            .map_err(|e| format!("rendering {stem}.txt: {e}"))?;
        let html = self
            .templates
            .get_template(&format!("{stem}.html"))
            .and_then(|t| t.render(context))
            .map_err(|e| format!("rendering {stem}.html: {e}"))?;
        let (first, body) = text.split_once('\n').unwrap_or((&text, ""));
        let subject = first.strip_prefix("Subject:").ok_or_else(|| format!("{stem}.txt has no Subject line"))?;
        Ok(Rendered { subject: subject.trim().to_owned(), text: body.trim_start().to_owned(), html })
    }
}

/// The Message-ID of a notice: the same every time it is sent.
pub fn message_id(notice: &notice::Model) -> String {
    format!("<notice-{}.event-{}@licensegraph>", notice.id, notice.event_id)
}

/// Codes of an order as a CSV file.
fn csv_of(codes: &[Value]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(["code", "kind", "expires_on"]);
    for c in codes {
        let field = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
        let _ = writer.write_record([field("value"), field("kind"), field("expiresOn")]);
    }
    writer.into_inner().unwrap_or_default()
}

/// Everything a template may name, read now.
async fn context(db: &DatabaseConnection, kind: NoticeKind, event: &event::Model) -> Result<Value, AppError> {
    let mut ctx = json!({
        "event": { "type": event.kind, "occurredAt": event.occurred_at.to_rfc3339(), "data": outbox::data(event) },
    });
    if let Some(org) = event.organization_id
        && let Some(o) = organization::Entity::find_by_id(org).one(db).await?
    {
        ctx["organization"] = json!({ "name": o.name });
    }
    let agreement_id = match event.subject_type.as_str() {
        "Order" => {
            let Some(o) = order::Entity::find_by_id(event.subject_id).one(db).await? else { return Ok(ctx) };
            if let Some(p) = package::Entity::find_by_id(o.package_id).one(db).await? {
                ctx["package"] = json!({ "name": p.name, "sku": p.sku });
            }
            ctx["order"] = json!({
                "id": crate::id::encode("Order", o.id),
                "quantity": o.quantity,
                "status": o.status.to_value(),
                "placedAt": o.placed_at.to_rfc3339(),
                "deliveredTo": o.delivered_to,
                "endsOn": o.ends_on.to_string(),
            });
            if kind == NoticeKind::CodesDelivered {
                let codes: Vec<Value> = code::Entity::find()
                    .filter(code::Column::OrderId.eq(o.id))
                    .order_by_asc(code::Column::Id)
                    .all(db)
                    .await?
                    .into_iter()
                    .map(|c| json!({ "value": c.value, "kind": c.kind.to_value(), "expiresOn": c.valid_until.to_string() }))
                    .collect();
                ctx["codeCount"] = json!(codes.len());
                ctx["attached"] = json!(codes.len() > CODES_IN_BODY);
                ctx["codes"] = Value::Array(codes);
            }
            Some(o.agreement_id)
        }
        "Agreement" => Some(event.subject_id),
        "Membership" => {
            if let Some(m) = membership::Entity::find_by_id(event.subject_id).one(db).await? {
                ctx["membership"] = json!({
                    "offer": m.offer.to_value(),
                    "level": m.level.map(|l| l.to_value()),
                    "competency": m.competency,
                    "partnerGlobalAccount": m.partner_global_account,
                    "purchasedOn": m.purchased_on.to_string(),
                });
            }
            None
        }
        _ => None,
    };
    if let Some(id) = agreement_id
        && let Some(a) = agreement::Entity::find_by_id(id).one(db).await?
    {
        ctx["agreement"] =
            json!({ "number": a.number, "endsOn": a.ends_on.to_string(), "noticeContact": a.notice_contact });
    }
    Ok(ctx)
}

/// Builds the MIME message of a rendered notice.
fn message(mailer: &Mailer, notice: &notice::Model, rendered: &Rendered, ctx: &Value) -> Result<Message, String> {
    let recipients: Vec<String> = serde_json::from_str(&notice.recipients).unwrap_or_default();
    let mut builder = Message::builder()
        .from(mailer.from.clone())
        .subject(rendered.subject.clone())
        .message_id(Some(message_id(notice)));
    for r in &recipients {
        let to: Mailbox = r.parse().map_err(|e| format!("`{r}` is not an address: {e}"))?;
        builder = builder.to(to);
    }
    let alternative = MultiPart::alternative_plain_html(rendered.text.clone(), rendered.html.clone());
    let built = if ctx["attached"] == json!(true) {
        let codes = ctx["codes"].as_array().cloned().unwrap_or_default();
        let csv = Attachment::new("codes.csv".to_owned())
            .body(csv_of(&codes), ContentType::parse("text/csv; charset=utf-8").map_err(|e| e.to_string())?);
        builder.multipart(MultiPart::mixed().multipart(alternative).singlepart(csv))
    } else {
        builder.multipart(alternative)
    };
    built.map_err(|e| format!("building the message: {e}"))
}

/// What sending one came to: `Ok` sent, `Err((permanent, why))`.
async fn send(mailer: &Mailer, notice: &notice::Model, message: Message) -> Result<(), (bool, String)> {
    match &mailer.transport {
        Transport::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|e| (e.is_permanent(), e.to_string())),
        Transport::Folder(dir) => {
            let write = async {
                tokio::fs::create_dir_all(dir).await?;
                let name = format!("{:08}-{}.eml", notice.id, notice.kind.to_lowercase());
                let partial = dir.join(format!(".{name}.partial"));
                tokio::fs::write(&partial, message.formatted()).await?;
                tokio::fs::rename(&partial, dir.join(name)).await
            };
            write.await.map_err(|e| (false, format!("writing the .eml file in {}: {e}", dir.display())))
        }
    }
}

/// Claims due notices, sends them, records how it went; how many were sent
/// and how many attempts failed.
pub async fn send_due(
    db: &DatabaseConnection,
    mailer: &Mailer,
    now: DateTime<Utc>,
) -> Result<(usize, usize), AppError> {
    let claim = claim::claim(db, Queue::Notices, now, Duration::seconds(LEASE_SECS), CLAIM).await?;
    if claim.ids.is_empty() {
        return Ok((0, 0));
    }
    let notices = notice::Entity::find().filter(notice::Column::Id.is_in(claim.ids.iter().copied())).all(db).await?;
    let events: HashMap<i64, event::Model> = event::Entity::find()
        .filter(event::Column::Id.is_in(notices.iter().map(|n| n.event_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let (mut sent, mut failed) = (0, 0);
    for n in notices {
        let outcome = match (NoticeKind::from_name(&n.kind), events.get(&n.event_id)) {
            (Some(kind), Some(event)) => {
                let ctx = context(db, kind, event).await?;
                match mailer.render(kind, &ctx) {
                    Ok(rendered) => match message(mailer, &n, &rendered, &ctx) {
                        Ok(m) => (rendered.subject, send(mailer, &n, m).await),
                        Err(why) => (rendered.subject, Err((true, why))),
                    },
                    Err(why) => (String::new(), Err((true, why))),
                }
            }
            _ => (String::new(), Err((true, format!("no template for {} or its event is gone", n.kind)))),
        };
        let (subject, result) = outcome;
        if result.is_ok() {
            sent += 1;
        } else {
            failed += 1;
        }
        finish(db, &n, claim.until, now, subject, result).await?;
    }
    Ok((sent, failed))
}

async fn finish(
    db: &DatabaseConnection,
    n: &notice::Model,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
    subject: String,
    result: Result<(), (bool, String)>,
) -> Result<(), AppError> {
    let attempts = n.attempts + 1;
    let (status, next, sent_at, error) = match result {
        Ok(()) => ("SENT", now, Some(now), None),
        Err((permanent, why)) => {
            let jitter = rand::random::<f64>() * 2.0 - 1.0;
            match next_attempt(&MAIL_RETRIES, usize::try_from(attempts).unwrap_or(usize::MAX), now, jitter) {
                Some(next) if !permanent => ("PENDING", next, None, Some(why)),
                _ => ("FAILED", now, None, Some(why)),
            }
        }
    };
    let backend = db.get_database_backend();
    let p = |i| placeholder(backend, i);
    let sql = format!(
        "UPDATE notices SET status = {}, attempts = {}, next_attempt_at = {}, sent_at = {}, last_error = {}, \
         subject = {}, message_id = {}, claimed_until = NULL WHERE {}",
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        p(6),
        p(7),
        release_sql(backend, 8, 9)
    );
    let values: Vec<sea_orm::Value> = vec![
        status.into(),
        attempts.into(),
        next.into(),
        sent_at.into(),
        error.into(),
        subject.into(),
        message_id(n).into(),
        n.id.into(),
        until.into(),
    ];
    let _writer = crate::db::sqlite_writer(db).await;
    db.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    Ok(())
}
