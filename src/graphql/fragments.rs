//! Fragment spreads checked before anything walks through them: no cycle,
//! and no chain of spreads deeper than the nesting limit.
//!
//! Why before: the walkers that measure a document (ours in
//! [`super::limits`], async-graphql's validation) follow spreads into
//! fragments. A cycle is invalid GraphQL anyway, but a document whose
//! fragments each spread the next one twice and whose last spreads the
//! first asks for no field at all and yet has 2^n paths: a walker that
//! follows them stalls the request. This check is iterative (no stack to
//! overflow) and linear in the spreads.

use std::collections::HashMap;

use async_graphql::{
    ServerError,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

use super::limits::{coded_error, limit_error};

/// Refuses a spread of a fragment the document does not define and a
/// fragment cycle (`GRAPHQL_VALIDATION_FAILED`), and fragments that expand
/// to selections nested deeper than `max_nesting` (`LIMIT_EXCEEDED`).
///
/// With every spread known and no cycle, every path through the spreads
/// ends at a field, so walking them all costs no more than the expanded
/// field count the document limits cap; and with the expanded nesting
/// bounded, no walker recurses deeper than twice the text's bound.
pub fn check(document: &ExecutableDocument, max_nesting: usize) -> Result<(), ServerError> {
    let undefined = |name: &str| coded_error(format!("unknown fragment `{name}`"), "GRAPHQL_VALIDATION_FAILED");
    for (_, operation) in document.operations.iter() {
        if let Some(name) = spread_names(&operation.node.selection_set.node)
            .into_iter()
            .find(|name| !document.fragments.contains_key(*name))
        {
            return Err(undefined(name));
        }
    }
    let spreads: HashMap<&str, Vec<&str>> =
        document.fragments.iter().map(|(name, f)| (name.as_str(), spread_names(&f.node.selection_set.node))).collect();
    if let Some(name) = spreads.values().flatten().find(|name| !spreads.contains_key(*name)) {
        return Err(undefined(name));
    }
    // How deep each fragment expands, once all it spreads are known; a
    // fragment in `open` is on the current path.
    let mut done: HashMap<&str, usize> = HashMap::with_capacity(spreads.len());
    let mut open: Vec<&str> = Vec::new();
    for &root in spreads.keys() {
        if done.contains_key(root) {
            continue;
        }
        // Each frame: a fragment and how many of its spreads were visited.
        let mut stack: Vec<(&str, usize)> = vec![(root, 0)];
        open.push(root);
        while let Some(&mut (name, ref mut next)) = stack.last_mut() {
            let children = spreads.get(name).map(Vec::as_slice).unwrap_or_default();
            if let Some(&child) = children.get(*next) {
                *next += 1;
                if done.contains_key(child) {
                    continue;
                }
                if open.contains(&child) {
                    return Err(coded_error(
                        format!("fragment `{child}` spreads itself (through {})", open.join(" -> ")),
                        "GRAPHQL_VALIDATION_FAILED",
                    ));
                }
                if open.len() >= max_nesting {
                    return Err(too_deep(max_nesting));
                }
                open.push(child);
                stack.push((child, 0));
            } else {
                let fragment = document.fragments.get(name).map(|f| &f.node.selection_set.node);
                let depth = fragment.map_or(0, |set| expanded_depth(set, &done));
                if depth > max_nesting {
                    return Err(too_deep(max_nesting));
                }
                done.insert(name, depth);
                open.pop();
                stack.pop();
            }
        }
    }
    Ok(())
}

fn too_deep(max_nesting: usize) -> ServerError {
    limit_error(format!(
        "fragments expand to selections nested deeper than {max_nesting} levels (limit max_nesting = {max_nesting})"
    ))
}

/// How many levels of selection a walker goes through in `set`: a field's
/// selection, an inline fragment and a spread each one more, a spread
/// then as deep as its fragment (already in `done`). Recurses only as deep
/// as the text nests, which the pre-scan bounds.
fn expanded_depth(set: &SelectionSet, done: &HashMap<&str, usize>) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => 1 + expanded_depth(&field.node.selection_set.node, done),
            Selection::InlineFragment(fragment) => 1 + expanded_depth(&fragment.node.selection_set.node, done),
            Selection::FragmentSpread(spread) => {
                1 + done.get(spread.node.fragment_name.node.as_str()).copied().unwrap_or(0)
            }
        })
        .max()
        .unwrap_or(0)
}

