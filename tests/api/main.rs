//! Integration tests: one binary, one module per area.

// A test harness fails by panicking; its helpers are not request paths.
#![allow(clippy::expect_used, clippy::unwrap_used, reason = "tests fail by panicking")]

mod assignments;
mod auth;
mod benefits;
mod books;
mod catalog;
mod codes;
mod cors;
mod directory;
mod events;
mod exams;
mod extensions;
mod fixtures;
mod helpers;
mod hostile;
mod http;
mod idempotency;
mod isolation;
mod journey;
mod kpis;
mod limits;
mod memberships;
mod migrations;
mod notices;
mod ordering;
mod orders;
mod partners;
mod persisted;
mod processes;
mod readme;
mod reviews;
mod schema;
mod subscriptions;
mod webhooks;
