//! The scheduler task: runs [`crate::service::schedule::tick`] when the
//! server starts (catching up on the time it was down) and then every
//! interval, so time-driven events are enqueued without a request. Safe in
//! several processes at once: each event has a unique key.

use std::{sync::Arc, time::Duration};

use sea_orm::DatabaseConnection;

use crate::clock::Clock;

/// Starts the scheduler on the runtime; it runs until the process exits.
pub fn spawn(db: DatabaseConnection, clock: Arc<dyn Clock>, interval_secs: u64) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(interval_secs.max(1)));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match crate::service::schedule::tick(&db, clock.now()).await {
                Ok(0) => {}
                Ok(enqueued) => tracing::info!(enqueued, "scheduled events enqueued"),
                Err(error) => tracing::warn!(code = error.code(), "the scheduler's run failed; it tries again"),
            }
        }
    });
}
