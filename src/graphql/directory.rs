//! The learning partner directory in GraphQL: the public
//! `learningPartnerDirectory`, a partner's `updateDirectoryListing` and
//! `withdrawDirectoryListing`, and the desk's `reviewDirectoryListing`.
//! (`submitDirectoryListing` and the `DirectoryListing` type are in
//! `partners.rs`.)

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use entity::directory_listing;

use crate::{
    domain::memberships::country_code,
    error::{AppError, GqlResultExt},
    graphql::{
        context::ContextExt,
        listings::DirectoryListingPayload,
        relay::{IdConnection, TotalCount, connection, connection_cost, input_row, page_request},
        scalars::Date,
    },
    service::{
        catalog,
        directory::{self, Listing},
    },
};

/// A listing as the public directory shows it.
#[derive(SimpleObject)]
pub struct DirectoryEntry {
    /// The name shown.
    pub display_name: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// The partner's https homepage.
    pub homepage_url: String,
    /// The day it became visible.
    pub listed_since: Date,
}

impl From<directory_listing::Model> for DirectoryEntry {
    fn from(l: directory_listing::Model) -> Self {
        Self {
            display_name: l.display_name,
            country: l.country,
            homepage_url: l.homepage_url,
            listed_since: l.visible_from.into(),
        }
    }
}

/// The public directory.
#[derive(Default)]
pub struct DirectoryQuery;

#[Object]
impl DirectoryQuery {
    /// The learning partner directory, for anyone, signed in or not:
    /// approved listings visible today, of one country if asked, in the
    /// order they were first submitted.
    #[graphql(complexity = "connection_cost(first, last, child_complexity)")]
    async fn learning_partner_directory(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this country: ISO 3166-1 alpha-2, any case (`gb` is GB).")] country: Option<String>,
        #[graphql(desc = "Page size from the start, 1..100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1..100.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<IdConnection<DirectoryEntry>> {
        let request = page_request(first, after, last, before).gql()?;
        let country = match country.as_deref() {
            None => None,
            Some(text) => Some(country_code(text).ok_or_else(|| {
                AppError::bad_input("`country` is an assigned ISO 3166-1 alpha-2 code, such as DE or GB (not UK)")
                    .into_graphql()
            })?),
        };
        let db = ctx.db().gql()?.clone();
        let today = ctx.clock().gql()?.now().date_naive();
        let page = directory::directory(&db, country, today, request).await.gql()?;
        let total = TotalCount::new(move || {
            let db = db.clone();
            async move { catalog::count(&db, directory::directory_query(country, today)).await }
        });
        Ok(connection(page, |l| l.id, DirectoryEntry::from, total))
    }
}

/// Input of `updateDirectoryListing`.
#[derive(InputObject)]
pub struct UpdateDirectoryListingInput {
    /// The listing.
    pub id: ID,
    /// The name shown, 1..200 characters.
    pub display_name: String,
    /// ISO 3166-1 alpha-2 country code, such as `DE`.
    pub country: String,
    /// The partner-owned homepage, an https URL.
    pub homepage_url: String,
}

/// Input of `withdrawDirectoryListing`.
#[derive(InputObject)]
pub struct WithdrawDirectoryListingInput {
    /// The listing.
    pub id: ID,
}

/// The desk's decision on a submitted listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum ListingVerdict {
    /// The page is about the partner only: shown from its `visibleFrom`.
    Approve,
    /// It is not (a competitor named, say): say why.
    Reject,
}

/// Input of `reviewDirectoryListing`.
#[derive(InputObject)]
pub struct ReviewDirectoryListingInput {
    /// The listing.
    pub id: ID,
    /// Approve or reject.
    pub verdict: ListingVerdict,
    /// Why (required to reject; at most 500 characters).
    pub reason: Option<String>,
}

/// A listing's changes after its submission.
#[derive(Default)]
pub struct DirectoryMutation;

#[Object]
impl DirectoryMutation {
    /// Changes a listing: it is reviewed again, on the schedule of a
    /// submission made today.
    async fn update_directory_listing(
        &self,
        ctx: &Context<'_>,
        input: UpdateDirectoryListingInput,
    ) -> Result<DirectoryListingPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_any(&crate::auth::PARTNER_ROLES).gql()?;
        let row = input_row!("DirectoryListing", "id", &input.id);
        let listing = Listing {
            organization_id: 0,
            display_name: input.display_name,
            country: input.country,
            homepage_url: input.homepage_url,
        };
        let now = ctx.clock().gql()?.now();
        Ok(directory::update_listing(ctx.db().gql()?, viewer, now, row, listing).await.gql()?.into())
    }

    /// Withdraws a listing: it leaves the directory at once.
    async fn withdraw_directory_listing(
        &self,
        ctx: &Context<'_>,
        input: WithdrawDirectoryListingInput,
    ) -> Result<DirectoryListingPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_any(&crate::auth::PARTNER_ROLES).gql()?;
        let row = input_row!("DirectoryListing", "id", &input.id);
        Ok(directory::withdraw_listing(ctx.db().gql()?, viewer, row).await.gql()?.into())
    }

    /// Approves a submitted listing, or rejects it with a reason (admin,
    /// R-30); only an approved listing is shown.
    async fn review_directory_listing(
        &self,
        ctx: &Context<'_>,
        input: ReviewDirectoryListingInput,
    ) -> Result<DirectoryListingPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_admin().gql()?;
        let row = input_row!("DirectoryListing", "id", &input.id);
        let now = ctx.clock().gql()?.now();
        let approve = input.verdict == ListingVerdict::Approve;
        Ok(directory::review_listing(ctx.db().gql()?, viewer, now, row, approve, input.reason).await.gql()?.into())
    }
}
