//! Authentication: every bad token is refused with 401 and
//! `UNAUTHENTICATED`, never downgraded to anonymous; roles and the role
//! header are enforced on the server.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use licensegraph::{
    auth::{JwtVerifier, Role, VerificationKey},
    config::LimitArgs,
    id,
};
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::{Value, json};

use crate::helpers::{AUDIENCE, ISSUER, TestApp, TestResponse, test_secret};

const VIEWER: &str = "{ viewer { authenticated subject roles } }";

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Claims that pass every check; tests remove or spoil one of them.
fn good_claims() -> Value {
    json!({
        "sub": "alice", "roles": ["admin"], "iat": now(), "exp": now() + 600,
        "iss": ISSUER, "aud": AUDIENCE,
    })
}

fn sign_hs256(app: &TestApp, claims: &Value) -> String {
    let key = EncodingKey::from_secret(app.secret.expose().as_bytes());
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).expect("sign")
}

fn assert_refused(res: &TestResponse, why: &str) {
    assert_eq!(res.status, 401, "{why}: {}", res.text);
    assert_eq!(res.code(), Some("UNAUTHENTICATED"), "{why}: {}", res.text);
    assert!(res.body.get("data").is_none(), "{why}: no data at all: {}", res.text);
    assert!(res.header("www-authenticate").is_some_and(|h| h.starts_with("Bearer")), "{why}");
}

#[tokio::test]
async fn a_valid_token_makes_an_authenticated_viewer() {
    let app = TestApp::spawn().await;
    let res = app.post(Some(&sign_hs256(&app, &good_claims())), VIEWER, json!({})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["data"]["viewer"], json!({ "authenticated": true, "subject": "alice", "roles": ["ADMIN"] }));
}

#[tokio::test]
async fn tokens_missing_a_required_claim_are_refused() {
    let app = TestApp::spawn().await;
    for claim in ["exp", "iss", "aud", "sub", "iat"] {
        let mut claims = good_claims();
        claims.as_object_mut().expect("object").remove(claim);
        let res = app.post(Some(&sign_hs256(&app, &claims)), VIEWER, json!({})).await;
        assert_refused(&res, &format!("no {claim}"));
    }
}

#[tokio::test]
async fn spoiled_claims_are_refused() {
    let app = TestApp::spawn().await;
    let org = id::encode("Organization", 1);
    let cases: Vec<(&str, Value)> = vec![
        ("expired (beyond the 30 s leeway)", json!({ "exp": now() - 120 })),
        ("wrong issuer", json!({ "iss": "someone-else" })),
        ("wrong audience", json!({ "aud": "another-api" })),
        ("not valid yet (nbf)", json!({ "nbf": now() + 3600 })),
        ("unknown role", json!({ "roles": ["superuser"] })),
        ("no role at all", json!({ "roles": [] })),
        ("org-scoped role without org", json!({ "roles": ["customer_admin"] })),
        ("org that is not an organization id", json!({ "roles": ["learner"], "org": id::encode("Program", 1) })),
        ("empty subject", json!({ "sub": " ", "roles": ["learner"], "org": org })),
    ];
    for (why, patch) in cases {
        let mut claims = good_claims();
        for (k, v) in patch.as_object().expect("object") {
            claims[k] = v.clone();
        }
        let res = app.post(Some(&sign_hs256(&app, &claims)), VIEWER, json!({})).await;
        assert_refused(&res, why);
    }
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_refused() {
    let app = TestApp::spawn().await;
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(good_claims().to_string());
    for token in [format!("{header}.{payload}."), format!("{header}.{payload}")] {
        assert_refused(&app.post(Some(&token), VIEWER, json!({})).await, "alg none");
    }
}

#[tokio::test]
async fn a_tampered_payload_is_refused() {
    let app = TestApp::spawn().await;
    let mut claims = good_claims();
    claims["roles"] = json!(["learner"]);
    claims["org"] = json!(id::encode("Organization", 1));
    let token = sign_hs256(&app, &claims);
    let parts: Vec<&str> = token.split('.').collect();
    let mut forged = good_claims();
    forged["roles"] = json!(["admin"]);
    let tampered = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(forged.to_string()), parts[2]);
    assert_refused(&app.post(Some(&tampered), VIEWER, json!({})).await, "tampered payload");
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_refused() {
    let app = TestApp::spawn().await;
    let other = test_secret();
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &good_claims(),
        &EncodingKey::from_secret(other.expose().as_bytes()),
    )
    .expect("sign");
    assert_refused(&app.post(Some(&token), VIEWER, json!({})).await, "other secret");
}

