//! `licensegraph seed --demo`: a small, realistic data set to explore in
//! GraphiQL, built through the same service functions the API uses (so it
//! obeys every rule). Running it again changes nothing and reports the same
//! organizations.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use entity::{
    agreement,
    enums::{DocumentType, Offer, OrderTerm, OrganizationKind},
    organization,
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::{
    auth::{Role, Viewer},
    domain::{
        orders::Step,
        organizations::{AgreementDraft, OrganizationDraft},
    },
    error::{AppError, UserError},
    service::{
        codes::{self, Use},
        directory,
        kpis::{self, Figures},
        memberships::{self, Enrolment},
        orders::{self, PlaceOrder},
        organizations,
        partners::{self, Listing, PassedExam},
        redemptions::Redemptions,
    },
};

/// Agreement number that marks the demo data as present.
const MARKER: &str = "DEMO-EES-0001";

/// Who to mint tokens for, once the demo data is in.
#[derive(Debug, Clone)]
pub struct DemoPeople {
    pub school_id: i64,
    pub reseller_id: i64,
    pub enterprise_id: i64,
    /// The learner holding an assigned, unredeemed voucher.
    pub learner: String,
}

/// The desk's name on what the demo records.
const DESK_ACTOR: &str = "demo-seed";

fn desk() -> Viewer {
    Viewer { subject: Some(DESK_ACTOR.into()), roles: BTreeSet::from([Role::Admin]), organization_id: None }
}

fn ok<T>(what: &str, outcome: Result<T, Vec<UserError>>) -> Result<T, AppError> {
    outcome.map_err(|errors| {
        let messages: Vec<_> = errors.iter().map(|e| e.message.as_str()).collect();
        AppError::internal(format!("demo data: {what} refused: {}", messages.join("; ")))
    })
}

fn org(name: &str, kind: OrganizationKind, pga: Option<&str>) -> OrganizationDraft {
    let academic = kind == OrganizationKind::Academic;
    OrganizationDraft {
        name: name.into(),
        kind,
        accredited: academic,
        certiport_testing_center: academic,
        partner_global_account: pga.map(str::to_owned),
    }
}

async fn existing(db: &DatabaseConnection) -> Result<Option<DemoPeople>, AppError> {
    let Some(marker) = agreement::Entity::find().filter(agreement::Column::Number.eq(MARKER)).one(db).await? else {
        return Ok(None);
    };
    let by_name = |name: &'static str| async move {
        organization::Entity::find()
            .filter(organization::Column::Name.eq(name))
            .one(db)
            .await
            .map(|o| o.map_or(0, |o| o.id))
    };
    Ok(Some(DemoPeople {
        school_id: marker.organization_id,
        reseller_id: by_name("Northwind Learning (demo)").await?,
        enterprise_id: by_name("Fabrikam Ltd (demo)").await?,
        learner: "ada@contoso.example".into(),
    }))
}

async fn fulfilled(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    agreement_id: i64,
    sku: &str,
    quantity: i32,
) -> Result<Vec<entity::code::Model>, AppError> {
    let admin = desk();
    let placed = PlaceOrder { agreement_id, package_sku: sku.into(), quantity, term: OrderTerm::Prorated };
    let order = ok("order", orders::place_order(db, &admin, now, placed).await?)?;
    ok("confirm", orders::step(db, now, order.id, Step::Confirm, None).await?)?;
    ok("invoice", orders::step(db, now, order.id, Step::Invoice, None).await?)?;
    ok("fulfil", orders::fulfil(db, now, "demo-seed", order.id).await?)?;
    let filter = codes::CodeFilter { order_id: Some(order.id), ..Default::default() };
    let page = codes::list_codes(
        db,
        &admin,
        &filter,
        now.date_naive(),
        crate::service::page::PageRequest::Forward { size: 5, after: None, before: None },
    )
    .await?;
    Ok(page.items)
}

