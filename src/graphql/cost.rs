//! A request's cost, worked out as async-graphql's complexity limit works it
//! out (a test holds the two to the same figure), for `extensions.cost` on
//! every answer and a refusal that names the figures.
//!
//! async-graphql keeps the figure to itself unless an extension is
//! registered, and any extension sends every field of every answer through
//! the extension chain (see [`super::limits`]). So the same rules, from the
//! SDL: each field costs 1 plus its children (`__typename` nothing); a connection field on an
//! object costs its page size (`first`, else `last`, else the default,
//! within 1..100) times its children, plus 1; `nodes(ids:)` costs the
//! number of ids times its children, plus 1; `voucherPlan` a fixed cost plus
//! its children. Every operation of the
//! document counts; a fragment counts wherever it is spread, on the type
//! it is spread in (as async-graphql inlines it). Run only on documents the
//! limits passed ([`super::fragments`] refused cycles and deep chains,
//! [`super::limits`] counted the fields after expansion), so the walk is
//! bounded.

use std::collections::{HashMap, HashSet};

use async_graphql::{
    Name, Variables,
    parser::types::{ExecutableDocument, Field, OperationType, SelectionSet, TypeKind, TypeSystemDefinition},
};

use super::relay::connection_cost;

/// What a field's cost follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// 1 + children.
    Plain,
    /// The page size times children, + 1.
    Connection,
    /// The number of ids times children, + 1.
    Nodes,
    /// A fixed cost + children: a field that does much work whatever it
    /// selects (`voucherPlan`).
    Fixed(usize),
}

/// The schema's shape, as much as costs need: each object's and
/// interface's fields with the type they return and their rule.
#[derive(Debug, Default)]
pub struct CostModel {
    fields: HashMap<(String, String), (String, Rule)>,
    objects: HashSet<String>,
    roots: HashMap<&'static str, String>,
}

impl CostModel {
    /// Read from the schema's SDL.
    pub fn of_sdl(sdl: &str) -> Self {
        let mut model = Self::default();
        let Ok(document) = async_graphql::parser::parse_schema(sdl) else { return model };
        model.roots.insert("query", "Query".into());
        model.roots.insert("mutation", "Mutation".into());
        model.roots.insert("subscription", "Subscription".into());
        for definition in &document.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    for (key, root) in [
                        ("query", &schema.node.query),
                        ("mutation", &schema.node.mutation),
                        ("subscription", &schema.node.subscription),
                    ] {
                        if let Some(root) = root {
                            model.roots.insert(key, root.node.to_string());
                        }
                    }
                }
                TypeSystemDefinition::Type(ty) => {
                    let type_name = ty.node.name.node.to_string();
                    let (fields, object) = match &ty.node.kind {
                        TypeKind::Object(object) => (&object.fields, true),
                        TypeKind::Interface(interface) => (&interface.fields, false),
                        _ => continue,
                    };
                    if object {
                        model.objects.insert(type_name.clone());
                    }
                    for field in fields {
                        let name = field.node.name.node.to_string();
                        let returns = named_type(&field.node.ty.node.to_string());
                        let has = |arg: &str| field.node.arguments.iter().any(|a| a.node.name.node == arg);
                        let rule = if returns.ends_with("Connection") && has("first") {
                            Rule::Connection
                        } else if type_name == "Query" && name == "nodes" && has("ids") {
                            Rule::Nodes
                        } else if type_name == "Query" && name == "voucherPlan" {
                            Rule::Fixed(super::codes::plan::PLAN_COST)
                        } else {
                            Rule::Plain
                        };
                        model.fields.insert((type_name.clone(), name), (returns, rule));
                    }
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        model
    }

