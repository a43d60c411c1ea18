//! A partner's own learning partner directory listings, in GraphQL:
//! the type, the partner's list and submitting one. The desk's review and
//! the public directory are `directory.rs`'s.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use entity::{directory_listing, enums::ListingStatus};

use crate::{
    error::{GqlResultExt, UserError},
    graphql::{
        context::ContextExt,
        relay::{id_arg, input_row},
        scalars::{Date, Instant},
    },
    id,
    service::{
        memberships::partner,
        partners::{self as service, Listing},
    },
};

/// A learning partner directory listing.
pub struct DirectoryListing(pub directory_listing::Model);

/// A learning partner directory listing.
#[Object]
impl DirectoryListing {
    /// Opaque global id.
    async fn id(&self) -> ID {
        ID(id::encode("DirectoryListing", self.0.id))
    }
    /// The name shown.
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    /// ISO 3166-1 alpha-2 country code.
    async fn country(&self) -> &str {
        &self.0.country
    }
    /// The partner's https homepage.
    async fn homepage_url(&self) -> &str {
        &self.0.homepage_url
    }
    /// The day it was submitted.
    async fn submitted_on(&self) -> Date {
        self.0.submitted_on.into()
    }
    /// The first day of the processing week (days 15-21 of the month; R-30).
    async fn processing_week_of(&self) -> Date {
        self.0.processing_week_of.into()
    }
    /// The day it becomes visible once approved: the 7th of the month after processing.
    async fn visible_from(&self) -> Date {
        self.0.visible_from.into()
    }
    /// Submitted (waiting for the desk), approved, rejected or withdrawn.
    async fn status(&self) -> ListingStatus {
        self.0.status
    }
    /// When the desk approved or rejected it.
    async fn reviewed_at(&self) -> Option<Instant> {
        self.0.reviewed_at.map(Instant)
    }
    /// Why the desk rejected it.
    async fn rejection_reason(&self) -> Option<&str> {
        self.0.rejection_reason.as_deref()
    }
}

/// Input of `submitDirectoryListing`.
#[derive(InputObject)]
pub struct SubmitDirectoryListingInput {
    /// The partner.
    pub organization_id: ID,
    /// The name shown, 1..200 characters.
    pub display_name: String,
    /// ISO 3166-1 alpha-2 country code, such as `DE`.
    pub country: String,
    /// The partner-owned homepage, an https URL.
    pub homepage_url: String,
}

/// Result of `submitDirectoryListing`.
#[derive(SimpleObject)]
pub struct DirectoryListingPayload {
    /// The listing, with its processing week and first visible day.
    pub listing: Option<DirectoryListing>,
    /// Why it was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

crate::graphql::relay::payload_from_outcome!(DirectoryListingPayload {
    listing: DirectoryListing(directory_listing::Model)
});

/// Listing queries.
#[derive(Default)]
pub struct ListingQuery;

#[Object]
impl ListingQuery {
    /// A partner's directory listings, newest first; empty when the partner
    /// is not the caller's.
    async fn directory_listings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The partner.")] organization_id: ID,
    ) -> Result<Vec<DirectoryListing>> {
        let viewer = ctx.signed_in().gql()?;
        let org = id_arg("Organization", "organizationId", &organization_id).gql()?;
        let db = ctx.db().gql()?;
        if partner(db, viewer, org).await.gql()?.is_none() {
            return Ok(vec![]);
        }
        Ok(service::listings_of(db, org).await.gql()?.into_iter().map(DirectoryListing).collect())
    }
}

/// Listing mutations.
#[derive(Default)]
pub struct ListingMutation;

#[Object]
impl ListingMutation {
    /// Submits a learning partner directory listing: validated, with
    /// the week it is processed and the day it becomes visible.
    async fn submit_directory_listing(
        &self,
        ctx: &Context<'_>,
        input: SubmitDirectoryListingInput,
    ) -> Result<DirectoryListingPayload> {
        let viewer = ctx.viewer().gql()?;
        viewer.require_any(&crate::auth::PARTNER_ROLES).gql()?;
        let organization_id = input_row!("Organization", "organizationId", &input.organization_id);
        let listing = Listing {
            organization_id,
            display_name: input.display_name,
            country: input.country,
            homepage_url: input.homepage_url,
        };
        let now = ctx.clock().gql()?.now();
        Ok(service::submit_listing(ctx.db().gql()?, viewer, now, listing).await.gql()?.into())
    }
}
