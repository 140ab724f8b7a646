//! Who may read `/metrics` on the worker's and the poller's ops address
//! (docs/security.md). Metrics hold counts and durations, never a secret,
//! an id or a URL; still, nothing is open to the network without a token:
//!
//! - `metrics.token` set: `/metrics` wants `Authorization: Bearer <token>`,
//!   whatever the address.
//! - no token, ops address on loopback (the default, `127.0.0.1:0`): open
//!   to local processes, as the ops CLI is.
//! - no token, any other address: `/metrics` answers 403 naming the
//!   setting; `/healthz` and `/readyz` stay open (orchestrators probe them).

use std::net::SocketAddr;

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

#[derive(Clone)]
pub enum MetricsAccess {
    /// A bearer token is required.
    Token(SecretString),
    /// Loopback address, no token configured: open.
    Local,
    /// Reachable from the network and no token configured: refused.
    Refused,
}

impl std::fmt::Debug for MetricsAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MetricsAccess::Token(_) => "Token(..)",
            MetricsAccess::Local => "Local",
            MetricsAccess::Refused => "Refused",
        })
    }
}

/// Why a scrape was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No token, or a wrong one: 401.
    BadToken,
    /// The address is not loopback and no token is configured: 403.
    NoTokenConfigured,
}

impl MetricsAccess {
    /// The rule for a server bound to `addr`.
    pub fn for_addr(addr: SocketAddr, token: Option<SecretString>) -> MetricsAccess {
        match token {
            Some(t) => MetricsAccess::Token(t),
            None if addr.ip().is_loopback() => MetricsAccess::Local,
            None => MetricsAccess::Refused,
        }
    }

    /// Checks the request's `Authorization` header value.
    pub fn check(&self, authorization: Option<&str>) -> Result<(), Denied> {
        match self {
            MetricsAccess::Local => Ok(()),
            MetricsAccess::Refused => Err(Denied::NoTokenConfigured),
            MetricsAccess::Token(expected) => {
                let presented = authorization
                    .and_then(|v| {
                        v.strip_prefix("Bearer ")
                            .or_else(|| v.strip_prefix("bearer "))
                    })
                    .map(str::trim)
                    .unwrap_or_default();
                if constant_time_eq(presented, expected.expose_secret()) {
                    Ok(())
                } else {
                    Err(Denied::BadToken)
                }
            }
        }
    }
}

/// Equal-length comparison in constant time.
pub fn constant_time_eq(presented: &str, expected: &str) -> bool {
    let (p, e) = (presented.as_bytes(), expected.as_bytes());
    if p.len() != e.len() || e.is_empty() {
        let _ = e.ct_eq(e);
        return false;
    }
    p.ct_eq(e).into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_open_the_network_needs_a_token() {
        let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:9101".parse().unwrap();
        assert!(MetricsAccess::for_addr(local, None).check(None).is_ok());
        assert_eq!(
            MetricsAccess::for_addr(any, None).check(Some("Bearer x")),
            Err(Denied::NoTokenConfigured)
        );
        let t = MetricsAccess::for_addr(any, Some(SecretString::from("s3cret")));
        assert!(t.check(Some("Bearer s3cret")).is_ok());
        assert_eq!(t.check(Some("Bearer s3cre")), Err(Denied::BadToken));
        assert_eq!(t.check(None), Err(Denied::BadToken));
        let t = MetricsAccess::for_addr(local, Some(SecretString::from("s3cret")));
        assert_eq!(
            t.check(None),
            Err(Denied::BadToken),
            "a token binds loopback too"
        );
        assert_eq!(format!("{t:?}"), "Token(..)");
    }
}
