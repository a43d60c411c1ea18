//! Partner memberships (R-21 .. ): enrolment, renewal,
//! reactivation by exception, the benefits they grant, and the certified
//! trainer roster.
//!
//! Benefits are codes linked to the membership, valid through the last day
//! of its current renewal window; renewal and reactivation move that day
//! with the term, so a lapsed membership's benefits show `EXPIRED` and are
//! refused from the day after its window closes.
//!
//! A partner administrator acts on its own partner account only; admins on
//! any. Anything else answers as if missing.

use chrono::{DateTime, Days, NaiveDate, Utc};
use entity::{
    certified_trainer, code,
    enums::{BenefitProduct, CodeKind, CompetencyLevel, Offer, OrganizationKind, StoredCodeStatus},
    membership, membership_exception, organization,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Select,
    Set,
    sea_query::{Expr, ExprTrait},
};

use crate::{
    auth::Viewer,
    domain::{
        benefits::{self, Grant},
        memberships::{
            Levels, Standing, current_anniversary, eligibility, renewal_window, renewals_for_reactivation, standing,
        },
    },
    error::{AppError, UserError, UserErrorCode, constraint_to_user_error},
    service::{
        Outcome,
        codes::{CodeSource, actor, insert_codes, issue_events},
        outbox,
        page::{self, Page, PageRequest},
        partners, refuse, scope,
    },
};

/// A partner organization the viewer may act for.
pub async fn partner<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<organization::Model>, AppError> {
    Ok(organization::Entity::find()
        .filter(scope::partner_accounts(viewer, organization::Column::Id))
        .filter(organization::Column::Id.eq(id))
        .filter(organization::Column::Kind.eq(OrganizationKind::Partner))
        // A merged account lives on in its survivor.
        .filter(organization::Column::MergedIntoId.is_null())
        .one(db)
        .await?)
}

/// Filters of `memberships`.
#[derive(Debug, Clone, Default)]
pub struct MembershipFilter {
    pub organization_id: Option<i64>,
    pub offer: Option<Offer>,
}

pub fn memberships_query(viewer: &Viewer, filter: &MembershipFilter) -> Select<membership::Entity> {
    let mut select =
        membership::Entity::find().filter(scope::partner_accounts(viewer, membership::Column::OrganizationId));
    if let Some(org) = filter.organization_id {
        select = select.filter(membership::Column::OrganizationId.eq(org));
    }
    if let Some(offer) = filter.offer {
        select = select.filter(membership::Column::Offer.eq(offer));
    }
    select
}

pub async fn list_memberships(
    db: &DatabaseConnection,
    viewer: &Viewer,
    filter: &MembershipFilter,
    request: PageRequest,
) -> Result<Page<membership::Model>, AppError> {
    Ok(page::fetch(db, memberships_query(viewer, filter), membership::Column::Id, request).await?)
}

/// One membership, if the viewer may see it.
pub async fn membership<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<membership::Model>, AppError> {
    Ok(memberships_query(viewer, &MembershipFilter::default()).filter(membership::Column::Id.eq(id)).one(db).await?)
}

