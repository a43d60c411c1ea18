//! Partner membership rules (R-21 .. R-30), pure: anniversaries, renewal
//! windows and status, eligibility, the core
//! benefits package after a merge, and the directory's processing calendar.
//!
//! A membership's term is counted from its purchase date: the n-th
//! anniversary is the purchase date's month and day n years on, so a
//! 29 February purchase has its anniversaries on 28 February, and on
//! 29 February again in leap years. Each renewal moves the current
//! anniversary one year on.

use chrono::{Datelike, Days, Months, NaiveDate};
use entity::enums::{CompetencyLevel, Offer};

/// Days the renewal window lasts, from the day after the anniversary.
pub const WINDOW_DAYS: u64 = 30;
/// Last day of a month whose directory submissions are processed that month.
pub const DIRECTORY_CUTOFF_DAY: u32 = 21;
/// First day of the directory's processing week: the third week.
pub const DIRECTORY_PROCESSING_DAY: u32 = 15;
/// Day of the month a processed listing becomes visible.
pub const DIRECTORY_VISIBLE_DAY: u32 = 7;

/// Where a membership stands on a day (R-21 .. R-23).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Within its term.
    Active,
    /// Past its anniversary, inside the 30-day renewal window; benefits stay.
    InRenewalWindow,
    /// Past the window (or ended): benefits lost.
    Expired,
}

/// The `years`-th anniversary of `purchased_on`: same month and day, 29
/// February becoming 28 February in a non-leap year.
pub fn anniversary_after(purchased_on: NaiveDate, years: u32) -> Option<NaiveDate> {
    purchased_on.checked_add_months(Months::new(years.checked_mul(12)?))
}

/// The anniversary that ends the current term, after `renewals` renewals.
pub fn current_anniversary(purchased_on: NaiveDate, renewals: u32) -> Option<NaiveDate> {
    anniversary_after(purchased_on, renewals.checked_add(1)?)
}

/// The anniversary of the term in force on `as_of`: the first anniversary
/// on or after it, but never past the current term's (after `renewals`
/// renewals), so a lapsed membership keeps the anniversary it lapsed at.
pub fn anniversary_in_force(purchased_on: NaiveDate, renewals: u32, as_of: NaiveDate) -> Option<NaiveDate> {
    let last = renewals.checked_add(1)?;
    let mut years = 1;
    loop {
        let anniversary = anniversary_after(purchased_on, years)?;
        if anniversary >= as_of || years >= last {
            return Some(anniversary);
        }
        years += 1;
    }
}

/// The renewal window after `anniversary`: its next day through 30 days
/// later (purchase 2020-09-01: 2021-09-02 .. 2021-10-01).
pub fn renewal_window(anniversary: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    Some((anniversary.checked_add_days(Days::new(1))?, anniversary.checked_add_days(Days::new(WINDOW_DAYS))?))
}

/// The standing on `as_of` of a membership whose term ends on `anniversary`
/// and which was ended (merged away, R-29) on `ended_on`, if it was.
pub fn standing(anniversary: NaiveDate, ended_on: Option<NaiveDate>, as_of: NaiveDate) -> Standing {
    if ended_on.is_some_and(|ended| as_of >= ended) {
        return Standing::Expired;
    }
    match renewal_window(anniversary) {
        _ if as_of <= anniversary => Standing::Active,
        Some((_, closes)) if as_of <= closes => Standing::InRenewalWindow,
        _ => Standing::Expired,
    }
}

/// Benefits stay active through the renewal window and end after it.
pub fn benefits_active(standing: Standing) -> bool {
    standing != Standing::Expired
}

/// The renewals count that gives a membership reactivated on `today` by an
/// administrator's exception a term running past `today`: the first
/// anniversary on or after `today` ends the new term.
pub fn renewals_for_reactivation(purchased_on: NaiveDate, today: NaiveDate) -> Option<u32> {
    let mut renewals = 0u32;
    while current_anniversary(purchased_on, renewals)? < today {
        renewals = renewals.checked_add(1)?;
    }
    Some(renewals)
}

/// The first day of `(year, month)`.
fn first_of(year: i32, month: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, 1)
}

/// What a competency level requires, as stored per competency and level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Requirement {
    pub min_kpi_value: i64,
    pub min_revenue_cents: i64,
    pub min_certified_trainers: i64,
    pub min_passed_exams: i64,
}

