//! The tenant isolation matrix: organization A's roles asking for
//! organization B's objects get exactly what they would get for an id that
//! does not exist, through every query, every `node(id)` type and every
//! mutation that takes an id.
//!
//! Nothing here lists operations by hand: the requests are generated from
//! the schema's own introspection, so a new operation is covered the day it
//! is added. What the generator cannot decide on its own fails the test
//! with a message saying what to add: an id argument whose type it cannot
//! tell ([`id_type`]), a `Node` type it does not know to be tenant-owned
//! or global, or a mutation whose sample input never reaches its id check.
//!
//! Two identical worlds are built, Alpha (A) and Beta (B): an academic
//! customer with an agreement and a fulfilled order whose first code is
//! assigned to a learner, and a partner that resells to the customer and
//! holds a Learning Action Pack with a certified trainer. For every id
//! position of every operation and every one of A's roles, the request is
//! sent twice, once with B's object there (every other id is A's own) and
//! once with a well-formed id that exists nowhere, and the two answers must
//! be identical once the two ids are masked. On top, every query is run
//! with A's own objects and its answer must not mention anything of B.

use std::collections::{BTreeMap, HashMap};

use licensegraph::{
    auth::{Role, Viewer},
    config::LimitArgs,
    id,
};
use serde_json::{Map, Value, json};

use crate::{
    fixtures::*,
    helpers::{TestApp, admin},
    memberships::{TRAINER, enroll, partner},
};

/// Types whose objects belong to one organization.
const TENANT_TYPES: [&str; 12] = [
    "Organization",
    "Agreement",
    "Order",
    "Code",
    "Membership",
    "CertifiedTrainer",
    "PassedExam",
    "KpiRecord",
    "KpiDispute",
    "DirectoryListing",
    "Event",
    "WebhookEndpoint",
];
/// `Node` types everyone may read (the catalog).
const GLOBAL_TYPES: [&str; 2] = ["Program", "Package"];
/// Stands for an id in a generated request until a variant fills it in.
const HOLE: &str = "\u{1}id:";

/// The type of object an id argument or input field names. `parent` is
/// the root field (for arguments) or the input type (for input fields).
fn id_type(parent: &str, field: &str) -> Result<&'static str, String> {
    Ok(match (parent, field) {
        (_, "organizationId" | "resellerId" | "customerId" | "survivorId" | "mergedId" | "resellerIds") => {
            "Organization"
        }
        (_, "agreementId") => "Agreement",
        (_, "orderId") => "Order",
        (_, "codeId") => "Code",
        (_, "membershipId") => "Membership",
        ("organization" | "UpdateOrganizationInput", "id") => "Organization",
        ("UpdateAgreementInput" | "RenewAgreementInput", "id") => "Agreement",
        ("order" | "OrderStepInput" | "CancelOrderInput", "id") => "Order",
        ("code", "id") => "Code",
        ("membership" | "RenewMembershipInput" | "ReactivateMembershipInput", "id") => "Membership",
        ("RemoveCertifiedTrainerInput" | "ReviewCertifiedTrainerInput", "id") => "CertifiedTrainer",
        ("ReviewPassedExamInput", "id") => "PassedExam",
        ("ReviewKpiRecordInput" | "CorrectKpiRecordInput", "id") | ("DisputeKpiInput", "recordId") => "KpiRecord",
        ("VerifyPartnerFactInput", "id") => "KpiDispute",
        ("events", "subjectId") => "Order",
        (_, "eventId") => "Event",
        (_, "endpointId") => "WebhookEndpoint",
        ("RotateWebhookSecretInput" | "UpdateWebhookEndpointInput", "id") => "WebhookEndpoint",
        ("UpdateDirectoryListingInput" | "WithdrawDirectoryListingInput" | "ReviewDirectoryListingInput", "id") => {
            "DirectoryListing"
        }
        ("UpdateProgramInput", "id") => "Program",
        ("UpdatePackageInput", "id") => "Package",
        _ => return Err(format!("isolation matrix: tell id_type() what `{parent}.{field}` points at")),
    })
}

