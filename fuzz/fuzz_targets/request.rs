//! One fuzz input is one HTTP request to the whole router, as a client's
//! bytes would make it: the first line is a mode letter and the request
//! target's query string, the rest is the body.
//!
//! ```text
//! P                                  POST /graphql, anonymous
//! A                                  POST /graphql as the desk (admin)
//! C                                  POST /graphql as a customer_admin
//! L                                  POST /graphql as a learner
//! G?query=%7B__typename%7D           GET /graphql?query=...
//! ```
//!
//! It fails (and libFuzzer keeps the input) on a panic, an abort (a stack
//! overflow), a timeout, memory past the RSS limit, a 500, or an
//! `INTERNAL` error code: no input may do any of these.

#![no_main]

use std::sync::OnceLock;

use axum::{
    Router,
    body::Body,
    http::{Method, Request},
};
use libfuzzer_sys::fuzz_target;
use licensegraph::{
    AppState,
    auth::{JwtVerifier, Role, TokenSigner, VerificationKey},
    clock::{Clock, FixedClock},
    config::{LimitArgs, Secret},
};
use tower::ServiceExt;

const ISSUER: &str = "licensegraph";
const AUDIENCE: &str = "licensegraph";

struct Harness {
    runtime: tokio::runtime::Runtime,
    app: Router,
    admin: String,
    customer_admin: String,
    learner: String,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        // One worker thread with tokio's default 2 MiB stack, as in the
        // server: a recursion that overflows there overflows here.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-21T09:30:00Z").expect("instant").to_utc();
        let clock = FixedClock::at(now);
        let secret = Secret::new("fuzz-secret-that-is-at-least-32-bytes-long");
        let (state, people) = runtime.block_on(async {
            let db = licensegraph::prepare_database("sqlite::memory:", 1, &clock).await.expect("database");
            let people = licensegraph::service::demo::seed_demo(&db, clock.now()).await.expect("demo data");
            let jwt = JwtVerifier::new(VerificationKey::Secret(secret.clone()), ISSUER, AUDIENCE, Default::default())
                .expect("verifier");
            let limits = LimitArgs { code_attempts_per_minute: 1_000_000, ..LimitArgs::default() };
            (AppState::new(db, std::sync::Arc::new(clock), jwt, limits), people)
        });
        let signer = TokenSigner::hs256(&secret, ISSUER, AUDIENCE);
        let org = |id: i64| licensegraph::id::encode("Organization", id);
        let day = std::time::Duration::from_secs(86_400 * 365);
        let mint = |sub: &str, role: Role, org: Option<String>| signer.mint(sub, &[role], org.as_deref(), day).expect("token");
        Harness {
            app: licensegraph::app(state),
            admin: mint("desk@licensegraph.example", Role::Admin, None),
            customer_admin: mint("boss@contoso.example", Role::CustomerAdmin, Some(org(people.school_id))),
            learner: mint(&people.learner, Role::Learner, Some(org(people.school_id))),
            runtime,
        }
    })
}

fuzz_target!(|input: &[u8]| {
    let harness = harness();
    let (line, body) = match input.iter().position(|&b| b == b'\n') {
        Some(end) => (&input[..end], &input[end + 1..]),
        None => (input, &[][..]),
    };
    let (mode, query) = line.split_first().map_or((b'P', &[][..]), |(m, q)| (*m, q));
    let Ok(query) = std::str::from_utf8(query) else { return };
    let method = if mode == b'G' { Method::GET } else { Method::POST };
    let uri = format!("/graphql{query}");
    let mut request = Request::builder().method(method).uri(uri.as_str());
    request = request.header("content-type", "application/json");
    request = request.header("accept", "application/graphql-response+json");
    let token = match mode {
        b'A' => Some(&harness.admin),
        b'C' => Some(&harness.customer_admin),
        b'L' => Some(&harness.learner),
        _ => None,
    };
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    // A target the `http` crate refuses never reaches a server either.
    let Ok(request) = request.body(Body::from(body.to_vec())) else { return };
    let app = harness.app.clone();
    let answer = harness.runtime.block_on(async move {
        // On the worker thread, not this one: its stack is the server's.
        let task = tokio::spawn(async move {
            let response = app.oneshot(request).await.expect("the router is infallible");
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
            (status, bytes)
        });
        task.await
    });
    let (status, bytes) = match answer {
        Ok(answer) => answer,
        Err(err) => panic!("the request task failed: {err}"),
    };
    let said = || format!("{:?} answered {status}: {}", String::from_utf8_lossy(input), String::from_utf8_lossy(&bytes));
    assert!(status.as_u16() != 500, "{}", said());
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("not JSON: {}", said()));
    let codes = body["errors"].as_array().into_iter().flatten().map(|e| &e["extensions"]["code"]);
    assert!(codes.clone().all(|code| code.is_string()), "an error without a code: {}", said());
    assert!(codes.clone().all(|code| code != "INTERNAL"), "INTERNAL: {}", said());
});
