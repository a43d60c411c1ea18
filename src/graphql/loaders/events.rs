//! The outbox's loaders: an event by id (a webhook delivery's, a
//! notice's) and a delivery's attempts.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::Loader;
use entity::{event, webhook_attempt};

use super::{DbLoader, LoadResult, ids};
use crate::{error::AppError, service::webhooks};

/// An event of the outbox by row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventId(pub i64);
/// The latest attempts of a webhook delivery, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttemptsOf(pub i64);

impl Loader<EventId> for DbLoader {
    type Value = event::Model;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[EventId]) -> LoadResult<EventId, event::Model> {
        let rows = webhooks::events_by_ids(&self.db, &ids(keys, |k| k.0)).await?;
        Ok(rows.into_iter().map(|e| (EventId(e.id), e)).collect())
    }
}

impl Loader<AttemptsOf> for DbLoader {
    type Value = Vec<webhook_attempt::Model>;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[AttemptsOf]) -> LoadResult<AttemptsOf, Vec<webhook_attempt::Model>> {
        let mut map: HashMap<AttemptsOf, Vec<webhook_attempt::Model>> = HashMap::new();
        for attempt in webhooks::attempts_of(&self.db, &ids(keys, |k| k.0)).await? {
            map.entry(AttemptsOf(attempt.delivery_id)).or_default().push(attempt);
        }
        Ok(map)
    }
}