/// A value for a required non-id argument or input field that passes
/// validation, so that the request reaches its id check.
fn sample(field: &str, type_name: &str, schema: &Introspected) -> Value {
    match (field, type_name) {
        ("code" | "programCode", "String") => json!("EES"),
        ("sku" | "packageSku", "String") => json!("CLASS-MCP-30"),
        ("value", "String") => json!("NOPE-NOPE-NOPE"),
        ("competency", "String") => json!("Cloud Platform"),
        ("country", "String") => json!("DE"),
        ("homepageUrl", "String") => json!("https://isolation.example"),
        ("currency", "String") => json!("USD"),
        ("number" | "invoiceNumber", "String") => json!("ISO-1"),
        ("mctId", "String") => json!("MCT-9999"),
        ("assignee" | "person" | "noticeContact", "String") => json!("someone@isolation.example"),
        ("exam", "String") => json!("MD-100"),
        ("url", "String") => json!("https://hooks.isolation.example/lg"),
        ("emails", "String") => json!("ops@isolation.example"),
        ("eventTypes", "String") => json!("order.placed"),
        (_, "DateTime") => json!("2026-01-01T00:00:00Z"),
        (_, "String") => json!("isolation"),
        ("year", "Int") => json!(2026),
        ("month", "Int") => json!(10),
        ("within" | "first", "Int") => json!(30),
        (_, "Int") => json!(1),
        ("feePaid" | "profileReviewed", "Boolean") => json!(true),
        (_, "Boolean") => json!(false),
        ("endsOn", "Date") => json!("2027-06-30"),
        (_, "Date") => json!("2026-07-01"),
        ("offer", "Offer") => json!("LEARNING_ACTION_PACK"),
        ("documentType", "DocumentType") => json!("INVOICE"),
        _ => match schema.kind(type_name) {
            "ENUM" => json!(schema.types[type_name]["enumValues"][0]["name"]),
            other => panic!("isolation matrix: no sample for `{field}: {type_name}` ({other})"),
        },
    }
}

/// The schema, from introspection.
struct Introspected {
    types: HashMap<String, Value>,
}

const INTROSPECT: &str = "{ __schema { types {
    kind name
    fields { name args { name type { ...T } } type { ...T } }
    inputFields { name type { ...T } }
    enumValues { name }
    possibleTypes { name }
} } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

impl Introspected {
    async fn load(app: &TestApp) -> Self {
        let res = app.execute(&admin(), INTROSPECT, json!({})).await;
        let types = res["data"]["__schema"]["types"].as_array().expect("types");
        Self { types: types.iter().map(|t| (t["name"].as_str().expect("name").to_owned(), t.clone())).collect() }
    }

    fn kind(&self, name: &str) -> &str {
        self.types[name]["kind"].as_str().expect("kind")
    }

    fn fields(&self, name: &str) -> &Vec<Value> {
        self.types[name]["fields"].as_array().expect("fields")
    }

    /// A selection of every field without required arguments, `depth`
    /// levels deep, so that any leaked value would show.
    fn selection(&self, name: &str, depth: usize) -> String {
        let mut parts = vec!["__typename".to_owned()];
        if let Some(fields) = self.types[name]["fields"].as_array() {
            for field in fields {
                if field["args"].as_array().is_some_and(|args| args.iter().any(|a| required(&a["type"]))) {
                    continue;
                }
                let field_name = field["name"].as_str().expect("name");
                let inner = named(&field["type"]);
                match self.kind(inner) {
                    "SCALAR" | "ENUM" => parts.push(field_name.to_owned()),
                    "OBJECT" | "INTERFACE" if depth > 1 => {
                        parts.push(format!("{field_name} {{ {} }}", self.selection(inner, depth - 1)))
                    }
                    "UNION" => parts.push(format!("{field_name} {{ __typename }}")),
                    _ => {}
                }
            }
        }
        parts.join(" ")
    }

    /// A value for an argument or input field: ids become holes, required
    /// others get a sample, optional others are left out (`None`).
    fn value(&self, parent: &str, field: &str, ty: &Value, holes: &mut Vec<&'static str>) -> Option<Value> {
        let inner = named(ty);
        let hole = |holes: &mut Vec<&'static str>| {
            let kind = id_type(parent, field).unwrap_or_else(|e| panic!("{e}"));
            holes.push(kind);
            json!(format!("{HOLE}{}", holes.len() - 1))
        };
        if inner == "ID" {
            let one = hole(holes);
            return Some(if is_list(ty) { json!([one]) } else { one });
        }
        if !required(ty) && !wanted(parent, field) {
            return None;
        }
        let one = if self.kind(inner) == "INPUT_OBJECT" {
            let mut object = Map::new();
            for input in self.types[inner]["inputFields"].as_array().expect("input fields") {
                let name = input["name"].as_str().expect("name");
                if let Some(value) = self.value(inner, name, &input["type"], holes) {
                    object.insert(name.to_owned(), value);
                }
            }
            Value::Object(object)
        } else {
            sample(field, inner, self)
        };
        Some(if is_list(ty) { json!([one]) } else { one })
    }
}

