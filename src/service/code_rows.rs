//! Code rows decoded by position.
//!
//! sea-orm's derived decoding looks each column up by name and, for every
//! NULL it reads into an `Option`, formats an error message (the column's
//! name, escaped) that it then throws away. A code has eleven nullable
//! columns and a page of 50 orders reads 1 000 codes: on that page the
//! derived decoding was 30 % of the server's CPU, most of it formatting
//! those messages (perf, docs/performance.md). [`CodeRow`] reads the same
//! columns with the same sqlx decoders, by position, and a NULL is just
//! `None`.
//!
//! A row is read by position only when its columns are exactly
//! [`code::Column`]'s, in order: what `code::Entity::find()` selects, and
//! what [`Columns::list`] lists for raw SQL. Any other row (a prefixed or joined
//! select, a future column) goes through sea-orm's own decoding, so a
//! mismatch costs speed, never a wrong value.

use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use entity::code;
use sea_orm::{
    ActiveEnum, ConnectionTrait, DbErr, FromQueryResult, QueryResult, Select, Statement,
    sqlx::{self, Column as _},
};

/// Which of a code's columns a read selects (ordered: brief before all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Columns {
    /// The first `BRIEF` columns: what a code's brief fields read
    /// (`graphql::codes` keeps that list). The model's other fields hold
    /// neutral values (`None`, 0, false, the Unix epoch) that no brief
    /// field reads.
    Brief,
    /// Every column: a whole [`code::Model`].
    All,
}

impl Columns {
    /// The columns' names, in the entity's order (`NAMES`).
    pub fn names(self) -> &'static [&'static str] {
        match self {
            Columns::All => &NAMES,
            Columns::Brief => &NAMES[..BRIEF],
        }
    }

    /// The columns, comma-separated: the select list of raw SQL whose rows
    /// are read as codes.
    pub fn list(self) -> &'static str {
        static ALL: LazyLock<String> = LazyLock::new(|| Columns::All.names().join(", "));
        static BRIEF: LazyLock<String> = LazyLock::new(|| Columns::Brief.names().join(", "));
        match self {
            Columns::All => &ALL,
            Columns::Brief => &BRIEF,
        }
    }
}

/// How many of [`NAMES`], from the first, a brief read selects: the code,
/// its owners (organization, order, membership), kind, value, status, last
/// usable day and assignee.
const BRIEF: usize = 9;

/// `codes`' columns in [`code::Column`]'s order (a test keeps them in step
/// with the entity): the positions [`by_position`] reads.
const NAMES: [&str; 21] = [
    "id",
    "organization_id",
    "order_id",
    "membership_id",
    "kind",
    "value",
    "status",
    "valid_until",
    "assignee",
    "assigned_at",
    "redeemed_at",
    "exam",
    "seats",
    "activations_total",
    "activations_used",
    "tenant",
    "activated_at",
    "replaces_id",
    "created_at",
    "product",
    "core_benefit",
];

/// A code read by position; see the module's documentation.
pub struct CodeRow(pub code::Model);

/// The codes `select` finds, read by position.
pub async fn by_select(db: &impl ConnectionTrait, select: Select<code::Entity>) -> Result<Vec<code::Model>, DbErr> {
    Ok(models(select.into_model::<CodeRow>().all(db).await?))
}

/// The codes `statement` returns, read by position. It selects `columns`
/// ([`Columns::list`]); for [`Columns::All`], `codes.*` will do as well.
/// The models go straight into a vector of the rows' number.
pub async fn by_statement(
    db: &impl ConnectionTrait,
    statement: Statement,
    columns: Columns,
) -> Result<Vec<code::Model>, DbErr> {
    let rows = db.query_all_raw(statement).await?;
    let mut codes = Vec::with_capacity(rows.len());
    for row in &rows {
        codes.push(match columns {
            Columns::All => CodeRow::from_query_result(row, "")?.0,
            // No reading by name to fall back on: sea-orm's needs every column.
            Columns::Brief => read_by_position(row, columns)
                .ok_or_else(|| DbErr::Type(format!("a brief code row must select {}", Columns::Brief.list())))??,
        });
    }
    Ok(codes)
}

