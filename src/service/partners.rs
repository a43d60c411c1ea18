//! A partner account's records around its memberships: passed exams and
//! competency requirements, the eligibility dry run (R-24 .. R-26)
//! and renewal reminders. KPI records are `kpis.rs`'s,
//! directory listings (R-30) `directory.rs`'s.
//!
//! A partner administrator acts on its own partner account only; admins on
//! any. Anything else answers as if missing.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    certified_trainer, competency_requirement,
    enums::{CompetencyLevel, FactReview, Offer},
    membership, organization, partner_certification,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set, sea_query::OnConflict,
};

use crate::{
    auth::Viewer,
    domain::catalog::{Problems, check_text},
    domain::codes::is_exam,
    domain::memberships::{
        Eligibility, Levels, PartnerFacts, Requirement, anniversary_in_force, eligibility, renewal_window,
    },
    error::{AppError, UserErrorCode, constraint_to_user_error},
    service::{Outcome, exams, kpis::kpi_total, memberships::partner, refuse, scope},
};

/// Longest free text of an exam record or a competency.
const MAX_TEXT: usize = 100;

/// A required text of at most [`MAX_TEXT`] characters, trimmed.
fn text(value: &str, field: &str, problems: &mut Problems) -> String {
    let value = value.trim();
    check_text(problems, field, value, MAX_TEXT, true);
    value.to_owned()
}

/// The partner's facts for eligibility: the KPIs counting towards a renewal
/// ending on `anniversary` as visible on `as_of` (R-28; for a new enrolment
/// both are the day itself), exams passed by then, trainers on the roster,
/// and whether its account already holds an ACTION_PACK.
pub(crate) async fn facts<C: ConnectionTrait>(
    db: &C,
    partner: &organization::Model,
    anniversary: NaiveDate,
    as_of: NaiveDate,
) -> Result<PartnerFacts, AppError> {
    let kpis = kpi_total(db, partner.id, anniversary, as_of).await?;
    let passed_exams = partner_certification::Entity::find()
        .filter(partner_certification::Column::OrganizationId.eq(partner.id))
        .filter(partner_certification::Column::PassedOn.lte(as_of))
        .filter(partner_certification::Column::Review.eq(FactReview::Verified))
        .count(db)
        .await?;
    let trainers = certified_trainer::Entity::find()
        .filter(certified_trainer::Column::OrganizationId.eq(partner.id))
        .filter(certified_trainer::Column::Review.eq(FactReview::Verified))
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
        kpi_value: kpis.kpi_value,
        revenue_cents: kpis.revenue_cents,
        certified_trainers: i64::try_from(trainers).unwrap_or(i64::MAX),
        passed_exams: i64::try_from(passed_exams).unwrap_or(i64::MAX),
        holds_action_pack,
    })
}

/// A competency's levels with their requirements; `None` when the
/// competency has none defined (it is not a competency we know).
pub(crate) async fn requirements<C: ConnectionTrait>(db: &C, competency: &str) -> Result<Option<Levels>, AppError> {
    let rows = competency_requirement::Entity::find()
        .filter(competency_requirement::Column::Competency.eq(competency))
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let of = |level: CompetencyLevel| {
        rows.iter().find(|r| r.level == level).map(|r| Requirement {
            min_kpi_value: r.min_kpi_value,
            min_revenue_cents: r.min_revenue_cents,
            min_certified_trainers: i64::from(r.min_certified_trainers),
            min_passed_exams: i64::from(r.min_passed_exams),
        })
    };
    Ok(Some(Levels { silver: of(CompetencyLevel::Silver), gold: of(CompetencyLevel::Gold) }))
}

/// Every competency requirement (or one competency's), by competency and level.
pub async fn all_requirements(
    db: &DatabaseConnection,
    competency: Option<&str>,
) -> Result<Vec<competency_requirement::Model>, AppError> {
    let mut select = competency_requirement::Entity::find();
    if let Some(name) = competency {
        select = select.filter(competency_requirement::Column::Competency.eq(name));
    }
    Ok(select
        .order_by_asc(competency_requirement::Column::Competency)
        .order_by_asc(competency_requirement::Column::Level)
        .all(db)
        .await?)
}

