//! What must hold when several server processes share one database: one
//! code-attempt budget per subject that a restart does not reset,
//! one generated development secret, and one migrated, seeded catalog
//! however many processes start at once. The processes themselves, behind
//! HAProxy, are in `hardening/processes.py`.

use chrono::Duration;
use licensegraph::{
    auth::{database_secret, kept_in_database, with_database_secret},
    clock::FixedClock,
    config::{CountedIn, JwtArgs},
    prepare_database,
    ratelimit::CodeAttempts,
};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::helpers::{TestApp, default_now, fresh_database_url};

#[tokio::test]
async fn three_processes_and_a_restart_share_one_attempt_budget_r19() {
    let app = TestApp::spawn().await;
    // Three processes' limiters on one database, then a fourth (a restart).
    let processes: Vec<CodeAttempts> = (0..3).map(|_| CodeAttempts::shared(30, app.db.clone())).collect();
    let now = default_now();
    for n in 0..30 {
        let attempt = processes[n % 3].check("guesser", now + Duration::seconds(n as i64)).await;
        assert!(attempt.is_ok(), "attempt {} of 30", n + 1);
    }
    for limiter in &processes {
        let refused = limiter.check("guesser", now + Duration::seconds(40)).await.expect_err("the 31st");
        assert_eq!(refused.code(), "RATE_LIMITED");
    }
    // A process that saw the budget spent refuses without a statement.
    let (counted, statements) = licensegraph::db::counting_statements(&app.db);
    let spent = CodeAttempts::shared(30, counted);
    assert!(spent.check("guesser", now + Duration::seconds(41)).await.is_err());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await; // its once-a-minute sweep
    let before = statements.load(std::sync::atomic::Ordering::SeqCst);
    assert!(spent.check("guesser", now + Duration::seconds(42)).await.is_err());
    assert_eq!(statements.load(std::sync::atomic::Ordering::SeqCst), before, "refused from memory");
    let restarted = CodeAttempts::shared(30, app.db.clone());
    assert!(restarted.check("guesser", now + Duration::seconds(50)).await.is_err(), "a restart keeps the count");
    assert!(restarted.check("someone-else", now).await.is_ok(), "another subject has its own budget");
    assert!(restarted.check("guesser", now + Duration::seconds(60)).await.is_ok(), "a new minute, a new budget");
    // A server keeps it in the database on PostgreSQL, in memory on SQLite
    // (one process by design).
    let postgres = app.db.get_database_backend() == DbBackend::Postgres;
    assert_eq!(CodeAttempts::for_database(30, &app.db).is_shared(), postgres);
    assert_eq!(CodeAttempts::configured(30, None, &app.db).is_shared(), postgres, "the default");
    assert!(!CodeAttempts::configured(30, Some(CountedIn::Process), &app.db).is_shared(), "one process, asked for");
    assert!(CodeAttempts::configured(30, Some(CountedIn::Database), &app.db).is_shared());
}

#[tokio::test]
async fn a_burst_is_counted_exactly_in_few_statements_r19() {
    // 100 attempts at once by one subject through each of two processes'
    // limiters, with a budget of 30: exactly 30 pass, however they are
    // grouped, and each process counts its burst in a few statements
    // rather than one upsert (one row lock) per attempt.
    let app = TestApp::spawn().await;
    let now = default_now();
    let (counted, statements) = licensegraph::db::counting_statements(&app.db);
    let processes = [CodeAttempts::shared(30, counted.clone()), CodeAttempts::shared(30, counted)];
    let attempts = (0..200).map(|n| processes[n % 2].check("burst", now));
    let outcomes = futures_util::future::join_all(attempts).await;
    let passed = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(passed, 30, "the budget, exactly");
    for refused in outcomes.iter().filter_map(|o| o.as_ref().err()) {
        assert_eq!(refused.code(), "RATE_LIMITED");
    }
    let used = statements.load(std::sync::atomic::Ordering::SeqCst);
    assert!(used <= 20, "200 attempts took {used} statements");
    // Another subject in the same burst keeps its own budget.
    let mixed = (0..40).map(|n| processes[0].check(if n % 2 == 0 { "left" } else { "right" }, now));
    let outcomes = futures_util::future::join_all(mixed).await;
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 40, "20 each, within 30");
}

