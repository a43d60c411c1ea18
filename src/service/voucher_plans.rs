//! The voucher planner: a plan of one or more parts (a level, or
//! named exams, and how many vouchers), how long the preparation takes
//! against the months left on the agreement, the exam vouchers the
//! organization already holds unused that can serve each part, and the
//! cheapest mix of packs, at today's prices under the agreement, for the
//! rest.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    agreement, code,
    enums::{CertificationLevel, CodeKind, OrderTerm, PackageKind, StoredCodeStatus},
    order, package, package_exam_family,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::{
    domain::{
        codes::preparation_months,
        dates::started_months,
        exams as exam_rules, orders as order_rules,
        voucher_plans::{Pack, cheapest_mix, share_held},
    },
    error::AppError,
    service::{exams, orders::order_request},
};

/// One part of a plan, as asked.
#[derive(Debug, Clone)]
pub struct PartRequest {
    pub level: Option<CertificationLevel>,
    pub exams: Vec<String>,
    pub vouchers: i64,
}

/// One part of a plan, as planned.
#[derive(Debug, Clone)]
pub struct PlannedPart {
    pub level: CertificationLevel,
    pub exams: Vec<String>,
    pub vouchers_needed: i64,
    pub preparation_months: u32,
    pub enough_time: bool,
    /// Unused vouchers the organization holds that can serve this part.
    pub held: i64,
    /// What is left to order.
    pub to_order: i64,
    /// Vouchers no pack orderable under the agreement can supply.
    pub unmet: i64,
}

/// One order the planner suggests.
#[derive(Debug, Clone)]
pub struct Suggestion {
    pub package: package::Model,
    pub quantity: i32,
    pub vouchers: i64,
    pub quote: order_rules::Quote,
}

/// The plan.
#[derive(Debug, Clone)]
pub struct Plan {
    pub months_left: u32,
    pub parts: Vec<PlannedPart>,
    pub suggestions: Vec<Suggestion>,
}

/// A part's families and level, from its named exams or its level.
struct Scope {
    level: CertificationLevel,
    /// Exam families a pack must cover: every one (named exams), or any one (a level).
    families: Vec<String>,
    all: bool,
}

/// Whether a pack with `families` can serve a part.
fn serves(families: &[String], scope: &Scope) -> bool {
    let covers = |f: &String| exam_rules::covered_by(families, f);
    !scope.families.is_empty()
        && if scope.all { scope.families.iter().all(covers) } else { scope.families.iter().any(covers) }
}

async fn scope_of<C: ConnectionTrait>(db: &C, part: &PartRequest, now: DateTime<Utc>) -> Result<Scope, AppError> {
    if part.exams.is_empty() {
        let level = part.level.ok_or_else(|| AppError::bad_input("each part names a `level` or its `exams`"))?;
        let bookable = exams::list_all(db, now).await?;
        let mut families: Vec<String> = bookable.into_iter().filter(|e| e.level == level).map(|e| e.family).collect();
        families.sort();
        families.dedup();
        return Ok(Scope { level, families, all: false });
    }
    let found = exams::by_codes(db, &part.exams).await?;
    let mut levels: Vec<CertificationLevel> = part.level.into_iter().collect();
    let mut families = Vec::new();
    for (code, exam) in part.exams.iter().zip(&found) {
        if let Some(problem) = exams::unusable("exams", code, exam.as_ref(), now) {
            return Err(AppError::bad_input(problem.message));
        }
        if let Some(e) = exam {
            levels.push(e.level);
            families.push(e.family.clone());
        }
    }
    families.sort();
    families.dedup();
    let level = if levels.contains(&CertificationLevel::Advanced) {
        CertificationLevel::Advanced
    } else {
        CertificationLevel::Basic
    };
    Ok(Scope { level, families, all: true })
}

/// Each exam-voucher package's families.
async fn voucher_packages<C: ConnectionTrait>(db: &C) -> Result<Vec<(package::Model, Vec<String>)>, AppError> {
    let packages = package::Entity::find().filter(package::Column::Kind.eq(PackageKind::ExamVoucher)).all(db).await?;
    let mut families: HashMap<i64, Vec<String>> = HashMap::new();
    for f in package_exam_family::Entity::find().all(db).await? {
        families.entry(f.package_id).or_default().push(f.family);
    }
    Ok(packages
        .into_iter()
        .map(|p| {
            let f = families.remove(&p.id).unwrap_or_default();
            (p, f)
        })
        .collect())
}