/// Memberships by row id, unscoped (callers check visibility).
pub async fn memberships_by_ids(db: &DatabaseConnection, ids: &[i64]) -> Result<Vec<membership::Model>, AppError> {
    Ok(membership::Entity::find().filter(membership::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// The anniversary ending a membership's current term.
pub fn anniversary_of(m: &membership::Model) -> Result<NaiveDate, AppError> {
    current_anniversary(m.purchased_on, u32::try_from(m.renewals).unwrap_or(0))
        .ok_or_else(|| AppError::internal(format!("membership {} has no anniversary", m.id)))
}

/// A membership's standing on `as_of`.
pub fn standing_of(m: &membership::Model, as_of: NaiveDate) -> Result<Standing, AppError> {
    Ok(standing(anniversary_of(m)?, m.ended_on, as_of))
}

/// The last day a membership's benefits work in its current term: the
/// last day of its renewal window.
pub fn benefits_until(m: &membership::Model) -> Result<NaiveDate, AppError> {
    renewal_window(anniversary_of(m)?)
        .map(|(_, closes)| closes)
        .ok_or_else(|| AppError::internal(format!("membership {} has no renewal window", m.id)))
}

/// Issues the codes of `grants` as benefits of `m`, valid through its
/// current term, each with its `ISSUED` event.
async fn grant<C: ConnectionTrait>(
    db: &C,
    m: &membership::Model,
    grants: &[Grant],
    now: DateTime<Utc>,
    by: &str,
) -> Result<(), AppError> {
    let until = benefits_until(m)?;
    let grants: Vec<&Grant> = grants.iter().filter(|g| g.codes > 0).collect();
    if grants.is_empty() {
        return Ok(());
    }
    for g in grants {
        let template = code::ActiveModel {
            organization_id: Set(m.organization_id),
            order_id: Set(None),
            membership_id: Set(Some(m.id)),
            kind: Set(benefits::kind_of(g.product)),
            status: Set(StoredCodeStatus::Issued),
            valid_until: Set(until),
            assignee: Set(None),
            assigned_at: Set(None),
            redeemed_at: Set(None),
            exam: Set(None),
            seats: Set(g.seats),
            activations_total: Set(g.activations),
            activations_used: Set(0),
            tenant: Set(None),
            activated_at: Set(None),
            replaces_id: Set(None),
            created_at: Set(now),
            product: Set(Some(g.product)),
            core_benefit: Set(g.core),
            ..Default::default()
        };
        insert_codes(db, &template, u64::from(g.codes)).await?;
    }
    issue_events(db, CodeSource::Membership(m.id), now, by).await
}

/// Makes a membership's benefits follow its current term after a renewal
/// or a reactivation, except core benefits a merge ended.
pub(crate) async fn follow_term<C: ConnectionTrait>(db: &C, m: &membership::Model) -> Result<(), AppError> {
    let mut update = code::Entity::update_many()
        .col_expr(code::Column::ValidUntil, Expr::value(benefits_until(m)?))
        .filter(code::Column::MembershipId.eq(m.id));
    if m.core_benefits_until.is_some() {
        update = update.filter(code::Column::CoreBenefit.eq(false));
    }
    update.exec(db).await?;
    Ok(())
}

/// Ends a membership's benefits after `last_day` (an upgrade, a merge's duplicate).
pub(crate) async fn end_benefits<C: ConnectionTrait>(
    db: &C,
    membership_id: i64,
    last_day: NaiveDate,
    core_only: bool,
) -> Result<(), AppError> {
    let mut update = code::Entity::update_many()
        .col_expr(code::Column::ValidUntil, Expr::value(last_day))
        .filter(code::Column::MembershipId.eq(membership_id))
        .filter(code::Column::ValidUntil.gt(last_day));
    if core_only {
        update = update.filter(code::Column::CoreBenefit.eq(true));
    }
    update.exec(db).await?;
    Ok(())
}

/// What `enrollMembership` asks for.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub organization_id: i64,
    pub offer: Offer,
    pub competency: Option<String>,
    pub level: Option<CompetencyLevel>,
    pub learning_option: bool,
    /// A purchase made before the books were kept here (the desk only,
    /// R-34); `None` is today.
    pub purchased_on: Option<NaiveDate>,
}

fn unmet_to_errors(unmet: &[crate::domain::memberships::Unmet]) -> Vec<UserError> {
    unmet
        .iter()
        .map(|u| {
            let code = match u.rule {
                "R-24" => UserErrorCode::ActionPackTaken,
                "R-25" => UserErrorCode::NoCertifiedTrainer,
                _ => UserErrorCode::RequirementNotMet,
            };
            let level = match u.level {
                Some(CompetencyLevel::Gold) => " at GOLD",
                Some(CompetencyLevel::Silver) => " at SILVER",
                None => "",
            };
            UserError::on(
                "offer",
                code,
                format!(
                    "{}{level}: {} must be at least {}; the partner has {}",
                    u.rule, u.requirement, u.required, u.actual
                ),
            )
        })
        .collect()
}

/// Enrols a partner in an offer (R-24 .. R-26): partner administrator of
/// that partner, or admin. Every unmet requirement is reported at once.
/// GOLD in a competency where the partner holds SILVER is an upgrade: the
/// SILVER membership ends and the new one records the upgrade discount.
pub async fn enroll(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    input: Enrolment,
) -> Result<Outcome<membership::Model>, AppError> {
    let Some(partner) = partner(db, viewer, input.organization_id).await? else {
        return refuse("organizationId", UserErrorCode::NotFound, "partner not found");
    };
    let Some(pga) = partner.partner_global_account.clone() else {
        return Err(AppError::internal(format!("partner {} has no partner global account", partner.id)));
    };
    let today = now.date_naive();
    let purchased_on = input.purchased_on.unwrap_or(today);
    if purchased_on > today {
        return refuse("purchasedOn", UserErrorCode::OutOfRange, "a purchase is recorded on or before today");
    }
    // A past purchase is recorded as renewed each year since: in force,
    // with the anniversary that ends its current term on or after today.
    let renewals = crate::domain::memberships::renewals_for_reactivation(purchased_on, today).unwrap_or(0);
    let competency = input.competency.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
    let levels = match (input.offer, &competency, input.level) {
        (Offer::Competency, Some(name), Some(level)) if name.chars().count() <= 100 => {
            match partners::requirements(db, name).await? {
                Some(levels) if levels.offers(level) => levels,
                Some(_) => {
                    return refuse(
                        "level",
                        UserErrorCode::NotFound,
                        format!("{name} has no {level:?} level: no requirements are defined for it"),
                    );
                }
                None => {
                    return refuse(
                        "competency",
                        UserErrorCode::NotFound,
                        "no requirements are defined for this competency",
                    );
                }
            }
        }
        (Offer::Competency, _, _) => {
            return refuse("competency", UserErrorCode::Blank, "a COMPETENCY needs a competency name and a level");
        }
        (_, None, None) => Levels::default(),
        _ => {
            return refuse(
                "competency",
                UserErrorCode::InvalidFormat,
                "only a COMPETENCY has a competency and a level",
            );
        }
    };
    let facts = partners::facts(db, &partner, today, today).await?;
    let verdict = eligibility(input.offer, input.level, &levels, &facts);
    if !verdict.eligible() {
        return Ok(Err(unmet_to_errors(&verdict.unmet)));
    }
    // SILVER -> GOLD in the same competency is an upgrade.
    let upgraded_from = match (input.level, &competency) {
        (Some(CompetencyLevel::Gold), Some(name)) => membership::Entity::find()
            .filter(membership::Column::OrganizationId.eq(partner.id))
            .filter(membership::Column::Competency.eq(name.as_str()))
            .filter(membership::Column::Level.eq(CompetencyLevel::Silver))
            .filter(membership::Column::EndedOn.is_null())
            .one(db)
            .await?
            .filter(|m| standing(anniversary_of(m).unwrap_or(today), None, today) != Standing::Expired),
        _ => None,
    };
    let txn = crate::db::begin(db).await?;
    if let Some(silver) = &upgraded_from {
        membership::Entity::update_many()
            .col_expr(membership::Column::EndedOn, Expr::value(today))
            .col_expr(membership::Column::EndedReason, Expr::value("upgraded to GOLD"))
            .filter(membership::Column::Id.eq(silver.id))
            .exec(&txn)
            .await?;
        // The SILVER's benefits end with it; the GOLD brings its own.
        let yesterday = today.checked_sub_days(Days::new(1)).unwrap_or(today);
        end_benefits(&txn, silver.id, yesterday, false).await?;
    }
    let model = membership::ActiveModel {
        organization_id: Set(partner.id),
        partner_global_account: Set(pga),
        offer: Set(input.offer),
        level: Set(input.level),
        competency: Set(competency),
        learning_option: Set(input.learning_option),
        purchased_on: Set(purchased_on),
        renewals: Set(i32::try_from(renewals).unwrap_or(0)),
        upgraded_from_id: Set(upgraded_from.as_ref().map(|m| m.id)),
        upgrade_discount: Set(upgraded_from.is_some()),
        ended_on: Set(None),
        ended_reason: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    match model.insert(&txn).await {
        Ok(m) => {
            grant(&txn, &m, benefits::package(m.offer, m.level), now, actor(viewer)).await?;
            let mut event = membership_event("membership.enrolled", &m);
            if let Some(silver) = &upgraded_from {
                event = event.with_id("upgradedFrom", "Membership", silver.id);
            }
            outbox::emit(&txn, now, event).await?;
            txn.commit().await?;
            Ok(Ok(m))
        }
        // the partial unique index settles two concurrent enrolments.
        Err(err) => constraint_to_user_error(err).map(|e| Err(vec![e])),
    }
}

/// Renews a membership inside its window, with the fee paid, the company
/// profile reviewed and the offer's requirements met again on the day
/// the anniversary moves one year on. Every unmet condition is
/// reported at once.
pub async fn renew(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    id: i64,
    fee_paid: bool,
    profile_reviewed: bool,
) -> Result<Outcome<membership::Model>, AppError> {
    let Some(m) = membership(db, viewer, id).await? else {
        return refuse("id", UserErrorCode::NotFound, "membership not found");
    };
    let today = now.date_naive();
    if let Some(ended) = m.ended_on {
        let why = m.ended_reason.as_deref().unwrap_or("ended");
        return refuse(
            "id",
            UserErrorCode::MembershipEnded,
            format!("this membership does not renew: {why} (it ends on {ended})"),
        );
    }
    let anniversary = anniversary_of(&m)?;
    match standing(anniversary, m.ended_on, today) {
        Standing::InRenewalWindow => {}
        Standing::Active => {
            return refuse(
                "id",
                UserErrorCode::RenewalWindowNotOpen,
                format!("the renewal window opens the day after the anniversary, {anniversary} (R-22)"),
            );
        }
        Standing::Expired => {
            return refuse(
                "id",
                UserErrorCode::MembershipExpired,
                "the renewal window has closed; reactivation needs an administrator's exception (R-23)",
            );
        }
    }
    let mut errors = vec![];
    if !fee_paid {
        errors.push(UserError::on("feePaid", UserErrorCode::FeeNotPaid, "the annual fee must be paid (R-22)"));
    }
    if !profile_reviewed {
        errors.push(UserError::on(
            "profileReviewed",
            UserErrorCode::ProfileNotReviewed,
            "the company profile must be reviewed (R-22)",
        ));
    }
    errors.extend(requalify(db, &m, anniversary, today).await?);
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    // Guarded on the renewals count read: two renewals at once move it once.
    let txn = crate::db::begin(db).await?;
    let done = membership::Entity::update_many()
        .col_expr(membership::Column::Renewals, Expr::col(membership::Column::Renewals).add(1))
        .filter(membership::Column::Id.eq(id))
        .filter(membership::Column::Renewals.eq(m.renewals))
        .exec(&txn)
        .await?
        .rows_affected;
    if done != 1 {
        return refuse("id", UserErrorCode::RenewalWindowNotOpen, "the membership was renewed meanwhile");
    }
    let renewed =
        membership(&txn, viewer, id).await?.ok_or_else(|| AppError::internal("renewed membership vanished"))?;
    follow_term(&txn, &renewed).await?;
    outbox::emit(&txn, now, membership_event("membership.renewed", &renewed)).await?;
    txn.commit().await?;
    Ok(Ok(renewed))
}

/// The offer's requirements, checked on the renewal day as the dry run
/// checks them: KPIs of the 12 months before the anniversary
/// visible today, trainers and exams for a competency, an MCT for a
/// LEARNING_ACTION_PACK. The partner's own ACTION_PACK does not count
/// against itself.
async fn requalify(
    db: &DatabaseConnection,
    m: &membership::Model,
    anniversary: NaiveDate,
    today: NaiveDate,
) -> Result<Vec<UserError>, AppError> {
    let Some(partner) = organization::Entity::find_by_id(m.organization_id).one(db).await? else {
        return Err(AppError::internal(format!("membership {} has no partner", m.id)));
    };
    let levels = match (&m.competency, m.level) {
        (Some(name), Some(_)) => partners::requirements(db, name).await?.unwrap_or_default(),
        _ => Levels::default(),
    };
    let facts = partners::facts(db, &partner, anniversary, today).await?;
    let verdict = eligibility(m.offer, m.level, &levels, &facts);
    let unmet: Vec<_> = verdict.unmet.into_iter().filter(|u| u.rule != "R-24").collect();
    Ok(unmet_to_errors(&unmet))
}

/// Reactivates an expired membership by an administrator's exception, with
/// its reason kept. The new term runs to the next anniversary.
pub async fn reactivate(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    id: i64,
    reason: String,
) -> Result<Outcome<membership::Model>, AppError> {
    let reason = reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return refuse("reason", UserErrorCode::Blank, "the exception needs a reason (1 to 1000 characters)");
    }
    let Some(m) = membership(db, viewer, id).await? else {
        return refuse("id", UserErrorCode::NotFound, "membership not found");
    };
    let today = now.date_naive();
    if m.ended_on.is_some() {
        return refuse("id", UserErrorCode::InvalidTransition, "the membership was ended by a merge and stays ended");
    }
    if standing_of(&m, today)? != Standing::Expired {
        return refuse("id", UserErrorCode::NotExpired, "only an expired membership is reactivated (R-23)");
    }
    let renewals = renewals_for_reactivation(m.purchased_on, today)
        .and_then(|r| i32::try_from(r).ok())
        .ok_or_else(|| AppError::internal("no reactivation term"))?;
    let txn = crate::db::begin(db).await?;
    let done = membership::Entity::update_many()
        .col_expr(membership::Column::Renewals, Expr::value(renewals))
        .filter(membership::Column::Id.eq(id))
        .filter(membership::Column::Renewals.eq(m.renewals))
        .exec(&txn)
        .await?
        .rows_affected;
    if done != 1 {
        return refuse("id", UserErrorCode::NotExpired, "the membership changed meanwhile");
    }
    membership_exception::ActiveModel {
        membership_id: Set(id),
        granted_by: Set(viewer.subject.clone().unwrap_or_default()),
        reason: Set(reason),
        granted_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let reactivated =
        membership(&txn, viewer, id).await?.ok_or_else(|| AppError::internal("reactivated membership vanished"))?;
    follow_term(&txn, &reactivated).await?;
    outbox::emit(&txn, now, membership_event("membership.reactivated", &reactivated)).await?;
    txn.commit().await?;
    Ok(Ok(reactivated))
}

/// The exceptions granted to each of `membership_ids`, oldest first, in one statement.
pub async fn exceptions_of(
    db: &DatabaseConnection,
    membership_ids: &[i64],
) -> Result<Vec<membership_exception::Model>, AppError> {
    Ok(membership_exception::Entity::find()
        .filter(membership_exception::Column::MembershipId.is_in(membership_ids.iter().copied()))
        .order_by_asc(membership_exception::Column::Id)
        .all(db)
        .await?)
}

/// Adds a Microsoft Certified Trainer to a partner's roster.
pub async fn add_trainer(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    organization_id: i64,
    name: String,
    mct_id: String,
) -> Result<Outcome<certified_trainer::Model>, AppError> {
    let Some(partner) = partner(db, viewer, organization_id).await? else {
        return refuse("organizationId", UserErrorCode::NotFound, "partner not found");
    };
    let (name, mct_id) = (name.trim().to_owned(), mct_id.trim().to_owned());
    if name.is_empty() || name.chars().count() > 200 {
        return refuse("name", UserErrorCode::Blank, "a trainer has a name (1 to 200 characters)");
    }
    if !(3..=32).contains(&mct_id.len()) || !mct_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return refuse("mctId", UserErrorCode::InvalidFormat, "an MCT id is 3-32 letters, digits or -");
    }
    // a trainer a partner adds counts once the desk verifies it.
    let (review, reviewed_by, reviewed_at) = super::reviews::submitted(viewer, now);
    let model = certified_trainer::ActiveModel {
        organization_id: Set(partner.id),
        name: Set(name),
        mct_id: Set(mct_id),
        added_at: Set(now),
        review: Set(review),
        reviewed_by: Set(reviewed_by),
        reviewed_at: Set(reviewed_at),
        ..Default::default()
    };
    match model.insert(db).await {
        Ok(t) => Ok(Ok(t)),
        Err(err) => constraint_to_user_error(err).map(|e| Err(vec![e])),
    }
}

/// Removes a trainer from its partner's roster.
pub async fn remove_trainer(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: i64,
) -> Result<Outcome<certified_trainer::Model>, AppError> {
    let Some(trainer) = certified_trainer::Entity::find_by_id(id).one(db).await? else {
        return refuse("id", UserErrorCode::NotFound, "trainer not found");
    };
    if partner(db, viewer, trainer.organization_id).await?.is_none() {
        return refuse("id", UserErrorCode::NotFound, "trainer not found");
    }
    certified_trainer::Entity::delete_by_id(id).exec(db).await?;
    Ok(Ok(trainer))
}

/// A partner's trainers.
pub async fn trainers_of(
    db: &DatabaseConnection,
    organization_id: i64,
) -> Result<Vec<certified_trainer::Model>, AppError> {
    Ok(certified_trainer::Entity::find()
        .filter(certified_trainer::Column::OrganizationId.eq(organization_id))
        .all(db)
        .await?)
}

/// What an admin's extra benefit grant asks for.
#[derive(Debug, Clone)]
pub struct ExtraGrant {
    pub membership_id: i64,
    pub product: BenefitProduct,
    pub codes: i32,
    pub seats: Option<i32>,
    pub activations: Option<i32>,
}

/// Grants extra benefits to a live membership (admin). They follow its
/// term like the package it was enrolled with, but are not part of the core
/// package a merge keeps one of. An ACTION_PACK never grants Visual Studio
/// Enterprise.
pub async fn grant_extra(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    input: ExtraGrant,
) -> Result<Outcome<membership::Model>, AppError> {
    let Some(m) = membership(db, viewer, input.membership_id).await? else {
        return refuse("membershipId", UserErrorCode::NotFound, "membership not found");
    };
    if standing_of(&m, now.date_naive())? == Standing::Expired {
        return refuse("membershipId", UserErrorCode::MembershipExpired, "an expired membership grants nothing (R-23)");
    }
    if !benefits::may_grant(m.offer, input.product) {
        return refuse(
            "product",
            UserErrorCode::NotGrantedByOffer,
            "an ACTION_PACK grants Visual Studio Professional, never Enterprise (R-27)",
        );
    }
    let mut errors = vec![];
    if !(1..=100).contains(&input.codes) {
        errors.push(UserError::on("codes", UserErrorCode::OutOfRange, "between 1 and 100 codes at a time"));
    }
    let kind = benefits::kind_of(input.product);
    match (kind, input.seats) {
        (CodeKind::ActivationToken, Some(1..=10_000)) | (CodeKind::VsSubscription | CodeKind::ProductKey, None) => {}
        (CodeKind::ActivationToken, _) => errors.push(UserError::on(
            "seats",
            UserErrorCode::OutOfRange,
            "Microsoft 365 seats come as a token of 1 to 10 000 seats",
        )),
        _ => errors.push(UserError::on("seats", UserErrorCode::InvalidFormat, "only an activation token has seats")),
    }
    match (kind, input.activations) {
        (CodeKind::ProductKey, Some(1..=1_000)) | (CodeKind::VsSubscription | CodeKind::ActivationToken, None) => {}
        (CodeKind::ProductKey, _) => errors.push(UserError::on(
            "activations",
            UserErrorCode::OutOfRange,
            "a product key allows 1 to 1 000 activations",
        )),
        _ => errors.push(UserError::on(
            "activations",
            UserErrorCode::InvalidFormat,
            "only a product key has activations",
        )),
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let extra = Grant {
        product: input.product,
        codes: u32::try_from(input.codes).unwrap_or(0),
        seats: input.seats,
        activations: input.activations,
        core: false,
    };
    let txn = crate::db::begin(db).await?;
    grant(&txn, &m, &[extra], now, actor(viewer)).await?;
    txn.commit().await?;
    Ok(Ok(m))
}

/// A membership's event: its id, offer, level and renewals.
fn membership_event(kind: &'static str, m: &membership::Model) -> outbox::Event {
    let mut event = outbox::Event::new(kind, ("Membership", m.id), Some(m.organization_id))
        .with("offer", sea_orm::ActiveEnum::to_value(&m.offer))
        .with("renewals", m.renewals);
    if let Some(level) = m.level {
        event = event.with("level", sea_orm::ActiveEnum::to_value(&level));
    }
    if let Some(competency) = &m.competency {
        event = event.with("competency", competency.clone());
    }
    event
}
