//! DataLoaders: every nested list is fetched for all parents at once, one
//! statement per kind of child, never one per parent row (STYLE habit 8).
//! A fresh set is made for each request, so nothing is cached across
//! requests or callers.
//!
//! In a query operation the loaders also cache what they loaded
//! ([`cache_reads`], called by `AppState::execute`): a parent page can then
//! load its children for all its rows before any row resolves (see
//! `graphql::orders`), and the rows find them there. That keeps a page at
//! one statement per kind of child even when the executor, which yields
//! after every 32 items of a list, lets the 1 ms batching window close
//! halfway through the rows. A mutation never caches, so a field resolved
//! after a change never sees a row as it was before it.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{
    agreement, code, code_event, discount_tier, enums::SolutionArea, membership, membership_exception, order,
    organization, package, program,
};
use sea_orm::DatabaseConnection;

use crate::{
    error::AppError,
    service::{
        catalog,
        code_rows::Columns,
        codes::{self, CodeSource},
        memberships, orders, organizations,
    },
};

/// Loads rows by id and the lists hanging off them.
pub struct DbLoader {
    db: DatabaseConnection,
}

/// The per-request loader handle put into the GraphQL context (shared, so
/// that lazily resolved fields such as `totalCount` can batch too).
pub type Loaders = Arc<DataLoader<DbLoader, HashMapCache>>;

/// Makes the loaders for one request, with async-graphql's default
/// batching delay (1 ms): keys requested within it share one statement.
/// They do not cache until [`cache_reads`] is called.
pub fn loaders(db: DatabaseConnection) -> Loaders {
    Arc::new(uncached(db))
}

/// Like [`loaders`], waiting `delay` for keys before each batch. Tests that
/// count statements choose it: a long delay measures the batching itself,
/// a zero delay shows that a page loaded ahead does not depend on timing.
pub fn loaders_with_delay(db: DatabaseConnection, delay: std::time::Duration) -> Loaders {
    Arc::new(uncached(db).delay(delay))
}

fn uncached(db: DatabaseConnection) -> DataLoader<DbLoader, HashMapCache> {
    // Batches run in tasks of their own, as the request they serve: their
    // log lines (sqlx's warnings, say) carry its id.
    let loaders = DataLoader::with_cache(DbLoader { db }, crate::logs::spawner(), HashMapCache::default());
    loaders.enable_all_cache(false);
    loaders
}

/// Turns the loaders' cache on, for a query operation (a mutation must
/// never cache).
pub fn cache_reads(loaders: &Loaders) {
    loaders.enable_all_cache(true);
}

/// A program by row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProgramId(pub i64);
/// A package by row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PackageId(pub i64);
/// The programs of a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProgramsOf(pub i64);
/// The program an agreement (and so its orders) is under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProgramOfAgreement(pub i64);
/// The exam families of a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FamiliesOf(pub i64);
/// The solution areas of a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AreasOf(pub i64);
/// The discount tiers of a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TiersOf(pub i64);

type LoadResult<K, V> = Result<HashMap<K, V>, Arc<AppError>>;

fn ids<K: Copy>(keys: &[K], f: impl Fn(K) -> i64) -> Vec<i64> {
    keys.iter().map(|k| f(*k)).collect()
}

impl Loader<ProgramId> for DbLoader {
    type Value = program::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[ProgramId]) -> LoadResult<ProgramId, program::Model> {
        let rows = catalog::programs_by_ids(&self.db, &ids(keys, |k| k.0)).await?;
        Ok(rows.into_iter().map(|p| (ProgramId(p.id), p)).collect())
    }
}

impl Loader<PackageId> for DbLoader {
    type Value = package::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[PackageId]) -> LoadResult<PackageId, package::Model> {
        let rows = catalog::packages_by_ids(&self.db, &ids(keys, |k| k.0)).await?;
        Ok(rows.into_iter().map(|p| (PackageId(p.id), p)).collect())
    }
}

