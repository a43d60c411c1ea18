//! Minting tokens, for `licensegraph token`, the demo data and the tests.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};

use super::{Audience, Claims, Role};
use crate::config::Secret;

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
