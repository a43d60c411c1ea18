//! The dispatcher: delivers the outbox. Each run fans out the events
//! written since the last ([`fanout`]: notices and webhook deliveries, in
//! the transaction that moves the cursor), then sends what is due: e-mail
//! ([`mail`]) and webhooks ([`webhooks`]), each row claimed first
//! ([`claim`]) so that several processes never send the same attempt.
//! Delivery is at least once; every message carries a stable id (the
//! event's global id as `webhook-id`, the notice's Message-ID) so that a
//! receiver can drop the rare duplicate of a process that died mid-send.

pub mod claim;
pub mod fanout;
pub mod mail;
pub mod signature;
pub mod webhooks;

use std::{sync::Arc, time::Duration};

use sea_orm::DatabaseConnection;
use tokio::sync::Mutex;

use crate::{clock::Clock, error::AppError};

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    pub fanned_out: usize,
    pub notices_sent: usize,
    pub notices_failed: usize,
    pub webhooks_delivered: usize,
    pub webhooks_failed: usize,
}

impl Report {
    fn is_idle(&self) -> bool {
        *self == Self::default()
    }
}

/// Delivers the outbox of one database.
pub struct Dispatcher {
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    mailer: mail::Mailer,
    sender: webhooks::Sender,
    desk_email: Option<String>,
    gaps: Mutex<fanout::GapWatch>,
    /// Woken when events are written (PostgreSQL NOTIFY, [`crate::live`]).
    wake: Arc<tokio::sync::Notify>,
    /// True once the process is stopping: the claim in hand is finished
    /// and recorded, and no other is taken.
    stop: tokio::sync::watch::Receiver<bool>,
}

impl Dispatcher {
    /// A dispatcher; `gap_grace` is how long a gap in the event ids is
    /// waited on ([`fanout`]).
    pub fn new(
        db: DatabaseConnection,
        clock: Arc<dyn Clock>,
        mailer: mail::Mailer,
        sender: webhooks::Sender,
        desk_email: Option<String>,
        gap_grace: Duration,
    ) -> Self {
        let gaps = Mutex::new(fanout::GapWatch::new(gap_grace));
        let stop = tokio::sync::watch::channel(false).1;
        Self { db, clock, mailer, sender, desk_email, gaps, wake: Arc::default(), stop }
    }

    /// The same dispatcher, stopping (after the claim in hand) once `stop`
    /// says true.
    pub fn stopped_by(mut self, stop: tokio::sync::watch::Receiver<bool>) -> Self {
        self.stop = stop;
        self
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// The same dispatcher, running at once when `wake` is notified.
    pub fn woken_by(mut self, wake: Arc<tokio::sync::Notify>) -> Self {
        self.wake = wake;
        self
    }

    /// One run: fan out, then send everything due now, claim by claim,
    /// until nothing more is due.
    pub async fn run_once(&self) -> Result<Report, AppError> {
        let mut report = Report::default();
        {
            let mut gaps = self.gaps.lock().await;
            report.fanned_out = fanout::run(&self.db, self.clock.now(), self.desk_email.as_deref(), &mut gaps).await?;
        }
        loop {
            let (sent, failed) = mail::send_due(&self.db, &self.mailer, self.clock.now()).await?;
            report.notices_sent += sent;
            report.notices_failed += failed;
            if sent + failed == 0 || self.stopping() {
                break;
            }
        }
        loop {
            let (delivered, failed) = webhooks::deliver_due(&self.db, &self.sender, self.clock.now()).await?;
            report.webhooks_delivered += delivered;
            report.webhooks_failed += failed;
            crate::metrics::webhooks(delivered, failed);
            if delivered + failed == 0 || self.stopping() {
                break;
            }
        }
        Ok(report)
    }

    /// Runs every `interval` on the runtime until the process exits or
    /// the stop ([`Dispatcher::stopped_by`]) comes; the task ends after
    /// the claim in hand is recorded.
    pub fn spawn(self: Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        tracing::info!(mail = %self.mailer.describe(), "dispatching notices and webhooks");
        tokio::spawn(async move {
            let mut every = tokio::time::interval(interval);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut stop = self.stop.clone();
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    () = self.wake.notified() => {}
                    () = stopped(&mut stop) => {}
                }
                if self.stopping() {
                    break;
                }
                match self.run_once().await {
                    Ok(report) if report.is_idle() => {}
                    Ok(report) => tracing::info!(?report, "dispatched"),
                    Err(error) => tracing::warn!(code = error.code(), "a dispatch run failed; it tries again"),
                }
            }
            tracing::info!("the dispatcher stopped");
        })
    }
}

/// Resolves when `stop` says true; never when its sender is gone without
/// having said so.
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    if stop.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}
