//! Answers in the order of the query: every object's keys in the order its
//! fields were requested, aliases and fragments included (GraphQL spec,
//! "Serialized Map Ordering").
//!
//! async-graphql gathers an object's fields in the order their futures
//! finish, so `{ programs { totalCount nodes { code } } }` came back with
//! `nodes` first three times in four. After execution, the answer is put
//! in order against a plan made once per request from the operation's
//! selection sets, as CollectFields collects them: fields skipped by
//! `@skip`/`@include` (with the request's variables) are left out, and
//! fragments and inline fragments are expanded in place, each occurrence
//! remembering the type conditions it sits under. An object whose answer
//! says its type (`__typename`, which Apollo Client asks for everywhere) is
//! ordered exactly for that type, using the schema's possible types; one
//! that does not say is ordered as if every fragment applied. An object
//! already in order (most of them) is only checked, not rebuilt.

use std::collections::{HashMap, HashSet};

use async_graphql::{
    Name, Value, Variables,
    parser::{
        Positioned,
        types::{Directive, ExecutableDocument, Selection, SelectionSet, TypeCondition},
    },
};
use async_graphql_value::Value as Literal;

/// The schema's abstract types and the object types each stands for.
#[derive(Debug, Default)]
pub struct PossibleTypes(HashMap<String, HashSet<String>>);

impl PossibleTypes {
    /// Read from the schema's SDL: every interface with the types that
    /// implement it, every union with its members.
    pub fn of_sdl(sdl: &str) -> Self {
        use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
        let Ok(document) = async_graphql::parser::parse_schema(sdl) else { return Self::default() };
        let mut possible: HashMap<String, HashSet<String>> = HashMap::new();
        for definition in &document.definitions {
            let TypeSystemDefinition::Type(ty) = definition else { continue };
            let name = ty.node.name.node.to_string();
            match &ty.node.kind {
                TypeKind::Object(object) => {
                    for interface in &object.implements {
                        possible.entry(interface.node.to_string()).or_default().insert(name.clone());
                    }
                }
                TypeKind::Union(union) => {
                    possible.entry(name).or_default().extend(union.members.iter().map(|m| m.node.to_string()));
                }
                _ => {}
            }
        }
        Self(possible)
    }

    /// Whether a fragment on `condition` applies to an object of `typename`.
    fn applies(&self, condition: &str, typename: &str) -> bool {
        condition == typename || self.0.get(condition).is_some_and(|types| types.contains(typename))
    }
}

/// The order of one object's keys, and the plans of its children.
#[derive(Debug, Default)]
pub struct Plan {
    /// Response key -> its first position, every fragment applying.
    index: HashMap<Name, usize>,
    /// By position: the plan of the key's value, if it has fields.
    children: Vec<Option<Plan>>,
    /// Every occurrence of a key in document order, with the type
    /// conditions it sits under; kept only when some key has one.
    conditional: Vec<(Name, Vec<Name>)>,
}

impl Plan {
    /// The plan of the operation `name` picks (the only one when `None`)
    /// with `variables`; `None` when there is no such operation.
    pub fn of(document: &ExecutableDocument, name: Option<&str>, variables: &Variables) -> Option<Self> {
        let (_, operation) = super::documents::operation(document, name)?;
        let context = Collect { document, variables };
        Some(context.plan(&[(&operation.node.selection_set.node, Vec::new())]))
    }

