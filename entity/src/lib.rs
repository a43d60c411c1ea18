//! sea-orm models and relations for licensegraph, one module per table, plus
//! the string-backed enums in [`enums`]. No behaviour lives here.
//!
//! Architecture invariant: this crate knows tables, not rules. A model that
//! holds a secret (a code's `value`) is never exposed to GraphQL directly.

pub mod agreement;
pub mod certified_trainer;
pub mod change;
pub mod code;
pub mod code_event;
pub mod competency_requirement;
pub mod directory_listing;
pub mod discount_tier;
pub mod enums;
pub mod event;
pub mod exam;
pub mod kpi_dispute;
pub mod kpi_record;
pub mod membership;
pub mod membership_exception;
pub mod notice;
pub mod order;
pub mod organization;
pub mod package;
pub mod package_exam_family;
pub mod package_program;
pub mod package_solution_area;
pub mod partner_certification;
pub mod partner_merge;
pub mod program;
pub mod reseller_customer;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_endpoint;
