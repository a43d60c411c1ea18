//! All database work: queries, transactions, row locking. Functions take a
//! connection and return domain results or [`crate::error::AppError`].
//!
//! Architecture invariant: nothing here knows GraphQL types; resolvers call
//! one function here and map its result.

use crate::error::{AppError, UserError, UserErrorCode};

pub mod agreements;
pub mod assignments;
pub mod catalog;
pub mod code_rows;
pub mod codes;
pub mod demo;
pub mod directory;
pub mod exam_seed;
pub mod exams;
pub mod extensions;
pub mod grants;
pub mod history;
pub mod kpi_disputes;
pub mod kpi_import;
pub mod kpis;
pub mod memberships;
pub mod merges;
pub mod notices;
pub mod orders;
pub mod organizations;
pub mod outbox;
pub mod page;
pub mod partners;
pub mod redemptions;
pub mod reviews;
pub mod schedule;
pub mod scope;
pub mod seed;
pub mod voucher_plans;
pub mod webhooks;

/// The `n`-th bind parameter in raw SQL: `$n` on PostgreSQL, `?n` on
/// SQLite (numbered, so a statement may use one parameter twice).
pub(crate) fn placeholder(backend: sea_orm::DbBackend, n: usize) -> String {
    if backend == sea_orm::DbBackend::Postgres { format!("${n}") } else { format!("?{n}") }
}

/// A mutation's outcome: the object, or the business-rule failures.
pub type Outcome<T> = Result<T, Vec<UserError>>;

/// Refuses a mutation with one user error on `input.<field>`.
pub(crate) fn refuse<T>(field: &str, code: UserErrorCode, message: impl Into<String>) -> Result<Outcome<T>, AppError> {
    Ok(Err(vec![UserError::on(field, code, message)]))
}
