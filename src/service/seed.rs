//! The seeded catalog (docs/domain.md sections 1 and 3), inserted on every start
//! and idempotent: a program or package that exists (by code or sku) is left
//! exactly as it is, so an admin's later changes survive restarts.
//!
//! Prices and discount tiers are not in the source pages; the figures below
//! are illustrative list prices in US cents, decided here and changeable
//! through `updatePackage`.

use chrono::{DateTime, Utc};
use entity::{
    competency_requirement,
    enums::{CompetencyLevel, PackageKind, ProgramKind, SolutionArea},
    package, program,
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, TransactionTrait};

use crate::{
    domain::catalog::{DiscountTierDraft, PackageDraft},
    error::AppError,
    service::catalog,
};

struct SeedProgram {
    code: &'static str,
    name: &'static str,
    kind: ProgramKind,
    description: &'static str,
}

const PROGRAMS: &[SeedProgram] = &[
    SeedProgram {
        code: "VL",
        name: "Microsoft Volume Licensing",
        kind: ProgramKind::Volume,
        description: "A customizable purchasing program with discounted access to training and certification.",
    },
    SeedProgram {
        code: "SA",
        name: "Software Assurance (training benefits)",
        kind: ProgramKind::Volume,
        description: "Training benefits that come with Software Assurance.",
    },
    SeedProgram {
        code: "EES",
        name: "Enrollment for Education Solutions",
        kind: ProgramKind::Academic,
        description: "Campus-wide subscription licensing for academic institutions.",
    },
    SeedProgram {
        code: "SCHOOL",
        name: "School Enrollment (campus and school agreement)",
        kind: ProgramKind::Academic,
        description: "Campus and School Agreement enrollments.",
    },
    SeedProgram {
        code: "SELECT_PLUS_EDU",
        name: "Select Plus for Education",
        kind: ProgramKind::Academic,
        description: "Select Plus licensing for academic institutions.",
    },
    SeedProgram {
        code: "EA",
        name: "Enterprise Agreement",
        kind: ProgramKind::Volume,
        description: "Volume licensing for large organizations.",
    },
    SeedProgram {
        code: "OVS",
        name: "Open Value Subscription",
        kind: ProgramKind::Volume,
        description: "Subscription licensing for small and midsize organizations.",
    },
    SeedProgram {
        code: "MPSA",
        name: "Microsoft Products and Services Agreement",
        kind: ProgramKind::Volume,
        description: "Transactional volume licensing.",
    },
    SeedProgram {
        code: "CSP",
        name: "Cloud Solution Provider",
        kind: ProgramKind::Partner,
        description: "Partners selling cloud services.",
    },
    SeedProgram {
        code: "MPN",
        name: "Microsoft Partner Network",
        kind: ProgramKind::Partner,
        description: "Partner memberships, competencies and benefits.",
    },
    SeedProgram {
        code: "OVS_ES",
        name: "Open Value Subscription for Education Solutions",
        kind: ProgramKind::Academic,
        description: "Subscription licensing for academic institutions, with Imagine Academy.",
    },
];

const ALL_AREAS: &[SolutionArea] = &[
    SolutionArea::AppsAndInfrastructure,
    SolutionArea::DataAndAi,
    SolutionArea::ModernWorkplace,
    SolutionArea::BusinessApplications,
];
const ACADEMIC: &[&str] = &["EES", "SCHOOL", "SELECT_PLUS_EDU"];

