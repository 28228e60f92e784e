//! ARM's token-bucket throttling per subscription and operation kind (real time, not scaled):
//! reads 250 + 25/s, writes 200 + 10/s, deletes 200 + 10/s; the subscription-global buckets are
//! 15× larger. Every ARM answer carries `x-ms-ratelimit-remaining-subscription-*` headers.
//! Tests may shrink the buckets ([`ThrottleLimits`]) to make clients pace sooner.
//! Recovery Services routes are refused in Recovery Services' own shape ([`for_route`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use super::errors::ArmError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Reads,
    Writes,
    Deletes,
}

impl Kind {
    pub fn of(method: &str) -> Kind {
        match method {
            "GET" | "HEAD" => Kind::Reads,
            "DELETE" => Kind::Deletes,
            _ => Kind::Writes,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Kind::Reads => "reads",
            Kind::Writes => "writes",
            Kind::Deletes => "deletes",
        }
    }
    fn singular(self) -> &'static str {
        match self {
            Kind::Reads => "read",
            Kind::Writes => "write",
            Kind::Deletes => "delete",
        }
    }
}

/// One bucket: its size and refill rate per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketLimit {
    pub burst: f64,
    pub per_second: f64,
}

/// The sandbox's buckets (default: ARM's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThrottleLimits {
    pub reads: BucketLimit,
    pub writes: BucketLimit,
    pub deletes: BucketLimit,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        ThrottleLimits {
            reads: BucketLimit {
                burst: 250.0,
                per_second: 25.0,
            },
            writes: BucketLimit {
                burst: 200.0,
                per_second: 10.0,
            },
            deletes: BucketLimit {
                burst: 200.0,
                per_second: 10.0,
            },
        }
    }
}

impl ThrottleLimits {
    fn of(&self, kind: Kind) -> (f64, f64) {
        let b = match kind {
            Kind::Reads => self.reads,
            Kind::Writes => self.writes,
            Kind::Deletes => self.deletes,
        };
        (b.burst, b.per_second)
    }
}

const GLOBAL_FACTOR: f64 = 15.0;

struct Bucket {
    tokens: f64,
    global: f64,
    last: Instant,
}

#[derive(Default)]
pub struct Throttle {
    limits: ThrottleLimits,
    buckets: Mutex<HashMap<(String, Kind), Bucket>>,
}

impl Throttle {
    pub fn new(limits: ThrottleLimits) -> Throttle {
        Throttle {
            limits,
            buckets: Mutex::default(),
        }
    }

    /// Take one token; answer the headers to send, or the 429.
    pub fn take(
        &self,
        sub: &str,
        kind: Kind,
        time_scale: f64,
    ) -> Result<Vec<(String, String)>, ArmError> {
        let (cap, rate) = self.limits.of(kind);
        let Ok(mut map) = self.buckets.lock() else {
            return Ok(vec![]);
        };
        let now = Instant::now();
        let b = map
            .entry((sub.to_ascii_lowercase(), kind))
            .or_insert(Bucket {
                tokens: cap,
                global: cap * GLOBAL_FACTOR,
                last: now,
            });
        let dt = now.duration_since(b.last).as_secs_f64();
        b.last = now;
        b.tokens = (b.tokens + dt * rate).min(cap);
        b.global = (b.global + dt * rate * GLOBAL_FACTOR).min(cap * GLOBAL_FACTOR);
        let headers = |b: &Bucket| {
            vec![
                (
                    format!("x-ms-ratelimit-remaining-subscription-{}", kind.name()),
                    (b.tokens.floor() as i64).to_string(),
                ),
                (
                    format!(
                        "x-ms-ratelimit-remaining-subscription-global-{}",
                        kind.name()
                    ),
                    (b.global.floor() as i64).to_string(),
                ),
            ]
        };
        if b.tokens < 1.0 || b.global < 1.0 {
            let wait = ((1.0 - b.tokens.min(b.global)) / rate).max(0.0);
            let secs = wait.ceil().max(1.0) as u64;
            let mut e = ArmError::new(
                429,
                "SubscriptionRequestsThrottled",
                format!(
                    "Number of '{}' requests for subscription '{sub}' exceeded the limit of '{}' for time interval '00:00:01'. Please try again after '{secs}' seconds.",
                    kind.singular(),
                    cap as i64
                ),
            );
            e.headers.extend(headers(b));
            e.headers.push(("Retry-After".into(), secs.to_string()));
            // Throttling is real time: retry-after-ms is the real wait, not scaled.
            e.headers.push((
                "retry-after-ms".into(),
                ((wait * 1000.0).ceil().max(1.0) as i64).to_string(),
            ));
            let _ = time_scale;
            return Err(e);
        }
        b.tokens -= 1.0;
        b.global -= 1.0;
        Ok(headers(b))
    }
}

