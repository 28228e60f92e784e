//! Client-side ARM rate limiter: pure token-bucket decisions with an injected clock. The client
//! ([`super::ArmClient`]) asks [`RateLimiter::acquire`] before every ARM request (LRO polls and
//! retries included; token requests go to Entra ID and are not counted), sleeps the returned
//! wait outside the lock, and reports every answer to [`RateLimiter::observe`].
//!
//! The model mirrors ARM's regional token buckets (`azure-behaviour.md` §2): per subscription and
//! per service principal, one bucket per operation kind — reads 250 + 25/s, writes 200 + 10/s,
//! deletes 200 + 10/s — plus the subscription-global bucket every principal shares, 15× larger.
//! A request must find a token in both. Requests whose path has no `/subscriptions/{id}` prefix
//! count against a tenant bucket with the same numbers.
//!
//! Corrections from the server:
//! - `x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}`,
//!   `…-subscription-global-{…}` and `…-tenant-{…}` say how many tokens the server's bucket held
//!   when it answered. Other principals (and other runs) spend the same buckets, so the local
//!   count is lowered to `remaining − (requests still in flight)`: those may not have been counted
//!   yet. It is never raised from a header (answers arrive out of order; refill alone raises it).
//! - A 429 blocks the bucket until its `Retry-After` has passed (ARM does not process requests
//!   sent before then), unless the remaining headers show tokens left in every bucket — then the
//!   429 was not the buckets' (e.g. a per-resource conflict) and only that request waits, in the
//!   retry table.
//!
//! - A bucket whose answers carry no remaining header at all (a sandbox without `--throttle`, a
//!   private cloud without ARM's throttling) has no server bucket to mirror: after the first
//!   answer without headers it admits at once, until a header shows up again. Real ARM sends
//!   the headers on every answer, so there the buckets always pace.
//!
//! Waits are computed, not polled: `acquire` answers how long until the next token exists, so a
//! waiter sleeps once in the common case. The state is one small map behind the client's mutex,
//! held only for this arithmetic (no I/O, no await).

use crate::request::Method;
use reqwest::header::HeaderMap;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// ARM's operation kinds, each with its own bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    Reads,
    Writes,
    Deletes,
}

impl OpKind {
    /// GET counts as a read, DELETE as a delete, PUT / PATCH / POST as writes.
    pub fn of(method: Method) -> OpKind {
        match method {
            Method::Get => OpKind::Reads,
            Method::Delete => OpKind::Deletes,
            Method::Put | Method::Patch | Method::Post => OpKind::Writes,
        }
    }

    /// The header suffix: `reads`, `writes`, `deletes`.
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Reads => "reads",
            OpKind::Writes => "writes",
            OpKind::Deletes => "deletes",
        }
    }
}

/// Whom a request is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Calls outside any subscription (`/providers/…`, `/subscriptions` itself).
    Tenant,
    /// The subscription id, lower case.
    Subscription(String),
}

/// One bucket pair (principal + global) of the limiter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BucketKey {
    pub scope: Scope,
    pub kind: OpKind,
}

impl BucketKey {
    /// The bucket a request to `path` (no host; the query is ignored) is counted against: the
    /// `/subscriptions/{id}` prefix (any case), else the tenant.
    pub fn for_request(method: Method, path: &str) -> BucketKey {
        let path = path.split('?').next().unwrap_or_default();
        let mut segs = path.split('/').filter(|s| !s.is_empty());
        let scope = match (segs.next(), segs.next()) {
            (Some(first), Some(id)) if first.eq_ignore_ascii_case("subscriptions") => {
                Scope::Subscription(id.to_ascii_lowercase())
            }
            _ => Scope::Tenant,
        };
        // A Resource Graph query is a POST that reads (Resource Graph paces it with its own
        // quota, `graph_quota`): it takes nothing from the tenant's writes.
        let query = path
            .to_ascii_lowercase()
            .starts_with("/providers/microsoft.resourcegraph/resources");
        BucketKey {
            scope,
            kind: match query {
                true => OpKind::Reads,
                false => OpKind::of(method),
            },
        }
    }
}

