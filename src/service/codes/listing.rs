//! Reading codes: the `codes` list and its filters, one code, and the
//! batched reads the GraphQL loaders make (first codes and counts per
//! order, events, replacements).

use chrono::NaiveDate;
use entity::{
    code, code_event,
    enums::{CodeKind, CodeStatus, StoredCodeStatus},
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Select, Statement,
};

use super::CodeSource;
use crate::{
    auth::Viewer,
    error::AppError,
    service::{
        code_rows::{self, CodeRow, Columns},
        page::{self, Page, PageRequest},
        placeholder, scope,
    },
};

/// Filters of `codes`.
#[derive(Debug, Clone, Default)]
pub struct CodeFilter {
    pub order_id: Option<i64>,
    /// Benefits of this membership.
    pub membership_id: Option<i64>,
    pub status: Option<CodeStatus>,
    pub kind: Option<CodeKind>,
    pub assignee: Option<String>,
    /// Codes whose validity ends before this day.
    pub expiring_before: Option<NaiveDate>,
    /// Codes that can still be used and whose last usable day falls in
    /// the next N days, today included.
    pub expiring_within_days: Option<u32>,
}

pub(super) const LIVE: [StoredCodeStatus; 3] =
    [StoredCodeStatus::Issued, StoredCodeStatus::Assigned, StoredCodeStatus::Active];

/// The SQL form of "shows status `status` on `today`".
fn status_condition(status: CodeStatus, today: NaiveDate) -> Condition {
    let stored = |s: StoredCodeStatus| Condition::all().add(code::Column::Status.eq(s));
    let live = |s: StoredCodeStatus| stored(s).add(code::Column::ValidUntil.gte(today));
    match status {
        CodeStatus::Issued => live(StoredCodeStatus::Issued),
        CodeStatus::Assigned => live(StoredCodeStatus::Assigned),
        CodeStatus::Active => live(StoredCodeStatus::Active),
        CodeStatus::Expired => {
            Condition::all().add(code::Column::Status.is_in(LIVE)).add(code::Column::ValidUntil.lt(today))
        }
        CodeStatus::Redeemed => stored(StoredCodeStatus::Redeemed),
        CodeStatus::Revoked => stored(StoredCodeStatus::Revoked),
        CodeStatus::Replaced => stored(StoredCodeStatus::Replaced),
    }
}

pub fn codes_query(viewer: &Viewer, filter: &CodeFilter, today: NaiveDate) -> Select<code::Entity> {
    let mut select = code::Entity::find().filter(scope::codes(viewer));
    if let Some(order) = filter.order_id {
        select = select.filter(code::Column::OrderId.eq(order));
    }
    if let Some(membership) = filter.membership_id {
        select = select.filter(code::Column::MembershipId.eq(membership));
    }
    if let Some(status) = filter.status {
        select = select.filter(status_condition(status, today));
    }
    if let Some(kind) = filter.kind {
        select = select.filter(code::Column::Kind.eq(kind));
    }
    if let Some(assignee) = &filter.assignee {
        select = select.filter(code::Column::Assignee.eq(crate::domain::people::person_key(assignee)));
    }
    if let Some(day) = filter.expiring_before {
        select = select.filter(code::Column::ValidUntil.lt(day));
    }
    if let Some(days) = filter.expiring_within_days {
        let last =
            today.checked_add_days(chrono::Days::new(u64::from(Ord::max(days, 1)) - 1)).unwrap_or(NaiveDate::MAX);
        select = select
            .filter(code::Column::Status.is_in(LIVE))
            .filter(code::Column::ValidUntil.gte(today))
            .filter(code::Column::ValidUntil.lte(last));
    }
    select
}

pub async fn list_codes(
    db: &DatabaseConnection,
    viewer: &Viewer,
    filter: &CodeFilter,
    today: NaiveDate,
    request: PageRequest,
) -> Result<Page<code::Model>, AppError> {
    let page =
        page::fetch_as::<_, CodeRow, _>(db, codes_query(viewer, filter, today), code::Column::Id, request).await?;
    Ok(page.map_items(code_rows::models))
}

/// One code, if the viewer may see it.
pub async fn code<C: ConnectionTrait>(db: &C, viewer: &Viewer, id: i64) -> Result<Option<code::Model>, AppError> {
    Ok(code::Entity::find().filter(scope::codes(viewer)).filter(code::Column::Id.eq(id)).one(db).await?)
}

