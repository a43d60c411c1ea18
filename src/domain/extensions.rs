//! The desk's bulk term extensions: every membership whose
//! current term ends (its anniversary) between two days keeps its
//! benefits until its next anniversary, except named competencies. The
//! fee is not waived: it is due in the new term's renewal window, as for
//! any renewal. All or none, up to [`MAX_EXTENDED`] memberships at once.

use chrono::NaiveDate;
use entity::enums::Offer;

use crate::{
    domain::{
        catalog::Problems,
        memberships::{current_anniversary, renewal_window},
        organizations::check_reason,
    },
    error::{UserError, UserErrorCode},
};

/// The most memberships one extension may move.
pub const MAX_EXTENDED: usize = 10_000;
/// The most competencies one extension may leave out.
pub const MAX_EXCEPTED: usize = 100;
/// The widest span of anniversaries one extension may name, in days.
pub const MAX_SPAN_DAYS: i64 = 731;

/// What the desk asks for.
#[derive(Debug, Clone)]
pub struct ExtensionRequest {
    pub anniversaries_from: NaiveDate,
    pub anniversaries_to: NaiveDate,
    pub except_competencies: Vec<String>,
    pub reason: String,
}

impl ExtensionRequest {
    /// Every problem with the request, each on its field.
    pub fn validate(&self) -> Result<(), Vec<UserError>> {
        let mut p = Problems::default();
        if self.anniversaries_to < self.anniversaries_from {
            p.add("anniversariesTo", UserErrorCode::OutOfRange, "the last anniversary comes on or after the first");
        } else if (self.anniversaries_to - self.anniversaries_from).num_days() > MAX_SPAN_DAYS {
            p.add(
                "anniversariesTo",
                UserErrorCode::OutOfRange,
                "one extension names at most two years of anniversaries",
            );
        }
        if self.except_competencies.len() > MAX_EXCEPTED {
            p.add("exceptCompetencies", UserErrorCode::OutOfRange, format!("at most {MAX_EXCEPTED} competencies"));
        }
        if self.reason.trim().is_empty() {
            p.add("reason", UserErrorCode::Blank, "an extension says why (R-23)");
        }
        for problem in check_reason(Some(&self.reason)) {
            if problem.code != UserErrorCode::Blank {
                p.push(problem);
            }
        }
        p.into_result()
    }

    /// Whether a membership's current term is one this extension moves.
    pub fn covers(&self, anniversary: NaiveDate, offer: Offer, competency: Option<&str>) -> bool {
        let excepted = offer == Offer::Competency
            && competency.is_some_and(|c| self.except_competencies.iter().any(|e| e.trim() == c));
        (self.anniversaries_from..=self.anniversaries_to).contains(&anniversary) && !excepted
    }
}

/// One membership's term, before and after the extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extended {
    /// The anniversary that ended its term.
    pub anniversary: NaiveDate,
    /// The next one, which ends it now.
    pub new_anniversary: NaiveDate,
    /// The last day its benefits work now: the new term's window's last day.
    pub benefits_until: NaiveDate,
}

/// The term of a membership bought on `purchased_on` with `renewals`
/// renewals, extended to its next anniversary; `None` past the calendar.
pub fn extend(purchased_on: NaiveDate, renewals: u32) -> Option<Extended> {
    let anniversary = current_anniversary(purchased_on, renewals)?;
    let new_anniversary = current_anniversary(purchased_on, renewals.checked_add(1)?)?;
    let (_, benefits_until) = renewal_window(new_anniversary)?;
    Some(Extended { anniversary, new_anniversary, benefits_until })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    fn request() -> ExtensionRequest {
        ExtensionRequest {
            anniversaries_from: d(2020, 7, 1),
            anniversaries_to: d(2020, 12, 31),
            except_competencies: vec!["Cloud Business Applications".into()],
            reason: "COVID-19 extension".into(),
        }
    }

    #[test]
    fn the_range_is_inclusive_and_named_competencies_are_left_out() {
        // R-23's own case: anniversaries 2020-07-01 .. 2020-12-31, except
        // Cloud Business Applications.
        let r = request();
        assert!(r.covers(d(2020, 7, 1), Offer::ActionPack, None));
        assert!(r.covers(d(2020, 12, 31), Offer::Competency, Some("Cloud Platform")));
        assert!(!r.covers(d(2020, 6, 30), Offer::ActionPack, None));
        assert!(!r.covers(d(2021, 1, 1), Offer::ActionPack, None));
        assert!(!r.covers(d(2020, 9, 1), Offer::Competency, Some("Cloud Business Applications")));
        assert!(r.covers(d(2020, 9, 1), Offer::LearningActionPack, None));
    }

    #[test]
    fn a_term_moves_to_the_next_anniversary_and_29_february_stays_itself() {
        // Bought 2019-09-01: the 2020-09-01 term ends 2021-09-01, benefits
        // through the window's last day.
        assert_eq!(
            extend(d(2019, 9, 1), 0),
            Some(Extended {
                anniversary: d(2020, 9, 1),
                new_anniversary: d(2021, 9, 1),
                benefits_until: d(2021, 10, 1)
            })
        );
        // Bought 2016-02-29: its 2020 anniversary is 29 February, the next 28 February 2021.
        let leap = extend(d(2016, 2, 29), 3).expect("a term");
        assert_eq!((leap.anniversary, leap.new_anniversary), (d(2020, 2, 29), d(2021, 2, 28)));
    }

    #[test]
    fn a_request_is_refused_with_every_reason() {
        let mut r = request();
        r.anniversaries_to = d(2020, 6, 30);
        r.reason = " ".into();
        let codes: Vec<UserErrorCode> = r.validate().unwrap_err().into_iter().map(|e| e.code).collect();
        assert_eq!(codes, [UserErrorCode::OutOfRange, UserErrorCode::Blank]);
        assert!(request().validate().is_ok());
    }
}
