//! DataLoaders: every nested list is fetched for all parents at once, one
//! statement per kind of child, never one per parent row (STYLE habit 8).
//! A fresh set is made for each request, so nothing is cached across
//! requests or callers.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{discount_tier, enums::SolutionArea, package, program};
use sea_orm::DatabaseConnection;

use crate::{error::AppError, service::catalog};

/// Loads catalog rows and the lists hanging off packages.
pub struct CatalogLoader {
    db: DatabaseConnection,
}

/// The per-request loader handle put into the GraphQL context.
pub type Loaders = DataLoader<CatalogLoader>;

/// Makes the loaders for one request.
pub fn loaders(db: DatabaseConnection) -> Loaders {
    DataLoader::new(CatalogLoader { db }, tokio::spawn)
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

impl Loader<ProgramId> for CatalogLoader {
    type Value = program::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[ProgramId]) -> LoadResult<ProgramId, program::Model> {
        let rows = catalog::programs_by_ids(&self.db, &ids(keys, |k| k.0)).await?;
        Ok(rows.into_iter().map(|p| (ProgramId(p.id), p)).collect())
    }
}

impl Loader<PackageId> for CatalogLoader {
    type Value = package::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[PackageId]) -> LoadResult<PackageId, package::Model> {
        let rows = catalog::packages_by_ids(&self.db, &ids(keys, |k| k.0)).await?;
        Ok(rows.into_iter().map(|p| (PackageId(p.id), p)).collect())
    }
}

impl Loader<ProgramsOf> for CatalogLoader {
    type Value = Vec<program::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[ProgramsOf]) -> LoadResult<ProgramsOf, Vec<program::Model>> {
        let map = catalog::programs_of_packages(&self.db, &ids(keys, |k| k.0)).await?;
        Ok(map.into_iter().map(|(k, v)| (ProgramsOf(k), v)).collect())
    }
}

impl Loader<FamiliesOf> for CatalogLoader {
    type Value = Vec<String>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[FamiliesOf]) -> LoadResult<FamiliesOf, Vec<String>> {
        let map = catalog::families_of_packages(&self.db, &ids(keys, |k| k.0)).await?;
        Ok(map.into_iter().map(|(k, v)| (FamiliesOf(k), v)).collect())
    }
}

impl Loader<AreasOf> for CatalogLoader {
    type Value = Vec<SolutionArea>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[AreasOf]) -> LoadResult<AreasOf, Vec<SolutionArea>> {
        let map = catalog::areas_of_packages(&self.db, &ids(keys, |k| k.0)).await?;
        Ok(map.into_iter().map(|(k, v)| (AreasOf(k), v)).collect())
    }
}

impl Loader<TiersOf> for CatalogLoader {
    type Value = Vec<discount_tier::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[TiersOf]) -> LoadResult<TiersOf, Vec<discount_tier::Model>> {
        let map = catalog::tiers_of_packages(&self.db, &ids(keys, |k| k.0)).await?;
        Ok(map.into_iter().map(|(k, v)| (TiersOf(k), v)).collect())
    }
}

/// Turns a loader error back into a GraphQL error with its code.
pub fn loader_error(err: Arc<AppError>) -> async_graphql::Error {
    Arc::unwrap_or_clone(err).into_graphql()
}
