//! The learning partner directory: a learning partner submits,
//! updates or withdraws its listing; the desk approves or rejects it (with
//! a reason); anyone reads the approved listings visible on the day.
//!
//! A listing's schedule follows its last submission: processed in the
//! third week of the month it was submitted in (by the 21st) or of the
//! next, visible from the 7th of the month after processing. An update is
//! a new submission: reviewed again, on a new schedule.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    directory_listing,
    enums::{ListingStatus, Offer},
    membership,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Select,
    Set, sea_query::Expr,
};

use crate::{
    auth::Viewer,
    domain::{
        catalog::{Problems, check_text},
        memberships::{Standing, country_code, directory_schedule, is_https_homepage},
        organizations::check_reason,
    },
    error::{AppError, UserError, UserErrorCode},
    service::{
        Outcome,
        codes::actor,
        memberships::{partner, standing_of},
        page::{self, Page, PageRequest},
        refuse,
    },
};

/// What `submitDirectoryListing` and `updateDirectoryListing` ask for.
#[derive(Debug, Clone)]
pub struct Listing {
    pub organization_id: i64,
    pub display_name: String,
    pub country: String,
    pub homepage_url: String,
}

/// The validated values of a listing: display name, country, homepage.
fn validated(input: &Listing) -> Result<(String, String, String), Vec<UserError>> {
    let mut problems = Problems::default();
    let display_name = input.display_name.trim().to_owned();
    check_text(&mut problems, "displayName", &display_name, 200, true);
    let country = country_code(&input.country).unwrap_or_default().to_owned();
    if country.is_empty() {
        problems.add(
            "country",
            UserErrorCode::InvalidFormat,
            "a country is an assigned ISO 3166-1 alpha-2 code, such as DE, US or GB (not UK)",
        );
    }
    let homepage_url = input.homepage_url.trim().to_owned();
    if !is_https_homepage(&homepage_url) {
        problems.add(
            "homepageUrl",
            UserErrorCode::InvalidFormat,
            "a homepage is an absolute https:// URL with a host name, without credentials",
        );
    }
    problems.into_result()?;
    // Kept with the scheme in its canonical lowercase (RFC 3986), as the
    // table's check (and PostgreSQL's case-sensitive LIKE) expects.
    let homepage_url = format!("https://{}", homepage_url.get(8..).unwrap_or_default());
    Ok((display_name, country, homepage_url))
}

