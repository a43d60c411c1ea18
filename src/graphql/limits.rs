//! Query limits async-graphql does not have in the shape we need: query
//! text size, token count, the number of fields a document asks for
//! (counted after expanding fragments, with aliases and `__typename`
//! included, so 5 000 aliased `__typename` do not pass) and depth.
//!
//! Depth is ours rather than async-graphql's because introspection needs
//! a different rule: a standard introspection query nests `ofType` eight
//! levels deep (deeper than any real query should go), while its danger is
//! elsewhere, in `fields { type { fields { type ...` chains that grow the
//! answer exponentially. So an introspection subtree (`__schema`,
//! `__type`) is exempt from the depth limit and instead may nest
//! `fields`, `inputFields`, `interfaces` and `possibleTypes` at most
//! [`MAX_INTROSPECTION_LISTS`] times, as graphql-js's
//! `MaxIntrospectionDepthRule` does. Complexity and directives per field
//! use async-graphql's own limits (see `graphql::schema_builder`).
//!
//! These checks run before the schema executes ([`crate::AppState::execute`],
//! on a document measured once per distinct text: [`super::documents`]),
//! not as an async-graphql extension: with any extension registered,
//! async-graphql sends every field of every answer through the extension
//! chain, which cost the nested bench page a tenth of its CPU time.

use std::collections::HashMap;

use async_graphql::{
    ServerError,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

use crate::config::{Introspection, LimitArgs};

/// How many type-list fields an introspection query may nest.
pub const MAX_INTROSPECTION_LISTS: usize = 3;

/// Document-level limits.
#[derive(Debug, Clone, Copy)]
pub struct DocumentLimits {
    pub max_query_bytes: usize,
    pub max_tokens: usize,
    pub max_fields: usize,
    pub max_depth: usize,
    pub introspection: Introspection,
}

impl From<&LimitArgs> for DocumentLimits {
    fn from(limits: &LimitArgs) -> Self {
        Self {
            max_query_bytes: limits.max_query_bytes,
            max_tokens: limits.max_tokens,
            max_fields: limits.max_fields,
            max_depth: limits.max_depth,
            introspection: limits.introspection.unwrap_or(Introspection::Everyone),
        }
    }
}

/// A request error with `extensions.code = LIMIT_EXCEEDED`.
pub fn limit_error(message: String) -> ServerError {
    coded_error(message, "LIMIT_EXCEEDED")
}

/// A request error (raised before execution) carrying `extensions.code`.
fn coded_error(message: impl Into<String>, code: &str) -> ServerError {
    let mut err = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", code);
    err.extensions = Some(ext);
    err
}

/// A parsed document that passed the text limits, with what the document
/// limits judge it by: all of it depends on the text alone, so it is
/// worked out once per distinct text ([`super::documents`]).
#[derive(Debug)]
pub struct Measured {
    pub document: ExecutableDocument,
    pub introspects: bool,
    /// [`count_fields`], capped just past the limit.
    pub fields: usize,
    pub depth: Depth,
}

impl DocumentLimits {
    /// Checks a query's text, parses it and measures the document. An
    /// error is a request error: nothing executes.
    pub fn measure(&self, query: &str) -> Result<Measured, ServerError> {
        if query.len() > self.max_query_bytes {
            return Err(limit_error(format!("the query is longer than {} bytes", self.max_query_bytes)));
        }
        // Counted before parsing, so a hostile document never becomes a tree.
        if count_tokens(query, self.max_tokens) > self.max_tokens {
            return Err(limit_error(format!("the query has more than {} tokens", self.max_tokens)));
        }
        let document = async_graphql::parser::parse_query(query)?;
        let introspects = introspects(&document);
        let fields = count_fields(&document, self.max_fields);
        // Only with the expanded field count bounded is walking every
        // fragment spread (unmemoised: depth depends on where) cheap.
        let depth = if fields > self.max_fields { Depth::default() } else { measure_depth(&document) };
        Ok(Measured { document, introspects, fields, depth })
    }

    /// Judges a measured document for a caller (`admin` or not).
    pub fn judge(&self, measured: &Measured, admin: bool) -> Result<(), ServerError> {
        if self.introspection == Introspection::Admins && !admin && measured.introspects {
            return Err(coded_error(
                "introspection is open to admins only on this server; the schema is published as schema.graphql",
                "FORBIDDEN",
            ));
        }
        if measured.fields > self.max_fields {
            return Err(limit_error(format!("the query asks for more than {} fields", self.max_fields)));
        }
        if measured.depth.depth > self.max_depth {
            return Err(limit_error(format!("the query is nested deeper than {} levels", self.max_depth)));
        }
        if measured.depth.introspection_lists > MAX_INTROSPECTION_LISTS {
            return Err(limit_error(format!(
                "introspection nests fields, inputFields, interfaces or possibleTypes more than {MAX_INTROSPECTION_LISTS} times"
            )));
        }
        Ok(())
    }
}

/// Whether any field of the document is `__schema` or `__type`
/// (`__typename` is not introspection: clients need it for unions).
pub fn introspects(document: &ExecutableDocument) -> bool {
    fn set(s: &SelectionSet) -> bool {
        s.items.iter().any(|item| match &item.node {
            Selection::Field(field) => {
                matches!(field.node.name.node.as_str(), "__schema" | "__type") || set(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => set(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => false,
        })
    }
    document.operations.iter().any(|(_, op)| set(&op.node.selection_set.node))
        || document.fragments.values().any(|fragment| set(&fragment.node.selection_set.node))
}

/// Counts the lexical tokens of a GraphQL document (names, numbers,
/// strings, punctuators; whitespace, commas and comments are not tokens),
/// stopping as soon as the count passes `cap`. Malformed text is counted
/// one character per token; the parser reports it afterwards.
pub fn count_tokens(text: &str, cap: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut n = 0usize;
    while i < bytes.len() && n <= cap {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' => {
                n += 1;
                if bytes[i..].starts_with(b"\"\"\"") {
                    i += 3;
                    while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                        i += if bytes[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                    }
                    i += 3;
                } else {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    i += 1;
                }
            }
            b'.' if bytes[i..].starts_with(b"...") => {
                n += 1;
                i += 3;
            }
            _ if b == b'_' || b.is_ascii_alphabetic() => {
                n += 1;
                i += 1;
                while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
            }
            _ if b == b'-' || b.is_ascii_digit() => {
                n += 1;
                i += 1;
                while i < bytes.len() {
                    let exponent_sign = matches!(bytes[i], b'+' | b'-') && matches!(bytes[i - 1], b'e' | b'E');
                    if !(bytes[i] == b'.' || bytes[i].is_ascii_alphanumeric() || exponent_sign) {
                        break;
                    }
                    i += 1;
                }
            }
            _ => {
                n += 1;
                // One token per character, stepping over a whole UTF-8 sequence.
                i += 1;
                while i < bytes.len() && (bytes[i] & 0xC0) == 0x80 {
                    i += 1;
                }
            }
        }
    }
    n
}

/// The deepest nesting of a document's operations, fragments expanded,
/// with introspection subtrees measured apart.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Depth {
    /// Levels of selection outside introspection (`{ a { b } }` is 2).
    pub depth: usize,
    /// The most type-list fields nested inside one introspection subtree.
    pub introspection_lists: usize,
}

/// Measures [`Depth`] for every operation of `document`.
pub fn measure_depth(document: &ExecutableDocument) -> Depth {
    let mut walker = DepthWalker { document, stack: Vec::new(), result: Depth::default() };
    for (_, operation) in document.operations.iter() {
        walker.selection_set(&operation.node.selection_set.node, 0, None);
    }
    walker.result
}

struct DepthWalker<'a> {
    document: &'a ExecutableDocument,
    stack: Vec<&'a str>,
    result: Depth,
}

