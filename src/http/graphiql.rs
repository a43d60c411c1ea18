//! GraphiQL, served offline: the page, its pinned JavaScript and CSS (built
//! into the binary from `assets/graphiql/`), the README's operations as
//! examples, and the headers that keep the page to this origin.

use std::sync::OnceLock;

use axum::{
    extract::Path,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};

/// Only this origin: scripts, styles and the API; fonts and images from
/// this origin or inlined in the stylesheet (`data:`); no frames, forms,
/// plugins or `<base>`. The page's own policy adds a per-response nonce for
/// the `<style>` elements GraphiQL's menus create ([`page`]).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self' data:; \
                   img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The files under `/graphiql/assets/`: ours, then the vendored builds
/// (`assets/graphiql/fetch.sh` pins and checks them).
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("app.js", JS, include_bytes!("../../assets/graphiql/app.js")),
    ("app.css", CSS, include_bytes!("../../assets/graphiql/app.css")),
    ("graphiql.min.js", JS, include_bytes!("../../assets/graphiql/vendor/graphiql.min.js")),
    ("graphiql.min.css", CSS, include_bytes!("../../assets/graphiql/vendor/graphiql.min.css")),
    ("react.production.min.js", JS, include_bytes!("../../assets/graphiql/vendor/react.production.min.js")),
    ("react-dom.production.min.js", JS, include_bytes!("../../assets/graphiql/vendor/react-dom.production.min.js")),
    ("graphql-ws.min.js", JS, include_bytes!("../../assets/graphiql/vendor/graphql-ws.min.js")),
];

const PAGE: &[u8] = include_bytes!("../../assets/graphiql/index.html");
const README: &str = include_str!("../../README.md");

/// `GET /` and `GET /graphiql`: the page, with a fresh style nonce each
/// time (so never cached).
pub async fn page() -> Response {
    use base64::Engine as _;
    let nonce = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 18]>());
    let page = std::str::from_utf8(PAGE).unwrap_or_default().replace("{{STYLE_NONCE}}", &nonce);
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response();
    protect(response.headers_mut());
    let policy = CSP.replacen("style-src 'self'", &format!("style-src 'self' 'nonce-{nonce}'"), 1);
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /graphiql/assets/{name}`.
pub async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| ASSETS.iter().map(|(_, _, bytes)| etag(bytes)).collect());
    match ASSETS.iter().position(|(file, _, _)| *file == name) {
        Some(i) => serve(&headers, ASSETS[i].1, ASSETS[i].2, &tags[i]),
        None => super::not_found().await,
    }
}

/// `GET /graphiql/examples.json`: the README's GraphQL examples.
pub async fn examples(headers: HeaderMap) -> Response {
    static BODY: OnceLock<(Vec<u8>, String)> = OnceLock::new();
    let (body, tag) = BODY.get_or_init(|| {
        let body = serde_json::to_vec(&readme_examples(README)).unwrap_or_else(|_| b"[]".to_vec());
        let tag = etag(&body);
        (body, tag)
    });
    serve(&headers, "application/json", body, tag)
}

fn serve(request: &HeaderMap, content_type: &'static str, body: &'static [u8], tag: &str) -> Response {
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|candidate| candidate.trim().trim_start_matches("W/") == tag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let headers = response.headers_mut();
    protect(headers);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(tag) = HeaderValue::from_str(tag) {
        headers.insert(header::ETAG, tag);
    }
    response
}

/// The headers every GraphiQL response carries.
fn protect(headers: &mut HeaderMap) {
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

fn etag(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// One example: a fenced `graphql` block of the README, titled by its
/// operations' names.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Example {
    pub title: String,
    pub source: String,
}

/// Every ```` ```graphql ```` block of `readme`, in order.
pub(crate) fn readme_examples(readme: &str) -> Vec<Example> {
    let mut examples = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```graphql" {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let mut source = String::new();
        for line in lines.by_ref() {
            if line.trim() == "```" {
                break;
            }
            source.push_str(line.get(indent..).unwrap_or(line.trim_start()));
            source.push('\n');
        }
        let names = operation_names(&source);
        let title = if names.is_empty() { "(unnamed)".to_owned() } else { names.join(" · ") };
        examples.push(Example { title, source });
    }
    examples
}

