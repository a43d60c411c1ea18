//! Organizations and agreements: what a valid one looks like.

use chrono::NaiveDate;
use entity::enums::OrganizationKind;

use crate::{
    domain::catalog::Problems,
    error::{UserError, UserErrorCode},
};

/// Longest organization name.
pub const MAX_NAME: usize = 200;

/// An organization to create.
#[derive(Debug, Clone)]
pub struct OrganizationDraft {
    pub name: String,
    pub kind: OrganizationKind,
    pub accredited: bool,
    pub certiport_testing_center: bool,
    pub partner_global_account: Option<String>,
}

/// An agreement to create.
#[derive(Debug, Clone)]
pub struct AgreementDraft {
    pub organization_id: i64,
    pub program_code: String,
    pub number: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub notice_contact: String,
}

/// A partner global account id: 3 to 64 of A-Z, 0-9 and `-`.
pub fn is_partner_global_account(pga: &str) -> bool {
    (3..=64).contains(&pga.len()) && pga.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
}

/// An agreement number: 3 to 64 of A-Z, 0-9 and `-`.
pub fn is_agreement_number(number: &str) -> bool {
    (3..=64).contains(&number.len()) && number.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
}

/// A plausible e-mail address: one `@` with text on both sides, a dot in
/// the domain, no spaces, at most 254 characters. Delivery proves the rest.
pub fn is_email(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else { return false };
    address.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !address.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A person a code is assigned to: their token subject, 1 to 200 printable
/// characters.
/// Invisible format characters (Unicode Cf) a copy-paste or a spreadsheet
/// may bring: byte-order mark, zero-width space and joiners, directional
/// marks and isolates, soft hyphen.
fn is_format_char(c: char) -> bool {
    matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

pub fn check_assignee(assignee: &str) -> Result<(), Vec<UserError>> {
    let mut p = Problems::default();
    if assignee.trim().is_empty() {
        p.add("assignee", UserErrorCode::Blank, "assignee must not be blank");
    } else if assignee.chars().count() > 200 {
        p.add("assignee", UserErrorCode::TooLong, "assignee is longer than 200 characters");
    } else if assignee.chars().any(|c| c.is_control() || is_format_char(c)) {
        p.add("assignee", UserErrorCode::InvalidFormat, "assignee must not contain control or format characters");
    }
    p.into_result()
}

/// Changes to an organization; `None` leaves a value as it is.
#[derive(Debug, Clone, Default)]
pub struct OrganizationPatch {
    pub name: Option<String>,
    pub accredited: Option<bool>,
    pub certiport_testing_center: Option<bool>,
    pub reason: Option<String>,
}

/// Changes to an agreement; `None` leaves a value as it is.
#[derive(Debug, Clone, Default)]
pub struct AgreementPatch {
    pub notice_contact: Option<String>,
    pub ends_on: Option<NaiveDate>,
    pub reason: Option<String>,
}

/// Longest reason kept with a change, in characters.
pub const MAX_REASON: usize = 500;

/// A change's reason, when given: not blank, at most [`MAX_REASON`]
/// characters, no control characters.
pub fn check_reason(reason: Option<&str>) -> Vec<UserError> {
    let mut p = Problems::default();
    if let Some(reason) = reason {
        if reason.trim().is_empty() {
            p.add("reason", UserErrorCode::Blank, "a reason, when given, must not be blank");
        } else if reason.chars().count() > MAX_REASON {
            p.add("reason", UserErrorCode::TooLong, format!("a reason is at most {MAX_REASON} characters"));
        } else if reason.chars().any(char::is_control) {
            p.add("reason", UserErrorCode::InvalidFormat, "a reason must not contain control characters");
        }
    }
    p.into_result().err().unwrap_or_default()
}

impl OrganizationDraft {
    /// academic flags on academic organizations only; a partner has
    /// one partner global account, and only partners have one.
    pub fn validate(&self) -> Result<(), Vec<UserError>> {
        let mut p = Problems::default();
        if self.name.trim().is_empty() {
            p.add("name", UserErrorCode::Blank, "name must not be blank");
        } else if self.name.chars().count() > MAX_NAME {
            p.add("name", UserErrorCode::TooLong, format!("name is longer than {MAX_NAME} characters"));
        }
        if self.kind != OrganizationKind::Academic {
            if self.accredited {
                p.add("accredited", UserErrorCode::InvalidFormat, "only academic organizations are accredited");
            }
            if self.certiport_testing_center {
                p.add(
                    "certiportTestingCenter",
                    UserErrorCode::InvalidFormat,
                    "only academic organizations are Certiport testing centers",
                );
            }
        }
        match (&self.partner_global_account, self.kind) {
            (None, OrganizationKind::Partner) => {
                p.add("partnerGlobalAccount", UserErrorCode::Blank, "a partner needs its partner global account id")
            }
            (Some(_), kind) if kind != OrganizationKind::Partner => p.add(
                "partnerGlobalAccount",
                UserErrorCode::InvalidFormat,
                "only partner organizations have a partner global account",
            ),
            (Some(pga), _) if !is_partner_global_account(pga) => p.add(
                "partnerGlobalAccount",
                UserErrorCode::InvalidFormat,
                "a partner global account id is 3-64 of A-Z, 0-9 and -",
            ),
            _ => {}
        }
        p.into_result()
    }
}

impl AgreementDraft {
    /// a number, a start before the end, and a contact to deliver to.
    pub fn validate(&self) -> Result<(), Vec<UserError>> {
        let mut p = Problems::default();
        if !is_agreement_number(&self.number) {
            p.add("number", UserErrorCode::InvalidFormat, "an agreement number is 3-64 of A-Z, 0-9 and -");
        }
        if self.ends_on <= self.starts_on {
            p.add("endsOn", UserErrorCode::OutOfRange, "the agreement must end after it starts");
        }
        if !is_email(&self.notice_contact) {
            p.add("noticeContact", UserErrorCode::InvalidFormat, "the notice contact must be an e-mail address");
        }
        p.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(kind: OrganizationKind) -> OrganizationDraft {
        OrganizationDraft {
            name: "Contoso University".into(),
            kind,
            accredited: false,
            certiport_testing_center: false,
            partner_global_account: None,
        }
    }

    fn codes(result: Result<(), Vec<UserError>>) -> Vec<(String, UserErrorCode)> {
        result.err().unwrap_or_default().into_iter().map(|e| (e.field.unwrap_or_default().join("."), e.code)).collect()
    }

    #[test]
    fn academic_flags_belong_to_academic_organizations() {
        //
        let mut d = org(OrganizationKind::Academic);
        d.accredited = true;
        d.certiport_testing_center = true;
        assert!(d.validate().is_ok());
        d.kind = OrganizationKind::Enterprise;
        assert_eq!(codes(d.validate()).len(), 2);
    }

    #[test]
    fn a_partner_has_exactly_one_partner_global_account() {
        //
        let mut d = org(OrganizationKind::Partner);
        assert_eq!(codes(d.validate()), vec![("input.partnerGlobalAccount".into(), UserErrorCode::Blank)]);
        d.partner_global_account = Some("PGA-1001".into());
        assert!(d.validate().is_ok());
        d.kind = OrganizationKind::Enterprise;
        assert_eq!(codes(d.validate()), vec![("input.partnerGlobalAccount".into(), UserErrorCode::InvalidFormat)]);
    }

    #[test]
    fn an_agreement_ends_after_it_starts_and_delivers_to_an_address() {
        //
        let d = |y: i32, m: u32, day: u32| NaiveDate::from_ymd_opt(y, m, day).expect("date");
        let mut a = AgreementDraft {
            organization_id: 1,
            program_code: "EES".into(),
            number: "EES-2026-0001".into(),
            starts_on: d(2026, 7, 1),
            ends_on: d(2029, 6, 30),
            notice_contact: "licensing@contoso.edu".into(),
        };
        assert!(a.validate().is_ok());
        a.ends_on = a.starts_on;
        a.notice_contact = "not an address".into();
        a.number = "x".into();
        assert_eq!(codes(a.validate()).len(), 3);
        assert!(!is_email("a@b"));
        assert!(!is_email("@contoso.edu"));
        assert!(is_email("a.b+c@mail.contoso.edu"));
    }

    #[test]
    fn assignees_are_named() {
        assert!(check_assignee("ada@contoso.edu").is_ok());
        assert!(check_assignee("  ").is_err());
        assert!(check_assignee(&"x".repeat(201)).is_err());
        assert!(check_assignee("ada\u{0}").is_err());
        // Invisible format characters would make a person nobody's token matches.
        for invisible in ["\u{feff}ada@x.edu", "ada\u{200b}@x.edu", "ada@x.edu\u{2066}"] {
            assert!(check_assignee(invisible).is_err(), "{invisible:?}");
        }
        assert!(check_assignee("élodie@x.edu").is_ok());
    }
}
