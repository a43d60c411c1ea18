//! A per-subject rate limit on attempts to use a code by its value, so that
//! nobody can enumerate codes through `validateCode`, `redeemCode` or
//! `activateCode`.
//!
//! Fixed one-minute windows on the shared [`Clock`](crate::clock::Clock).
//! On PostgreSQL, where several processes may serve one database, the
//! budget is kept in the database (`attempt_budgets`), counted by
//! [`counter`] in one upsert per batch of attempts for every process, so a
//! restart does not reset it.
//! An SQLite database is served by one process by design; its budget is
//! kept in that process's memory (a restart starts a new one).

use std::{collections::HashMap, sync::Mutex};

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DbBackend};

use crate::{config::CountedIn, error::AppError};

mod counter;
use counter::Counter;

/// Entries kept before stale windows are swept.
const SWEEP_AT: usize = 10_000;

/// Attempts per subject per minute.
pub struct CodeAttempts {
    per_minute: u32,
    budget: Budget,
}

/// Where the windows are counted.
enum Budget {
    /// In this process (SQLite: one process serves the database).
    Memory(Mutex<HashMap<String, (i64, u32)>>),
    /// In the database, for every process on it.
    Shared {
        counter: Counter,
        /// Subjects this process saw past their budget, with the minute:
        /// refused again without a statement until the minute ends (a
        /// window's count only grows, so this is exact).
        spent: Mutex<HashMap<String, i64>>,
    },
}

impl CodeAttempts {
    /// A budget kept in this process's memory.
    pub fn new(per_minute: u32) -> Self {
        Self { per_minute, budget: Budget::Memory(Mutex::new(HashMap::new())) }
    }

    /// A budget kept in `db`, one for every process counting there.
    pub fn shared(per_minute: u32, db: DatabaseConnection) -> Self {
        Self { per_minute, budget: Budget::Shared { counter: Counter::start(db), spent: Mutex::new(HashMap::new()) } }
    }

    /// The budget a server on `db` keeps: shared on PostgreSQL, in memory
    /// on SQLite.
    pub fn for_database(per_minute: u32, db: &DatabaseConnection) -> Self {
        match db.get_database_backend() {
            DbBackend::Postgres => Self::shared(per_minute, db.clone()),
            _ => Self::new(per_minute),
        }
    }

    /// The budget counted where configured, or by default where
    /// [`for_database`](Self::for_database) counts it.
    pub fn configured(per_minute: u32, counted_in: Option<CountedIn>, db: &DatabaseConnection) -> Self {
        match counted_in {
            None => Self::for_database(per_minute, db),
            Some(CountedIn::Database) => Self::shared(per_minute, db.clone()),
            Some(CountedIn::Process) => Self::new(per_minute),
        }
    }

    /// Whether the budget is kept in the database.
    pub fn is_shared(&self) -> bool {
        matches!(self.budget, Budget::Shared { .. })
    }

    /// Counts one attempt by `subject` at `now`; `RATE_LIMITED` past the
    /// budget, with the seconds left until the next window.
    pub async fn check(&self, subject: &str, now: DateTime<Utc>) -> Result<(), AppError> {
        let minute = now.timestamp().div_euclid(60);
        let made = match &self.budget {
            Budget::Memory(windows) => Self::count_here(windows, subject, minute)?,
            Budget::Shared { counter, spent } => self.count_shared(counter, spent, subject, minute).await?,
        };
        if made > self.per_minute {
            let retry_after = 60 - now.timestamp().rem_euclid(60).unsigned_abs();
            crate::metrics::rate_limited();
            return Err(AppError::RateLimited(
                format!("at most {} code attempts per minute; retry in {retry_after} s", self.per_minute),
                retry_after.max(1),
            ));
        }
        Ok(())
    }

    /// Attempts of `subject` in `minute`, this one included.
    fn count_here(windows: &Mutex<HashMap<String, (i64, u32)>>, subject: &str, minute: i64) -> Result<u32, AppError> {
        let mut windows = windows.lock().map_err(|_| AppError::internal("rate limiter lock poisoned"))?;
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, (window, _)| *window == minute);
        }
        let entry = windows.entry(subject.to_owned()).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        Ok(entry.1)
    }

    /// Attempts of `subject` in `minute` by every process, this one
    /// included; a subject this process saw past its budget in `minute` is
    /// answered from memory, with no statement.
    async fn count_shared(
        &self,
        counter: &Counter,
        spent: &Mutex<HashMap<String, i64>>,
        subject: &str,
        minute: i64,
    ) -> Result<u32, AppError> {
        let lock = || spent.lock().map_err(|_| AppError::internal("rate limiter lock poisoned"));
        if lock()?.get(subject) == Some(&minute) {
            return Ok(u32::MAX);
        }
        let made = counter.count(subject, minute).await?;
        if made > self.per_minute {
            let mut spent = lock()?;
            if spent.len() >= SWEEP_AT {
                spent.retain(|_, window| *window == minute);
            }
            spent.insert(subject.to_owned(), minute);
        }
        Ok(made)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    #[tokio::test]
    async fn the_budget_is_per_subject_and_per_minute() {
        let limiter = CodeAttempts::new(2);
        let t = Utc.with_ymd_and_hms(2026, 11, 21, 9, 30, 0).single().expect("instant");
        assert!(limiter.check("ada", t).await.is_ok());
        assert!(limiter.check("ada", t + Duration::seconds(10)).await.is_ok());
        let err = limiter.check("ada", t + Duration::seconds(59)).await.expect_err("third in a minute");
        assert_eq!(err.code(), "RATE_LIMITED");
        assert!(limiter.check("bob", t).await.is_ok(), "another subject has its own budget");
        assert!(limiter.check("ada", t + Duration::seconds(60)).await.is_ok(), "a new minute, a new budget");
    }
}
