//! "Now" and "today", from a clock the tests can set (STYLE habit 9), so that
//! date rules are tested on exact days. Dates are calendar dates in UTC.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, NaiveDate, Utc};

/// A source of the current instant.
pub trait Clock: Send + Sync + 'static {
    /// The current instant, UTC.
    fn now(&self) -> DateTime<Utc>;

    /// Today's calendar date, UTC.
    fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until it is set: for tests and the demo.
#[derive(Debug, Clone)]
pub struct FixedClock(Arc<RwLock<DateTime<Utc>>>);

impl FixedClock {
    pub fn at(instant: DateTime<Utc>) -> Self {
        Self(Arc::new(RwLock::new(instant)))
    }

    /// Moves the clock to `instant`.
    pub fn set(&self, instant: DateTime<Utc>) {
        let mut guard = self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        *guard = instant;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
