//! Partner memberships (R-21 .. ): enrolment, renewal,
//! reactivation by exception, and the certified trainer roster.
//!
//! A partner administrator acts on its own partner account only; admins on
//! any. Anything else answers as if missing.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    certified_trainer, competency_requirement,
    enums::{CompetencyLevel, Offer, OrganizationKind},
    kpi_record, membership, membership_exception, organization, partner_certification,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Select, Set, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};

use crate::{
    auth::Viewer,
    domain::memberships::{
        PartnerFacts, Requirement, Standing, current_anniversary, eligibility, kpi_counts, renewals_for_reactivation,
        standing,
    },
    error::{AppError, UserError, UserErrorCode, constraint_to_user_error},
    service::{
        Outcome,
        page::{self, Page, PageRequest},
        refuse, scope,
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

/// The anniversary ending a membership's current term.
pub fn anniversary_of(m: &membership::Model) -> Result<NaiveDate, AppError> {
    current_anniversary(m.purchased_on, u32::try_from(m.renewals).unwrap_or(0))
        .ok_or_else(|| AppError::internal(format!("membership {} has no anniversary", m.id)))
}

/// A membership's standing on `as_of`.
pub fn standing_of(m: &membership::Model, as_of: NaiveDate) -> Result<Standing, AppError> {
    Ok(standing(anniversary_of(m)?, m.ended_on, as_of))
}

/// What `enrollMembership` asks for.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub organization_id: i64,
    pub offer: Offer,
    pub competency: Option<String>,
    pub level: Option<CompetencyLevel>,
    pub learning_option: bool,
}

/// The partner's facts for eligibility on `today`: KPIs of the 12 months
/// before `today` that are visible on it, passed exams, trainers,
/// and whether its account already holds an ACTION_PACK.
async fn facts<C: ConnectionTrait>(
    db: &C,
    partner: &organization::Model,
    today: NaiveDate,
) -> Result<PartnerFacts, AppError> {
    let kpis = kpi_record::Entity::find().filter(kpi_record::Column::OrganizationId.eq(partner.id)).all(db).await?;
    let counted = kpis.iter().filter(|k| kpi_counts(k.year, u32::try_from(k.month).unwrap_or(0), today, today));
    let (kpi_value, revenue_cents) =
        counted.fold((0i64, 0i64), |(v, r), k| (v.saturating_add(k.kpi_value), r.saturating_add(k.revenue_cents)));
    let passed_exams = partner_certification::Entity::find()
        .filter(partner_certification::Column::OrganizationId.eq(partner.id))
        .count(db)
        .await?;
    let trainers = certified_trainer::Entity::find()
        .filter(certified_trainer::Column::OrganizationId.eq(partner.id))
        .count(db)
        .await?;
    let holds_action_pack = match &partner.partner_global_account {
        Some(pga) => {
            membership::Entity::find()
                .filter(membership::Column::PartnerGlobalAccount.eq(pga.as_str()))
                .filter(membership::Column::Offer.eq(Offer::ActionPack))
                .filter(membership::Column::EndedOn.is_null())
                .count(db)
                .await?
                > 0
        }
        None => false,
    };
    Ok(PartnerFacts {
        kpi_value,
        revenue_cents,
        certified_trainers: i64::try_from(trainers).unwrap_or(i64::MAX),
        passed_exams: i64::try_from(passed_exams).unwrap_or(i64::MAX),
        holds_action_pack,
    })
}

/// A competency's SILVER and GOLD requirements; `None` when the competency
/// has none defined (it is not a competency we know).
async fn requirements<C: ConnectionTrait>(
    db: &C,
    competency: &str,
) -> Result<Option<(Requirement, Requirement)>, AppError> {
    let rows = competency_requirement::Entity::find()
        .filter(competency_requirement::Column::Competency.eq(competency))
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let of = |level: CompetencyLevel| {
        rows.iter().find(|r| r.level == level).map_or(Requirement::default(), |r| Requirement {
            min_kpi_value: r.min_kpi_value,
            min_revenue_cents: r.min_revenue_cents,
            min_certified_trainers: i64::from(r.min_certified_trainers),
            min_passed_exams: i64::from(r.min_passed_exams),
        })
    };
    Ok(Some((of(CompetencyLevel::Silver), of(CompetencyLevel::Gold))))
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
        return refuse("organizationId", UserErrorCode::NotFound, "partner not found (merged into another account)");
    };
    let today = now.date_naive();
    let competency = input.competency.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
    let (silver, gold) = match (input.offer, &competency, input.level) {
        (Offer::Competency, Some(name), Some(_)) if name.chars().count() <= 100 => {
            match requirements(db, name).await? {
                Some(pair) => pair,
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
        (_, None, None) => (Requirement::default(), Requirement::default()),
        _ => {
            return refuse(
                "competency",
                UserErrorCode::InvalidFormat,
                "only a COMPETENCY has a competency and a level",
            );
        }
    };
    let facts = facts(db, &partner, today).await?;
    let verdict = eligibility(input.offer, input.level, &silver, &gold, &facts);
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
    let txn = db.begin().await?;
    if let Some(silver) = &upgraded_from {
        membership::Entity::update_many()
            .col_expr(membership::Column::EndedOn, Expr::value(today))
            .col_expr(membership::Column::EndedReason, Expr::value("upgraded to GOLD"))
            .filter(membership::Column::Id.eq(silver.id))
            .exec(&txn)
            .await?;
    }
    let model = membership::ActiveModel {
        organization_id: Set(partner.id),
        partner_global_account: Set(pga),
        offer: Set(input.offer),
        level: Set(input.level),
        competency: Set(competency),
        learning_option: Set(input.learning_option),
        purchased_on: Set(today),
        renewals: Set(0),
        upgraded_from_id: Set(upgraded_from.as_ref().map(|m| m.id)),
        upgrade_discount: Set(upgraded_from.is_some()),
        ended_on: Set(None),
        ended_reason: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    match model.insert(&txn).await {
        Ok(m) => {
            txn.commit().await?;
            Ok(Ok(m))
        }
        // the partial unique index settles two concurrent enrolments.
        Err(err) => constraint_to_user_error(err).map(|e| Err(vec![e])),
    }
}

/// Renews a membership inside its window, with the fee paid and the company
/// profile reviewed: the anniversary moves one year on.
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
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    // Guarded on the renewals count read: two renewals at once move it once.
    let done = membership::Entity::update_many()
        .col_expr(membership::Column::Renewals, Expr::col(membership::Column::Renewals).add(1))
        .filter(membership::Column::Id.eq(id))
        .filter(membership::Column::Renewals.eq(m.renewals))
        .exec(db)
        .await?
        .rows_affected;
    if done != 1 {
        return refuse("id", UserErrorCode::RenewalWindowNotOpen, "the membership was renewed meanwhile");
    }
    let renewed = membership(db, viewer, id).await?.ok_or_else(|| AppError::internal("renewed membership vanished"))?;
    Ok(Ok(renewed))
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
    let txn = db.begin().await?;
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
    txn.commit().await?;
    let reactivated =
        membership(db, viewer, id).await?.ok_or_else(|| AppError::internal("reactivated membership vanished"))?;
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
    let model = certified_trainer::ActiveModel {
        organization_id: Set(partner.id),
        name: Set(name),
        mct_id: Set(mct_id),
        added_at: Set(now),
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
