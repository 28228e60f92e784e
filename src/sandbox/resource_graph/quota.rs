//! Resource Graph's own throttling, per user: a quota of queries per fixed window (default 15
//! per 5 seconds), told on every answer in `x-ms-user-quota-remaining` and
//! `x-ms-user-quota-resets-after` (`hh:mm:ss`); a query beyond it is answered 429.
//! Microsoft Learn, "Guidance for throttled requests in Azure Resource Graph"
//! (learn.microsoft.com/azure/governance/resource-graph/concepts/guidance-for-throttled-requests);
//! recorded answer: azure-cli-extensions/test_dataprotection_backup_instance_restore_disk.yaml
//! (`x-ms-user-quota-remaining: 14`, `x-ms-user-quota-resets-after: 00:00:05`).
//! The sandbox has one caller, so one quota. Real time, not scaled.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::sandbox::errors::ArmError;

/// The quota's numbers (`SandboxOptions::resource_graph_quota`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GraphQuota {
    /// Queries per window.
    pub queries: u32,
    pub window: Duration,
}

impl Default for GraphQuota {
    fn default() -> Self {
        GraphQuota {
            queries: 15,
            window: Duration::from_secs(5),
        }
    }
}

/// The running quota.
pub struct Quota {
    limits: GraphQuota,
    /// (window start, queries counted in it).
    window: Mutex<Option<(Instant, u32)>>,
}

/// `hh:mm:ss`, rounded up to whole seconds.
pub fn hms(d: Duration) -> String {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

impl Quota {
    pub fn new(limits: GraphQuota) -> Quota {
        Quota {
            limits,
            window: Mutex::new(None),
        }
    }

    /// Count one query at `now`: the headers to send, or the 429 (which carries them too).
    pub fn take(&self, now: Instant) -> Result<Vec<(String, String)>, ArmError> {
        let mut w = match self.window.lock() {
            Ok(w) => w,
            Err(p) => p.into_inner(),
        };
        let (start, used) = match *w {
            Some((start, used)) if now.duration_since(start) < self.limits.window => (start, used),
            _ => (now, 0),
        };
        let resets = self.limits.window.saturating_sub(now.duration_since(start));
        if used >= self.limits.queries {
            *w = Some((start, used));
            let message = "Please provide below info when asking for support: the sandbox's Resource Graph quota is spent.";
            let mut e = ArmError::new(429, "RateLimiting", message).with_details(vec![
                serde_json::json!({"code": "RateLimiting", "message": format!(
                    "Client application has been throttled and should not attempt to repeat the request until an amount of time has elapsed ({}). Please see https://aka.ms/resourcegraph-throttling for help.", hms(resets))}),
            ]);
            e.headers = headers(0, resets);
            return Err(e);
        }
        *w = Some((start, used + 1));
        Ok(headers(self.limits.queries - used - 1, resets))
    }
}

fn headers(remaining: u32, resets: Duration) -> Vec<(String, String)> {
    vec![
        ("x-ms-user-quota-remaining".into(), remaining.to_string()),
        ("x-ms-user-quota-resets-after".into(), hms(resets)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quota_counts_down_refuses_and_resets() {
        let q = Quota::new(GraphQuota {
            queries: 2,
            window: Duration::from_secs(5),
        });
        let t0 = Instant::now();
        let first = q.take(t0).unwrap();
        assert_eq!(first[0].1, "1");
        assert_eq!(first[1].1, "00:00:05");
        assert_eq!(q.take(t0 + Duration::from_millis(100)).unwrap()[0].1, "0");
        let e = q.take(t0 + Duration::from_millis(1500)).unwrap_err();
        assert_eq!(e.status, 429);
        assert_eq!(e.headers[1].1, "00:00:04");
        assert_eq!(q.take(t0 + Duration::from_secs(5)).unwrap()[0].1, "1");
        assert_eq!(hms(Duration::from_secs(3725)), "01:02:05");
    }
}