impl Loader<ProgramsOf> for DbLoader {
    type Value = Vec<program::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[ProgramsOf]) -> LoadResult<ProgramsOf, Vec<program::Model>> {
        let map = catalog::programs_of_packages(&self.db, &ids(keys, |k| k.0)).await?;
        Ok(map.into_iter().map(|(k, v)| (ProgramsOf(k), v)).collect())
    }
}

impl Loader<ProgramOfAgreement> for DbLoader {
    type Value = program::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[ProgramOfAgreement]) -> LoadResult<ProgramOfAgreement, program::Model> {
        let rows = catalog::programs_of_agreements(&self.db, &ids(keys, |k| k.0)).await?;
        Ok(rows.into_iter().map(|(agreement, p)| (ProgramOfAgreement(agreement), p)).collect())
    }
}

impl Loader<FamiliesOf> for DbLoader {
    type Value = Vec<String>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[FamiliesOf]) -> LoadResult<FamiliesOf, Vec<String>> {
        let map = catalog::families_of_packages(&self.db, &ids(keys, |k| k.0)).await?;
        Ok(map.into_iter().map(|(k, v)| (FamiliesOf(k), v)).collect())
    }
}

impl Loader<AreasOf> for DbLoader {
    type Value = Vec<SolutionArea>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[AreasOf]) -> LoadResult<AreasOf, Vec<SolutionArea>> {
        let map = catalog::areas_of_packages(&self.db, &ids(keys, |k| k.0)).await?;
        Ok(map.into_iter().map(|(k, v)| (AreasOf(k), v)).collect())
    }
}

impl Loader<TiersOf> for DbLoader {
    type Value = Vec<discount_tier::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[TiersOf]) -> LoadResult<TiersOf, Vec<discount_tier::Model>> {
        let map = catalog::tiers_of_packages(&self.db, &ids(keys, |k| k.0)).await?;
        Ok(map.into_iter().map(|(k, v)| (TiersOf(k), v)).collect())
    }
}

/// An organization by row id (visibility is the caller's business).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrganizationId(pub i64);
/// An agreement by row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AgreementId(pub i64);
/// An order by row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderId(pub i64);
/// A membership by row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MembershipId(pub i64);
/// A code by row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CodeId(pub i64);
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

macro_rules! by_id {
    ($key:ident, $model:ty, $fetch:path) => {
        impl Loader<$key> for DbLoader {
            type Value = $model;
            type Error = Arc<AppError>;

            async fn load(&self, keys: &[$key]) -> LoadResult<$key, $model> {
                let rows = $fetch(&self.db, &ids(keys, |k| k.0)).await?;
                Ok(rows.into_iter().map(|row| ($key(row.id), row)).collect())
            }
        }
    };
}

by_id!(OrganizationId, organization::Model, organizations::organizations_by_ids);
by_id!(AgreementId, agreement::Model, organizations::agreements_by_ids);
by_id!(OrderId, order::Model, orders::orders_by_ids);
by_id!(CodeId, code::Model, codes::codes_by_ids);
by_id!(MembershipId, membership::Model, memberships::memberships_by_ids);

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

/// The exceptions granted to a membership, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExceptionsOf(pub i64);

impl Loader<ExceptionsOf> for DbLoader {
    type Value = Vec<membership_exception::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[ExceptionsOf]) -> LoadResult<ExceptionsOf, Vec<membership_exception::Model>> {
        let mut map: HashMap<ExceptionsOf, Vec<membership_exception::Model>> = HashMap::new();
        for exception in memberships::exceptions_of(&self.db, &ids(keys, |k| k.0)).await? {
            map.entry(ExceptionsOf(exception.membership_id)).or_default().push(exception);
        }
        Ok(map)
    }
}

/// Turns a loader error back into a GraphQL error with its code.
pub fn loader_error(err: Arc<AppError>) -> async_graphql::Error {
    Arc::unwrap_or_clone(err).into_graphql()
}
