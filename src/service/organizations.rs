//! Organizations, reseller links and agreements, scoped by the
//! viewer.

use chrono::{DateTime, Utc};
use entity::{agreement, enums::OrganizationKind, organization, program, reseller_customer};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Select, Set,
};

use crate::{
    auth::Viewer,
    domain::organizations::{AgreementDraft, OrganizationDraft, OrganizationPatch, check_reason},
    error::{AppError, UserError, UserErrorCode, constraint_to_user_error},
    service::{
        Outcome,
        history::{self, Change, Subject},
        page::{self, Page, PageRequest},
        refuse, scope,
    },
};

/// Filters of `organizations`.
#[derive(Debug, Clone, Default)]
pub struct OrganizationFilter {
    pub kind: Option<OrganizationKind>,
}

pub fn organizations_query(viewer: &Viewer, filter: &OrganizationFilter) -> Select<organization::Entity> {
    let mut select = organization::Entity::find().filter(scope::organizations(viewer, organization::Column::Id));
    if let Some(kind) = filter.kind {
        select = select.filter(organization::Column::Kind.eq(kind));
    }
    select
}

pub async fn list_organizations(
    db: &DatabaseConnection,
    viewer: &Viewer,
    filter: &OrganizationFilter,
    request: PageRequest,
) -> Result<Page<organization::Model>, AppError> {
    Ok(page::fetch(db, organizations_query(viewer, filter), organization::Column::Id, request).await?)
}

/// One organization, if the viewer may see it.
pub async fn organization<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<organization::Model>, AppError> {
    Ok(organizations_query(viewer, &OrganizationFilter::default())
        .filter(organization::Column::Id.eq(id))
        .one(db)
        .await?)
}