fn tiers(list: &[(i32, i32)]) -> Vec<DiscountTierDraft> {
    list.iter().map(|&(min_quantity, percent_off)| DiscountTierDraft { min_quantity, percent_off }).collect()
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// The seeded packages (docs/domain.md section 3).
pub fn packages() -> Vec<PackageDraft> {
    let draft = |sku: &str, name: &str, kind: PackageKind, cents: i64| PackageDraft {
        sku: sku.into(),
        name: name.into(),
        kind,
        description: String::new(),
        list_price_cents: cents,
        currency: "USD".into(),
        vouchers_per_pack: None,
        seats_per_token: None,
        activations_per_key: None,
        requires_accredited: false,
        requires_certiport: false,
        retired: false,
        exam_families: vec![],
        solution_areas: ALL_AREAS.to_vec(),
        program_codes: vec![],
        discount_tiers: vec![],
    };
    vec![
        PackageDraft {
            description: "Online technical reference books for one person, for the life of the agreement (R-14)."
                .into(),
            program_codes: strings(&["VL", "SA", "EA"]),
            discount_tiers: tiers(&[(50, 5), (250, 10)]),
            ..draft("EREF-LIB", "Microsoft E-Reference Library", PackageKind::LibraryAccess, 60_000)
        },
        PackageDraft {
            description: "One voucher for one Microsoft Certified Professional exam (R-13).".into(),
            vouchers_per_pack: Some(1),
            exam_families: strings(&["MCP"]),
            program_codes: strings(&["VL", "SA", "EA"]),
            discount_tiers: tiers(&[(100, 5), (500, 10), (1000, 15)]),
            ..draft("MCP-VOUCHER", "Microsoft Certification exam voucher", PackageKind::ExamVoucher, 16_500)
        },
        PackageDraft {
            description: "500 MOS, MTA and MCE exam vouchers for an accredited Certiport testing center (R-8).".into(),
            vouchers_per_pack: Some(500),
            requires_accredited: true,
            requires_certiport: true,
            exam_families: strings(&["MOS", "MTA", "MCE"]),
            program_codes: strings(ACADEMIC),
            discount_tiers: tiers(&[(5, 5)]),
            ..draft("SITE-MOS-MTA-MCE-500", "MOS/MTA/MCE Site Pack", PackageKind::ExamVoucher, 2_500_000)
        },
        PackageDraft {
            description: "125 MTA/MCE or MOS/MCE exam vouchers for an accredited Certiport testing center (R-8)."
                .into(),
            vouchers_per_pack: Some(125),
            requires_accredited: true,
            requires_certiport: true,
            exam_families: strings(&["MTA+MCE", "MOS+MCE"]),
            program_codes: strings(ACADEMIC),
            discount_tiers: tiers(&[(5, 5)]),
            ..draft("SITE-MTA-MOS-MCE-125", "MTA/MCE and MOS/MCE Site Pack", PackageKind::ExamVoucher, 750_000)
        },
        PackageDraft {
            description: "30 MCSA, MCSE or MCSD exam vouchers for an accredited institution (R-8).".into(),
            vouchers_per_pack: Some(30),
            requires_accredited: true,
            exam_families: strings(&["MCSA", "MCSE", "MCSD"]),
            program_codes: strings(ACADEMIC),
            discount_tiers: tiers(&[(10, 5)]),
            ..draft("CLASS-MCP-30", "Microsoft Certified Professional Class Pack", PackageKind::ExamVoucher, 300_000)
        },
        PackageDraft {
            description: "Curriculum and 30 exam vouchers for faculty and staff.".into(),
            vouchers_per_pack: Some(30),
            exam_families: strings(&["MOS", "MTA", "FUNDAMENTALS", "MCE"]),
            program_codes: strings(&["EES", "SCHOOL", "OVS_ES"]),
            ..draft("IMAGINE-ACADEMY", "Microsoft Imagine Academy subscription", PackageKind::Subscription, 150_000)
        },
        PackageDraft {
            description: "Volume Licensing e-learning; retired, usable under existing agreements only (R-9).".into(),
            retired: true,
            program_codes: strings(&["VL"]),
            ..draft("ELEARNING-VL", "Volume Licensing e-learning", PackageKind::LibraryAccess, 40_000)
        },
    ]
}

/// Starting requirements per competency and level: (competency,
/// level, KPI value, revenue cents, certified trainers, passed exams).
/// Admins edit them with `setCompetencyRequirement`; seeding never
/// overwrites an edited row.
pub const REQUIREMENTS: &[(&str, CompetencyLevel, i64, i64, i32, i32)] = &[
    ("Cloud Platform", CompetencyLevel::Silver, 100, 1_000_000, 1, 2),
    ("Cloud Platform", CompetencyLevel::Gold, 500, 5_000_000, 2, 4),
    ("Data Analytics", CompetencyLevel::Silver, 80, 800_000, 1, 2),
    ("Data Analytics", CompetencyLevel::Gold, 400, 4_000_000, 2, 4),
    ("Application Development", CompetencyLevel::Silver, 60, 500_000, 1, 1),
    ("Application Development", CompetencyLevel::Gold, 300, 3_000_000, 2, 3),
];

/// Inserts whatever part of the seeded catalog is missing, in one transaction.
pub async fn seed_catalog(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<(), AppError> {
    let txn = db.begin().await?;
    for seed in PROGRAMS {
        let model = program::ActiveModel {
            code: Set(seed.code.into()),
            name: Set(seed.name.into()),
            kind: Set(seed.kind),
            description: Set(seed.description.into()),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        program::Entity::insert(model)
            .on_conflict_do_nothing_on([program::Column::Code])
            .exec_without_returning(&txn)
            .await?;
    }
    for draft in packages() {
        let exists =
            package::Entity::find().filter(package::Column::Sku.eq(draft.sku.as_str())).one(&txn).await?.is_some();
        if exists {
            continue;
        }
        if let Err(errors) = catalog::insert_package(&txn, now, &draft).await? {
            return Err(AppError::internal(format!("the seeded package {} is invalid: {errors:?}", draft.sku)));
        }
    }
    for &(competency, level, kpi, revenue, trainers, exams) in REQUIREMENTS {
        let row = competency_requirement::ActiveModel {
            competency: Set(competency.into()),
            level: Set(level),
            min_kpi_value: Set(kpi),
            min_revenue_cents: Set(revenue),
            min_certified_trainers: Set(trainers),
            min_passed_exams: Set(exams),
        };
        competency_requirement::Entity::insert(row)
            .on_conflict_do_nothing_on([
                competency_requirement::Column::Competency,
                competency_requirement::Column::Level,
            ])
            .exec_without_returning(&txn)
            .await?;
    }
    super::exam_seed::seed_exams(&txn, now).await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seeded_package_passes_validation() {
        for draft in packages() {
            assert!(draft.validate().is_ok(), "{} is invalid: {:?}", draft.sku, draft.validate());
        }
    }
}
