//! Assigning codes to people: one code to one person, or one
//! code each to a list of people in one operation, all or none. People are
//! stored and compared by [`person_key`] (trimmed, lowercase).

use chrono::{DateTime, Utc};
use entity::{
    agreement, code,
    enums::{CodeStatus, StoredCodeStatus},
    order,
};
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, Statement,
    sea_query::Expr,
};

use crate::{
    auth::Viewer,
    domain::{codes::effective_status, organizations::check_assignee, people::person_key},
    error::{AppError, UserError, UserErrorCode},
    service::{
        Outcome,
        codes::{ATTEMPTS, actor, code, explain, guarded, refuse_code, still},
        orders, placeholder, refuse, scope,
    },
};

/// Most people one `assignCodes` call assigns.
pub const MAX_BULK: usize = 10_000;

/// Assigns a code to one person, for good. The caller administers
/// the owning organization (checked here) or is an admin.
pub async fn assign(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    id: i64,
    assignee: String,
) -> Result<Outcome<code::Model>, AppError> {
    if let Err(errors) = check_assignee(&assignee) {
        return Ok(Err(errors));
    }
    let assignee = person_key(&assignee);
    let today = now.date_naive();
    for _ in 0..ATTEMPTS {
        let Some(code) = code(db, viewer, id).await?.filter(|c| scope::administers(viewer, c.organization_id)) else {
            return refuse("codeId", UserErrorCode::NotFound, "code not found");
        };
        let problem = match effective_status(code.status, code.valid_until, today) {
            _ if code.assignee.is_some() => Some(UserErrorCode::AlreadyAssigned),
            CodeStatus::Issued => None,
            CodeStatus::Expired => Some(UserErrorCode::Expired),
            CodeStatus::Revoked => Some(UserErrorCode::Revoked),
            CodeStatus::Replaced => Some(UserErrorCode::Replaced),
            CodeStatus::Redeemed => Some(UserErrorCode::AlreadyRedeemed),
            CodeStatus::Assigned | CodeStatus::Active => Some(UserErrorCode::AlreadyActive),
        };
        if let Some(problem) = problem {
            return refuse_code("codeId", problem);
        }
        let update = code::Entity::update_many()
            .col_expr(code::Column::Status, Expr::value(StoredCodeStatus::Assigned))
            .col_expr(code::Column::Assignee, Expr::value(assignee.clone()))
            .col_expr(code::Column::AssignedAt, Expr::value(now));
        let guard = still(&code, today).add(code::Column::Assignee.is_null());
        let detail = Some(format!("assigned to {assignee}"));
        if let Some(updated) = guarded(db, id, guard, update, now, actor(viewer), "ASSIGN", code.status, detail).await?
        {
            return Ok(Ok(updated));
        }
    }
    refuse("codeId", UserErrorCode::AlreadyAssigned, explain(UserErrorCode::AlreadyAssigned))
}

/// What `assignCodes` did.
#[derive(Debug, Clone)]
pub struct Assigned {
    pub order: order::Model,
    /// People given a code, one each.
    pub count: usize,
}

/// An error on `input.assignees[index]`.
fn on_person(index: usize, code: UserErrorCode, message: String) -> UserError {
    UserError { code, field: Some(vec!["input".into(), "assignees".into(), index.to_string()]), message }
}

/// The people of a bulk assignment, checked and normalized, or every
/// problem with them: blank, too long, control characters, and anyone
/// named twice (after normalization), each listed with its position.
pub fn people(assignees: &[String]) -> Result<Vec<String>, Vec<UserError>> {
    if assignees.is_empty() || assignees.len() > MAX_BULK {
        return Err(vec![UserError::on(
            "assignees",
            UserErrorCode::OutOfRange,
            format!("give 1 to {MAX_BULK} people ({} given)", assignees.len()),
        )]);
    }
    let mut errors = Vec::new();
    let mut first: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut keys = Vec::with_capacity(assignees.len());
    for (i, raw) in assignees.iter().enumerate() {
        if let Err(problems) = check_assignee(raw) {
            errors.extend(problems.into_iter().map(|p| on_person(i, p.code, p.message)));
            continue;
        }
        let key = person_key(raw);
        if let Some(earlier) = first.get(&key) {
            errors.push(on_person(i, UserErrorCode::Duplicate, format!("{key} is already listed at {earlier}")));
            continue;
        }
        first.insert(key.clone(), i);
        keys.push(key);
    }
    if errors.is_empty() { Ok(keys) } else { Err(errors) }
}

