//! Who is calling: JWT keys and verification, claims, roles, and the
//! [`Viewer`] put into each request.
//!
//! Architecture invariant: a token is either fully valid or refused. A bad
//! token is never downgraded to anonymous (README, "Authentication and roles"), and no secret is built
//! in: with none configured, one is generated and kept in a file.

mod secret;
mod sign;
mod verify;

use std::{collections::BTreeSet, fmt};

use async_graphql::Enum;
use serde::{Deserialize, Serialize};

pub use self::{
    secret::{
        SecretFileError, database_secret, kept_in_database, load_or_create_secret, load_secret, secret_file,
        sqlite_path, with_database_secret,
    },
    sign::TokenSigner,
    verify::{JwtVerifier, MAX_REMEMBERED_TOKENS, VerificationKey, key_id},
};
use crate::error::AppError;

/// The request header that narrows a request to one of the token's roles.
pub const ROLE_HEADER: &str = "x-licensegraph-role";

/// Shortest accepted HS256 secret, in bytes.
pub(crate) const MIN_SECRET_BYTES: usize = 32;

/// What a caller may be (docs/domain.md, "Who may do what").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Enum)]
pub enum Role {
    /// The licensing desk: everything.
    Admin,
    /// A customer's licensing administrator.
    CustomerAdmin,
    /// A channel partner placing orders for the organizations it serves.
    Reseller,
    /// A partner's admin, account admin or global admin (R-31).
    PartnerAdmin,
    /// An employee, student or faculty member.
    Learner,
}

/// Who acts for a partner account: its partner administrators, and admins (R-31).
pub const PARTNER_ROLES: [Role; 2] = [Role::PartnerAdmin, Role::Admin];

impl Role {
    /// The spelling used in tokens and in the role header.
    pub fn as_claim(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::CustomerAdmin => "customer_admin",
            Self::Reseller => "reseller",
            Self::PartnerAdmin => "partner_admin",
            Self::Learner => "learner",
        }
    }

    pub fn from_claim(text: &str) -> Option<Self> {
        [Self::Admin, Self::CustomerAdmin, Self::Reseller, Self::PartnerAdmin, Self::Learner]
            .into_iter()
            .find(|role| role.as_claim() == text)
    }

    /// Whether the role acts for one organization (and so needs `org`).
    pub fn is_org_scoped(self) -> bool {
        self != Self::Admin
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_claim())
    }
}

/// The authenticated caller of one request (or nobody).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Viewer {
    /// The token's `sub`; `None` for anonymous callers.
    pub subject: Option<String>,
    /// The roles in force for this request (after the role header).
    pub roles: BTreeSet<Role>,
    /// The organization the token acts for.
    pub organization_id: Option<i64>,
}

impl Viewer {
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// The caller as a person codes are assigned to: the subject, trimmed
    /// and lowercase (R-35).
    pub fn person(&self) -> Option<String> {
        self.subject.as_deref().map(crate::domain::people::person_key)
    }

    pub fn is_authenticated(&self) -> bool {
        self.subject.is_some()
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn is_admin(&self) -> bool {
        self.has(Role::Admin)
    }

    /// Succeeds for admins; otherwise `UNAUTHENTICATED` for anonymous callers
    /// and `FORBIDDEN` for everyone else.
    pub fn require_admin(&self) -> Result<(), AppError> {
        self.require_any(&[Role::Admin])
    }

    /// Succeeds when the viewer holds one of `roles`.
    pub fn require_any(&self, roles: &[Role]) -> Result<(), AppError> {
        if !self.is_authenticated() {
            return Err(AppError::sign_in_required());
        }
        if roles.iter().any(|role| self.has(*role)) {
            return Ok(());
        }
        let names: Vec<_> = roles.iter().map(|r| r.as_claim()).collect();
        Err(AppError::forbidden(format!("this operation needs one of the roles: {}", names.join(", "))))
    }
}

/// The claims licensegraph reads. `exp`, `iat`, `iss`, `aud` and `nbf` are
/// checked by [`Validation`] before these are looked at.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    pub exp: u64,
    pub iat: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    pub iss: String,
    /// One audience or several (RFC 7519 4.1.3); ours must be among them.
    pub aud: Audience,
}

