//! `Idempotency-Key` on mutations (IETF draft-ietf-httpapi-idempotency-key-header):
//! the keys, claimed in the database so every server process shares them,
//! and the mark a request's database transactions leave on its key.
//!
//! A POST that carries the header and runs a mutation for an authenticated
//! caller is executed at most once per caller and key:
//! - the first request claims the key (`running`, with a lease as long as
//!   the request may run), runs, and keeps its answer (`done`);
//! - a retry with the same body gets the kept answer, marked
//!   `Idempotent-Replayed: true`; with another body, 422; while the first
//!   still runs, 409;
//! - every database transaction the first request opens through
//!   [`crate::db::begin`] marks the key `committed` in that same
//!   transaction: if the process dies before the answer is kept, a retry
//!   after the lease knows whether anything took effect. Nothing did: it
//!   runs. Something did: it is told so (409 `IDEMPOTENCY_ANSWER_LOST`),
//!   never run twice;
//! - keys expire (24 hours by default) and are then deleted.

use std::{
    sync::atomic::{AtomicI64, Ordering},
    time::Duration,
};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, Statement, Value};
use sha2::{Digest, Sha256};

use crate::service::placeholder;

/// The longest key accepted, in characters.
pub const MAX_KEY_CHARS: usize = 255;

tokio::task_local! {
    /// The key row the current request claimed, for [`mark`].
    static CLAIMED: i64;
}

/// What a claim found.
#[derive(Debug)]
pub enum Claim {
    /// The key is this request's: run it, then [`finish`] or [`release`].
    Run(i64),
    /// The answer of the request that used the key.
    Replay(Kept),
    /// Another request with this key is running.
    InProgress,
    /// The key was used with another body.
    Mismatch,
    /// The request with this key took effect, but its answer was lost.
    AnswerLost,
}

