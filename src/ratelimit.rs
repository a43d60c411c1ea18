//! A per-subject rate limit on attempts to use a code by its value, so that
//! nobody can enumerate codes through `validateCode`, `redeemCode` or
//! `activateCode`.
//!
//! Fixed one-minute windows on the shared [`Clock`], kept in memory: the
//! limit is per process, which is what a single server needs; several
//! replicas each allow the budget (documented in the README).

use std::{collections::HashMap, sync::Mutex};

use chrono::{DateTime, Utc};

use crate::error::AppError;

/// Entries kept before stale windows are swept.
const SWEEP_AT: usize = 10_000;

/// Attempts per subject per minute.
pub struct CodeAttempts {
    per_minute: u32,
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl CodeAttempts {
    pub fn new(per_minute: u32) -> Self {
        Self { per_minute, windows: Mutex::new(HashMap::new()) }
    }

    /// Counts one attempt by `subject` at `now`; `RATE_LIMITED` past the
    /// budget, with the seconds left until the next window.
    pub fn check(&self, subject: &str, now: DateTime<Utc>) -> Result<(), AppError> {
        let minute = now.timestamp().div_euclid(60);
        let mut windows = self.windows.lock().map_err(|_| AppError::internal("rate limiter lock poisoned"))?;
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, (window, _)| *window == minute);
        }
        let entry = windows.entry(subject.to_owned()).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        if entry.1 >= self.per_minute {
            let retry_after = 60 - now.timestamp().rem_euclid(60).unsigned_abs();
            crate::metrics::rate_limited();
            return Err(AppError::RateLimited(
                format!("at most {} code attempts per minute; retry in {retry_after} s", self.per_minute),
                retry_after.max(1),
            ));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    #[test]
    fn the_budget_is_per_subject_and_per_minute() {
        let limiter = CodeAttempts::new(2);
        let t = Utc.with_ymd_and_hms(2026, 11, 21, 9, 30, 0).single().expect("instant");
        assert!(limiter.check("ada", t).is_ok());
        assert!(limiter.check("ada", t + Duration::seconds(10)).is_ok());
        let err = limiter.check("ada", t + Duration::seconds(59)).expect_err("third in a minute");
        assert_eq!(err.code(), "RATE_LIMITED");
        assert!(limiter.check("bob", t).is_ok(), "another subject has its own budget");
        assert!(limiter.check("ada", t + Duration::seconds(60)).is_ok(), "a new minute, a new budget");
    }
}
