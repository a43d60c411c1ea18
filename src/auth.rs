//! Who is calling: JWT keys and verification, claims, roles, and the
//! [`Viewer`] put into each request.
//!
//! Architecture invariant: a token is either fully valid or refused. A bad
//! token is never downgraded to anonymous (API.md), and no secret is built
//! in: with none configured, one is generated and kept in a file.

use std::{
    collections::{BTreeSet, HashMap},
    fmt, fs,
    io::Write,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use async_graphql::Enum;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use rand::TryRngCore;
use serde::{Deserialize, Serialize};

use crate::{
    config::{JwtArgs, Secret},
    error::AppError,
    id,
};

/// The request header that narrows a request to one of the token's roles.
pub const ROLE_HEADER: &str = "x-licensegraph-role";

/// Shortest accepted HS256 secret, in bytes.
const MIN_SECRET_BYTES: usize = 32;

/// What a caller may be (DOMAIN.md section 7).
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

/// One key tokens may be signed with, and how its tokens are validated.
#[derive(Clone)]
struct AcceptedKey {
    /// Its key id: the first 16 hex digits of the SHA-256 of the key material.
    kid: String,
    key: DecodingKey,
    validation: Validation,
}

/// Verifies bearer tokens against the current key and, during a rotation,
/// the previous one.
///
/// A client sends the same token with every request until it expires, and
/// verifying it (the signature, the header and the claims' JSON) was about
/// a tenth of a small request's CPU. So a token that passed every check is
/// remembered by its whole text, with its viewer and its time claims: the
/// same text again has the same signature, key, algorithm, issuer,
/// audience, subject and roles, and only `exp` and `nbf` are checked again
/// (against the clock, with the same leeway). A token that failed is never
/// remembered. At most [`MAX_REMEMBERED_TOKENS`] are kept.
#[derive(Clone)]
pub struct JwtVerifier {
    keys: Vec<AcceptedKey>,
    leeway: u64,
    remembered: Arc<Mutex<HashMap<Box<str>, Verified>>>,
}

/// Tokens a verifier remembers at most (see [`JwtVerifier`]).
pub const MAX_REMEMBERED_TOKENS: usize = 1024;

/// A token that passed: its viewer and time claims.
#[derive(Debug, Clone)]
struct Verified {
    viewer: Viewer,
    exp: u64,
    nbf: Option<u64>,
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier").field("key_ids", &self.key_ids()).finish_non_exhaustive()
    }
}

