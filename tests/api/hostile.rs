//! Hostile input: texts and bodies built to crash, stall or bloat the
//! server. Each is refused with a typed error, and the server goes on.

use axum::{
    body::Body,
    http::{Method, Request},
};
use licensegraph::config::LimitArgs;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse};

/// A GET of `/graphql` with `query` (and raw `variables` text, if any);
/// `None` when the URI is longer than the `http` crate takes (64 KiB).
async fn get(app: &TestApp, query: &str, variables: Option<&str>) -> Option<TestResponse> {
    let mut uri = format!("/graphql?query={}", urlencode(query));
    if let Some(variables) = variables {
        uri.push_str(&format!("&variables={}", urlencode(variables)));
    }
    if uri.len() > 65_000 {
        return None;
    }
    let request = Request::builder()
        .method(Method::GET)
        .uri(uri)
        .header("accept", "application/graphql-response+json")
        .body(Body::empty())
        .expect("request");
    Some(app.http(request).await)
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn assert_refused(res: &TestResponse, code: &str, says: &str, why: &str) {
    let excerpt = &res.text[..res.text.len().min(300)];
    assert_eq!(res.status, 400, "{why}: {excerpt}");
    assert_eq!(res.code(), Some(code), "{why}: {excerpt}");
    assert!(res.body["errors"][0]["message"].as_str().is_some_and(|m| m.contains(says)), "{why}: {excerpt}");
    assert!(res.body.get("data").is_none(), "{why}: a request error has no data");
}

async fn still_serves(app: &TestApp) {
    let res = app.post(None, "{ __typename }", json!({})).await;
    assert_eq!(res.body["data"], json!({ "__typename": "Query" }));
    assert!(res.body.get("errors").is_none(), "{}", res.text);
}

/// The attack that aborted the process: `{ nodes(ids: [[[…"x"…]]]) { id } }`
/// with 1 600 brackets (about 3 KB), and its kin.
fn deep_texts(n: usize) -> Vec<(String, String)> {
    vec![
        (format!("{n} nested lists"), format!("{{ nodes(ids: {}\"x\"{}) {{ id }} }}", "[".repeat(n), "]".repeat(n))),
        (
            format!("{n} nested objects"),
            format!("{{ program(code: {}1{}) {{ code }} }}", "{a:".repeat(n), "}".repeat(n)),
        ),
        (format!("{n} nested selection sets"), format!("{}__typename{}", "{ viewer ".repeat(n), " }".repeat(n))),
        (format!("{n} unclosed parentheses"), format!("{{ a{}", "(".repeat(n))),
        (
            format!("{n} nested lists in a variable's default"),
            format!("query Q($v: [ID!] = {}\"x\"{}) {{ __typename }}", "[".repeat(n), "]".repeat(n)),
        ),
        (
            format!("{n} nested lists in a directive"),
            format!("{{ __typename @include(if: {}true{}) }}", "[".repeat(n), "]".repeat(n)),
        ),
        (
            format!("{n} nested lists in a fragment"),
            format!(
                "{{ ...F }} fragment F on Query {{ nodes(ids: {}\"x\"{}) {{ id }} }}",
                "[".repeat(n),
                "]".repeat(n)
            ),
        ),
    ]
}

#[tokio::test]
async fn deeply_nested_queries_of_any_size_are_refused_over_post_and_get_and_the_server_goes_on() {
    // Default limits, and limits opened so wide that only nesting stops them.
    let wide = LimitArgs { max_query_bytes: 1 << 20, max_tokens: 1 << 20, ..LimitArgs::default() };
    for app in [TestApp::spawn().await, TestApp::with_limits(wide).await] {
        for n in [1_600, 5_000] {
            for (what, text) in deep_texts(n) {
                let res = app.post(None, &text, json!({})).await;
                if text.len() > app.state.limits.max_query_bytes {
                    assert_refused(&res, "LIMIT_EXCEEDED", "max_query_bytes", &what);
                } else if res.body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("max_tokens")) {
                    assert_refused(&res, "LIMIT_EXCEEDED", "max_tokens", &what);
                } else {
                    assert_refused(&res, "LIMIT_EXCEEDED", "max_nesting = 32", &what);
                }
                if let Some(res) = get(&app, &text, None).await {
                    assert_eq!(res.status, 400, "GET {what}");
                    assert_eq!(res.code(), Some("LIMIT_EXCEEDED"), "GET {what}");
                }
            }
        }
        still_serves(&app).await;
    }
}