impl std::fmt::Display for BucketKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.scope {
            Scope::Tenant => write!(f, "tenant {}", self.kind.as_str()),
            Scope::Subscription(s) => write!(f, "subscription {s} {}", self.kind.as_str()),
        }
    }
}

/// One bucket's size and refill rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// Tokens a full bucket holds (the burst).
    pub burst: f64,
    /// Tokens added per second.
    pub per_second: f64,
}

/// The limits the limiter assumes (ARM's by default).
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimits {
    /// `false` turns the limiter off (every request admitted at once; headers still observed).
    pub enabled: bool,
    pub reads: Limit,
    pub writes: Limit,
    pub deletes: Limit,
    /// Size of the subscription-global buckets relative to the per-principal ones.
    pub global_factor: f64,
}

impl Default for RateLimits {
    /// ARM's regional buckets: reads 250 + 25/s, writes and deletes 200 + 10/s, global 15×.
    fn default() -> Self {
        RateLimits {
            enabled: true,
            reads: Limit {
                burst: 250.0,
                per_second: 25.0,
            },
            writes: Limit {
                burst: 200.0,
                per_second: 10.0,
            },
            deletes: Limit {
                burst: 200.0,
                per_second: 10.0,
            },
            global_factor: 15.0,
        }
    }
}

impl RateLimits {
    /// No client-side limiting.
    pub fn off() -> Self {
        RateLimits {
            enabled: false,
            ..Default::default()
        }
    }

    fn of(&self, kind: OpKind) -> Limit {
        match kind {
            OpKind::Reads => self.reads,
            OpKind::Writes => self.writes,
            OpKind::Deletes => self.deletes,
        }
    }
}

/// What an answer's headers say about the buckets (`None`: not sent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Remaining {
    /// This principal's bucket (`x-ms-ratelimit-remaining-subscription-{kind}` or `-tenant-`).
    pub principal: Option<u64>,
    /// The subscription-global bucket (`x-ms-ratelimit-remaining-subscription-global-{kind}`).
    pub global: Option<u64>,
}

impl Remaining {
    /// Read the headers that belong to `key` (the kind and scope of the request answered).
    pub fn from_headers(headers: &HeaderMap, key: &BucketKey) -> Remaining {
        let num = |name: String| {
            headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite())
                .map(|v| v.max(0.0) as u64)
        };
        let kind = key.kind.as_str();
        match key.scope {
            Scope::Subscription(_) => Remaining {
                principal: num(format!("x-ms-ratelimit-remaining-subscription-{kind}")),
                global: num(format!(
                    "x-ms-ratelimit-remaining-subscription-global-{kind}"
                )),
            },
            Scope::Tenant => Remaining {
                principal: num(format!("x-ms-ratelimit-remaining-tenant-{kind}")),
                global: None,
            },
        }
    }
}

#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    limit: Limit,
}

impl Bucket {
    fn full(limit: Limit) -> Bucket {
        Bucket {
            tokens: limit.burst,
            limit,
        }
    }
    fn refill(&mut self, secs: f64) {
        self.tokens = (self.tokens + secs * self.limit.per_second).min(self.limit.burst);
    }
    /// Time until one whole token exists.
    fn wait(&self) -> f64 {
        if self.tokens >= 1.0 {
            0.0
        } else {
            (1.0 - self.tokens) / self.limit.per_second.max(1e-9)
        }
    }
    fn lower_to(&mut self, server: f64) {
        // Never below one burst of debt: a bogus header must not stall the client for ages.
        self.tokens = self.tokens.min(server.max(-self.limit.burst));
    }
}

#[derive(Debug, Clone)]
struct Pair {
    principal: Bucket,
    global: Bucket,
    last: Instant,
    /// Admitted requests not answered yet.
    in_flight: u32,
    /// A 429's `Retry-After`: nothing is admitted before this.
    blocked_until: Option<Instant>,
    /// `Some(false)` once answers came back without any remaining header (and none with one).
    metered: Option<bool>,
}

