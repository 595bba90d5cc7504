//! `rateLimit()`: a token bucket per client, refused with 429 in Rust
//! before routing, so an abusive client costs no crossing. Memory is
//! bounded by `maxClients`, and the bound cannot be used to reset a
//! limited client (issue #11): only a bucket that has refilled completely,
//! which holds nothing a new bucket would not, is ever forgotten. When
//! every tracked client is still refilling, a new client is refused with
//! 429 until the soonest bucket is full again.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::time::{Duration, Instant};

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
    /// Leading bits of an IPv6 address that name one client. Default is 64:
    /// one host (or one customer of a provider) usually owns a whole /64.
    #[serde(default = "default_ipv6_prefix")]
    ipv6_prefix: u8,
}

fn default_ipv6_prefix() -> u8 {
    64
}

/// One client's bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: Instant,
    /// When the bucket is full again (see [`RateLimit::nanos`]): its key
    /// in [`Table::by_full_at`].
    full_at: u64,
}

impl Bucket {
    /// Tokens the bucket holds at `now`.
    fn level(&self, now: Instant, capacity: f64, refill: f64) -> f64 {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        (self.tokens + elapsed * refill).min(capacity)
    }
}

/// The buckets of one server, indexed twice so that making room costs
/// O(log n) instead of a scan of every client per new address.
#[derive(Default)]
struct Table {
    buckets: HashMap<IpAddr, Bucket>,
    /// Every bucket by the time it is full again, soonest first. A bucket
    /// only ever moves later (each token taken adds `1 / refill`), so if
    /// the first entry is not full yet, no bucket is.
    by_full_at: BTreeSet<(u64, IpAddr)>,
}

impl Table {
    /// Forgets the bucket that refilled first if it is full at `now`;
    /// `false` when every bucket is still refilling.
    fn evict_full(&mut self, now: u64) -> bool {
        match self.by_full_at.first() {
            Some(&(full_at, key)) if full_at <= now => {
                self.by_full_at.remove(&(full_at, key));
                self.buckets.remove(&key);
                true
            }
            _ => false,
        }
    }
}

/// The checked settings and the table, behind one `Mutex`: the critical
/// section is a hash lookup, two ordered-set updates and a few floats.
pub(crate) struct RateLimit {
    capacity: f64,
    refill: f64,
    max_clients: usize,
    /// The bits of an IPv6 address kept in its key.
    ipv6_mask: u128,
    /// Time zero of `Bucket::full_at`.
    origin: Instant,
    table: Mutex<Table>,
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
        if !(1..=128).contains(&config.ipv6_prefix) {
            return Err("rateLimit: ipv6Prefix must be 1 to 128".into());
        }
        Ok(RateLimit {
            capacity: config.capacity,
            refill: config.refill_per_second,
            max_clients: config.max_clients,
            ipv6_mask: !u128::MAX
                .checked_shr(u32::from(config.ipv6_prefix))
                .unwrap_or(0),
            origin: Instant::now(),
            table: Mutex::new(Table::default()),
        })
    }

    /// Takes a token for `ip`, or answers 429 with `Retry-After`.
    pub(crate) fn check(&self, ip: IpAddr) -> Option<Response<Body>> {
        let wait = self.take(self.client(ip), Instant::now())?;
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
    /// token is back (at least 1). A new client finding the table full of
    /// buckets still refilling is refused until the soonest one is full,
    /// rather than evicting a limited client, which would reset it.
    fn take(&self, key: IpAddr, now: Instant) -> Option<u64> {
        let now_ns = self.nanos(now);
        let mut table = self.table.lock();
        let bucket = match table.buckets.get(&key) {
            Some(&bucket) => {
                table.by_full_at.remove(&(bucket.full_at, key));
                bucket
            }
            None => {
                if table.buckets.len() >= self.max_clients && !table.evict_full(now_ns) {
                    let soonest = table.by_full_at.first().map_or(now_ns, |&(at, _)| at);
                    return Some(whole_seconds(soonest.saturating_sub(now_ns)));
                }
                Bucket {
                    tokens: self.capacity,
                    at: now,
                    full_at: now_ns,
                }
            }
        };
        let level = bucket.level(now, self.capacity, self.refill);
        let (tokens, wait) = if level >= 1.0 {
            (level - 1.0, None)
        } else {
            let missing = (1.0 - level) / self.refill;
            (level, Some(missing.ceil().max(1.0) as u64))
        };
        // `as` saturates: a deficit beyond u64 nanoseconds is "never".
        let refilled = ((self.capacity - tokens) / self.refill * 1e9) as u64;
        let full_at = now_ns.saturating_add(refilled);
        table.buckets.insert(
            key,
            Bucket {
                tokens,
                at: now,
                full_at,
            },
        );
        table.by_full_at.insert((full_at, key));
        wait
    }

    /// `now` in nanoseconds since this limiter was made.
    fn nanos(&self, now: Instant) -> u64 {
        let since = now.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(since).unwrap_or(u64::MAX)
    }

    /// The key of a client: its IPv4 address (also when it arrives
    /// IPv4-mapped on a dual-stack socket), or the configured prefix of an
    /// IPv6 address, since rotating addresses within one's own /64 is free.
    fn client(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6((u128::from(v6) & self.ipv6_mask).into()),
            },
            v4 => v4,
        }
    }
}

