//! The catalog's loaders: programs, packages and what hangs off a package.

use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entity::{discount_tier, enums::SolutionArea, package, program};

use super::{DbLoader, LoadResult, ids};
use crate::{error::AppError, service::catalog};

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
