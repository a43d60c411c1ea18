//! Rows of the books by id (organizations, agreements, orders, codes,
//! memberships) and a membership's exceptions.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use entity::{agreement, code, membership, membership_exception, order, organization};

use super::{DbLoader, LoadResult, ids};
use crate::{
    error::AppError,
    service::{codes, memberships, orders, organizations},
};

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
