//! Errors and their codes: the only place that maps an error to what a
//! client sees.
//!
//! Two channels (see STYLE.md):
//! - [`AppError`]: authentication, authorization, limits and faults, sent as
//!   GraphQL errors with `extensions.code`.
//! - [`UserError`]: business-rule failures, returned as data in a mutation
//!   payload's `userErrors` with a stable [`UserErrorCode`].
//!
//! Architecture invariant: `AppError` does not implement `Display`. async-graphql
//! has `impl<T: Display> From<T> for Error`, so a `Display` error would turn
//! into a GraphQL error through a bare `?`, losing its code and leaking its
//! message. Without `Display` that `?` does not compile; conversions go
//! through [`AppError::into_graphql`] (or [`GqlResultExt::gql`]).

use async_graphql::{Enum, ErrorExtensions, SimpleObject};
use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// A failure that is not a business-rule outcome.
#[derive(Debug, Clone)]
pub enum AppError {
    /// No valid credentials: `UNAUTHENTICATED` (HTTP 401 when raised before execution).
    Unauthenticated(String),
    /// Authenticated, but the role may not do this: `FORBIDDEN`.
    Forbidden(String),
    /// The object does not exist, or belongs to someone else: `NOT_FOUND`.
    NotFound(String),
    /// An argument is malformed (bad cursor, bad id, page size): `BAD_USER_INPUT`.
    BadUserInput(String),
    /// A configured limit was exceeded: `LIMIT_EXCEEDED`.
    LimitExceeded(String),
    /// Too many attempts by one subject: `RATE_LIMITED` (HTTP 429 with
    /// `Retry-After`), retry after the given number of seconds.
    RateLimited(String, u64),
    /// The database cannot be reached right now: `SERVICE_UNAVAILABLE`.
    Unavailable(String),
    /// Anything else. Logged once with context; clients see a generic
    /// message and `INTERNAL`.
    Internal(String),
}

impl AppError {
    /// The stable `extensions.code` of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadUserInput(_) => "BAD_USER_INPUT",
            Self::LimitExceeded(_) => "LIMIT_EXCEEDED",
            Self::RateLimited(..) => "RATE_LIMITED",
            Self::Unavailable(_) => "SERVICE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }

    /// What the client is told. Internal details never reach it.
    pub fn public_message(&self) -> &str {
        match self {
            Self::Unauthenticated(m)
            | Self::Forbidden(m)
            | Self::NotFound(m)
            | Self::BadUserInput(m)
            | Self::LimitExceeded(m)
            | Self::RateLimited(m, _) => m,
            Self::Unavailable(_) => "the service is temporarily unavailable; retry shortly",
            Self::Internal(_) => "internal error",
        }
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::Unauthenticated(message.into())
    }

    /// The caller must be signed in to do this.
    pub fn sign_in_required() -> Self {
        Self::Unauthenticated("this operation needs a bearer token".into())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    /// A named object was not found (or is not visible to the caller).
    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::BadUserInput(message.into())
    }

    pub fn limit(message: impl Into<String>) -> Self {
        Self::LimitExceeded(message.into())
    }

    pub fn internal(context: impl Into<String>) -> Self {
        Self::Internal(context.into())
    }

    /// Converts into a GraphQL error carrying `extensions.code`. Internal
    /// and unavailability errors are logged here, once, with their context.
    pub fn into_graphql(self) -> async_graphql::Error {
        match &self {
            Self::Internal(context) => tracing::error!(error = %context, "internal error"),
            Self::Unavailable(context) => tracing::warn!(error = %context, "database unavailable"),
            _ => {}
        }
        let code = self.code();
        let retry_after = match &self {
            Self::RateLimited(_, seconds) => Some(*seconds),
            _ => None,
        };
        async_graphql::Error::new(self.public_message()).extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(seconds) = retry_after {
                ext.set("retryAfterSeconds", seconds);
            }
        })
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if is_connection_error(&err) { Self::Unavailable(err.to_string()) } else { Self::Internal(err.to_string()) }
    }
}

/// Whether a database error means "the database is not there" rather than
/// "the statement failed".
fn is_connection_error(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => match e.as_ref() {
            sea_orm::sqlx::Error::Io(_)
            | sea_orm::sqlx::Error::PoolTimedOut
            | sea_orm::sqlx::Error::PoolClosed
            | sea_orm::sqlx::Error::WorkerCrashed => true,
            sea_orm::sqlx::Error::Database(db) => db.code().is_some_and(|code| is_unavailable_sqlstate(&code)),
            _ => false,
        },
        _ => false,
    }
}