/// The levels a competency offers, each with what it requires. A
/// level without requirements defined is not offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Levels {
    pub silver: Option<Requirement>,
    pub gold: Option<Requirement>,
}

impl Levels {
    /// Both levels offered.
    pub fn both(silver: Requirement, gold: Requirement) -> Self {
        Self { silver: Some(silver), gold: Some(gold) }
    }

    /// Whether `level` is offered.
    pub fn offers(&self, level: CompetencyLevel) -> bool {
        match level {
            CompetencyLevel::Silver => self.silver.is_some(),
            CompetencyLevel::Gold => self.gold.is_some(),
        }
    }
}

/// What a partner has, for eligibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PartnerFacts {
    pub kpi_value: i64,
    pub revenue_cents: i64,
    pub certified_trainers: i64,
    pub passed_exams: i64,
    /// The partner global account already holds a live ACTION_PACK.
    pub holds_action_pack: bool,
}

/// One requirement the partner does not meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmet {
    /// The rule, such as `R-25`.
    pub rule: &'static str,
    /// What is measured, such as `certifiedTrainers`.
    pub requirement: &'static str,
    /// For a competency, the level whose requirement this is.
    pub level: Option<CompetencyLevel>,
    pub required: i64,
    pub actual: i64,
}

/// The outcome of an eligibility dry run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eligibility {
    /// Every requirement not met, each with its rule and both values.
    pub unmet: Vec<Unmet>,
    /// For a competency, the best level the partner qualifies for.
    pub best_level: Option<CompetencyLevel>,
}

impl Eligibility {
    pub fn eligible(&self) -> bool {
        self.unmet.is_empty()
    }
}

fn level_gaps(level: CompetencyLevel, req: &Requirement, facts: &PartnerFacts) -> Vec<Unmet> {
    [
        ("kpiValue", req.min_kpi_value, facts.kpi_value),
        ("revenueCents", req.min_revenue_cents, facts.revenue_cents),
        ("certifiedTrainers", req.min_certified_trainers, facts.certified_trainers),
        ("passedExams", req.min_passed_exams, facts.passed_exams),
    ]
    .into_iter()
    .filter(|(_, required, actual)| actual < required)
    .map(|(requirement, required, actual)| Unmet { rule: "R-26", requirement, level: Some(level), required, actual })
    .collect()
}

/// Checks whether a partner may hold `offer` (at `level` for a competency),
/// given the competency's levels (R-24 .. R-26). GOLD needs the SILVER
/// requirements and the GOLD ones as well; a level not offered is never the
/// best level.
pub fn eligibility(offer: Offer, level: Option<CompetencyLevel>, levels: &Levels, facts: &PartnerFacts) -> Eligibility {
    match offer {
        Offer::ActionPack => Eligibility {
            unmet: if facts.holds_action_pack {
                vec![Unmet { rule: "R-24", requirement: "actionPacksPerAccount", level: None, required: 1, actual: 2 }]
            } else {
                vec![]
            },
            best_level: None,
        },
        Offer::LearningActionPack => Eligibility {
            unmet: if facts.certified_trainers < 1 {
                vec![Unmet {
                    rule: "R-25",
                    requirement: "certifiedTrainers",
                    level: None,
                    required: 1,
                    actual: facts.certified_trainers,
                }]
            } else {
                vec![]
            },
            best_level: None,
        },
        Offer::Competency => {
            let silver_gaps = level_gaps(CompetencyLevel::Silver, &levels.silver.unwrap_or_default(), facts);
            let gold_gaps = level_gaps(CompetencyLevel::Gold, &levels.gold.unwrap_or_default(), facts);
            let best_level = match (silver_gaps.is_empty(), gold_gaps.is_empty()) {
                (true, true) if levels.gold.is_some() => Some(CompetencyLevel::Gold),
                (true, _) if levels.silver.is_some() => Some(CompetencyLevel::Silver),
                _ => None,
            };
            let unmet = match level.unwrap_or(CompetencyLevel::Silver) {
                CompetencyLevel::Silver => silver_gaps,
                CompetencyLevel::Gold => silver_gaps.into_iter().chain(gold_gaps).collect(),
            };
            Eligibility { unmet, best_level }
        }
    }
}