pub async fn organizations_by_ids(db: &DatabaseConnection, ids: &[i64]) -> Result<Vec<organization::Model>, AppError> {
    Ok(organization::Entity::find().filter(organization::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// Creates an organization, linked to the resellers that serve it (admin).
pub async fn create_organization(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    draft: OrganizationDraft,
    reseller_ids: Vec<i64>,
) -> Result<Outcome<organization::Model>, AppError> {
    if let Err(errors) = draft.validate() {
        return Ok(Err(errors));
    }
    let resellers = organizations_by_ids(db, &reseller_ids).await?;
    if resellers.len() != reseller_ids.len() || resellers.iter().any(|r| r.kind != OrganizationKind::Partner) {
        return refuse(
            "resellerIds",
            UserErrorCode::NotFound,
            "every reseller must be an existing partner organization",
        );
    }
    let txn = sea_orm::TransactionTrait::begin(db).await?;
    let model = organization::ActiveModel {
        name: Set(draft.name.trim().to_owned()),
        kind: Set(draft.kind),
        accredited: Set(draft.accredited),
        certiport_testing_center: Set(draft.certiport_testing_center),
        partner_global_account: Set(draft.partner_global_account),
        merged_into_id: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    let org = match model.insert(&txn).await {
        Ok(org) => org,
        Err(err) => return constraint_to_user_error(err).map(|e| Err(vec![e])),
    };
    if !reseller_ids.is_empty() {
        let links = reseller_ids.iter().map(|&reseller_id| reseller_customer::ActiveModel {
            reseller_id: Set(reseller_id),
            customer_id: Set(org.id),
        });
        reseller_customer::Entity::insert_many(links).exec_without_returning(&txn).await?;
    }
    txn.commit().await?;
    Ok(Ok(org))
}

/// Records that a reseller serves a customer (admin). Linking twice is a no-op.
pub async fn link_reseller(
    db: &DatabaseConnection,
    reseller_id: i64,
    customer_id: i64,
) -> Result<Outcome<organization::Model>, AppError> {
    let Some(reseller) = organization::Entity::find_by_id(reseller_id).one(db).await? else {
        return refuse("resellerId", UserErrorCode::NotFound, "reseller not found");
    };
    if reseller.kind != OrganizationKind::Partner {
        return refuse("resellerId", UserErrorCode::InvalidFormat, "a reseller is a partner organization");
    }
    let Some(customer) = organization::Entity::find_by_id(customer_id).one(db).await? else {
        return refuse("customerId", UserErrorCode::NotFound, "customer not found");
    };
    if reseller.id == customer.id {
        return refuse("customerId", UserErrorCode::InvalidFormat, "an organization does not resell to itself");
    }
    let exists = reseller_customer::Entity::find_by_id((reseller_id, customer_id)).one(db).await?.is_some();
    if !exists {
        let link = reseller_customer::ActiveModel { reseller_id: Set(reseller_id), customer_id: Set(customer_id) };
        reseller_customer::Entity::insert(link).on_conflict_do_nothing().exec_without_returning(db).await?;
    }
    Ok(Ok(customer))
}

/// Filters of `agreements`.
#[derive(Debug, Clone, Default)]
pub struct AgreementFilter {
    pub organization_id: Option<i64>,
}

pub fn agreements_query(viewer: &Viewer, filter: &AgreementFilter) -> Select<agreement::Entity> {
    let mut select = agreement::Entity::find().filter(scope::organizations(viewer, agreement::Column::OrganizationId));
    if let Some(org) = filter.organization_id {
        select = select.filter(agreement::Column::OrganizationId.eq(org));
    }
    select
}

pub async fn list_agreements(
    db: &DatabaseConnection,
    viewer: &Viewer,
    filter: &AgreementFilter,
    request: PageRequest,
) -> Result<Page<agreement::Model>, AppError> {
    Ok(page::fetch(db, agreements_query(viewer, filter), agreement::Column::Id, request).await?)
}

/// One agreement, if the viewer may see it.
pub async fn agreement<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    id: i64,
) -> Result<Option<agreement::Model>, AppError> {
    Ok(agreements_query(viewer, &AgreementFilter::default()).filter(agreement::Column::Id.eq(id)).one(db).await?)
}

pub async fn agreements_by_ids(db: &DatabaseConnection, ids: &[i64]) -> Result<Vec<agreement::Model>, AppError> {
    Ok(agreement::Entity::find().filter(agreement::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// Creates an agreement of an organization under a program (admin, R-3),
/// with its first term's Imagine Academy grant when it brings one.
pub async fn create_agreement(
    db: &DatabaseConnection,
    actor: &str,
    now: DateTime<Utc>,
    draft: AgreementDraft,
) -> Result<Outcome<agreement::Model>, AppError> {
    if let Err(errors) = draft.validate() {
        return Ok(Err(errors));
    }
    if organization::Entity::find_by_id(draft.organization_id).one(db).await?.is_none() {
        return refuse("organizationId", UserErrorCode::NotFound, "organization not found");
    }
    let Some(program) = program::Entity::find().filter(program::Column::Code.eq(&draft.program_code)).one(db).await?
    else {
        return refuse("programCode", UserErrorCode::UnknownProgram, "no program has this code");
    };
    if !program.active {
        return refuse("programCode", UserErrorCode::ProgramRetired, "the program is retired (R-1)");
    }
    let model = agreement::ActiveModel {
        organization_id: Set(draft.organization_id),
        program_id: Set(program.id),
        number: Set(draft.number),
        starts_on: Set(draft.starts_on),
        ends_on: Set(draft.ends_on),
        notice_contact: Set(draft.notice_contact),
        created_at: Set(now),
        ..Default::default()
    };
    let txn = crate::db::begin(db).await?;
    let agreement = match model.insert(&txn).await {
        Ok(agreement) => agreement,
        Err(err) => return constraint_to_user_error(err).map(|e| Err(vec![e])),
    };
    super::grants::grant_term(&txn, &agreement, agreement.starts_on, actor, now).await?;
    txn.commit().await?;
    Ok(Ok(agreement))
}

/// Changes an organization's name, accreditation or Certiport status
/// (admin, R-34), recording each changed field in its history.
pub async fn update_organization(
    db: &DatabaseConnection,
    actor: &str,
    now: DateTime<Utc>,
    id: i64,
    patch: OrganizationPatch,
) -> Result<Outcome<organization::Model>, AppError> {
    let Some(existing) = organization::Entity::find_by_id(id).one(db).await? else {
        return refuse("id", UserErrorCode::NotFound, "organization not found");
    };
    let draft = OrganizationDraft {
        name: patch.name.as_deref().map_or_else(|| existing.name.clone(), |n| n.trim().to_owned()),
        kind: existing.kind,
        accredited: patch.accredited.unwrap_or(existing.accredited),
        certiport_testing_center: patch.certiport_testing_center.unwrap_or(existing.certiport_testing_center),
        partner_global_account: existing.partner_global_account.clone(),
    };
    let mut problems = match draft.validate() {
        Ok(()) => vec![],
        Err(errors) => errors,
    };
    problems.extend(check_reason(patch.reason.as_deref()));
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let changes: Vec<Change> = [
        Change::of("name", &existing.name, &draft.name),
        Change::of("accredited", &existing.accredited, &draft.accredited),
        Change::of("certiportTestingCenter", &existing.certiport_testing_center, &draft.certiport_testing_center),
    ]
    .into_iter()
    .flatten()
    .collect();
    let txn = crate::db::begin(db).await?;
    let mut model: organization::ActiveModel = existing.into();
    model.name = Set(draft.name);
    model.accredited = Set(draft.accredited);
    model.certiport_testing_center = Set(draft.certiport_testing_center);
    let org = model.update(&txn).await?;
    history::record(&txn, Subject::Organization(id), &changes, patch.reason.as_deref(), actor, now).await?;
    txn.commit().await?;
    Ok(Ok(org))
}

/// The most notice addresses an organization keeps.
pub const MAX_NOTICE_EMAILS: usize = 10;

/// Sets where an organization's notices go: its customer or partner
/// administrators, or admins; each change kept in its history. Another
/// organization is not found.
pub async fn set_notice_emails(
    db: &DatabaseConnection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    id: i64,
    emails: Vec<String>,
) -> Result<Outcome<organization::Model>, AppError> {
    use crate::auth::Role;
    let own = viewer.organization_id == Some(id) && (viewer.has(Role::CustomerAdmin) || viewer.has(Role::PartnerAdmin));
    let Some(existing) = organization::Entity::find_by_id(id).one(db).await?.filter(|_| viewer.is_admin() || own)
    else {
        return refuse("organizationId", UserErrorCode::NotFound, "organization not found");
    };
    let mut problems = Vec::new();
    if emails.len() > MAX_NOTICE_EMAILS {
        problems.push(UserError::on("emails", UserErrorCode::OutOfRange, "at most 10 addresses"));
    }
    let mut clean: Vec<String> = Vec::with_capacity(emails.len());
    for e in emails.iter().take(MAX_NOTICE_EMAILS + 1) {
        let e = e.trim().to_owned();
        if !crate::domain::organizations::is_email(&e) {
            let shown: String = e.chars().take(64).collect();
            problems.push(UserError::on(
                "emails",
                UserErrorCode::InvalidFormat,
                format!("`{shown}` is not an address"),
            ));
        } else if clean.iter().any(|c| c.eq_ignore_ascii_case(&e)) {
            problems.push(UserError::on("emails", UserErrorCode::Duplicate, format!("`{e}` is named twice")));
        } else {
            clean.push(e);
        }
    }
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let text = serde_json::to_string(&clean).unwrap_or_else(|_| "[]".into());
    let changes: Vec<Change> = Change::of("noticeEmails", &existing.notice_emails, &text).into_iter().collect();
    let txn = crate::db::begin(db).await?;
    let mut model: organization::ActiveModel = existing.into();
    model.notice_emails = Set(text);
    let org = model.update(&txn).await?;
    let actor = crate::service::codes::actor(viewer);
    history::record(&txn, Subject::Organization(id), &changes, None, actor, now).await?;
    txn.commit().await?;
    Ok(Ok(org))
}
