//! Migrations that rebuild or reshape a table keep what is in it: each test
//! migrates a database up to just before one, writes rows as the earlier
//! schema had them, then migrates the rest and checks the rows, their
//! references and the table's rules.

use licensegraph::{
    db,
    service::outbox::{Event, emit_once},
};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::helpers::{default_now, fresh_database_url};

async fn run(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn number(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

#[tokio::test]
async fn the_outbox_keeps_its_events_and_their_deliveries_when_its_key_index_becomes_partial() {
    let (url, _guard) = fresh_database_url().await;
    let db = db::connect(&url, 1).await.unwrap();
    // Up to migration 000019: `events.dedupe_key` is a unique constraint.
    Migrator::up(&db, Some(19)).await.unwrap();
    let at = "'2026-12-01 09:00:00+00'";
    run(&db, &format!(
        "INSERT INTO events (type, subject_type, subject_id, organization_id, occurred_at, data, dedupe_key) VALUES \
         ('code.redeemed', 'Code', 7, NULL, {at}, '{{}}', NULL), \
         ('codes.expiring', 'Agreement', 3, NULL, {at}, '{{}}', 'codes.expiring:3:2026-12-01'), \
         ('code.assigned', 'Code', 8, NULL, {at}, '{{}}', NULL)"
    ))
    .await;
    run(
        &db,
        &format!(
            "INSERT INTO webhook_endpoints (url, event_types, secret, after_event_id, created_by, created_at) \
         VALUES ('https://hooks.example/in', '[]', 'whsec_x', 0, 'desk', {at})"
        ),
    )
    .await;
    run(
        &db,
        &format!(
            "INSERT INTO webhook_deliveries (event_id, endpoint_id, status, next_attempt_at, created_at) \
         SELECT e.id, w.id, 'PENDING', {at}, {at} FROM events e, webhook_endpoints w"
        ),
    )
    .await;
    run(
        &db,
        &format!(
            "INSERT INTO notices (event_id, kind, recipients, status, next_attempt_at, created_at) \
         SELECT id, 'CODES_EXPIRING', '[]', 'PENDING', {at}, {at} FROM events WHERE dedupe_key IS NOT NULL"
        ),
    )
    .await;
    let last = number(&db, "SELECT max(id) FROM events").await;

    Migrator::up(&db, None).await.expect("the rest of the migrations");

    assert_eq!(number(&db, "SELECT count(*) FROM events").await, 3, "every event kept");
    assert_eq!(
        number(&db, "SELECT count(*) FROM webhook_deliveries d JOIN events e ON e.id = d.event_id").await,
        3,
        "each delivery still points at its event"
    );
    assert_eq!(number(&db, "SELECT count(*) FROM notices n JOIN events e ON e.id = n.event_id").await, 1);
    assert_eq!(
        number(&db, "SELECT count(*) FROM events WHERE dedupe_key = 'codes.expiring:3:2026-12-01'").await,
        1,
        "the key kept with its event"
    );
    let partial = if db.get_database_backend() == DbBackend::Sqlite {
        assert_eq!(number(&db, "SELECT count(*) FROM pragma_foreign_key_check").await, 0);
        "SELECT count(*) FROM sqlite_master WHERE name = 'events_dedupe_key' AND sql LIKE '%WHERE dedupe_key IS NOT NULL'"
    } else {
        "SELECT count(*) FROM pg_indexes WHERE indexname = 'events_dedupe_key' AND indexdef LIKE '%WHERE (dedupe_key IS NOT NULL)'"
    };
    assert_eq!(number(&db, partial).await, 1, "only keyed events are indexed");
    // The key is still once-only; events without one are any number.
    let again = Event::new("codes.expiring", ("Agreement", 3), None);
    let written = emit_once(&db, default_now(), again, "codes.expiring:3:2026-12-01".into()).await.unwrap();
    assert!(!written, "a key already used is not written again");
    let fresh = Event::new("codes.expiring", ("Agreement", 4), None);
    assert!(emit_once(&db, default_now(), fresh, "codes.expiring:4:2026-12-01".into()).await.unwrap());
    let duplicate = db
        .execute_unprepared(&format!(
            "INSERT INTO events (type, subject_type, subject_id, occurred_at, data, dedupe_key) \
             VALUES ('codes.expiring', 'Agreement', 4, {at}, '{{}}', 'codes.expiring:4:2026-12-01')"
        ))
        .await;
    assert!(duplicate.is_err(), "the partial index still refuses a second row with one key");
    run(
        &db,
        &format!(
            "INSERT INTO events (type, subject_type, subject_id, occurred_at, data) \
         VALUES ('code.revoked', 'Code', 9, {at}, '{{}}'), ('code.revoked', 'Code', 10, {at}, '{{}}')"
        ),
    )
    .await;
    assert!(number(&db, "SELECT min(id) FROM events WHERE subject_id IN (9, 10)").await > last, "ids go on");
    // Still append-only.
    assert!(db.execute_unprepared("UPDATE events SET data = '{}'").await.is_err());
    assert!(db.execute_unprepared("DELETE FROM events").await.is_err());
    // The three kept, one written once under its key, two without one.
    assert_eq!(number(&db, "SELECT count(*) FROM events").await, 6);
}

#[tokio::test]
async fn a_code_events_own_event_column_comes_and_goes_with_its_trigger() {
    let (url, _guard) = fresh_database_url().await;
    let db = db::connect(&url, 1).await.unwrap();
    Migrator::up(&db, None).await.expect("every migration");
    let sqlite = db.get_database_backend() == DbBackend::Sqlite;
    let column = if sqlite {
        "SELECT count(*) FROM pragma_table_info('code_events') WHERE name = 'event_id'"
    } else {
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'code_events' AND column_name = 'event_id'"
    };
    // The copy reads the column: SQLite's row trigger in its WHEN, PostgreSQL's function in its filter.
    let copy = if sqlite {
        "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'code_events_to_outbox' \
         AND sql LIKE '%WHEN NEW.event_id IS NULL%'"
    } else {
        "SELECT count(*) FROM pg_proc WHERE proname = 'code_events_to_outbox' AND prosrc LIKE '%n.event_id IS NULL%'"
    };
    assert_eq!((number(&db, column).await, number(&db, copy).await), (1, 1));
    // Migration 000021 undone: no column, and a copy of every row again.
    Migrator::down(&db, Some(1)).await.expect("000021 undone");
    assert_eq!((number(&db, column).await, number(&db, copy).await), (0, 0));
    let triggers = if sqlite {
        "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'code_events_to_outbox'"
    } else {
        "SELECT count(*) FROM pg_trigger WHERE tgname = 'code_events_to_outbox'"
    };
    assert_eq!(number(&db, triggers).await, 1, "the copy itself stays");
    Migrator::up(&db, None).await.expect("000021 again");
    assert_eq!((number(&db, column).await, number(&db, copy).await), (1, 1));
}
