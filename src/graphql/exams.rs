//! The exam catalog in GraphQL: `Exam`, `exams` and `exam` for
//! anyone, `createExam` and `updateExam` for the desk.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use entity::{enums::CertificationLevel, exam};

use crate::{
    domain::exams::{self as rules, ExamDraft},
    error::{GqlResultExt, UserError},
    graphql::{
        context::ContextExt,
        relay::{IdConnection, TotalCount, connection, connection_cost, page_request, payload_from_outcome},
        scalars::Instant,
    },
    service::{
        catalog,
        exams::{self, ExamFilter, ExamPatch},
    },
};

/// An exam of the catalog.
pub struct Exam(pub exam::Model);

/// An exam of the catalog: a voucher books one, if its package
/// covers the exam's family and the exam has not retired.
#[Object]
impl Exam {
    /// The exam's code, as the exam provider spells it (`MO-100`, `AZ-104`).
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// The exam's name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Its family: `MOS`, `MTA`, `MCE`, `FUNDAMENTALS`, `MCSA`, `MCSE`,
    /// `MCSD`, or `ROLE_BASED` for exams no voucher family names (a voucher
    /// of a package listing `MCP` books any exam).
    async fn family(&self) -> &str {
        &self.0.family
    }

    /// Basic (about 6 months of preparation) or advanced (about 12).
    async fn level(&self) -> CertificationLevel {
        self.0.level
    }

    /// The instant it retires, in UTC; null while none is announced. From
    /// this instant on it cannot be booked.
    async fn retires_at(&self) -> Option<Instant> {
        self.0.retires_at.map(Instant)
    }

    /// The retirement as announced, RFC 3339 in the offset of the zone it
    /// was announced in (`2021-01-31T11:59:00-06:00`); null while none is.
    async fn retirement_announced(&self) -> Option<String> {
        exams::retirement_of(&self.0).map(rules::Retirement::announced)
    }

    /// Whether it has retired at the time of asking.
    async fn retired(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(!rules::bookable(self.0.retires_at, ctx.clock().gql()?.now()))
    }
}

/// Exam catalog queries: anyone may read them.
#[derive(Default)]
pub struct ExamQuery;

#[Object]
impl ExamQuery {
    /// Exams of the catalog, in catalog order; retired ones only when asked.
    #[graphql(complexity = "connection_cost(first, last, child_complexity)")]
    async fn exams(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size from the start, 1..100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1..100.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
        #[graphql(desc = "Only exams of this family, such as `MOS`.")] family: Option<String>,
        #[graphql(desc = "Include exams that have retired.", default = false)] include_retired: bool,
    ) -> Result<IdConnection<Exam>> {
        let request = page_request(first, after, last, before).gql()?;
        let db = ctx.db().gql()?.clone();
        let now = ctx.clock().gql()?.now();
        let filter = ExamFilter { family, include_retired };
        let page = exams::list(&db, &filter, now, request).await.gql()?;
        let total = TotalCount::new(move || {
            let (db, filter) = (db.clone(), filter.clone());
            async move { catalog::count(&db, exams::exams_query(&filter, now)).await }
        });
        Ok(connection(page, |e| e.id, Exam, total))
    }

    /// One exam by its code, retired or not; null when the catalog has none.
    async fn exam(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The exam's code, such as `MO-100`.")] code: String,
    ) -> Result<Option<Exam>> {
        Ok(exams::by_code(ctx.db().gql()?, &code).await.gql()?.map(Exam))
    }
}

/// Input of `createExam`.
#[derive(InputObject)]
pub struct CreateExamInput {
    /// The exam's code: 2-40 of A-Z, 0-9 and `-`, such as `MO-100`.
    pub code: String,
    /// Its name (1-200 characters).
    pub name: String,
    /// Its family: one name of A-Z, 0-9 and `_`, such as `MOS`.
    pub family: String,
    /// Basic or advanced.
    pub level: CertificationLevel,
    /// When it retires, if announced: RFC 3339 with the offset of the zone
    /// it was announced in, such as `2021-01-31T11:59:00-06:00`.
    pub retires_at: Option<String>,
}

/// Input of `updateExam`: what is given changes, what is left out stays.
#[derive(InputObject)]
pub struct UpdateExamInput {
    /// The exam to change, by its code.
    pub code: String,
    /// A new name.
    pub name: Option<String>,
    /// A new family.
    pub family: Option<String>,
    /// A new level.
    pub level: Option<CertificationLevel>,
    /// Announces (or moves) the retirement, RFC 3339 with the announcing
    /// zone's offset; `null` withdraws an announced retirement.
    pub retires_at: MaybeUndefined<String>,
}

/// Result of `createExam` and `updateExam`.
#[derive(SimpleObject)]
pub struct ExamPayload {
    /// The exam, when the change succeeded.
    pub exam: Option<Exam>,
    /// Why the change was refused; empty on success.
    pub user_errors: Vec<UserError>,
}

payload_from_outcome!(ExamPayload { exam: Exam(exam::Model) });

/// The desk's exam catalog edits.
#[derive(Default)]
pub struct ExamMutation;

#[Object]
impl ExamMutation {
    /// Adds an exam to the catalog (admin).
    async fn create_exam(&self, ctx: &Context<'_>, input: CreateExamInput) -> Result<ExamPayload> {
        ctx.viewer().gql()?.require_admin().gql()?;
        let retirement = match rules::retirement("retiresAt", input.retires_at.as_deref()) {
            Ok(r) => r,
            Err(problem) => return Ok(Err(vec![problem]).into()),
        };
        let draft =
            ExamDraft { code: input.code, name: input.name, family: input.family, level: input.level, retirement };
        let now = ctx.clock().gql()?.now();
        Ok(exams::create(ctx.db().gql()?, now, draft).await.gql()?.into())
    }

    /// Renames an exam, moves it to another family or level, or announces
    /// or withdraws its retirement (admin). A retired exam stays readable;
    /// vouchers already redeemed for it keep their history.
    async fn update_exam(&self, ctx: &Context<'_>, input: UpdateExamInput) -> Result<ExamPayload> {
        ctx.viewer().gql()?.require_admin().gql()?;
        let retirement = match input.retires_at {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(text) => match rules::retirement("retiresAt", Some(&text)) {
                Ok(r) => Some(r),
                Err(problem) => return Ok(Err(vec![problem]).into()),
            },
        };
        let patch = ExamPatch { name: input.name, family: input.family, level: input.level, retirement };
        let now = ctx.clock().gql()?.now();
        Ok(exams::update(ctx.db().gql()?, now, &input.code, patch).await.gql()?.into())
    }
}