/// The names of the operations in `source`, in order (`None` for an
/// anonymous one, which codegen refuses).
fn operation_names(source: &str) -> Vec<String> {
    let Ok(document) = async_graphql::parser::parse_query(source) else { return Vec::new() };
    match document.operations {
        async_graphql::parser::types::DocumentOperations::Single(_) => Vec::new(),
        // A map: put the names back in the order they were written.
        async_graphql::parser::types::DocumentOperations::Multiple(operations) => {
            let mut named: Vec<_> = operations.iter().map(|(name, op)| (op.pos, name.to_string())).collect();
            named.sort_by_key(|(pos, _)| (pos.line, pos.column));
            named.into_iter().map(|(_, name)| name).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    #[test]
    fn every_readme_example_parses_and_every_operation_is_named() {
        let examples = readme_examples(README);
        assert!(examples.len() >= 10, "the README's GraphQL examples: {}", examples.len());
        for example in &examples {
            let document = async_graphql::parser::parse_query(&example.source)
                .unwrap_or_else(|e| panic!("README example does not parse: {e}\n{}", example.source));
            assert!(
                matches!(document.operations, async_graphql::parser::types::DocumentOperations::Multiple(_)),
                "README example with an anonymous operation (codegen refuses it):\n{}",
                example.source
            );
            assert_ne!(example.title, "(unnamed)");
        }
    }

    #[test]
    fn indented_blocks_lose_their_indent_and_titles_name_every_operation() {
        let readme = "text\n  ```graphql\n  query Z { a }\n  mutation B { b }\n  query A { c }\n  ```\n```graphql\nquery C { c }\n```\n";
        let examples = readme_examples(readme);
        assert_eq!(examples.len(), 2);
        assert_eq!(examples[0].source, "query Z { a }\nmutation B { b }\nquery A { c }\n");
        assert_eq!(examples[0].title, "Z · B · A", "in the order written");
        assert_eq!(examples[1].title, "C");
    }

    #[test]
    fn the_role_selector_offers_exactly_the_roles_tokens_carry() {
        let page = std::str::from_utf8(PAGE).unwrap();
        let offered: Vec<&str> = page
            .split("<option value=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .filter(|value| !value.is_empty())
            .collect();
        let roles: Vec<&str> = [Role::Admin, Role::CustomerAdmin, Role::Reseller, Role::PartnerAdmin, Role::Learner]
            .iter()
            .map(|r| r.as_claim())
            .collect();
        assert_eq!(offered, roles);
    }

    #[test]
    fn the_page_loads_nothing_from_another_origin_and_nothing_inline() {
        let page = std::str::from_utf8(PAGE).unwrap();
        assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("//unpkg"), "{page}");
        assert!(!page.contains("<style"), "inline styles would need 'unsafe-inline'");
        for script in page.split("<script").skip(1) {
            assert!(script.contains("src=\"/graphiql/assets/"), "an inline or foreign script: <script{script}");
        }
        for name in page.split("/graphiql/assets/").skip(1).filter_map(|rest| rest.split('"').next()) {
            assert!(ASSETS.iter().any(|(file, _, _)| *file == name), "the page names {name}, which is not served");
        }
    }

    #[test]
    fn vendored_files_are_the_pinned_ones() {
        let sums = include_str!("../../assets/graphiql/SHA256SUMS");
        for (file, _, bytes) in ASSETS.iter().filter(|(file, _, _)| !file.starts_with("app.")) {
            let line = sums.lines().find(|l| l.ends_with(&format!("  {file}"))).unwrap_or_else(|| panic!("{file}"));
            let digest: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(line.split_whitespace().next(), Some(digest.as_str()), "{file} differs from SHA256SUMS");
        }
    }
}
