//! Verifying bearer tokens: the accepted keys (two during a rotation), the
//! checks of every header and claim, and the cache of tokens that passed.

use std::{
    collections::{BTreeSet, HashMap},
    fmt, fs,
    sync::{Arc, Mutex},
    time::Duration,
};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};

use super::{Claims, MIN_SECRET_BYTES, Role, SecretFileError, Viewer, load_or_create_secret, load_secret, secret_file};
use crate::{
    config::{JwtArgs, Secret},
    error::AppError,
    id,
};

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
    pub(super) fn verify_at(&self, token: &str, now: u64) -> Result<Viewer, AppError> {
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

    /// [`verify`](Self::verify), and when the token expires (seconds since
    /// the epoch): for a connection that outlives its first request.
    pub fn verify_with_expiry(&self, token: &str) -> Result<(Viewer, u64), AppError> {
        let viewer = self.verify(token)?;
        let kept = self.remembered.lock().ok().and_then(|r| r.get(token).map(|v| v.exp));
        let exp = match kept {
            Some(exp) => exp,
            None => self.verify_token(token)?.exp,
        };
        Ok((viewer, exp))
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
