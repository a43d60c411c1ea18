//! Renewal worklists: memberships whose anniversary or renewal
//! window's end comes up, as a list and as a paginated connection.

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{Datelike, NaiveDate};
use entity::membership;

use crate::{
    error::{AppError, GqlResultExt},
    graphql::{
        context::ContextExt,
        memberships::Membership,
        relay::{IdConnection, TotalCount, connection, connection_cost, id_arg, page_request},
        scalars::{Date, count},
    },
    service::{
        page::{Page, PageRequest},
        partners::{self as service, Due},
    },
};

/// Which date of a membership a reminder is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum RenewalDue {
    /// The anniversary: the renewal window opens the next day.
    Anniversary,
    /// The last day of the renewal window: the membership expires after it.
    WindowCloses,
}

/// A membership date coming up.
#[derive(SimpleObject)]
pub struct UpcomingRenewal {
    /// The day.
    pub on: Date,
    /// What happens that day.
    pub due: RenewalDue,
    /// Days from `asOf` to it.
    pub days_left: i32,
    /// The membership.
    pub membership: Membership,
}

/// Renewal queries.
#[derive(Default)]
pub struct RenewalQuery;

#[Object]
impl RenewalQuery {
    /// Memberships whose anniversary or renewal window end falls within
    /// `within` days of `asOf` (default today), soonest first: all for
    /// admins, their own for partner administrators. One list
    /// of at most 500; `upcomingRenewalsConnection` pages through them all.
    async fn upcoming_renewals(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Days to look ahead, 0..366.")] within: i32,
        #[graphql(desc = "The first day (default today).")] as_of: Option<Date>,
        #[graphql(desc = "Only this partner's memberships.")] organization_id: Option<ID>,
        #[graphql(desc = "At most this many, 1..500 (default 100).", default = 100)] first: i32,
    ) -> Result<Vec<UpcomingRenewal>> {
        let viewer = ctx.signed_in().gql()?;
        let org = organization_id.map(|id| id_arg("Organization", "organizationId", &id)).transpose().gql()?;
        let limit = usize::try_from(first)
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| AppError::bad_input("`first` is 1 to 500").into_graphql())?;
        let day = ctx.day_or_today(as_of).gql()?;
        let due =
            service::upcoming_renewals(ctx.db().gql()?, viewer, org, i64::from(within), day, limit).await.gql()?;
        Ok(due.into_iter().map(|entry| upcoming(entry, day)).collect())
    }

    /// The same worklist as `upcomingRenewals`, soonest first, as a Relay
    /// connection: pages of `first`/`after` or `last`/`before` (1..100,
    /// default 20) and a `totalCount`.
    #[graphql(complexity = "connection_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments, reason = "GraphQL arguments")]
    async fn upcoming_renewals_connection(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Days to look ahead, 0..366.")] within: i32,
        #[graphql(desc = "The first day (default today).")] as_of: Option<Date>,
        #[graphql(desc = "Only this partner's memberships.")] organization_id: Option<ID>,
        #[graphql(desc = "Page size from the start, 1..100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size from the end, 1..100.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<IdConnection<UpcomingRenewal>> {
        let request = page_request(first, after, last, before).gql()?;
        let viewer = ctx.signed_in().gql()?;
        let org = organization_id.map(|id| id_arg("Organization", "organizationId", &id)).transpose().gql()?;
        let day = ctx.day_or_today(as_of).gql()?;
        let due =
            service::upcoming_renewals(ctx.db().gql()?, viewer, org, i64::from(within), day, usize::MAX).await.gql()?;
        let total = u64::try_from(due.len()).unwrap_or(u64::MAX);
        let keyed: Vec<(i64, (NaiveDate, Due, membership::Model))> =
            due.into_iter().map(|entry| (position(&entry), entry)).collect();
        let page = page_of(keyed, request);
        Ok(connection(
            page,
            |(key, _)| *key,
            |(_, entry)| upcoming(entry, day),
            TotalCount::new(move || async move { Ok(total) }),
        ))
    }
}