/// A kept answer.
#[derive(Debug, Clone)]
pub struct Kept {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// Reads the header's value: a token or a quoted string (the draft's
/// structured-field String), 1 to 255 visible ASCII characters.
pub fn parse_key(raw: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(raw).ok()?.trim();
    let text = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
    let ok = !text.is_empty()
        && text.chars().count() <= MAX_KEY_CHARS
        && text.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\\');
    ok.then(|| text.to_owned())
}

/// What identifies a request for its key: the SHA-256, in hex, of the
/// query text (a persisted query's, when it came by hash), the operation
/// name, the variables and the role it narrows to, not of its bytes.
pub fn request_hash(
    query: &str,
    operation_name: Option<&str>,
    variables: &serde_json::Map<String, serde_json::Value>,
    role: Option<&str>,
) -> String {
    let variables = canonical(&serde_json::Value::Object(variables.clone()));
    let meaning = serde_json::json!([query, operation_name, variables, role]).to_string();
    Sha256::digest(meaning.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// `value` with every object's keys in sorted order (objects keep their
/// insertion order here), so key order does not change a request.
fn canonical(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            serde_json::Value::Object(keys.into_iter().map(|k| (k.clone(), canonical(&map[k]))).collect())
        }
        serde_json::Value::Array(items) => serde_json::Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// Claims `key` for `caller`, or says who has it.
pub async fn claim(
    db: &impl ConnectionTrait,
    caller: &str,
    key: &str,
    hash: &str,
    now: DateTime<Utc>,
    lease: Duration,
    ttl: Duration,
) -> Result<Claim, DbErr> {
    sweep(db, now).await?;
    let backend = db.get_database_backend();
    let p = |n| placeholder(backend, n);
    let lease_until = now + chrono::Duration::from_std(lease).unwrap_or_default();
    let expires_at = now + chrono::Duration::from_std(ttl).unwrap_or_default();
    // Twice at most: a row found expired is deleted and the key claimed anew.
    for _ in 0..2 {
        let insert = format!(
            "INSERT INTO idempotency_keys (caller, idempotency_key, request_hash, state, lease_until, created_at, \
             expires_at) VALUES ({}, {}, {}, 'running', {}, {}, {}) \
             ON CONFLICT (caller, idempotency_key) DO NOTHING RETURNING id",
            p(1),
            p(2),
            p(3),
            p(4),
            p(5),
            p(6)
        );
        let values: Vec<Value> =
            vec![caller.into(), key.into(), hash.into(), lease_until.into(), now.into(), expires_at.into()];
        if let Some(row) = db.query_one_raw(Statement::from_sql_and_values(backend, insert, values)).await? {
            return Ok(Claim::Run(row.try_get("", "id")?));
        }
        let select = format!(
            "SELECT id, request_hash, state, lease_until, status, content_type, body, expires_at \
             FROM idempotency_keys WHERE caller = {} AND idempotency_key = {}",
            p(1),
            p(2)
        );
        let values: Vec<Value> = vec![caller.into(), key.into()];
        let Some(row) = db.query_one_raw(Statement::from_sql_and_values(backend, select, values)).await? else {
            continue; // deleted meanwhile
        };
        let id: i64 = row.try_get("", "id")?;
        let expires: DateTime<Utc> = row.try_get("", "expires_at")?;
        if expires <= now {
            let delete = format!("DELETE FROM idempotency_keys WHERE id = {} AND expires_at <= {}", p(1), p(2));
            db.execute_raw(Statement::from_sql_and_values(backend, delete, vec![id.into(), now.into()])).await?;
            continue;
        }
        if row.try_get::<String>("", "request_hash")? != hash {
            return Ok(Claim::Mismatch);
        }
        let leased: DateTime<Utc> = row.try_get("", "lease_until")?;
        return Ok(match row.try_get::<String>("", "state")?.as_str() {
            "done" => Claim::Replay(Kept {
                status: row.try_get::<Option<i32>>("", "status")?.and_then(|s| u16::try_from(s).ok()).unwrap_or(200),
                content_type: row.try_get::<Option<String>>("", "content_type")?.unwrap_or_default(),
                body: row.try_get::<Option<String>>("", "body")?.unwrap_or_default(),
            }),
            _ if leased > now => Claim::InProgress,
            "committed" => Claim::AnswerLost,
            // The claimant died before anything took effect: take it over
            // (one retry wins the UPDATE).
            _ => {
                let take = format!(
                    "UPDATE idempotency_keys SET lease_until = {} WHERE id = {} AND state = 'running' AND lease_until <= {}",
                    p(1),
                    p(2),
                    p(3)
                );
                let values: Vec<Value> = vec![lease_until.into(), id.into(), now.into()];
                let taken = db.execute_raw(Statement::from_sql_and_values(backend, take, values)).await?;
                if taken.rows_affected() == 1 { Claim::Run(id) } else { Claim::InProgress }
            }
        });
    }
    Ok(Claim::InProgress)
}

/// Runs `request` with its claim in scope, so that the transactions it
/// opens through [`crate::db::begin`] [`mark`] the key.
pub async fn scope<F: Future>(id: i64, request: F) -> F::Output {
    CLAIMED.scope(id, request).await
}

/// Whether the current task runs under a claim ([`scope`]).
pub fn claimed() -> bool {
    CLAIMED.try_with(|_| ()).is_ok()
}

/// Marks the current request's key `committed` inside `txn`, if it runs
/// under a claim ([`scope`]); the mark commits with the transaction's
/// effects, or not at all.
pub async fn mark(txn: &impl ConnectionTrait) -> Result<(), DbErr> {
    let Ok(id) = CLAIMED.try_with(|id| *id) else { return Ok(()) };
    let backend = txn.get_database_backend();
    let sql = format!(
        "UPDATE idempotency_keys SET state = 'committed' WHERE id = {} AND state = 'running'",
        placeholder(backend, 1)
    );
    txn.execute_raw(Statement::from_sql_and_values(backend, sql, vec![id.into()])).await?;
    Ok(())
}

/// Keeps the answer of the request that claimed `id`.
pub async fn finish(db: &impl ConnectionTrait, id: i64, kept: &Kept) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let p = |n| placeholder(backend, n);
    let sql = format!(
        "UPDATE idempotency_keys SET state = 'done', status = {}, content_type = {}, body = {} WHERE id = {}",
        p(1),
        p(2),
        p(3),
        p(4)
    );
    let values: Vec<Value> =
        vec![i32::from(kept.status).into(), kept.content_type.clone().into(), kept.body.clone().into(), id.into()];
    db.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    Ok(())
}

/// Gives the key back after an answer not worth keeping (the request timed
/// out, the database was unavailable, the caller was rate limited): if
/// nothing took effect a retry runs it; if something did, a retry hears so.
pub async fn release(db: &impl ConnectionTrait, id: i64, now: DateTime<Utc>) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let p = |n| placeholder(backend, n);
    let delete = format!("DELETE FROM idempotency_keys WHERE id = {} AND state = 'running'", p(1));
    let deleted = db.execute_raw(Statement::from_sql_and_values(backend, delete, vec![id.into()])).await?;
    if deleted.rows_affected() == 0 {
        let end = format!("UPDATE idempotency_keys SET lease_until = {} WHERE id = {}", p(1), p(2));
        db.execute_raw(Statement::from_sql_and_values(backend, end, vec![now.into(), id.into()])).await?;
    }
    Ok(())
}

/// Deletes expired keys, at most once a minute per process.
async fn sweep(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<(), DbErr> {
    static LAST: AtomicI64 = AtomicI64::new(i64::MIN);
    let minute = now.timestamp() / 60;
    if LAST.swap(minute, Ordering::Relaxed) == minute {
        return Ok(());
    }
    let backend = db.get_database_backend();
    let sql = format!("DELETE FROM idempotency_keys WHERE expires_at <= {}", placeholder(backend, 1));
    db.execute_raw(Statement::from_sql_and_values(backend, sql, vec![now.into()])).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_tokens_or_quoted_strings_of_visible_ascii() {
        assert_eq!(parse_key(b"abc-123").as_deref(), Some("abc-123"));
        assert_eq!(
            parse_key(b"\"8e03978e-40d5-43e8-bc93-6894a57f9324\"").as_deref(),
            Some("8e03978e-40d5-43e8-bc93-6894a57f9324")
        );
        assert_eq!(parse_key(b" k "), Some("k".into()));
        for bad in [&b""[..], b"\"\"", b"a b", b"caf\xc3\xa9", b"a\"b", b"a\\b", b"\x01"] {
            assert_eq!(parse_key(bad), None, "{bad:?}");
        }
        assert!(parse_key("k".repeat(255).as_bytes()).is_some());
        assert!(parse_key("k".repeat(256).as_bytes()).is_none());
    }

    #[test]
    fn a_request_is_its_meaning_not_its_bytes() {
        let vars = |json: &str| serde_json::from_str::<serde_json::Map<_, _>>(json).unwrap();
        let a = request_hash("mutation M { m }", Some("M"), &vars(r#"{"a": 1, "b": 2}"#), None);
        assert_eq!(a.len(), 64);
        assert_eq!(a, request_hash("mutation M { m }", Some("M"), &vars(r#"{ "b":2,"a":1 }"#), None));
        assert_ne!(a, request_hash("mutation M { m }", Some("M"), &vars(r#"{"a": 1, "b": 3}"#), None));
        assert_ne!(a, request_hash("mutation M { m }", Some("M"), &vars(r#"{"a": 1, "b": 2}"#), Some("learner")));
    }
}
