//! Relay plumbing: the `Node` interface's id decoding, opaque cursors, page
//! arguments and connections with a lazily counted `totalCount`.

use std::sync::Arc;

use async_graphql::{
    ID, Object,
    connection::{Connection, CursorType, Edge},
};
use futures_util::future::BoxFuture;

use crate::{
    error::{AppError, GqlResultExt, UserError, UserErrorCode},
    id,
    service::page::{MAX_PAGE_SIZE, Page, PageRequest},
};

/// Decodes an id argument of a query; a malformed one is `BAD_USER_INPUT`.
pub fn id_arg(kind: &str, name: &str, value: &ID) -> Result<i64, AppError> {
    id::decode_as(kind, value).ok_or_else(|| AppError::bad_input(format!("`{name}` is not a {kind} id")))
}

/// Decodes an id in a mutation input; a malformed one reads as "not found".
pub fn input_id(kind: &str, field: &str, value: &ID) -> std::result::Result<i64, Vec<UserError>> {
    id::decode_as(kind, value).ok_or_else(|| {
        vec![UserError::on(field, UserErrorCode::NotFound, format!("{} not found", kind.to_lowercase()))]
    })
}

/// `impl From<Outcome<Model>> for Payload`: the object wrapped on success,
/// the user errors otherwise. Every mutation payload is one of these.
/// `Wrap(Model)` wraps with a tuple constructor, `Model => f` with any
/// function.
macro_rules! payload_from_outcome {
    ($payload:ident { $field:ident: $wrap:ident($model:ty) }) => {
        $crate::graphql::relay::payload_from_outcome!($payload { $field: $model => $wrap });
    };
    ($payload:ident { $field:ident: $model:ty => $wrap:expr }) => {
        impl From<$crate::service::Outcome<$model>> for $payload {
            fn from(outcome: $crate::service::Outcome<$model>) -> Self {
                match outcome {
                    Ok(row) => Self { $field: Some($wrap(row)), user_errors: vec![] },
                    Err(user_errors) => Self { $field: None, user_errors },
                }
            }
        }
    };
}
pub(crate) use payload_from_outcome;

/// In a mutation resolver: the row behind an input id, or an early return
/// of the payload refusing it as `NOT_FOUND` (see [`input_id`]).
macro_rules! input_row {
    ($kind:expr, $field:expr, $value:expr) => {
        match $crate::graphql::relay::input_id($kind, $field, $value) {
            Ok(row) => row,
            Err(errors) => return Ok(Err(errors).into()),
        }
    };
}
pub(crate) use input_row;

/// A cursor: the opaque encoding of a row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdCursor(pub i64);

impl CursorType for IdCursor {
    type Error = &'static str;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        id::decode_as("cursor", s).map(IdCursor).ok_or("invalid cursor")
    }

    fn encode_cursor(&self) -> String {
        id::encode("cursor", self.0)
    }
}

fn cursor(name: &str, value: Option<String>) -> Result<Option<i64>, AppError> {
    value
        .map(|v| {
            IdCursor::decode_cursor(&v)
                .map(|c| c.0)
                .map_err(|_| AppError::bad_input(format!("`{name}` is not a cursor returned by this API")))
        })
        .transpose()
}

fn size(name: &str, value: Option<i32>) -> Result<Option<u64>, AppError> {
    match value {
        None => Ok(None),
        Some(n) if (1..=MAX_PAGE_SIZE as i32).contains(&n) => Ok(Some(n as u64)),
        Some(_) => Err(AppError::bad_input(format!("`{name}` must be between 1 and {MAX_PAGE_SIZE}"))),
    }
}

/// Validates Relay arguments: `first`/`last` within 1..=100 (never "all
/// rows"), not both at once, and cursors that this API issued.
pub fn page_request(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<PageRequest, AppError> {
    let (first, last) = (size("first", first)?, size("last", last)?);
    let (after, before) = (cursor("after", after)?, cursor("before", before)?);
    match (first, last) {
        (Some(_), Some(_)) => Err(AppError::bad_input("pass `first` or `last`, not both")),
        (None, Some(size)) => Ok(PageRequest::Backward { size, after, before }),
        (first, None) => {
            Ok(PageRequest::Forward { size: first.unwrap_or(crate::service::page::DEFAULT_PAGE_SIZE), after, before })
        }
    }
}

/// Complexity of a connection field: its page size times its children's.
pub fn connection_cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let size = first.or(last).unwrap_or(crate::service::page::DEFAULT_PAGE_SIZE as i32);
    let size = size.clamp(1, MAX_PAGE_SIZE as i32) as usize;
    size.saturating_mul(child_complexity).saturating_add(1)
}

type CountFn = Arc<dyn Fn() -> BoxFuture<'static, Result<u64, AppError>> + Send + Sync>;

/// The connection's `totalCount`, computed only when asked for.
pub struct TotalCount(CountFn);

impl TotalCount {
    pub fn new<F, Fut>(count: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<u64, AppError>> + Send + 'static,
    {
        Self(Arc::new(move || Box::pin(count())))
    }
}

#[Object]
impl TotalCount {
    /// How many items match the filter, across all pages.
    async fn total_count(&self) -> async_graphql::Result<i32> {
        (self.0)().await.gql().map(super::scalars::count)
    }
}

/// A Relay connection over rows with integer ids.
pub type IdConnection<N> = Connection<IdCursor, N, TotalCount>;

/// Builds a connection from a page.
pub fn connection<M, N>(
    page: Page<M>,
    id_of: impl Fn(&M) -> i64,
    wrap: impl Fn(M) -> N,
    total: TotalCount,
) -> IdConnection<N>
where
    N: async_graphql::OutputType,
{
    let mut connection = Connection::with_additional_fields(page.has_previous, page.has_next, total);
    connection.edges = page.items.into_iter().map(|m| Edge::new(IdCursor(id_of(&m)), wrap(m))).collect();
    connection
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_outside_1_to_100_are_refused() {
        assert!(page_request(Some(100), None, None, None).is_ok());
        assert!(page_request(Some(1), None, None, None).is_ok());
        for bad in [0, -1, 101, i32::MAX] {
            let err = page_request(Some(bad), None, None, None).expect_err("refused");
            assert_eq!(err.code(), "BAD_USER_INPUT");
            assert!(page_request(None, None, Some(bad), None).is_err());
        }
        assert!(page_request(Some(5), None, Some(5), None).is_err());
    }

    #[test]
    fn default_page_is_the_first_twenty() {
        assert_eq!(
            page_request(None, None, None, None).ok(),
            Some(PageRequest::Forward { size: 20, after: None, before: None })
        );
    }

    #[test]
    fn only_our_cursors_are_accepted() {
        let c = IdCursor(7).encode_cursor();
        assert_eq!(
            page_request(Some(2), Some(c), None, None).ok(),
            Some(PageRequest::Forward { size: 2, after: Some(7), before: None })
        );
        assert!(page_request(Some(2), Some(id::encode("Program", 7)), None, None).is_err());
        assert!(page_request(Some(2), Some("nonsense".into()), None, None).is_err());
    }
}