fn upcoming((on, what, m): (NaiveDate, Due, membership::Model), day: NaiveDate) -> UpcomingRenewal {
    UpcomingRenewal {
        on: on.into(),
        due: match what {
            Due::Anniversary => RenewalDue::Anniversary,
            Due::WindowCloses => RenewalDue::WindowCloses,
        },
        days_left: count((on - day).num_days()),
        membership: Membership(m),
    }
}

/// An entry's place in the worklist's order (day, membership, anniversary
/// before window end) as one positive number, the cursor: the day (days
/// from year 1, below 2^22 through year 9999) in the high bits, the
/// membership id (below 2^40) and the kind in the low ones. Stable while
/// memberships change, unlike a position in the list.
fn position((on, what, m): &(NaiveDate, Due, membership::Model)) -> i64 {
    let day = i64::from(on.num_days_from_ce().max(0));
    (day << 41) | ((m.id & ((1 << 40) - 1)) << 1) | i64::from(*what == Due::WindowCloses)
}

/// The page `request` asks for, of entries sorted by key.
fn page_of<T>(entries: Vec<(i64, T)>, request: PageRequest) -> Page<(i64, T)> {
    let (size, after, before, backward) = match request {
        PageRequest::Forward { size, after, before } => (size, after, before, false),
        PageRequest::Backward { size, after, before } => (size, after, before, true),
    };
    let inside: Vec<(i64, T)> =
        entries.into_iter().filter(|(k, _)| after.is_none_or(|a| *k > a) && before.is_none_or(|b| *k < b)).collect();
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let more = inside.len() > size;
    let mut items = inside;
    if backward {
        let skip = items.len().saturating_sub(size);
        items.drain(..skip);
        Page { items, has_previous: more, has_next: before.is_some() }
    } else {
        items.truncate(size);
        Page { items, has_previous: after.is_some(), has_next: more }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_stay_positive_and_ordered_through_year_9999() {
        let entry = |y, id, what| {
            let m = membership::Model { id, ..test_membership() };
            (NaiveDate::from_ymd_opt(y, 12, 31).unwrap(), what, m)
        };
        let last = position(&entry(9999, (1 << 40) - 1, Due::WindowCloses));
        assert!(last > 0);
        assert!(position(&entry(2026, 5, Due::Anniversary)) < position(&entry(2026, 5, Due::WindowCloses)));
        assert!(position(&entry(2026, 6, Due::Anniversary)) < position(&entry(2027, 1, Due::Anniversary)));
        assert!(position(&entry(9998, 1, Due::Anniversary)) < last);
    }

    fn test_membership() -> membership::Model {
        membership::Model {
            id: 0,
            organization_id: 0,
            partner_global_account: "PGA".into(),
            offer: entity::enums::Offer::ActionPack,
            level: None,
            competency: None,
            learning_option: false,
            purchased_on: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
            renewals: 0,
            upgraded_from_id: None,
            upgrade_discount: false,
            ended_on: None,
            ended_reason: None,
            created_at: chrono::DateTime::UNIX_EPOCH,
            core_benefits_until: None,
        }
    }

    #[test]
    fn pages_follow_the_keys_both_ways() {
        let entries = || (1..=5).map(|k| (k * 10, k)).collect::<Vec<_>>();
        let page = page_of(entries(), PageRequest::Forward { size: 2, after: Some(20), before: None });
        assert_eq!(page.items.iter().map(|(_, v)| *v).collect::<Vec<_>>(), vec![3, 4]);
        assert!(page.has_next && page.has_previous);
        let last = page_of(entries(), PageRequest::Backward { size: 2, after: None, before: None });
        assert_eq!(last.items.iter().map(|(_, v)| *v).collect::<Vec<_>>(), vec![4, 5]);
        assert!(last.has_previous && !last.has_next);
    }
}
