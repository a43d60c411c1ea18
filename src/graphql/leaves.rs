//! Objects of many-item lists, resolved without a future per field.
//!
//! async-graphql resolves an object by boxing one future per selected
//! field and running them all in a `FuturesUnordered`, so that fields that
//! wait (on a DataLoader, say) wait together. For an object whose selected
//! fields are all plain values that never wait, that machinery is most of
//! the cost: on the page of 50 orders x 20 codes it was a third of the
//! server's CPU (perf, docs/performance.md). [`resolve_object`] resolves
//! such a selection one field after the other through the object's own
//! `resolve_field`, the same generated code with the same arguments,
//! errors and values, and falls back to async-graphql's own resolution for
//! every other selection.

use async_graphql::{
    ContainerType, ContextSelectionSet, ServerResult, Value,
    indexmap::{IndexMap, map::Entry},
    parser::types::Selection,
    resolver_utils::resolve_container,
};

/// Resolves `root` for `ctx`'s selection set. When every selection is a
/// field named in `leaves` (or `__typename`) with no directive, the fields
/// are resolved in order, one after the other; otherwise by
/// [`resolve_container`]. `leaves` names fields that never wait: naming one
/// that does is still correct, only slower (its siblings wait for it
/// instead of alongside it).
///
/// Schema extensions' per-field hooks are not called on this path; the
/// schema installs none (`graphql::build`), and async-graphql does not let
/// us ask whether it has any.
pub async fn resolve_object<T: ContainerType + Sync>(
    ctx: &ContextSelectionSet<'_>,
    root: T,
    leaves: &[&str],
) -> ServerResult<Value> {
    let items = &ctx.item.node.items;
    let plain = items.iter().all(|selection| match &selection.node {
        Selection::Field(field) => {
            let name = field.node.name.node.as_str();
            field.node.directives.is_empty() && (name == "__typename" || leaves.contains(&name))
        }
        _ => false,
    });
    if !plain {
        return resolve_container(ctx, &root).await;
    }
    let mut object = IndexMap::with_capacity(items.len());
    for selection in items {
        let Selection::Field(field) = &selection.node else { continue };
        // Validation only lets a response key repeat for the same leaf field
        // with the same arguments: the first answer stands, as in
        // async-graphql's merge.
        let Entry::Vacant(slot) = object.entry(field.node.response_key().node.clone()) else { continue };
        let value = if field.node.name.node == "__typename" {
            Value::String(root.introspection_type_name().into_owned())
        } else {
            match root.resolve_field(&ctx.with_field(field)).await {
                Ok(value) => value.unwrap_or_default(),
                // As async-graphql does: the error is reported and the field left out.
                Err(error) => {
                    ctx.add_error(error);
                    continue;
                }
            }
        };
        slot.insert(value);
    }
    Ok(if object.is_empty() { Value::Null } else { Value::Object(object) })
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use async_graphql::{
        Context, EmptyMutation, EmptySubscription, Error, Object, ObjectType, OutputType, Positioned, Schema,
        parser::types::Field, registry::Registry,
    };

    use super::*;

    /// An object resolved by async-graphql alone.
    struct Item(i32);

    #[Object]
    impl Item {
        async fn n(&self) -> i32 {
            self.0
        }
        async fn double(&self, times: Option<i32>) -> i32 {
            self.0 * times.unwrap_or(2)
        }
        async fn broken(&self) -> async_graphql::Result<i32> {
            Err(Error::new(format!("item {} is broken", self.0)))
        }
        async fn later(&self) -> i32 {
            tokio::task::yield_now().await;
            self.0 + 100
        }
    }

    /// The same object, resolved through [`resolve_object`].
    struct Fast(i32);

    impl OutputType for Fast {
        fn type_name() -> Cow<'static, str> {
            Item::type_name()
        }
        fn create_type_info(registry: &mut Registry) -> String {
            Item::create_type_info(registry)
        }
        async fn resolve(&self, ctx: &ContextSelectionSet<'_>, _field: &Positioned<Field>) -> ServerResult<Value> {
            resolve_object(ctx, Item(self.0), &["n", "double", "broken"]).await
        }
    }

    impl ContainerType for Fast {
        async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
            Item(self.0).resolve_field(ctx).await
        }
    }

    impl ObjectType for Fast {}

    struct Query;

    #[Object]
    impl Query {
        async fn slow(&self) -> Vec<Item> {
            (1..=3).map(Item).collect()
        }
        async fn fast(&self) -> Vec<Fast> {
            (1..=3).map(Fast).collect()
        }
    }

    /// The answer to `{ slow <selection> }` and to `{ fast <selection> }`,
    /// with `fast` renamed `slow` (data, then errors without their paths'
    /// first element).
    async fn both(selection: &str) -> [serde_json::Value; 2] {
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        let mut out = vec![];
        for root in ["slow", "fast"] {
            let response = schema.execute(format!("{{ {root} {selection} }}")).await;
            let mut json = serde_json::to_value(&response).expect("json");
            let data = json["data"].take();
            let errors: Vec<String> =
                response.errors.iter().map(|e| format!("{} at {:?}", e.message, &e.path[1..])).collect();
            out.push(serde_json::json!({ "data": data.get(root).cloned(), "errors": errors }));
        }
        let [slow, fast] = <[serde_json::Value; 2]>::try_from(out).expect("two");
        [slow, fast]
    }

    #[tokio::test]
    async fn leaf_selections_answer_as_async_graphql_does() {
        for selection in [
            "{ n }",
            "{ __typename n double }",
            "{ a: n b: double(times: 10) n }",
            "{ n n double(times: 3) double(times: 3) }",
            "{ n broken double }",
            // Not all leaves: async-graphql's own resolution.
            "{ n later }",
            "{ ... on Item { n } double }",
        ] {
            let [slow, fast] = both(selection).await;
            assert_eq!(fast, slow, "{selection}");
            assert!(slow["data"].is_array(), "{selection}: {slow}");
        }
        let [_, fast] = both("{ a: n broken }").await;
        assert_eq!(fast["data"], serde_json::json!([{ "a": 1 }, { "a": 2 }, { "a": 3 }]));
        assert_eq!(fast["errors"].as_array().map(Vec::len), Some(3));
    }
}