/// Sets what a competency level requires (admin; R-26): created or replaced.
pub async fn set_requirement(
    db: &DatabaseConnection,
    competency: &str,
    level: CompetencyLevel,
    requirement: Requirement,
) -> Result<Outcome<competency_requirement::Model>, AppError> {
    let mut problems = Problems::default();
    let competency = text(competency, "competency", &mut problems);
    for (field, value) in [
        ("minKpiValue", requirement.min_kpi_value),
        ("minRevenueCents", requirement.min_revenue_cents),
        ("minCertifiedTrainers", requirement.min_certified_trainers),
        ("minPassedExams", requirement.min_passed_exams),
    ] {
        if value < 0 {
            problems.add(field, UserErrorCode::OutOfRange, "a requirement is not negative");
        }
    }
    let small = |v: i64, field: &str, problems: &mut Problems| {
        i32::try_from(v).unwrap_or_else(|_| {
            problems.add(field, UserErrorCode::OutOfRange, "at most 2147483647");
            0
        })
    };
    let trainers = small(requirement.min_certified_trainers, "minCertifiedTrainers", &mut problems);
    let exams = small(requirement.min_passed_exams, "minPassedExams", &mut problems);
    if let Err(errors) = problems.into_result() {
        return Ok(Err(errors));
    }
    let row = competency_requirement::ActiveModel {
        competency: Set(competency.clone()),
        level: Set(level),
        min_kpi_value: Set(requirement.min_kpi_value),
        min_revenue_cents: Set(requirement.min_revenue_cents),
        min_certified_trainers: Set(trainers),
        min_passed_exams: Set(exams),
    };
    competency_requirement::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([competency_requirement::Column::Competency, competency_requirement::Column::Level])
                .update_columns([
                    competency_requirement::Column::MinKpiValue,
                    competency_requirement::Column::MinRevenueCents,
                    competency_requirement::Column::MinCertifiedTrainers,
                    competency_requirement::Column::MinPassedExams,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let saved = competency_requirement::Entity::find_by_id((competency, level))
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("saved requirement vanished"))?;
    Ok(Ok(saved))
}

/// What `membershipEligibility` answers: every unmet requirement, the best
/// level, and the partner's values they were measured on.
#[derive(Debug, Clone)]
pub struct DryRun {
    pub verdict: Eligibility,
    pub facts: PartnerFacts,
    /// Facts the desk has not reviewed yet: they count for nothing.
    pub pending: super::reviews::Pending,
    pub as_of: NaiveDate,
}

/// Checks, without changing anything, whether a partner may enrol in an
/// offer on `as_of` (R-24 .. R-26). `Ok(None)` when the partner is not the
/// caller's (or does not exist); a bad competency is a user-input error.
pub async fn dry_run(
    db: &DatabaseConnection,
    viewer: &Viewer,
    organization_id: i64,
    offer: Offer,
    competency: Option<&str>,
    level: Option<CompetencyLevel>,
    as_of: NaiveDate,
) -> Result<Option<DryRun>, AppError> {
    let Some(partner) = partner(db, viewer, organization_id).await? else { return Ok(None) };
    let competency = competency.map(str::trim).filter(|c| !c.is_empty());
    let levels = match (offer, competency) {
        (Offer::Competency, Some(name)) => {
            let levels = requirements(db, name)
                .await?
                .ok_or_else(|| AppError::bad_input(format!("no requirements are defined for competency {name:?}")))?;
            if let Some(level) = level.filter(|l| !levels.offers(*l)) {
                return Err(AppError::bad_input(format!("{name} has no {level:?} level")));
            }
            levels
        }
        (Offer::Competency, None) => return Err(AppError::bad_input("a COMPETENCY needs a competency name")),
        (_, None) if level.is_none() => Levels::default(),
        _ => return Err(AppError::bad_input("only a COMPETENCY has a competency and a level")),
    };
    let facts = facts(db, &partner, as_of, as_of).await?;
    let verdict = eligibility(offer, level, &levels, &facts);
    let pending = super::reviews::pending_of(db, partner.id).await?;
    Ok(Some(DryRun { verdict, facts, pending, as_of }))
}

/// What `recordPassedExam` asks for.
#[derive(Debug, Clone)]
pub struct PassedExam {
    pub organization_id: i64,
    pub person: String,
    pub exam: String,
    pub passed_on: NaiveDate,
}

/// Records an exam passed by one of a partner's people: counted
/// once per person and exam, never dated in the future.
pub async fn record_passed_exam(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    input: PassedExam,
) -> Result<Outcome<partner_certification::Model>, AppError> {
    let Some(partner) = partner(db, viewer, input.organization_id).await? else {
        return refuse("organizationId", UserErrorCode::NotFound, "partner not found");
    };
    let mut problems = Problems::default();
    let person = text(&input.person, "person", &mut problems);
    let exam = input.exam.trim().to_owned();
    if !is_exam(&exam) {
        problems.add("exam", UserErrorCode::InvalidFormat, "an exam id is 2-40 of A-Z, 0-9 and -");
    } else if let Some(problem) = exams::pass_refusal(db, &exam, input.passed_on).await? {
        problems.push(problem);
    }
    if input.passed_on > now.date_naive() {
        problems.add("passedOn", UserErrorCode::OutOfRange, "an exam cannot be passed in the future");
    }
    if let Err(errors) = problems.into_result() {
        return Ok(Err(errors));
    }
    // a pass a partner reports counts once the desk verifies it.
    let (review, reviewed_by, reviewed_at) = super::reviews::submitted(viewer, now);
    let row = partner_certification::ActiveModel {
        organization_id: Set(partner.id),
        person: Set(person),
        exam: Set(exam),
        passed_on: Set(input.passed_on),
        review: Set(review),
        reviewed_by: Set(reviewed_by),
        reviewed_at: Set(reviewed_at),
        ..Default::default()
    };
    // The unique (partner, person, exam) constraint refuses a second record.
    match row.insert(db).await {
        Ok(r) => Ok(Ok(r)),
        Err(err) => constraint_to_user_error(err).map(|e| Err(vec![e])),
    }
}

/// A partner's passed exams, oldest first.
pub async fn passed_exams_of(
    db: &DatabaseConnection,
    organization_id: i64,
) -> Result<Vec<partner_certification::Model>, AppError> {
    Ok(partner_certification::Entity::find()
        .filter(partner_certification::Column::OrganizationId.eq(organization_id))
        .order_by_asc(partner_certification::Column::PassedOn)
        .order_by_asc(partner_certification::Column::Id)
        .all(db)
        .await?)
}

pub use super::directory::{Listing, listings_of, submit_listing};

/// Which date of a membership a reminder is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// The anniversary: the renewal window opens the next day.
    Anniversary,
    /// The last day of the renewal window: the membership expires after it.
    WindowCloses,
}

