//! Programs and packages: reads, writes and the batched look-ups behind
//! nested fields.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    agreement, discount_tier,
    enums::{PackageKind, SolutionArea},
    package, package_exam_family, package_program, package_solution_area, program,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Select, Set, sea_query::Query,
};

use crate::{
    domain::catalog::{DiscountTierDraft, PackageDraft, PackagePatch, ProgramDraft, ProgramPatch},
    error::{AppError, UserError, UserErrorCode, constraint_to_user_error},
    service::page::{self, Page, PageRequest},
};

pub use super::Outcome;

/// Which programs to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProgramFilter {
    pub include_inactive: bool,
}

/// Which packages to list.
#[derive(Debug, Clone, Default)]
pub struct PackageFilter {
    pub program_code: Option<String>,
    pub kind: Option<PackageKind>,
    pub include_retired: bool,
}

pub fn programs_query(filter: ProgramFilter) -> Select<program::Entity> {
    let select = program::Entity::find();
    if filter.include_inactive { select } else { select.filter(program::Column::Active.eq(true)) }
}

pub async fn list_programs(
    db: &DatabaseConnection,
    filter: ProgramFilter,
    request: PageRequest,
) -> Result<Page<program::Model>, AppError> {
    Ok(page::fetch(db, programs_query(filter), program::Column::Id, request).await?)
}

pub async fn count<E: EntityTrait>(db: &DatabaseConnection, select: Select<E>) -> Result<u64, AppError>
where
    E::Model: Sync,
{
    Ok(select.count(db).await?)
}

pub async fn program_by_code(db: &DatabaseConnection, code: &str) -> Result<Option<program::Model>, AppError> {
    Ok(program::Entity::find().filter(program::Column::Code.eq(code)).one(db).await?)
}

pub async fn program_by_id(db: &DatabaseConnection, id: i64) -> Result<Option<program::Model>, AppError> {
    Ok(program::Entity::find_by_id(id).one(db).await?)
}

pub fn packages_query(filter: &PackageFilter) -> Select<package::Entity> {
    let mut select = package::Entity::find();
    if !filter.include_retired {
        select = select.filter(package::Column::Retired.eq(false));
    }
    if let Some(kind) = filter.kind {
        select = select.filter(package::Column::Kind.eq(kind));
    }
    if let Some(code) = &filter.program_code {
        let program_ids = Query::select()
            .column(program::Column::Id)
            .from(program::Entity)
            .and_where(program::Column::Code.eq(code.as_str()))
            .to_owned();
        let by_program = Query::select()
            .column(package_program::Column::PackageId)
            .from(package_program::Entity)
            .and_where(package_program::Column::ProgramId.in_subquery(program_ids))
            .to_owned();
        select = select.filter(package::Column::Id.in_subquery(by_program));
    }
    select
}

pub async fn list_packages(
    db: &DatabaseConnection,
    filter: &PackageFilter,
    request: PageRequest,
) -> Result<Page<package::Model>, AppError> {
    Ok(page::fetch(db, packages_query(filter), package::Column::Id, request).await?)
}

pub async fn package_by_sku(db: &DatabaseConnection, sku: &str) -> Result<Option<package::Model>, AppError> {
    Ok(package::Entity::find().filter(package::Column::Sku.eq(sku)).one(db).await?)
}

pub async fn package_by_id(db: &DatabaseConnection, id: i64) -> Result<Option<package::Model>, AppError> {
    Ok(package::Entity::find_by_id(id).one(db).await?)
}

