//! Every GraphQL example in the README runs against the demo data set
//! (`licensegraph seed --demo`): each operation of each example, in the
//! README's order, as an admin, with its variables taken from the demo's
//! objects, answers without a GraphQL error. Business refusals in a
//! payload's `userErrors` are answers too (an example may show one).

use std::collections::HashMap;

use entity::{
    agreement, code,
    enums::{FactReview, OrganizationKind},
    kpi_dispute, kpi_record, order, organization, partner_certification,
};
use licensegraph::id;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Map, Value, json};

use crate::helpers::{TestApp, admin, default_now};

/// The README's ```graphql blocks, in order.
fn examples() -> Vec<String> {
    let readme = include_str!("../../README.md");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```graphql") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// The named operations of a document and the variables each declares.
fn operations(document: &str) -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    let words: Vec<&str> = document.split(|c: char| c.is_whitespace() || c == '{').collect();
    for (i, word) in words.iter().enumerate() {
        if matches!(*word, "query" | "mutation") {
            let Some(name) = words.get(i + 1) else { continue };
            let name: String = name.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if name.is_empty() {
                continue;
            }
            // Its variables: `$name:` between the name and the first `{`.
            let start = document.find(&format!("{word} {name}")).unwrap_or(0);
            let header = &document[start..document[start..].find('{').map_or(document.len(), |e| start + e)];
            let vars = header
                .split('$')
                .skip(1)
                .map(|v| v.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect())
                .collect();
            found.push((name, vars));
        }
    }
    found
}

async fn first<E: EntityTrait>(select: sea_orm::Select<E>, app: &TestApp, what: &str) -> E::Model {
    select.one(&app.db).await.expect("read").unwrap_or_else(|| panic!("the demo has no {what}"))
}

#[tokio::test]
async fn every_readme_example_runs_against_the_demo_data() {
    let app = TestApp::spawn().await;
    let people = licensegraph::service::demo::seed_demo(&app.db, default_now()).await.expect("demo seeded");
    let school_agreement = first(
        agreement::Entity::find().filter(agreement::Column::OrganizationId.eq(people.school_id)),
        &app,
        "school agreement",
    )
    .await;
    let school_order = first(
        order::Entity::find()
            .filter(order::Column::AgreementId.eq(school_agreement.id))
            .order_by_asc(order::Column::Id),
        &app,
        "school order",
    )
    .await;
    let voucher = first(
        code::Entity::find().filter(code::Column::OrderId.eq(school_order.id)).order_by_asc(code::Column::Id),
        &app,
        "code",
    )
    .await;
    let partner = first(
        organization::Entity::find().filter(organization::Column::Kind.eq(OrganizationKind::Partner)),
        &app,
        "partner",
    )
    .await;
    let pending_exam = first(
        partner_certification::Entity::find().filter(partner_certification::Column::Review.eq(FactReview::Pending)),
        &app,
        "pending passed exam",
    )
    .await;
    let kpi = first(kpi_record::Entity::find(), &app, "KPI record").await;
    let dispute = first(kpi_dispute::Entity::find(), &app, "KPI dispute").await;
    // A second partner account, for the merge example.
    let other = app
        .execute(
            &admin(),
            "mutation { createOrganization(input: { name: \"Fabrikam Learning\", kind: PARTNER,
                partnerGlobalAccount: \"PGA-README-2\" }) { organization { id } } }",
            json!({}),
        )
        .await;
    let other = other["data"]["createOrganization"]["organization"]["id"].clone();
    let org = |id: i64| json!(id::encode("Organization", id));
    let values: HashMap<&str, Value> = HashMap::from([
        ("reseller", org(people.reseller_id)),
        ("school", org(people.school_id)),
        ("agreement", json!(id::encode("Agreement", school_agreement.id))),
        ("order", json!(id::encode("Order", school_order.id))),
        ("code", json!(id::encode("Code", voucher.id))),
        ("value", json!(voucher.value)),
        ("partner", org(partner.id)),
        ("exam", json!(id::encode("PassedExam", pending_exam.id))),
        ("kpi", json!(id::encode("KpiRecord", kpi.id))),
        ("dispute", json!(id::encode("KpiDispute", dispute.id))),
        ("a", other.clone()),
        ("b", org(partner.id)),
        ("after", Value::Null),
    ]);
    let mut ran = 0;
    for document in examples() {
        for (name, vars) in operations(&document) {
            let mut variables = Map::new();
            for var in vars {
                let value = values.get(var.as_str()).unwrap_or_else(|| {
                    panic!("README example {name} uses ${var}: give it a value from the demo data here")
                });
                variables.insert(var, value.clone());
            }
            let request = async_graphql::Request::new(document.clone())
                .operation_name(name.clone())
                .variables(async_graphql::Variables::from_json(Value::Object(variables)));
            let loaders = licensegraph::graphql::loaders::loaders(app.db.clone());
            let response = app.state.execute(request, admin(), app.db.clone(), loaders).await;
            let response = serde_json::to_value(&response).expect("serializes");
            assert!(response["errors"].is_null(), "README example {name}: {response}");
            ran += 1;
        }
    }
    assert!(ran >= 36, "only {ran} README operations ran");
}