    /// Puts `value` (and everything in it) in this plan's order, using
    /// `types` for objects that say their `__typename`.
    pub fn apply(&self, value: &mut Value, types: &PossibleTypes) {
        match value {
            Value::List(items) => items.iter_mut().for_each(|item| self.apply(item, types)),
            Value::Object(map) => {
                let typename = match map.get("__typename") {
                    Some(Value::String(name)) if !self.conditional.is_empty() => Some(name.clone()),
                    _ => None,
                };
                if let Some(typename) = typename {
                    let mut first: HashMap<&Name, usize> = HashMap::new();
                    for (i, (key, conditions)) in self.conditional.iter().enumerate() {
                        if conditions.iter().all(|c| types.applies(c, &typename)) {
                            first.entry(key).or_insert(i);
                        }
                    }
                    let position = |key: &Name| first.get(key).copied().unwrap_or(usize::MAX);
                    if !map.keys().map(position).is_sorted() {
                        map.sort_by(|a, _, b, _| position(a).cmp(&position(b)));
                    }
                } else {
                    let position = |key: &Name| self.index.get(key).copied().unwrap_or(usize::MAX);
                    if !map.keys().map(position).is_sorted() {
                        map.sort_by(|a, _, b, _| position(a).cmp(&position(b)));
                    }
                }
                for (key, child) in map.iter_mut() {
                    if let Some(Some(plan)) = self.index.get(key).map(|&i| &self.children[i]) {
                        plan.apply(child, types);
                    }
                }
            }
            _ => {}
        }
    }
}

/// What collecting needs: the document (for fragments) and the variables
/// (for `@skip` and `@include`).
struct Collect<'a> {
    document: &'a ExecutableDocument,
    variables: &'a Variables,
}