pub async fn programs_by_ids(db: &DatabaseConnection, ids: &[i64]) -> Result<Vec<program::Model>, AppError> {
    Ok(program::Entity::find().filter(program::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// The program each of `agreement_ids` is under, in one statement (a join):
/// `(agreement id, program)`.
pub async fn programs_of_agreements(
    db: &DatabaseConnection,
    agreement_ids: &[i64],
) -> Result<Vec<(i64, program::Model)>, AppError> {
    let rows = agreement::Entity::find()
        .find_also_related(program::Entity)
        .filter(agreement::Column::Id.is_in(agreement_ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(|(agreement, program)| program.map(|p| (agreement.id, p))).collect())
}

pub async fn packages_by_ids(db: &DatabaseConnection, ids: &[i64]) -> Result<Vec<package::Model>, AppError> {
    Ok(package::Entity::find().filter(package::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// The programs of each package, in one statement.
pub async fn programs_of_packages(
    db: &DatabaseConnection,
    package_ids: &[i64],
) -> Result<HashMap<i64, Vec<program::Model>>, AppError> {
    let rows = package_program::Entity::find()
        .filter(package_program::Column::PackageId.is_in(package_ids.iter().copied()))
        .find_also_related(program::Entity)
        .order_by_asc(package_program::Column::ProgramId)
        .all(db)
        .await?;
    let mut map: HashMap<i64, Vec<program::Model>> = HashMap::new();
    for (link, program) in rows {
        if let Some(program) = program {
            map.entry(link.package_id).or_default().push(program);
        }
    }
    Ok(map)
}

/// The exam families of each package, in one statement.
pub async fn families_of_packages(
    db: &DatabaseConnection,
    package_ids: &[i64],
) -> Result<HashMap<i64, Vec<String>>, AppError> {
    let rows = package_exam_family::Entity::find()
        .filter(package_exam_family::Column::PackageId.is_in(package_ids.iter().copied()))
        .order_by_asc(package_exam_family::Column::Family)
        .all(db)
        .await?;
    let mut map: HashMap<i64, Vec<String>> = HashMap::new();
    for row in rows {
        map.entry(row.package_id).or_default().push(row.family);
    }
    Ok(map)
}

/// The solution areas of each package, in one statement.
pub async fn areas_of_packages(
    db: &DatabaseConnection,
    package_ids: &[i64],
) -> Result<HashMap<i64, Vec<SolutionArea>>, AppError> {
    let rows = package_solution_area::Entity::find()
        .filter(package_solution_area::Column::PackageId.is_in(package_ids.iter().copied()))
        .all(db)
        .await?;
    let mut map: HashMap<i64, Vec<SolutionArea>> = HashMap::new();
    for row in rows {
        map.entry(row.package_id).or_default().push(row.area);
    }
    for areas in map.values_mut() {
        areas.sort();
    }
    Ok(map)
}

/// The discount tiers of each package, by ascending minimum quantity, in one statement.
pub async fn tiers_of_packages(
    db: &DatabaseConnection,
    package_ids: &[i64],
) -> Result<HashMap<i64, Vec<discount_tier::Model>>, AppError> {
    let rows = discount_tier::Entity::find()
        .filter(discount_tier::Column::PackageId.is_in(package_ids.iter().copied()))
        .order_by_asc(discount_tier::Column::MinQuantity)
        .all(db)
        .await?;
    let mut map: HashMap<i64, Vec<discount_tier::Model>> = HashMap::new();
    for row in rows {
        map.entry(row.package_id).or_default().push(row);
    }
    Ok(map)
}

/// Creates a program (admin).
pub async fn create_program(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    draft: ProgramDraft,
) -> Result<Outcome<program::Model>, AppError> {
    if let Err(errors) = draft.validate() {
        return Ok(Err(errors));
    }
    if program_by_code(db, &draft.code).await?.is_some() {
        return Ok(Err(vec![UserError::on("code", UserErrorCode::Taken, "a program with this code already exists")]));
    }
    let model = program::ActiveModel {
        code: Set(draft.code),
        name: Set(draft.name.trim().to_owned()),
        kind: Set(draft.kind),
        description: Set(draft.description.trim().to_owned()),
        active: Set(draft.active),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    match model.insert(db).await {
        Ok(program) => Ok(Ok(program)),
        // A concurrent create with the same code got there first.
        Err(err) => constraint_to_user_error(err).map(|e| Err(vec![e])),
    }
}

/// Changes a program (admin). Retiring is `active: false`: the program
/// stays, with its history, but is hidden from ordering.
pub async fn update_program(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    id: i64,
    patch: ProgramPatch,
) -> Result<Outcome<program::Model>, AppError> {
    let Some(existing) = program_by_id(db, id).await? else {
        return Ok(Err(vec![UserError::on("id", UserErrorCode::NotFound, "program not found")]));
    };
    if let Err(errors) = patch.validate() {
        return Ok(Err(errors));
    }
    let mut model: program::ActiveModel = existing.into();
    if let Some(name) = patch.name {
        model.name = Set(name.trim().to_owned());
    }
    if let Some(description) = patch.description {
        model.description = Set(description.trim().to_owned());
    }
    if let Some(active) = patch.active {
        model.active = Set(active);
    }
    model.updated_at = Set(now);
    Ok(Ok(model.update(db).await?))
}

/// Resolves program codes to ids; unknown codes are user errors.
async fn program_ids<C: ConnectionTrait>(db: &C, codes: &[String]) -> Result<Outcome<Vec<i64>>, AppError> {
    let found = program::Entity::find().filter(program::Column::Code.is_in(codes.iter().cloned())).all(db).await?;
    let unknown: Vec<_> = codes.iter().filter(|c| !found.iter().any(|p| &p.code == *c)).cloned().collect();
    if !unknown.is_empty() {
        return Ok(Err(vec![UserError::on(
            "programCodes",
            UserErrorCode::UnknownProgram,
            format!("no program has the code {}", unknown.join(", ")),
        )]));
    }
    Ok(Ok(found.into_iter().map(|p| p.id).collect()))
}

async fn replace_links<C: ConnectionTrait>(
    db: &C,
    package_id: i64,
    program_ids: Option<&[i64]>,
    families: Option<&[String]>,
    areas: Option<&[SolutionArea]>,
    tiers: Option<&[DiscountTierDraft]>,
) -> Result<(), AppError> {
    if let Some(ids) = program_ids {
        package_program::Entity::delete_many()
            .filter(package_program::Column::PackageId.eq(package_id))
            .exec(db)
            .await?;
        let rows = ids.iter().map(|&program_id| package_program::ActiveModel {
            package_id: Set(package_id),
            program_id: Set(program_id),
        });
        package_program::Entity::insert_many(rows).exec_without_returning(db).await?;
    }
    if let Some(families) = families {
        package_exam_family::Entity::delete_many()
            .filter(package_exam_family::Column::PackageId.eq(package_id))
            .exec(db)
            .await?;
        let rows = families.iter().map(|family| package_exam_family::ActiveModel {
            package_id: Set(package_id),
            family: Set(family.clone()),
        });
        package_exam_family::Entity::insert_many(rows).exec_without_returning(db).await?;
    }
    if let Some(areas) = areas {
        package_solution_area::Entity::delete_many()
            .filter(package_solution_area::Column::PackageId.eq(package_id))
            .exec(db)
            .await?;
        let rows = areas
            .iter()
            .map(|area| package_solution_area::ActiveModel { package_id: Set(package_id), area: Set(*area) });
        package_solution_area::Entity::insert_many(rows).exec_without_returning(db).await?;
    }
    if let Some(tiers) = tiers {
        discount_tier::Entity::delete_many().filter(discount_tier::Column::PackageId.eq(package_id)).exec(db).await?;
        let rows = tiers.iter().map(|tier| discount_tier::ActiveModel {
            package_id: Set(package_id),
            min_quantity: Set(tier.min_quantity),
            percent_off: Set(tier.percent_off),
        });
        discount_tier::Entity::insert_many(rows).exec_without_returning(db).await?;
    }
    Ok(())
}

/// Inserts a validated package and its lists, inside the caller's transaction.
pub(crate) async fn insert_package<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    draft: &PackageDraft,
) -> Result<Outcome<package::Model>, AppError> {
    let program_ids = match program_ids(db, &draft.program_codes).await? {
        Ok(ids) => ids,
        Err(errors) => return Ok(Err(errors)),
    };
    let model = package::ActiveModel {
        sku: Set(draft.sku.clone()),
        name: Set(draft.name.trim().to_owned()),
        kind: Set(draft.kind),
        description: Set(draft.description.trim().to_owned()),
        list_price_cents: Set(draft.list_price_cents),
        currency: Set(draft.currency.clone()),
        vouchers_per_pack: Set(draft.vouchers_per_pack),
        seats_per_token: Set(draft.seats_per_token),
        activations_per_key: Set(draft.activations_per_key),
        requires_accredited: Set(draft.requires_accredited),
        requires_certiport: Set(draft.requires_certiport),
        retired: Set(draft.retired),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let package = match model.insert(db).await {
        Ok(package) => package,
        Err(err) => return constraint_to_user_error(err).map(|e| Err(vec![e])),
    };
    replace_links(
        db,
        package.id,
        Some(&program_ids),
        Some(&draft.exam_families),
        Some(&draft.solution_areas),
        Some(&draft.discount_tiers),
    )
    .await?;
    Ok(Ok(package))
}

/// Creates a package with its programs, exam families, areas and tiers, all
/// or nothing (admin).
pub async fn create_package(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    draft: PackageDraft,
) -> Result<Outcome<package::Model>, AppError> {
    if let Err(errors) = draft.validate() {
        return Ok(Err(errors));
    }
    if package_by_sku(db, &draft.sku).await?.is_some() {
        return Ok(Err(vec![UserError::on("sku", UserErrorCode::Taken, "a package with this sku already exists")]));
    }
    let txn = crate::db::begin(db).await?;
    let outcome = insert_package(&txn, now, &draft).await?;
    if outcome.is_ok() {
        txn.commit().await?;
    }
    Ok(outcome)
}

/// Changes a package (admin); `retired: true` retires it.
pub async fn update_package(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    id: i64,
    patch: PackagePatch,
) -> Result<Outcome<package::Model>, AppError> {
    let Some(existing) = package_by_id(db, id).await? else {
        return Ok(Err(vec![UserError::on("id", UserErrorCode::NotFound, "package not found")]));
    };
    if let Err(errors) = patch.validate(existing.kind) {
        return Ok(Err(errors));
    }
    let txn = crate::db::begin(db).await?;
    let program_ids = match &patch.program_codes {
        Some(codes) => match program_ids(&txn, codes).await? {
            Ok(ids) => Some(ids),
            Err(errors) => return Ok(Err(errors)),
        },
        None => None,
    };
    let mut model: package::ActiveModel = existing.into();
    if let Some(name) = &patch.name {
        model.name = Set(name.trim().to_owned());
    }
    if let Some(description) = &patch.description {
        model.description = Set(description.trim().to_owned());
    }
    if let Some(cents) = patch.list_price_cents {
        model.list_price_cents = Set(cents);
    }
    if let Some(currency) = &patch.currency {
        model.currency = Set(currency.clone());
    }
    if let Some(vouchers) = patch.vouchers_per_pack {
        model.vouchers_per_pack = Set(Some(vouchers));
    }
    if let Some(seats) = patch.seats_per_token {
        model.seats_per_token = Set(Some(seats));
    }
    if let Some(activations) = patch.activations_per_key {
        model.activations_per_key = Set(Some(activations));
    }
    if let Some(flag) = patch.requires_accredited {
        model.requires_accredited = Set(flag);
    }
    if let Some(flag) = patch.requires_certiport {
        model.requires_certiport = Set(flag);
    }
    if let Some(flag) = patch.retired {
        model.retired = Set(flag);
    }
    model.updated_at = Set(now);
    let package = model.update(&txn).await?;
    replace_links(
        &txn,
        package.id,
        program_ids.as_deref(),
        patch.exam_families.as_deref(),
        patch.solution_areas.as_deref(),
        patch.discount_tiers.as_deref(),
    )
    .await?;
    txn.commit().await?;
    Ok(Ok(package))
}