fn named(ty: &Value) -> &str {
    match ty["name"].as_str() {
        Some(name) => name,
        None => named(&ty["ofType"]),
    }
}

/// Optional fields a request needs all the same (one of two shapes of an
/// input), so that it reaches its id check.
fn wanted(parent: &str, field: &str) -> bool {
    matches!((parent, field), ("VoucherPlanInput", "people" | "certificationsEach" | "examsPerCertification" | "level"))
}

fn required(ty: &Value) -> bool {
    ty["kind"] == "NON_NULL"
}

fn is_list(ty: &Value) -> bool {
    let inner = if required(ty) { &ty["ofType"] } else { ty };
    inner["kind"] == "LIST"
}

fn type_text(ty: &Value) -> String {
    match ty["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", type_text(&ty["ofType"])),
        Some("LIST") => format!("[{}]", type_text(&ty["ofType"])),
        _ => ty["name"].as_str().expect("name").to_owned(),
    }
}

/// One generated operation: its text, its variables with holes, and the
/// type of object each hole stands for.
struct Operation {
    label: String,
    mutation: bool,
    text: String,
    variables: Value,
    holes: Vec<&'static str>,
}

fn operations(schema: &Introspected) -> Vec<Operation> {
    let mut out = Vec::new();
    for (root, keyword) in [("Query", "query"), ("Mutation", "mutation")] {
        for field in schema.fields(root) {
            let name = field["name"].as_str().expect("name");
            if root == "Query" && matches!(name, "node" | "nodes") {
                continue; // per type, below
            }
            let mut holes = Vec::new();
            let mut variables = Map::new();
            let mut declared = Vec::new();
            let mut passed = Vec::new();
            for arg in field["args"].as_array().expect("args") {
                let arg_name = arg["name"].as_str().expect("name");
                if let Some(value) = schema.value(name, arg_name, &arg["type"], &mut holes) {
                    declared.push(format!("${arg_name}: {}", type_text(&arg["type"])));
                    passed.push(format!("{arg_name}: ${arg_name}"));
                    variables.insert(arg_name.to_owned(), value);
                }
            }
            let inner = named(&field["type"]);
            let selection = match schema.kind(inner) {
                "SCALAR" | "ENUM" => String::new(),
                _ => format!("{{ {} }}", schema.selection(inner, 3)),
            };
            let wrap = |list: &[String], open: &str, close: &str| {
                if list.is_empty() { String::new() } else { format!("{open}{}{close}", list.join(", ")) }
            };
            out.push(Operation {
                label: format!("{root}.{name}"),
                mutation: root == "Mutation",
                text: format!(
                    "{keyword} Op{} {{ {name}{} {selection} }}",
                    wrap(&declared, "(", ")"),
                    wrap(&passed, "(", ")")
                ),
                variables: Value::Object(variables),
                holes,
            });
        }
    }
    // `node(id)` and `nodes(ids)` once per tenant-owned Node type.
    let implements_node: Vec<String> = schema.types["Node"]["possibleTypes"]
        .as_array()
        .expect("Node's types")
        .iter()
        .map(|t| t["name"].as_str().expect("name").to_owned())
        .collect();
    for ty in implements_node {
        assert!(
            TENANT_TYPES.contains(&ty.as_str()) || GLOBAL_TYPES.contains(&ty.as_str()),
            "isolation matrix: is Node type `{ty}` tenant-owned (TENANT_TYPES) or global (GLOBAL_TYPES)?"
        );
        if !TENANT_TYPES.contains(&ty.as_str()) {
            continue;
        }
        let kind: &'static str = TENANT_TYPES.iter().find(|t| **t == ty).expect("tenant type");
        let selection = format!("__typename ... on {ty} {{ {} }}", schema.selection(&ty, 2));
        out.push(Operation {
            label: format!("Query.node as {ty}"),
            mutation: false,
            text: format!("query Op($id: ID!) {{ node(id: $id) {{ {selection} }} }}"),
            variables: json!({ "id": format!("{HOLE}0") }),
            holes: vec![kind],
        });
        out.push(Operation {
            label: format!("Query.nodes as {ty}"),
            mutation: false,
            text: format!("query Op($ids: [ID!]!) {{ nodes(ids: $ids) {{ {selection} }} }}"),
            variables: json!({ "ids": [format!("{HOLE}0")] }),
            holes: vec![kind],
        });
    }
    out
}

