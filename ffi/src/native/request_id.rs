//! `requestId()`: every request gets an id, visible to handlers as a
//! request header and echoed on the response. A well-formed incoming id is
//! kept (so a proxy's id follows the request through); anything else is
//! replaced by a fresh one.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;
use serde::Deserialize;

use super::header_name;

/// `requestId()` settings; `lib/native.ts` documents the defaults.
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RequestIdConfig {
    header: String,
    /// Keep a valid id sent by the client (or a proxy in front).
    trust_incoming: bool,
}

/// The id source of one server.
///
/// Ids need to be unique, not secret, so they are not drawn from the OS
/// per request (a syscall each): a 64-bit counter goes through the
/// SplitMix64 finaliser, a bijection, so no two requests of a server share
/// an id, and seeds drawn once from the OS (through std's randomly keyed
/// hasher, no extra crate) make different servers' ids unrelated. Never use
/// them as secrets or tokens.
pub(crate) struct RequestId {
    header: HeaderName,
    trust_incoming: bool,
    next: AtomicU64,
    seed: u64,
}

/// Longest incoming id kept; longer ones are replaced.
const MAX_INCOMING: usize = 128;

impl RequestId {
    /// Checks the settings and seeds the generator.
    pub(crate) fn new(config: &RequestIdConfig) -> Result<RequestId, String> {
        let random = std::collections::hash_map::RandomState::new();
        Ok(RequestId {
            header: header_name("requestId", &config.header)?,
            trust_incoming: config.trust_incoming,
            next: AtomicU64::new(random.hash_one(0x5eed_u64)),
            seed: random.hash_one(0xf3dd_u64),
        })
    }

    /// The header the id travels in.
    pub(crate) fn header(&self) -> &HeaderName {
        &self.header
    }

    /// Keeps a valid incoming id or writes a new one into the request
    /// headers (replacing every incoming value); returns the id.
    pub(crate) fn assign(&self, headers: &mut HeaderMap) -> HeaderValue {
        if self.trust_incoming {
            let mut incoming = headers.get_all(&self.header).iter();
            if let (Some(id), None) = (incoming.next(), incoming.next()) {
                if valid(id.as_bytes()) {
                    return id.clone();
                }
            }
        }
        let id = self.generate();
        headers.insert(self.header.clone(), id.clone());
        id
    }

    /// A fresh 128-bit id as 32 lower-case hex digits.
    fn generate(&self) -> HeaderValue {
        let low = mix(self.next.fetch_add(1, Ordering::Relaxed));
        let high = mix(low ^ self.seed);
        let text = format!("{high:016x}{low:016x}");
        HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("0"))
    }
}

/// SplitMix64's finaliser: a bijection on u64 that spreads every bit.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Short, printable and free of separators a log line could be forged with.
fn valid(id: &[u8]) -> bool {
    (1..=MAX_INCOMING).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:+/=@".contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(trust: bool) -> RequestId {
        RequestId::new(&RequestIdConfig {
            header: "x-request-id".into(),
            trust_incoming: trust,
        })
        .unwrap()
    }

    #[test]
    fn ids_are_generated_unique_and_hex() {
        let ids = ids(true);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let id = ids.assign(&mut HeaderMap::new());
            assert_eq!(id.len(), 32);
            assert!(id.as_bytes().iter().all(u8::is_ascii_hexdigit));
            assert!(seen.insert(id));
        }
    }

    #[test]
    fn valid_incoming_ids_are_kept_and_others_replaced() {
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", HeaderValue::from_static("edge-42"));
        assert_eq!(ids(true).assign(&mut headers), "edge-42");
        assert_ne!(ids(false).assign(&mut headers), "edge-42");
        headers.insert("x-request-id", HeaderValue::from_static("bad id\t"));
        let fresh = ids(true).assign(&mut headers);
        assert_eq!(headers["x-request-id"], fresh);
        assert_eq!(fresh.len(), 32);
    }
}
