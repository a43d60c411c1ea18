//! The exam catalog: listing, the desk's edits, and the one check
//! every use of an exam shares: it exists, it has not retired, and a
//! voucher's package covers its family.

use chrono::{DateTime, Utc};
use entity::{exam, package_exam_family};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, Select, Set,
};

use crate::{
    domain::exams::{self as rules, ANY_EXAM, ExamDraft},
    error::{AppError, UserError, UserErrorCode, constraint_to_user_error},
    service::{
        Outcome,
        page::{self, Page, PageRequest},
    },
};

/// Which exams to list.
#[derive(Debug, Clone, Default)]
pub struct ExamFilter {
    /// Only this family.
    pub family: Option<String>,
    /// Also exams retired at the time of asking.
    pub include_retired: bool,
}

/// The exams a filter selects at `now`, in catalog order.
pub fn exams_query(filter: &ExamFilter, now: DateTime<Utc>) -> Select<exam::Entity> {
    let mut select = exam::Entity::find();
    if let Some(family) = &filter.family {
        select = select.filter(exam::Column::Family.eq(family.as_str()));
    }
    if !filter.include_retired {
        select = select.filter(
            sea_orm::Condition::any().add(exam::Column::RetiresAt.is_null()).add(exam::Column::RetiresAt.gt(now)),
        );
    }
    select
}

/// One page of exams.
pub async fn list(
    db: &DatabaseConnection,
    filter: &ExamFilter,
    now: DateTime<Utc>,
    request: PageRequest,
) -> Result<Page<exam::Model>, AppError> {
    Ok(page::fetch(db, exams_query(filter, now), exam::Column::Id, request).await?)
}

/// The exam with this code, retired or not.
pub async fn by_code<C: ConnectionTrait>(db: &C, code: &str) -> Result<Option<exam::Model>, AppError> {
    Ok(exam::Entity::find().filter(exam::Column::Code.eq(code)).one(db).await?)
}

/// Every exam bookable at `now` (not retired), in catalog order.
pub async fn list_all<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> Result<Vec<exam::Model>, AppError> {
    Ok(exam::Entity::find()
        .filter(sea_orm::Condition::any().add(exam::Column::RetiresAt.is_null()).add(exam::Column::RetiresAt.gt(now)))
        .order_by_asc(exam::Column::Id)
        .all(db)
        .await?)
}

/// Exams by code, in the order asked; `None` for a code the catalog lacks.
pub async fn by_codes<C: ConnectionTrait>(db: &C, codes: &[String]) -> Result<Vec<Option<exam::Model>>, AppError> {
    let found = exam::Entity::find()
        .filter(exam::Column::Code.is_in(codes.iter().map(String::as_str)))
        .order_by_asc(exam::Column::Id)
        .all(db)
        .await?;
    Ok(codes.iter().map(|c| found.iter().find(|e| &e.code == c).cloned()).collect())
}