/// The 429 for this route. Recovery Services answers `ResourceRequestsThrottled` naming the
/// action, with **no** `Retry-After` (nor `retry-after-ms`) header and the wait only in the
/// message (FACTS §5; recording azure-cli CSR #103 L5467). Other providers keep ARM's answer.
pub fn for_route(mut e: ArmError, method: &str, lsegs: &[String]) -> ArmError {
    let Some(p) = lsegs.iter().position(|s| s == "microsoft.recoveryservices") else {
        return e;
    };
    if e.status != 429 {
        return e;
    }
    let types: Vec<&str> = lsegs[p + 1..]
        .iter()
        .step_by(2)
        .map(String::as_str)
        .collect();
    let verb = match Kind::of(method) {
        Kind::Reads => "read",
        Kind::Deletes => "delete",
        Kind::Writes if method == "POST" => "action",
        Kind::Writes => "write",
    };
    let action = format!("Microsoft.RecoveryServices/{}/{verb}", types.join("/"));
    let wait = e
        .message
        .rsplit_once("try again after '")
        .map(|(_, rest)| rest.split('\'').next().unwrap_or("1").to_string())
        .unwrap_or_else(|| "1".into());
    let limit = e
        .message
        .split_once("exceeded the limit of '")
        .map(|(_, rest)| rest.split('\'').next().unwrap_or("0").to_string())
        .unwrap_or_else(|| "0".into());
    e.code = "ResourceRequestsThrottled".into();
    e.message = format!(
        "Number of requests for action '{action}' exceeded the limit of '{limit}' for time interval '00:00:01'. Please try again after '{wait}' seconds."
    );
    e.headers.retain(|(k, _)| {
        !k.eq_ignore_ascii_case("retry-after") && !k.eq_ignore_ascii_case("retry-after-ms")
    });
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_empties() {
        let t = Throttle::default();
        for _ in 0..200 {
            t.take("s", Kind::Writes, 1.0).unwrap();
        }
        let e = t.take("s", Kind::Writes, 1.0).unwrap_err();
        assert_eq!(e.status, 429);
        assert_eq!(e.code, "SubscriptionRequestsThrottled");
        assert!(t.take("s", Kind::Reads, 1.0).is_ok());
    }

    #[test]
    fn smaller_buckets_for_tests() {
        let t = Throttle::new(ThrottleLimits {
            writes: BucketLimit {
                burst: 3.0,
                per_second: 10.0,
            },
            ..ThrottleLimits::default()
        });
        let h = t.take("s", Kind::Writes, 1.0).unwrap();
        assert!(h.contains(&(
            "x-ms-ratelimit-remaining-subscription-writes".into(),
            "2".into()
        )));
        t.take("s", Kind::Writes, 1.0).unwrap();
        t.take("s", Kind::Writes, 1.0).unwrap();
        let e = t.take("s", Kind::Writes, 1.0).unwrap_err();
        assert!(e.headers.contains(&("retry-after-ms".into(), "100".into())));
    }

    #[test]
    fn recovery_services_throttles_in_its_own_shape() {
        let t = Throttle::new(ThrottleLimits {
            reads: BucketLimit {
                burst: 1.0,
                per_second: 0.01,
            },
            ..ThrottleLimits::default()
        });
        t.take("s", Kind::Reads, 1.0).unwrap();
        let e = t.take("s", Kind::Reads, 1.0).unwrap_err();
        let path: Vec<String> = "subscriptions/s/resourcegroups/rg/providers/microsoft.recoveryservices/vaults/v/backupjobs/j"
            .split('/')
            .map(String::from)
            .collect();
        let e = for_route(e, "GET", &path);
        assert_eq!(e.status, 429);
        assert_eq!(e.code, "ResourceRequestsThrottled");
        assert_eq!(
            e.message,
            "Number of requests for action 'Microsoft.RecoveryServices/vaults/backupjobs/read' exceeded the limit of '1' for time interval '00:00:01'. Please try again after '100' seconds."
        );
        assert!(e
            .headers
            .iter()
            .all(|(k, _)| !k.to_ascii_lowercase().starts_with("retry-after")));
        assert!(e
            .headers
            .iter()
            .any(|(k, _)| k == "x-ms-ratelimit-remaining-subscription-reads"));
        // Other providers keep ARM's answer with its Retry-After.
        t.take("s", Kind::Reads, 1.0).map(|_| ()).unwrap_err();
        let compute: Vec<String> = [
            "subscriptions",
            "s",
            "providers",
            "microsoft.compute",
            "disks",
        ]
        .map(String::from)
        .to_vec();
        let e = for_route(t.take("s", Kind::Reads, 1.0).unwrap_err(), "GET", &compute);
        assert_eq!(e.code, "SubscriptionRequestsThrottled");
        assert!(e.headers.iter().any(|(k, _)| k == "Retry-After"));
    }
}
