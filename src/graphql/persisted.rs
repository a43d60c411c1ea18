//! Automatic persisted queries, Apollo's protocol: a client sends a
//! query's SHA-256 instead of its text (`extensions.persistedQuery =
//! { version: 1, sha256Hash }`); the first time, the server answers
//! `PERSISTED_QUERY_NOT_FOUND` and the client sends the text with the hash,
//! which the server checks and keeps. From then on the hash alone runs the
//! query, over POST or, cacheable, over GET.
//!
//! The store is bounded in entries and text bytes, like the parsed
//! documents ([`super::documents`]): when a new text does not fit, entries
//! are dropped (whichever the map yields first). A dropped hash only costs
//! the client one more round trip.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::trusted::TrustedDocuments;

/// Queries kept at most.
pub const MAX_QUERIES: usize = 1024;
/// Bytes of query text kept at most.
pub const MAX_TEXT_BYTES: usize = 4 << 20;

/// Why a persisted-query request cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersistedError {
    /// The hash is not known (yet): send the text with it.
    NotFound,
    /// The text sent does not have the hash sent with it.
    Mismatch,
    /// `extensions.persistedQuery` is not `{ version: 1, sha256Hash }`.
    Malformed,
}

/// The kept queries of one server.
#[derive(Debug, Default)]
pub struct Persisted {
    kept: Mutex<Kept>,
    /// Trusted documents, known by hash from the start and never dropped.
    trusted: Arc<TrustedDocuments>,
}

#[derive(Debug, Default)]
struct Kept {
    by_hash: HashMap<[u8; 32], Arc<str>>,
    text_bytes: usize,
}

impl Persisted {
    /// A store that knows `trusted` by hash from the start.
    pub fn with_trusted(trusted: Arc<TrustedDocuments>) -> Self {
        Self { kept: Mutex::default(), trusted }
    }

    /// The query text a request runs: its `query` (checked against the
    /// hash, and kept, when a hash comes with it), or the kept text of its
    /// hash. `Ok(None)`: neither a query nor a persisted query.
    pub fn resolve(
        &self,
        query: Option<String>,
        extensions: &Map<String, Value>,
    ) -> Result<Option<String>, PersistedError> {
        let Some(persisted) = extensions.get("persistedQuery") else { return Ok(query) };
        let hash = hash_of(persisted).ok_or(PersistedError::Malformed)?;
        match query {
            Some(text) => {
                if Sha256::digest(text.as_bytes())[..] != hash[..] {
                    return Err(PersistedError::Mismatch);
                }
                self.keep(hash, &text);
                Ok(Some(text))
            }
            None => {
                if let Some(text) = self.trusted.text(&hash) {
                    return Ok(Some(text.to_string()));
                }
                let kept = self.kept.lock().ok().and_then(|k| k.by_hash.get(&hash).cloned());
                kept.map(|text| Some(text.to_string())).ok_or(PersistedError::NotFound)
            }
        }
    }

    /// How many queries are kept, and their text's bytes.
    pub fn size(&self) -> (usize, usize) {
        self.kept.lock().map_or((0, 0), |k| (k.by_hash.len(), k.text_bytes))
    }

    fn keep(&self, hash: [u8; 32], text: &str) {
        if text.len() > MAX_TEXT_BYTES {
            return;
        }
        let Ok(mut kept) = self.kept.lock() else { return };
        if kept.by_hash.contains_key(&hash) {
            return;
        }
        while kept.by_hash.len() >= MAX_QUERIES || kept.text_bytes + text.len() > MAX_TEXT_BYTES {
            let Some(old) = kept.by_hash.keys().next().copied() else { break };
            if let Some(text) = kept.by_hash.remove(&old) {
                kept.text_bytes -= text.len();
            }
        }
        kept.text_bytes += text.len();
        kept.by_hash.insert(hash, Arc::from(text));
    }
}

/// The hash of `{ version: 1, sha256Hash: <64 hex digits> }`.
fn hash_of(persisted: &Value) -> Option<[u8; 32]> {
    let object = persisted.as_object()?;
    if object.get("version").and_then(Value::as_u64) != Some(1) {
        return None;
    }
    let hex = object.get("sha256Hash")?.as_str()?;
    if hex.len() != 64 {
        return None;
    }
    let mut hash = [0u8; 32];
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extensions(hash: &str) -> Map<String, Value> {
        let value = serde_json::json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
        value.as_object().cloned().unwrap_or_default()
    }

    fn sha(text: &str) -> String {
        Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn a_hash_is_unknown_until_its_text_comes_with_it() {
        let store = Persisted::default();
        let text = "{ __typename }";
        let ext = extensions(&sha(text));
        assert_eq!(store.resolve(None, &ext), Err(PersistedError::NotFound));
        assert_eq!(store.resolve(Some(text.into()), &ext), Ok(Some(text.into())));
        assert_eq!(store.resolve(None, &ext), Ok(Some(text.into())));
        assert_eq!(store.resolve(None, &extensions(&sha(text).to_uppercase())), Ok(Some(text.into())));
    }

    #[test]
    fn a_text_that_does_not_have_its_hash_is_refused_and_not_kept() {
        let store = Persisted::default();
        let ext = extensions(&sha("{ a }"));
        assert_eq!(store.resolve(Some("{ b }".into()), &ext), Err(PersistedError::Mismatch));
        assert_eq!(store.size(), (0, 0));
        for bad in [
            serde_json::json!({ "version": 2, "sha256Hash": sha("x") }),
            serde_json::json!({ "version": 1 }),
            serde_json::json!("x"),
        ] {
            let ext = serde_json::json!({ "persistedQuery": bad }).as_object().cloned().unwrap_or_default();
            assert_eq!(store.resolve(None, &ext), Err(PersistedError::Malformed));
        }
        assert_eq!(store.resolve(None, &extensions("zz")), Err(PersistedError::Malformed));
        assert_eq!(store.resolve(Some("{ a }".into()), &Map::new()), Ok(Some("{ a }".into())), "no hash: as ever");
    }

    #[test]
    fn the_store_is_bounded() {
        let store = Persisted::default();
        for i in 0..(MAX_QUERIES + 10) {
            let text = format!("{{ a{i}: __typename }}");
            assert!(store.resolve(Some(text.clone()), &extensions(&sha(&text))).is_ok());
        }
        assert_eq!(store.size().0, MAX_QUERIES);
    }
}