/// The organization's unused exam vouchers still valid today, by package.
async fn held_by_package<C: ConnectionTrait>(
    db: &C,
    organization_id: i64,
    today: chrono::NaiveDate,
) -> Result<HashMap<i64, i64>, AppError> {
    let by_order: Vec<(Option<i64>, i64)> = code::Entity::find()
        .select_only()
        .column(code::Column::OrderId)
        .column_as(code::Column::Id.count(), "n")
        .filter(code::Column::OrganizationId.eq(organization_id))
        .filter(code::Column::Kind.eq(CodeKind::ExamVoucher))
        .filter(code::Column::Status.is_in([StoredCodeStatus::Issued, StoredCodeStatus::Assigned]))
        .filter(code::Column::ValidUntil.gte(today))
        .group_by(code::Column::OrderId)
        .into_tuple()
        .all(db)
        .await?;
    let order_ids: Vec<i64> = by_order.iter().filter_map(|(o, _)| *o).collect();
    let orders = order::Entity::find().filter(order::Column::Id.is_in(order_ids)).all(db).await?;
    let package_of: HashMap<i64, i64> = orders.into_iter().map(|o| (o.id, o.package_id)).collect();
    let mut held = HashMap::new();
    for (order_id, n) in by_order {
        if let Some(package) = order_id.and_then(|o| package_of.get(&o)) {
            *held.entry(*package).or_insert(0) += n;
        }
    }
    Ok(held)
}

/// Plans `parts` under `agreement` on `now`'s day. A part naming an exam
/// that is unknown or retired, or naming neither a level nor exams, is
/// refused as bad input.
///
/// `count_held`: whether the caller may see the organization's codes (its
/// administrators and the desk); for anyone else nothing held is counted.
/// Each package is quoted once, whatever the number of parts.
pub async fn plan<C: ConnectionTrait>(
    db: &C,
    agreement: &agreement::Model,
    parts: &[PartRequest],
    count_held: bool,
    now: DateTime<Utc>,
) -> Result<Plan, AppError> {
    let today = now.date_naive();
    let months_left = started_months(today, agreement.ends_on);
    let mut scopes = Vec::with_capacity(parts.len());
    for part in parts {
        scopes.push(scope_of(db, part, now).await?);
    }
    let packages = voucher_packages(db).await?;
    let held = if count_held { held_by_package(db, agreement.organization_id, today).await? } else { HashMap::new() };
    // The packs that can be ordered under the agreement today, each quoted
    // once for one pack: its request, reused for every quantity and part.
    let mut orderable = Vec::new();
    for (p, families) in &packages {
        let Some(size) = p.vouchers_per_pack.map(i64::from).filter(|s| *s > 0) else { continue };
        if p.sku == crate::domain::grants::IMAGINE_ACADEMY_SKU {
            continue;
        }
        let request = order_request(db, agreement, p, 1, OrderTerm::Prorated, today).await?;
        if order_rules::quote(&request).is_ok() {
            orderable.push((p, families, size, request));
        }
    }
    let needed: Vec<i64> = parts.iter().map(|p| p.vouchers).collect();
    let held_list: Vec<(i64, Vec<bool>)> = packages
        .iter()
        .filter_map(|(p, families)| held.get(&p.id).map(|n| (*n, scopes.iter().map(|s| serves(families, s)).collect())))
        .collect();
    let got = share_held(&needed, &held_list);

    // Per part, the packs orderable today under the agreement that serve it.
    let mut planned = Vec::with_capacity(parts.len());
    let mut wanted: HashMap<i64, i64> = HashMap::new();
    for ((part, scope), held) in parts.iter().zip(&scopes).zip(got) {
        let to_order = (part.vouchers - held).max(0);
        let options: Vec<(i64, i64, &order_rules::OrderRequest)> = orderable
            .iter()
            .filter(|(_, families, _, _)| serves(families, scope))
            .map(|(p, _, size, request)| (p.id, *size, request))
            .collect();
        let packs: Vec<Pack> = options.iter().map(|(_, size, _)| Pack { size: *size }).collect();
        let cost = |i: usize, q: i64| {
            let mut request = (*options[i].2).clone();
            request.quantity = i32::try_from(q).ok()?;
            order_rules::quote(&request).ok().map(|quote| quote.price.total_cents)
        };
        let mix = cheapest_mix(to_order, &packs, cost);
        let unmet = if mix.is_some() { 0 } else { to_order };
        for (i, q) in mix.unwrap_or_default().into_iter().enumerate() {
            if q > 0 {
                *wanted.entry(options[i].0).or_insert(0) += q;
            }
        }
        let preparation = preparation_months(scope.level);
        planned.push(PlannedPart {
            level: scope.level,
            exams: part.exams.clone(),
            vouchers_needed: part.vouchers,
            preparation_months: preparation,
            enough_time: months_left >= preparation,
            held,
            to_order,
            unmet,
        });
    }
    // One order per package: quantities of parts that chose the same pack
    // add up (and may reach a better discount tier).
    let mut suggestions = Vec::new();
    for (p, _, _, request) in &orderable {
        let Some(quantity) = wanted.get(&p.id).and_then(|q| i32::try_from(*q).ok()) else { continue };
        let mut request = request.clone();
        request.quantity = quantity;
        if let Ok(quote) = order_rules::quote(&request) {
            suggestions.push(Suggestion { package: (*p).clone(), quantity, vouchers: quote.codes, quote });
        }
    }
    Ok(Plan { months_left, parts: planned, suggestions })
}