impl<'a> DepthWalker<'a> {
    /// `depth` is the level of the fields in `set` minus one; `lists` is
    /// `Some(count)` inside an introspection subtree.
    fn selection_set(&mut self, set: &'a SelectionSet, depth: usize, lists: Option<usize>) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    let children = &field.node.selection_set.node;
                    match lists {
                        None => {
                            self.result.depth = self.result.depth.max(depth + 1);
                            let inner = matches!(name, "__schema" | "__type").then_some(0);
                            self.selection_set(children, depth + 1, inner);
                        }
                        Some(count) => {
                            let count = count
                                + usize::from(matches!(
                                    name,
                                    "fields" | "inputFields" | "interfaces" | "possibleTypes"
                                ));
                            self.result.introspection_lists = self.result.introspection_lists.max(count);
                            self.selection_set(children, depth, Some(count));
                        }
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.selection_set(&fragment.node.selection_set.node, depth, lists)
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    // A fragment cycle is a validation error reported later.
                    let Some((key, fragment)) = self.document.fragments.get_key_value(name) else { continue };
                    if self.stack.contains(&key.as_str()) {
                        continue;
                    }
                    self.stack.push(key.as_str());
                    self.selection_set(&fragment.node.selection_set.node, depth, lists);
                    self.stack.pop();
                }
            }
        }
    }
}

