//! Reading deliveries and what hangs off them, for many parents at once
//! (the DataLoaders of `graphql::loaders`).

use entity::{event, webhook_attempt, webhook_delivery};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Statement};

use crate::{error::AppError, service::placeholder};

/// The deliveries of an endpoint, newest first.
pub fn deliveries_of(endpoint_id: i64) -> sea_orm::Select<webhook_delivery::Entity> {
    webhook_delivery::Entity::find().filter(webhook_delivery::Column::EndpointId.eq(endpoint_id))
}

/// The most attempts listed per delivery (the latest ones).
pub const MAX_ATTEMPTS_LISTED: u64 = 50;

/// Delivery parents per statement of [`attempts_of`] (SQLite allows 500
/// terms in a compound SELECT).
const MAX_UNION_TERMS: usize = 250;

/// The latest [`MAX_ATTEMPTS_LISTED`] attempts of each of `deliveries`,
/// ordered by delivery and then oldest first: one statement for a page of
/// deliveries, however many attempts each has.
pub async fn attempts_of(
    db: &DatabaseConnection,
    delivery_ids: &[i64],
) -> Result<Vec<webhook_attempt::Model>, AppError> {
    let backend = db.get_database_backend();
    let mut found = Vec::new();
    for chunk in delivery_ids.chunks(MAX_UNION_TERMS) {
        let parts: Vec<String> = (1..=chunk.len())
            .map(|n| {
                format!(
                    "SELECT * FROM (SELECT * FROM webhook_attempts WHERE delivery_id = {} \
                     ORDER BY id DESC LIMIT {MAX_ATTEMPTS_LISTED}) AS latest{n}",
                    placeholder(backend, n)
                )
            })
            .collect();
        let sql = format!("{} ORDER BY delivery_id, id", parts.join(" UNION ALL "));
        let values: Vec<sea_orm::Value> = chunk.iter().map(|id| (*id).into()).collect();
        let statement = Statement::from_sql_and_values(backend, sql, values);
        found.extend(webhook_attempt::Entity::find().from_raw_sql(statement).all(db).await?);
    }
    Ok(found)
}

/// Events by id, in one statement (visibility is the caller's business:
/// a delivery or a notice the viewer sees names only events it may see).
pub async fn events_by_ids(db: &DatabaseConnection, ids: &[i64]) -> Result<Vec<event::Model>, AppError> {
    Ok(event::Entity::find().filter(event::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}