/// PostgreSQL SQLSTATEs that say the server is going away or not there
/// yet, not that the statement was wrong: class 08 (connection exception),
/// 57P01..57P03 (admin or crash shutdown, cannot connect now: what a
/// statement in flight gets when the database is stopped) and 53300 (too
/// many connections). Found by the outage test (hardening/faults.py).
fn is_unavailable_sqlstate(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

/// The code of a request error that async-graphql raised without one:
/// its built-in depth, complexity, directive and recursion limits are
/// `LIMIT_EXCEEDED`; any other is a validation failure,
/// `GRAPHQL_VALIDATION_FAILED`. (Parse failures never get here without a
/// code: the document limits parse, and name them `GRAPHQL_PARSE_FAILED`.)
pub fn request_error_code(message: &str) -> &'static str {
    const LIMIT_MESSAGES: [&str; 4] = [
        "Query is too complex",
        "Query is nested too deep",
        "The number of directives on the field",
        "The recursion depth of the query",
    ];
    if LIMIT_MESSAGES.iter().any(|m| message.starts_with(m)) { "LIMIT_EXCEEDED" } else { "GRAPHQL_VALIDATION_FAILED" }
}

/// The code of a field error that async-graphql raised without one: an
/// argument it could not coerce while the field ran (an `Int` literal past
/// 32 bits, a malformed custom scalar, a required variable left out) is
/// `BAD_USER_INPUT`; anything else
/// escaped our error design and is `INTERNAL`.
pub fn field_error_code(message: &str) -> &'static str {
    // "Variable $v is not defined.": a non-null variable the request gave
    // no value, which async-graphql finds only when the field runs.
    let undefined_variable = message.starts_with("Variable ") && message.ends_with(" is not defined.");
    if message.starts_with("Failed to parse") || message.starts_with("Invalid value") || undefined_variable {
        "BAD_USER_INPUT"
    } else {
        "INTERNAL"
    }
}

/// `.gql()` turns `Result<T, AppError>` into `async_graphql::Result<T>`
/// without losing the code.
pub trait GqlResultExt<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GqlResultExt<T> for Result<T, AppError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(AppError::into_graphql)
    }
}