/// The key id of some key material: a fingerprint, never the material.
pub fn key_id(material: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(material).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The key material tokens are verified with.
pub enum VerificationKey {
    /// HS256 with a shared secret.
    Secret(Secret),
    /// RS256 or ES256 with a public key in PEM.
    PublicPem(Vec<u8>),
}

impl JwtVerifier {
    /// Builds a verifier that insists on `iss`, `aud`, `exp`, `iat` and `sub`,
    /// checks `nbf` when present, and accepts exactly one algorithm.
    pub fn new(key: VerificationKey, issuer: &str, audience: &str, leeway: Duration) -> Result<Self, String> {
        Self::rotating(vec![key], issuer, audience, leeway)
    }

    /// A verifier accepting tokens signed with any of `keys` (the current
    /// key first, then the one being rotated out). A token naming a key id
    /// (`kid`) is checked against that key only.
    pub fn rotating(
        keys: Vec<VerificationKey>,
        issuer: &str,
        audience: &str,
        leeway: Duration,
    ) -> Result<Self, String> {
        if keys.is_empty() {
            return Err("no JWT key configured".into());
        }
        let keys =
            keys.into_iter().map(|key| Self::accepted(key, issuer, audience, leeway)).collect::<Result<Vec<_>, _>>()?;
        Ok(Self { keys, leeway: leeway.as_secs(), remembered: Arc::default() })
    }

    /// The key ids tokens may name in their `kid` header, current first.
    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.kid.as_str()).collect()
    }

    fn accepted(key: VerificationKey, issuer: &str, audience: &str, leeway: Duration) -> Result<AcceptedKey, String> {
        let (kid, key, algorithm) = match key {
            VerificationKey::Secret(secret) => {
                if secret.expose().len() < MIN_SECRET_BYTES {
                    return Err(format!("the JWT secret must be at least {MIN_SECRET_BYTES} bytes"));
                }
                let bytes = secret.expose().as_bytes();
                (key_id(bytes), DecodingKey::from_secret(bytes), Algorithm::HS256)
            }
            VerificationKey::PublicPem(pem) => {
                if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
                    (key_id(&pem), key, Algorithm::RS256)
                } else if let Ok(key) = DecodingKey::from_ec_pem(&pem) {
                    (key_id(&pem), key, Algorithm::ES256)
                } else {
                    return Err("the JWT public key is neither an RSA nor an EC (P-256) PEM key".into());
                }
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.leeway = leeway.as_secs();
        Ok(AcceptedKey { kid, key, validation })
    }

    /// Builds the verifier `serve` uses from its configuration. With no
    /// secret or key given, the secret file is read; `generate` says whether
    /// a missing one may be created (development) or is an error
    /// (production never makes up its own secret).
    pub fn from_config(jwt: &JwtArgs, database_url: &str, generate: bool) -> Result<Self, String> {
        let key = match (&jwt.jwt_secret, &jwt.jwt_public_key) {
            (_, Some(path)) => VerificationKey::PublicPem(
                fs::read(path).map_err(|e| format!("cannot read the JWT public key {}: {e}", path.display()))?,
            ),
            (Some(secret), None) => VerificationKey::Secret(secret.clone()),
            (None, None) if generate => {
                VerificationKey::Secret(load_or_create_secret(&secret_file(jwt, database_url))?)
            }
            (None, None) => {
                let path = secret_file(jwt, database_url);
                VerificationKey::Secret(load_secret(&path).map_err(|e| match e {
                    SecretFileError::Missing => format!(
                        "the JWT secret file {} does not exist, and production mode does not generate one",
                        path.display()
                    ),
                    SecretFileError::Unusable(message) => message,
                })?)
            }
        };
        let mut keys = vec![key];
        if let Some(path) = &jwt.jwt_previous_public_key {
            keys.push(VerificationKey::PublicPem(
                fs::read(path)
                    .map_err(|e| format!("cannot read the previous JWT public key {}: {e}", path.display()))?,
            ));
        }
        if let Some(secret) = &jwt.jwt_previous_secret {
            keys.push(VerificationKey::Secret(secret.clone()));
        }
        let verifier =
            Self::rotating(keys, &jwt.jwt_issuer, &jwt.jwt_audience, Duration::from_secs(jwt.jwt_leeway_secs))?;
        tracing::info!(key_ids = ?verifier.key_ids(), "accepting JWTs signed with these keys (kid)");
        Ok(verifier)
    }

    /// Verifies a compact JWT and turns it into a viewer. A token that
    /// points at its own key (`jku`, `x5u`, `jwk`, `x5c`) is refused: keys
    /// come from configuration only. An unknown `kid` is refused.
    pub fn verify(&self, token: &str) -> Result<Viewer, AppError> {
        self.verify_at(token, jsonwebtoken::get_current_timestamp())
    }

    /// [`verify`](Self::verify) at `now` (seconds since the epoch): the
    /// time a remembered token's `exp` and `nbf` are checked against.
    /// (jsonwebtoken checks a new token against the system clock.)
    fn verify_at(&self, token: &str, now: u64) -> Result<Viewer, AppError> {
        if let Some(verified) = self.remembered.lock().ok().and_then(|r| r.get(token).cloned()) {
            // jsonwebtoken's own tests, with the same leeway.
            if verified.exp < now.saturating_sub(self.leeway) {
                return Err(AppError::unauthenticated("the token has expired"));
            }
            if verified.nbf.is_some_and(|nbf| nbf > now.saturating_add(self.leeway)) {
                return Err(AppError::unauthenticated("the token is not valid yet (nbf)"));
            }
            return Ok(verified.viewer);
        }
        let verified = self.verify_token(token)?;
        let viewer = verified.viewer.clone();
        self.remember(token, verified);
        Ok(viewer)
    }

    fn remember(&self, token: &str, verified: Verified) {
        let Ok(mut remembered) = self.remembered.lock() else { return };
        while remembered.len() >= MAX_REMEMBERED_TOKENS {
            let Some(old) = remembered.keys().next().cloned() else { break };
            remembered.remove(&old);
        }
        remembered.insert(Box::from(token), verified);
    }

    /// How many tokens are remembered.
    pub fn remembered_tokens(&self) -> usize {
        self.remembered.lock().map_or(0, |r| r.len())
    }

    /// Every check of a token not seen before.
    fn verify_token(&self, token: &str) -> Result<Verified, AppError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| AppError::unauthenticated("the token is malformed"))?;
        if has_critical_extensions(token) {
            // RFC 7515 4.1.11: a recipient that does not understand every
            // extension `crit` names must refuse the token. We understand none.
            return Err(AppError::unauthenticated(
                "the token's header lists critical extensions (crit) this server does not understand",
            ));
        }
        if header.jku.is_some() || header.x5u.is_some() || header.jwk.is_some() || header.x5c.is_some() {
            return Err(AppError::unauthenticated(
                "the token names its own key (jku, x5u, jwk or x5c); keys are configured, never taken from tokens",
            ));
        }
        let candidates: Vec<&AcceptedKey> = match &header.kid {
            Some(kid) => self.keys.iter().filter(|k| &k.kid == kid).collect(),
            None => self.keys.iter().collect(),
        };
        if candidates.is_empty() {
            return Err(AppError::unauthenticated("the token's key id (kid) is not one this server accepts"));
        }
        let mut failures = vec![];
        for accepted in candidates {
            match jsonwebtoken::decode::<Claims>(token, &accepted.key, &accepted.validation) {
                Ok(data) => {
                    let (exp, nbf) = (data.claims.exp, data.claims.nbf);
                    return Ok(Verified { viewer: viewer_from_claims(data.claims)?, exp, nbf });
                }
                Err(e) => failures.push(e),
            }
        }
        // Report what the key that signed it found wrong (expiry, issuer...),
        // else the first key's verdict.
        let signed_by = |e: &jsonwebtoken::errors::Error| {
            !matches!(e.kind(), ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm)
        };
        let position = failures.iter().position(signed_by).unwrap_or(0);
        let e = failures.swap_remove(position);
        Err(AppError::unauthenticated(match e.kind() {
            ErrorKind::ExpiredSignature => "the token has expired",
            ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)",
            ErrorKind::InvalidIssuer => "the token has the wrong issuer",
            ErrorKind::InvalidAudience => "the token has the wrong audience",
            ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim (sub, exp, iat, iss, aud)",
            ErrorKind::InvalidAlgorithm => "the token is signed with an algorithm this server does not accept",
            ErrorKind::InvalidSignature => "the token's signature does not verify",
            _ => "the token is malformed",
        }))
    }
}

