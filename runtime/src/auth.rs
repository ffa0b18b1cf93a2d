//! The per-pipeline credential of the link protocol. Every request between
//! agents, to the gateway and from `koaljac` carries it; a request without
//! it gets 401 (`/healthz` aside, for probes). On a cluster it is the
//! Secret `<pipeline>-token` that `koaljac deploy` creates once and mounts
//! into every pod (`--token-file`); a local `koaljac run` makes a new one
//! for each run, held in memory only.
//!
//! It travels as `Authorization: Bearer <token>`, or as `X-Koalja-Token:
//! <token>`: the API server's service proxy, which `koaljac drop` and
//! `fetch` go through, removes the `Authorization` header (it was the
//! user's credential for the API server) before the request reaches the
//! gateway. Tokens are compared in constant time (`subtle`), so an answer's
//! timing tells nothing about how much of a guess was right.

use std::path::Path;

use axum::http::{header, HeaderMap, HeaderValue};
use subtle::ConstantTimeEq;

/// The header that survives the API server's service proxy.
pub const TOKEN_HEADER: &str = "x-koalja-token";

/// Fewest characters a token has: 128 bits as hex.
const MIN_LENGTH: usize = 32;

/// A pipeline's link credential. `Debug` never shows it.
#[derive(Clone)]
pub struct Credential {
    token: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credential(…)")
    }
}

impl Credential {
    /// A token as written in a Secret or a file: printable ASCII without
    /// spaces (it goes into a header as it is), at least 32 characters.
    pub fn new(token: &str) -> Result<Credential, String> {
        let token = token.trim();
        if token.len() < MIN_LENGTH {
            return Err(format!("the link token has {} characters; it needs at least {MIN_LENGTH}", token.len()));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("the link token holds characters other than printable ASCII without spaces".to_owned());
        }
        Ok(Credential { token: token.to_owned() })
    }

    /// The token in the file at `path` (`--token-file`; a mounted Secret).
    pub fn from_file(path: &Path) -> Result<Credential, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read the link token {}: {e}", path.display()))?;
        Credential::new(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A new token of 256 random bits from the operating system, as hex.
    pub fn random() -> Result<Credential, String> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| format!("no random bytes for a link token: {e}"))?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Credential { token })
    }

    /// The token itself, for a Secret or a request header; never for a log.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Whether `headers` carry this credential, in either header.
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        let plain = headers.get(TOKEN_HEADER).and_then(|value| value.to_str().ok());
        [bearer, plain].into_iter().flatten().any(|given| bool::from(given.as_bytes().ct_eq(self.token.as_bytes())))
    }

    /// `Authorization: Bearer <token>`, marked sensitive so that no
    /// client's debug output shows it.
    pub fn bearer(&self) -> HeaderValue {
        sensitive(&format!("Bearer {}", self.token))
    }

    /// The token as the value of `X-Koalja-Token`, marked sensitive.
    pub fn header_value(&self) -> HeaderValue {
        sensitive(&self.token)
    }
}

fn sensitive(text: &str) -> HeaderValue {
    let mut value = HeaderValue::from_str(text).expect("a checked token is a valid header value");
    value.set_sensitive(true);
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential() -> Credential {
        Credential::new("0123456789abcdef0123456789abcdef").unwrap()
    }

    fn headers(name: &str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn either_header_carries_the_token_and_nothing_else_is_admitted() {
        let credential = credential();
        assert!(credential.admits(&headers("authorization", "Bearer 0123456789abcdef0123456789abcdef")));
        assert!(credential.admits(&headers("x-koalja-token", "0123456789abcdef0123456789abcdef")));
        assert!(!credential.admits(&HeaderMap::new()));
        assert!(!credential.admits(&headers("authorization", "Bearer 0123456789abcdef0123456789abcdeF")));
        assert!(!credential.admits(&headers("authorization", "Bearer 0123456789abcdef0123456789abcde")));
        assert!(!credential.admits(&headers("authorization", "Basic 0123456789abcdef0123456789abcdef")));
        assert!(!credential.admits(&headers("x-koalja-token", "")));
    }

    #[test]
    fn short_or_spaced_tokens_are_refused_and_files_are_trimmed() {
        assert!(Credential::new("short").unwrap_err().contains("at least 32"));
        assert!(Credential::new("0123456789abcdef 0123456789abcdef").unwrap_err().contains("printable"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "0123456789abcdef0123456789abcdef\n").unwrap();
        assert!(Credential::from_file(&path).unwrap().admits(&headers("x-koalja-token", credential().token())));
        assert!(Credential::from_file(&dir.path().join("none")).unwrap_err().contains("cannot read"));
    }

    #[test]
    fn random_tokens_are_long_distinct_and_never_printed() {
        let (a, b) = (Credential::random().unwrap(), Credential::random().unwrap());
        assert_eq!(a.token().len(), 64);
        assert_ne!(a.token(), b.token());
        assert!(Credential::new(a.token()).is_ok());
        assert!(!format!("{a:?}").contains(a.token()));
        assert!(a.bearer().is_sensitive());
    }
}
