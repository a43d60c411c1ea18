//! What every resolver reads from the request context.

use std::sync::Arc;

use async_graphql::Context;
use sea_orm::DatabaseConnection;

use crate::{
    auth::Viewer, clock::Clock, error::AppError, graphql::loaders::Loaders, ratelimit::CodeAttempts,
    service::redemptions::Redemptions,
};

/// The shared clock, as stored in the schema's data.
pub type SharedClock = Arc<dyn Clock>;

/// Typed access to the context's data. A missing entry is a wiring bug,
/// reported as `INTERNAL` rather than a panic.
pub trait ContextExt {
    fn db(&self) -> Result<&DatabaseConnection, AppError>;
    fn viewer(&self) -> Result<&Viewer, AppError>;
    fn clock(&self) -> Result<&SharedClock, AppError>;
    fn loaders(&self) -> Result<&Loaders, AppError>;
    fn code_attempts(&self) -> Result<&Arc<CodeAttempts>, AppError>;
    fn redemptions(&self) -> Result<&Redemptions, AppError>;
    /// The caller, who must be signed in.
    fn signed_in(&self) -> Result<&Viewer, AppError> {
        let viewer = self.viewer()?;
        if viewer.is_authenticated() { Ok(viewer) } else { Err(AppError::sign_in_required()) }
    }
    /// An `asOf` argument, or today (UTC) on the request's clock.
    fn day_or_today(&self, as_of: Option<crate::graphql::scalars::Date>) -> Result<chrono::NaiveDate, AppError> {
        match as_of {
            Some(day) => Ok(day.0),
            None => Ok(self.clock()?.now().date_naive()),
        }
    }
}

fn get<'a, T: Send + Sync + 'static>(ctx: &'a Context<'_>, what: &str) -> Result<&'a T, AppError> {
    ctx.data::<T>().map_err(|_| AppError::internal(format!("{what} missing from the GraphQL context")))
}

impl ContextExt for Context<'_> {
    fn db(&self) -> Result<&DatabaseConnection, AppError> {
        get(self, "database")
    }

    fn viewer(&self) -> Result<&Viewer, AppError> {
        get(self, "viewer")
    }

    fn clock(&self) -> Result<&SharedClock, AppError> {
        get(self, "clock")
    }

    fn loaders(&self) -> Result<&Loaders, AppError> {
        get(self, "loaders")
    }

    fn code_attempts(&self) -> Result<&Arc<CodeAttempts>, AppError> {
        get(self, "code attempt limiter")
    }

    fn redemptions(&self) -> Result<&Redemptions, AppError> {
        get(self, "redemption committer")
    }
}
