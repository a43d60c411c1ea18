//! The seeded catalog and the catalog operations, for each role (R-1, R-4,
//! R-7, R-9, R-10).

use licensegraph::{auth::Role, clock::Clock, id, service::seed::seed_catalog};
use serde_json::{Value, json};

use crate::helpers::{TestApp, admin, anonymous, error_code, non_admins, viewer};

const PROGRAM_CODES: [&str; 11] =
    ["VL", "SA", "EES", "SCHOOL", "SELECT_PLUS_EDU", "EA", "OVS", "MPSA", "CSP", "MPN", "OVS_ES"];

fn codes(list: &Value, key: &str) -> Vec<String> {
    list.as_array().expect("a list").iter().map(|n| n[key].as_str().expect("a string").to_owned()).collect()
}

#[tokio::test]
async fn the_eleven_seeded_programs_are_listed_for_anyone() {
    // R-1 and section 1: every program exists on first start.
    let app = TestApp::spawn().await;
    let res = app.execute(&anonymous(), "{ programs { totalCount nodes { code name kind active } } }", json!({})).await;
    assert_eq!(res["errors"], Value::Null, "{res}");
    assert_eq!(res["data"]["programs"]["totalCount"], 11);
    assert_eq!(codes(&res["data"]["programs"]["nodes"], "code"), PROGRAM_CODES);
    let ees = &res["data"]["programs"]["nodes"][2];
    assert_eq!(ees["name"], "Enrollment for Education Solutions");
    assert_eq!(ees["kind"], "ACADEMIC");
    assert_eq!(res["data"]["programs"]["nodes"][8]["kind"], "PARTNER");
}

#[tokio::test]
async fn the_seeded_packages_carry_their_programs_families_and_requirements() {
    // Section 3 of docs/domain.md, row by row.
    let app = TestApp::spawn().await;
    let query = r#"{ packages(includeRetired: true) { totalCount nodes {
        sku kind vouchersPerPack retired requiresAccredited requiresCertiportTestingCenter
        examFamilies solutionAreas programs { code } listPrice { cents currency } discountTiers { minQuantity percentOff }
    } } }"#;
    let res = app.execute(&admin(), query, json!({})).await;
    let nodes = res["data"]["packages"]["nodes"].as_array().expect("packages").clone();
    assert_eq!(res["data"]["packages"]["totalCount"], 7, "{res}");
    let by_sku = |sku: &str| nodes.iter().find(|n| n["sku"] == sku).cloned().expect(sku);

    let eref = by_sku("EREF-LIB");
    assert_eq!(eref["kind"], "LIBRARY_ACCESS");
    assert_eq!(eref["vouchersPerPack"], Value::Null);
    assert_eq!(codes(&eref["programs"], "code"), ["VL", "SA", "EA"]);

    let voucher = by_sku("MCP-VOUCHER");
    assert_eq!((voucher["kind"].clone(), voucher["vouchersPerPack"].clone()), (json!("EXAM_VOUCHER"), json!(1)));
    assert_eq!(voucher["examFamilies"], json!(["MCP"]));

    let site500 = by_sku("SITE-MOS-MTA-MCE-500");
    assert_eq!(site500["vouchersPerPack"], 500);
    assert_eq!(site500["examFamilies"], json!(["MCE", "MOS", "MTA"]));
    assert_eq!(codes(&site500["programs"], "code"), ["EES", "SCHOOL", "SELECT_PLUS_EDU"]);
    // R-8: site packs need accreditation and a Certiport testing center.
    assert_eq!(
        (site500["requiresAccredited"].clone(), site500["requiresCertiportTestingCenter"].clone()),
        (json!(true), json!(true))
    );

    let site125 = by_sku("SITE-MTA-MOS-MCE-125");
    assert_eq!(site125["vouchersPerPack"], 125);
    assert_eq!(site125["examFamilies"], json!(["MOS+MCE", "MTA+MCE"]));

    let class = by_sku("CLASS-MCP-30");
    assert_eq!(class["vouchersPerPack"], 30);
    assert_eq!(class["examFamilies"], json!(["MCSA", "MCSD", "MCSE"]));
    // R-8: class packs need accreditation only.
    assert_eq!(
        (class["requiresAccredited"].clone(), class["requiresCertiportTestingCenter"].clone()),
        (json!(true), json!(false))
    );

    let imagine = by_sku("IMAGINE-ACADEMY");
    assert_eq!((imagine["kind"].clone(), imagine["vouchersPerPack"].clone()), (json!("SUBSCRIPTION"), json!(30)));
    assert_eq!(imagine["requiresAccredited"], false);

    let elearning = by_sku("ELEARNING-VL");
    assert_eq!(elearning["retired"], true);
    assert_eq!(codes(&elearning["programs"], "code"), ["VL"]);

    for node in &nodes {
        // R-10: a package covers named solution areas; money is integer cents.
        assert!(!node["solutionAreas"].as_array().expect("areas").is_empty());
        assert_eq!(node["listPrice"]["currency"], "USD");
        assert!(node["listPrice"]["cents"].is_i64());
        for tier in node["discountTiers"].as_array().expect("tiers") {
            let pct = tier["percentOff"].as_i64().expect("percent");
            assert!((0..=80).contains(&pct), "R-7 keeps savings within 0-80 %");
        }
    }
}