/// The models of `rows`.
pub fn models(rows: Vec<CodeRow>) -> Vec<code::Model> {
    rows.into_iter().map(|CodeRow(code)| code).collect()
}

impl FromQueryResult for CodeRow {
    fn from_query_result(res: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        match read_by_position(res, Columns::All) {
            Some(read) if pre.is_empty() => read.map(CodeRow),
            _ => code::Model::from_query_result(res, pre).map(CodeRow),
        }
    }
}

/// The code in `res`, read by position; `None` when `res`'s columns are
/// not exactly `columns`' names in order (then read it by name).
pub fn read_by_position(res: &QueryResult, columns: Columns) -> Option<Result<code::Model, DbErr>> {
    let names = columns.names();
    if let Some(row) = res.try_as_pg_row().filter(|r| in_order(*r, names)) {
        return Some(by_position(row, columns));
    }
    res.try_as_sqlite_row().filter(|r| in_order(*r, names)).map(|r| by_position(r, columns))
}

/// Whether `row`'s columns are exactly `names`, in order.
fn in_order<R: sqlx::Row>(row: &R, names: &[&str]) -> bool {
    let columns = row.columns();
    columns.len() == names.len() && columns.iter().zip(names).all(|(column, name)| column.name() == *name)
}

fn by_position<'r, R>(row: &'r R, columns: Columns) -> Result<code::Model, DbErr>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i32: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    NaiveDate: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    DateTime<Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn get<'r, R, T>(row: &'r R, index: usize) -> Result<T, DbErr>
    where
        R: sqlx::Row,
        usize: sqlx::ColumnIndex<R>,
        T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    {
        row.try_get(index).map_err(|e| DbErr::Type(format!("codes.{}: {e}", NAMES[index])))
    }
    fn vocabulary<E: ActiveEnum<Value = String>>(value: String) -> Result<E, DbErr> {
        E::try_from_value(&value)
    }
    let brief = code::Model {
        id: get(row, 0)?,
        organization_id: get(row, 1)?,
        order_id: get(row, 2)?,
        membership_id: get(row, 3)?,
        kind: vocabulary(get(row, 4)?)?,
        value: get(row, 5)?,
        status: vocabulary(get(row, 6)?)?,
        valid_until: get(row, 7)?,
        assignee: get(row, 8)?,
        // Neutral values (Columns::Brief), replaced below for a whole row.
        assigned_at: None,
        redeemed_at: None,
        exam: None,
        seats: None,
        activations_total: None,
        activations_used: 0,
        tenant: None,
        activated_at: None,
        replaces_id: None,
        created_at: DateTime::UNIX_EPOCH,
        product: None,
        core_benefit: false,
    };
    if columns == Columns::Brief {
        return Ok(brief);
    }
    Ok(code::Model {
        assigned_at: get(row, 9)?,
        redeemed_at: get(row, 10)?,
        exam: get(row, 11)?,
        seats: get(row, 12)?,
        activations_total: get(row, 13)?,
        activations_used: get(row, 14)?,
        tenant: get(row, 15)?,
        activated_at: get(row, 16)?,
        replaces_id: get(row, 17)?,
        created_at: get(row, 18)?,
        product: get::<_, Option<String>>(row, 19)?.map(vocabulary).transpose()?,
        core_benefit: get(row, 20)?,
        ..brief
    })
}

#[cfg(test)]
mod tests {
    use sea_orm::{IdenStatic, Iterable};

    use super::*;

    #[test]
    fn the_names_are_the_entitys_columns_in_order() {
        let entity: Vec<&str> = code::Column::iter().map(|c| c.as_str()).collect();
        assert_eq!(entity, NAMES);
        assert_eq!(Columns::All.list().split(", ").collect::<Vec<_>>(), NAMES);
        assert_eq!(
            Columns::Brief.list(),
            "id, organization_id, order_id, membership_id, kind, value, status, valid_until, assignee"
        );
        // The benchmark's pgbench reference runs the page's SQL as the server does.
        let bench = include_str!("../../bench/run.py");
        assert!(bench.contains(&format!("BRIEF_CODE_COLUMNS = \"{}\"", Columns::Brief.list())));
    }
}