/// Whether a partner is a learning partner on `today`: it holds a
/// LEARNING_ACTION_PACK, or a competency with the learning option, in
/// force (its renewal window included).
pub async fn is_learning_partner<C: ConnectionTrait>(
    db: &C,
    organization_id: i64,
    today: NaiveDate,
) -> Result<bool, AppError> {
    let memberships = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::EndedOn.is_null())
        .all(db)
        .await?;
    for m in memberships {
        let learning = m.offer == Offer::LearningActionPack || (m.offer == Offer::Competency && m.learning_option);
        if learning && standing_of(&m, today)? != Standing::Expired {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Submits a learning partner directory listing, validated, with the
/// week it will be processed and the day it becomes visible once approved.
pub async fn submit_listing(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    input: Listing,
) -> Result<Outcome<directory_listing::Model>, AppError> {
    let Some(partner) = partner(db, viewer, input.organization_id).await? else {
        return refuse("organizationId", UserErrorCode::NotFound, "partner not found");
    };
    let (display_name, country, homepage_url) = match validated(&input) {
        Ok(values) => values,
        Err(errors) => return Ok(Err(errors)),
    };
    let today = now.date_naive();
    if !is_learning_partner(db, partner.id, today).await? {
        return refuse(
            "organizationId",
            UserErrorCode::NotALearningPartner,
            "only a learning partner (a LEARNING_ACTION_PACK or a learning competency in force) may list (R-30)",
        );
    }
    let (processing, visible) = directory_schedule(today).ok_or_else(|| AppError::internal("no directory schedule"))?;
    let row = directory_listing::ActiveModel {
        organization_id: Set(partner.id),
        display_name: Set(display_name),
        country: Set(country),
        homepage_url: Set(homepage_url),
        submitted_on: Set(today),
        processing_week_of: Set(processing),
        visible_from: Set(visible),
        created_at: Set(now),
        status: Set(ListingStatus::Submitted),
        ..Default::default()
    };
    Ok(Ok(row.insert(db).await?))
}

/// A listing the viewer may act on as its partner (or the desk).
async fn own_listing(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<directory_listing::Model>, AppError> {
    let Some(listing) = directory_listing::Entity::find_by_id(id).one(db).await? else { return Ok(None) };
    Ok(partner(db, viewer, listing.organization_id).await?.map(|_| listing))
}

/// Changes a listing: reviewed again, on the schedule of today's
/// submission. A withdrawn listing is not updated; submit a new one.
pub async fn update_listing(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    id: i64,
    input: Listing,
) -> Result<Outcome<directory_listing::Model>, AppError> {
    let Some(existing) = own_listing(db, viewer, id).await? else {
        return refuse("id", UserErrorCode::NotFound, "listing not found");
    };
    let (display_name, country, homepage_url) = match validated(&input) {
        Ok(values) => values,
        Err(errors) => return Ok(Err(errors)),
    };
    if existing.status == ListingStatus::Withdrawn {
        return refuse("id", UserErrorCode::InvalidTransition, "a withdrawn listing is not updated; submit a new one");
    }
    let today = now.date_naive();
    if !is_learning_partner(db, existing.organization_id, today).await? {
        return refuse("id", UserErrorCode::NotALearningPartner, "only a learning partner may list (R-30)");
    }
    let (processing, visible) = directory_schedule(today).ok_or_else(|| AppError::internal("no directory schedule"))?;
    let mut model: directory_listing::ActiveModel = existing.into();
    model.display_name = Set(display_name);
    model.country = Set(country);
    model.homepage_url = Set(homepage_url);
    model.submitted_on = Set(today);
    model.processing_week_of = Set(processing);
    model.visible_from = Set(visible);
    model.status = Set(ListingStatus::Submitted);
    model.reviewed_by = Set(None);
    model.reviewed_at = Set(None);
    model.rejection_reason = Set(None);
    Ok(Ok(model.update(db).await?))
}

/// Withdraws a listing: it leaves the directory at once.
pub async fn withdraw_listing(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: i64,
) -> Result<Outcome<directory_listing::Model>, AppError> {
    let Some(existing) = own_listing(db, viewer, id).await? else {
        return refuse("id", UserErrorCode::NotFound, "listing not found");
    };
    if existing.status == ListingStatus::Withdrawn {
        return refuse("id", UserErrorCode::InvalidTransition, "the listing is already withdrawn");
    }
    let mut model: directory_listing::ActiveModel = existing.into();
    model.status = Set(ListingStatus::Withdrawn);
    Ok(Ok(model.update(db).await?))
}

/// The desk's review of a submitted listing (admin, R-30): approved, or
/// rejected with a reason (the page must be about the partner only).
pub async fn review_listing(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    id: i64,
    approve: bool,
    reason: Option<String>,
) -> Result<Outcome<directory_listing::Model>, AppError> {
    let mut problems = check_reason(reason.as_deref());
    if !approve && reason.is_none() {
        problems.push(UserError::on("reason", UserErrorCode::Blank, "a rejection says why"));
    }
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let (to, why) = if approve {
        (ListingStatus::Approved, None)
    } else {
        (ListingStatus::Rejected, reason.map(|r| r.trim().to_owned()))
    };
    let txn = crate::db::begin(db).await?;
    let done = directory_listing::Entity::update_many()
        .col_expr(directory_listing::Column::Status, Expr::value(to))
        .col_expr(directory_listing::Column::ReviewedBy, Expr::value(actor(viewer).to_owned()))
        .col_expr(directory_listing::Column::ReviewedAt, Expr::value(now))
        .col_expr(directory_listing::Column::RejectionReason, Expr::value(why))
        .filter(directory_listing::Column::Id.eq(id))
        .filter(directory_listing::Column::Status.eq(ListingStatus::Submitted))
        .exec(&txn)
        .await?
        .rows_affected;
    let Some(listing) = directory_listing::Entity::find_by_id(id).one(&txn).await? else {
        return refuse("id", UserErrorCode::NotFound, "listing not found");
    };
    if done != 1 {
        return refuse("id", UserErrorCode::AlreadyReviewed, "only a submitted listing is reviewed");
    }
    let kind = if approve { "directory.approved" } else { "directory.rejected" };
    let event =
        crate::service::outbox::Event::new(kind, ("DirectoryListing", listing.id), Some(listing.organization_id))
            .with("country", listing.country.clone())
            .with("visibleFrom", listing.visible_from.to_string());
    crate::service::outbox::emit(&txn, now, event).await?;
    txn.commit().await?;
    Ok(Ok(listing))
}

/// A partner's listings, newest first.
pub async fn listings_of(
    db: &DatabaseConnection,
    organization_id: i64,
) -> Result<Vec<directory_listing::Model>, AppError> {
    Ok(directory_listing::Entity::find()
        .filter(directory_listing::Column::OrganizationId.eq(organization_id))
        .order_by_desc(directory_listing::Column::Id)
        .all(db)
        .await?)
}

/// The public directory on `today`: approved listings already visible, of
/// one country if given (any case; `None` inside when it is no country).
pub fn directory_query(country: Option<&str>, today: NaiveDate) -> Select<directory_listing::Entity> {
    let mut select = directory_listing::Entity::find()
        .filter(directory_listing::Column::Status.eq(ListingStatus::Approved))
        .filter(directory_listing::Column::VisibleFrom.lte(today));
    if let Some(country) = country {
        select = select.filter(directory_listing::Column::Country.eq(country));
    }
    select
}

/// One page of the public directory.
pub async fn directory(
    db: &DatabaseConnection,
    country: Option<&str>,
    today: NaiveDate,
    request: PageRequest,
) -> Result<Page<directory_listing::Model>, AppError> {
    Ok(page::fetch(db, directory_query(country, today), directory_listing::Column::Id, request).await?)
}
