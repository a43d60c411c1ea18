//! Who sees which rows (R-32, docs/domain.md "Who may do what"), as SQL conditions, so
//! that listing, counting, look-up by id and `node(id)` all apply the same
//! rule and another organization's row is simply not found.
//!
//! | role            | organizations, agreements  | orders                     | codes                      |
//! |-----------------|----------------------------|----------------------------|----------------------------|
//! | admin           | all                        | all                        | all                        |
//! | customer_admin  | its own                    | its organization's         | its organization's         |
//! | partner_admin   | its own                    | its organization's         | its organization's         |
//! | reseller        | its own and those it serves| those of served customers  | those of served customers  |
//! | learner         | its own                    | none                       | those assigned to it       |
//!
//! Memberships, trainers and KPIs belong to partner accounts: admins reach
//! all, partner administrators their own ([`partner_accounts`]).
//!
//! A viewer with several roles sees the union.

use entity::{agreement, code, order, reseller_customer};
use sea_orm::{
    ColumnTrait, Condition,
    sea_query::{Query, SelectStatement},
};

use crate::auth::{Role, Viewer};

/// The organizations a reseller serves, as a subquery.
fn served_by(reseller: i64) -> SelectStatement {
    Query::select()
        .column(reseller_customer::Column::CustomerId)
        .from(reseller_customer::Entity)
        .and_where(reseller_customer::Column::ResellerId.eq(reseller))
        .to_owned()
}

/// Whether the viewer administers the organization `org` (its customer or
/// partner administrator), or is an admin.
pub fn administers(viewer: &Viewer, org: i64) -> bool {
    viewer.is_admin()
        || (viewer.organization_id == Some(org) && (viewer.has(Role::CustomerAdmin) || viewer.has(Role::PartnerAdmin)))
}

/// The one rule every scope below is made of: admins reach every row;
/// otherwise a row is reached when its organization column `org_column` is
/// the viewer's own organization and the viewer holds one of `own_roles`,
/// or, with `served`, an organization the viewer resells to.
fn reach<C: ColumnTrait>(viewer: &Viewer, org_column: C, own_roles: &[Role], served: bool) -> Condition {
    if viewer.is_admin() {
        return Condition::all();
    }
    let mut any = Condition::any();
    if let Some(own) = viewer.organization_id.filter(|_| viewer.is_authenticated()) {
        if own_roles.iter().any(|role| viewer.has(*role)) {
            any = any.add(org_column.eq(own));
        }
        if served && viewer.has(Role::Reseller) {
            any = any.add(org_column.in_subquery(served_by(own)));
        }
    }
    any
}

/// Every role that acts for an organization.
const ORGANIZATION_ROLES: [Role; 4] = [Role::CustomerAdmin, Role::Reseller, Role::PartnerAdmin, Role::Learner];

/// Rows whose organization column `org_column` the viewer may see:
/// its own organization, and those it serves as a reseller.
pub fn organizations<C: ColumnTrait>(viewer: &Viewer, org_column: C) -> Condition {
    reach(viewer, org_column, &ORGANIZATION_ROLES, true)
}

/// Organizations whose orders and codes the viewer may see.
fn ordering_organizations<C: ColumnTrait>(viewer: &Viewer, org_column: C) -> Condition {
    reach(viewer, org_column, &[Role::CustomerAdmin, Role::PartnerAdmin], true)
}

/// Events (the outbox) the viewer may read: those about its own
/// organization, for its administrators; every one for admins.
pub fn events<C: ColumnTrait>(viewer: &Viewer, org_column: C) -> Condition {
    reach(viewer, org_column, &[Role::CustomerAdmin, Role::PartnerAdmin], false)
}

/// Agreements the viewer may place orders under: admins any; customer
/// administrators their own organization's; resellers those of the
/// organizations they serve.
pub fn orderable_agreements(viewer: &Viewer) -> Condition {
    reach(viewer, agreement::Column::OrganizationId, &[Role::CustomerAdmin], true)
}

/// Partner accounts (and rows of theirs) the viewer acts for: admins all,
/// partner administrators their own.
pub fn partner_accounts<C: ColumnTrait>(viewer: &Viewer, org_column: C) -> Condition {
    reach(viewer, org_column, &[Role::PartnerAdmin], false)
}