/// Whether the token's header has a `crit` member (which jsonwebtoken's
/// `Header` does not read). The header already decoded once, so a failure
/// to decode here cannot happen; it is treated as critical all the same.
fn has_critical_extensions(token: &str) -> bool {
    use base64::Engine;
    let Some(encoded) = token.split('.').next() else { return true };
    let Ok(json) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded.trim_end_matches('=')) else {
        return true;
    };
    match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&json) {
        Ok(header) => header.contains_key("crit"),
        Err(_) => true,
    }
}

fn viewer_from_claims(claims: Claims) -> Result<Viewer, AppError> {
    // One person, one subject: " alice " is alice (RFC 7519 compares
    // StringOrURI values as they are, so we normalise before comparing).
    if claims.sub.chars().any(char::is_control) {
        return Err(AppError::unauthenticated("the token's subject contains a control character"));
    }
    let sub = claims.sub.trim();
    if sub.is_empty() {
        return Err(AppError::unauthenticated("the token's subject is empty"));
    }
    let sub = sub.to_owned();
    if claims.roles.is_empty() {
        return Err(AppError::unauthenticated("the token carries no role"));
    }
    let mut roles = BTreeSet::new();
    for name in &claims.roles {
        let role = Role::from_claim(name)
            .ok_or_else(|| AppError::unauthenticated(format!("the token carries an unknown role `{name}`")))?;
        roles.insert(role);
    }
    let organization_id = match &claims.org {
        Some(org) => Some(
            id::decode_as("Organization", org)
                .ok_or_else(|| AppError::unauthenticated("the token's `org` is not an organization id"))?,
        ),
        None => None,
    };
    if organization_id.is_none() && roles.iter().any(|r| r.is_org_scoped()) {
        return Err(AppError::unauthenticated("the token's roles need an `org` claim"));
    }
    Ok(Viewer { subject: Some(sub), roles, organization_id })
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

/// Signs tokens (for `licensegraph token`, the demo and tests).
pub struct TokenSigner {
    key: EncodingKey,
    algorithm: Algorithm,
    issuer: String,
    audience: String,
}

impl TokenSigner {
    pub fn hs256(secret: &Secret, issuer: &str, audience: &str) -> Self {
        Self {
            key: EncodingKey::from_secret(secret.expose().as_bytes()),
            algorithm: Algorithm::HS256,
            issuer: issuer.into(),
            audience: audience.into(),
        }
    }

    /// From a PEM private key: RS256 for RSA keys, ES256 for P-256 keys.
    pub fn from_private_pem(pem: &[u8], issuer: &str, audience: &str) -> Result<Self, String> {
        let (key, algorithm) = if let Ok(key) = EncodingKey::from_rsa_pem(pem) {
            (key, Algorithm::RS256)
        } else if let Ok(key) = EncodingKey::from_ec_pem(pem) {
            (key, Algorithm::ES256)
        } else {
            return Err("the private key is neither an RSA nor an EC (P-256) PEM key".into());
        };
        Ok(Self { key, algorithm, issuer: issuer.into(), audience: audience.into() })
    }

    /// Mints a token for `sub` with `roles`, acting for `org`, valid for `ttl`.
    pub fn mint(&self, sub: &str, roles: &[Role], org: Option<&str>, ttl: Duration) -> Result<String, String> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: sub.into(),
            roles: roles.iter().map(|r| r.as_claim().to_owned()).collect(),
            org: org.map(str::to_owned),
            iat: now,
            nbf: Some(now),
            exp: now + ttl.as_secs(),
            iss: self.issuer.clone(),
            aud: Audience::One(self.audience.clone()),
        };
        jsonwebtoken::encode(&Header::new(self.algorithm), &claims, &self.key).map_err(|e| e.to_string())
    }
}

