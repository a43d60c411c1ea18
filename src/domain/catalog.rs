//! What a valid program and package look like.

use std::collections::HashSet;

use entity::enums::{PackageKind, ProgramKind, SolutionArea};

use crate::error::{UserError, UserErrorCode};

/// Longest name, in characters.
pub const MAX_NAME: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 4000;
/// Highest list price in cents: GraphQL's `Int` is 32-bit, so money stays
/// below 2^31 cents (about 21 million).
pub const MAX_PRICE_CENTS: i64 = i32::MAX as i64;
/// Most codes one pack may deliver.
pub const MAX_VOUCHERS_PER_PACK: i32 = 100_000;
/// Highest volume discount (R-7: savings stay within 0-80 %).
pub const MAX_DISCOUNT_PERCENT: i32 = 80;
/// Most entries in a package's lists (families, tiers, programs).
pub const MAX_LIST: usize = 20;

/// A program to create.
#[derive(Debug, Clone)]
pub struct ProgramDraft {
    pub code: String,
    pub name: String,
    pub kind: ProgramKind,
    pub description: String,
    pub active: bool,
}

/// Changes to a program; `None` leaves a value as it is.
#[derive(Debug, Clone, Default)]
pub struct ProgramPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub active: Option<bool>,
}

/// A package to create.
#[derive(Debug, Clone)]
pub struct PackageDraft {
    pub sku: String,
    pub name: String,
    pub kind: PackageKind,
    pub description: String,
    pub list_price_cents: i64,
    pub currency: String,
    pub vouchers_per_pack: Option<i32>,
    /// Seats per activation token; activation-token packages only.
    pub seats_per_token: Option<i32>,
    /// Activations per product key; product-key packages only.
    pub activations_per_key: Option<i32>,
    pub requires_accredited: bool,
    pub requires_certiport: bool,
    pub retired: bool,
    pub exam_families: Vec<String>,
    pub solution_areas: Vec<SolutionArea>,
    pub program_codes: Vec<String>,
    pub discount_tiers: Vec<DiscountTierDraft>,
}

/// One volume discount tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscountTierDraft {
    pub min_quantity: i32,
    pub percent_off: i32,
}

/// Changes to a package; `None` leaves a value as it is. Lists replace the
/// whole list. The kind and sku never change: issued codes depend on them.
#[derive(Debug, Clone, Default)]
pub struct PackagePatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub list_price_cents: Option<i64>,
    pub currency: Option<String>,
    pub vouchers_per_pack: Option<i32>,
    pub seats_per_token: Option<i32>,
    pub activations_per_key: Option<i32>,
    pub requires_accredited: Option<bool>,
    pub requires_certiport: Option<bool>,
    pub retired: Option<bool>,
    pub exam_families: Option<Vec<String>>,
    pub solution_areas: Option<Vec<SolutionArea>>,
    pub program_codes: Option<Vec<String>>,
    pub discount_tiers: Option<Vec<DiscountTierDraft>>,
}

/// Collects the user errors of one validation.
#[derive(Debug, Default)]
pub struct Problems(Vec<UserError>);

impl Problems {
    pub fn add(&mut self, field: &str, code: UserErrorCode, message: impl Into<String>) {
        self.0.push(UserError::on(field, code, message));
    }

    pub fn push(&mut self, error: UserError) {
        self.0.push(error);
    }

    pub fn into_result(self) -> Result<(), Vec<UserError>> {
        if self.0.is_empty() { Ok(()) } else { Err(self.0) }
    }
}

