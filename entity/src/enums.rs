//! Closed vocabularies stored as text (with CHECK constraints in the
//! migrations) and exposed as GraphQL enums.

use async_graphql::Enum;
use sea_orm::entity::prelude::*;

/// How a program is bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum ProgramKind {
    /// Volume licensing for enterprises.
    #[sea_orm(string_value = "VOLUME")]
    Volume,
    /// Academic licensing for schools and institutions.
    #[sea_orm(string_value = "ACADEMIC")]
    Academic,
    /// Partner programs.
    #[sea_orm(string_value = "PARTNER")]
    Partner,
}

/// How long a certification's exams take to prepare for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum CertificationLevel {
    /// Basic certifications: about 6 months of preparation.
    #[sea_orm(string_value = "BASIC")]
    Basic,
    /// Advanced certifications: about 12 months of preparation.
    #[sea_orm(string_value = "ADVANCED")]
    Advanced,
}

/// Where a partner's fact stands with the desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[graphql(name = "FactStatus")]
pub enum FactReview {
    /// Submitted by the partner; counts for nothing until the desk verifies it.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// Verified by the desk (or recorded by it): counts.
    #[sea_orm(string_value = "VERIFIED")]
    Verified,
    /// Rejected by the desk, with a reason: never counts.
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
}

/// Where a directory listing stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum ListingStatus {
    /// Waiting for the desk's review.
    #[sea_orm(string_value = "SUBMITTED")]
    Submitted,
    /// Approved: shown in the public directory from its `visibleFrom`.
    #[sea_orm(string_value = "APPROVED")]
    Approved,
    /// Rejected by the desk, with a reason.
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
    /// Withdrawn by the partner.
    #[sea_orm(string_value = "WITHDRAWN")]
    Withdrawn,
}

/// What a package delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum PackageKind {
    /// Library access codes for the E-Reference Library.
    #[sea_orm(string_value = "LIBRARY_ACCESS")]
    LibraryAccess,
    /// Exam vouchers, each good for one exam.
    #[sea_orm(string_value = "EXAM_VOUCHER")]
    ExamVoucher,
    /// A subscription that delivers exam vouchers for faculty and staff.
    #[sea_orm(string_value = "SUBSCRIPTION")]
    Subscription,
    /// Activation tokens carrying cloud seats.
    #[sea_orm(string_value = "ACTIVATION_TOKEN")]
    ActivationToken,
    /// Multiple activation product keys.
    #[sea_orm(string_value = "PRODUCT_KEY")]
    ProductKey,
}

/// Solution areas a package may cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum SolutionArea {
    /// Apps and Infrastructure.
    #[sea_orm(string_value = "APPS_AND_INFRASTRUCTURE")]
    AppsAndInfrastructure,
    /// Data and AI.
    #[sea_orm(string_value = "DATA_AND_AI")]
    DataAndAi,
    /// Modern Workplace.
    #[sea_orm(string_value = "MODERN_WORKPLACE")]
    ModernWorkplace,
    /// Business Applications.
    #[sea_orm(string_value = "BUSINESS_APPLICATIONS")]
    BusinessApplications,
}

/// What kind of organization this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum OrganizationKind {
    /// A commercial customer.
    #[sea_orm(string_value = "ENTERPRISE")]
    Enterprise,
    /// An academic institution (may be accredited and a Certiport testing center).
    #[sea_orm(string_value = "ACADEMIC")]
    Academic,
    /// A partner, with a partner global account.
    #[sea_orm(string_value = "PARTNER")]
    Partner,
}

/// How an order is priced and how long it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum OrderTerm {
    /// A 12-month subscription from the order day.
    #[sea_orm(string_value = "TWELVE_MONTHS")]
    TwelveMonths,
    /// Prorated to the months left on the agreement.
    #[sea_orm(string_value = "PRORATED")]
    Prorated,
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum OrderStatus {
    /// Placed, awaiting confirmation (due within 48 hours).
    #[sea_orm(string_value = "PLACED")]
    Placed,
    /// Confirmed, awaiting invoicing.
    #[sea_orm(string_value = "CONFIRMED")]
    Confirmed,
    /// Invoiced; codes are due 5 to 10 business days later.
    #[sea_orm(string_value = "INVOICED")]
    Invoiced,
    /// Codes generated and delivered.
    #[sea_orm(string_value = "FULFILLED")]
    Fulfilled,
    /// Cancelled before invoicing.
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
}

