//! What memberships grant and what a merge of two partner accounts
//! does to their memberships, pure.
//!
//! Benefits are codes (activation tokens, product keys, Visual Studio
//! subscriptions) linked to the membership. They are valid through the
//! membership's current renewal window and follow its renewals, so they stop
//! working the day after the membership expires, computed at request time
//! like any code's expiry.

use chrono::NaiveDate;
use entity::enums::{BenefitProduct, CodeKind, CompetencyLevel, Offer};

use crate::domain::memberships::achievement_rank;

/// One line of a benefits package: `codes` codes of `product`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub product: BenefitProduct,
    /// How many codes.
    pub codes: u32,
    /// Seats of each activation token.
    pub seats: Option<i32>,
    /// Activations of each product key.
    pub activations: Option<i32>,
    /// Part of the core benefits package, of which a merged account keeps
    /// one; otherwise competency-specific.
    pub core: bool,
}

const fn subscriptions(product: BenefitProduct, codes: u32) -> Grant {
    Grant { product, codes, seats: None, activations: None, core: true }
}

const fn seats(codes: u32, seats: i32) -> Grant {
    Grant { product: BenefitProduct::Microsoft365E3, codes, seats: Some(seats), activations: None, core: true }
}

const fn key(product: BenefitProduct, activations: i32, core: bool) -> Grant {
    Grant { product, codes: 1, seats: None, activations: Some(activations), core }
}

const ACTION_PACK: &[Grant] = &[
    subscriptions(BenefitProduct::VisualStudioProfessional, 3),
    seats(1, 5),
    key(BenefitProduct::WindowsServer, 2, true),
];

const LEARNING_ACTION_PACK: &[Grant] = &[
    subscriptions(BenefitProduct::VisualStudioProfessional, 5),
    seats(1, 10),
    key(BenefitProduct::WindowsServer, 5, true),
];

const SILVER: &[Grant] = &[
    subscriptions(BenefitProduct::VisualStudioEnterprise, 5),
    seats(1, 25),
    key(BenefitProduct::WindowsServer, 10, true),
    key(BenefitProduct::SqlServer, 5, false),
];

const GOLD: &[Grant] = &[
    subscriptions(BenefitProduct::VisualStudioEnterprise, 10),
    seats(1, 50),
    key(BenefitProduct::WindowsServer, 25, true),
    key(BenefitProduct::SqlServer, 10, false),
];

/// The benefits package an offer (at a level, for a competency) grants on
/// enrolment. ACTION_PACK grants Visual Studio Professional, never
/// Enterprise.
pub fn package(offer: Offer, level: Option<CompetencyLevel>) -> &'static [Grant] {
    match (offer, level) {
        (Offer::ActionPack, _) => ACTION_PACK,
        (Offer::LearningActionPack, _) => LEARNING_ACTION_PACK,
        (Offer::Competency, Some(CompetencyLevel::Gold)) => GOLD,
        (Offer::Competency, _) => SILVER,
    }
}

/// The kind of code that carries a product: subscriptions are per user,
/// Microsoft 365 seats come as an activation token, servers as product keys.
pub fn kind_of(product: BenefitProduct) -> CodeKind {
    match product {
        BenefitProduct::VisualStudioProfessional | BenefitProduct::VisualStudioEnterprise => CodeKind::VsSubscription,
        BenefitProduct::Microsoft365E3 => CodeKind::ActivationToken,
        BenefitProduct::WindowsServer | BenefitProduct::SqlServer => CodeKind::ProductKey,
    }
}

/// Whether an offer may grant a product at all: ACTION_PACK never grants
/// Visual Studio Enterprise.
pub fn may_grant(offer: Offer, product: BenefitProduct) -> bool {
    !(offer == Offer::ActionPack && product == BenefitProduct::VisualStudioEnterprise)
}

/// Which account of a merge a membership comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Survivor,
    Merged,
}

/// A membership as a merge sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub id: i64,
    pub side: Side,
    pub offer: Offer,
    pub level: Option<CompetencyLevel>,
    pub competency: Option<String>,
    /// Not expired on the day of the merge.
    pub live: bool,
    /// The last day of its current renewal window.
    pub window_closes: NaiveDate,
}

/// What a merge does to one membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// The highest achievement: it and its core benefits package carry on,
    /// renewal after renewal.
    KeepsCorePackage,
    /// Carries on and renews; its core benefits end with its current
    /// renewal window, its competency-specific benefits carry on.
    CoreBenefitsEndAtRenewal,
    /// A duplicate (a second ACTION_PACK or LEARNING_ACTION_PACK, or a second
    /// membership in the same competency): keeps its benefits until its
    /// renewal, then collapses into the one kept.
    CollapsesAtRenewal,
    /// Already expired on the day of the merge and duplicated by another: ended now.
    EndsNow,
    /// Already expired, not duplicated: moves over as it is.
    StaysExpired,
}

/// The duplicate group of a membership: one of each per account after a merge.
fn group(m: &Held) -> (Offer, Option<&str>) {
    (m.offer, if m.offer == Offer::Competency { m.competency.as_deref() } else { None })
}

/// Preference among duplicates and for the core package: live first, then
/// the higher achievement, then the survivor's, then the older.
fn preference(m: &Held) -> (bool, u8, bool, std::cmp::Reverse<i64>) {
    (m.live, achievement_rank(m.offer, m.level), m.side == Side::Survivor, std::cmp::Reverse(m.id))
}

