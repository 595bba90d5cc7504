//! `rateLimit()`: a token bucket per client address, refused with 429 in
//! Rust before routing, so an abusive client costs no crossing. Memory is
//! bounded by `maxClients`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

use http::header::{HeaderValue, RETRY_AFTER};
use http::{Response, StatusCode};
use parking_lot::Mutex;
use serde::Deserialize;

use crate::body::Body;
use crate::response::problem;

/// `rateLimit()` settings; `lib/native.ts` documents the defaults.
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RateLimitConfig {
    /// Requests a client may burst.
    capacity: f64,
    /// Tokens given back per second.
    refill_per_second: f64,
    /// Clients tracked at once.
    max_clients: usize,
}

/// One client's bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: Instant,
}

impl Bucket {
    /// Tokens the bucket holds at `now`.
    fn level(&self, now: Instant, capacity: f64, refill: f64) -> f64 {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        (self.tokens + elapsed * refill).min(capacity)
    }
}

/// The buckets of one server. A `Mutex<HashMap>` is enough: the critical
/// section is a lookup and a few float operations.
pub(crate) struct RateLimit {
    capacity: f64,
    refill: f64,
    max_clients: usize,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimit {
    /// Checks the settings.
    pub(crate) fn new(config: &RateLimitConfig) -> Result<RateLimit, String> {
        if !(config.capacity >= 1.0 && config.capacity.is_finite()) {
            return Err("rateLimit: capacity must be at least 1".into());
        }
        if !(config.refill_per_second > 0.0 && config.refill_per_second.is_finite()) {
            return Err("rateLimit: refillPerSecond must be above 0".into());
        }
        if config.max_clients == 0 {
            return Err("rateLimit: maxClients must be at least 1".into());
        }
        Ok(RateLimit {
            capacity: config.capacity,
            refill: config.refill_per_second,
            max_clients: config.max_clients,
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// Takes a token for `ip`, or answers 429 with `Retry-After`.
    pub(crate) fn check(&self, ip: IpAddr) -> Option<Response<Body>> {
        let wait = self.take(client(ip), Instant::now())?;
        let mut response = problem(
            StatusCode::TOO_MANY_REQUESTS,
            "too many requests from this client",
        );
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(wait));
        Some(response)
    }

    /// Takes a token; `None` when allowed, else the whole seconds until a
    /// token is back (at least 1).
    fn take(&self, key: IpAddr, now: Instant) -> Option<u64> {
        let mut buckets = self.buckets.lock();
        if !buckets.contains_key(&key) && buckets.len() >= self.max_clients {
            self.evict(&mut buckets, now);
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.capacity,
            at: now,
        });
        let tokens = bucket.level(now, self.capacity, self.refill);
        if tokens >= 1.0 {
            *bucket = Bucket {
                tokens: tokens - 1.0,
                at: now,
            };
            return None;
        }
        *bucket = Bucket { tokens, at: now };
        Some(((1.0 - tokens) / self.refill).ceil().max(1.0) as u64)
    }

    /// Makes room for one client. A bucket that has refilled completely
    /// holds nothing a new bucket would not, so those go first; if every
    /// client is still limited, the one seen longest ago goes.
    fn evict(&self, buckets: &mut HashMap<IpAddr, Bucket>, now: Instant) {
        buckets.retain(|_, b| b.level(now, self.capacity, self.refill) < self.capacity);
        if buckets.len() < self.max_clients {
            return;
        }
        let oldest = buckets.iter().min_by_key(|(_, b)| b.at).map(|(ip, _)| *ip);
        if let Some(ip) = oldest {
            buckets.remove(&ip);
        }
    }
}

/// The key of a client: its IPv4 address, or the /64 prefix of an IPv6
/// address, since one IPv6 host usually owns a whole /64.
fn client(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limit(capacity: f64, refill: f64, max_clients: usize) -> RateLimit {
        RateLimit::new(&RateLimitConfig {
            capacity,
            refill_per_second: refill,
            max_clients,
        })
        .unwrap()
    }

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[test]
    fn bucket_allows_a_burst_then_refills() {
        let l = limit(3.0, 2.0, 10);
        let t0 = Instant::now();
        assert_eq!((0..3).filter_map(|_| l.take(ip(1), t0)).count(), 0);
        assert_eq!(l.take(ip(1), t0), Some(1));
        assert_eq!(
            l.take(ip(2), t0),
            None,
            "other clients have their own bucket"
        );
        assert_eq!(l.take(ip(1), t0 + Duration::from_millis(500)), None);
        assert_eq!(l.take(ip(1), t0 + Duration::from_millis(500)), Some(1));
        let slow = limit(1.0, 0.1, 10);
        assert_eq!(slow.take(ip(1), t0), None);
        assert_eq!(slow.take(ip(1), t0), Some(10));
    }

    #[test]
    fn tracked_clients_are_bounded() {
        let l = limit(2.0, 1.0, 4);
        let t0 = Instant::now();
        for n in 0..100 {
            l.take(ip(n), t0 + Duration::from_millis(u64::from(n)));
            assert!(l.buckets.lock().len() <= 4);
        }
        // The newest clients are the ones still tracked.
        assert!(l.buckets.lock().contains_key(&ip(99)));
        assert!(!l.buckets.lock().contains_key(&ip(0)));
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_prefix() {
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::ffff:2".parse().unwrap();
        assert_eq!(client(a), client(b));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(client(mapped), ip(1));
    }
}