/// The fragments a selection set spreads, inline fragments and fields
/// looked into (their nesting is bounded by the text's).
fn spread_names(set: &SelectionSet) -> Vec<&str> {
    let mut names = Vec::new();
    let mut sets = vec![set];
    while let Some(set) = sets.pop() {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => sets.push(&field.node.selection_set.node),
                Selection::InlineFragment(fragment) => sets.push(&fragment.node.selection_set.node),
                Selection::FragmentSpread(spread) => names.push(spread.node.fragment_name.node.as_str()),
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_text(query: &str, max: usize) -> Result<(), String> {
        let document = async_graphql::parser::parse_query(query).expect("parses");
        check(&document, max).map_err(|e| e.message)
    }

    #[test]
    fn cycles_are_refused_however_long() {
        assert!(check_text("{ ...A } fragment A on Query { ...A }", 32).unwrap_err().contains("`A` spreads itself"));
        let q = "{ ...A } fragment A on Query { a { ...B } } fragment B on Query { ... on Query { ...A } }";
        assert!(check_text(q, 32).unwrap_err().contains("spreads itself"));
    }

    #[test]
    fn spreads_of_undefined_fragments_are_refused() {
        // Without this, a doubling fan-out ending in an unknown fragment
        // counted no field and had 2^30 paths for the walkers.
        let mut q = String::from("{ ...F0 }");
        for i in 0..30 {
            q.push_str(&format!(" fragment F{i} on Query {{ ...F{n} ...F{n} }}", n = i + 1));
        }
        q.push_str(" fragment F30 on Query { ...Missing }");
        assert_eq!(check_text(&q, 32), Err("unknown fragment `Missing`".into()));
        assert_eq!(check_text("{ a { ...Nowhere } }", 32), Err("unknown fragment `Nowhere`".into()));
    }

    #[test]
    fn a_doubling_cycle_is_refused_without_walking_its_paths() {
        // Each fragment spreads the next twice; the last spreads the first:
        // 2^30 paths, no field. Refused in linear time.
        let mut q = String::from("{ ...F0 }");
        for i in 0..30 {
            q.push_str(&format!(" fragment F{i} on Query {{ ...F{n} ...F{n} }}", n = (i + 1) % 30));
        }
        assert!(check_text(&q, 64).unwrap_err().contains("spreads itself"));
    }

    #[test]
    fn chains_deeper_than_the_bound_are_refused_and_shared_fragments_are_not() {
        let chain = |n: usize| {
            let mut q = String::from("{ ...F0 }");
            for i in 0..n {
                q.push_str(&format!(" fragment F{i} on Query {{ ...F{} }}", i + 1));
            }
            q + &format!(" fragment F{n} on Query {{ __typename }}")
        };
        // Whichever fragment the walk starts from (the map's order varies).
        for _ in 0..20 {
            assert_eq!(check_text(&chain(31), 32), Ok(()));
            assert!(check_text(&chain(32), 32).unwrap_err().contains("deeper than 32 levels"));
            assert!(check_text(&chain(400), 32).unwrap_err().contains("deeper than 32 levels"));
        }
        // Nesting inside each fragment adds up along the chain.
        let mut nested = String::from("{ ...F0 }");
        for i in 0..8 {
            nested.push_str(&format!(" fragment F{i} on Query {{ a {{ b {{ c {{ ...F{} }} }} }} }}", i + 1));
        }
        nested.push_str(" fragment F8 on Query { __typename }");
        assert!(check_text(&nested, 32).unwrap_err().contains("deeper than 32 levels"), "8 x 4 + 1 levels");
        assert_eq!(check_text(&nested, 40), Ok(()));
        let diamond =
            "{ ...A ...B } fragment A on Query { ...C } fragment B on Query { ...C } fragment C on Query { a }";
        assert_eq!(check_text(diamond, 32), Ok(()));
    }
}
