//! `validateCode`: what a value is, told apart from a typo.

use chrono::NaiveDate;
use entity::code;
use sea_orm::DatabaseConnection;

use super::{by_value, canonical, facts, uses_for_others};
use crate::{
    auth::Viewer,
    domain::codes::usability_problem,
    error::{AppError, UserErrorCode},
};

/// The answer of `validateCode`.
#[derive(Debug, Clone)]
pub struct Validation {
    /// Why the value cannot be used by the caller now; `None` when it can.
    pub problem: Option<UserErrorCode>,
    /// The code, when the value names one the caller may know about.
    pub code: Option<code::Model>,
}

/// Says, without changing anything, whether the caller could use a value
/// now and if not why. Every call costs exactly one indexed look-up,
/// whatever the value, so an unknown value answers in the same time and
/// shape whatever its prefix.
pub async fn validate(
    db: &DatabaseConnection,
    viewer: &Viewer,
    today: NaiveDate,
    value: &str,
) -> Result<Validation, AppError> {
    let parsed = canonical(value);
    let lookup = parsed.as_deref().unwrap_or(value);
    let found = by_value(db, viewer, lookup).await?;
    let (problem, code) = match (parsed, found) {
        (Err(problem), _) => (Some(problem), None),
        (Ok(_), None) => (Some(UserErrorCode::UnknownCode), None),
        (Ok(_), Some(code)) => {
            let privileged = uses_for_others(viewer, &code);
            (usability_problem(&facts(&code, today), viewer.person().as_deref(), privileged), Some(code))
        }
    };
    Ok(Validation { problem, code })
}