/// Adds the demo data set unless it is there already.
pub async fn seed_demo(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<DemoPeople, AppError> {
    if let Some(people) = existing(db).await? {
        return Ok(people);
    }
    let reseller = ok(
        "reseller",
        organizations::create_organization(
            db,
            now,
            org("Northwind Learning (demo)", OrganizationKind::Partner, Some("DEMO-PGA-1")),
            vec![],
        )
        .await?,
    )?;
    let school = ok(
        "school",
        organizations::create_organization(
            db,
            now,
            org("Contoso University (demo)", OrganizationKind::Academic, None),
            vec![reseller.id],
        )
        .await?,
    )?;
    let enterprise = ok(
        "enterprise",
        organizations::create_organization(
            db,
            now,
            org("Fabrikam Ltd (demo)", OrganizationKind::Enterprise, None),
            vec![],
        )
        .await?,
    )?;
    // Three-year agreements that started at the beginning of last quarter.
    let today = now.date_naive();
    let start = NaiveDate::from_ymd_opt(today.year(), today.month(), 1)
        .and_then(|d| d.checked_sub_months(Months::new(3)))
        .ok_or_else(|| AppError::internal("demo data: no start date"))?;
    let end = start
        .checked_add_months(Months::new(36))
        .and_then(|d| d.pred_opt())
        .ok_or_else(|| AppError::internal("demo data: no end date"))?;
    let draft = |organization_id, program: &str, number: &str, contact: &str| AgreementDraft {
        organization_id,
        program_code: program.into(),
        number: number.into(),
        starts_on: start,
        ends_on: end,
        notice_contact: contact.into(),
    };
    let ees = ok(
        "EES agreement",
        organizations::create_agreement(
            db,
            DESK_ACTOR,
            now,
            draft(school.id, "EES", MARKER, "licensing@contoso.example"),
        )
        .await?,
    )?;
    let ea = ok(
        "EA agreement",
        organizations::create_agreement(
            db,
            DESK_ACTOR,
            now,
            draft(enterprise.id, "EA", "DEMO-EA-0001", "it@fabrikam.example"),
        )
        .await?,
    )?;

    // A fulfilled class pack: three vouchers assigned, one of them redeemed.
    let vouchers = fulfilled(db, now, ees.id, "CLASS-MCP-30", 1).await?;
    let admin = desk();
    for (code, learner) in vouchers.iter().zip(["ada@contoso.example", "grace@contoso.example", "alan@contoso.example"])
    {
        ok("assignment", super::assignments::assign(db, &admin, now, code.id, learner.into()).await?)?;
    }
    if let Some(code) = vouchers.get(1) {
        let redeem = Use::Redeem { exam: "70-740".into() };
        ok("redemption", codes::use_code(db, &admin, now, &code.value, redeem, &Redemptions::inline()).await?)?;
    }
    // Library access for the enterprise, one activated.
    let library = fulfilled(db, now, ea.id, "EREF-LIB", 3).await?;
    if let Some(code) = library.first() {
        ok("assignment", super::assignments::assign(db, &admin, now, code.id, "carol@fabrikam.example".into()).await?)?;
        let activate = Use::Activate { tenant: None, seats: None };
        ok("activation", codes::use_code(db, &admin, now, &code.value, activate, &Redemptions::inline()).await?)?;
    }
    // A site pack the reseller placed, waiting for confirmation.
    let shop = Viewer {
        subject: Some("sales@northwind.example".into()),
        roles: BTreeSet::from([Role::Reseller]),
        organization_id: Some(reseller.id),
    };
    let pending = PlaceOrder {
        agreement_id: ees.id,
        package_sku: "SITE-MTA-MOS-MCE-125".into(),
        quantity: 1,
        term: OrderTerm::Prorated,
    };
    ok("pending order", orders::place_order(db, &shop, now, pending).await?)?;

    // The partner side: a trainer, a passed exam, last month's invoice, a
    // Learning Action Pack and an Action Pack with their benefits, and a
    // directory listing.
    let partner = reseller.id;
    ok(
        "trainer",
        memberships::add_trainer(db, &admin, now, partner, "Grace Hopper".into(), "MCT-DEMO-1".into()).await?,
    )?;
    let last_month = today.checked_sub_months(Months::new(1)).unwrap_or(today);
    let exam =
        PassedExam { organization_id: partner, person: "grace".into(), exam: "AZ-104".into(), passed_on: last_month };
    ok("passed exam", partners::record_passed_exam(db, &admin, now, exam).await?)?;
    let invoice = |number: &str, invoiced_on, kpi_value, revenue_cents| Figures {
        invoiced_on: Some(invoiced_on),
        year: None,
        month: None,
        omlp_type: "OLP".into(),
        purchase_unit: "Training".into(),
        document_type: DocumentType::Invoice,
        invoice_number: number.into(),
        kpi_value,
        revenue_cents,
    };
    let recorded = ok(
        "KPI",
        kpis::record_kpi(db, &admin, now, partner, invoice("DEMO-INV-0001", last_month, 120, 1_500_000)).await?,
    )?;
    // What the partner submits itself waits for the desk: a second
    // trainer and a second pass, pending.
    let partner_admin = Viewer {
        subject: Some("ada@northwind.example".into()),
        roles: BTreeSet::from([Role::PartnerAdmin]),
        organization_id: Some(partner),
    };
    ok(
        "pending trainer",
        memberships::add_trainer(db, &partner_admin, now, partner, "Alan Turing".into(), "MCT-DEMO-2".into()).await?,
    )?;
    let reported =
        PassedExam { organization_id: partner, person: "alan".into(), exam: "AZ-305".into(), passed_on: last_month };
    ok("pending passed exam", partners::record_passed_exam(db, &partner_admin, now, reported).await?)?;
    // The partner disputes the desk's figure: pending.
    let dispute = kpis::DisputeInput {
        organization_id: partner,
        record_id: Some(recorded.id),
        figures: invoice("DEMO-INV-0001", last_month, 140, 1_750_000),
        explanation: Some("the invoice covers two training days, not one".into()),
    };
    ok("KPI dispute", kpis::dispute_kpi(db, &partner_admin, now, dispute).await?)?;
    for offer in [Offer::LearningActionPack, Offer::ActionPack] {
        let enrolment = Enrolment {
            organization_id: partner,
            offer,
            competency: None,
            level: None,
            learning_option: false,
            purchased_on: None,
        };
        ok("membership", memberships::enroll(db, &admin, now, enrolment).await?)?;
    }
    let listing = Listing {
        organization_id: partner,
        display_name: "Northwind Learning".into(),
        country: "DE".into(),
        homepage_url: "https://learn.northwind.example".into(),
    };
    let listing = ok("directory listing", partners::submit_listing(db, &admin, now, listing).await?)?;
    // The desk has reviewed it: approved, shown on its schedule.
    ok("listing review", directory::review_listing(db, &admin, now, listing.id, true, None).await?)?;

    Ok(DemoPeople {
        school_id: school.id,
        reseller_id: reseller.id,
        enterprise_id: enterprise.id,
        learner: "ada@contoso.example".into(),
    })
}