#[tokio::test]
async fn malformed_authorization_headers_are_refused_not_ignored() {
    let app = TestApp::spawn().await;
    for header in ["Bearer", "Basic YWxpY2U6c2VjcmV0", "Bearer not.a.jwt", "Bearer a.b"] {
        let request = axum::http::Request::builder()
            .method("POST")
            .uri("/graphql")
            .header("content-type", "application/json")
            .header("authorization", header)
            .body(axum::body::Body::from(json!({ "query": VIEWER }).to_string()))
            .expect("request");
        assert_refused(&app.http(request).await, header);
    }
}

fn rsa_keys() -> (String, String) {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
    let mut rng = rsa::rand_core::OsRng;
    let private = rsa::RsaPrivateKey::new(&mut rng, 2048).expect("rsa key");
    let public = rsa::RsaPublicKey::from(&private);
    (
        private.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).expect("pem").to_string(),
        public.to_public_key_pem(rsa::pkcs8::LineEnding::LF).expect("pem"),
    )
}

async fn app_with_public_key(public_pem: &str) -> TestApp {
    let jwt = JwtVerifier::new(
        VerificationKey::PublicPem(public_pem.as_bytes().to_vec()),
        ISSUER,
        AUDIENCE,
        Duration::from_secs(30),
    )
    .expect("verifier");
    TestApp::with(LimitArgs::default(), jwt, test_secret()).await
}

#[tokio::test]
async fn rs256_tokens_verify_with_the_public_key_and_hs256_confusion_is_refused() {
    let (private_pem, public_pem) = rsa_keys();
    let app = app_with_public_key(&public_pem).await;

    let good = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &good_claims(),
        &EncodingKey::from_rsa_pem(private_pem.as_bytes()).expect("key"),
    )
    .expect("sign");
    let res = app.post(Some(&good), VIEWER, json!({})).await;
    assert_eq!(res.body["data"]["viewer"]["authenticated"], true, "{}", res.text);

    // The classic key-confusion attack: HS256 "signed" with the public key.
    let confused = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &good_claims(),
        &EncodingKey::from_secret(public_pem.as_bytes()),
    )
    .expect("sign");
    assert_refused(&app.post(Some(&confused), VIEWER, json!({})).await, "HS256 with the RSA public key");
}

#[tokio::test]
async fn es256_tokens_verify_with_an_ec_public_key() {
    let secret = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
    let private_pem = secret.to_pkcs8_pem(LineEnding::LF).expect("pem").to_string();
    let public_pem = secret.public_key().to_public_key_pem(LineEnding::LF).expect("pem");
    let app = app_with_public_key(&public_pem).await;
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::ES256),
        &good_claims(),
        &EncodingKey::from_ec_pem(private_pem.as_bytes()).expect("key"),
    )
    .expect("sign");
    let res = app.post(Some(&token), VIEWER, json!({})).await;
    assert_eq!(res.body["data"]["viewer"]["authenticated"], true, "{}", res.text);
}

#[tokio::test]
async fn a_short_secret_is_rejected_at_start() {
    let short = licensegraph::config::Secret::new("too-short");
    let err = JwtVerifier::new(VerificationKey::Secret(short), ISSUER, AUDIENCE, Duration::from_secs(30))
        .expect_err("refused");
    assert!(err.contains("32 bytes"), "{err}");
}

const CREATE_PROGRAM: &str =
    r#"mutation { createProgram(input: { code: "NEWONE", name: "n", kind: VOLUME }) { program { code } } }"#;

#[tokio::test]
async fn a_learner_calling_create_program_is_forbidden() {
    let app = TestApp::spawn().await;
    let token = app.token("lena", &[Role::Learner], Some(1));
    let res = app.post(Some(&token), CREATE_PROGRAM, json!({})).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.code(), Some("FORBIDDEN"), "{}", res.text);
    assert_eq!(res.body["data"]["createProgram"], Value::Null);
}

#[tokio::test]
async fn the_role_header_narrows_a_request_to_one_held_role() {
    let app = TestApp::spawn().await;
    let token = app.token("dual", &[Role::Admin, Role::Learner], Some(1));
    let with_role = |role: &'static str| {
        axum::http::Request::builder()
            .method("POST")
            .uri("/graphql")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .header("x-licensegraph-role", role)
            .body(axum::body::Body::from(json!({ "query": CREATE_PROGRAM }).to_string()))
            .expect("request")
    };
    let as_learner = app.http(with_role("learner")).await;
    assert_eq!(as_learner.code(), Some("FORBIDDEN"), "{}", as_learner.text);

    let as_admin = app.http(with_role("admin")).await;
    assert_eq!(as_admin.body["data"]["createProgram"]["program"]["code"], "NEWONE", "{}", as_admin.text);

    let not_held = app.http(with_role("reseller")).await;
    assert_eq!((not_held.status.as_u16(), not_held.code()), (403, Some("FORBIDDEN")));

    let unknown = app.http(with_role("root")).await;
    assert_eq!((unknown.status.as_u16(), unknown.code()), (400, Some("BAD_USER_INPUT")));
}

