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
                    origin
                        .strip_prefix(host)
                        .is_some_and(|rest| rest.is_empty() || rest.strip_prefix(':').is_some_and(plain_port))
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
                HeaderName::from_static("x-request-id"),
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static("traceparent"),
                HeaderName::from_static("tracestate"),
            ])
            .expose_headers([
                HeaderName::from_static("x-request-id"),
                header::RETRY_AFTER,
                header::CONTENT_DISPOSITION,
                HeaderName::from_static("idempotent-replayed"),
                HeaderName::from_static("traceresponse"),
            ])
            .max_age(MAX_AGE)
    }
}

/// Whether a request is a browser's preflight (`OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`). tower-http answers every `OPTIONS` as
/// one; any other `OPTIONS` reaches the routes as before (405 with
/// `Allow`, or 404).
pub fn is_preflight(parts: &axum::http::request::Parts) -> bool {
    parts.method == Method::OPTIONS
        && parts.headers.contains_key(header::ORIGIN)
        && parts.headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// `text` as an origin, as a browser sends it: `http(s)://host[:port]`,
/// lower-cased, the port in plain digits and not the scheme's default
/// (`https://x:443` never comes from a browser, so it could never match);
/// or `None`. IPv6 literals are not supported.
fn parse_origin(text: &str) -> Option<HeaderValue> {
    let lower = text.to_ascii_lowercase();
    let (rest, default_port) = match lower.strip_prefix("https://") {
        Some(rest) => (rest, "443"),
        None => (lower.strip_prefix("http://")?, "80"),
    };
    let (host, port) = rest.split_once(':').map_or((rest, None), |(h, p)| (h, Some(p)));
    let host_ok = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let port_ok = port.is_none_or(|p| plain_port(p) && p != default_port);
    (host_ok && port_ok).then(|| HeaderValue::from_str(&lower).ok()).flatten()
}

/// Digits only, no leading zero, within 1..=65535 (`u16`'s parser would
/// also take `+80` and `080`).
fn plain_port(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && !text.starts_with('0')
        && text.parse::<u16>().is_ok()
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
        for origin in [
            "http://localhost.evil.example",
            "http://localhost:5173.evil",
            "https://evil.example",
            "null",
            "http://localhost:+80",
            "http://localhost:0",
            "http://localhost:5173@evil.example",
        ] {
            assert!(!allows(&dev, origin), "{origin}");
        }
        let prod = CorsOrigins::new(Mode::Production, &["https://Portal.example".into()]).expect("origins");
        assert!(allows(&prod, "https://portal.example"));
        assert!(!allows(&prod, "http://localhost:5173"));
        assert!(!allows(&prod, "https://portal.example.evil"));
    }

    #[test]
    fn configured_origins_must_be_exact() {
        for bad in [
            "*",
            "https://portal.example/app",
            "portal.example",
            "https://*.example",
            "ftp://x",
            "https://x:99999",
            "https://x:443",
            "http://x:80",
            "https://x:+8443",
            "https://x:08443",
            "http://[::1]:5173",
        ] {
            assert!(CorsOrigins::new(Mode::Production, &[bad.into()]).is_err(), "{bad}");
        }
        assert!(CorsOrigins::new(Mode::Production, &["https://a.example, ".into()]).is_err(), "one origin per entry");
        assert!(CorsOrigins::new(Mode::Production, &["http://localhost:5173".into(), " ".into()]).is_ok());
    }
}
