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

mod books;
mod catalog;
mod codes;
mod events;

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::{DataLoader, HashMapCache};
use sea_orm::DatabaseConnection;

pub use books::{AgreementId, CodeId, ExceptionsOf, MembershipId, OrderId, OrganizationId};
pub use catalog::{AreasOf, FamiliesOf, PackageId, ProgramId, ProgramOfAgreement, ProgramsOf, TiersOf};
pub use codes::{CodeCountOf, EventsOf, FirstCodesOf, ReplacementOf};
pub use events::{AttemptsOf, EventId};

use crate::error::AppError;

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

pub(crate) type LoadResult<K, V> = Result<HashMap<K, V>, Arc<AppError>>;

pub(crate) fn ids<K: Copy>(keys: &[K], f: impl Fn(K) -> i64) -> Vec<i64> {
    keys.iter().map(|k| f(*k)).collect()
}

/// Turns a loader error back into a GraphQL error with its code.
pub fn loader_error(err: Arc<AppError>) -> async_graphql::Error {
    Arc::unwrap_or_clone(err).into_graphql()
}
