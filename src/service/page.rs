//! Keyset pagination on the `id` column: `WHERE id > cursor ORDER BY id
//! LIMIT n + 1`, never OFFSET, so page 10 000 costs what page 1 costs.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Select,
};

/// Largest page a client may ask for (README, "Shape").
pub const MAX_PAGE_SIZE: u64 = 100;
/// Page size when the client names none.
pub const DEFAULT_PAGE_SIZE: u64 = 20;

/// A validated page request. Cursors are row ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageRequest {
    /// The first `size` rows after `after` (exclusive), before `before`.
    Forward { size: u64, after: Option<i64>, before: Option<i64> },
    /// The last `size` rows before `before` (exclusive), after `after`.
    Backward { size: u64, after: Option<i64>, before: Option<i64> },
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::Forward { size: DEFAULT_PAGE_SIZE, after: None, before: None }
    }
}

/// One page of rows, in ascending id order.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_previous: bool,
    pub has_next: bool,
}

impl<T> Page<T> {
    /// The same page, its items replaced by `f(items)`.
    pub fn map_items<U>(self, f: impl FnOnce(Vec<T>) -> Vec<U>) -> Page<U> {
        Page { items: f(self.items), has_previous: self.has_previous, has_next: self.has_next }
    }
}

/// Fetches one page of `select`, ordered by `id_column`, in one statement.
pub async fn fetch<E, C>(
    db: &C,
    select: Select<E>,
    id_column: E::Column,
    request: PageRequest,
) -> Result<Page<E::Model>, DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    fetch_as(db, select, id_column, request).await
}

/// [`fetch`], each row read as an `M` (say, a row decoded by position).
pub async fn fetch_as<E, M, C>(
    db: &C,
    select: Select<E>,
    id_column: E::Column,
    request: PageRequest,
) -> Result<Page<M>, DbErr>
where
    E: EntityTrait,
    M: FromQueryResult + Send,
    C: ConnectionTrait,
{
    let (size, after, before, forward) = match request {
        PageRequest::Forward { size, after, before } => (size, after, before, true),
        PageRequest::Backward { size, after, before } => (size, after, before, false),
    };
    let mut select = select;
    if let Some(after) = after {
        select = select.filter(id_column.gt(after));
    }
    if let Some(before) = before {
        select = select.filter(id_column.lt(before));
    }
    select = if forward { select.order_by_asc(id_column) } else { select.order_by_desc(id_column) };
    let mut items = select.limit(size + 1).into_model::<M>().all(db).await?;
    let more = items.len() as u64 > size;
    items.truncate(size as usize);
    if forward {
        // Relay allows has_previous_page to be approximate when paging
        // forward; "there was a cursor" is what we can say without a query.
        Ok(Page { items, has_previous: after.is_some(), has_next: more })
    } else {
        items.reverse();
        Ok(Page { items, has_previous: more, has_next: before.is_some() })
    }
}