pub async fn codes_by_ids(db: &DatabaseConnection, ids: &[i64]) -> Result<Vec<code::Model>, AppError> {
    Ok(code_rows::by_select(db, code::Entity::find().filter(code::Column::Id.is_in(ids.iter().copied()))).await?)
}

/// The first `size + 1` codes of each of `sources` (all of one kind), by
/// id, in one statement: nested first pages of `Order.codes` and
/// `Membership.benefits`. Each source is its own `ORDER BY id LIMIT n`
/// subquery, an index range scan on `(order_id, id)` or
/// `(membership_id, id)`, joined by `UNION ALL`: the statement reads the
/// rows it returns, however many codes the sources have (a window function
/// over all their codes read 25 000 rows for a page of 50 site-pack orders).
/// It selects `columns`: a page showing only brief fields reads less than
/// half of each row (see [`Columns`]).
pub async fn first_codes_of(
    db: &DatabaseConnection,
    sources: &[CodeSource],
    size: u64,
    columns: Columns,
) -> Result<Vec<(CodeSource, code::Model)>, AppError> {
    let Some(&kind) = sources.first() else { return Ok(vec![]) };
    let backend = db.get_database_backend();
    let column = kind.column();
    let limit = size.saturating_add(1);
    let mut found = Vec::new();
    // SQLite allows 500 terms in a compound SELECT; a request's pages rarely
    // have more than 100 parents (the largest page), so this is one statement.
    for chunk in sources.chunks(MAX_UNION_TERMS) {
        let parts: Vec<String> = (1..=chunk.len())
            .map(|n| {
                format!(
                    "SELECT * FROM (SELECT {} FROM codes WHERE {column} = {} ORDER BY id LIMIT {limit}) AS page{n}",
                    columns.list(),
                    placeholder(backend, n)
                )
            })
            .collect();
        let sql = format!("{} ORDER BY {column}, id", parts.join(" UNION ALL "));
        let values: Vec<sea_orm::Value> = chunk.iter().map(|s| s.id().into()).collect();
        let statement = Statement::from_sql_and_values(backend, sql, values);
        let rows = code_rows::by_statement(db, statement, columns).await?;
        found.reserve(rows.len());
        found.extend(rows.into_iter().filter_map(|c| kind.of(&c).map(|source| (source, c))));
    }
    Ok(found)
}

/// Sources per statement of [`first_codes_of`].
const MAX_UNION_TERMS: usize = 250;

/// How many codes each of `sources` (all of one kind) has, in one statement.
pub async fn code_counts_of(
    db: &DatabaseConnection,
    sources: &[CodeSource],
) -> Result<Vec<(CodeSource, i64)>, AppError> {
    let Some(&kind) = sources.first() else { return Ok(vec![]) };
    let column = match kind {
        CodeSource::Order(_) => code::Column::OrderId,
        CodeSource::Membership(_) => code::Column::MembershipId,
    };
    let counts: Vec<(i64, i64)> = code::Entity::find()
        .select_only()
        .column(column)
        .column_as(code::Column::Id.count(), "n")
        .filter(column.is_in(sources.iter().map(|s| s.id())))
        .group_by(column)
        .into_tuple()
        .all(db)
        .await?;
    Ok(counts.into_iter().map(|(id, n)| (kind.with_id(id), n)).collect())
}

/// Up to `limit` codes of an order after code id `after`, by id: one
/// keyset step of a streamed export.
pub async fn codes_of_order_after(
    db: &DatabaseConnection,
    order_id: i64,
    after: i64,
    limit: u64,
) -> Result<Vec<code::Model>, AppError> {
    let select = code::Entity::find()
        .filter(code::Column::OrderId.eq(order_id))
        .filter(code::Column::Id.gt(after))
        .order_by_asc(code::Column::Id)
        .limit(limit);
    Ok(code_rows::by_select(db, select).await?)
}

/// The events of each code, oldest first, in one statement.
pub async fn events_of_codes(db: &DatabaseConnection, code_ids: &[i64]) -> Result<Vec<code_event::Model>, AppError> {
    Ok(code_event::Entity::find()
        .filter(code_event::Column::CodeId.is_in(code_ids.iter().copied()))
        .order_by_asc(code_event::Column::Id)
        .all(db)
        .await?)
}

/// The codes replacing each of `code_ids`, in one statement.
pub async fn replacements_of(db: &DatabaseConnection, code_ids: &[i64]) -> Result<Vec<code::Model>, AppError> {
    let select = code::Entity::find().filter(code::Column::ReplacesId.is_in(code_ids.iter().copied()));
    Ok(code_rows::by_select(db, select).await?)
}