/// Counts the fields of every operation, fragments expanded, stopping as
/// soon as the count passes `cap` (so hostile documents cost little).
pub fn count_fields(document: &ExecutableDocument, cap: usize) -> usize {
    let mut counter = Counter { document, cap, memo: HashMap::new(), stack: Vec::new() };
    let mut total = 0usize;
    for (_, operation) in document.operations.iter() {
        total = total.saturating_add(counter.selection_set(&operation.node.selection_set.node));
        if total > cap {
            break;
        }
    }
    total
}

struct Counter<'a> {
    document: &'a ExecutableDocument,
    cap: usize,
    memo: HashMap<&'a str, usize>,
    stack: Vec<&'a str>,
}

impl<'a> Counter<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet) -> usize {
        let mut total = 0usize;
        for selection in &set.items {
            total = total.saturating_add(match &selection.node {
                Selection::Field(field) => 1usize.saturating_add(self.selection_set(&field.node.selection_set.node)),
                Selection::InlineFragment(fragment) => self.selection_set(&fragment.node.selection_set.node),
                Selection::FragmentSpread(spread) => self.fragment(spread.node.fragment_name.node.as_str()),
            });
            if total > self.cap {
                return total;
            }
        }
        total
    }

    fn fragment(&mut self, name: &'a str) -> usize {
        if let Some(&n) = self.memo.get(name) {
            return n;
        }
        // A fragment cycle is a validation error reported later; count it as
        // nothing here rather than recursing forever.
        if self.stack.contains(&name) {
            return 0;
        }
        let Some((key, fragment)) = self.document.fragments.get_key_value(name) else { return 0 };
        self.stack.push(key.as_str());
        let n = self.selection_set(&fragment.node.selection_set.node);
        self.stack.pop();
        self.memo.insert(key.as_str(), n);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(query: &str) -> usize {
        let doc = async_graphql::parser::parse_query(query).expect("parses");
        count_fields(&doc, usize::MAX)
    }

    #[test]
    fn aliases_and_typename_are_counted() {
        assert_eq!(count("{ a: __typename b: __typename c: __typename }"), 3);
        assert_eq!(count("{ programs { nodes { code name } } }"), 4);
    }

    #[test]
    fn fragments_are_counted_where_they_are_spread() {
        let q = "query { a: viewer { ...F } b: viewer { ...F } } fragment F on Viewer { subject roles }";
        assert_eq!(count(q), 6);
    }

    #[test]
    fn fragment_cycles_do_not_hang() {
        let q = "query { viewer { ...A } } fragment A on Viewer { subject ...B } fragment B on Viewer { roles ...A }";
        assert!(count(q) < 10);
    }

    #[test]
    fn counting_stops_at_the_cap() {
        let q = format!("{{ {} }}", (0..5000).map(|i| format!("a{i}: __typename")).collect::<Vec<_>>().join(" "));
        let doc = async_graphql::parser::parse_query(&q).expect("parses");
        let n = count_fields(&doc, 500);
        assert!(n > 500 && n < 600, "{n}");
    }

    #[test]
    fn tokens_are_counted_like_the_lexer_does() {
        assert_eq!(count_tokens("{ a }", 100), 3);
        assert_eq!(count_tokens("query Q($v: Int = -1.5e3) { a(x: $v, y: \"s, t\") ...F } # c { }", 100), 24);
        assert_eq!(count_tokens("{ a(s: \"\"\"x \\\"\"\" y\"\"\") }", 100), 8);
        assert_eq!(count_tokens("{ a...F }", 100), 5);
        assert_eq!(count_tokens("{ é }", 100), 3);
        assert_eq!(count_tokens(&"a ".repeat(10_000), 100), 101, "stops just past the cap");
    }

    fn depth(query: &str) -> Depth {
        measure_depth(&async_graphql::parser::parse_query(query).expect("parses"))
    }

    #[test]
    fn depth_counts_levels_through_fragments() {
        assert_eq!(depth("{ a }").depth, 1);
        assert_eq!(depth("{ a { b { c } } d }").depth, 3);
        assert_eq!(depth("{ a { ...F } } fragment F on T { b { c { d } } }").depth, 4);
        assert_eq!(depth("{ a { ... on T { b } } }").depth, 2);
    }

    #[test]
    fn introspection_is_measured_by_its_type_lists() {
        let standard = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } }";
        let measured = depth(standard);
        assert_eq!(measured.depth, 1, "ofType chains do not count as depth");
        assert_eq!(measured.introspection_lists, 1);
        let hostile =
            "{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }";
        assert_eq!(depth(hostile).introspection_lists, 4);
        let through_fragment = "{ __type(name: \"Query\") { ...T } } fragment T on __Type { fields { type { interfaces { possibleTypes { name } } } } }";
        assert_eq!(depth(through_fragment).introspection_lists, 3);
    }
}