/// The plan of a merge: each membership's fate, in input order. Each
/// keeps its benefits until its next renewal; at renewal the account keeps
/// one core benefits package, that of its highest achievement, plus the
/// competency-specific benefits; one membership per offer (one ACTION_PACK)
/// and per competency remains.
pub fn merge_plan(held: &[Held]) -> Vec<Fate> {
    let best_of_group = |m: &Held| {
        held.iter().filter(|o| group(o) == group(m)).max_by_key(|o| preference(o)).map(|o| o.id) == Some(m.id)
    };
    let top = held.iter().filter(|m| m.live && best_of_group(m)).max_by_key(|m| preference(m)).map(|m| m.id);
    held.iter()
        .map(|m| match (best_of_group(m), m.live) {
            (true, true) if Some(m.id) == top => Fate::KeepsCorePackage,
            (true, true) => Fate::CoreBenefitsEndAtRenewal,
            (true, false) => Fate::StaysExpired,
            (false, true) => Fate::CollapsesAtRenewal,
            (false, false) => Fate::EndsNow,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn held(id: i64, side: Side, offer: Offer, level: Option<CompetencyLevel>, competency: Option<&str>) -> Held {
        Held {
            id,
            side,
            offer,
            level,
            competency: competency.map(str::to_owned),
            live: true,
            window_closes: d(2027, 1, 1),
        }
    }

    #[test]
    fn action_pack_grants_professional_never_enterprise_r27() {
        let products: Vec<_> = package(Offer::ActionPack, None).iter().map(|g| g.product).collect();
        assert!(products.contains(&BenefitProduct::VisualStudioProfessional));
        assert!(!products.contains(&BenefitProduct::VisualStudioEnterprise));
        assert!(!may_grant(Offer::ActionPack, BenefitProduct::VisualStudioEnterprise));
        assert!(may_grant(Offer::ActionPack, BenefitProduct::VisualStudioProfessional));
        assert!(may_grant(Offer::Competency, BenefitProduct::VisualStudioEnterprise));
        for offer in [Offer::ActionPack, Offer::LearningActionPack, Offer::Competency] {
            for level in [None, Some(CompetencyLevel::Silver), Some(CompetencyLevel::Gold)] {
                assert!(package(offer, level).iter().all(|g| may_grant(offer, g.product)));
            }
        }
    }

    #[test]
    fn every_grant_fits_the_kind_of_its_product() {
        for offer in [Offer::ActionPack, Offer::LearningActionPack, Offer::Competency] {
            for level in [None, Some(CompetencyLevel::Silver), Some(CompetencyLevel::Gold)] {
                for g in package(offer, level) {
                    assert!(g.codes > 0);
                    assert_eq!(g.seats.is_some(), kind_of(g.product) == CodeKind::ActivationToken, "{g:?}");
                    assert_eq!(g.activations.is_some(), kind_of(g.product) == CodeKind::ProductKey, "{g:?}");
                }
            }
        }
    }

    #[test]
    fn gold_grants_more_than_silver() {
        let total = |level| package(Offer::Competency, Some(level)).iter().map(|g| g.codes).sum::<u32>();
        assert!(total(CompetencyLevel::Gold) > total(CompetencyLevel::Silver));
    }

    #[test]
    fn merge_keeps_one_action_pack_the_survivors_r29() {
        let plan = merge_plan(&[
            held(1, Side::Survivor, Offer::ActionPack, None, None),
            held(2, Side::Merged, Offer::ActionPack, None, None),
        ]);
        assert_eq!(plan, vec![Fate::KeepsCorePackage, Fate::CollapsesAtRenewal]);
    }

    #[test]
    fn merge_keeps_the_core_package_of_the_highest_achievement_r29() {
        let plan = merge_plan(&[
            held(1, Side::Survivor, Offer::ActionPack, None, None),
            held(2, Side::Merged, Offer::Competency, Some(CompetencyLevel::Gold), Some("Cloud Platform")),
            held(3, Side::Survivor, Offer::Competency, Some(CompetencyLevel::Silver), Some("Cloud Platform")),
            held(4, Side::Survivor, Offer::Competency, Some(CompetencyLevel::Silver), Some("Data Analytics")),
            held(5, Side::Merged, Offer::LearningActionPack, None, None),
        ]);
        assert_eq!(
            plan,
            vec![
                Fate::CoreBenefitsEndAtRenewal,
                Fate::KeepsCorePackage,
                Fate::CollapsesAtRenewal,
                Fate::CoreBenefitsEndAtRenewal,
                Fate::CoreBenefitsEndAtRenewal,
            ]
        );
    }

    #[test]
    fn merge_prefers_a_live_membership_over_an_expired_duplicate() {
        let mut lapsed = held(1, Side::Survivor, Offer::ActionPack, None, None);
        lapsed.live = false;
        let plan = merge_plan(&[lapsed, held(2, Side::Merged, Offer::ActionPack, None, None)]);
        assert_eq!(plan, vec![Fate::EndsNow, Fate::KeepsCorePackage]);
        let mut alone = held(3, Side::Merged, Offer::LearningActionPack, None, None);
        alone.live = false;
        assert_eq!(merge_plan(&[alone]), vec![Fate::StaysExpired]);
    }

    #[test]
    fn equal_achievements_keep_the_survivors_core_package() {
        let plan = merge_plan(&[
            held(7, Side::Merged, Offer::Competency, Some(CompetencyLevel::Gold), Some("A")),
            held(9, Side::Survivor, Offer::Competency, Some(CompetencyLevel::Gold), Some("B")),
        ]);
        assert_eq!(plan, vec![Fate::CoreBenefitsEndAtRenewal, Fate::KeepsCorePackage]);
    }
}