/// Stable codes of business-rule failures in `userErrors`. Clients switch on
/// these; values are only ever added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum UserErrorCode {
    /// The referenced object does not exist (or is not visible to you).
    NotFound,
    /// A value that must be unique is already used (a program code, a package sku).
    Taken,
    /// A required text is empty.
    Blank,
    /// A text is longer than allowed.
    TooLong,
    /// A value does not have the required format.
    InvalidFormat,
    /// A number is outside its allowed range.
    OutOfRange,
    /// A list holds the same entry twice.
    Duplicate,
    /// A program code does not name an existing program.
    UnknownProgram,
    /// The agreement has ended; nothing more can be ordered under it.
    AgreementEnded,
    /// The package is retired and cannot be ordered.
    PackageRetired,
    /// The agreement's program is retired and hidden from ordering.
    ProgramRetired,
    /// The package cannot be ordered under the agreement's program.
    NotOrderableUnderProgram,
    /// Site and class packs need an accredited academic organization.
    NotAccredited,
    /// MOS/MTA site packs need a Certiport Authorized Testing Center.
    NotCertiportTestingCenter,
    /// A 12-month subscription would run past the agreement's end; order
    /// PRORATED instead.
    TermExceedsAgreement,
    /// The agreement already has a running 12-month subscription; later
    /// orders end with it, so order PRORATED.
    CoTerminousWithSubscription,
    /// The order is not in a state that allows this step.
    InvalidTransition,
    /// The code is already assigned; codes are not transferable.
    AlreadyAssigned,
    /// The person already holds a code of this order.
    AlreadyHoldsCode,
    /// The order has fewer unassigned codes that can still be used than
    /// people to give them to.
    NotEnoughCodes,
    /// The code must be assigned to a person first.
    NotAssigned,
    /// The code is assigned to someone else.
    NotAssignedToYou,
    /// The exam voucher was already redeemed.
    AlreadyRedeemed,
    /// The code's agreement or subscription has ended.
    Expired,
    /// The code was revoked.
    Revoked,
    /// The token was replaced by a replacement token.
    Replaced,
    /// This operation does not apply to this kind of code.
    WrongKind,
    /// The code is already activated.
    AlreadyActive,
    /// The product key has no activations left.
    NoActivationsLeft,
    /// An activation token is activated whole and cannot be split.
    CannotSplit,
    /// The token is not activated, so it cannot be replaced yet.
    NotActive,
    /// Replacement tokens are issued only within 30 days after activation.
    ReplacementWindowClosed,
    /// A token is replaced at most once.
    ReplacementAlreadyIssued,
    /// No code has this value.
    UnknownCode,
    /// The value is well formed but its check character is wrong: a typo.
    CheckCharacterMismatch,
    /// The partner global account already holds an ACTION_PACK.
    ActionPackTaken,
    /// A LEARNING_ACTION_PACK needs a certified trainer on the roster.
    NoCertifiedTrainer,
    /// A competency requirement (KPI, revenue, trainers, exams) is not met.
    RequirementNotMet,
    /// Renewal opens the day after the anniversary.
    RenewalWindowNotOpen,
    /// The renewal window has closed; reactivation needs an exception.
    MembershipExpired,
    /// Renewal needs the annual fee paid.
    FeeNotPaid,
    /// Renewal needs the company profile reviewed.
    ProfileNotReviewed,
    /// Only an expired membership can be reactivated.
    NotExpired,
    /// The membership was ended (upgraded, or collapsed by a merge) and does not renew.
    MembershipEnded,
    /// The offer does not grant this product: an ACTION_PACK never grants Visual Studio Enterprise.
    NotGrantedByOffer,
    /// Only invoices count as KPI records, not order confirmations or partner reports.
    NotAnInvoice,
    /// This invoice number is already recorded; an invoice counts once.
    DuplicateInvoice,
    /// The partner account was already merged into another.
    AlreadyMerged,
    /// The exam catalog has no exam with this code.
    UnknownExam,
    /// The exam has retired and can no longer be booked.
    ExamRetired,
    /// Only a learning partner (a LEARNING_ACTION_PACK or a learning
    /// competency in force) may list in the directory.
    NotALearningPartner,
    /// The desk has already verified or rejected this fact.
    AlreadyReviewed,
    /// Imagine Academy is granted with an academic agreement, not ordered.
    GrantedWithAgreement,
    /// The voucher's package covers no family of this exam: a MOS/MTA/MCE
    /// site-pack voucher cannot book AZ-104.
    ExamNotCovered,
    /// Webhook URLs must be https (in production).
    InsecureUrl,
    /// The URL points at a loopback, private or internal address, which
    /// production refuses unless configured to allow it.
    PrivateAddress,
    /// The text names no event type (see `eventTypes`).
    UnknownEventType,
}

/// A business-rule failure, returned as data in a mutation payload.
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject)]
pub struct UserError {
    /// What went wrong, as a stable code.
    pub code: UserErrorCode,
    /// The path to the input field at fault, starting with `input`, if any.
    pub field: Option<Vec<String>>,
    /// A human-readable explanation.
    pub message: String,
}

impl UserError {
    /// An error on `input.<field>`.
    pub fn on(field: &str, code: UserErrorCode, message: impl Into<String>) -> Self {
        Self { code, field: Some(vec!["input".to_owned(), field.to_owned()]), message: message.into() }
    }
}

/// A violated database constraint, named for mapping to a [`UserError`].
///
/// PostgreSQL reports a unique violation by constraint name; SQLite by
/// `table.column`. Both spellings are matched.
pub struct KnownConstraint {
    pub postgres_name: &'static str,
    pub sqlite_columns: &'static str,
    pub field: &'static str,
    pub code: UserErrorCode,
    pub message: &'static str,
}

