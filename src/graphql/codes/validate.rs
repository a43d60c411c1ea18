//! `validateCode`: whether a value could be used now, and why not, without
//! changing anything; the attempt budget every use of a value counts against.

use async_graphql::{Context, Enum, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::enums::{CodeKind, CodeStatus};

use super::Date;
use crate::{
    auth::Viewer,
    domain::codes as rules,
    error::{GqlResultExt, UserErrorCode},
    graphql::context::ContextExt,
    service::codes as service,
};

/// Why a value cannot be used now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum CodeProblem {
    /// No code you may know of has this value (also for malformed values).
    Unknown,
    /// Well formed, but the check character is wrong: a typo.
    CheckCharacterMismatch,
    /// Its agreement or subscription has ended.
    Expired,
    /// The voucher was already redeemed.
    AlreadyRedeemed,
    /// The code was revoked.
    Revoked,
    /// The token was replaced.
    Replaced,
    /// It must be assigned to a person first.
    NotAssigned,
    /// It is assigned to someone else.
    NotAssignedToYou,
    /// The product key has no activations left.
    NoActivationsLeft,
    /// It is already activated.
    AlreadyActive,
}

impl CodeProblem {
    fn from_code(code: UserErrorCode) -> Self {
        match code {
            UserErrorCode::CheckCharacterMismatch => Self::CheckCharacterMismatch,
            UserErrorCode::Expired => Self::Expired,
            UserErrorCode::AlreadyRedeemed => Self::AlreadyRedeemed,
            UserErrorCode::Revoked => Self::Revoked,
            UserErrorCode::Replaced => Self::Replaced,
            UserErrorCode::NotAssigned => Self::NotAssigned,
            UserErrorCode::NotAssignedToYou => Self::NotAssignedToYou,
            UserErrorCode::NoActivationsLeft => Self::NoActivationsLeft,
            UserErrorCode::AlreadyActive => Self::AlreadyActive,
            _ => Self::Unknown,
        }
    }
}

/// The answer of `validateCode`. Unknown values all get the same answer:
/// `usable: false`, `problem: UNKNOWN`, everything else null.
#[derive(SimpleObject)]
pub struct CodeValidation {
    /// Whether you could redeem or activate it now.
    pub usable: bool,
    /// Why not, when it is not usable.
    pub problem: Option<CodeProblem>,
    /// The code's kind, when the value names one of your organization's codes.
    pub kind: Option<CodeKind>,
    /// Its status today, likewise.
    pub status: Option<CodeStatus>,
    /// Its last usable day, likewise.
    pub expires_on: Option<Date>,
}

/// `validateCode`.
#[derive(Default)]
pub struct ValidateQuery;

#[Object]
impl ValidateQuery {
    /// Says, without changing anything, whether you could use a code value
    /// now, and if not why. Rate-limited per caller; unknown values all get
    /// the same answer in the same time, whatever their prefix.
    async fn validate_code(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The value as typed; case, spaces and dashes do not matter.")] value: String,
    ) -> Result<CodeValidation> {
        let viewer = ctx.signed_in().gql()?;
        let now = ctx.clock().gql()?.now();
        count_attempt(ctx, viewer, now).await?;
        let today = now.date_naive();
        let answer = service::validate(ctx.db().gql()?, viewer, today, &value).await.gql()?;
        let code = answer.code.as_ref();
        Ok(CodeValidation {
            usable: answer.problem.is_none(),
            problem: answer.problem.map(CodeProblem::from_code),
            kind: code.map(|c| c.kind),
            status: code.map(|c| rules::effective_status(c.status, c.valid_until, today)),
            expires_on: code.map(|c| c.valid_until.into()),
        })
    }
}

/// Counts one attempt by value against the caller's budget.
pub(super) async fn count_attempt(ctx: &Context<'_>, viewer: &Viewer, now: DateTime<Utc>) -> Result<()> {
    let subject = viewer.subject.as_deref().unwrap_or_default();
    ctx.code_attempts().gql()?.check(subject, now).await.gql()
}