/// One organization's objects, by type.
struct World {
    objects: BTreeMap<&'static str, Vec<String>>,
    code_values: Vec<String>,
    viewers: Vec<(&'static str, Viewer)>,
}

const ASSIGNED: &str = "mutation($input: AssignCodeInput!) { assignCode(input: $input) { userErrors { code } } }";
const LINK: &str = "mutation($input: LinkResellerInput!) { linkReseller(input: $input) { userErrors { code } } }";

async fn world(app: &TestApp, name: &str) -> World {
    let tag = name.to_uppercase();
    let school = academic(app, &format!("{name} Academy")).await;
    let (firm, partner_admin) = partner(app, &format!("{name} Partners"), &format!("PGA-{tag}")).await;
    let linked = mutate(app, &admin(), LINK, json!({ "resellerId": firm.gid, "customerId": school.gid })).await;
    assert_eq!(user_errors(&linked), Vec::<String>::new());
    let agreement = academic_year(app, &school, &format!("{tag}-EES-1")).await;
    let order = fulfilled(app, &agreement, "CLASS-MCP-30", 1, "PRORATED").await;
    let codes = codes_of(app, &order, 3).await;
    let learner_sub = format!("ada@{}.example", name.to_lowercase());
    let assigned =
        mutate(app, &customer_admin(&school), ASSIGNED, json!({ "codeId": codes[0].0, "assignee": learner_sub })).await;
    assert_eq!(user_errors(&assigned), Vec::<String>::new(), "{assigned}");
    let trainer = mutate(
        app,
        &admin(),
        TRAINER,
        json!({ "organizationId": firm.gid, "name": format!("{name} Trainer"), "mctId": format!("MCT-{tag}") }),
    )
    .await;
    let trainer = trainer["trainer"]["id"].as_str().expect("trainer id").to_owned();
    let membership = enroll(app, &partner_admin, &firm, "LEARNING_ACTION_PACK").await;
    let membership = membership["membership"]["id"].as_str().expect("membership id").to_owned();
    // A passed exam and a KPI record the partner submits (pending, R-28).
    let passed = mutate(
        app,
        &partner_admin,
        "mutation($input: RecordPassedExamInput!) { recordPassedExam(input: $input) { passedExam { id } userErrors { code } } }",
        json!({ "organizationId": firm.gid, "person": "grace", "exam": "AZ-104", "passedOn": "2026-06-01" }),
    )
    .await;
    let passed = passed["passedExam"]["id"].as_str().expect("passed exam id").to_owned();
    let kpi = mutate(
        app,
        &partner_admin,
        "mutation($input: RecordKpiInput!) { recordKpi(input: $input) { kpi { id } userErrors { code } } }",
        crate::memberships::kpi_input(&firm, (2026, 6), &format!("INV-{tag}"), 10, 1000),
    )
    .await;
    let kpi = kpi["kpi"]["id"].as_str().expect("kpi id").to_owned();
    let dispute = mutate(
        app,
        &partner_admin,
        "mutation($input: DisputeKpiInput!) { disputeKpi(input: $input) { dispute { id } userErrors { code } } }",
        json!({ "organizationId": firm.gid, "recordId": kpi, "invoicedOn": "2026-06-01", "omlpType": "OLP",
                "purchaseUnit": "Training", "documentType": "INVOICE", "invoiceNumber": format!("INV-{tag}"),
                "kpiValue": 20, "revenueCents": 2000 }),
    )
    .await;
    let dispute = dispute["dispute"]["id"].as_str().expect("dispute id").to_owned();
    let listing = mutate(
        app,
        &partner_admin,
        "mutation($input: SubmitDirectoryListingInput!) { submitDirectoryListing(input: $input) { listing { id } userErrors { code } } }",
        json!({ "organizationId": firm.gid, "displayName": format!("{name} Learning"), "country": "DE",
                "homepageUrl": format!("https://{}.example", name.to_lowercase()) }),
    )
    .await;
    let listing = listing["listing"]["id"].as_str().expect("listing id").to_owned();

    let endpoint = mutate(
        app,
        &customer_admin(&school),
        "mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } userErrors { code } } }",
        json!({ "url": format!("https://hooks.{}.example/lg", name.to_lowercase()), "eventTypes": [] }),
    )
    .await;
    let endpoint = endpoint["endpoint"]["id"].as_str().expect("endpoint id").to_owned();
    let placed = app
        .execute(
            &customer_admin(&school),
            "query($s: ID) { events(subjectId: $s, first: 1) { nodes { id } } }",
            json!({ "s": order }),
        )
        .await;
    let event = placed["data"]["events"]["nodes"][0]["id"].as_str().expect("an event of the order").to_owned();

    let mut objects = BTreeMap::new();
    objects.insert("Organization", vec![school.gid.clone(), firm.gid.clone()]);
    objects.insert("Event", vec![event]);
    objects.insert("WebhookEndpoint", vec![endpoint]);
    objects.insert("Agreement", vec![agreement]);
    objects.insert("Order", vec![order]);
    objects.insert("Code", codes.iter().map(|(id, _)| id.clone()).collect());
    objects.insert("Membership", vec![membership]);
    objects.insert("CertifiedTrainer", vec![trainer]);
    objects.insert("PassedExam", vec![passed]);
    objects.insert("KpiRecord", vec![kpi]);
    objects.insert("KpiDispute", vec![dispute]);
    objects.insert("DirectoryListing", vec![listing]);
    for (kind, ids) in &objects {
        for global in ids {
            assert_eq!(id::decode(global).map(|(k, _)| k), Some(kind.to_string()), "{global} is a {kind}");
        }
    }
    let viewers = vec![
        ("customer_admin", customer_admin(&school)),
        ("learner", person(&learner_sub, &[Role::Learner], school.id)),
        ("reseller", person(&format!("sales@{name}"), &[Role::Reseller], firm.id)),
        ("partner_admin", partner_admin),
    ];
    World { objects, code_values: codes.into_iter().map(|(_, value)| value).collect(), viewers }
}

/// The catalog objects any request may name.
async fn catalog_ids(app: &TestApp) -> BTreeMap<&'static str, Vec<String>> {
    let res = app
        .execute(&admin(), "{ program(code: \"EES\") { id } package(sku: \"CLASS-MCP-30\") { id } }", json!({}))
        .await;
    let mut ids = BTreeMap::new();
    ids.insert("Program", vec![res["data"]["program"]["id"].as_str().expect("program").to_owned()]);
    ids.insert("Package", vec![res["data"]["package"]["id"].as_str().expect("package").to_owned()]);
    ids
}

