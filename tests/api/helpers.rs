//! The test harness: every test gets a fresh, migrated, seeded database
//! (SQLite in memory by default; with `TEST_DATABASE_URL` set, a new
//! uniquely named PostgreSQL database that is dropped afterwards) and the
//! whole app behind `app(state)`, called without a socket.

use std::{
    collections::BTreeSet,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use axum::{
    body::Body,
    http::{HeaderMap, Method, Request, StatusCode},
};
use chrono::{TimeZone, Utc};
use http_body_util::BodyExt;
use licensegraph::{
    AppState,
    auth::{JwtVerifier, Role, TokenSigner, VerificationKey, Viewer},
    clock::FixedClock,
    config::{LimitArgs, Secret},
    graphql::loaders,
    id, prepare_database,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use tower::ServiceExt;

pub const ISSUER: &str = "licensegraph";
pub const AUDIENCE: &str = "licensegraph";
/// A per-run secret; never a fixed one, so no test token works elsewhere.
pub fn test_secret() -> Secret {
    use rand::Rng;
    let bytes: [u8; 32] = rand::rng().random();
    Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// A running app on a fresh database.
pub struct TestApp {
    pub state: AppState,
    pub db: DatabaseConnection,
    pub clock: FixedClock,
    pub secret: Secret,
    _database: Option<PgDatabase>,
}

/// A PostgreSQL database made for one test, dropped when the test ends.
pub struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside async; do the cleanup on a thread of its own.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            runtime.block_on(async move {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A database URL for one test, and the guard that drops it.
pub async fn fresh_database_url() -> (String, Option<PgDatabase>) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!(
                "lg_test_{}_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed),
                rand::random::<u32>()
            );
            let admin = Database::connect(&admin_url).await.expect("TEST_DATABASE_URL must be reachable");
            admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create test database");
            admin.close().await.expect("close admin connection");
            let url = with_database(&admin_url, &name);
            (url, Some(PgDatabase { admin_url, name }))
        }
        _ => ("sqlite::memory:".to_owned(), None),
    }
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let base = base[host_start..].find('/').map_or(base, |slash| &base[..host_start + slash]);
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    format!("{base}/{name}{query}")
}

/// The instant the test clock starts at.
pub fn default_now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 9, 30, 0).single().expect("valid instant")
}

impl TestApp {
    /// A fresh app with default limits.
    pub async fn spawn() -> Self {
        Self::with_limits(LimitArgs::default()).await
    }

    /// A fresh app with the given limits.
    pub async fn with_limits(limits: LimitArgs) -> Self {
        let secret = test_secret();
        let jwt = JwtVerifier::new(VerificationKey::Secret(secret.clone()), ISSUER, AUDIENCE, Duration::from_secs(30))
            .expect("verifier");
        Self::with(limits, jwt, secret).await
    }

    /// A fresh app verifying tokens with `jwt`.
    pub async fn with(limits: LimitArgs, jwt: JwtVerifier, secret: Secret) -> Self {
        let (url, guard) = fresh_database_url().await;
        let clock = FixedClock::at(default_now());
        let db = prepare_database(&url, 4, &clock).await.expect("database ready");
        let state = AppState::new(db.clone(), Arc::new(clock.clone()), jwt, limits);
        Self { state, db, clock, secret, _database: guard }
    }

