//! Query limits async-graphql does not have built in: query text size and
//! the number of fields a document asks for, counted after expanding
//! fragments, with aliases and `__typename` included (so 5 000 aliased
//! `__typename` do not pass). Depth, complexity and directives per field
//! use async-graphql's own limits (see `graphql::schema_builder`).

use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    ServerError, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

/// Document-level limits.
#[derive(Debug, Clone, Copy)]
pub struct DocumentLimits {
    pub max_query_bytes: usize,
    pub max_fields: usize,
}

impl ExtensionFactory for DocumentLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

/// A request error with `extensions.code = LIMIT_EXCEEDED`.
pub fn limit_error(message: String) -> ServerError {
    let mut err = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", "LIMIT_EXCEEDED");
    err.extensions = Some(ext);
    err
}

#[async_graphql::async_trait::async_trait]
impl Extension for DocumentLimits {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if query.len() > self.max_query_bytes {
            return Err(limit_error(format!("the query is longer than {} bytes", self.max_query_bytes)));
        }
        let document = next.run(ctx, query, variables).await?;
        let fields = count_fields(&document, self.max_fields);
        if fields > self.max_fields {
            return Err(limit_error(format!("the query asks for more than {} fields", self.max_fields)));
        }
        Ok(document)
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
}