impl Pair {
    fn refill(&mut self, now: Instant) {
        let secs = now.saturating_duration_since(self.last).as_secs_f64();
        if secs > 0.0 {
            self.principal.refill(secs);
            self.global.refill(secs);
            self.last = now;
        }
    }
}

/// Counters for logs and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimiterStats {
    /// Requests admitted.
    pub admitted: u64,
    /// `acquire` calls answered with a wait.
    pub waits: u64,
    /// Header corrections that lowered a bucket.
    pub corrections: u64,
    /// 429s that blocked a bucket.
    pub throttled: u64,
}

/// The token buckets of one client. Pure: every call takes `now`.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    limits: RateLimits,
    buckets: HashMap<BucketKey, Pair>,
    stats: LimiterStats,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> RateLimiter {
        RateLimiter {
            limits,
            buckets: HashMap::new(),
            stats: LimiterStats::default(),
        }
    }

    pub fn stats(&self) -> LimiterStats {
        self.stats
    }

    fn pair(&mut self, key: &BucketKey, now: Instant) -> &mut Pair {
        if !self.buckets.contains_key(key) {
            let limit = self.limits.of(key.kind);
            let global = Limit {
                burst: limit.burst * self.limits.global_factor,
                per_second: limit.per_second * self.limits.global_factor,
            };
            self.buckets.insert(
                key.clone(),
                Pair {
                    principal: Bucket::full(limit),
                    global: Bucket::full(global),
                    last: now,
                    in_flight: 0,
                    blocked_until: None,
                    metered: None,
                },
            );
        }
        let pair = self.buckets.get_mut(key).expect("inserted above");
        pair.refill(now);
        pair
    }

    /// Take a token for one request to `key` at `now`, or say how long to wait before asking
    /// again. An admitted request must be answered with [`observe`](Self::observe).
    pub fn acquire(&mut self, key: &BucketKey, now: Instant) -> Result<(), Duration> {
        if !self.limits.enabled {
            return Ok(());
        }
        let pair = self.pair(key, now);
        if pair.metered == Some(false) && pair.blocked_until.is_none() {
            self.stats.admitted += 1;
            return Ok(());
        }
        if let Some(until) = pair.blocked_until {
            if until > now {
                let wait = until - now;
                self.stats.waits += 1;
                return Err(wait);
            }
            pair.blocked_until = None;
        }
        let wait = pair.principal.wait().max(pair.global.wait());
        if wait > 0.0 {
            self.stats.waits += 1;
            // Round up to whole microseconds so that the token exists when the waiter wakes.
            return Err(Duration::from_micros((wait * 1e6).ceil() as u64).max(MIN_WAIT));
        }
        pair.principal.tokens -= 1.0;
        pair.global.tokens -= 1.0;
        pair.in_flight += 1;
        self.stats.admitted += 1;
        Ok(())
    }

    /// An admitted request to `key` was answered (any status; `Remaining::default()` when the
    /// answer carried no remaining headers): lower the buckets to what the server reports,
    /// minus the requests still in flight.
    pub fn observe(&mut self, key: &BucketKey, remaining: Remaining, now: Instant) {
        if !self.limits.enabled {
            return;
        }
        let pair = self.pair(key, now);
        pair.in_flight = pair.in_flight.saturating_sub(1);
        if remaining == Remaining::default() {
            if pair.metered.is_none() {
                pair.metered = Some(false);
            }
        } else {
            pair.metered = Some(true);
        }
        let others = f64::from(pair.in_flight);
        let before = (pair.principal.tokens, pair.global.tokens);
        if let Some(r) = remaining.principal {
            pair.principal.lower_to(r as f64 - others);
        }
        if let Some(r) = remaining.global {
            pair.global.lower_to(r as f64 - others);
        }
        if (pair.principal.tokens, pair.global.tokens) != before {
            self.stats.corrections += 1;
        }
    }

    /// An admitted request to `key` got no answer (connection failure, timeout).
    pub fn abandon(&mut self, key: &BucketKey) {
        if let Some(pair) = self.buckets.get_mut(key) {
            pair.in_flight = pair.in_flight.saturating_sub(1);
        }
    }

    /// The answer to a request to `key` was a 429 (already passed to [`observe`](Self::observe)).
    /// Unless `remaining` shows tokens left in every bucket it reports, nothing more is admitted
    /// to this bucket until
    /// `retry_after` (default: one token's refill time) has passed.
    pub fn throttled(
        &mut self,
        key: &BucketKey,
        remaining: Remaining,
        retry_after: Option<Duration>,
        now: Instant,
    ) {
        if !self.limits.enabled {
            return;
        }
        let reported: Vec<u64> = [remaining.principal, remaining.global]
            .into_iter()
            .flatten()
            .collect();
        if !reported.is_empty() && reported.iter().all(|r| *r >= 1) {
            return;
        }
        let limit = self.limits.of(key.kind);
        let pair = self.pair(key, now);
        let wait = retry_after
            .unwrap_or_else(|| Duration::from_secs_f64(1.0 / limit.per_second.max(1e-9)));
        let until = now + wait;
        pair.blocked_until = Some(pair.blocked_until.map_or(until, |u| u.max(until)));
        pair.principal.tokens = pair.principal.tokens.min(0.0);
        self.stats.throttled += 1;
    }
}