impl<'a> Collect<'a> {
    /// The plan of the selection sets of every field sharing one response
    /// key, each with the type conditions it sits under.
    fn plan(&self, sets: &[(&'a SelectionSet, Vec<Name>)]) -> Plan {
        let mut index: HashMap<Name, usize> = HashMap::new();
        let mut subsets: Vec<Vec<(&'a SelectionSet, Vec<Name>)>> = Vec::new();
        let mut occurrences: Vec<(Name, Vec<Name>)> = Vec::new();
        for (set, conditions) in sets {
            self.collect(set, conditions, &mut index, &mut subsets, &mut occurrences);
        }
        let children = subsets.iter().map(|sets| (!sets.is_empty()).then(|| self.plan(sets))).collect();
        let conditional = if occurrences.iter().any(|(_, c)| !c.is_empty()) { occurrences } else { Vec::new() };
        Plan { index, children, conditional }
    }

    /// Adds the response keys of `set` in document order. A field's own
    /// selection starts afresh: type conditions apply to the object they
    /// select on, not to its children.
    fn collect(
        &self,
        set: &'a SelectionSet,
        conditions: &[Name],
        index: &mut HashMap<Name, usize>,
        subsets: &mut Vec<Vec<(&'a SelectionSet, Vec<Name>)>>,
        occurrences: &mut Vec<(Name, Vec<Name>)>,
    ) {
        for item in &set.items {
            if self.skipped(item.node.directives()) {
                continue;
            }
            match &item.node {
                Selection::Field(field) => {
                    let key = field.node.response_key().node.clone();
                    occurrences.push((key.clone(), conditions.to_vec()));
                    let position = *index.entry(key).or_insert_with(|| {
                        subsets.push(Vec::new());
                        subsets.len() - 1
                    });
                    let children = &field.node.selection_set.node;
                    if !children.items.is_empty() {
                        subsets[position].push((children, Vec::new()));
                    }
                }
                Selection::InlineFragment(fragment) => {
                    let inner = with(conditions, fragment.node.type_condition.as_ref().map(|c| &c.node));
                    self.collect(&fragment.node.selection_set.node, &inner, index, subsets, occurrences);
                }
                Selection::FragmentSpread(spread) => {
                    // Cycles and undefined fragments were refused before
                    // execution ([`super::fragments`]).
                    if let Some(fragment) = self.document.fragments.get(&spread.node.fragment_name.node) {
                        let inner = with(conditions, Some(&fragment.node.type_condition.node));
                        self.collect(&fragment.node.selection_set.node, &inner, index, subsets, occurrences);
                    }
                }
            }
        }
    }

    /// Whether `@skip(if: true)` or `@include(if: false)` leaves it out.
    fn skipped(&self, directives: &[Positioned<Directive>]) -> bool {
        directives.iter().any(|directive| {
            let skip = match directive.node.name.node.as_str() {
                "skip" => true,
                "include" => false,
                _ => return false,
            };
            let value = match directive.node.get_argument("if").map(|v| &v.node) {
                Some(Literal::Boolean(b)) => *b,
                Some(Literal::Variable(name)) => matches!(self.variables.get(name), Some(Value::Boolean(true))),
                _ => return false,
            };
            value == skip
        })
    }
}

/// `conditions` and one more.
fn with(conditions: &[Name], condition: Option<&TypeCondition>) -> Vec<Name> {
    let mut all = conditions.to_vec();
    all.extend(condition.map(|c| c.on.node.clone()));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDL: &str = "interface Node { id: ID! } type Order implements Node { id: ID! status: String value: String } \
                       type Code implements Node { id: ID! status: String value: String } union Thing = Order | Code \
                       type Query { node: Node }";

    fn ordered_with(query: &str, variables: serde_json::Value, answer: serde_json::Value) -> String {
        let document = async_graphql::parser::parse_query(query).expect("parses");
        let variables = Variables::from_json(variables);
        let mut value = Value::from_json(answer).expect("value");
        Plan::of(&document, None, &variables).expect("one operation").apply(&mut value, &PossibleTypes::of_sdl(SDL));
        value.into_json().expect("json").to_string()
    }

    fn ordered(query: &str, answer: serde_json::Value) -> String {
        ordered_with(query, serde_json::json!({}), answer)
    }

    #[test]
    fn keys_follow_the_query_through_aliases_fragments_and_lists() {
        let query = "{ b: programs { totalCount nodes { ...F code } } a: __typename } fragment F on Program { name ... { id } }";
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
    fn type_conditions_are_honoured_when_the_object_says_its_type() {
        // CollectFields for a Code skips the Order fragment: value, status.
        let query =
            "{ node { __typename ... on Order { id status } ... on Code { value status } ... on Node { id } } }";
        let code = serde_json::json!({ "node": { "status": "A", "id": "1", "value": "V", "__typename": "Code" } });
        assert_eq!(ordered(query, code), r#"{"node":{"__typename":"Code","value":"V","status":"A","id":"1"}}"#);
        let order = serde_json::json!({ "node": { "status": "P", "__typename": "Order", "id": "2" } });
        assert_eq!(ordered(query, order), r#"{"node":{"__typename":"Order","id":"2","status":"P"}}"#);
        // Through a union and a named fragment.
        let query =
            "{ node { ...T __typename } } fragment T on Thing { ... on Code { value } ... on Order { status } }";
        let code = serde_json::json!({ "node": { "__typename": "Code", "value": "V" } });
        assert_eq!(ordered(query, code), r#"{"node":{"value":"V","__typename":"Code"}}"#);
    }

    #[test]
    fn skipped_and_excluded_fields_do_not_hold_a_place() {
        let query = "query($x: Boolean!) { viewer @include(if: $x) { subject } programs { totalCount } viewer { roles } \
                     a: __typename @skip(if: true) a: __typename }";
        let answer = serde_json::json!({ "a": "Query", "viewer": { "roles": [] }, "programs": { "totalCount": 1 } });
        assert_eq!(
            ordered_with(query, serde_json::json!({ "x": false }), answer.clone()),
            r#"{"programs":{"totalCount":1},"viewer":{"roles":[]},"a":"Query"}"#
        );
        assert_eq!(
            ordered_with(query, serde_json::json!({ "x": true }), answer),
            r#"{"viewer":{"roles":[]},"programs":{"totalCount":1},"a":"Query"}"#
        );
    }

    #[test]
    fn the_schemas_own_interfaces_are_read_from_its_sdl() {
        let types = PossibleTypes::of_sdl(&crate::graphql::sdl());
        assert!(types.applies("Node", "Code") && types.applies("Node", "Order"));
        assert!(types.applies("Code", "Code") && !types.applies("Order", "Code"));
    }

    #[test]
    fn absent_keys_and_nulls_are_left_alone() {
        let query = "{ node(id: \"x\") { ... on Order { status } ... on Code { value status } } a: __typename }";
        assert_eq!(ordered(query, serde_json::json!({ "a": "Query", "node": null })), r#"{"node":null,"a":"Query"}"#);
    }
}