#[tokio::test]
async fn ended_windows_are_swept_by_the_next_minute() {
    let app = TestApp::spawn().await;
    let limiter = CodeAttempts::shared(30, app.db.clone());
    let now = default_now();
    limiter.check("a", now).await.unwrap();
    limiter.check("b", now + Duration::seconds(120)).await.unwrap();
    let rows = || async {
        let backend = app.db.get_database_backend();
        let statement = Statement::from_string(backend, "SELECT count(*) FROM attempt_budgets");
        let row = app.db.query_one_raw(statement).await.unwrap().unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    };
    // The sweep runs in a task of its own: wait for it.
    for _ in 0..100 {
        if rows().await == 1 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the ended window of `a` is still there: {} rows", rows().await);
}

#[tokio::test]
async fn every_process_on_one_postgresql_database_uses_one_generated_secret() {
    let app = TestApp::spawn().await;
    let first = database_secret(&app.db).await.unwrap();
    let second = database_secret(&app.db).await.unwrap();
    assert_eq!(first.expose(), second.expose(), "made once, then read");
    assert_eq!(first.expose().len(), 64);
    let jwt = JwtArgs {
        jwt_secret: None,
        jwt_public_key: None,
        jwt_previous_secret: None,
        jwt_previous_public_key: None,
        jwt_secret_file: None,
        jwt_issuer: "licensegraph".into(),
        jwt_audience: "licensegraph".into(),
        jwt_leeway_secs: 30,
    };
    assert!(kept_in_database(&jwt, "postgres://db.example/licensegraph"));
    assert!(!kept_in_database(&jwt, "sqlite://licensegraph.db"), "SQLite keeps it in a file beside the database");
    let filled = with_database_secret(&jwt, "postgres://db.example/lg", &app.db).await.unwrap();
    assert_eq!(filled.jwt_secret.unwrap().expose(), first.expose());
    let mut configured = jwt.clone();
    configured.jwt_secret_file = Some("/etc/licensegraph/jwt-secret".into());
    assert!(!kept_in_database(&configured, "postgres://db.example/lg"), "a named file wins");
}

#[tokio::test]
async fn ten_processes_starting_at_once_migrate_and_seed_once() {
    let (url, _guard) = fresh_database_url().await;
    if !url.starts_with("postgres") {
        return; // An SQLite database is served by one process.
    }
    let clock = FixedClock::at(default_now());
    let starts = (0..10).map(|_| {
        let (url, clock) = (url.clone(), clock.clone());
        tokio::spawn(async move { prepare_database(&url, 2, &clock).await })
    });
    let mut pools = vec![];
    for start in starts {
        pools.push(start.await.unwrap().expect("every process starts"));
    }
    let alone = {
        let (url, _guard) = fresh_database_url().await;
        let db = prepare_database(&url, 1, &clock).await.unwrap();
        counts(&db).await
    };
    assert_eq!(counts(&pools[0]).await, alone, "one catalog, as one process makes it");
}

/// Rows of the seeded tables and of the applied migrations.
async fn counts(db: &sea_orm::DatabaseConnection) -> Vec<i64> {
    let mut counts = vec![];
    for table in ["seaql_migrations", "programs", "packages", "package_programs", "exams"] {
        let statement = Statement::from_string(db.get_database_backend(), format!("SELECT count(*) FROM {table}"));
        let row = db.query_one_raw(statement).await.unwrap().unwrap();
        counts.push(row.try_get_by_index::<i64>(0).unwrap());
    }
    counts
}
