//! Where webhooks may be sent: an `https` URL (plain `http` only where the
//! configuration allows it, as in development), with no user name or
//! password in it, and not to a loopback, private, link-local or otherwise
//! internal address unless the configuration allows that too. The address
//! a name resolves to is checked again at each delivery
//! ([`crate::dispatch::webhooks`]), so a name cannot point inwards later.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use reqwest::Url;

/// What the configuration allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlPolicy {
    /// `http` endpoints are accepted (development).
    pub allow_http: bool,
    /// Loopback and private addresses are accepted.
    pub allow_private: bool,
}

impl UrlPolicy {
    /// Development: anything that is an http(s) URL.
    pub const OPEN: Self = Self { allow_http: true, allow_private: true };
    /// Production's default.
    pub const STRICT: Self = Self { allow_http: false, allow_private: false };
}

/// Why a URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlRefusal {
    /// Not an absolute http(s) URL with a host, or it carries credentials.
    Malformed,
    /// `http` where only `https` is allowed.
    NotHttps,
    /// Points at a loopback, private or internal address.
    Private,
}

/// The longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Checks `text` as a webhook URL under `policy`.
pub fn check(text: &str, policy: UrlPolicy) -> Result<Url, UrlRefusal> {
    if text.len() > MAX_URL_LEN {
        return Err(UrlRefusal::Malformed);
    }
    let url = Url::parse(text.trim()).map_err(|_| UrlRefusal::Malformed)?;
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(UrlRefusal::Malformed);
    }
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        "http" => return Err(UrlRefusal::NotHttps),
        _ => return Err(UrlRefusal::Malformed),
    }
    let internal = match url.host() {
        None => return Err(UrlRefusal::Malformed),
        Some(url::Host::Ipv4(ip)) => internal(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => internal(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost") || name.ends_with(".internal")
        }
    };
    if internal && !policy.allow_private {
        return Err(UrlRefusal::Private);
    }
    Ok(url)
}

/// Whether `ip` is an address no outside endpoint has: loopback, private
/// (RFC 1918, unique local), link-local, carrier-grade NAT, unspecified,
/// broadcast, multicast, documentation, or an IPv4 one mapped into IPv6.
pub fn internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return internal_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || v6 == Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0)
                || first == 0x2001 && v6.segments()[1] == 0x0db8 // documentation
        }
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_takes_public_https_only() {
        let strict = UrlPolicy::STRICT;
        assert!(check("https://hooks.example.com/lg?x=1", strict).is_ok());
        assert_eq!(check("http://hooks.example.com/", strict), Err(UrlRefusal::NotHttps));
        for inward in [
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://localhost:8443/",
            "https://api.localhost/",
            "https://2130706433/",
        ] {
            assert_eq!(check(inward, strict), Err(UrlRefusal::Private), "{inward}");
        }
        for bad in ["", "hooks.example.com", "ftp://x.example/", "https://u:p@x.example/", "https://x.example/#f"] {
            assert_eq!(check(bad, strict), Err(UrlRefusal::Malformed), "{bad}");
        }
        assert_eq!(
            check(&format!("https://x.example/{}", "a".repeat(MAX_URL_LEN)), strict),
            Err(UrlRefusal::Malformed)
        );
    }

    #[test]
    fn development_and_configured_exceptions_allow_loopback() {
        assert!(check("http://127.0.0.1:9000/hook", UrlPolicy::OPEN).is_ok());
        let private_only = UrlPolicy { allow_http: false, allow_private: true };
        assert!(check("https://10.0.0.5/hook", private_only).is_ok());
        assert_eq!(check("http://10.0.0.5/hook", private_only), Err(UrlRefusal::NotHttps));
        assert!(!internal("93.184.216.34".parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))));
    }
}
