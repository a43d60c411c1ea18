//! The desk's review of partners' facts: certified
//! trainers, passed exams and KPI records a partner submits are `PENDING`
//! and count for nothing until the desk verifies them; the desk's own
//! records are verified as they are written. A fact is reviewed once.

use chrono::{DateTime, Utc};
use entity::{certified_trainer, enums::FactReview, kpi_dispute, kpi_record, partner_certification};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, sea_query::Expr};

use crate::{
    auth::Viewer,
    domain::organizations::check_reason,
    error::{AppError, UserError, UserErrorCode},
    service::{Outcome, codes::actor, refuse},
};

/// How a newly written fact starts: verified when the desk writes it,
/// pending when a partner submits it. `(review, reviewed_by, reviewed_at)`.
pub fn submitted(viewer: &Viewer, now: DateTime<Utc>) -> (FactReview, Option<String>, Option<DateTime<Utc>>) {
    if viewer.is_admin() {
        (FactReview::Verified, Some(actor(viewer).to_owned()), Some(now))
    } else {
        (FactReview::Pending, None, None)
    }
}

/// The desk's verdict on a pending fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Verify,
    Reject,
}

/// The kinds of fact the desk reviews.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    CertifiedTrainer,
    PassedExam,
    KpiRecord,
}

/// Reviews one pending fact (admin): verified, or rejected with a reason.
/// A fact already reviewed is refused (`ALREADY_REVIEWED`); of two desks
/// reviewing one fact at once, one wins. Returns the fact's row id.
pub async fn review(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    fact: Fact,
    id: i64,
    verdict: Verdict,
    reason: Option<String>,
) -> Result<Outcome<i64>, AppError> {
    let mut problems: Vec<UserError> = check_reason(reason.as_deref());
    if verdict == Verdict::Reject && reason.is_none() {
        problems.push(UserError::on("reason", UserErrorCode::Blank, "a rejection says why"));
    }
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let (to, why) = match verdict {
        Verdict::Verify => (FactReview::Verified, None),
        Verdict::Reject => (FactReview::Rejected, reason.map(|r| r.trim().to_owned())),
    };
    let who = actor(viewer).to_owned();
    macro_rules! guarded {
        ($entity:ident) => {{
            let done = $entity::Entity::update_many()
                .col_expr($entity::Column::Review, Expr::value(to))
                .col_expr($entity::Column::ReviewedBy, Expr::value(who))
                .col_expr($entity::Column::ReviewedAt, Expr::value(now))
                .col_expr($entity::Column::RejectionReason, Expr::value(why))
                .filter($entity::Column::Id.eq(id))
                .filter($entity::Column::Review.eq(FactReview::Pending))
                .exec(db)
                .await?
                .rows_affected;
            let exists = done == 1 || $entity::Entity::find_by_id(id).one(db).await?.is_some();
            (done, exists)
        }};
    }
    let (done, exists) = match fact {
        Fact::CertifiedTrainer => guarded!(certified_trainer),
        Fact::PassedExam => guarded!(partner_certification),
        Fact::KpiRecord => guarded!(kpi_record),
    };
    match (done, exists) {
        (1, _) => Ok(Ok(id)),
        (_, false) => refuse("id", UserErrorCode::NotFound, "no such fact"),
        _ => refuse("id", UserErrorCode::AlreadyReviewed, "the desk has already reviewed this fact"),
    }
}

/// A partner's facts waiting for the desk, which the dry run lists apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pending {
    pub certified_trainers: u64,
    pub passed_exams: u64,
    pub kpi_records: u64,
    pub kpi_disputes: u64,
}

/// Counts a partner's pending facts.
pub async fn pending_of<C: sea_orm::ConnectionTrait>(db: &C, organization_id: i64) -> Result<Pending, AppError> {
    use sea_orm::PaginatorTrait;
    Ok(Pending {
        certified_trainers: certified_trainer::Entity::find()
            .filter(certified_trainer::Column::OrganizationId.eq(organization_id))
            .filter(certified_trainer::Column::Review.eq(FactReview::Pending))
            .count(db)
            .await?,
        passed_exams: partner_certification::Entity::find()
            .filter(partner_certification::Column::OrganizationId.eq(organization_id))
            .filter(partner_certification::Column::Review.eq(FactReview::Pending))
            .count(db)
            .await?,
        kpi_records: kpi_record::Entity::find()
            .filter(kpi_record::Column::OrganizationId.eq(organization_id))
            .filter(kpi_record::Column::Review.eq(FactReview::Pending))
            .count(db)
            .await?,
        kpi_disputes: kpi_dispute::Entity::find()
            .filter(kpi_dispute::Column::OrganizationId.eq(organization_id))
            .filter(kpi_dispute::Column::Status.eq(FactReview::Pending))
            .count(db)
            .await?,
    })
}
