//! Imagine Academy: an entitlement of academic agreements, granted
//! at no cost with a first purchase or a renewal, never sold.

use entity::enums::OrganizationKind;

/// The package that carries the grant: its exam families and vouchers per
/// pack (30 per agreement) say what is granted.
pub const IMAGINE_ACADEMY_SKU: &str = "IMAGINE-ACADEMY";

/// The programs whose agreements bring it.
pub const GRANTING_PROGRAMS: [&str; 3] = ["EES", "SCHOOL", "OVS_ES"];

/// Whether an agreement under `program_code` of this organization brings
/// the grant: an accredited academic institution's EES, SCHOOL or OVS_ES
/// agreement.
pub fn entitled(kind: OrganizationKind, accredited: bool, program_code: &str) -> bool {
    kind == OrganizationKind::Academic && accredited && GRANTING_PROGRAMS.contains(&program_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_accredited_institutions_ees_school_or_ovs_es_agreement_is_entitled() {
        //
        for program in ["EES", "SCHOOL", "OVS_ES"] {
            assert!(entitled(OrganizationKind::Academic, true, program), "{program}");
            assert!(!entitled(OrganizationKind::Academic, false, program), "{program}, not accredited");
        }
        assert!(!entitled(OrganizationKind::Academic, true, "SELECT_PLUS_EDU"));
        assert!(!entitled(OrganizationKind::Academic, true, "EA"));
        assert!(!entitled(OrganizationKind::Enterprise, true, "EES"));
    }
}
