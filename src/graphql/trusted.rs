//! Trusted documents: the operations a deployment's own front ends send,
//! committed as `.graphql` files and loaded at start. With
//! `--trusted-only`, callers other than admins may run those documents and
//! nothing else (by text, or by hash through persisted queries), so a
//! stolen portal token cannot run arbitrary queries. Admins keep the whole
//! API, for GraphiQL.

use std::{collections::HashMap, path::Path, sync::Arc};

use sha2::{Digest, Sha256};

/// The trusted documents of one server, by the SHA-256 of their text.
#[derive(Debug, Default)]
pub struct TrustedDocuments {
    by_hash: HashMap<[u8; 32], Arc<str>>,
    /// Whether only these may run for callers other than admins.
    only: bool,
}

impl TrustedDocuments {
    /// Loads every `*.graphql` file of `dir` (not its subfolders), each
    /// one document, checked by `check` (the document limits: a trusted
    /// document that could never run is a start-up error, not a surprise).
    pub fn load(dir: &Path, only: bool, check: impl Fn(&str) -> Result<(), String>) -> Result<Self, String> {
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("cannot read trusted documents in {}: {e}", dir.display()))?;
        let mut by_hash = HashMap::new();
        for entry in entries {
            let path = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("graphql") {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            check(&text).map_err(|why| format!("trusted document {}: {why}", path.display()))?;
            by_hash.insert(hash(&text), Arc::from(text));
        }
        if by_hash.is_empty() {
            return Err(format!("no .graphql file in {}", dir.display()));
        }
        Ok(Self { by_hash, only })
    }

    /// Whether non-admin callers are held to these documents.
    pub fn only(&self) -> bool {
        self.only
    }

    /// How many documents are trusted.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// Whether `text` is one of them, to the byte.
    pub fn trusts(&self, text: &str) -> bool {
        self.by_hash.contains_key(&hash(text))
    }

    /// The text of a trusted document by its hash (persisted queries).
    pub fn text(&self, hash: &[u8; 32]) -> Option<Arc<str>> {
        self.by_hash.get(hash).cloned()
    }
}

fn hash(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_of_documents_is_trusted_byte_for_byte() {
        let dir = std::env::temp_dir().join(format!("lg-trusted-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("programs.graphql"), "query Programs { programs { totalCount } }").expect("write");
        std::fs::write(dir.join("notes.txt"), "{ ignored }").expect("write");
        let trusted = TrustedDocuments::load(&dir, true, |_| Ok(())).expect("loads");
        assert_eq!(trusted.len(), 1);
        assert!(trusted.trusts("query Programs { programs { totalCount } }"));
        assert!(!trusted.trusts("query Programs { programs { totalCount } } "), "byte for byte");
        assert!(!trusted.trusts("{ ignored }"));
        let refused = TrustedDocuments::load(&dir, true, |_| Err("too deep".into())).map(|_| ()).unwrap_err();
        assert!(refused.contains("programs.graphql: too deep"), "{refused}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
        assert!(TrustedDocuments::load(&dir, true, |_| Ok(())).is_err(), "a missing folder is an error");
    }
}
