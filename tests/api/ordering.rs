//! Answers keep the order of the query (GraphQL spec, "Serialized Map
//! Ordering"): every object's keys as its fields were asked, aliases,
//! fragments and `totalCount` included, on every request.

use rand::{SeedableRng, rngs::StdRng, seq::SliceRandom};
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// A field asked for: its response key, what comes before its selection
/// (name, alias, arguments) and its own fields.
#[derive(Clone)]
struct Asked {
    key: &'static str,
    head: &'static str,
    fields: Vec<Asked>,
}

fn leaf(key: &'static str) -> Asked {
    Asked { key, head: key, fields: vec![] }
}

fn node(key: &'static str, head: &'static str, fields: Vec<Asked>) -> Asked {
    Asked { key, head, fields }
}

fn text(fields: &[Asked]) -> String {
    let inner: Vec<String> = fields
        .iter()
        .map(|f| if f.fields.is_empty() { f.head.to_owned() } else { format!("{} {}", f.head, text(&f.fields)) })
        .collect();
    format!("{{ {} }}", inner.join(" "))
}

fn shuffled(fields: &[Asked], rng: &mut StdRng) -> Vec<Asked> {
    let mut fields: Vec<Asked> =
        fields.iter().map(|f| Asked { fields: shuffled(&f.fields, rng), ..f.clone() }).collect();
    fields.shuffle(rng);
    fields
}

/// Whether `value`'s keys (and its children's) are in `fields`' order.
fn in_order(value: &Value, fields: &[Asked], path: &str) -> Result<(), String> {
    match value {
        Value::Array(items) => items.iter().try_for_each(|item| in_order(item, fields, path)),
        Value::Object(map) => {
            let got: Vec<&str> = map.keys().map(String::as_str).collect();
            let want: Vec<&str> = fields.iter().map(|f| f.key).filter(|k| map.contains_key(*k)).collect();
            if got != want {
                return Err(format!("{path}: {got:?} instead of {want:?}"));
            }
            fields.iter().filter(|f| !f.fields.is_empty()).try_for_each(|f| match map.get(f.key) {
                Some(child) => in_order(child, &f.fields, &format!("{path}.{}", f.key)),
                None => Ok(()),
            })
        }
        _ => Ok(()),
    }
}

#[tokio::test]
async fn keys_come_back_in_query_order_in_a_hundred_permuted_requests() {
    let app = TestApp::spawn().await;
    let document = vec![
        node(
            "programs",
            "programs(first: 2)",
            vec![leaf("totalCount"), node("nodes", "nodes", vec![leaf("code"), leaf("name"), leaf("kind")])],
        ),
        node(
            "p",
            "p: packages(first: 3)",
            vec![
                node(
                    "edges",
                    "edges",
                    vec![leaf("cursor"), node("node", "node", vec![leaf("sku"), leaf("id"), leaf("name")])],
                ),
                node("pageInfo", "pageInfo", vec![leaf("hasNextPage"), leaf("endCursor")]),
                leaf("totalCount"),
            ],
        ),
        node("viewer", "viewer", vec![leaf("subject"), leaf("roles")]),
        leaf("__typename"),
        node("t", "t: __typename", vec![]),
        node(
            "z",
            "z: programs(first: 1)",
            vec![node("nodes", "nodes", vec![leaf("active"), leaf("code")]), leaf("totalCount")],
        ),
    ];
    let mut rng = StdRng::seed_from_u64(20261130);
    for round in 0..100 {
        let asked = shuffled(&document, &mut rng);
        let query = text(&asked);
        let res = app.post(None, &query, json!({})).await;
        assert_eq!(res.status, 200, "{}", res.text);
        // The body's own text, parsed keeping its order.
        let body: Value = serde_json::from_str(&res.text).expect("json");
        assert!(body.get("errors").is_none(), "{}", res.text);
        if let Err(wrong) = in_order(&body["data"], &asked, "data") {
            panic!("round {round}: {wrong}\nquery: {query}\nanswer: {}", res.text);
        }
    }
}

#[tokio::test]
async fn fragments_and_repeated_keys_keep_the_place_they_were_first_asked() {
    let app = TestApp::spawn().await;
    let query = "{ ...Top programs(first: 1) { nodes { ... on Program { name } code } totalCount } viewer { subject } } \
                 fragment Top on Query { viewer { roles } __typename }";
    let res = app.post(None, query, json!({})).await;
    let body: Value = serde_json::from_str(&res.text).expect("json");
    let keys = |v: &Value| v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    assert_eq!(keys(&body["data"]), ["viewer", "__typename", "programs"], "{}", res.text);
    assert_eq!(keys(&body["data"]["viewer"]), ["roles", "subject"]);
    assert_eq!(keys(&body["data"]["programs"]), ["nodes", "totalCount"]);
    assert_eq!(keys(&body["data"]["programs"]["nodes"][0]), ["name", "code"]);
}

#[tokio::test]
async fn type_conditions_and_skipped_fields_order_as_collect_fields_does() {
    let app = TestApp::spawn().await;
    let id =
        app.post(None, "{ programs(first: 1) { nodes { id } } }", json!({})).await.body["data"]["programs"]["nodes"][0]
            ["id"]
            .clone();
    let query = "query($id: ID!) { skipped: __typename @include(if: false) node(id: $id) { __typename \
                 ... on Package { sku name } ... on Program { code name } ... on Node { id } } programs(first: 1) { totalCount } }";
    for _ in 0..20 {
        let res = app.post(None, query, json!({ "id": id })).await;
        let body: Value = serde_json::from_str(&res.text).expect("json");
        let keys = |v: &Value| v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
        assert_eq!(keys(&body["data"]), ["node", "programs"], "{}", res.text);
        // A Program: the Package fragment does not apply, so `name` comes
        // after `code`, as the Program fragment asks.
        assert_eq!(keys(&body["data"]["node"]), ["__typename", "code", "name", "id"], "{}", res.text);
    }
}