    /// The cost of running `document` with `variables`.
    pub fn cost(&self, document: &ExecutableDocument, variables: &Variables) -> usize {
        let mut walk = Walk { model: self, document, variables, defaults: HashMap::new() };
        let mut total = 0usize;
        for (_, operation) in document.operations.iter() {
            walk.defaults = operation
                .node
                .variable_definitions
                .iter()
                .filter_map(|d| d.node.default_value.as_ref().map(|v| (d.node.name.node.clone(), v.node.clone())))
                .collect();
            let root = match operation.node.ty {
                OperationType::Query => "query",
                OperationType::Mutation => "mutation",
                OperationType::Subscription => "subscription",
            };
            let root = self.roots.get(root).map(String::as_str);
            total = total.saturating_add(walk.set(&operation.node.selection_set.node, root));
        }
        total
    }
}

/// `[Code!]!` → `Code`.
fn named_type(ty: &str) -> String {
    ty.trim_matches(|c| c == '[' || c == ']' || c == '!').to_owned()
}

struct Walk<'a> {
    model: &'a CostModel,
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    defaults: HashMap<Name, async_graphql::Value>,
}

impl Walk<'_> {
    fn set(&self, set: &SelectionSet, parent: Option<&str>) -> usize {
        use async_graphql::parser::types::Selection;
        let mut sum = 0usize;
        for item in &set.items {
            let cost = match &item.node {
                // async-graphql's visitor passes `__typename` by.
                Selection::Field(field) if field.node.name.node == "__typename" => 0,
                Selection::Field(field) => self.field(&field.node, parent),
                Selection::FragmentSpread(spread) => {
                    match self.document.fragments.get(&spread.node.fragment_name.node) {
                        Some(fragment) => self.set(&fragment.node.selection_set.node, parent),
                        None => 0,
                    }
                }
                Selection::InlineFragment(fragment) => {
                    let on = fragment.node.type_condition.as_ref().map(|c| c.node.on.node.as_str()).or(parent);
                    self.set(&fragment.node.selection_set.node, on)
                }
            };
            sum = sum.saturating_add(cost);
        }
        sum
    }

    fn field(&self, field: &Field, parent: Option<&str>) -> usize {
        let info = parent.and_then(|p| self.model.fields.get(&(p.to_owned(), field.name.node.to_string())));
        let children = self.set(&field.selection_set.node, info.map(|(returns, _)| returns.as_str()));
        let on_object = parent.is_some_and(|p| self.model.objects.contains(p));
        match info.map(|(_, rule)| *rule) {
            Some(Rule::Connection) if on_object => {
                connection_cost(self.int(field, "first"), self.int(field, "last"), children)
            }
            Some(Rule::Nodes) if on_object => self.list_len(field, "ids").saturating_mul(children).saturating_add(1),
            Some(Rule::Fixed(cost)) => children.saturating_add(cost),
            _ => children.saturating_add(1),
        }
    }

    /// The number of ids a `nodes(ids:)` asks for: a list literal's length,
    /// or a variable's, read in place (never copied: a request may bring a
    /// megabyte of variables, and this runs before validation).
    fn list_len(&self, field: &Field, name: &str) -> usize {
        use async_graphql_value::Value as V;
        let Some(value) = field.get_argument(name) else { return 0 };
        match &value.node {
            V::List(items) => items.len(),
            V::Null => 0,
            V::Variable(variable) => match self.variables.get(variable).or_else(|| self.defaults.get(variable)) {
                Some(async_graphql::Value::List(items)) => items.len(),
                Some(async_graphql::Value::Null) | None => 0,
                Some(_) => 1,
            },
            _ => 1,
        }
    }

    /// An `Int` argument (a variable left out takes its default, else is
    /// absent), read in place; anything not an `Int` is absent (validation
    /// refuses it later).
    fn int(&self, field: &Field, name: &str) -> Option<i32> {
        use async_graphql_value::Value as V;
        let value = field.get_argument(name)?;
        let number = match &value.node {
            V::Number(n) => n,
            V::Variable(variable) => match self.variables.get(variable).or_else(|| self.defaults.get(variable))? {
                async_graphql::Value::Number(n) => n,
                _ => return None,
            },
            _ => return None,
        };
        number.as_i64().and_then(|n| i32::try_from(n).ok())
    }
}

