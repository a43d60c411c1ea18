//! The live feed: every event, as soon as this process can see it, for
//! GraphQL subscriptions ([`crate::graphql::subscriptions`]) and to wake
//! the dispatcher. The outbox is the source of truth: a task reads the
//! events written since the last it saw (every [`POLL`], or at once when
//! PostgreSQL's `NOTIFY licensegraph_events` says a statement wrote some,
//! which reaches every process on the database), so a lost notification
//! delays an event but never loses it, and events written by another
//! process reach this one's subscribers too. While nobody subscribes it
//! reads no rows and ignores notifications: it notes the newest id every
//! [`POLL`], and wakes when a subscriber joins.
//!
//! Also here: how many live connections each token subject holds, so one
//! caller cannot hold them all.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use entity::event;
use sea_orm::{ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::{Notify, broadcast};

/// The longest an event waits for the feed when no notification comes.
pub const POLL: Duration = Duration::from_millis(250);
/// Events kept for a slow subscriber before it misses some.
const BUFFER: usize = 4096;
/// Events read at once.
const BATCH: u64 = 1000;
/// How long the feed waits on a gap in the event ids (a transaction still
/// committing) before it steps over it.
const GAP_GRACE: Duration = Duration::from_secs(2);
/// Live connections one token subject may hold.
pub const CONNECTIONS_PER_SUBJECT: usize = 8;

/// The feed of one process.
pub struct Live {
    sender: broadcast::Sender<Arc<event::Model>>,
    /// Woken when events were written (PostgreSQL NOTIFY): the feed and
    /// the dispatcher read at once instead of at their next tick.
    pub written: Arc<Notify>,
    /// Woken when a subscriber joins: a feed nobody listens to ignores
    /// `written` and reads only every [`POLL`], and starts reading at once.
    subscribed: Arc<Notify>,
    subjects: Mutex<HashMap<String, usize>>,
}

/// A live connection counted against its subject until dropped.
pub struct Admitted {
    live: Arc<Live>,
    subject: String,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut subjects = self.live.subjects.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = subjects.get_mut(&self.subject) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                subjects.remove(&self.subject);
            }
        }
    }
}

impl Live {
    /// A feed with no reader task (outside a runtime, and for the schema
    /// printer); [`Live::start`] starts one.
    pub fn idle() -> Arc<Self> {
        let (sender, _) = broadcast::channel(BUFFER);
        Arc::new(Self {
            sender,
            written: Arc::new(Notify::new()),
            subscribed: Arc::new(Notify::new()),
            subjects: Mutex::default(),
        })
    }

    /// A feed reading `db` on the current runtime (idle outside one).
    pub fn start(db: DatabaseConnection) -> Arc<Self> {
        let live = Self::idle();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return live };
        if db.get_database_backend() == DbBackend::Postgres {
            runtime.spawn(listen(db.clone(), Arc::downgrade(&live)));
        }
        runtime.spawn(read(db, Arc::downgrade(&live)));
        live
    }

    /// Every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<event::Model>> {
        let receiver = self.sender.subscribe();
        self.subscribed.notify_one();
        receiver
    }

    /// Counts a connection of `subject`; `None` past [`CONNECTIONS_PER_SUBJECT`].
    pub fn admit(self: &Arc<Self>, subject: &str) -> Option<Admitted> {
        let mut subjects = self.subjects.lock().unwrap_or_else(|p| p.into_inner());
        let n = subjects.entry(subject.to_owned()).or_insert(0);
        if *n >= CONNECTIONS_PER_SUBJECT {
            return None;
        }
        *n += 1;
        Some(Admitted { live: self.clone(), subject: subject.to_owned() })
    }
}

