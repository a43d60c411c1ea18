//! licensegraph: a GraphQL API server keeping the books of
//! training-and-certification licensing. See README.md for the map.

pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod export;
pub mod graphql;
pub mod http;
pub mod id;
pub mod ratelimit;
pub mod service;

use std::sync::Arc;

use axum::Router;
use sea_orm::DatabaseConnection;

use crate::{auth::JwtVerifier, clock::Clock, config::LimitArgs, graphql::AppSchema};

/// Everything a request needs, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub schema: AppSchema,
    pub jwt: Arc<JwtVerifier>,
    pub limits: Arc<LimitArgs>,
    pub clock: Arc<dyn Clock>,
}

impl AppState {
    /// Builds the schema over `db` with `clock`, verifying tokens with `jwt`.
    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>, jwt: JwtVerifier, limits: LimitArgs) -> Self {
        let attempts = Arc::new(ratelimit::CodeAttempts::new(limits.code_attempts_per_minute));
        let schema = graphql::schema_builder(&limits).data(db.clone()).data(clock.clone()).data(attempts).finish();
        Self { db, schema, jwt: Arc::new(jwt), limits: Arc::new(limits), clock }
    }
}

/// The whole HTTP application; tests call it without a socket.
pub fn app(state: AppState) -> Router {
    http::router(state)
}

/// Connects, migrates and seeds the catalog: what every start does.
pub async fn prepare_database(
    url: &str,
    max_connections: u32,
    clock: &dyn Clock,
) -> Result<DatabaseConnection, String> {
    let db = db::connect(url, max_connections).await.map_err(|e| format!("cannot open the database: {e}"))?;
    db::migrate(&db).await.map_err(|e| format!("cannot migrate the database: {e}"))?;
    service::seed::seed_catalog(&db, clock.now())
        .await
        .map_err(|e| format!("cannot seed the catalog: {}", e.code()))?;
    Ok(db)
}
