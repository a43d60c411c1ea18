//! Pure rules: validation, dates, prices, code formats. No I/O and no
//! GraphQL here, so every rule can be tested on exact values.

pub mod benefits;
pub mod catalog;
pub mod code_format;
pub mod codes;
pub mod dates;
pub mod exams;
pub mod extensions;
pub mod grants;
pub mod kpis;
pub mod memberships;
pub mod notices;
pub mod orders;
pub mod organizations;
pub mod people;
pub mod pricing;
pub mod voucher_plans;
pub mod webhook_urls;