/// The row of a new exam: what `createExam` and the seed insert.
pub(crate) fn new_row(draft: ExamDraft, now: DateTime<Utc>) -> exam::ActiveModel {
    exam::ActiveModel {
        code: Set(draft.code),
        name: Set(draft.name.trim().to_owned()),
        family: Set(draft.family),
        level: Set(draft.level),
        retires_at: Set(draft.retirement.map(|r| r.at)),
        retirement_offset_minutes: Set(draft.retirement.map(|r| r.offset_minutes)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// Adds an exam to the catalog (admin).
pub async fn create(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    draft: ExamDraft,
) -> Result<Outcome<exam::Model>, AppError> {
    if let Err(errors) = draft.validate() {
        return Ok(Err(errors));
    }
    let model = new_row(draft, now);
    let txn = crate::db::begin(db).await?;
    let exam = match model.insert(&txn).await {
        Ok(exam) => exam,
        Err(err) => return constraint_to_user_error(err).map(|e| Err(vec![e])),
    };
    txn.commit().await?;
    Ok(Ok(exam))
}

/// Changes to an exam; `None` leaves a value as it is.
#[derive(Debug, Clone, Default)]
pub struct ExamPatch {
    pub name: Option<String>,
    pub family: Option<String>,
    pub level: Option<entity::enums::CertificationLevel>,
    /// `Some(None)` withdraws an announced retirement.
    pub retirement: Option<Option<rules::Retirement>>,
}

/// Changes an exam, found by its code (admin): renames it, moves it to
/// another family or level, announces or withdraws its retirement.
pub async fn update(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    code: &str,
    patch: ExamPatch,
) -> Result<Outcome<exam::Model>, AppError> {
    let Some(existing) = by_code(db, code).await? else {
        return Ok(Err(vec![UserError::on("code", UserErrorCode::NotFound, "no exam has this code")]));
    };
    let draft = ExamDraft {
        code: existing.code.clone(),
        name: patch.name.clone().unwrap_or_else(|| existing.name.clone()),
        family: patch.family.clone().unwrap_or_else(|| existing.family.clone()),
        level: patch.level.unwrap_or(existing.level),
        retirement: None,
    };
    if let Err(errors) = draft.validate() {
        return Ok(Err(errors));
    }
    let mut model: exam::ActiveModel = existing.into();
    model.name = Set(draft.name.trim().to_owned());
    model.family = Set(draft.family);
    model.level = Set(draft.level);
    if let Some(retirement) = patch.retirement {
        model.retires_at = Set(retirement.map(|r| r.at));
        model.retirement_offset_minutes = Set(retirement.map(|r| r.offset_minutes));
    }
    model.updated_at = Set(now);
    let txn = crate::db::begin(db).await?;
    let exam = model.update(&txn).await?;
    txn.commit().await?;
    Ok(Ok(exam))
}

/// Why an exam cannot be booked or recorded at `now`: unknown to the
/// catalog, or retired. `field` is the input field that named it.
pub fn unusable(field: &str, code: &str, exam: Option<&exam::Model>, now: DateTime<Utc>) -> Option<UserError> {
    let Some(exam) = exam else {
        return Some(unknown(field, code));
    };
    if !rules::bookable(exam.retires_at, now) {
        let when = retirement_of(exam).map(rules::Retirement::announced).unwrap_or_default();
        return Some(UserError::on(
            field,
            UserErrorCode::ExamRetired,
            format!("exam {code} retired at {when} and can no longer be booked (R-13)"),
        ));
    }
    None
}

/// The refusal of an exam code the catalog lacks.
fn unknown(field: &str, code: &str) -> UserError {
    UserError::on(field, UserErrorCode::UnknownExam, format!("the exam catalog has no exam {code} (R-13)"))
}

/// An exam's announced retirement, if any.
pub fn retirement_of(exam: &exam::Model) -> Option<rules::Retirement> {
    Some(rules::Retirement { at: exam.retires_at?, offset_minutes: exam.retirement_offset_minutes.unwrap_or(0) })
}

/// Whether a voucher of `package_id` may book `exam`: one of the
/// package's families covers the exam's.
pub async fn package_covers<C: ConnectionTrait>(
    db: &C,
    package_id: Option<i64>,
    exam: &exam::Model,
) -> Result<bool, AppError> {
    let Some(package_id) = package_id else { return Ok(false) };
    let families: Vec<String> = package_exam_family::Entity::find()
        .filter(package_exam_family::Column::PackageId.eq(package_id))
        .all(db)
        .await?
        .into_iter()
        .map(|f| f.family)
        .collect();
    Ok(rules::covered_by(&families, &exam.family))
}

/// Why a voucher cannot book `exam_code` at `now`: the exam is
/// unknown or retired, or the voucher's package covers no family of it.
pub async fn voucher_refusal<C: ConnectionTrait>(
    db: &C,
    voucher: &entity::code::Model,
    exam_code: &str,
    now: DateTime<Utc>,
) -> Result<Option<UserError>, AppError> {
    let exam = by_code(db, exam_code).await?;
    if let Some(problem) = unusable("exam", exam_code, exam.as_ref(), now) {
        return Ok(Some(problem));
    }
    let Some(exam) = exam else { return Ok(None) };
    let package_id = match voucher.order_id {
        Some(order_id) => entity::order::Entity::find_by_id(order_id).one(db).await?.map(|o| o.package_id),
        None => None,
    };
    if package_covers(db, package_id, &exam).await? {
        return Ok(None);
    }
    Ok(Some(UserError::on(
        "exam",
        UserErrorCode::ExamNotCovered,
        format!("this voucher does not cover {exam_code}, a {} exam (R-13)", exam.family),
    )))
}

/// Why a pass of `exam_code` on `passed_on` cannot be recorded (R-13,
/// the catalog lacks the exam, or it had retired before that day
/// (a pass on the retirement day itself, as announced, counts).
pub async fn pass_refusal<C: ConnectionTrait>(
    db: &C,
    exam_code: &str,
    passed_on: chrono::NaiveDate,
) -> Result<Option<UserError>, AppError> {
    let Some(exam) = by_code(db, exam_code).await? else {
        return Ok(Some(unknown("exam", exam_code)));
    };
    let Some(retirement) = retirement_of(&exam) else { return Ok(None) };
    if passed_on > retirement.local_day() {
        return Ok(Some(UserError::on(
            "passedOn",
            UserErrorCode::ExamRetired,
            format!("exam {exam_code} retired at {}; it was not passed after that (R-13)", retirement.announced()),
        )));
    }
    Ok(None)
}

/// SQL true when the package family `package_family` covers the exam
/// family `exam_family` (both SQL expressions): [`rules::covers`] in SQL,
/// for statements that check coverage where the rows are.
pub fn covers_sql(backend: DbBackend, package_family: &str, exam_family: &str) -> String {
    let position = if backend == DbBackend::Postgres { "strpos" } else { "instr" };
    format!(
        "({package_family} = '{ANY_EXAM}' OR {position}('+' || {package_family} || '+', '+' || {exam_family} || '+') > 0)"
    )
}

#[cfg(test)]
mod tests {
    use sea_orm::{Database, Statement};

    use super::*;

    /// The SQL form of coverage agrees with the Rust one on every pair.
    #[tokio::test]
    async fn coverage_in_sql_is_coverage_in_rust() {
        let db = Database::connect("sqlite::memory:").await.expect("sqlite");
        let package_families = ["MOS", "MTA+MCE", "MOS+MCE", "MCP", "MCSA", "ROLE_BASED", "XMOS", "MOSX+MCE"];
        let exam_families = ["MOS", "MTA", "MCE", "MCSA", "ROLE_BASED", "FUNDAMENTALS", "MC", "ROLEXBASED"];
        for pf in package_families {
            for ef in exam_families {
                let sql = format!("SELECT {}", covers_sql(DbBackend::Sqlite, &format!("'{pf}'"), &format!("'{ef}'")));
                let row = db.query_one_raw(Statement::from_string(DbBackend::Sqlite, sql)).await.expect("query");
                let got: bool = row.expect("a row").try_get_by_index::<i32>(0).expect("a number") == 1;
                assert_eq!(got, rules::covers(pf, ef), "{pf} covers {ef}");
            }
        }
    }
}
