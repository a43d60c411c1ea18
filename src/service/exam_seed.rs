//! The seeded exam catalog: a realistic set per voucher family,
//! plus role-based exams no voucher family covers. Inserted on every start
//! and idempotent by code, like the rest of the catalog: an exam the desk
//! edited is left as it is.
//!
//! The MTA exams retired on 30 June 2022 (the instant seeded, 23:59 at
//! UTC-6, is illustrative). The MCSA, MCSE and MCSD exams are seeded
//! bookable, as the class pack that covers them is sold: the desk records
//! a retirement with `updateExam` when it is announced.

use chrono::{DateTime, Utc};
use entity::{
    enums::CertificationLevel::{self, Advanced, Basic},
    exam,
};
use sea_orm::{ConnectionTrait, EntityTrait};

use crate::{
    domain::exams::{ExamDraft, Retirement},
    error::AppError,
};

const MTA_RETIRED: &str = "2022-06-30T23:59:00-06:00";

/// (code, name, family, level, retirement as announced).
pub const EXAMS: &[(&str, &str, &str, CertificationLevel, Option<&str>)] = &[
    ("MO-100", "Microsoft Word (Word and Word 2019)", "MOS", Basic, None),
    ("MO-101", "Microsoft Word Expert (Word and Word 2019)", "MOS", Basic, None),
    ("MO-200", "Microsoft Excel (Excel and Excel 2019)", "MOS", Basic, None),
    ("MO-201", "Microsoft Excel Expert (Excel and Excel 2019)", "MOS", Basic, None),
    ("MO-300", "Microsoft PowerPoint (PowerPoint and PowerPoint 2019)", "MOS", Basic, None),
    ("MO-400", "Microsoft Outlook (Outlook and Outlook 2019)", "MOS", Basic, None),
    ("MO-500", "Microsoft Access Expert (Access and Access 2019)", "MOS", Basic, None),
    ("98-361", "Software Development Fundamentals", "MTA", Basic, Some(MTA_RETIRED)),
    ("98-364", "Database Fundamentals", "MTA", Basic, Some(MTA_RETIRED)),
    ("98-366", "Networking Fundamentals", "MTA", Basic, Some(MTA_RETIRED)),
    ("98-367", "Security Fundamentals", "MTA", Basic, Some(MTA_RETIRED)),
    ("98-381", "Introduction to Programming Using Python", "MTA", Basic, Some(MTA_RETIRED)),
    ("62-193", "Technology Literacy for Educators", "MCE", Basic, None),
    ("AZ-900", "Microsoft Azure Fundamentals", "FUNDAMENTALS", Basic, None),
    ("AI-900", "Microsoft Azure AI Fundamentals", "FUNDAMENTALS", Basic, None),
    ("DP-900", "Microsoft Azure Data Fundamentals", "FUNDAMENTALS", Basic, None),
    ("PL-900", "Microsoft Power Platform Fundamentals", "FUNDAMENTALS", Basic, None),
    ("MS-900", "Microsoft 365 Fundamentals", "FUNDAMENTALS", Basic, None),
    ("SC-900", "Microsoft Security, Compliance, and Identity Fundamentals", "FUNDAMENTALS", Basic, None),
    ("70-740", "Installation, Storage, and Compute with Windows Server 2016", "MCSA", Advanced, None),
    ("70-741", "Networking with Windows Server 2016", "MCSA", Advanced, None),
    ("70-742", "Identity with Windows Server 2016", "MCSA", Advanced, None),
    ("70-744", "Securing Windows Server 2016", "MCSE", Advanced, None),
    ("70-767", "Implementing a Data Warehouse using SQL", "MCSE", Advanced, None),
    ("70-483", "Programming in C#", "MCSD", Advanced, None),
    ("70-486", "Developing ASP.NET MVC Web Applications", "MCSD", Advanced, None),
    ("AZ-104", "Microsoft Azure Administrator", "ROLE_BASED", Advanced, None),
    ("AZ-204", "Developing Solutions for Microsoft Azure", "ROLE_BASED", Advanced, None),
    ("AZ-305", "Designing Microsoft Azure Infrastructure Solutions", "ROLE_BASED", Advanced, None),
    ("AZ-400", "Designing and Implementing Microsoft DevOps Solutions", "ROLE_BASED", Advanced, None),
    ("AZ-500", "Microsoft Azure Security Technologies", "ROLE_BASED", Advanced, None),
    ("SC-200", "Microsoft Security Operations Analyst", "ROLE_BASED", Advanced, None),
    ("SC-300", "Microsoft Identity and Access Administrator", "ROLE_BASED", Advanced, None),
    ("MS-102", "Microsoft 365 Administrator", "ROLE_BASED", Advanced, None),
];

/// The seeded exams as drafts.
pub fn drafts() -> Vec<ExamDraft> {
    EXAMS
        .iter()
        .map(|&(code, name, family, level, retired)| ExamDraft {
            code: code.into(),
            name: name.into(),
            family: family.into(),
            level,
            retirement: retired.and_then(Retirement::parse),
        })
        .collect()
}

/// Inserts the seeded exams the catalog lacks, in the caller's transaction.
pub async fn seed_exams<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> Result<(), AppError> {
    let rows = drafts().into_iter().map(|d| super::exams::new_row(d, now));
    exam::Entity::insert_many(rows).on_conflict_do_nothing_on([exam::Column::Code]).exec_without_returning(db).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seeded_exam_is_valid_and_its_retirement_reads() {
        for (draft, seed) in drafts().iter().zip(EXAMS) {
            assert!(draft.validate().is_ok(), "{} is invalid: {:?}", draft.code, draft.validate());
            assert_eq!(draft.retirement.is_some(), seed.4.is_some(), "{}", draft.code);
        }
        let families: std::collections::BTreeSet<&str> = EXAMS.iter().map(|e| e.2).collect();
        for family in ["MOS", "MTA", "MCE", "FUNDAMENTALS", "MCSA", "MCSE", "MCSD", "ROLE_BASED"] {
            assert!(families.contains(family), "no {family} exam seeded");
        }
    }
}