/// Nanoseconds as whole seconds for `Retry-After`, rounded up, at least 1.
fn whole_seconds(nanos: u64) -> u64 {
    Duration::from_nanos(nanos).as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(capacity: f64, refill: f64, max_clients: usize) -> RateLimit {
        prefixed(capacity, refill, max_clients, 64)
    }

    fn prefixed(capacity: f64, refill: f64, max_clients: usize, ipv6_prefix: u8) -> RateLimit {
        RateLimit::new(&RateLimitConfig {
            capacity,
            refill_per_second: refill,
            max_clients,
            ipv6_prefix,
        })
        .unwrap()
    }

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    /// The two indexes of the table agree.
    fn consistent(l: &RateLimit) -> usize {
        let table = l.table.lock();
        assert_eq!(table.buckets.len(), table.by_full_at.len());
        for (key, bucket) in &table.buckets {
            assert!(table.by_full_at.contains(&(bucket.full_at, *key)));
        }
        table.buckets.len()
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
        consistent(&l);
    }

    #[test]
    fn a_limited_client_is_never_evicted_by_new_addresses() {
        let l = limit(2.0, 0.001, 4);
        let t0 = Instant::now();
        assert_eq!(l.take(ip(0), t0), None);
        assert_eq!(l.take(ip(0), t0), None);
        assert!(l.take(ip(0), t0).is_some());
        for n in 1..4 {
            assert_eq!(l.take(ip(n), t0), None, "room for {n}");
        }
        // The table is full of buckets that have not refilled: every new
        // address is refused, and told when the first one (ip 1, one token
        // short) will be full.
        for n in 4..200 {
            let later = t0 + Duration::from_millis(u64::from(n));
            assert_eq!(l.take(ip(n), later), Some(1000), "new client {n}");
        }
        assert_eq!(consistent(&l), 4);
        assert!(l.take(ip(0), t0 + Duration::from_secs(1)).is_some());
        assert_eq!(l.take(ip(1), t0 + Duration::from_secs(1)), None);
    }

    #[test]
    fn refilled_buckets_make_room_soonest_first() {
        let l = limit(1.0, 1.0, 2);
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        assert_eq!(l.take(ip(1), at(0)), None); // full again at 1000 ms
        assert_eq!(l.take(ip(2), at(500)), None); // full again at 1500 ms
        assert_eq!(l.take(ip(3), at(900)), Some(1), "nobody has refilled");
        assert_eq!(l.take(ip(3), at(1200)), None, "ip 1 has refilled");
        assert!(!l.table.lock().buckets.contains_key(&ip(1)));
        assert_eq!(l.take(ip(4), at(1200)), Some(1), "ip 2 is still refilling");
        assert_eq!(l.take(ip(4), at(1600)), None);
        assert!(!l.table.lock().buckets.contains_key(&ip(2)));
        assert_eq!(consistent(&l), 2);
    }

    #[test]
    fn tracked_clients_are_bounded() {
        let l = limit(2.0, 1000.0, 4);
        let t0 = Instant::now();
        for n in 0..100 {
            l.take(ip(n), t0 + Duration::from_millis(u64::from(n)));
            assert!(consistent(&l) <= 4);
        }
        // Each bucket refills within 1 ms, so the newest clients got in.
        assert!(l.table.lock().buckets.contains_key(&ip(99)));
        assert!(!l.table.lock().buckets.contains_key(&ip(0)));
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_prefix() {
        let key = |l: &RateLimit, text: &str| l.client(text.parse().unwrap());
        let l = limit(1.0, 1.0, 10);
        assert_eq!(key(&l, "2001:db8::1"), key(&l, "2001:db8::ffff:2"));
        assert_eq!(key(&l, "2001:db8:0:0:ffff::1"), key(&l, "2001:db8::1"));
        assert_ne!(key(&l, "2001:db8:0:1::1"), key(&l, "2001:db8::1"));
        assert_eq!(
            key(&l, "2001:db8::1"),
            "2001:db8::".parse::<IpAddr>().unwrap()
        );
        assert_eq!(key(&l, "::ffff:10.0.0.1"), ip(1));
        assert_eq!(key(&l, "10.0.0.1"), ip(1));
        let wide = prefixed(1.0, 1.0, 10, 56);
        assert_eq!(key(&wide, "2001:db8:0:ff::1"), key(&wide, "2001:db8::1"));
        assert_ne!(key(&wide, "2001:db8:0:100::1"), key(&wide, "2001:db8::1"));
        let exact = prefixed(1.0, 1.0, 10, 128);
        assert_ne!(key(&exact, "2001:db8::1"), key(&exact, "2001:db8::2"));
        // A whole /64 shares one bucket over the limiter itself, too.
        let t0 = Instant::now();
        assert_eq!(l.take(key(&l, "2001:db8::1"), t0), None);
        assert!(l.take(key(&l, "2001:db8::2"), t0).is_some());
        for bad in [0, 129] {
            let config = RateLimitConfig {
                capacity: 1.0,
                refill_per_second: 1.0,
                max_clients: 1,
                ipv6_prefix: bad,
            };
            assert!(RateLimit::new(&config).is_err(), "{bad}");
        }
    }
}