#[tokio::test]
async fn no_token_is_anonymous_and_sees_the_public_catalog() {
    let app = TestApp::spawn().await;
    let res = app.post(None, "{ viewer { authenticated } programs { totalCount } }", json!({})).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["data"], json!({ "viewer": { "authenticated": false }, "programs": { "totalCount": 11 } }));
}

#[tokio::test]
async fn tokens_naming_their_own_key_are_never_trusted() {
    // Issue 5 item 4: jku, x5u, jwk (and x5c) headers point at attacker-chosen keys.
    let app = TestApp::spawn().await;
    let key = EncodingKey::from_secret(app.secret.expose().as_bytes());
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(json!({ "kty": "oct", "k": "c2VjcmV0" })).expect("jwk");
    let headers = [
        Header { jku: Some("https://attacker.example/jwks.json".into()), ..Header::new(Algorithm::HS256) },
        Header { x5u: Some("https://attacker.example/cert.pem".into()), ..Header::new(Algorithm::HS256) },
        Header { jwk: Some(jwk), ..Header::new(Algorithm::HS256) },
        Header { x5c: Some(vec!["MIIB".into()]), ..Header::new(Algorithm::HS256) },
    ];
    for header in headers {
        // Even correctly signed with the server's own secret.
        let token = jsonwebtoken::encode(&header, &good_claims(), &key).expect("sign");
        assert_refused(&app.post(Some(&token), VIEWER, json!({})).await, "a key named by the token");
    }
}

#[tokio::test]
async fn an_unknown_kid_is_refused_and_a_known_one_accepted() {
    let app = TestApp::spawn().await;
    let key = EncodingKey::from_secret(app.secret.expose().as_bytes());
    let unknown = Header { kid: Some("0000000000000000".into()), ..Header::new(Algorithm::HS256) };
    let token = jsonwebtoken::encode(&unknown, &good_claims(), &key).expect("sign");
    assert_refused(&app.post(Some(&token), VIEWER, json!({})).await, "unknown kid");
    let kid = licensegraph::auth::key_id(app.secret.expose().as_bytes());
    let known = Header { kid: Some(kid), ..Header::new(Algorithm::HS256) };
    let token = jsonwebtoken::encode(&known, &good_claims(), &key).expect("sign");
    let res = app.post(Some(&token), VIEWER, json!({})).await;
    assert_eq!(res.body["data"]["viewer"]["authenticated"], true, "{}", res.text);
}

#[tokio::test]
async fn during_a_rotation_both_keys_are_accepted_and_nothing_else() {
    // Issue 5 item 4: the new key first, the old one until every token it signed has expired.
    use licensegraph::config::Secret;
    let (old, new, stranger) = (
        Secret::new("old-secret-old-secret-old-secret-0001"),
        Secret::new("new-secret-new-secret-new-secret-0002"),
        Secret::new("not-ours-not-ours-not-ours-not-ours-3"),
    );
    let jwt = JwtVerifier::rotating(
        vec![VerificationKey::Secret(new.clone()), VerificationKey::Secret(old.clone())],
        ISSUER,
        AUDIENCE,
        Duration::from_secs(30),
    )
    .expect("verifier");
    assert_eq!(jwt.key_ids().len(), 2);
    let sign = |secret: &Secret, claims: &Value, kid: Option<String>| {
        let header = Header { kid, ..Header::new(Algorithm::HS256) };
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret.expose().as_bytes())).expect("sign")
    };
    for secret in [&new, &old] {
        assert!(jwt.verify(&sign(secret, &good_claims(), None)).is_ok());
        let kid = licensegraph::auth::key_id(secret.expose().as_bytes());
        assert!(jwt.verify(&sign(secret, &good_claims(), Some(kid))).is_ok());
    }
    assert!(jwt.verify(&sign(&stranger, &good_claims(), None)).is_err());
    // The old key's kid does not open the new key's tokens.
    let old_kid = licensegraph::auth::key_id(old.expose().as_bytes());
    assert!(jwt.verify(&sign(&new, &good_claims(), Some(old_kid))).is_err());
    // An expired token from the old key says so, not "bad signature".
    let mut expired = good_claims();
    expired["exp"] = json!(now() - 3600);
    let err = jwt.verify(&sign(&old, &expired, None)).expect_err("expired");
    assert_eq!(err.public_message(), "the token has expired");
}

#[test]
fn the_leeway_defaults_to_30_seconds_and_is_capped() {
    use clap::Parser;
    let cli = licensegraph::config::Cli::try_parse_from(["licensegraph"]).expect("defaults parse");
    assert_eq!(cli.serve.jwt.jwt_leeway_secs, 30);
    assert!(licensegraph::config::Cli::try_parse_from(["licensegraph", "--jwt-leeway-secs", "301"]).is_err());
}