/// Reads new events and broadcasts them, until the feed is dropped.
async fn read(db: DatabaseConnection, live: std::sync::Weak<Live>) {
    let newest = event::Entity::find().select_only().column(event::Column::Id).order_by_desc(event::Column::Id);
    let mut last: i64 = loop {
        match newest.clone().into_tuple::<i64>().one(&db).await {
            Ok(id) => break id.unwrap_or(0),
            Err(_) => tokio::time::sleep(POLL).await,
        }
    };
    let mut gap: Option<(i64, tokio::time::Instant)> = None;
    loop {
        let Some(feed) = live.upgrade() else { return };
        let written = feed.written.clone();
        if feed.sender.receiver_count() == 0 {
            // Nobody listens: keep up with the newest id every POLL without
            // reading the rows (thousands a second under load), and without
            // a query per notification (one per writing statement). A
            // subscription sends only events after the newest id at its
            // start anyway, so a `last` up to one POLL old costs a new
            // subscriber's first read some rows it skips, nothing more.
            let subscribed = feed.subscribed.clone();
            drop(feed);
            let newest_id = newest.clone().into_tuple::<i64>().one(&db).await;
            // Still nobody (checked after the read): a subscriber that came
            // in between read its start after this newest id, or is caught
            // by the rows read next.
            let idle = live.upgrade().is_some_and(|feed| feed.sender.receiver_count() == 0);
            if let (true, Ok(Some(id))) = (idle, newest_id) {
                last = last.max(id);
                gap = None;
            }
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = subscribed.notified() => {}
            }
            continue;
        }
        let rows = event::Entity::find()
            .filter(event::Column::Id.gt(last))
            .order_by_asc(event::Column::Id)
            .limit(BATCH)
            .all(&db)
            .await
            .unwrap_or_default();
        let full = rows.len() as u64 == BATCH;
        for e in rows {
            if e.id != last + 1 {
                let since = match gap {
                    Some((id, since)) if id == last + 1 => since,
                    _ => {
                        let now = tokio::time::Instant::now();
                        gap = Some((last + 1, now));
                        now
                    }
                };
                if since.elapsed() < GAP_GRACE {
                    break;
                }
            }
            last = e.id;
            // No subscriber is not an error.
            let _ = feed.sender.send(Arc::new(e));
        }
        drop(feed);
        if !full {
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = written.notified() => {}
            }
        }
    }
}

/// PostgreSQL: `LISTEN licensegraph_events` on a connection of its own
/// (outside the pool requests use),
/// waking the feed (and the dispatcher) on each notification; reconnects
/// after a failure, and gives its connection back when the feed is
/// dropped. Without it, both still read every [`POLL`].
async fn listen(db: DatabaseConnection, live: std::sync::Weak<Live>) {
    // A pool of its own, of one connection, with the same options (or the
    // direct URL's: a transaction-pooling PgBouncer keeps no LISTEN): the
    // listening connection takes no slot of the requests' pool.
    let options = match crate::db::configured_direct_url().map(str::parse::<sqlx::postgres::PgConnectOptions>) {
        Some(Ok(direct)) => direct,
        Some(Err(error)) => {
            tracing::warn!(%error, "the direct database URL is not a PostgreSQL URL; listening through the pool's");
            (*db.get_postgres_connection_pool().connect_options()).clone()
        }
        None => (*db.get_postgres_connection_pool().connect_options()).clone(),
    };
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect_lazy_with(options);
    drop(db);
    let alive = || live.upgrade().map(|l| l.written.clone());
    while alive().is_some() {
        match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(mut listener) => {
                if listener.listen("licensegraph_events").await.is_ok() {
                    loop {
                        tokio::select! {
                            received = listener.recv() => match (received, alive()) {
                                (Ok(_), Some(written)) => written.notify_waiters(),
                                (Ok(_), None) => return,
                                (Err(_), _) => break,
                            },
                            () = tokio::time::sleep(Duration::from_secs(1)) => {
                                if alive().is_none() {
                                    return;
                                }
                            }
                        }
                    }
                }
                tracing::warn!("the events LISTEN connection dropped; reading every 250 ms until it is back");
            }
            Err(error) => tracing::warn!(%error, "cannot LISTEN for events; reading every 250 ms"),
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}