/// The rank of a membership as an achievement, for the single core
/// benefits package a merged account keeps at renewal: a GOLD
/// competency above a SILVER one, above a LEARNING_ACTION_PACK, above an
/// ACTION_PACK.
pub fn achievement_rank(offer: Offer, level: Option<CompetencyLevel>) -> u8 {
    match (offer, level) {
        (Offer::Competency, Some(CompetencyLevel::Gold)) => 4,
        (Offer::Competency, _) => 3,
        (Offer::LearningActionPack, _) => 2,
        (Offer::ActionPack, _) => 1,
    }
}

/// When a directory listing submitted on `submitted_on` is processed (the
/// third week: days 15 to 21 of the processing month) and when it becomes
/// visible: on or before the 21st, processed that month;
/// later, the next month; visible from the 7th of the month after
/// processing. Returns `(processing week starts, visible from)`.
pub fn directory_schedule(submitted_on: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let month_start = first_of(submitted_on.year(), submitted_on.month())?;
    let processing_month = if submitted_on.day() <= DIRECTORY_CUTOFF_DAY {
        month_start
    } else {
        month_start.checked_add_months(Months::new(1))?
    };
    let processing = processing_month.with_day(DIRECTORY_PROCESSING_DAY)?;
    let visible = processing_month.checked_add_months(Months::new(1))?.with_day(DIRECTORY_VISIBLE_DAY)?;
    Some((processing, visible))
}

/// The ISO 3166-1 alpha-2 codes officially assigned (249), sorted. `UK`,
/// `EU` and the user-assigned ranges are not among them.
const COUNTRIES: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD",
    "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA",
    "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE",
    "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA",
    "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK",
    "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP",
    "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT",
    "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS",
    "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ",
    "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS",
    "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST",
    "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
    "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA",
    "ZM", "ZW",
];

/// The country a listing names: an assigned ISO 3166-1 alpha-2 code,
/// written in any case (`gb` is `GB`); `None` for anything else (`UK`).
pub fn country_code(text: &str) -> Option<&'static str> {
    let upper = text.trim().to_ascii_uppercase();
    COUNTRIES.binary_search(&upper.as_str()).ok().map(|i| COUNTRIES[i])
}