/// Gives one unassigned code of an order to each person, all or none
/// refused whole when anyone is listed twice, already holds a code
/// of the order (each listed), or the order has fewer usable unassigned
/// codes than people. The caller administers the order's organization.
pub async fn assign_many(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    order_id: i64,
    assignees: &[String],
) -> Result<Outcome<Assigned>, AppError> {
    let people = match people(assignees) {
        Ok(people) => people,
        Err(errors) => return Ok(Err(errors)),
    };
    // The order as the caller sees it, and only to administer its codes.
    let Some(order) = orders::order(db, viewer, order_id).await? else {
        return refuse("orderId", UserErrorCode::NotFound, "order not found");
    };
    let owner = agreement::Entity::find_by_id(order.agreement_id).one(db).await?.map(|a| a.organization_id);
    if !owner.is_some_and(|org| scope::administers(viewer, org)) {
        return refuse("orderId", UserErrorCode::NotFound, "order not found");
    }
    let backend = db.get_database_backend();
    let p = |n| placeholder(backend, n);
    let list = serde_json::to_string(&people).map_err(|e| AppError::internal(format!("people as JSON: {e}")))?;
    let listed = match backend {
        DbBackend::Postgres => format!("SELECT json_array_elements_text({}::json)", p(2)),
        _ => format!("SELECT value FROM json_each({})", p(2)),
    };
    let today = now.date_naive();
    let issued = StoredCodeStatus::Issued.to_value();
    let txn = crate::db::begin(db).await?;
    // One bulk assignment of an order at a time: a no-op write on the order
    // (a row lock on PostgreSQL, the write lock on SQLite).
    order::Entity::update_many()
        .col_expr(order::Column::Id, Expr::col(order::Column::Id))
        .filter(order::Column::Id.eq(order_id))
        .exec(&txn)
        .await?;
    let holders = format!(
        "SELECT DISTINCT assignee FROM codes WHERE order_id = {} AND assignee IN ({listed}) ORDER BY assignee",
        p(1)
    );
    let rows = txn
        .query_all_raw(Statement::from_sql_and_values(backend, holders, [order_id.into(), list.clone().into()]))
        .await?;
    if !rows.is_empty() {
        let position: std::collections::HashMap<&str, usize> =
            people.iter().enumerate().map(|(i, p)| (p.as_str(), i)).collect();
        let mut errors = Vec::with_capacity(rows.len());
        for row in rows {
            let holder: String = row.try_get_by_index(0)?;
            let index = position.get(holder.as_str()).copied().unwrap_or(0);
            errors.push(on_person(
                index,
                UserErrorCode::AlreadyHoldsCode,
                format!("{holder} already holds a code of this order"),
            ));
        }
        errors.sort_by_key(|e| e.field.as_ref().and_then(|f| f.get(2)).and_then(|i| i.parse::<usize>().ok()));
        return Ok(Err(errors));
    }
    // The first usable unassigned codes, in order, paired with the people.
    let lock = if backend == DbBackend::Postgres { " FOR UPDATE" } else { "" };
    let pick = format!(
        "SELECT id FROM codes WHERE order_id = {} AND status = {} AND assignee IS NULL AND valid_until >= {} \
         ORDER BY id LIMIT {}{lock}",
        p(1),
        p(2),
        p(3),
        p(4)
    );
    let values: Vec<sea_orm::Value> = vec![
        order_id.into(),
        issued.clone().into(),
        today.into(),
        i64::try_from(people.len()).unwrap_or(i64::MAX).into(),
    ];
    let ids: Vec<i64> = txn
        .query_all_raw(Statement::from_sql_and_values(backend, pick, values))
        .await?
        .iter()
        .map(|row| row.try_get_by_index(0))
        .collect::<Result<_, _>>()?;
    if ids.len() < people.len() {
        return refuse(
            "assignees",
            UserErrorCode::NotEnoughCodes,
            format!("{} people, but the order has {} unassigned codes that can still be used", people.len(), ids.len()),
        );
    }
    let pairs: Vec<(i64, &str)> = ids.iter().copied().zip(people.iter().map(String::as_str)).collect();
    let pairs = serde_json::to_string(&pairs).map_err(|e| AppError::internal(format!("pairs as JSON: {e}")))?;
    let assigned = StoredCodeStatus::Assigned.to_value();
    // The pairs as a table: PostgreSQL joins the JSON with a hash join;
    // SQLite would rescan it for every code, so it gets a keyed temporary
    // table (this connection's, emptied after).
    let (update, source, values): (String, &str, Vec<sea_orm::Value>) = match backend {
        DbBackend::Postgres => (
            format!(
                "UPDATE codes SET status = {}, assignee = j.person, assigned_at = {} \
                 FROM (SELECT (e->>0)::bigint AS id, e->>1 AS person FROM json_array_elements({}::json) AS e) AS j \
                 WHERE codes.id = j.id AND codes.assignee IS NULL AND codes.status = {}",
                p(1),
                p(2),
                p(3),
                p(4)
            ),
            "(SELECT (e->>0)::bigint AS id, e->>1 AS person FROM json_array_elements($1::json) AS e) AS j",
            vec![assigned.clone().into(), now.into(), pairs.clone().into(), issued.clone().into()],
        ),
        _ => {
            txn.execute_unprepared(
                "CREATE TEMP TABLE IF NOT EXISTS assignment_batch (id INTEGER PRIMARY KEY, person TEXT NOT NULL)",
            )
            .await?;
            txn.execute_unprepared("DELETE FROM assignment_batch").await?;
            let fill = "INSERT INTO assignment_batch (id, person) \
                        SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1)";
            txn.execute_raw(Statement::from_sql_and_values(backend, fill, [pairs.clone().into()])).await?;
            (
                "UPDATE codes SET status = ?1, assigned_at = ?2, \
                 assignee = (SELECT person FROM assignment_batch b WHERE b.id = codes.id) \
                 WHERE id IN (SELECT id FROM assignment_batch) AND assignee IS NULL AND status = ?3"
                    .to_owned(),
                "assignment_batch AS j",
                vec![assigned.clone().into(), now.into(), issued.clone().into()],
            )
        }
    };
    let done = txn.execute_raw(Statement::from_sql_and_values(backend, update, values)).await?.rows_affected();
    if done != ids.len() as u64 {
        return Err(AppError::internal(format!(
            "bulk assignment of order {order_id}: {done} of {} codes changed",
            ids.len()
        )));
    }
    let (first, events_values): (usize, Vec<sea_orm::Value>) = match backend {
        DbBackend::Postgres => (2, vec![pairs.into()]),
        _ => (1, vec![]),
    };
    let events = format!(
        "INSERT INTO code_events (code_id, at, actor, action, from_status, to_status, detail) \
         SELECT j.id, {}, {}, 'ASSIGN', {}, {}, 'assigned to ' || j.person FROM {source} ORDER BY j.id",
        p(first),
        p(first + 1),
        p(first + 2),
        p(first + 3)
    );
    let mut values = events_values;
    values.extend([now.into(), actor(viewer).into(), issued.into(), assigned.into()]);
    txn.execute_raw(Statement::from_sql_and_values(backend, events, values)).await?;
    if backend != DbBackend::Postgres {
        txn.execute_unprepared("DELETE FROM assignment_batch").await?;
    }
    txn.commit().await?;
    Ok(Ok(Assigned { order, count: people.len() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_are_normalized_and_duplicates_listed_by_position() {
        let list = |xs: &[&str]| xs.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(people(&list(&[" Ada@X.edu", "bob@x.edu"])).unwrap(), vec!["ada@x.edu", "bob@x.edu"]);
        let errors = people(&list(&["ada@x.edu", "bob@x.edu", " ADA@x.edu ", "", "bob@x.edu"])).unwrap_err();
        let found: Vec<(UserErrorCode, String)> =
            errors.iter().map(|e| (e.code, e.field.clone().unwrap_or_default().join("."))).collect();
        assert_eq!(
            found,
            vec![
                (UserErrorCode::Duplicate, "input.assignees.2".to_owned()),
                (UserErrorCode::Blank, "input.assignees.3".to_owned()),
                (UserErrorCode::Duplicate, "input.assignees.4".to_owned()),
            ]
        );
        assert_eq!(people(&[]).unwrap_err()[0].code, UserErrorCode::OutOfRange);
        assert_eq!(people(&vec!["a".to_owned(); MAX_BULK + 1]).unwrap_err()[0].code, UserErrorCode::OutOfRange);
    }
}