/// Whether the viewer acts for the partner account `org`: the same
/// rule as [`partner_accounts`], for a row already loaded.
pub fn acts_for_partner(viewer: &Viewer, org: i64) -> bool {
    viewer.is_admin()
        || (viewer.is_authenticated() && viewer.organization_id == Some(org) && viewer.has(Role::PartnerAdmin))
}

/// Orders the viewer may see.
pub fn orders(viewer: &Viewer) -> Condition {
    if viewer.is_admin() {
        return Condition::all();
    }
    let agreements = Query::select()
        .column(agreement::Column::Id)
        .from(agreement::Entity)
        .cond_where(ordering_organizations(viewer, agreement::Column::OrganizationId))
        .to_owned();
    Condition::all().add(order::Column::AgreementId.in_subquery(agreements))
}

/// Codes the viewer may see (their value is a separate question: see
/// [`may_see_value`]).
pub fn codes(viewer: &Viewer) -> Condition {
    if viewer.is_admin() {
        return Condition::all();
    }
    let mut any = ordering_organizations(viewer, code::Column::OrganizationId);
    if let (Some(own), Some(person)) = (viewer.organization_id, viewer.person())
        && viewer.has(Role::Learner)
    {
        any =
            any.add(Condition::all().add(code::Column::OrganizationId.eq(own)).add(code::Column::Assignee.eq(person)));
    }
    any
}

/// Whether the viewer may see a visible order's details from one of its
/// codes: everyone who sees the code, except a learner who only holds it.
pub fn may_see_orders_of(viewer: &Viewer, org: i64) -> bool {
    viewer.is_admin()
        || (viewer.organization_id == Some(org) && (viewer.has(Role::CustomerAdmin) || viewer.has(Role::PartnerAdmin)))
        || viewer.has(Role::Reseller) && viewer.organization_id != Some(org)
}

/// Whether the viewer may read a code's value: the owning organization's
/// administrators, its assignee, and admins. Everyone else sees a hint.
pub fn may_see_value(viewer: &Viewer, code: &code::Model) -> bool {
    administers(viewer, code.organization_id)
        || (viewer.organization_id == Some(code.organization_id)
            && viewer.subject.is_some()
            && viewer.person().as_deref() == code.assignee.as_deref())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeSet;

    use chrono::{NaiveDate, TimeZone, Utc};
    use entity::enums::{CodeKind, StoredCodeStatus};

    use super::*;

    fn viewer(roles: &[Role], org: i64, sub: &str) -> Viewer {
        Viewer {
            subject: Some(sub.into()),
            roles: roles.iter().copied().collect::<BTreeSet<_>>(),
            organization_id: Some(org),
        }
    }

    /// A voucher of `org` with no optional facts, for tests.
    pub(crate) fn code(org: i64, assignee: Option<&str>) -> code::Model {
        code::Model {
            id: 1,
            organization_id: org,
            order_id: Some(1),
            membership_id: None,
            kind: CodeKind::ExamVoucher,
            value: "X".into(),
            status: StoredCodeStatus::Assigned,
            valid_until: NaiveDate::from_ymd_opt(2027, 6, 30).expect("date"),
            assignee: assignee.map(str::to_owned),
            assigned_at: None,
            redeemed_at: None,
            exam: None,
            seats: None,
            activations_total: None,
            activations_used: 0,
            tenant: None,
            activated_at: None,
            replaces_id: None,
            created_at: Utc.with_ymd_and_hms(2026, 11, 21, 0, 0, 0).single().expect("instant"),
            product: None,
            core_benefit: false,
        }
    }

    #[test]
    fn values_are_shown_to_owners_assignees_and_admins_only() {
        let c = code(7, Some("ada"));
        assert!(may_see_value(&viewer(&[Role::CustomerAdmin], 7, "boss"), &c));
        assert!(may_see_value(&viewer(&[Role::Learner], 7, "ada"), &c));
        assert!(may_see_value(&viewer(&[Role::Admin], 1, "desk"), &c));
        assert!(!may_see_value(&viewer(&[Role::Learner], 7, "bob"), &c));
        assert!(!may_see_value(&viewer(&[Role::Learner], 8, "ada"), &c), "same subject, other organization");
        assert!(!may_see_value(&viewer(&[Role::CustomerAdmin], 8, "boss"), &c));
        assert!(!may_see_value(&viewer(&[Role::Reseller], 9, "shop"), &c));
    }
}