/// Constraints that a client can run into by racing another client; the
/// service checks first, and these catch the race.
pub const KNOWN_CONSTRAINTS: &[KnownConstraint] = &[
    KnownConstraint {
        postgres_name: "programs_code_key",
        sqlite_columns: "programs.code",
        field: "code",
        code: UserErrorCode::Taken,
        message: "a program with this code already exists",
    },
    KnownConstraint {
        postgres_name: "organizations_partner_global_account_key",
        sqlite_columns: "organizations.partner_global_account",
        field: "partnerGlobalAccount",
        code: UserErrorCode::Taken,
        message: "another organization already has this partner global account",
    },
    KnownConstraint {
        postgres_name: "agreements_number_key",
        sqlite_columns: "agreements.number",
        field: "number",
        code: UserErrorCode::Taken,
        message: "an agreement with this number already exists",
    },
    KnownConstraint {
        postgres_name: "memberships_one_action_pack_key",
        sqlite_columns: "memberships.partner_global_account",
        field: "offer",
        code: UserErrorCode::ActionPackTaken,
        message: "R-24: this partner global account already holds an ACTION_PACK",
    },
    KnownConstraint {
        postgres_name: "kpi_records_invoice_key",
        sqlite_columns: "kpi_records.invoice_number",
        field: "invoiceNumber",
        code: UserErrorCode::DuplicateInvoice,
        message: "R-28: this invoice is already recorded; an invoice counts once",
    },
    KnownConstraint {
        postgres_name: "partner_merges_merged_key",
        sqlite_columns: "partner_merges.merged_id",
        field: "mergedId",
        code: UserErrorCode::AlreadyMerged,
        message: "this partner account was already merged into another",
    },
    KnownConstraint {
        postgres_name: "partner_certifications_key",
        sqlite_columns: "partner_certifications.exam",
        field: "exam",
        code: UserErrorCode::Taken,
        message: "this person's pass of this exam is already recorded",
    },
    KnownConstraint {
        postgres_name: "certified_trainers_mct_key",
        sqlite_columns: "certified_trainers.mct_id",
        field: "mctId",
        code: UserErrorCode::Taken,
        message: "this trainer is already on the roster",
    },
    KnownConstraint {
        postgres_name: "codes_replaces_key",
        sqlite_columns: "codes.replaces_id",
        field: "codeId",
        code: UserErrorCode::ReplacementAlreadyIssued,
        message: "this token was already replaced once",
    },
    KnownConstraint {
        postgres_name: "packages_sku_key",
        sqlite_columns: "packages.sku",
        field: "sku",
        code: UserErrorCode::Taken,
        message: "a package with this sku already exists",
    },
    KnownConstraint {
        postgres_name: "exams_code_unique",
        sqlite_columns: "exams.code",
        field: "code",
        code: UserErrorCode::Taken,
        message: "an exam with this code is already in the catalog",
    },
];

/// Maps a unique-constraint violation to its user error, or gives the
/// database error back as an [`AppError`].
pub fn constraint_to_user_error(err: DbErr) -> Result<UserError, AppError> {
    if let Some(SqlErr::UniqueConstraintViolation(detail)) = err.sql_err() {
        let hit = KNOWN_CONSTRAINTS
            .iter()
            .find(|c| detail.contains(&format!("\"{}\"", c.postgres_name)) || detail.ends_with(c.sqlite_columns));
        if let Some(c) = hit {
            return Ok(UserError::on(c.field, c.code, c.message));
        }
    }
    Err(err.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncoded_field_errors_are_bad_input_only_when_coercion_failed() {
        let coercion = "Failed to parse \"Int\": Only integers from -2147483648 to 2147483647 are accepted.";
        assert_eq!(field_error_code(coercion), "BAD_USER_INPUT");
        assert_eq!(field_error_code("Invalid value for argument \"within\""), "BAD_USER_INPUT");
        assert_eq!(field_error_code("Variable value is not defined."), "BAD_USER_INPUT", "found by the fuzzer");
        assert_eq!(field_error_code("called `Option::unwrap()` on a `None` value"), "INTERNAL");
    }

    #[test]
    fn a_database_shutting_down_is_unavailable_not_internal() {
        for code in ["57P01", "57P02", "57P03", "08006", "08001", "53300"] {
            assert!(is_unavailable_sqlstate(code), "{code}");
        }
        for code in ["23505", "40001", "42P01", "22001"] {
            assert!(!is_unavailable_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn every_variant_carries_its_code_into_graphql() {
        let cases = [
            (AppError::unauthenticated("x"), "UNAUTHENTICATED"),
            (AppError::forbidden("x"), "FORBIDDEN"),
            (AppError::not_found("program"), "NOT_FOUND"),
            (AppError::bad_input("x"), "BAD_USER_INPUT"),
            (AppError::limit("x"), "LIMIT_EXCEEDED"),
            (AppError::Unavailable("pool timed out".into()), "SERVICE_UNAVAILABLE"),
            (AppError::internal("SELECT secret FROM x"), "INTERNAL"),
        ];
        for (error, code) in cases {
            let gql = error.into_graphql();
            let ext = gql.extensions.expect("extensions are set");
            assert_eq!(ext.get("code"), Some(&async_graphql::Value::from(code)));
        }
    }

    #[test]
    fn internal_details_never_reach_the_client() {
        let gql = AppError::internal("relation \"codes\" does not exist").into_graphql();
        assert_eq!(gql.message, "internal error");
        let gql = AppError::Unavailable("connection refused 127.0.0.1".into()).into_graphql();
        assert!(!gql.message.contains("127.0.0.1"));
    }
}