/// The most days `upcomingRenewals` looks ahead.
pub const MAX_WITHIN_DAYS: i64 = 366;

/// Memberships the caller may see whose anniversary or renewal window end
/// falls in `as_of ..= as_of + within` days, soonest first (ties by
/// membership), at most `limit`.
pub async fn upcoming_renewals(
    db: &DatabaseConnection,
    viewer: &Viewer,
    organization_id: Option<i64>,
    within: i64,
    as_of: NaiveDate,
    limit: usize,
) -> Result<Vec<(NaiveDate, Due, membership::Model)>, AppError> {
    if !(0..=MAX_WITHIN_DAYS).contains(&within) {
        return Err(AppError::bad_input(format!("`within` is 0 to {MAX_WITHIN_DAYS} days")));
    }
    let until = as_of
        .checked_add_days(chrono::Days::new(within.unsigned_abs()))
        .ok_or_else(|| AppError::bad_input("asOf is too far in the future"))?;
    let mut select = membership::Entity::find()
        .filter(scope::partner_accounts(viewer, membership::Column::OrganizationId))
        .filter(Condition::any().add(membership::Column::EndedOn.is_null()).add(membership::Column::EndedOn.gt(as_of)));
    if let Some(org) = organization_id {
        select = select.filter(membership::Column::OrganizationId.eq(org));
    }
    let mut due = vec![];
    for m in select.all(db).await? {
        let renewals = u32::try_from(m.renewals).unwrap_or(0);
        let Some(anniversary) = anniversary_in_force(m.purchased_on, renewals, as_of) else { continue };
        let Some((_, closes)) = renewal_window(anniversary) else { continue };
        for (day, what) in [(anniversary, Due::Anniversary), (closes, Due::WindowCloses)] {
            if (as_of..=until).contains(&day) && m.ended_on.is_none_or(|ended| day < ended) {
                due.push((day, what, m.clone()));
            }
        }
    }
    due.sort_by_key(|(day, what, m)| (*day, m.id, *what == Due::WindowCloses));
    due.truncate(limit);
    Ok(due)
}
