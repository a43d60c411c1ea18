//! licensegraph: a GraphQL API server keeping the books of
//! training-and-certification licensing. See README.md for the map.

pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod dispatch;
pub mod domain;
pub mod error;
pub mod export;
pub mod graphql;
pub mod http;
pub mod id;
pub mod idempotency;
pub mod live;
pub mod logs;
pub mod metrics;
pub mod ratelimit;
pub mod scheduler;
pub mod serve;
pub mod service;
pub mod stall;
pub mod trace;

use std::sync::Arc;

use async_graphql::parser::types::OperationType;
use axum::Router;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::{
    auth::{JwtVerifier, Viewer},
    clock::Clock,
    config::LimitArgs,
    graphql::{
        AppSchema,
        documents::Documents,
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
    /// Parsed documents, with the document limits ([`graphql::documents`]).
    pub documents: Arc<Documents>,
    pub clock: Arc<dyn Clock>,
    /// Origins browsers may call the API from ([`http::cors`]); none
    /// until [`AppState::with_cors`] says otherwise.
    pub cors: Arc<http::cors::CorsOrigins>,
    /// The schema's interfaces and unions, for putting answers in order.
    pub possible_types: Arc<graphql::order::PossibleTypes>,
    /// The schema's fields and their cost rules ([`graphql::cost`]).
    pub cost: Arc<graphql::cost::CostModel>,
    /// Automatic persisted queries, by hash ([`graphql::persisted`]).
    pub persisted: Arc<graphql::persisted::Persisted>,
    /// Trusted documents ([`graphql::trusted`]); none unless configured.
    pub trusted: Arc<graphql::trusted::TrustedDocuments>,
    /// Whether `/metrics` is served with the API (else on a listener of
    /// its own: [`metrics::router`]).
    pub metrics_with_api: bool,
    /// The live feed of events, for subscriptions and the dispatcher.
    pub live: Arc<live::Live>,
    /// Where webhooks may be registered ([`domain::webhook_urls`]): strict
    /// until [`AppState::with_webhook_urls`] says otherwise.
    pub webhook_urls: domain::webhook_urls::UrlPolicy,
    /// Set when the process is stopping: `/readyz` answers 503 at once, so
    /// a load balancer moves traffic away while requests in hand finish.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
}

impl AppState {
    /// Builds the schema over `db` with `clock`, verifying tokens with `jwt`.
    /// Called on a tokio runtime, it starts the redemption committer there
    /// ([`service::redemptions`]).
    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>, jwt: JwtVerifier, limits: LimitArgs) -> Self {
        metrics::handle();
        let attempts = Arc::new(ratelimit::CodeAttempts::configured(
            limits.code_attempts_per_minute,
            limits.code_attempts_counted_in,
            &db,
        ));
        let live = live::Live::start(db.clone());
        let schema = graphql::schema_builder(&limits)
            .data(live.clone())
            .data(db.clone())
            .data(clock.clone())
            .data(attempts)
            .data(service::redemptions::Redemptions::start())
            .finish();
        let documents = Arc::new(Documents::new(DocumentLimits::from(&limits)));
        let cors = Arc::default();
        let sdl = schema.sdl();
        let possible_types = Arc::new(graphql::order::PossibleTypes::of_sdl(&sdl));
        let cost = Arc::new(graphql::cost::CostModel::of_sdl(&sdl));
        let (persisted, trusted) = (Arc::default(), Arc::default());
        Self {
            db,
            schema,
            jwt: Arc::new(jwt),
            limits: Arc::new(limits),
            documents,
            clock,
            cors,
            possible_types,
            cost,
            persisted,
            trusted,
            metrics_with_api: true,
            live,
            webhook_urls: domain::webhook_urls::UrlPolicy::STRICT,
            draining: Arc::default(),
        }
    }

    /// The same state, registering webhooks under `policy`.
    pub fn with_webhook_urls(mut self, policy: domain::webhook_urls::UrlPolicy) -> Self {
        self.webhook_urls = policy;
        self
    }

    /// The same state, leaving `/metrics` to a listener of its own.
    pub fn with_metrics_elsewhere(mut self) -> Self {
        self.metrics_with_api = false;
        self
    }

    /// The same state with `trusted` documents: known by hash to persisted
    /// queries, and, if they say so, the only ones non-admins may run.
    pub fn with_trusted(mut self, trusted: graphql::trusted::TrustedDocuments) -> Self {
        let trusted = Arc::new(trusted);
        self.persisted = Arc::new(graphql::persisted::Persisted::with_trusted(trusted.clone()));
        self.trusted = trusted;
        self
    }

    /// The same state, letting browsers on `origins` call the API.
    pub fn with_cors(mut self, origins: http::cors::CorsOrigins) -> Self {
        self.cors = Arc::new(origins);
        self
    }

    /// Runs a GraphQL request as `viewer` on `db` (the request's own handle,
    /// which may count its statements) with `loaders`: the document limits
    /// first (on a document parsed once per distinct text), control
    /// characters in the variables ([`graphql::controls`]), then the
    /// schema; a query operation's loaders cache what they load (a
    /// mutation's never do); last, the answer's keys are put in the order
    /// of the query ([`graphql::order`]). HTTP and the tests both come in
    /// here.
    pub async fn execute(
        &self,
        mut request: async_graphql::Request,
        viewer: Viewer,
        db: DatabaseConnection,
        loaders: Loaders,
    ) -> async_graphql::Response {
        let prepared = self.documents.prepare(&mut request, viewer.is_admin());
        let measured = match prepared.and_then(|m| graphql::controls::in_variables(&request.variables).map(|()| m)) {
            Ok(measured) => measured,
            Err(error) => return async_graphql::Response::from_errors(vec![error]),
        };
        // The cost, as async-graphql's complexity limit counts it: refused
        // here with the figures, and reported on every answer.
        let cost = self.cost.cost(&measured.document, &request.variables);
        let limit = self.limits.max_complexity;
        logs::record_cost(cost);
        if cost > limit {
            let mut error = graphql::limits::limit_error(format!(
                "the query costs {cost}, above the limit of {limit} (LICENSEGRAPH_MAX_COMPLEXITY); \
                 ask for smaller pages (first/last) or fewer nested connections"
            ));
            error.extensions.get_or_insert_with(Default::default).set("cost", graphql::cost::extension(cost, limit));
            return async_graphql::Response::from_errors(vec![error]);
        }
        if operation_type(&mut request) == Some(OperationType::Query) {
            loaders::cache_reads(&loaders);
        }
        let operation = request.operation_name.clone();
        let variables = request.variables.clone();
        let mut response =
            self.schema.execute(request.data(viewer).data(db).data(loaders).data(self.webhook_urls)).await;
        if response.data != async_graphql::Value::Null
            && let Some(plan) = graphql::order::Plan::of(&measured.document, operation.as_deref(), &variables)
        {
            plan.apply(&mut response.data, &self.possible_types);
        }
        response.extensions.insert("cost".to_owned(), graphql::cost::extension(cost, limit));
        response
    }
}