    /// Runs a GraphQL request at schema level as `viewer`; returns the
    /// response as JSON (`data`, `errors`).
    pub async fn execute(&self, viewer: &Viewer, query: &str, variables: Value) -> Value {
        let request = async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(variables));
        let loaders = loaders::loaders(self.db.clone());
        let response = self.state.execute(request, viewer.clone(), self.db.clone(), loaders).await;
        serde_json::to_value(&response).expect("response serializes")
    }

    /// Like [`execute`](Self::execute), also counting the SQL statements the
    /// request ran (to prove nested lists are batched). The loaders wait
    /// 200 ms for keys, so what is measured is the batching itself and not
    /// how fast a busy machine polls resolvers (50 ms was once too short for
    /// 50 orders' resolvers in a debug build on two cores busy compiling).
    /// The number the database answers `sql` with (`None` for NULL).
    pub async fn number(&self, sql: &str) -> Option<i64> {
        let statement = sea_orm::Statement::from_string(self.db.get_database_backend(), sql);
        let row = self.db.query_one_raw(statement).await.expect(sql).expect(sql);
        row.try_get_by_index::<Option<i64>>(0).expect(sql)
    }

    pub async fn execute_counting(&self, viewer: &Viewer, query: &str, variables: Value) -> (Value, usize) {
        self.execute_counting_with_delay(viewer, query, variables, Duration::from_millis(200)).await
    }

    /// Like [`execute_counting`](Self::execute_counting), the loaders
    /// waiting `delay` for keys before each batch.
    pub async fn execute_counting_with_delay(
        &self,
        viewer: &Viewer,
        query: &str,
        variables: Value,
        delay: Duration,
    ) -> (Value, usize) {
        let (db, counter) = licensegraph::db::counting_statements(&self.db);
        let request = async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(variables));
        let loaders = loaders::loaders_with_delay(db.clone(), delay);
        let response = self.state.execute(request, viewer.clone(), db, loaders).await;
        (serde_json::to_value(&response).expect("response serializes"), counter.load(Ordering::SeqCst))
    }

    /// Like [`execute`](Self::execute), also returning the SQL of every
    /// statement the request ran, in order.
    pub async fn execute_recording(&self, viewer: &Viewer, query: &str) -> (Value, Vec<String>) {
        let statements = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut db = self.db.clone();
        let seen = statements.clone();
        db.set_metric_callback(move |info| seen.lock().expect("statements").push(info.statement.sql.clone()));
        let request = async_graphql::Request::new(query);
        let loaders = loaders::loaders(db.clone());
        let response = self.state.execute(request, viewer.clone(), db, loaders).await;
        let sql = statements.lock().expect("statements").clone();
        (serde_json::to_value(&response).expect("response serializes"), sql)
    }

    /// Sends an HTTP request through the router.
    pub async fn http(&self, request: Request<Body>) -> TestResponse {
        let response = licensegraph::app(self.state.clone()).oneshot(request).await.expect("router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        TestResponse { status, headers, body, text }
    }

    /// POSTs a JSON GraphQL request with an optional bearer token.
    pub async fn post(&self, token: Option<&str>, query: &str, variables: Value) -> TestResponse {
        self.post_body(token, json!({ "query": query, "variables": variables }).to_string()).await
    }

    /// POSTs `body` as it is, as JSON, with an optional bearer token.
    pub async fn post_body(&self, token: Option<&str>, body: String) -> TestResponse {
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri("/graphql")
            .header("content-type", "application/json")
            .header("accept", "application/graphql-response+json");
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        self.http(builder.body(Body::from(body)).expect("request")).await
    }

    /// Signs a valid token with the app's secret.
    pub fn token(&self, sub: &str, roles: &[Role], org: Option<i64>) -> String {
        let org = org.map(|o| id::encode("Organization", o));
        TokenSigner::hs256(&self.secret, ISSUER, AUDIENCE)
            .mint(sub, roles, org.as_deref(), Duration::from_secs(600))
            .expect("token")
    }
}

/// What the router answered.
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first error's `extensions.code`.
    pub fn code(&self) -> Option<&str> {
        error_code(&self.body)
    }
}

/// The first error's `extensions.code` in a GraphQL response.
pub fn error_code(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}

/// A viewer with `roles`, acting for `org`.
pub fn viewer(roles: &[Role], org: Option<i64>) -> Viewer {
    Viewer {
        subject: Some("tester".into()),
        roles: roles.iter().copied().collect::<BTreeSet<_>>(),
        organization_id: org,
    }
}

pub fn admin() -> Viewer {
    viewer(&[Role::Admin], None)
}

pub fn anonymous() -> Viewer {
    Viewer::anonymous()
}

/// Every role that is not admin, each acting for organization 1.
pub fn non_admins() -> Vec<Viewer> {
    [Role::CustomerAdmin, Role::Reseller, Role::PartnerAdmin, Role::Learner]
        .into_iter()
        .map(|role| viewer(&[role], Some(1)))
        .collect()
}

/// Every row of `codes` reads by position ([`CodeRow`]) exactly as by name
/// (sea-orm's derived decoding), both from `Entity::find()` and from raw SQL
/// selecting [`columns`], and the positional read is the one taken. Called
/// at the end of scenarios that between them fill every nullable column.
///
/// [`CodeRow`]: licensegraph::service::code_rows::CodeRow
/// [`columns`]: licensegraph::service::code_rows::Columns::list
pub async fn assert_code_rows_read_alike(db: &DatabaseConnection) {
    use entity::code;
    use licensegraph::service::code_rows::{Columns, read_by_position};
    use sea_orm::{EntityTrait, FromQueryResult, QueryOrder, QueryTrait, Statement};

    let by_name = code::Entity::find().order_by_asc(code::Column::Id).all(db).await.expect("codes by name");
    assert!(!by_name.is_empty(), "the scenario made no codes");
    let backend = db.get_database_backend();
    let statements = [
        code::Entity::find().order_by_asc(code::Column::Id).build(backend),
        Statement::from_string(backend, format!("SELECT {} FROM codes ORDER BY id", Columns::All.list())),
    ];
    for statement in statements {
        let rows = db.query_all_raw(statement.clone()).await.expect("codes");
        let by_position: Vec<code::Model> = rows
            .iter()
            .map(|row| read_by_position(row, Columns::All).expect("read by position").expect("decoded"))
            .collect();
        assert_eq!(by_position, by_name, "{}", statement.sql);
        let again: Vec<code::Model> =
            rows.iter().map(|row| code::Model::from_query_result(row, "").expect("decoded")).collect();
        assert_eq!(again, by_name);
    }
    // A brief read holds the brief columns as they are.
    let brief = format!("SELECT {} FROM codes ORDER BY id", Columns::Brief.list());
    let rows = db.query_all_raw(Statement::from_string(backend, brief)).await.expect("brief codes");
    assert_eq!(rows.len(), by_name.len());
    assert!(read_by_position(&rows[0], Columns::All).is_none(), "a brief row is not read as a whole one");
    for (row, whole) in rows.iter().zip(&by_name) {
        let read = read_by_position(row, Columns::Brief).expect("read by position").expect("decoded");
        let brief_of =
            |c: &code::Model| (c.id, c.organization_id, c.order_id, c.membership_id, c.kind, c.value.clone(), c.status);
        assert_eq!(brief_of(&read), brief_of(whole));
        assert_eq!((read.valid_until, read.assignee.as_deref()), (whole.valid_until, whole.assignee.as_deref()));
    }
}

