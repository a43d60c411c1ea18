//! Documents parsed once per distinct text.
//!
//! Clients send the same few documents again and again, with other
//! variables: a portal's redemption, a page of orders. Parsing is the
//! dearest step before execution (async-graphql's parser: about 30 µs for
//! the redemption mutation, against 1 µs to copy the parsed tree), and the
//! document limits measure the same tree the same way each time. So the
//! parsed, measured document is kept by its text. What depends on the
//! caller (introspection for non-admins) and on the variables (all of
//! validation, which async-graphql runs on every request) is still checked
//! on every request.
//!
//! The store is bounded in entries and in text bytes; when a new text does
//! not fit, entries are dropped (whichever the map yields first) until it
//! does. Texts that fail the text limits or do not parse are never kept.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_graphql::{
    Name, Request, ServerError,
    parser::{
        Positioned,
        types::{ExecutableDocument, OperationDefinition},
    },
};

use super::limits::{DocumentLimits, Measured};

/// The operation a request runs, picked as async-graphql picks it: the one
/// `name`d, or without a name the document's only one; `None` when there is
/// no such operation or the choice is ambiguous (execution reports it).
pub fn operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<(Option<&'a Name>, &'a Positioned<OperationDefinition>)> {
    let mut candidates = document
        .operations
        .iter()
        .filter(|(op_name, _)| name.is_none_or(|want| op_name.is_some_and(|n| n.as_str() == want)));
    let selected = candidates.next()?;
    candidates.next().is_none().then_some(selected)
}

/// Documents kept at most.
pub const MAX_DOCUMENTS: usize = 512;
/// Bytes of document text kept at most (the trees take a few times more).
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// The parsed documents of one server; see the module doc.
#[derive(Debug)]
pub struct Documents {
    limits: DocumentLimits,
    kept: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    by_text: HashMap<Arc<str>, Arc<Measured>>,
    text_bytes: usize,
}

impl Documents {
    pub fn new(limits: DocumentLimits) -> Self {
        Self { limits, kept: Mutex::new(Kept::default()) }
    }

    pub fn limits(&self) -> &DocumentLimits {
        &self.limits
    }

    /// Checks the request's document against the limits for this caller and
    /// leaves the parsed document in the request. An error is a request
    /// error: nothing executes.
    pub fn prepare(&self, request: &mut Request, admin: bool) -> Result<Arc<Measured>, ServerError> {
        let measured = self.measured(&request.query)?;
        self.limits.judge(&measured, admin)?;
        request.set_parsed_query(measured.document.clone());
        Ok(measured)
    }

    /// The document of `text`, measured: kept, or checked against the text
    /// limits, parsed and kept. Nothing parses a text that a limit refused.
    pub fn measured(&self, text: &str) -> Result<Arc<Measured>, ServerError> {
        if let Some(measured) = self.kept(text) {
            return Ok(measured);
        }
        let measured = Arc::new(self.limits.measure(text)?);
        self.keep(text, &measured);
        Ok(measured)
    }

    /// How many documents are kept, and their text's bytes.
    pub fn size(&self) -> (usize, usize) {
        self.kept.lock().map_or((0, 0), |k| (k.by_text.len(), k.text_bytes))
    }

    fn kept(&self, text: &str) -> Option<Arc<Measured>> {
        self.kept.lock().ok()?.by_text.get(text).cloned()
    }

    fn keep(&self, text: &str, measured: &Arc<Measured>) {
        if text.len() > MAX_TEXT_BYTES {
            return;
        }
        // A poisoned lock only means another request panicked mid-insert:
        // the map is still a map. Keeping is an optimisation; skip it then.
        let Ok(mut kept) = self.kept.lock() else { return };
        if kept.by_text.contains_key(text) {
            return;
        }
        while kept.by_text.len() >= MAX_DOCUMENTS || kept.text_bytes + text.len() > MAX_TEXT_BYTES {
            let Some(old) = kept.by_text.keys().next().cloned() else { break };
            kept.by_text.remove(&old);
            kept.text_bytes -= old.len();
        }
        kept.text_bytes += text.len();
        kept.by_text.insert(Arc::from(text), measured.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Introspection;

    fn documents() -> Documents {
        Documents::new(DocumentLimits {
            max_query_bytes: 32 * 1024,
            max_tokens: 4000,
            max_nesting: 32,
            max_fields: 500,
            max_depth: 12,
            introspection: Introspection::Admins,
        })
    }

    fn code(error: &ServerError) -> Option<String> {
        match error.extensions.as_ref()?.get("code")? {
            async_graphql::Value::String(code) => Some(code.clone()),
            _ => None,
        }
    }

    #[test]
    fn a_text_is_parsed_once_and_each_request_gets_the_document() {
        let documents = documents();
        for _ in 0..3 {
            let mut request = Request::new("query Q($v: String!) { a(v: $v) { b } }");
            assert!(documents.prepare(&mut request, false).is_ok());
            let document = request.parsed_query().map(|d| d.operations.iter().count()).unwrap_or(0);
            assert_eq!(document, 1);
        }
        assert_eq!(documents.size(), (1, "query Q($v: String!) { a(v: $v) { b } }".len()));
    }

    #[test]
    fn a_kept_document_is_still_judged_for_each_caller() {
        let documents = documents();
        let text = "{ __schema { queryType { name } } }";
        assert!(documents.prepare(&mut Request::new(text), true).is_ok(), "an admin may introspect");
        assert_eq!(documents.size().0, 1);
        let refused = documents.prepare(&mut Request::new(text), false).err();
        assert_eq!(refused.as_ref().and_then(code).as_deref(), Some("FORBIDDEN"));
    }

    #[test]
    fn documents_over_a_limit_are_refused_every_time_and_not_kept() {
        let documents = documents();
        let deep = format!("{}{}", "{ a ".repeat(13), "}".repeat(13));
        for _ in 0..2 {
            let refused = documents.prepare(&mut Request::new(deep.as_str()), true).err();
            assert_eq!(refused.as_ref().and_then(code).as_deref(), Some("LIMIT_EXCEEDED"));
        }
        let long = format!("{{ a{} }}", " ".repeat(32 * 1024));
        assert!(documents.prepare(&mut Request::new(long), true).is_err());
        assert!(documents.prepare(&mut Request::new("{ a "), true).is_err(), "does not parse");
        // The deep document parsed and is kept (its depth is what is judged);
        // the long one and the broken one are not.
        assert_eq!(documents.size().0, 1);
    }

    #[test]
    fn the_store_stays_within_its_bounds() {
        let documents = documents();
        for n in 0..MAX_DOCUMENTS + 50 {
            assert!(documents.prepare(&mut Request::new(format!("{{ a{n} }}")), false).is_ok());
        }
        assert_eq!(documents.size().0, MAX_DOCUMENTS);
        let big = format!("{{ a }}{}", " ".repeat(MAX_TEXT_BYTES - 100));
        assert!(documents.prepare(&mut Request::new(big.as_str()), false).is_err(), "over the text limit");
        let documents = Documents::new(DocumentLimits { max_query_bytes: MAX_TEXT_BYTES, ..*documents.limits() });
        for n in 0..3 {
            let text = format!("{{ a{n} }}{}", " ".repeat(MAX_TEXT_BYTES / 2));
            assert!(documents.prepare(&mut Request::new(text), false).is_ok());
        }
        let (count, bytes) = documents.size();
        assert!(count <= 1 && bytes <= MAX_TEXT_BYTES, "{count} documents, {bytes} bytes");
    }
}