/// The four kinds of code, plus per-user Visual Studio subscriptions (R-13 .. ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum CodeKind {
    /// Registers for exactly one exam.
    #[sea_orm(string_value = "EXAM_VOUCHER")]
    ExamVoucher,
    /// Unlocks the E-Reference Library for one person.
    #[sea_orm(string_value = "LIBRARY_ACCESS")]
    LibraryAccess,
    /// Cloud seats activated whole on one tenant.
    #[sea_orm(string_value = "ACTIVATION_TOKEN")]
    ActivationToken,
    /// A finite number of activations.
    #[sea_orm(string_value = "PRODUCT_KEY")]
    ProductKey,
    /// A per-user Visual Studio subscription, assigned and activated, never shared.
    #[sea_orm(string_value = "VS_SUBSCRIPTION")]
    VsSubscription,
}

/// The stored state of a code. `EXPIRED` is computed at request time and is
/// therefore not one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum StoredCodeStatus {
    #[sea_orm(string_value = "ISSUED")]
    Issued,
    #[sea_orm(string_value = "ASSIGNED")]
    Assigned,
    #[sea_orm(string_value = "REDEEMED")]
    Redeemed,
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    #[sea_orm(string_value = "REVOKED")]
    Revoked,
    #[sea_orm(string_value = "REPLACED")]
    Replaced,
}

/// Products licensed for internal use by a membership's benefit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum BenefitProduct {
    /// Visual Studio Professional, a per-user subscription.
    #[sea_orm(string_value = "VISUAL_STUDIO_PROFESSIONAL")]
    VisualStudioProfessional,
    /// Visual Studio Enterprise, a per-user subscription; never granted by an ACTION_PACK.
    #[sea_orm(string_value = "VISUAL_STUDIO_ENTERPRISE")]
    VisualStudioEnterprise,
    /// Microsoft 365 E3 seats, as an activation token.
    #[sea_orm(string_value = "MICROSOFT_365_E3")]
    #[graphql(name = "MICROSOFT_365_E3")]
    Microsoft365E3,
    /// Windows Server, as a product key.
    #[sea_orm(string_value = "WINDOWS_SERVER")]
    WindowsServer,
    /// SQL Server, as a product key.
    #[sea_orm(string_value = "SQL_SERVER")]
    SqlServer,
}

/// The document behind a KPI record; only an invoice counts. Not
/// stored: a KPI record is always an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
pub enum DocumentType {
    /// A real invoice: counts.
    Invoice,
    /// An order confirmation: does not count.
    OrderConfirmation,
    /// A partner's own report: does not count.
    PartnerReport,
}

/// Offers a partner can hold (section 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum Offer {
    /// Action Pack: one per partner global account.
    #[sea_orm(string_value = "ACTION_PACK")]
    ActionPack,
    /// Learning Action Pack: needs a certified trainer.
    #[sea_orm(string_value = "LEARNING_ACTION_PACK")]
    LearningActionPack,
    /// A competency at SILVER or GOLD level in a named area.
    #[sea_orm(string_value = "COMPETENCY")]
    Competency,
}

/// Competency levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum CompetencyLevel {
    /// Silver.
    #[sea_orm(string_value = "SILVER")]
    Silver,
    /// Gold: the silver requirements plus the gold KPIs.
    #[sea_orm(string_value = "GOLD")]
    Gold,
}

/// Where a code stands, as the API shows it: the stored state, or `EXPIRED`
/// once its agreement or subscription has ended and it was not used up
/// (R-18; computed at the moment of the request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
pub enum CodeStatus {
    /// Delivered to the organization, not yet assigned to anyone.
    Issued,
    /// Assigned to one person; not transferable.
    Assigned,
    /// An exam voucher that was used for its exam.
    Redeemed,
    /// Activated (library access, token, key or subscription).
    Active,
    /// Its agreement or subscription has ended.
    Expired,
    /// Revoked by the licensing desk, or with its membership.
    Revoked,
    /// An activation token replaced by its replacement.
    Replaced,
}