/// The type of the operation a request runs, picked as async-graphql picks
/// it: the one named, or the document's only one (`None` when there is no
/// such operation, which execution then reports).
fn operation_type(request: &mut async_graphql::Request) -> Option<OperationType> {
    let name = request.operation_name.clone();
    let document = request.parsed_query().ok()?;
    graphql::documents::operation(document, name.as_deref()).map(|(_, op)| op.node.ty)
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
    if url.starts_with("postgres") {
        // One at a time: processes starting together on an empty database
        // would otherwise race to create the same tables and catalog. The
        // lock is a session's, so it is taken on a direct connection of its
        // own, where the migrations and the seeding run too (a
        // transaction-pooling PgBouncer keeps no session); it goes with the
        // connection if this process dies holding it.
        let session = db::connect(db::direct_url(url), 1)
            .await
            .map_err(|e| format!("cannot open the database for migrations: {e}"))?;
        let lock = format!("SELECT pg_advisory_lock({})", db::START_LOCK);
        session.execute_unprepared(&lock).await.map_err(|e| format!("cannot take the start lock: {e}"))?;
        let prepared = migrate_and_seed(&session, clock).await;
        let unlock = format!("SELECT pg_advisory_unlock({})", db::START_LOCK);
        if let Err(error) = session.execute_unprepared(&unlock).await {
            tracing::warn!(%error, "cannot release the start lock (closing its connection will)");
        }
        let _ = session.close().await;
        prepared?;
        return db::connect(url, max_connections).await.map_err(|e| format!("cannot open the database: {e}"));
    }
    let db = db::connect(url, max_connections).await.map_err(|e| format!("cannot open the database: {e}"))?;
    migrate_and_seed(&db, clock).await?;
    Ok(db)
}

/// Applies pending migrations and seeds the catalog (both idempotent).
async fn migrate_and_seed(db: &DatabaseConnection, clock: &dyn Clock) -> Result<(), String> {
    db::migrate(db).await.map_err(|e| format!("cannot migrate the database: {e}"))?;
    service::seed::seed_catalog(db, clock.now()).await.map_err(|e| format!("cannot seed the catalog: {}", e.code()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(query: &str, name: Option<&str>) -> Option<OperationType> {
        let mut request = async_graphql::Request::new(query);
        request.operation_name = name.map(str::to_owned);
        operation_type(&mut request)
    }

    #[test]
    fn the_operation_run_is_the_named_one_or_the_only_one() {
        // Only a query operation's loaders cache: a mutation must never see
        // a row as it was before its own change.
        assert_eq!(op("{ __typename }", None), Some(OperationType::Query));
        assert_eq!(op("mutation M { __typename }", None), Some(OperationType::Mutation));
        let both = "query Q { __typename } mutation M { __typename }";
        assert_eq!(op(both, Some("Q")), Some(OperationType::Query));
        assert_eq!(op(both, Some("M")), Some(OperationType::Mutation));
        assert_eq!(op(both, None), None, "ambiguous: execution refuses it");
        assert_eq!(op(both, Some("X")), None);
        assert_eq!(op("{ nope", None), None);
    }
}