#[tokio::test]
async fn restarting_does_not_duplicate_the_catalog_or_undo_changes() {
    let app = TestApp::spawn().await;
    let retire = r#"mutation { updatePackage(input: { id: "ID", name: "Renamed voucher" }) { userErrors { code } } }"#;
    let voucher = app.execute(&anonymous(), r#"{ package(sku: "MCP-VOUCHER") { id } }"#, json!({})).await;
    let voucher_id = voucher["data"]["package"]["id"].as_str().expect("id").to_owned();
    app.execute(&admin(), &retire.replace("ID", &voucher_id), json!({})).await;

    seed_catalog(&app.db, app.clock.now()).await.expect("second seed");
    seed_catalog(&app.db, app.clock.now()).await.expect("third seed");

    let res = app
        .execute(&admin(), r#"{ programs { totalCount } packages(includeRetired: true) { totalCount } package(sku: "MCP-VOUCHER") { name } }"#, json!({}))
        .await;
    assert_eq!(res["data"]["programs"]["totalCount"], 11);
    assert_eq!(res["data"]["packages"]["totalCount"], 7);
    assert_eq!(res["data"]["package"]["name"], "Renamed voucher");
}

#[tokio::test]
async fn a_retired_package_is_hidden_from_anonymous_callers_but_readable_when_signed_in() {
    // R-9: a retired package stays readable (for existing agreements).
    let app = TestApp::spawn().await;
    let anon = app
        .execute(&anonymous(), r#"{ packages { nodes { sku } } package(sku: "ELEARNING-VL") { sku } }"#, json!({}))
        .await;
    assert!(!codes(&anon["data"]["packages"]["nodes"], "sku").contains(&"ELEARNING-VL".to_owned()));
    assert_eq!(anon["data"]["package"], Value::Null);

    let learner = viewer(&[Role::Learner], Some(1));
    let signed_in = app.execute(&learner, r#"{ package(sku: "ELEARNING-VL") { sku retired } }"#, json!({})).await;
    assert_eq!(signed_in["data"]["package"], json!({ "sku": "ELEARNING-VL", "retired": true }));
}

#[tokio::test]
async fn anonymous_callers_asking_for_retired_packages_are_told_to_sign_in() {
    let app = TestApp::spawn().await;
    let res = app.execute(&anonymous(), "{ packages(includeRetired: true) { totalCount } }", json!({})).await;
    assert_eq!(error_code(&res), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn packages_are_filtered_by_program_and_kind() {
    let app = TestApp::spawn().await;
    let res = app
        .execute(
            &anonymous(),
            r#"{ ees: packages(programCode: "EES") { nodes { sku } }
                 vouchers: packages(kind: EXAM_VOUCHER) { nodes { sku } }
                 none: packages(programCode: "NOPE") { totalCount nodes { sku } }
                 program(code: "VL") { packages { nodes { sku } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        codes(&res["data"]["ees"]["nodes"], "sku"),
        ["SITE-MOS-MTA-MCE-500", "SITE-MTA-MOS-MCE-125", "CLASS-MCP-30", "IMAGINE-ACADEMY"]
    );
    assert_eq!(
        codes(&res["data"]["vouchers"]["nodes"], "sku"),
        ["MCP-VOUCHER", "SITE-MOS-MTA-MCE-500", "SITE-MTA-MOS-MCE-125", "CLASS-MCP-30"]
    );
    assert_eq!(res["data"]["none"]["totalCount"], 0);
    // Retired ELEARNING-VL is under VL too, but not listed by default.
    assert_eq!(codes(&res["data"]["program"]["packages"]["nodes"], "sku"), ["EREF-LIB", "MCP-VOUCHER"]);
}

#[tokio::test]
async fn pages_follow_cursors_forward_and_backward() {
    let app = TestApp::spawn().await;
    let first = app
        .execute(
            &anonymous(),
            "{ programs(first: 4) { totalCount pageInfo { hasNextPage endCursor } nodes { code } } }",
            json!({}),
        )
        .await;
    let page = &first["data"]["programs"];
    assert_eq!(codes(&page["nodes"], "code"), PROGRAM_CODES[..4]);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    assert_eq!(page["totalCount"], 11);

    let cursor = page["pageInfo"]["endCursor"].as_str().expect("cursor");
    let second = app
        .execute(
            &anonymous(),
            "query($c: String) { programs(first: 4, after: $c) { pageInfo { hasPreviousPage } edges { cursor node { code } } } }",
            json!({ "c": cursor }),
        )
        .await;
    let edges = second["data"]["programs"]["edges"].as_array().expect("edges");
    assert_eq!(
        edges.iter().map(|e| e["node"]["code"].as_str().expect("code")).collect::<Vec<_>>(),
        PROGRAM_CODES[4..8]
    );
    assert_eq!(second["data"]["programs"]["pageInfo"]["hasPreviousPage"], true);

    let last = app
        .execute(
            &anonymous(),
            "{ programs(last: 3) { pageInfo { hasPreviousPage hasNextPage } nodes { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(codes(&last["data"]["programs"]["nodes"], "code"), PROGRAM_CODES[8..]);
    assert_eq!(last["data"]["programs"]["pageInfo"]["hasPreviousPage"], true);
}

#[tokio::test]
async fn page_sizes_over_100_or_under_1_are_errors_not_all_rows() {
    let app = TestApp::spawn().await;
    for size in [101, 0, -5, 1_000_000] {
        let res = app
            .execute(&anonymous(), &format!("{{ programs(first: {size}) {{ nodes {{ code }} }} }}"), json!({}))
            .await;
        assert_eq!(error_code(&res), Some("BAD_USER_INPUT"), "{size}: {res}");
        assert_eq!(res["data"], Value::Null);
    }
    let res = app.execute(&anonymous(), r#"{ packages(after: "not-a-cursor") { totalCount } }"#, json!({})).await;
    assert_eq!(error_code(&res), Some("BAD_USER_INPUT"));
}

const CREATE_PROGRAM: &str = r#"mutation($input: CreateProgramInput!) {
    createProgram(input: $input) { program { id code name kind active } userErrors { code field message } } }"#;

#[tokio::test]
async fn an_admin_creates_a_program() {
    let app = TestApp::spawn().await;
    let res = app
        .execute(
            &admin(),
            CREATE_PROGRAM,
            json!({ "input": { "code": "LAB", "name": "Lab program", "kind": "VOLUME" } }),
        )
        .await;
    let payload = &res["data"]["createProgram"];
    assert_eq!(payload["userErrors"], json!([]), "{res}");
    assert_eq!(payload["program"]["code"], "LAB");
    assert_eq!(payload["program"]["active"], true);
    let listed = app.execute(&anonymous(), r#"{ program(code: "LAB") { name } }"#, json!({})).await;
    assert_eq!(listed["data"]["program"]["name"], "Lab program");
}

#[tokio::test]
async fn a_program_code_can_be_used_once() {
    // R-1: a program has a unique code.
    let app = TestApp::spawn().await;
    let res = app
        .execute(&admin(), CREATE_PROGRAM, json!({ "input": { "code": "EES", "name": "Again", "kind": "ACADEMIC" } }))
        .await;
    assert_eq!(res["data"]["createProgram"]["program"], Value::Null);
    assert_eq!(
        res["data"]["createProgram"]["userErrors"],
        json!([{ "code": "TAKEN", "field": ["input", "code"], "message": "a program with this code already exists" }])
    );
}

#[tokio::test]
async fn two_concurrent_creates_of_one_code_give_one_program() {
    // The unique constraint catches the race the pre-check cannot.
    let app = TestApp::spawn().await;
    let input = json!({ "input": { "code": "RACE", "name": "Race", "kind": "VOLUME" } });
    let admin = admin();
    let attempts = (0..8).map(|_| app.execute(&admin, CREATE_PROGRAM, input.clone()));
    let results = futures_util::future::join_all(attempts).await;
    let created = results.iter().filter(|r| r["data"]["createProgram"]["program"].is_object()).count();
    let taken = results.iter().filter(|r| r["data"]["createProgram"]["userErrors"][0]["code"] == "TAKEN").count();
    assert_eq!((created, taken), (1, 7), "{results:#?}");
}

#[tokio::test]
async fn a_malformed_program_is_refused_with_every_reason() {
    let app = TestApp::spawn().await;
    let res = app
        .execute(&admin(), CREATE_PROGRAM, json!({ "input": { "code": "bad code", "name": "  ", "kind": "VOLUME" } }))
        .await;
    let errors = &res["data"]["createProgram"]["userErrors"];
    assert_eq!(errors[0]["code"], "INVALID_FORMAT");
    assert_eq!(errors[0]["field"], json!(["input", "code"]));
    assert_eq!(errors[1]["code"], "BLANK");
    let count = app.execute(&admin(), "{ programs(includeInactive: true) { totalCount } }", json!({})).await;
    assert_eq!(count["data"]["programs"]["totalCount"], 11, "nothing was created");
}

#[tokio::test]
async fn retiring_a_program_hides_it_but_keeps_it() {
    // R-1: retiring hides a program from ordering, never deletes history.
    let app = TestApp::spawn().await;
    let ovs = app.execute(&anonymous(), r#"{ program(code: "OVS") { id } }"#, json!({})).await;
    let ovs_id = ovs["data"]["program"]["id"].clone();
    let res = app
        .execute(
            &admin(),
            "mutation($id: ID!) { updateProgram(input: { id: $id, active: false }) { program { active } userErrors { code } } }",
            json!({ "id": ovs_id }),
        )
        .await;
    assert_eq!(res["data"]["updateProgram"]["program"]["active"], false, "{res}");
    let anon =
        app.execute(&anonymous(), r#"{ programs { totalCount } program(code: "OVS") { code } }"#, json!({})).await;
    assert_eq!(anon["data"]["programs"]["totalCount"], 10);
    assert_eq!(anon["data"]["program"], Value::Null);
    let signed_in = app
        .execute(
            &admin(),
            r#"{ programs(includeInactive: true) { totalCount } program(code: "OVS") { active } }"#,
            json!({}),
        )
        .await;
    assert_eq!(signed_in["data"]["programs"]["totalCount"], 11);
    assert_eq!(signed_in["data"]["program"]["active"], false);
}

#[tokio::test]
async fn updating_a_missing_program_says_not_found() {
    let app = TestApp::spawn().await;
    for missing in [id::encode("Program", 9999), id::encode("Package", 1), "garbage".to_owned()] {
        let res = app
            .execute(&admin(), "mutation($id: ID!) { updateProgram(input: { id: $id, name: \"x\" }) { program { id } userErrors { code field } } }", json!({ "id": missing }))
            .await;
        assert_eq!(
            res["data"]["updateProgram"]["userErrors"],
            json!([{ "code": "NOT_FOUND", "field": ["input", "id"] }])
        );
    }
}

const CREATE_PACKAGE: &str = r#"mutation($input: CreatePackageInput!) {
    createPackage(input: $input) {
        package { sku kind vouchersPerPack programs { code } examFamilies solutionAreas discountTiers { minQuantity percentOff } }
        userErrors { code field message } } }"#;

fn package_input() -> Value {
    json!({ "input": {
        "sku": "MOS-VOUCHER-10", "name": "MOS voucher ten-pack", "kind": "EXAM_VOUCHER", "listPriceCents": 95000,
        "vouchersPerPack": 10, "examFamilies": ["MOS"], "solutionAreas": ["MODERN_WORKPLACE"],
        "programCodes": ["EES", "SCHOOL"], "discountTiers": [{ "minQuantity": 20, "percentOff": 10 }, { "minQuantity": 5, "percentOff": 5 }]
    } })
}

#[tokio::test]
async fn an_admin_creates_a_package_with_its_lists() {
    let app = TestApp::spawn().await;
    let res = app.execute(&admin(), CREATE_PACKAGE, package_input()).await;
    let payload = &res["data"]["createPackage"];
    assert_eq!(payload["userErrors"], json!([]), "{res}");
    assert_eq!(codes(&payload["package"]["programs"], "code"), ["EES", "SCHOOL"]);
    assert_eq!(payload["package"]["examFamilies"], json!(["MOS"]));
    assert_eq!(payload["package"]["solutionAreas"], json!(["MODERN_WORKPLACE"]));
    assert_eq!(
        payload["package"]["discountTiers"],
        json!([{ "minQuantity": 5, "percentOff": 5 }, { "minQuantity": 20, "percentOff": 10 }])
    );
}

#[tokio::test]
async fn a_package_under_an_unknown_program_is_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let mut input = package_input();
    input["input"]["programCodes"] = json!(["EES", "NOPE"]);
    let res = app.execute(&admin(), CREATE_PACKAGE, input).await;
    assert_eq!(res["data"]["createPackage"]["userErrors"][0]["code"], "UNKNOWN_PROGRAM");
    let found = app.execute(&admin(), r#"{ package(sku: "MOS-VOUCHER-10") { sku } }"#, json!({})).await;
    assert_eq!(found["data"]["package"], Value::Null);
}

#[tokio::test]
async fn a_discount_over_80_percent_is_refused() {
    // R-7: savings stay within 0-80 %.
    let app = TestApp::spawn().await;
    let mut input = package_input();
    input["input"]["discountTiers"] = json!([{ "minQuantity": 100, "percentOff": 81 }]);
    let res = app.execute(&admin(), CREATE_PACKAGE, input).await;
    assert_eq!(res["data"]["createPackage"]["userErrors"][0]["code"], "OUT_OF_RANGE");
    assert_eq!(res["data"]["createPackage"]["userErrors"][0]["field"], json!(["input", "discountTiers"]));
}

#[tokio::test]
async fn a_sku_can_be_used_once() {
    let app = TestApp::spawn().await;
    let mut input = package_input();
    input["input"]["sku"] = json!("MCP-VOUCHER");
    let res = app.execute(&admin(), CREATE_PACKAGE, input).await;
    assert_eq!(res["data"]["createPackage"]["userErrors"][0]["code"], "TAKEN");
}

#[tokio::test]
async fn retiring_a_package_keeps_it_readable_and_replaces_lists_when_given() {
    // R-9.
    let app = TestApp::spawn().await;
    let eref = app.execute(&anonymous(), r#"{ package(sku: "EREF-LIB") { id } }"#, json!({})).await;
    let res = app
        .execute(
            &admin(),
            r#"mutation($id: ID!) { updatePackage(input: { id: $id, retired: true, discountTiers: [{ minQuantity: 10, percentOff: 3 }] }) {
                package { retired discountTiers { minQuantity percentOff } programs { code } } userErrors { code } } }"#,
            json!({ "id": eref["data"]["package"]["id"] }),
        )
        .await;
    let package = &res["data"]["updatePackage"]["package"];
    assert_eq!(package["retired"], true, "{res}");
    assert_eq!(package["discountTiers"], json!([{ "minQuantity": 10, "percentOff": 3 }]));
    assert_eq!(codes(&package["programs"], "code"), ["VL", "SA", "EA"], "lists not given are kept");
}

#[tokio::test]
async fn catalog_mutations_are_for_admins_only() {
    let app = TestApp::spawn().await;
    let program = id::encode("Program", 1);
    let package = id::encode("Package", 1);
    let mutations = [
        (CREATE_PROGRAM.to_owned(), json!({ "input": { "code": "NEW", "name": "n", "kind": "VOLUME" } })),
        (
            "mutation($id: ID!) { updateProgram(input: { id: $id, active: false }) { userErrors { code } } }"
                .to_owned(),
            json!({ "id": program }),
        ),
        (CREATE_PACKAGE.to_owned(), package_input()),
        (
            "mutation($id: ID!) { updatePackage(input: { id: $id, retired: true }) { userErrors { code } } }"
                .to_owned(),
            json!({ "id": package }),
        ),
    ];
    for (mutation, variables) in &mutations {
        for who in non_admins() {
            let res = app.execute(&who, mutation, variables.clone()).await;
            assert_eq!(error_code(&res), Some("FORBIDDEN"), "{:?}: {res}", who.roles);
        }
        let res = app.execute(&anonymous(), mutation, variables.clone()).await;
        assert_eq!(error_code(&res), Some("UNAUTHENTICATED"), "{res}");
    }
    let after = app
        .execute(&anonymous(), r#"{ programs { totalCount } package(sku: "EREF-LIB") { retired } }"#, json!({}))
        .await;
    assert_eq!(after["data"]["programs"]["totalCount"], 11, "nothing changed");
    assert_eq!(after["data"]["package"]["retired"], false, "nothing changed");
}

#[tokio::test]
async fn node_finds_programs_and_packages_and_nothing_else() {
    let app = TestApp::spawn().await;
    let ids = app
        .execute(&anonymous(), r#"{ program(code: "EA") { id } package(sku: "CLASS-MCP-30") { id } }"#, json!({}))
        .await;
    let (program, package) = (ids["data"]["program"]["id"].clone(), ids["data"]["package"]["id"].clone());
    let query =
        r#"query($ids: [ID!]!) { nodes(ids: $ids) { id __typename ... on Program { code } ... on Package { sku } } }"#;
    let retired = id::encode("Package", 7);
    let res = app
        .execute(
            &anonymous(),
            query,
            json!({ "ids": [program, package, "garbage", id::encode("Program", 999), id::encode("Code", 1), retired] }),
        )
        .await;
    let nodes = &res["data"]["nodes"];
    assert_eq!(nodes[0]["code"], "EA", "{res}");
    assert_eq!(nodes[1]["sku"], "CLASS-MCP-30");
    for missing in 2..6 {
        assert_eq!(nodes[missing], Value::Null, "{missing}: {res}");
    }
    let too_many: Vec<String> = (1..=101).map(|i| id::encode("Program", i)).collect();
    let res = app.execute(&anonymous(), query, json!({ "ids": too_many })).await;
    assert_eq!(error_code(&res), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn viewer_reports_the_caller() {
    let app = TestApp::spawn().await;
    let res = app.execute(&anonymous(), "{ viewer { authenticated subject roles organizationId } }", json!({})).await;
    assert_eq!(
        res["data"]["viewer"],
        json!({ "authenticated": false, "subject": null, "roles": [], "organizationId": null })
    );
    let res =
        app.execute(&viewer(&[Role::CustomerAdmin], Some(3)), "{ viewer { roles organizationId } }", json!({})).await;
    assert_eq!(
        res["data"]["viewer"],
        json!({ "roles": ["CUSTOMER_ADMIN"], "organizationId": id::encode("Organization", 3) })
    );
}

#[tokio::test]
async fn nested_package_lists_cost_the_same_few_statements_whatever_the_page_size() {
    // STYLE habit 8: one statement per kind of child, never one per parent.
    let app = TestApp::spawn().await;
    for i in 0..12 {
        let mut input = package_input();
        input["input"]["sku"] = json!(format!("EXTRA-{i}"));
        let res = app.execute(&admin(), CREATE_PACKAGE, input).await;
        assert_eq!(res["data"]["createPackage"]["userErrors"], json!([]), "{res}");
    }
    let query = |n: usize| {
        format!(
            "{{ packages(first: {n}, includeRetired: true) {{ nodes {{ sku programs {{ code }} examFamilies solutionAreas discountTiers {{ percentOff }} }} }} }}"
        )
    };
    let (small, small_count) = app.execute_counting(&admin(), &query(2), json!({})).await;
    let (large, large_count) = app.execute_counting(&admin(), &query(19), json!({})).await;
    assert_eq!(small["data"]["packages"]["nodes"].as_array().map(Vec::len), Some(2));
    assert_eq!(large["data"]["packages"]["nodes"].as_array().map(Vec::len), Some(19), "{large}");
    assert_eq!(small_count, large_count, "statements must not grow with the page");
    assert_eq!(large_count, 5, "one page query plus one per kind of child (programs, families, areas, tiers)");
}
