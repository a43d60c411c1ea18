//! Prometheus metrics: the process's recorder, what is counted and under
//! which names, and the `/metrics` answer in the Prometheus text format.
//!
//! Labels stay few: an operation is named only when it is a trusted
//! document or came by persisted-query hash (both bounded sets), else
//! `anonymous`; outcomes are `extensions.code` values (a closed set) or
//! `ok`.

use std::sync::OnceLock;

use axum::{
    Router,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::DatabaseConnection;

use crate::AppState;

const DURATION: &str = "licensegraph_request_duration_seconds";
const STATEMENTS: &str = "licensegraph_request_sql_statements";
const GROUP: &str = "licensegraph_redemption_group_size";

/// The process's recorder: installed by the first caller, shared after.
/// (`None` if another recorder was installed first, as an embedding
/// program might.)
pub fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(DURATION.into()),
                    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0],
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(STATEMENTS.into()),
                        &[0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 32.0, 64.0, 128.0],
                    )
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(GROUP.into()),
                        &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0],
                    )
                })
                .ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    metrics::describe_counter!(
        "licensegraph_requests_total",
        "GraphQL requests by operation type, operation (trusted or persisted, else anonymous), outcome \
         (extensions.code or ok) and HTTP status"
    );
    metrics::describe_histogram!(DURATION, metrics::Unit::Seconds, "Time to answer a GraphQL request");
    metrics::describe_histogram!(STATEMENTS, "SQL statements a GraphQL request ran");
    metrics::describe_gauge!("licensegraph_db_pool_connections", "Database pool connections by state (in_use, idle)");
    metrics::describe_gauge!("licensegraph_db_pool_max_connections", "The database pool's size limit");
    metrics::describe_counter!(
        "licensegraph_rate_limited_total",
        "Code attempts (validate, redeem, activate by value) refused by the per-subject budget"
    );
    metrics::describe_histogram!(GROUP, "Learners' redemptions committed together in one statement");
    metrics::describe_counter!(WEBHOOKS, "Webhook delivery attempts by outcome (delivered, failed)");
}

const WEBHOOKS: &str = "licensegraph_webhook_attempts_total";

/// Webhook attempts of one claim.
pub fn webhooks(delivered: usize, failed: usize) {
    if delivered > 0 {
        metrics::counter!(WEBHOOKS, "outcome" => "delivered").increment(delivered as u64);
    }
    if failed > 0 {
        metrics::counter!(WEBHOOKS, "outcome" => "failed").increment(failed as u64);
    }
}

/// One GraphQL request answered.
pub fn request(kind: &'static str, operation: &str, outcome: &str, status: u16, seconds: f64, statements: usize) {
    let kind = if kind.is_empty() { "unknown" } else { kind };
    let labels = [
        ("type", kind.to_owned()),
        ("operation", operation.to_owned()),
        ("outcome", outcome.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!("licensegraph_requests_total", &labels).increment(1);
    metrics::histogram!(DURATION, "type" => kind).record(seconds);
    metrics::histogram!(STATEMENTS, "type" => kind).record(statements as f64);
}

/// A code attempt refused by the budget.
pub fn rate_limited() {
    metrics::counter!("licensegraph_rate_limited_total").increment(1);
}

/// A group of learners' redemptions committed.
pub fn redemption_group(size: usize) {
    metrics::histogram!(GROUP).record(size as f64);
}

/// The pool's connections, read when scraped.
fn pool(db: &DatabaseConnection) {
    let (size, idle, max) = match &db.inner {
        sea_orm::DatabaseConnectionType::SqlxPostgresPoolConnection(_) => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle() as u32, pool.options().get_max_connections())
        }
        sea_orm::DatabaseConnectionType::SqlxSqlitePoolConnection(_) => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle() as u32, pool.options().get_max_connections())
        }
        _ => return,
    };
    metrics::gauge!("licensegraph_db_pool_connections", "state" => "in_use").set(f64::from(size.saturating_sub(idle)));
    metrics::gauge!("licensegraph_db_pool_connections", "state" => "idle").set(f64::from(idle));
    metrics::gauge!("licensegraph_db_pool_max_connections").set(f64::from(max));
}

/// `GET /metrics`.
pub async fn render(State(state): State<AppState>) -> Response {
    let Some(handle) = handle() else {
        return (StatusCode::NOT_FOUND, "metrics are recorded elsewhere in this process\n").into_response();
    };
    pool(&state.db);
    let mut response = handle.render().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

/// `/metrics` alone, for a listener of its own (`LICENSEGRAPH_METRICS_LISTEN`).
pub fn router(state: AppState) -> Router {
    Router::new().route("/metrics", get(render)).with_state(state)
}
