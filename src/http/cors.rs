//! Cross-origin requests from browsers (CORS): which origins may call the
//! API, and the preflight answers, per the Fetch standard, through
//! tower-http's `CorsLayer` rather than code of our own.
//!
//! Front ends on another origin (a Vite dev server on
//! `http://localhost:5173`, a portal on its own domain) send a preflight
//! `OPTIONS /graphql` before each call with `Authorization`; without an
//! answer the browser blocks the call. Only origins on the allow-list get
//! permission: in development, `http://localhost:<any port>` and
//! `http://127.0.0.1:<any port>` plus those configured; in production, only
//! those configured (`LICENSEGRAPH_CORS_ORIGINS`, exact origins). Any other
//! origin gets no `Access-Control-Allow-Origin`, so its browser refuses.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, header, request::Parts};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::{auth::ROLE_HEADER, config::Mode};

/// How long a browser may keep a preflight's answer.
pub const MAX_AGE: Duration = Duration::from_secs(600);

/// The origins allowed to call the API from a browser.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsOrigins {
    /// Exact origins, as `scheme://host[:port]`.
    exact: Vec<HeaderValue>,
    /// Whether `http://localhost:*` and `http://127.0.0.1:*` are allowed.
    loopback: bool,
}

impl CorsOrigins {
    /// The allow-list for `mode` with `configured` origins added: each must
    /// be an exact origin (`https://portal.example`, `http://localhost:5173`),
    /// without a path or a wildcard.
    pub fn new(mode: Mode, configured: &[String]) -> Result<Self, String> {
        let exact = configured
            .iter()
            .map(|origin| origin.trim())
            .filter(|origin| !origin.is_empty())
            .map(|origin| {
                parse_origin(origin).ok_or_else(|| {
                    format!("`{origin}` is not an exact origin like https://portal.example (no path, no *)")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { exact, loopback: mode == Mode::Development })
    }

    /// Whether a request from `origin` may read the answer.
    pub fn allows(&self, origin: &HeaderValue) -> bool {
        if self.exact.iter().any(|allowed| allowed.as_bytes().eq_ignore_ascii_case(origin.as_bytes())) {
            return true;
        }
        self.loopback
            && origin.to_str().is_ok_and(|origin| {
                ["http://localhost", "http://127.0.0.1"].iter().any(|host| {
                    origin.strip_prefix(host).is_some_and(|rest| {
                        rest.is_empty() || rest.strip_prefix(':').is_some_and(|p| p.parse::<u16>().is_ok())
                    })
                })
            })
    }

    /// The layer that answers preflights and marks allowed answers.
    pub fn layer(&self) -> CorsLayer {
        let origins = self.clone();
        CorsLayer::new()
            .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _: &Parts| origins.allows(origin)))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                HeaderName::from_static(ROLE_HEADER),
                HeaderName::from_static("idempotency-key"),
            ])
            .expose_headers([HeaderName::from_static("x-request-id"), header::RETRY_AFTER])
            .max_age(MAX_AGE)
    }
}

/// `text` as an origin: `http(s)://host[:port]`, lower-cased, or `None`.
fn parse_origin(text: &str) -> Option<HeaderValue> {
    let lower = text.to_ascii_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"))?;
    let (host, port) = rest.split_once(':').map_or((rest, None), |(h, p)| (h, Some(p)));
    let host_ok = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok());
    (host_ok && port_ok).then(|| HeaderValue::from_str(&lower).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(origins: &CorsOrigins, origin: &str) -> bool {
        origins.allows(&HeaderValue::from_str(origin).expect("header"))
    }

    #[test]
    fn development_allows_loopback_on_any_port_and_production_only_what_is_configured() {
        let dev = CorsOrigins::new(Mode::Development, &[]).expect("origins");
        for origin in ["http://localhost:5173", "http://127.0.0.1:3000", "http://localhost"] {
            assert!(allows(&dev, origin), "{origin}");
        }
        for origin in ["http://localhost.evil.example", "http://localhost:5173.evil", "https://evil.example", "null"] {
            assert!(!allows(&dev, origin), "{origin}");
        }
        let prod = CorsOrigins::new(Mode::Production, &["https://Portal.example".into()]).expect("origins");
        assert!(allows(&prod, "https://portal.example"));
        assert!(!allows(&prod, "http://localhost:5173"));
        assert!(!allows(&prod, "https://portal.example.evil"));
    }

    #[test]
    fn configured_origins_must_be_exact() {
        for bad in
            ["*", "https://portal.example/app", "portal.example", "https://*.example", "ftp://x", "https://x:99999"]
        {
            assert!(CorsOrigins::new(Mode::Production, &[bad.into()]).is_err(), "{bad}");
        }
        assert!(CorsOrigins::new(Mode::Production, &["https://a.example, ".into()]).is_err(), "one origin per entry");
        assert!(CorsOrigins::new(Mode::Production, &["http://localhost:5173".into(), " ".into()]).is_ok());
    }
}
