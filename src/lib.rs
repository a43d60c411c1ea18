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

use async_graphql::parser::types::OperationType;
use axum::Router;
use sea_orm::DatabaseConnection;

use crate::{
    auth::{JwtVerifier, Viewer},
    clock::Clock,
    config::LimitArgs,
    graphql::{
        AppSchema,
        limits::DocumentLimits,
        loaders::{self, Loaders},
    },
};

/// Everything a request needs, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub schema: AppSchema,
    pub jwt: Arc<JwtVerifier>,
    pub limits: Arc<LimitArgs>,
    pub document_limits: DocumentLimits,
    pub clock: Arc<dyn Clock>,
}

impl AppState {
    /// Builds the schema over `db` with `clock`, verifying tokens with `jwt`.
    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>, jwt: JwtVerifier, limits: LimitArgs) -> Self {
        let attempts = Arc::new(ratelimit::CodeAttempts::new(limits.code_attempts_per_minute));
        let schema = graphql::schema_builder(&limits).data(db.clone()).data(clock.clone()).data(attempts).finish();
        let document_limits = DocumentLimits::from(&limits);
        Self { db, schema, jwt: Arc::new(jwt), limits: Arc::new(limits), document_limits, clock }
    }

    /// Runs a GraphQL request as `viewer` on `db` (the request's own handle,
    /// which may count its statements) with `loaders`: the document limits
    /// first, then the schema. HTTP and the tests both come in here.
    pub async fn execute(
        &self,
        mut request: async_graphql::Request,
        viewer: Viewer,
        db: DatabaseConnection,
        loaders: Loaders,
    ) -> async_graphql::Response {
        if let Err(error) = self.document_limits.check(&mut request, viewer.is_admin()) {
            return async_graphql::Response::from_errors(vec![error]);
        }
        let read_only = request
            .parsed_query()
            .is_ok_and(|document| document.operations.iter().all(|(_, op)| op.node.ty == OperationType::Query));
        if read_only {
            loaders::cache_reads(&loaders);
        }
        self.schema.execute(request.data(viewer).data(db).data(loaders)).await
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