/// Every field of `Code` that a brief read answers ([`BRIEF_FIELDS`])
/// answers the same from a brief read as from a whole one, for every code
/// of the app's orders and memberships, as an admin and as each
/// organization's administrators: so none of them reads a column that a
/// brief read leaves out. The two reads are told apart by their SQL (a
/// brief one never selects `created_at`). Called at the end of scenarios
/// that between them fill every nullable column.
///
/// [`BRIEF_FIELDS`]: licensegraph::graphql::codes::BRIEF_FIELDS
pub async fn assert_brief_codes_answer_alike(app: &TestApp) {
    use licensegraph::graphql::codes::BRIEF_FIELDS;

    let organizations: Vec<i64> = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(app.db.get_database_backend(), "SELECT id FROM organizations"))
        .await
        .expect("organizations")
        .iter()
        .map(|row| row.try_get_by_index(0).expect("id"))
        .collect();
    let mut viewers = vec![admin()];
    viewers.extend(
        organizations.iter().map(|&org| viewer(&[Role::CustomerAdmin, Role::PartnerAdmin, Role::Reseller], Some(org))),
    );
    // Two queries, each within the default complexity limit.
    let queries = |fields: &str| {
        [
            format!("{{ orders(first: 5) {{ nodes {{ codes(first: 50) {{ nodes {{ {fields} }} }} }} }} }}"),
            format!(
                "{{ memberships(first: 5) {{ nodes {{ benefits(first: 50) {{ edges {{ node {{ {fields} }} }} }} }} }} }}"
            ),
        ]
    };
    let brief = queries(&BRIEF_FIELDS.join(" "));
    let whole = queries(&format!("{} createdAt", BRIEF_FIELDS.join(" ")));
    let mut admin_saw = 0;
    for (n, who) in viewers.iter().enumerate() {
        for (brief, whole) in brief.iter().zip(&whole) {
            let (brief_answer, brief_sql) = app.execute_recording(who, brief).await;
            let (mut whole_answer, whole_sql) = app.execute_recording(who, whole).await;
            assert!(brief_answer["errors"].is_null(), "{brief_answer}");
            assert!(whole_answer["errors"].is_null(), "{whole_answer}");
            let codes_sql =
                |sql: &[String]| sql.iter().filter(|s| s.contains("FROM codes WHERE")).cloned().collect::<Vec<_>>();
            let (brief_reads, whole_reads) = (codes_sql(&brief_sql), codes_sql(&whole_sql));
            assert_eq!(brief_reads.len(), whole_reads.len(), "{brief_sql:?} {whole_sql:?}");
            assert!(brief_reads.iter().all(|s| !s.contains("created_at")), "{brief_reads:?}");
            assert!(whole_reads.iter().all(|s| s.contains("created_at")), "{whole_reads:?}");
            let compared = remove_key(&mut whole_answer, "createdAt");
            if n == 0 {
                admin_saw += compared;
            }
            // The costs differ (one more field): compare the data.
            assert_eq!(brief_answer["data"], whole_answer["data"], "as {who:?}");
        }
    }
    let codes = app.number("SELECT count(*) FROM codes").await;
    assert_eq!(i64::try_from(admin_saw).ok(), codes, "every code compared, as admin");
}

/// Removes `key` from every object in `value`; returns how many it removed.
fn remove_key(value: &mut Value, key: &str) -> usize {
    match value {
        Value::Object(object) => {
            usize::from(object.remove(key).is_some()) + object.values_mut().map(|v| remove_key(v, key)).sum::<usize>()
        }
        Value::Array(items) => items.iter_mut().map(|v| remove_key(v, key)).sum(),
        _ => 0,
    }
}