/// A program code: 2 to 32 of A-Z, 0-9 and `_`, starting with a letter (`SELECT_PLUS_EDU`).
pub fn is_program_code(code: &str) -> bool {
    (2..=32).contains(&code.len())
        && code.starts_with(|c: char| c.is_ascii_uppercase())
        && code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// A sku: 2 to 64 of A-Z, 0-9 and `-`, starting with a letter or digit (`SITE-MOS-MTA-MCE-500`).
pub fn is_sku(sku: &str) -> bool {
    (2..=64).contains(&sku.len())
        && sku.starts_with(|c: char| c.is_ascii_uppercase() || c.is_ascii_digit())
        && sku.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
}

/// An exam family: upper-case names joined by `+` (`MOS`, `MTA+MCE`,
/// `ROLE_BASED`); each name is [`is_family_name`].
pub fn is_exam_family(family: &str) -> bool {
    (1..=40).contains(&family.len()) && family.split('+').all(is_family_name)
}

/// One family name: A-Z, 0-9 and `_`, starting with a letter or digit.
pub fn is_family_name(name: &str) -> bool {
    (1..=40).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_uppercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// A text field: not blank when `required`, at most `max` characters.
pub fn check_text(p: &mut Problems, field: &str, value: &str, max: usize, required: bool) {
    if required && value.trim().is_empty() {
        p.add(field, UserErrorCode::Blank, format!("{field} must not be blank"));
    } else if value.chars().count() > max {
        p.add(field, UserErrorCode::TooLong, format!("{field} is longer than {max} characters"));
    }
}

fn check_price(p: &mut Problems, cents: i64) {
    if !(0..=MAX_PRICE_CENTS).contains(&cents) {
        p.add("listPriceCents", UserErrorCode::OutOfRange, "the list price must be between 0 and 2147483647 cents");
    }
}

fn check_currency(p: &mut Problems, currency: &str) {
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
        p.add("currency", UserErrorCode::InvalidFormat, "currency must be an ISO 4217 code such as USD");
    }
}

fn check_vouchers(p: &mut Problems, kind: PackageKind, vouchers: Option<i32>) {
    match vouchers {
        Some(n) if !(1..=MAX_VOUCHERS_PER_PACK).contains(&n) => p.add(
            "vouchersPerPack",
            UserErrorCode::OutOfRange,
            format!("vouchers per pack must be between 1 and {MAX_VOUCHERS_PER_PACK}"),
        ),
        None if matches!(kind, PackageKind::ExamVoucher | PackageKind::Subscription) => p.add(
            "vouchersPerPack",
            UserErrorCode::Blank,
            "exam voucher and subscription packages must say how many vouchers a pack delivers",
        ),
        _ => {}
    }
}

/// Most seats on one token, and most activations on one key.
pub const MAX_CAPACITY: i32 = 100_000;

/// Seats per token and activations per key: required for their own kind,
/// refused for every other kind.
fn check_capacity(p: &mut Problems, kind: PackageKind, seats: Option<i32>, activations: Option<i32>, creating: bool) {
    for (field, value, owner, what) in [
        ("seatsPerToken", seats, PackageKind::ActivationToken, "activation-token"),
        ("activationsPerKey", activations, PackageKind::ProductKey, "product-key"),
    ] {
        match value {
            Some(_) if kind != owner => {
                p.add(field, UserErrorCode::InvalidFormat, format!("{field} applies to {what} packages only"))
            }
            Some(n) if !(1..=MAX_CAPACITY).contains(&n) => {
                p.add(field, UserErrorCode::OutOfRange, format!("{field} must be between 1 and {MAX_CAPACITY}"))
            }
            None if creating && kind == owner => {
                p.add(field, UserErrorCode::Blank, format!("{what} packages must set {field}"))
            }
            _ => {}
        }
    }
}

fn check_families(p: &mut Problems, families: &[String]) {
    if families.len() > MAX_LIST {
        p.add("examFamilies", UserErrorCode::OutOfRange, format!("at most {MAX_LIST} exam families"));
    }
    if let Some(bad) = families.iter().find(|f| !is_exam_family(f)) {
        p.add(
            "examFamilies",
            UserErrorCode::InvalidFormat,
            format!("`{bad}` is not an exam family like MOS or MTA+MCE"),
        );
    }
    if has_duplicates(families.iter()) {
        p.add("examFamilies", UserErrorCode::Duplicate, "an exam family is listed twice");
    }
}

fn check_areas(p: &mut Problems, areas: &[SolutionArea]) {
    if has_duplicates(areas.iter()) {
        p.add("solutionAreas", UserErrorCode::Duplicate, "a solution area is listed twice");
    }
}

fn check_program_codes(p: &mut Problems, codes: &[String]) {
    if codes.is_empty() {
        p.add("programCodes", UserErrorCode::Blank, "a package is ordered under at least one program");
    } else if codes.len() > MAX_LIST {
        p.add("programCodes", UserErrorCode::OutOfRange, format!("at most {MAX_LIST} programs"));
    }
    if has_duplicates(codes.iter()) {
        p.add("programCodes", UserErrorCode::Duplicate, "a program is listed twice");
    }
}

/// tiers are (minimum quantity -> percent off) with savings in 0-80 %.
fn check_tiers(p: &mut Problems, tiers: &[DiscountTierDraft]) {
    if tiers.len() > MAX_LIST {
        p.add("discountTiers", UserErrorCode::OutOfRange, format!("at most {MAX_LIST} discount tiers"));
    }
    if tiers.iter().any(|t| t.min_quantity < 1) {
        p.add("discountTiers", UserErrorCode::OutOfRange, "a tier's minimum quantity is at least 1");
    }
    if tiers.iter().any(|t| !(0..=MAX_DISCOUNT_PERCENT).contains(&t.percent_off)) {
        p.add(
            "discountTiers",
            UserErrorCode::OutOfRange,
            format!("a tier's discount is between 0 and {MAX_DISCOUNT_PERCENT} percent (R-7)"),
        );
    }
    if has_duplicates(tiers.iter().map(|t| t.min_quantity)) {
        p.add("discountTiers", UserErrorCode::Duplicate, "two tiers have the same minimum quantity");
    }
}

fn has_duplicates<T: Eq + std::hash::Hash>(items: impl Iterator<Item = T>) -> bool {
    let mut seen = HashSet::new();
    items.into_iter().any(|item| !seen.insert(item))
}

impl ProgramDraft {
    pub fn validate(&self) -> Result<(), Vec<UserError>> {
        let mut p = Problems::default();
        if !is_program_code(&self.code) {
            p.add(
                "code",
                UserErrorCode::InvalidFormat,
                "a program code is 2-32 of A-Z, 0-9 and _, starting with a letter",
            );
        }
        check_text(&mut p, "name", &self.name, MAX_NAME, true);
        check_text(&mut p, "description", &self.description, MAX_DESCRIPTION, false);
        p.into_result()
    }
}

impl ProgramPatch {
    pub fn validate(&self) -> Result<(), Vec<UserError>> {
        let mut p = Problems::default();
        if let Some(name) = &self.name {
            check_text(&mut p, "name", name, MAX_NAME, true);
        }
        if let Some(description) = &self.description {
            check_text(&mut p, "description", description, MAX_DESCRIPTION, false);
        }
        p.into_result()
    }
}

impl PackageDraft {
    pub fn validate(&self) -> Result<(), Vec<UserError>> {
        let mut p = Problems::default();
        if !is_sku(&self.sku) {
            p.add("sku", UserErrorCode::InvalidFormat, "a sku is 2-64 of A-Z, 0-9 and -");
        }
        check_text(&mut p, "name", &self.name, MAX_NAME, true);
        check_text(&mut p, "description", &self.description, MAX_DESCRIPTION, false);
        check_price(&mut p, self.list_price_cents);
        check_currency(&mut p, &self.currency);
        check_vouchers(&mut p, self.kind, self.vouchers_per_pack);
        check_capacity(&mut p, self.kind, self.seats_per_token, self.activations_per_key, true);
        check_families(&mut p, &self.exam_families);
        check_areas(&mut p, &self.solution_areas);
        check_program_codes(&mut p, &self.program_codes);
        check_tiers(&mut p, &self.discount_tiers);
        p.into_result()
    }
}

impl PackagePatch {
    /// Validates the patch against the package's kind.
    pub fn validate(&self, kind: PackageKind) -> Result<(), Vec<UserError>> {
        let mut p = Problems::default();
        if let Some(name) = &self.name {
            check_text(&mut p, "name", name, MAX_NAME, true);
        }
        if let Some(description) = &self.description {
            check_text(&mut p, "description", description, MAX_DESCRIPTION, false);
        }
        if let Some(cents) = self.list_price_cents {
            check_price(&mut p, cents);
        }
        if let Some(currency) = &self.currency {
            check_currency(&mut p, currency);
        }
        if self.vouchers_per_pack.is_some() {
            check_vouchers(&mut p, kind, self.vouchers_per_pack);
        }
        check_capacity(&mut p, kind, self.seats_per_token, self.activations_per_key, false);
        if let Some(families) = &self.exam_families {
            check_families(&mut p, families);
        }
        if let Some(areas) = &self.solution_areas {
            check_areas(&mut p, areas);
        }
        if let Some(codes) = &self.program_codes {
            check_program_codes(&mut p, codes);
        }
        if let Some(tiers) = &self.discount_tiers {
            check_tiers(&mut p, tiers);
        }
        p.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> PackageDraft {
        PackageDraft {
            sku: "MCP-VOUCHER-2".into(),
            name: "Voucher".into(),
            kind: PackageKind::ExamVoucher,
            description: String::new(),
            list_price_cents: 16_500,
            currency: "USD".into(),
            vouchers_per_pack: Some(1),
            seats_per_token: None,
            activations_per_key: None,
            requires_accredited: false,
            requires_certiport: false,
            retired: false,
            exam_families: vec!["MCP".into()],
            solution_areas: vec![],
            program_codes: vec!["VL".into()],
            discount_tiers: vec![DiscountTierDraft { min_quantity: 100, percent_off: 5 }],
        }
    }

    fn codes(result: Result<(), Vec<UserError>>) -> Vec<UserErrorCode> {
        result.err().unwrap_or_default().into_iter().map(|e| e.code).collect()
    }

    #[test]
    fn seeded_codes_and_skus_are_well_formed() {
        for code in ["VL", "SA", "EES", "SCHOOL", "SELECT_PLUS_EDU", "EA", "OVS", "MPSA", "CSP", "MPN"] {
            assert!(is_program_code(code), "{code}");
        }
        for sku in ["EREF-LIB", "SITE-MOS-MTA-MCE-500", "CLASS-MCP-30"] {
            assert!(is_sku(sku), "{sku}");
        }
        assert!(!is_program_code("vl"));
        assert!(!is_program_code("V"));
        assert!(!is_sku("bad sku"));
        assert!(is_exam_family("MTA+MCE"));
        assert!(!is_exam_family("MTA+"));
    }

    #[test]
    fn a_discount_above_80_percent_is_refused() {
        // savings stay within 0-80 %.
        let mut d = draft();
        d.discount_tiers = vec![DiscountTierDraft { min_quantity: 10, percent_off: 80 }];
        assert!(d.validate().is_ok());
        d.discount_tiers = vec![DiscountTierDraft { min_quantity: 10, percent_off: 81 }];
        assert_eq!(codes(d.validate()), vec![UserErrorCode::OutOfRange]);
        d.discount_tiers = vec![DiscountTierDraft { min_quantity: 10, percent_off: -1 }];
        assert_eq!(codes(d.validate()), vec![UserErrorCode::OutOfRange]);
    }

    #[test]
    fn two_tiers_with_one_minimum_are_refused() {
        let mut d = draft();
        d.discount_tiers = vec![
            DiscountTierDraft { min_quantity: 10, percent_off: 5 },
            DiscountTierDraft { min_quantity: 10, percent_off: 7 },
        ];
        assert_eq!(codes(d.validate()), vec![UserErrorCode::Duplicate]);
    }

    #[test]
    fn a_voucher_pack_must_say_how_many_vouchers_it_holds() {
        let mut d = draft();
        d.vouchers_per_pack = None;
        assert_eq!(codes(d.validate()), vec![UserErrorCode::Blank]);
        d.kind = PackageKind::LibraryAccess;
        assert!(d.validate().is_ok());
    }

    #[test]
    fn a_package_needs_a_program() {
        let mut d = draft();
        d.program_codes.clear();
        assert_eq!(codes(d.validate()), vec![UserErrorCode::Blank]);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut d = draft();
        d.sku = "x".into();
        d.name = " ".into();
        d.currency = "usd".into();
        d.list_price_cents = -1;
        assert_eq!(
            codes(d.validate()),
            vec![
                UserErrorCode::InvalidFormat,
                UserErrorCode::Blank,
                UserErrorCode::OutOfRange,
                UserErrorCode::InvalidFormat
            ]
        );
    }
}