#[tokio::test]
async fn an_unterminated_block_string_hides_no_brackets_from_the_scan() {
    // The parser reads `[""""[[[` as `["", "", [[[`: the scan must too.
    let app = TestApp::spawn().await;
    let text = format!("{{ nodes(ids: [\"\"\"\"{}\"x\"{}]) {{ id }} }}", "[".repeat(1_600), "]".repeat(1_600));
    assert_refused(
        &app.post(None, &text, json!({})).await,
        "LIMIT_EXCEEDED",
        "max_nesting = 32",
        "unterminated block string",
    );
    let tokens = format!("{{ a(s: \"\"\"\"{}", " b".repeat(5_000));
    assert_refused(&app.post(None, &tokens, json!({})).await, "LIMIT_EXCEEDED", "max_tokens", "tokens after it count");
    still_serves(&app).await;
}

#[tokio::test]
async fn a_mutation_over_get_nested_too_deep_is_refused_by_the_limit_not_parsed() {
    let app = TestApp::spawn().await;
    let text =
        format!("mutation {{ placeOrder(input: {}1{}) {{ __typename }} }}", "{a:".repeat(5_000), "}".repeat(5_000));
    let res = get(&app, &text, None).await.expect("fits a URI");
    assert_refused(&res, "LIMIT_EXCEEDED", "max_nesting", "deep mutation over GET");
}

