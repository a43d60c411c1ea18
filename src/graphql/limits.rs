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

use super::{controls, fragments, prescan};
use crate::config::{Introspection, LimitArgs};

/// How many type-list fields an introspection query may nest.
pub const MAX_INTROSPECTION_LISTS: usize = 3;

/// Document-level limits.
#[derive(Debug, Clone, Copy)]
pub struct DocumentLimits {
    pub max_query_bytes: usize,
    pub max_tokens: usize,
    pub max_nesting: usize,
    pub max_fields: usize,
    pub max_depth: usize,
    pub introspection: Introspection,
}

impl From<&LimitArgs> for DocumentLimits {
    fn from(limits: &LimitArgs) -> Self {
        Self {
            max_query_bytes: limits.max_query_bytes,
            max_tokens: limits.max_tokens,
            max_nesting: limits.max_nesting as usize,
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
pub(crate) fn coded_error(message: impl Into<String>, code: &str) -> ServerError {
    with_code(ServerError::new(message, None), code)
}

/// `error` with `extensions.code` set to `code`.
pub(crate) fn with_code(mut error: ServerError, code: &str) -> ServerError {
    error.extensions.get_or_insert_with(Default::default).set("code", code);
    error
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
            return Err(limit_error(format!(
                "the query is longer than {max} bytes (limit max_query_bytes = {max})",
                max = self.max_query_bytes
            )));
        }
        // Scanned before parsing, so a hostile text never becomes a tree:
        // the parser recurses once per level of nesting.
        prescan::graphql(query, self.max_tokens, self.max_nesting)
            .map_err(|refusal| limit_error(refusal.message("query")))?;
        let document = async_graphql::parser::parse_query(query)
            .map_err(|error| with_code(ServerError::from(error), "GRAPHQL_PARSE_FAILED"))?;
        fragments::check(&document, self.max_nesting)?;
        controls::in_document(&document)?;
        let introspects = introspects(&document);
        let fields = count_fields(&document, self.max_fields);
        // Only with the expanded field count bounded, and fragment cycles
        // refused, is walking every fragment spread (unmemoised: depth
        // depends on where) cheap.
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
        if measured.depth.aliased_introspection_list {
            return Err(limit_error(format!(
                "introspection may not alias a list field ({}): each alias multiplies the answer",
                INTROSPECTION_LISTS.join(", ")
            )));
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

/// The deepest nesting of a document's operations, fragments expanded,
/// with introspection subtrees measured apart.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Depth {
    /// Levels of selection outside introspection (`{ a { b } }` is 2).
    pub depth: usize,
    /// The most type-list fields nested inside one introspection subtree.
    pub introspection_lists: usize,
    /// Whether an introspection subtree aliases a list field: each alias
    /// multiplies the answer (5 aliases at each of 3 levels of `fields {
    /// type { .. } }` turned a 4.7 KB query into a 3.7 MB answer).
    pub aliased_introspection_list: bool,
}

/// The introspection fields that return lists: their aliases multiply.
const INTROSPECTION_LISTS: [&str; 8] =
    ["types", "fields", "inputFields", "interfaces", "possibleTypes", "enumValues", "args", "directives"];

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
                            let aliased = field.node.alias.as_ref().is_some_and(|a| a.node.as_str() != name);
                            if aliased && INTROSPECTION_LISTS.contains(&name) {
                                self.result.aliased_introspection_list = true;
                            }
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
    fn the_deepest_nesting_the_configuration_allows_parses_on_a_worker_thread_stack() {
        // tokio's worker threads have 2 MiB of stack; 64 is the highest
        // max_nesting the configuration accepts (and the parser's own
        // bound on selection sets). Lists, objects and
        // selection sets each at that depth must parse (and be measured and
        // dropped) there, in an unoptimised build, with room to spare: so
        // on half that stack.
        let limits = DocumentLimits {
            max_query_bytes: usize::MAX,
            max_tokens: usize::MAX,
            max_nesting: 64,
            max_fields: usize::MAX,
            max_depth: usize::MAX,
            introspection: Introspection::Everyone,
        };
        let texts = [
            format!("{{ a(x: {}1{}) }}", "[".repeat(62), "]".repeat(62)),
            format!("{{ a(x: {}1{}) }}", "{a:".repeat(62), "}".repeat(62)),
            format!("{}a{}", "{ a ".repeat(63), " }".repeat(63)),
        ];
        let worker = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || texts.iter().map(|text| limits.measure(text).err().map(|e| e.message)).collect::<Vec<_>>());
        assert_eq!(worker.expect("spawn").join().expect("no overflow"), [None, None, None]);
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
        assert!(!measured.aliased_introspection_list);
        let aliased = "{ __schema { types { a: fields { name } b: fields { name } } } }";
        assert!(depth(aliased).aliased_introspection_list);
        assert!(!depth("{ s: __schema { t: __typename types { name } } }").aliased_introspection_list);
        let through_fragment = "{ __type(name: \"Query\") { ...T } } fragment T on __Type { fields { type { interfaces { possibleTypes { name } } } } }";
        assert_eq!(depth(through_fragment).introspection_lists, 3);
    }
}