/// Where the generated secret lives when none is configured.
pub fn secret_file(jwt: &JwtArgs, database_url: &str) -> PathBuf {
    if let Some(path) = &jwt.jwt_secret_file {
        return path.clone();
    }
    match sqlite_path(database_url) {
        Some(db) => PathBuf::from(format!("{}.jwt-secret", db.display())),
        None => PathBuf::from("licensegraph.jwt-secret"),
    }
}

/// The file path of a `sqlite://` URL, if it names a file.
pub fn sqlite_path(database_url: &str) -> Option<PathBuf> {
    let rest = database_url.strip_prefix("sqlite://").or_else(|| database_url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Why a secret file could not be used.
#[derive(Debug, PartialEq, Eq)]
pub enum SecretFileError {
    /// There is no such file.
    Missing,
    /// It cannot be read, or holds too short a secret.
    Unusable(String),
}

/// Reads the HS256 secret kept in `path` (surrounding whitespace ignored);
/// never creates one. What production mode uses for
/// `LICENSEGRAPH_JWT_SECRET_FILE`.
pub fn load_secret(path: &Path) -> Result<Secret, SecretFileError> {
    match fs::read_to_string(path) {
        Ok(text) => {
            let text = text.trim().to_owned();
            if text.len() < MIN_SECRET_BYTES {
                return Err(SecretFileError::Unusable(format!(
                    "the secret in {} is shorter than {MIN_SECRET_BYTES} bytes",
                    path.display()
                )));
            }
            Ok(Secret::new(text))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(SecretFileError::Missing),
        Err(e) => Err(SecretFileError::Unusable(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Reads the secret at `path`, or generates 32 random bytes (64 hex
/// characters) from the OS's cryptographic source and writes them there,
/// readable by the owner only.
pub fn load_or_create_secret(path: &Path) -> Result<Secret, String> {
    match load_secret(path) {
        Ok(secret) => return Ok(secret),
        Err(SecretFileError::Missing) => {}
        Err(SecretFileError::Unusable(message)) => return Err(message),
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.try_fill_bytes(&mut bytes).map_err(|e| format!("no OS randomness: {e}"))?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            tracing::info!(path = %path.display(), "generated a new JWT secret");
            Ok(Secret::new(secret))
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create_secret(path),
        Err(e) => Err(format!("cannot create {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