/// A partner-owned homepage: an absolute `https://` URL with a host, no
/// credentials, no spaces, at most 2 000 characters.
pub fn is_https_homepage(url: &str) -> bool {
    // Schemes are case-insensitive (RFC 3986): HTTPS:// is https://.
    let Some(rest) = url.get(..8).filter(|scheme| scheme.eq_ignore_ascii_case("https://")).map(|_| &url[8..]) else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    url.len() <= 2000
        && !host.is_empty()
        && !host.contains('@')
        && host.contains('.')
        && !host.starts_with('.')
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    #[test]
    fn the_window_opens_the_day_after_the_anniversary_and_lasts_thirty_days() {
        // purchase 2020-09-01 -> window 2021-09-02 .. 2021-10-01.
        let anniversary = current_anniversary(d(2020, 9, 1), 0).expect("date");
        assert_eq!(anniversary, d(2021, 9, 1));
        assert_eq!(renewal_window(anniversary), Some((d(2021, 9, 2), d(2021, 10, 1))));
        assert_eq!(standing(anniversary, None, d(2021, 9, 1)), Standing::Active, "the anniversary itself");
        assert_eq!(standing(anniversary, None, d(2021, 9, 2)), Standing::InRenewalWindow, "day 1 of the window");
        assert_eq!(standing(anniversary, None, d(2021, 10, 1)), Standing::InRenewalWindow, "day 30 of the window");
        assert_eq!(standing(anniversary, None, d(2021, 10, 2)), Standing::Expired, "the day after the window");
        assert!(benefits_active(Standing::InRenewalWindow));
        assert!(!benefits_active(Standing::Expired));
    }

    #[test]
    fn a_29_february_purchase_has_its_anniversary_on_28_february_in_common_years() {
        //
        let purchased = d(2024, 2, 29);
        assert_eq!(current_anniversary(purchased, 0), Some(d(2025, 2, 28)));
        assert_eq!(current_anniversary(purchased, 1), Some(d(2026, 2, 28)));
        assert_eq!(current_anniversary(purchased, 3), Some(d(2028, 2, 29)), "and on 29 February in leap years");
        assert_eq!(renewal_window(d(2025, 2, 28)), Some((d(2025, 3, 1), d(2025, 3, 30))));
        assert_eq!(renewal_window(d(2028, 2, 29)), Some((d(2028, 3, 1), d(2028, 3, 30))));
    }

    #[test]
    fn each_renewal_moves_the_anniversary_one_year_on() {
        assert_eq!(current_anniversary(d(2020, 9, 1), 1), Some(d(2022, 9, 1)));
        assert_eq!(current_anniversary(d(2020, 9, 1), 5), Some(d(2026, 9, 1)));
    }

    #[test]
    fn the_anniversary_in_force_is_that_of_the_term_holding_the_day() {
        // Renewed twice: terms end 2021-09-01, 2022-09-01, 2023-09-01.
        let purchased = d(2020, 9, 1);
        assert_eq!(anniversary_in_force(purchased, 2, d(2021, 9, 1)), Some(d(2021, 9, 1)));
        assert_eq!(anniversary_in_force(purchased, 2, d(2021, 9, 2)), Some(d(2022, 9, 1)), "renewed: the next term");
        assert_eq!(anniversary_in_force(purchased, 2, d(2025, 1, 1)), Some(d(2023, 9, 1)), "lapsed: the last one");
        assert_eq!(anniversary_in_force(purchased, 0, d(2019, 1, 1)), Some(d(2021, 9, 1)));
    }

    #[test]
    fn an_ended_membership_is_expired_from_its_end() {
        // a merged-away membership.
        let anniversary = d(2027, 9, 1);
        assert_eq!(standing(anniversary, Some(d(2026, 12, 1)), d(2026, 11, 30)), Standing::Active);
        assert_eq!(standing(anniversary, Some(d(2026, 12, 1)), d(2026, 12, 1)), Standing::Expired);
    }

    #[test]
    fn a_reactivated_membership_runs_to_its_next_anniversary() {
        // lapsed in 2021, reactivated on 2023-01-10: the term ends 2023-09-01.
        let renewals = renewals_for_reactivation(d(2020, 9, 1), d(2023, 1, 10)).expect("renewals");
        assert_eq!(current_anniversary(d(2020, 9, 1), renewals), Some(d(2023, 9, 1)));
        // Reactivated on an anniversary day itself: that day ends the term.
        assert_eq!(renewals_for_reactivation(d(2020, 9, 1), d(2022, 9, 1)), Some(1));
    }

    fn req(kpi: i64, trainers: i64, exams: i64) -> Requirement {
        Requirement {
            min_kpi_value: kpi,
            min_revenue_cents: 0,
            min_certified_trainers: trainers,
            min_passed_exams: exams,
        }
    }

    #[test]
    fn a_learning_action_pack_needs_one_certified_trainer_and_nothing_else() {
        //
        let none = PartnerFacts::default();
        let result = eligibility(Offer::LearningActionPack, None, &Levels::both(req(9, 9, 9), req(9, 9, 9)), &none);
        assert_eq!(result.unmet.len(), 1);
        assert_eq!((result.unmet[0].rule, result.unmet[0].required, result.unmet[0].actual), ("R-25", 1, 0));
        let one = PartnerFacts { certified_trainers: 1, ..PartnerFacts::default() };
        assert!(
            eligibility(Offer::LearningActionPack, None, &Levels::both(req(9, 9, 9), req(9, 9, 9)), &one).eligible()
        );
    }

    #[test]
    fn gold_needs_the_silver_requirements_and_the_gold_kpis_and_the_best_level_is_offered() {
        //
        let (silver, gold) = (req(100, 1, 2), req(500, 2, 4));
        let facts = PartnerFacts { kpi_value: 300, certified_trainers: 2, passed_exams: 4, ..PartnerFacts::default() };
        let at_gold = eligibility(Offer::Competency, Some(CompetencyLevel::Gold), &Levels::both(silver, gold), &facts);
        assert_eq!(at_gold.best_level, Some(CompetencyLevel::Silver));
        assert_eq!(
            at_gold.unmet,
            vec![Unmet {
                rule: "R-26",
                requirement: "kpiValue",
                level: Some(CompetencyLevel::Gold),
                required: 500,
                actual: 300
            }]
        );
        assert!(
            eligibility(Offer::Competency, Some(CompetencyLevel::Silver), &Levels::both(silver, gold), &facts)
                .eligible()
        );
        let poor = PartnerFacts { kpi_value: 99, certified_trainers: 0, passed_exams: 2, ..PartnerFacts::default() };
        let at_silver =
            eligibility(Offer::Competency, Some(CompetencyLevel::Silver), &Levels::both(silver, gold), &poor);
        assert_eq!(at_silver.best_level, None);
        assert_eq!(
            at_silver.unmet.iter().map(|u| u.requirement).collect::<Vec<_>>(),
            vec!["kpiValue", "certifiedTrainers"]
        );
        let rich = PartnerFacts { kpi_value: 500, certified_trainers: 2, passed_exams: 4, ..PartnerFacts::default() };
        assert_eq!(
            eligibility(Offer::Competency, None, &Levels::both(silver, gold), &rich).best_level,
            Some(CompetencyLevel::Gold)
        );
        // A competency without a GOLD level never offers GOLD, however rich the partner.
        let silver_only = Levels { silver: Some(silver), gold: None };
        assert_eq!(eligibility(Offer::Competency, None, &silver_only, &rich).best_level, Some(CompetencyLevel::Silver));
    }

    #[test]
    fn a_second_action_pack_on_one_account_is_refused() {
        //
        let holds = PartnerFacts { holds_action_pack: true, ..PartnerFacts::default() };
        let result = eligibility(Offer::ActionPack, None, &Levels::both(req(0, 0, 0), req(0, 0, 0)), &holds);
        assert_eq!(result.unmet[0].rule, "R-24");
        assert!(
            eligibility(Offer::ActionPack, None, &Levels::both(req(0, 0, 0), req(0, 0, 0)), &PartnerFacts::default())
                .eligible()
        );
    }

    #[test]
    fn the_core_package_after_a_merge_is_the_highest_achievement() {
        //
        let ranks = [
            achievement_rank(Offer::ActionPack, None),
            achievement_rank(Offer::LearningActionPack, None),
            achievement_rank(Offer::Competency, Some(CompetencyLevel::Silver)),
            achievement_rank(Offer::Competency, Some(CompetencyLevel::Gold)),
        ];
        assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{ranks:?}");
    }

    #[test]
    fn listings_submitted_by_the_21st_are_processed_that_month() {
        // third week = days 15-21; visible on the 7th of the next month.
        assert_eq!(directory_schedule(d(2026, 11, 21)), Some((d(2026, 11, 15), d(2026, 12, 7))));
        assert_eq!(directory_schedule(d(2026, 11, 1)), Some((d(2026, 11, 15), d(2026, 12, 7))));
        assert_eq!(directory_schedule(d(2026, 11, 22)), Some((d(2026, 12, 15), d(2027, 1, 7))));
        assert_eq!(directory_schedule(d(2026, 12, 31)), Some((d(2027, 1, 15), d(2027, 2, 7))));
    }

    #[test]
    fn directory_fields_are_checked() {
        //
        // assigned codes in any case; UK, EU, user-assigned and unassigned ones never.
        assert_eq!(country_code("FR"), Some("FR"));
        assert_eq!(country_code(" fr "), Some("FR"));
        assert_eq!(country_code("gb"), Some("GB"));
        for not_a_country in ["UK", "uk", "EU", "ZZ", "XK", "AA", "QM", "FRA", "", "F"] {
            assert_eq!(country_code(not_a_country), None, "{not_a_country}");
        }
        assert!(COUNTRIES.windows(2).all(|w| w[0] < w[1]), "sorted, for the binary search");
        assert!(is_https_homepage("HTTPS://www.northwind.example/training"));
        assert!(is_https_homepage("Https://www.northwind.example"));
        assert!(is_https_homepage("https://www.northwind.example/training"));
        assert!(!is_https_homepage("http://www.northwind.example"));
        assert!(!is_https_homepage("https://"));
        assert!(!is_https_homepage("https://user:pw@northwind.example"));
        assert!(!is_https_homepage("https://north wind.example"));
        assert!(!is_https_homepage("https://localhost"));
    }
}
