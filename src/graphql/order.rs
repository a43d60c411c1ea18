//! Answers in the order of the query: every object's keys in the order its
//! fields were requested, aliases and fragments included (GraphQL spec,
//! "Serialized Map Ordering").
//!
//! async-graphql gathers an object's fields in the order their futures
//! finish, so `{ programs { totalCount nodes { code } } }` came back with
//! `nodes` first three times in four. After execution, the answer is put
//! in order against a plan made once per request from the operation's
//! selection sets, merged per response key as CollectFields merges them
//! (fragments and inline fragments expanded in place, whatever their type
//! condition: keys an object does not have are simply absent). An object
//! already in order (most of them) is only checked, not rebuilt.

use std::collections::HashMap;

use async_graphql::{
    Name, Value,
    parser::types::{ExecutableDocument, OperationDefinition, Selection, SelectionSet},
};

/// The order of one object's keys, and the plans of its children.
#[derive(Debug, Default)]
pub struct Plan {
    /// Response key -> its position among the object's keys.
    index: HashMap<Name, usize>,
    /// By position: the plan of the key's value, if it has fields.
    children: Vec<Option<Plan>>,
}

impl Plan {
    /// The plan of the operation `name` picks (the only one when `None`);
    /// `None` when there is no such operation.
    pub fn of(document: &ExecutableDocument, name: Option<&str>) -> Option<Self> {
        let operation: &OperationDefinition = match name {
            Some(name) => &document.operations.iter().find(|(n, _)| n.is_some_and(|n| n.as_str() == name))?.1.node,
            None => {
                let mut all = document.operations.iter();
                let (_, only) = all.next()?;
                if all.next().is_some() {
                    return None;
                }
                &only.node
            }
        };
        Some(Self::merged(&[&operation.selection_set.node], document))
    }

    /// The plan of the selection sets of every field sharing one response
    /// key, in document order.
    fn merged(sets: &[&SelectionSet], document: &ExecutableDocument) -> Self {
        let mut index: HashMap<Name, usize> = HashMap::new();
        let mut subsets: Vec<Vec<&SelectionSet>> = Vec::new();
        for set in sets {
            collect(set, document, &mut index, &mut subsets);
        }
        let children = subsets.iter().map(|sets| (!sets.is_empty()).then(|| Self::merged(sets, document))).collect();
        Self { index, children }
    }

    /// Puts `value` (and everything in it) in this plan's order.
    pub fn apply(&self, value: &mut Value) {
        match value {
            Value::List(items) => items.iter_mut().for_each(|item| self.apply(item)),
            Value::Object(map) => {
                let position = |key: &Name| self.index.get(key).copied().unwrap_or(usize::MAX);
                if !map.keys().map(position).is_sorted() {
                    map.sort_by(|a, _, b, _| position(a).cmp(&position(b)));
                }
                for (key, child) in map.iter_mut() {
                    if let Some(Some(plan)) = self.index.get(key).map(|&i| &self.children[i]) {
                        plan.apply(child);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Adds the response keys of `set` to `index` in document order, and each
/// field's selection set to its key's `subsets`. Fragment spreads are
/// followed (cycles were refused before execution: [`super::fragments`]).
fn collect<'a>(
    set: &'a SelectionSet,
    document: &'a ExecutableDocument,
    index: &mut HashMap<Name, usize>,
    subsets: &mut Vec<Vec<&'a SelectionSet>>,
) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                let key = field.node.response_key().node.clone();
                let position = *index.entry(key).or_insert_with(|| {
                    subsets.push(Vec::new());
                    subsets.len() - 1
                });
                let children = &field.node.selection_set.node;
                if !children.items.is_empty() {
                    subsets[position].push(children);
                }
            }
            Selection::InlineFragment(fragment) => collect(&fragment.node.selection_set.node, document, index, subsets),
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    collect(&fragment.node.selection_set.node, document, index, subsets);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ordered(query: &str, answer: serde_json::Value) -> String {
        let document = async_graphql::parser::parse_query(query).expect("parses");
        let mut value = Value::from_json(answer).expect("value");
        Plan::of(&document, None).expect("one operation").apply(&mut value);
        value.into_json().expect("json").to_string()
    }

    #[test]
    fn keys_follow_the_query_through_aliases_fragments_and_lists() {
        let query = "{ b: programs { totalCount nodes { ...F code } } a: __typename } fragment F on Program { name ... on Program { id } }";
        let shuffled = serde_json::json!({
            "a": "Query",
            "b": { "nodes": [{ "code": "EES", "id": "1", "name": "x" }, { "id": "2", "code": "VL", "name": "y" }], "totalCount": 2 }
        });
        assert_eq!(
            ordered(query, shuffled),
            r#"{"b":{"totalCount":2,"nodes":[{"name":"x","id":"1","code":"EES"},{"name":"y","id":"2","code":"VL"}]},"a":"Query"}"#
        );
    }

    #[test]
    fn a_key_asked_twice_keeps_its_first_place_and_merges_its_fields() {
        let query = "{ viewer { subject } programs { code } viewer { roles subject } }";
        let answer = serde_json::json!({ "programs": [{ "code": "VL" }], "viewer": { "roles": [], "subject": "a" } });
        assert_eq!(ordered(query, answer), r#"{"viewer":{"subject":"a","roles":[]},"programs":[{"code":"VL"}]}"#);
    }

    #[test]
    fn absent_keys_and_nulls_are_left_alone() {
        let query = "{ node(id: \"x\") { ... on Order { status } ... on Code { kind status } } a: __typename }";
        assert_eq!(ordered(query, serde_json::json!({ "a": "Query", "node": null })), r#"{"node":null,"a":"Query"}"#);
        let code = serde_json::json!({ "node": { "status": "ASSIGNED", "kind": "EXAM_VOUCHER" } });
        assert_eq!(ordered(query, code), r#"{"node":{"status":"ASSIGNED","kind":"EXAM_VOUCHER"}}"#);
    }
}
