//! What hangs off a code or a code source: its events, its replacement,
//! a nested first page of codes and their count.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use entity::{code, code_event};

use super::{DbLoader, LoadResult, ids};
use crate::{
    error::AppError,
    service::{
        code_rows::Columns,
        codes::{self, CodeSource},
    },
};

/// The events of a code, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventsOf(pub i64);
/// The code that replaced a code, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplacementOf(pub i64);
/// The first `size + 1` codes of an order or a membership (a nested first
/// page), read with `columns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FirstCodesOf {
    pub source: CodeSource,
    pub size: u64,
    pub columns: Columns,
}
/// How many codes an order or a membership has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CodeCountOf(pub CodeSource);

impl Loader<EventsOf> for DbLoader {
    type Value = Vec<code_event::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[EventsOf]) -> LoadResult<EventsOf, Vec<code_event::Model>> {
        let mut map: HashMap<EventsOf, Vec<code_event::Model>> = HashMap::new();
        for event in codes::events_of_codes(&self.db, &ids(keys, |k| k.0)).await? {
            map.entry(EventsOf(event.code_id)).or_default().push(event);
        }
        Ok(map)
    }
}

impl Loader<ReplacementOf> for DbLoader {
    type Value = code::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[ReplacementOf]) -> LoadResult<ReplacementOf, code::Model> {
        let rows = codes::replacements_of(&self.db, &ids(keys, |k| k.0)).await?;
        Ok(rows.into_iter().filter_map(|c| c.replaces_id.map(|original| (ReplacementOf(original), c))).collect())
    }
}

/// Shared, not copied: the loader hands a value to its cache and to each
/// caller, and a page of codes is worth not cloning three times.
impl Loader<FirstCodesOf> for DbLoader {
    type Value = Arc<Vec<code::Model>>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[FirstCodesOf]) -> LoadResult<FirstCodesOf, Arc<Vec<code::Model>>> {
        // Pages of one request almost always share a size, a kind of source
        // (orders or memberships) and columns: one statement each.
        let group = |k: &FirstCodesOf| (k.size, std::mem::discriminant(&k.source), k.columns);
        let mut groups: Vec<FirstCodesOf> = vec![];
        for key in keys {
            if !groups.iter().any(|g| group(g) == group(key)) {
                groups.push(*key);
            }
        }
        let mut map: HashMap<FirstCodesOf, Vec<code::Model>> = keys
            .iter()
            .map(|k| (*k, Vec::with_capacity(usize::try_from(k.size.saturating_add(1)).unwrap_or(0))))
            .collect();
        for first in groups {
            let sources: Vec<CodeSource> =
                keys.iter().filter(|k| group(k) == group(&first)).map(|k| k.source).collect();
            let FirstCodesOf { size, columns, .. } = first;
            for (source, code) in codes::first_codes_of(&self.db, &sources, size, columns).await? {
                map.entry(FirstCodesOf { source, size, columns }).or_default().push(code);
            }
        }
        Ok(map.into_iter().map(|(key, codes)| (key, Arc::new(codes))).collect())
    }
}

impl Loader<CodeCountOf> for DbLoader {
    type Value = u64;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[CodeCountOf]) -> LoadResult<CodeCountOf, u64> {
        let mut map: HashMap<CodeCountOf, u64> = keys.iter().map(|k| (*k, 0)).collect();
        let (orders, memberships): (Vec<CodeSource>, Vec<CodeSource>) =
            keys.iter().map(|k| k.0).partition(|s| matches!(s, CodeSource::Order(_)));
        for sources in [orders, memberships] {
            for (source, n) in codes::code_counts_of(&self.db, &sources).await? {
                map.insert(CodeCountOf(source), u64::try_from(n).unwrap_or(0));
            }
        }
        Ok(map)
    }
}