#[tokio::test]
async fn json_bodies_nested_past_the_bound_are_a_400_and_the_server_goes_on() {
    let app = TestApp::spawn().await;
    for n in [40, 127, 128, 129, 1_600, 100_000] {
        let variables = format!("{}1{}", "[".repeat(n), "]".repeat(n));
        let body = format!(r#"{{"query":"{{ __typename }}","variables":{{"x":{variables}}}}}"#);
        let res = app.post_body(None, body).await;
        assert_refused(&res, "LIMIT_EXCEEDED", "max_nesting = 32", &format!("{n}-deep JSON body"));
        if let Some(res) = get(&app, "{ __typename }", Some(&format!(r#"{{"x":{variables}}}"#))).await {
            assert_refused(&res, "LIMIT_EXCEEDED", "max_nesting = 32", &format!("{n}-deep variables over GET"));
        }
        let objects =
            format!(r#"{{"query":"{{ __typename }}","extensions":{}1{}}}"#, r#"{"a":"#.repeat(n), "}".repeat(n));
        let res = app.post_body(None, objects).await;
        assert_refused(&res, "LIMIT_EXCEEDED", "max_nesting = 32", &format!("{n}-deep extensions"));
    }
    still_serves(&app).await;
}

#[tokio::test]
async fn parse_and_validation_errors_are_told_apart_by_their_code() {
    let app = TestApp::spawn().await;
    let res = app.post(None, "{ nope", json!({})).await;
    assert_refused(&res, "GRAPHQL_PARSE_FAILED", "expected", "unclosed selection");
    let res = app.post(None, "{ nope }", json!({})).await;
    assert_refused(&res, "GRAPHQL_VALIDATION_FAILED", "nope", "unknown field");
}

#[tokio::test]
async fn fragment_cycles_that_would_stall_a_walker_are_refused_at_once() {
    let app = TestApp::spawn().await;
    let mut text = String::from("{ ...F0 }");
    for i in 0..30 {
        text.push_str(&format!(" fragment F{i} on Query {{ ...F{n} ...F{n} }}", n = (i + 1) % 30));
    }
    let res = app.post(None, &text, json!({})).await;
    assert_refused(&res, "GRAPHQL_VALIDATION_FAILED", "spreads itself", "doubling fragment cycle");
    let mut chain = String::from("{ ...F0 }");
    for i in 0..100 {
        chain.push_str(&format!(" fragment F{i} on Query {{ ...F{} }}", i + 1));
    }
    chain.push_str(" fragment F100 on Query { __typename }");
    let res = app.post(None, &chain, json!({})).await;
    assert_refused(&res, "LIMIT_EXCEEDED", "max_nesting = 32", "a chain of 100 spreads");
    // A doubling fan-out that ends in an undefined fragment counts no field.
    let mut fan_out = String::from("{ ...F0 }");
    for i in 0..30 {
        fan_out.push_str(&format!(" fragment F{i} on Query {{ ...F{n} ...F{n} }}", n = i + 1));
    }
    fan_out.push_str(" fragment F30 on Query { ...Missing }");
    let started = std::time::Instant::now();
    let res = app.post(None, &fan_out, json!({})).await;
    assert_refused(&res, "GRAPHQL_VALIDATION_FAILED", "unknown fragment", "fan-out to an undefined fragment");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "refused without walking 2^31 paths");
}

#[tokio::test]
async fn aliased_introspection_lists_are_refused_and_the_standard_query_is_not() {
    let app = TestApp::spawn().await;
    // 5 aliases at each of 3 levels: 3.7 MB from 4.7 KB before.
    let level =
        |inner: &str| (0..5).map(|i| format!("f{i}: fields {{ type {{ {inner} }} }}")).collect::<Vec<_>>().join(" ");
    let text = format!("{{ __schema {{ types {{ {} }} }} }}", level(&level(&level("name"))));
    assert!(text.len() < 5_000);
    let res = app.post(None, &text, json!({})).await;
    assert_refused(&res, "LIMIT_EXCEEDED", "may not alias", "aliased introspection");
    let standard = include_str!("introspection.graphql");
    let res = app.post(None, standard, json!({})).await;
    assert_eq!(res.status, 200, "{}", &res.text[..300]);
    assert!(res.body["data"]["__schema"]["types"].as_array().is_some_and(|t| t.len() > 50));
}

#[tokio::test]
async fn an_answer_past_the_response_limit_is_an_error_not_memory() {
    let app = TestApp::with_limits(LimitArgs { max_response_bytes: 20_000, ..LimitArgs::default() }).await;
    let res = app.post(None, include_str!("introspection.graphql"), json!({})).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["data"], Value::Null);
    assert_eq!(res.code(), Some("LIMIT_EXCEEDED"));
    assert!(res.text.len() < 1_000, "the error alone is sent");
    assert!(res.text.contains("max_response_bytes = 20000"));
    still_serves(&app).await;
}

/// The answer to `query` with `variables` as `viewer`, over HTTP.
async fn post_as(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> TestResponse {
    app.post(token, query, variables).await
}

#[tokio::test]
async fn control_characters_in_any_string_are_bad_input_and_never_stored() {
    // On PostgreSQL a NUL failed the statement: INTERNAL and an ERROR log
    // line, from anonymous `program(code:)` on up. Now both engines answer
    // alike, before anything runs.
    let app = TestApp::spawn().await;
    for text in ["A\u{0}B", "\u{1b}[31m", "a\u{7f}", "\u{85}x", "x\u{8}"] {
        let literal = format!("{{ program(code: {}) {{ code }} }}", serde_json::to_string(text).expect("json"));
        let res = post_as(&app, None, &literal, json!({})).await;
        assert_refused(&res, "BAD_USER_INPUT", "control character", &format!("literal {text:?}"));
        let by_variable = "query($c: String!) { program(code: $c) { code } }";
        let res = post_as(&app, None, by_variable, json!({ "c": text })).await;
        assert_refused(&res, "BAD_USER_INPUT", "variable `$c`", &format!("variable {text:?}"));
        // Deep in an input object, in a list, in a variable's default.
        let nested = "query($i: [PlaceOrderInput!]) { __typename }";
        let input = json!({ "i": [{ "agreementId": "x", "packageSku": text, "quantity": 1, "term": "PRORATED" }] });
        assert_refused(&post_as(&app, None, nested, input).await, "BAD_USER_INPUT", "control character", "nested");
        let default = format!("query($c: String = {}) {{ __typename }}", serde_json::to_string(text).expect("json"));
        assert_refused(&post_as(&app, None, &default, json!({})).await, "BAD_USER_INPUT", "default", "default");
        let directive = format!("{{ __typename @x(s: [{}]) }}", serde_json::to_string(text).expect("json"));
        assert_refused(&post_as(&app, None, &directive, json!({})).await, "BAD_USER_INPUT", "`@x`", "directive");
    }
    // Tab, line feed and carriage return are text.
    let res =
        post_as(&app, None, "query($c: String!) { program(code: $c) { code } }", json!({ "c": "a\tb\r\n" })).await;
    assert_eq!(res.status, 200, "{}", res.text);
}

#[tokio::test]
async fn a_nul_in_a_mutation_changes_nothing() {
    let app = TestApp::spawn().await;
    let token = app.token("desk", &[licensegraph::auth::Role::Admin], None);
    let create = "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } userErrors { code } } }";
    let input = json!({ "input": { "name": "Nul\u{0}Corp", "kind": "ACADEMIC" } });
    let res = post_as(&app, Some(&token), create, input).await;
    assert_refused(&res, "BAD_USER_INPUT", "U+0000", "createOrganization with a NUL");
    let count = post_as(&app, Some(&token), "{ organizations(first: 50) { totalCount } }", json!({})).await;
    assert_eq!(count.body["data"]["organizations"]["totalCount"], 0, "{}", count.text);
}

#[tokio::test]
async fn no_int_argument_or_field_passes_thirty_two_bits() {
    // GraphQL's Int is 32-bit: recordKpi took 9 223 372 036 854 775 807.
    let app = TestApp::spawn().await;
    let desk = app.token("desk", &[licensegraph::auth::Role::Admin], None);
    let kpi = "mutation($v: Int!) { recordKpi(input: { organizationId: \"x\", invoicedOn: \"2026-01-05\", omlpType: \"OLP\", \
               purchaseUnit: \"Training\", documentType: INVOICE, invoiceNumber: \"I-1\", kpiValue: $v, revenueCents: 1 }) \
               { userErrors { code } } }";
    for too_big in [json!(9_223_372_036_854_775_807_i64), json!(2_147_483_648_i64), json!(-2_147_483_649_i64)] {
        let res = post_as(&app, Some(&desk), kpi, json!({ "v": too_big })).await;
        assert_eq!(res.code(), Some("BAD_USER_INPUT"), "{too_big}: {}", res.text);
    }
    let literal = kpi.replace("($v: Int!)", "").replace("$v", "9223372036854775807");
    let res = post_as(&app, Some(&desk), &literal, json!({})).await;
    assert!(matches!(res.code(), Some("BAD_USER_INPUT" | "GRAPHQL_VALIDATION_FAILED")), "{}", res.text);
    // voucherPlan returned 10^18; a plan is now bounded by what the business allows.
    let plan = "query($a: ID!) { voucherPlan(input: { agreementId: $a, people: 1000000, certificationsEach: 1000000, \
                examsPerCertification: 1000000, level: BASIC }) { vouchersNeeded } }";
    let res = post_as(&app, Some(&desk), plan, json!({ "a": licensegraph::id::encode("Agreement", 1) })).await;
    assert_eq!(res.code(), Some("BAD_USER_INPUT"), "{}", res.text);
    assert!(res.text.contains("at most 1000000 vouchers"), "{}", res.text);
}

#[tokio::test]
async fn one_bad_member_of_a_redemption_group_does_not_fail_the_others() {
    // R-13: redemptions commit in groups. A member whose row fails the
    // group's statement (on PostgreSQL a NUL in the subject) must not
    // decide the others' outcome.
    use licensegraph::service::redemptions::{OwnVoucher, Redemptions};
    let app = TestApp::spawn().await;
    let vouchers = crate::fixtures::assigned_vouchers(&app, 15).await;
    let redemptions = Redemptions::start();
    let mut requests: Vec<OwnVoucher> = vouchers.iter().map(crate::fixtures::own_redemption).collect();
    requests[7].subject = "bad\u{0}subject".into();
    let answers = futures_util::future::join_all(requests.iter().map(|r| redemptions.redeem(&app.db, r.clone()))).await;
    for (i, answer) in answers.iter().enumerate() {
        if i == 7 {
            assert!(!matches!(answer, Ok(Some(_))), "the bad member redeemed nothing");
        } else {
            let redeemed = answer.as_ref().ok().and_then(Option::as_ref);
            assert!(redeemed.is_some(), "member {i} was failed by another's input: {answer:?}");
        }
    }
}

#[tokio::test]
async fn tokens_with_crit_or_control_characters_in_sub_get_401_over_http() {
    use base64::Engine;
    let app = TestApp::spawn().await;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let good = app.token("ada", &[licensegraph::auth::Role::Admin], None);
    let mut parts = good.split('.');
    let (_, claims) = (parts.next(), parts.next().expect("claims"));
    // Re-signing is the unit tests' work; here a changed header must fail
    // whatever it says, and a crit header is named as such.
    let crit = format!("{}.{claims}.x", b64(r#"{"alg":"HS256","crit":["exp"]}"#));
    let res = post_as(&app, Some(&crit), "{ __typename }", json!({})).await;
    assert_eq!(res.status, 401, "{}", res.text);
    assert!(res.text.contains("critical extensions"), "refused for its crit header: {}", res.text);
    for sub in ["a\u{0}b", "ada\u{1b}[0m", "ada\n"] {
        let token = app.token(sub, &[licensegraph::auth::Role::Admin], None);
        let res = post_as(&app, Some(&token), "{ __typename }", json!({})).await;
        assert_eq!(res.status, 401, "{sub:?}: {}", res.text);
        assert!(res.text.contains("control character"), "{sub:?}: {}", res.text);
    }
    let res = post_as(&app, Some(&good), "{ viewer { subject } }", json!({})).await;
    assert_eq!(res.body["data"]["viewer"]["subject"], "ada");
    let spaced = app.token("  ada  ", &[licensegraph::auth::Role::Admin], None);
    let res = post_as(&app, Some(&spaced), "{ viewer { subject } }", json!({})).await;
    assert_eq!(res.body["data"]["viewer"]["subject"], "ada", "one person, whatever the spaces");
}