/// Replaces every hole: `target` gets `value`, every other hole gets the
/// first object of its type from `own`.
fn fill(
    template: &Value,
    holes: &[&'static str],
    target: Option<(usize, &str)>,
    own: &BTreeMap<&str, Vec<String>>,
) -> Value {
    match template {
        Value::String(s) if s.starts_with(HOLE) => {
            let index: usize = s[HOLE.len()..].parse().expect("hole index");
            match target {
                Some((t, value)) if t == index => json!(value),
                _ => json!(own[holes[index]][0]),
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| fill(v, holes, target, own)).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), fill(v, holes, target, own))).collect())
        }
        other => other.clone(),
    }
}

/// The error and user-error codes of an answer.
fn codes_in(answer: &Value) -> Vec<String> {
    let mut codes = Vec::new();
    if let Some(errors) = answer["errors"].as_array() {
        codes.extend(errors.iter().filter_map(|e| e["extensions"]["code"].as_str().map(str::to_owned)));
    }
    if let Some(data) = answer["data"].as_object() {
        for payload in data.values() {
            if let Some(errors) = payload["userErrors"].as_array() {
                codes.extend(errors.iter().filter_map(|e| e["code"].as_str().map(str::to_owned)));
            }
        }
    }
    codes
}

#[tokio::test]
async fn another_organizations_objects_answer_like_missing_ones() {
    let limits = LimitArgs {
        max_complexity: 1_000_000,
        max_fields: 100_000,
        max_tokens: 100_000,
        max_query_bytes: 1 << 20,
        code_attempts_per_minute: 1_000_000,
        ..LimitArgs::default()
    };
    let app = TestApp::with_limits(limits).await;
    let alpha = world(&app, "Alpha").await;
    let beta = world(&app, "Beta").await;
    let catalog = catalog_ids(&app).await;
    let mut own = alpha.objects.clone();
    own.extend(catalog.clone());
    let schema = Introspected::load(&app).await;
    let operations = operations(&schema);

    let mut compared = 0usize;
    let mut failures = Vec::new();
    for operation in &operations {
        let mut reached_id_check = false;
        let mut every_role_refused = true;
        for (role, viewer) in &alpha.viewers {
            for (index, kind) in operation.holes.iter().enumerate() {
                let Some(theirs) = beta.objects.get(kind) else { continue }; // the catalog is shared
                let missing = id::encode(kind, 987_654_321);
                let missing_vars = fill(&operation.variables, &operation.holes, Some((index, &missing)), &own);
                let missing_answer = app.execute(viewer, &operation.text, missing_vars).await;
                let missing_codes = codes_in(&missing_answer);
                let refused = missing_codes.iter().any(|c| c == "FORBIDDEN" || c == "UNAUTHENTICATED");
                every_role_refused &= refused;
                reached_id_check |= missing_codes.iter().any(|c| c == "NOT_FOUND") || !operation.mutation;
                if let Some(other) =
                    missing_codes.iter().find(|c| !matches!(c.as_str(), "NOT_FOUND" | "FORBIDDEN" | "UNAUTHENTICATED"))
                {
                    failures.push(format!(
                        "{} as {role}: a missing {kind} answered {other}, so the sample input never reached the id \
                         check (fix sample()): {missing_answer}",
                        operation.label
                    ));
                    continue;
                }
                let masked_missing = missing_answer.to_string().replace(&missing, "<ID>");
                for object in theirs {
                    let vars = fill(&operation.variables, &operation.holes, Some((index, object)), &own);
                    let answer = app.execute(viewer, &operation.text, vars).await;
                    compared += 1;
                    let masked = answer.to_string().replace(object, "<ID>");
                    if masked != masked_missing {
                        failures.push(format!(
                            "{} as {role} with B's {kind} {object}:\n  got      {masked}\n  missing: {masked_missing}",
                            operation.label
                        ));
                    }
                }
            }
        }
        let has_tenant_hole = operation.holes.iter().any(|k| TENANT_TYPES.contains(k));
        if operation.mutation && has_tenant_hole {
            if !reached_id_check && !every_role_refused {
                failures.push(format!("{}: no role's request reached the id check; fix sample()", operation.label));
            }
            let how = if reached_id_check { "NOT_FOUND for some role" } else { "refused to every A role" };
            println!("  {}: {how}", operation.label);
        }
    }

    // Every query, with A's own objects in every id position: nothing of B.
    let mut marks: Vec<String> = beta.objects.values().flatten().cloned().collect();
    marks.extend(beta.code_values.iter().cloned());
    marks.push("Beta".into());
    let mut scanned = 0usize;
    for operation in operations.iter().filter(|o| !o.mutation) {
        for (role, viewer) in &alpha.viewers {
            let answer =
                app.execute(viewer, &operation.text, fill(&operation.variables, &operation.holes, None, &own)).await;
            scanned += 1;
            let text = answer.to_string();
            if let Some(mark) = marks.iter().find(|m| text.contains(m.as_str())) {
                failures.push(format!("{} as {role} shows B's {mark}: {text}", operation.label));
            }
        }
    }
    // The admin sees both worlds: the scan above would have found B.
    let all = app.execute(&admin(), "{ organizations(first: 100) { nodes { name } } }", json!({})).await;
    assert!(all.to_string().contains("Beta Academy"), "the scan looks for something that is there: {all}");

    assert!(failures.is_empty(), "{} isolation failures:\n{}", failures.len(), failures.join("\n\n"));
    assert!(compared > 200, "compared only {compared} answers");
    println!("isolation matrix: {} operations, {compared} comparisons, {scanned} scans", operations.len());
}
