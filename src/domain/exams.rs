//! The exam catalog's rules: what a valid exam is, which voucher
//! families cover it, and from when it can no longer be booked.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use entity::enums::CertificationLevel;

use crate::{
    domain::{
        catalog::{MAX_NAME, Problems, check_text, is_family_name},
        codes::is_exam,
    },
    error::{UserError, UserErrorCode},
};

/// The package family that covers every exam of the catalog: a Microsoft
/// Certification Program voucher registers for any one certification exam
/// (decided here: the sources sell it for "an exam", naming no family).
pub const ANY_EXAM: &str = "MCP";

/// Whether one family entry of a package covers an exam of `exam_family`:
/// [`ANY_EXAM`] covers all; `MTA+MCE` covers MTA and MCE exams.
pub fn covers(package_family: &str, exam_family: &str) -> bool {
    package_family == ANY_EXAM || package_family.split('+').any(|f| f == exam_family)
}

/// Whether any of a package's families covers `exam_family`.
pub fn covered_by(package_families: &[String], exam_family: &str) -> bool {
    package_families.iter().any(|f| covers(f, exam_family))
}

/// Whether an exam can still be booked at `now`: retired from its
/// retirement instant on ("retired 2021-01-31 at 11:59" takes no booking
/// at 11:59:00).
pub fn bookable(retires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    retires_at.is_none_or(|at| now < at)
}

/// A retirement as announced: the instant, and the UTC offset of the time
/// zone it was announced in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retirement {
    pub at: DateTime<Utc>,
    pub offset_minutes: i32,
}

impl Retirement {
    /// Reads RFC 3339 with the announcing zone's offset
    /// (`2021-01-31T11:59:00-06:00`); `None` when it is not that.
    pub fn parse(text: &str) -> Option<Self> {
        let local = DateTime::parse_from_rfc3339(text.trim()).ok()?;
        let offset_minutes = local.offset().local_minus_utc() / 60;
        Some(Self { at: local.with_timezone(&Utc), offset_minutes })
    }

    /// The calendar day of the retirement where it was announced.
    pub fn local_day(self) -> chrono::NaiveDate {
        match FixedOffset::east_opt(self.offset_minutes * 60) {
            Some(offset) => self.at.with_timezone(&offset).date_naive(),
            None => self.at.date_naive(),
        }
    }

    /// The retirement as it was announced, RFC 3339 in its zone's offset.
    pub fn announced(self) -> String {
        match FixedOffset::east_opt(self.offset_minutes * 60) {
            Some(offset) => self.at.with_timezone(&offset).to_rfc3339_opts(SecondsFormat::Secs, false),
            None => self.at.to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    }
}

/// An exam to add to the catalog, or an exam's new description.
#[derive(Debug, Clone)]
pub struct ExamDraft {
    pub code: String,
    pub name: String,
    pub family: String,
    pub level: CertificationLevel,
    pub retirement: Option<Retirement>,
}

/// The most an offset may be, in minutes (UTC-18:00 .. UTC+18:00, as RFC 3339 allows).
const MAX_OFFSET_MINUTES: i32 = 18 * 60;

/// Reads a retirement field: `None` when absent, a refusal when malformed.
pub fn retirement(field: &str, text: Option<&str>) -> Result<Option<Retirement>, UserError> {
    let Some(text) = text else { return Ok(None) };
    match Retirement::parse(text) {
        Some(r) if r.offset_minutes.abs() <= MAX_OFFSET_MINUTES => Ok(Some(r)),
        _ => Err(UserError::on(
            field,
            UserErrorCode::InvalidFormat,
            "a retirement is RFC 3339 with the offset of the zone it was announced in, such as 2021-01-31T11:59:00-06:00",
        )),
    }
}

impl ExamDraft {
    /// Every problem with the draft, each on its field.
    pub fn validate(&self) -> Result<(), Vec<UserError>> {
        let mut p = Problems::default();
        if !is_exam(&self.code) {
            p.add("code", UserErrorCode::InvalidFormat, "an exam code is 2-40 of A-Z, 0-9 and -, such as MO-100");
        }
        check_text(&mut p, "name", &self.name, MAX_NAME, true);
        if !is_family_name(&self.family) {
            p.add("family", UserErrorCode::InvalidFormat, "a family is one name of A-Z, 0-9 and _, such as MOS");
        } else if self.family == ANY_EXAM {
            p.add(
                "family",
                UserErrorCode::InvalidFormat,
                "MCP stands for every exam on a voucher package; give the exam's own family",
            );
        }
        p.into_result()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_family_entry_covers_its_names_and_mcp_covers_all() {
        // a MOS/MTA/MCE site-pack voucher cannot book AZ-104.
        let site = ["MOS".to_owned(), "MTA".to_owned(), "MCE".to_owned()];
        assert!(covered_by(&site, "MOS"));
        assert!(!covered_by(&site, "ROLE_BASED"));
        assert!(!covered_by(&site, "FUNDAMENTALS"));
        let mixed = ["MTA+MCE".to_owned(), "MOS+MCE".to_owned()];
        assert!(covered_by(&mixed, "MTA") && covered_by(&mixed, "MOS") && covered_by(&mixed, "MCE"));
        assert!(!covered_by(&mixed, "MC"), "a name, not a prefix");
        assert!(!covered_by(&mixed, "MTA+MCE"), "an exam has one family");
        assert!(covered_by(&["MCP".to_owned()], "ROLE_BASED"));
        assert!(!covered_by(&[], "MOS"));
    }

    #[test]
    fn an_exam_retires_at_its_instant() {
        // "Retired 2021-01-31 at 11:59 test-centre time" (UTC-6).
        let r = Retirement::parse("2021-01-31T11:59:00-06:00").expect("valid");
        assert_eq!(r.at, Utc.with_ymd_and_hms(2021, 1, 31, 17, 59, 0).unwrap());
        assert_eq!(r.offset_minutes, -360);
        assert_eq!(r.announced(), "2021-01-31T11:59:00-06:00");
        // 23:59 at UTC-6 is the next day in UTC; the day is the announced one.
        let late = Retirement::parse("2021-01-31T23:59:00-06:00").expect("valid");
        assert_eq!(late.at.date_naive(), chrono::NaiveDate::from_ymd_opt(2021, 2, 1).unwrap());
        assert_eq!(late.local_day(), chrono::NaiveDate::from_ymd_opt(2021, 1, 31).unwrap());
        assert!(bookable(Some(r.at), r.at - chrono::Duration::seconds(1)));
        assert!(!bookable(Some(r.at), r.at));
        assert!(bookable(None, r.at));
        assert!(Retirement::parse("2021-01-31 11:59").is_none(), "no offset, no zone");
        assert!(retirement("retiresAt", Some("2021-01-31T11:59:00+19:00")).is_err());
    }

    #[test]
    fn a_draft_names_one_family() {
        let draft = |family: &str| ExamDraft {
            code: "MO-100".into(),
            name: "Word".into(),
            family: family.into(),
            level: CertificationLevel::Basic,
            retirement: None,
        };
        assert!(draft("MOS").validate().is_ok());
        assert!(draft("ROLE_BASED").validate().is_ok());
        assert!(draft("MOS+MCE").validate().is_err());
        assert!(draft("MCP").validate().is_err());
        assert!(draft("mos").validate().is_err());
    }
}