/// The `aud` claim: a string, or an array of strings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Applies the `X-Licensegraph-Role` header: the request acts with that one
/// role only, which the token must hold.
pub fn narrow(mut viewer: Viewer, requested: &str) -> Result<Viewer, AppError> {
    if !viewer.is_authenticated() {
        return Err(AppError::unauthenticated("a role was requested without a bearer token"));
    }
    let role = Role::from_claim(requested.trim())
        .ok_or_else(|| AppError::bad_input(format!("`{requested}` is not a role")))?;
    if !viewer.has(role) {
        return Err(AppError::forbidden(format!("the token does not hold the role `{role}`")));
    }
    viewer.roles = BTreeSet::from([role]);
    Ok(viewer)
}

/// Extracts the token from an `Authorization` header value.
pub fn bearer_token(header: &str) -> Result<&str, AppError> {
    let (scheme, token) = header
        .split_once(' ')
        .ok_or_else(|| AppError::unauthenticated("the Authorization header must be `Bearer <token>`"))?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(AppError::unauthenticated("the Authorization header must be `Bearer <token>`"));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use std::{
        fs,
        path::{Path, PathBuf},
        time::Duration,
    };

    use jsonwebtoken::{Algorithm, EncodingKey, Header};

    use super::*;
    use crate::config::Secret;

    fn verifier_and_signer(leeway: u64) -> (JwtVerifier, TokenSigner) {
        let secret = Secret::new("a-test-secret-of-at-least-32-bytes!!");
        let verifier =
            JwtVerifier::new(VerificationKey::Secret(secret.clone()), "iss", "aud", Duration::from_secs(leeway));
        (verifier.expect("verifier"), TokenSigner::hs256(&secret, "iss", "aud"))
    }

    fn message(result: Result<Viewer, AppError>) -> String {
        match result {
            Ok(viewer) => format!("accepted {:?}", viewer.subject),
            Err(AppError::Unauthenticated(message)) => message,
            Err(other) => other.code().to_string(),
        }
    }

    #[test]
    fn a_remembered_token_still_expires() {
        let (verifier, signer) = verifier_and_signer(30);
        let token = signer.mint("ada", &[Role::Admin], None, Duration::from_secs(3600)).expect("token");
        let now = jsonwebtoken::get_current_timestamp();
        assert_eq!(message(verifier.verify(&token)), "accepted Some(\"ada\")");
        assert_eq!(verifier.remembered_tokens(), 1);
        // Within the leeway after exp: still good; one second past it: expired.
        assert_eq!(message(verifier.verify_at(&token, now + 3600 + 30)), "accepted Some(\"ada\")");
        assert_eq!(message(verifier.verify_at(&token, now + 3600 + 31)), "the token has expired");
        // nbf (minted as now) is checked again too, should the clock go back.
        assert_eq!(message(verifier.verify_at(&token, now - 31)), "the token is not valid yet (nbf)");
        assert_eq!(message(verifier.verify_at(&token, now)), "accepted Some(\"ada\")");
    }

    #[test]
    fn only_tokens_that_passed_are_remembered_and_only_by_their_whole_text() {
        let (verifier, signer) = verifier_and_signer(0);
        let token = signer.mint("ada", &[Role::Admin], None, Duration::from_secs(3600)).expect("token");
        assert!(verifier.verify(&token).is_ok());
        // The same token with its signature's first character changed. (Not
        // the last: in base64url it carries two padding bits, and a change
        // confined to them can decode to the same signature.)
        let at = token.rfind('.').expect("three parts") + 1;
        let first = &token[at..=at];
        let forged = format!("{}{}{}", &token[..at], if first == "A" { "B" } else { "A" }, &token[at + 1..]);
        for _ in 0..2 {
            assert_eq!(message(verifier.verify(&forged)), "the token's signature does not verify");
        }
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: "bob".into(),
            roles: vec!["admin".into()],
            org: None,
            exp: now - 100,
            iat: now - 200,
            nbf: None,
            iss: "iss".into(),
            aud: Audience::One("aud".into()),
        };
        let secret = Secret::new("a-test-secret-of-at-least-32-bytes!!");
        let key = EncodingKey::from_secret(secret.expose().as_bytes());
        let expired = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).expect("token");
        let (strict, _) = verifier_and_signer(0);
        assert_eq!(message(strict.verify(&expired)), "the token has expired");
        assert_eq!(strict.remembered_tokens(), 0);
        assert_eq!(verifier.remembered_tokens(), 1);
    }

    #[test]
    fn remembered_tokens_are_bounded() {
        let (verifier, signer) = verifier_and_signer(0);
        for n in 0..MAX_REMEMBERED_TOKENS + 10 {
            let token = signer.mint(&format!("user{n}"), &[Role::Admin], None, Duration::from_secs(60)).expect("token");
            assert!(verifier.verify(&token).is_ok());
        }
        assert_eq!(verifier.remembered_tokens(), MAX_REMEMBERED_TOKENS);
    }

    #[test]
    fn sqlite_paths_are_found_in_urls() {
        assert_eq!(sqlite_path("sqlite://licensegraph.db"), Some(PathBuf::from("licensegraph.db")));
        assert_eq!(sqlite_path("sqlite:data/x.db?mode=rwc"), Some(PathBuf::from("data/x.db")));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://localhost/x"), None);
    }

    #[test]
    fn narrowing_keeps_only_a_held_role() {
        let viewer = Viewer {
            subject: Some("a".into()),
            roles: BTreeSet::from([Role::Admin, Role::Learner]),
            organization_id: Some(1),
        };
        let narrowed = narrow(viewer.clone(), "learner").expect("held role");
        assert_eq!(narrowed.roles, BTreeSet::from([Role::Learner]));
        assert_eq!(narrow(viewer.clone(), "reseller").map_err(|e| e.code()), Err("FORBIDDEN"));
        assert_eq!(narrow(viewer, "root").map_err(|e| e.code()), Err("BAD_USER_INPUT"));
    }

    #[test]
    fn a_generated_secret_is_private_and_kept() {
        let dir = std::env::temp_dir().join(format!("lg-secret-{}", rand::random::<u64>()));
        fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("db.jwt-secret");
        let first = load_or_create_secret(&path).expect("created");
        let second = load_or_create_secret(&path).expect("read back");
        assert_eq!(first.expose(), second.expose());
        assert_eq!(first.expose().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("metadata").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        fs::write(&path, "short").expect("overwrite");
        assert!(load_or_create_secret(&path).is_err(), "a short secret file is refused");
        fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn production_reads_a_secret_file_and_never_makes_one_up() {
        let dir = std::env::temp_dir().join(format!("lg-secret-{}", rand::random::<u64>()));
        fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("prod.jwt-secret");
        let jwt = |file: &Path| {
            let cli = <crate::config::Cli as clap::Parser>::try_parse_from([
                "licensegraph",
                "serve",
                "--mode",
                "production",
                "--jwt-secret-file",
                file.to_str().expect("utf-8 path"),
            ])
            .expect("parses");
            match cli.command().2 {
                crate::config::Command::Serve(args) => args.jwt.clone(),
                _ => panic!("serve"),
            }
        };
        let missing = JwtVerifier::from_config(&jwt(&path), "sqlite::memory:", false).map(|_| ()).unwrap_err();
        assert!(missing.contains("does not generate one"), "{missing}");
        assert!(!path.exists(), "nothing was generated");
        fs::write(&path, "a-test-secret-of-at-least-32-bytes!!\n").expect("write");
        let verifier = JwtVerifier::from_config(&jwt(&path), "sqlite::memory:", false).expect("reads the file");
        let token =
            TokenSigner::hs256(&Secret::new("a-test-secret-of-at-least-32-bytes!!"), "licensegraph", "licensegraph")
                .mint("ada", &[Role::Admin], None, Duration::from_secs(60))
                .expect("token");
        assert_eq!(message(verifier.verify(&token)), "accepted Some(\"ada\")");
        fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn bearer_header_must_be_well_formed() {
        assert_eq!(bearer_token("Bearer abc").ok(), Some("abc"));
        assert_eq!(bearer_token("bearer abc").ok(), Some("abc"));
        assert!(bearer_token("Basic abc").is_err());
        assert!(bearer_token("Bearer ").is_err());
        assert!(bearer_token("abc").is_err());
    }

    /// Signs `claims` (JSON) with `header` (JSON) and the test secret.
    fn signed(header: &str, claims: &serde_json::Value) -> String {
        use base64::Engine;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.to_string().as_bytes()));
        let key = EncodingKey::from_secret(b"a-test-secret-of-at-least-32-bytes!!");
        let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &key, Algorithm::HS256).expect("sign");
        format!("{input}.{signature}")
    }

    fn claims(sub: &str, aud: serde_json::Value) -> serde_json::Value {
        let now = jsonwebtoken::get_current_timestamp();
        serde_json::json!({ "sub": sub, "roles": ["admin"], "iat": now, "exp": now + 600, "iss": "iss", "aud": aud })
    }

    #[test]
    fn a_token_naming_critical_extensions_is_refused() {
        // RFC 7515 4.1.11: crit names extensions the recipient must understand.
        let (verifier, _) = verifier_and_signer(0);
        let plain = signed(r#"{"alg":"HS256","typ":"JWT"}"#, &claims("ada", "aud".into()));
        assert_eq!(message(verifier.verify(&plain)), "accepted Some(\"ada\")");
        for crit in [r#"{"alg":"HS256","crit":["exp"],"exp":1}"#, r#"{"alg":"HS256","crit":["b64"],"b64":false}"#] {
            let token = signed(crit, &claims("ada", "aud".into()));
            assert!(message(verifier.verify(&token)).contains("critical extensions"), "{crit}");
        }
    }

    #[test]
    fn an_audience_array_holding_ours_is_accepted_and_one_without_it_is_not() {
        // RFC 7519 4.1.3: aud may be an array.
        let (verifier, _) = verifier_and_signer(0);
        let header = r#"{"alg":"HS256"}"#;
        let ours = signed(header, &claims("ada", serde_json::json!(["other", "aud"])));
        assert_eq!(message(verifier.verify(&ours)), "accepted Some(\"ada\")");
        let theirs = signed(header, &claims("ada", serde_json::json!(["other", "another"])));
        assert_eq!(message(verifier.verify(&theirs)), "the token has the wrong audience");
    }

    #[test]
    fn subjects_with_control_characters_are_refused_and_spaces_around_one_do_not_make_another_person() {
        let (verifier, _) = verifier_and_signer(0);
        let header = r#"{"alg":"HS256"}"#;
        for sub in ["a\u{0}b", "ada\n", "\u{1b}[31mada", "ad\u{7f}a", "\u{85}ada"] {
            let token = signed(header, &claims(sub, "aud".into()));
            assert!(message(verifier.verify(&token)).contains("control character"), "{sub:?}");
        }
        let spaced = signed(header, &claims("  ada ", "aud".into()));
        assert_eq!(message(verifier.verify(&spaced)), "accepted Some(\"ada\")");
        let blank = signed(header, &claims("   ", "aud".into()));
        assert_eq!(message(verifier.verify(&blank)), "the token's subject is empty");
    }
}