/// The `extensions.cost` object: the figure and the limit.
pub fn extension(cost: usize, limit: usize) -> async_graphql::Value {
    async_graphql::value!({ "requestedQueryCost": cost as u64, "maximumQueryCost": limit as u64 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LimitArgs;

    /// Whether async-graphql, limited to `limit`, refuses `query` as too complex.
    async fn too_complex(query: &str, variables: &serde_json::Value, limit: usize) -> bool {
        let limits = LimitArgs { max_complexity: limit, max_depth: 64, ..LimitArgs::default() };
        let schema = super::super::schema_builder(&limits).finish();
        let request = async_graphql::Request::new(query).variables(Variables::from_json(variables.clone()));
        let response = schema.execute(request).await;
        response.errors.iter().any(|e| e.message.starts_with("Query is too complex"))
    }

    /// Our figure is async-graphql's: its limit at the figure passes, one
    /// below refuses.
    #[tokio::test]
    async fn the_cost_is_the_figure_async_graphql_limits() {
        let sdl = super::super::schema_builder(&LimitArgs::default()).finish().sdl();
        let model = CostModel::of_sdl(&sdl);
        let cases: Vec<(&str, serde_json::Value)> = vec![
            ("query A { programs { totalCount nodes { code name kind } } }", serde_json::json!({})),
            (
                "query B { programs(first: 7) { nodes { code packages(first: 3) { nodes { sku } } } } }",
                serde_json::json!({}),
            ),
            ("query C($n: Int) { programs(last: $n) { nodes { code } } }", serde_json::json!({ "n": 42 })),
            ("query D($n: Int = 9) { programs(first: $n) { nodes { code } } }", serde_json::json!({})),
            (
                "query E { programs(first: 500) { nodes { code } } orders(first: 0) { totalCount } }",
                serde_json::json!({}),
            ),
            (
                "query F($ids: [ID!]!) { nodes(ids: $ids) { id ... on Program { code packages { nodes { sku } } } } }",
                serde_json::json!({ "ids": ["a", "b", "c"] }),
            ),
            (
                "query G { ...Top programs { nodes { ...P } } } fragment Top on Query { viewer { subject } } \
                 fragment P on Program { code packages(first: 2) { nodes { sku } } }",
                serde_json::json!({}),
            ),
            ("query H2 { __typename }", serde_json::json!({})),
            ("query H3 { __schema { queryType { name } } }", serde_json::json!({})),
            ("query H4 { __type(name: \"Query\") { name } }", serde_json::json!({})),
            ("query H5 { __schema { types { name } } }", serde_json::json!({})),
            ("query H6 { programs { nodes { __typename code } } }", serde_json::json!({})),
            ("query H { __schema { types { name fields { name type { name } } } } __typename }", serde_json::json!({})),
            (
                "query I { node(id: \"x\") { id ... on Organization { agreements(first: 4) { nodes { number } } } } }",
                serde_json::json!({}),
            ),
            (
                "query J { organizations(first: 50) { nodes { orders(first: 20) { nodes { id codes(first: 20) { nodes { value status } } } } } } }",
                serde_json::json!({}),
            ),
            (
                "query K { a: programs { totalCount } b: programs(first: 1) { totalCount } } query L { viewer { roles } }",
                serde_json::json!({}),
            ),
        ];
        let readme = crate::http::readme_examples_for_tests();
        let cases = cases
            .into_iter()
            .map(|(q, v)| (q.to_owned(), v))
            .chain(readme.into_iter().map(|q| (q, serde_json::json!({}))));
        for (query, variables) in cases {
            let query = query.as_str();
            let document = async_graphql::parser::parse_query(query).expect("parses");
            let cost = model.cost(&document, &Variables::from_json(variables.clone()));
            assert!(!too_complex(query, &variables, cost).await, "async-graphql finds {query} costlier than {cost}");
            if cost > 0 {
                assert!(
                    too_complex(query, &variables, cost - 1).await,
                    "async-graphql finds {query} cheaper than {cost}"
                );
            }
        }
    }

    #[test]
    fn named_types_lose_their_wrapping() {
        assert_eq!(named_type("[Code!]!"), "Code");
        assert_eq!(named_type("Program"), "Program");
    }
}
