//! All database work: queries, transactions, row locking. Functions take a
//! connection and return domain results or [`crate::error::AppError`].
//!
//! Architecture invariant: nothing here knows GraphQL types; resolvers call
//! one function here and map its result.

pub mod catalog;
pub mod codes;
pub mod demo;
pub mod memberships;
pub mod orders;
pub mod organizations;
pub mod page;
pub mod scope;
pub mod seed;