/// Shortest wait `acquire` answers (keeps sleepers from spinning on float rounding).
const MIN_WAIT: Duration = Duration::from_micros(100);

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "/subscriptions/00000000-0000-0000-0000-0000000000AA";

    fn key(kind: OpKind) -> BucketKey {
        BucketKey {
            scope: Scope::Subscription("00000000-0000-0000-0000-0000000000aa".into()),
            kind,
        }
    }

    fn small(burst: f64, per_second: f64) -> RateLimits {
        let l = Limit { burst, per_second };
        RateLimits {
            enabled: true,
            reads: l,
            writes: l,
            deletes: l,
            global_factor: 15.0,
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// An answer whose header reports `n` left (more than the local count: no correction).
    fn arm(n: u64) -> Remaining {
        Remaining {
            principal: Some(n),
            global: None,
        }
    }

    #[test]
    fn keys_follow_the_subscription_prefix_and_method() {
        let k = BucketKey::for_request(Method::Put, &format!("{SUB}/resourceGroups/rg?x=1"));
        assert_eq!(k, key(OpKind::Writes));
        // Recovery Services polling URLs spell it `/Subscriptions/`.
        let k = BucketKey::for_request(
            Method::Get,
            "/Subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/rg/x",
        );
        assert_eq!(k, key(OpKind::Reads));
        assert_eq!(
            BucketKey::for_request(Method::Delete, &format!("{SUB}/x")).kind,
            OpKind::Deletes
        );
        assert_eq!(
            BucketKey::for_request(Method::Post, &format!("{SUB}/x/refresh")).kind,
            OpKind::Writes
        );
        assert_eq!(
            BucketKey::for_request(Method::Patch, &format!("{SUB}/x")).kind,
            OpKind::Writes
        );
        assert_eq!(
            BucketKey::for_request(
                Method::Post,
                "/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01"
            ),
            BucketKey {
                scope: Scope::Tenant,
                kind: OpKind::Reads
            },
            "a Resource Graph query reads"
        );
        for tenant in [
            "/providers/Microsoft.Authorization/roleDefinitions",
            "/subscriptions",
            "/subscriptions?api-version=2022-12-01",
            "/",
        ] {
            assert_eq!(
                BucketKey::for_request(Method::Get, tenant).scope,
                Scope::Tenant,
                "{tenant}"
            );
        }
    }

    #[test]
    fn arm_defaults_match_the_documented_buckets() {
        let l = RateLimits::default();
        assert_eq!((l.reads.burst, l.reads.per_second), (250.0, 25.0));
        assert_eq!((l.writes.burst, l.writes.per_second), (200.0, 10.0));
        assert_eq!((l.deletes.burst, l.deletes.per_second), (200.0, 10.0));
        assert_eq!(l.global_factor, 15.0);
    }

    #[test]
    fn burst_then_refill_rate() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(RateLimits::default());
        let w = key(OpKind::Writes);
        for _ in 0..200 {
            rl.acquire(&w, t0).unwrap();
            rl.observe(&w, arm(199), t0);
        }
        // The 201st write waits one refill interval (10/s → 100 ms).
        assert_eq!(rl.acquire(&w, t0), Err(ms(100)));
        assert_eq!(rl.acquire(&w, t0 + ms(50)), Err(ms(50)));
        assert_eq!(rl.acquire(&w, t0 + ms(100)), Ok(()));
        assert!(rl.acquire(&w, t0 + ms(100)).is_err());
        // One second later: ten more, not eleven.
        let t1 = t0 + ms(1100);
        for _ in 0..10 {
            rl.acquire(&w, t1).unwrap();
        }
        assert!(rl.acquire(&w, t1).is_err());
        // Reads and deletes have buckets of their own.
        assert!(rl.acquire(&key(OpKind::Reads), t1).is_ok());
        assert!(rl.acquire(&key(OpKind::Deletes), t1).is_ok());
        let s = rl.stats();
        assert_eq!(s.admitted, 200 + 1 + 10 + 2);
        assert_eq!(s.waits, 4);
    }

    #[test]
    fn refill_stops_at_the_burst() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(small(5.0, 10.0));
        let r = key(OpKind::Reads);
        // An hour idle still allows only one burst.
        let t1 = t0 + Duration::from_secs(3600);
        rl.acquire(&r, t0).unwrap();
        for _ in 0..5 {
            rl.acquire(&r, t1).unwrap();
        }
        assert!(rl.acquire(&r, t1).is_err());
    }

    #[test]
    fn subscriptions_and_tenant_are_separate() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(small(1.0, 1.0));
        let a = BucketKey::for_request(Method::Get, "/subscriptions/A/x");
        let a2 = BucketKey::for_request(Method::Get, "/subscriptions/a/y");
        let b = BucketKey::for_request(Method::Get, "/subscriptions/b/x");
        let t = BucketKey::for_request(Method::Get, "/providers/x");
        assert!(rl.acquire(&a, t0).is_ok());
        assert!(rl.acquire(&a2, t0).is_err(), "same subscription, any case");
        assert!(rl.acquire(&b, t0).is_ok());
        assert!(rl.acquire(&t, t0).is_ok());
    }

    #[test]
    fn headers_lower_the_bucket_minus_requests_in_flight() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(RateLimits::default());
        let w = key(OpKind::Writes);
        // Three requests in flight; the first answer says the server has 20 left (another
        // principal has been busy). Two others may not be counted yet: 18.
        for _ in 0..3 {
            rl.acquire(&w, t0).unwrap();
        }
        rl.observe(
            &w,
            Remaining {
                principal: Some(20),
                global: None,
            },
            t0,
        );
        let mut admitted = 0;
        while rl.acquire(&w, t0).is_ok() {
            admitted += 1;
        }
        assert_eq!(admitted, 18);
        assert_eq!(rl.stats().corrections, 1);
        // A header above the local count never raises it.
        rl.observe(
            &w,
            Remaining {
                principal: Some(150),
                global: Some(2900),
            },
            t0,
        );
        assert!(rl.acquire(&w, t0).is_err());
        // Refill raises it at the documented rate.
        assert!(rl.acquire(&w, t0 + ms(100)).is_ok());
    }

    #[test]
    fn the_global_bucket_binds_too() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(RateLimits::default());
        let r = key(OpKind::Reads);
        rl.acquire(&r, t0).unwrap();
        // Other principals have nearly drained the subscription-global bucket.
        rl.observe(
            &r,
            Remaining {
                principal: Some(249),
                global: Some(3),
            },
            t0,
        );
        for _ in 0..3 {
            rl.acquire(&r, t0).unwrap();
        }
        // Global refill: 25 × 15 = 375/s → one token in 1/375 s.
        let wait = rl.acquire(&r, t0).unwrap_err();
        assert_eq!(wait, Duration::from_micros(2667));
        assert!(rl.acquire(&r, t0 + wait).is_ok());
    }

    #[test]
    fn remaining_headers_by_scope_and_kind() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("x-ms-ratelimit-remaining-subscription-reads", "249"),
            ("x-ms-ratelimit-remaining-subscription-global-reads", "3749"),
            ("x-ms-ratelimit-remaining-subscription-writes", "199"),
            ("x-ms-ratelimit-remaining-tenant-reads", "11999"),
            ("x-ms-ratelimit-remaining-subscription-deletes", "junk"),
        ] {
            h.insert(k, v.parse().unwrap());
        }
        assert_eq!(
            Remaining::from_headers(&h, &key(OpKind::Reads)),
            Remaining {
                principal: Some(249),
                global: Some(3749)
            }
        );
        assert_eq!(
            Remaining::from_headers(&h, &key(OpKind::Writes)),
            Remaining {
                principal: Some(199),
                global: None
            }
        );
        assert_eq!(
            Remaining::from_headers(&h, &key(OpKind::Deletes)),
            Remaining::default()
        );
        let tenant = BucketKey::for_request(Method::Get, "/providers/x");
        assert_eq!(
            Remaining::from_headers(&h, &tenant),
            Remaining {
                principal: Some(11999),
                global: None
            }
        );
    }

    #[test]
    fn a_429_blocks_the_bucket_until_retry_after() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(RateLimits::default());
        let w = key(OpKind::Writes);
        rl.acquire(&w, t0).unwrap();
        let zero = Remaining {
            principal: Some(0),
            global: Some(2000),
        };
        rl.observe(&w, zero, t0);
        rl.throttled(&w, zero, Some(Duration::from_secs(3)), t0);
        assert_eq!(rl.acquire(&w, t0 + ms(1000)), Err(ms(2000)));
        // A later, shorter Retry-After does not shorten the block.
        rl.throttled(&w, zero, Some(ms(10)), t0 + ms(1000));
        assert!(rl.acquire(&w, t0 + ms(2999)).is_err());
        // After the block, tokens refilled during it are there (30 in 3 s).
        assert!(rl.acquire(&w, t0 + ms(3000)).is_ok());
        assert_eq!(rl.stats().throttled, 2);
        // Reads are not blocked by a writes 429.
        assert!(rl.acquire(&key(OpKind::Reads), t0).is_ok());
    }

    #[test]
    fn a_429_with_tokens_left_is_not_the_buckets() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(RateLimits::default());
        let w = key(OpKind::Writes);
        rl.acquire(&w, t0).unwrap();
        let left = Remaining {
            principal: Some(150),
            global: None,
        };
        rl.observe(&w, left, t0);
        rl.throttled(&w, left, Some(Duration::from_secs(30)), t0);
        assert!(rl.acquire(&w, t0).is_ok());
        // Without any header, the 429 is assumed to be the bucket's; default wait = 1 token.
        rl.acquire(&w, t0).unwrap();
        rl.observe(&w, Remaining::default(), t0);
        rl.throttled(&w, Remaining::default(), None, t0);
        assert_eq!(rl.acquire(&w, t0), Err(ms(100)));
    }

    #[test]
    fn a_server_without_headers_is_not_paced() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(small(2.0, 1.0));
        let r = key(OpKind::Reads);
        // Before any answer the bucket paces (the first burst of a run against real ARM).
        rl.acquire(&r, t0).unwrap();
        rl.acquire(&r, t0).unwrap();
        assert!(rl.acquire(&r, t0).is_err());
        // Answers without any remaining header: nothing to mirror, admit at once.
        rl.observe(&r, Remaining::default(), t0);
        for _ in 0..100 {
            rl.acquire(&r, t0).unwrap();
        }
        // A header shows up (the bucket has refilled to 2 meanwhile): pacing resumes from what
        // it says, and stays on.
        let t1 = t0 + Duration::from_secs(5);
        rl.observe(&r, arm(1), t1);
        rl.acquire(&r, t1).unwrap();
        assert!(rl.acquire(&r, t1).is_err());
        rl.observe(&r, Remaining::default(), t1);
        assert!(rl.acquire(&r, t1).is_err());
        // More observations than requests (a caller bug) do not underflow.
        for _ in 0..300 {
            rl.observe(&r, Remaining::default(), t0);
            rl.abandon(&r);
        }
    }

    #[test]
    fn a_failed_connection_is_not_an_answer_without_headers() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(small(1.0, 1.0));
        let r = key(OpKind::Reads);
        rl.acquire(&r, t0).unwrap();
        rl.abandon(&r);
        assert!(rl.acquire(&r, t0).is_err(), "still paced");
    }

    #[test]
    fn a_429_paces_even_a_server_without_headers() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(RateLimits::default());
        let w = key(OpKind::Writes);
        rl.acquire(&w, t0).unwrap();
        rl.observe(&w, Remaining::default(), t0);
        rl.acquire(&w, t0).unwrap();
        rl.observe(&w, Remaining::default(), t0);
        rl.throttled(&w, Remaining::default(), Some(ms(500)), t0);
        assert_eq!(rl.acquire(&w, t0), Err(ms(500)));
        assert!(rl.acquire(&w, t0 + ms(500)).is_ok());
    }

    #[test]
    fn off_admits_everything() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(RateLimits::off());
        let w = key(OpKind::Writes);
        for _ in 0..10_000 {
            rl.acquire(&w, t0).unwrap();
        }
        rl.throttled(&w, Remaining::default(), Some(Duration::from_secs(60)), t0);
        assert!(rl.acquire(&w, t0).is_ok());
    }

    #[test]
    fn paced_load_never_exceeds_the_server_bucket() {
        // Simulate a server bucket of 50 + 10/s against a client that assumes ARM's 200 + 10/s
        // and learns from headers: 8 requests in flight, each answered 30 ms after it is sent.
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(RateLimits::default());
        let w = key(OpKind::Writes);
        let (burst, rate) = (50.0f64, 10.0f64);
        let mut server = burst;
        let mut server_last = t0;
        let mut now = t0;
        let mut flights: Vec<Instant> = Vec::new();
        let (mut sent, mut rejected) = (0, 0);
        while sent < 200 {
            // Answer flights that are due (server counted them when they arrived: at send).
            flights.sort();
            while flights.first().is_some_and(|t| *t <= now) {
                flights.remove(0);
                rl.observe(
                    &w,
                    Remaining {
                        principal: Some(server.floor().max(0.0) as u64),
                        global: None,
                    },
                    now,
                );
            }
            if flights.len() < 8 {
                match rl.acquire(&w, now) {
                    Ok(()) => {
                        server = (server + now.duration_since(server_last).as_secs_f64() * rate)
                            .min(burst);
                        server_last = now;
                        if server < 1.0 {
                            rejected += 1;
                        } else {
                            server -= 1.0;
                        }
                        sent += 1;
                        flights.push(now + ms(30));
                        continue;
                    }
                    Err(d) => now += d.min(ms(5)),
                }
            } else {
                now += ms(1);
            }
        }
        assert_eq!(rejected, 0);
        // 200 writes through a 50 + 10/s bucket take at least 15 s.
        assert!(
            now.duration_since(t0) >= Duration::from_secs(14),
            "{:?}",
            now - t0
        );
    }
}
