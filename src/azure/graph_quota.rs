//! Pure pacing decisions for Azure Resource Graph's per-user quota (Microsoft Learn, "Guidance
//! for throttled requests in Azure Resource Graph",
//! learn.microsoft.com/azure/governance/resource-graph/concepts/guidance-for-throttled-requests):
//! every answer says how many queries are left (`x-ms-user-quota-remaining`) and when the window
//! resets (`x-ms-user-quota-resets-after`, `hh:mm:ss`). A client that waits for the reset once
//! nothing is left never meets a 429. The caller sleeps; nothing here reads a clock.

use reqwest::header::HeaderMap;
use std::time::Duration;

/// What one answer said about the quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaReading {
    pub remaining: u32,
    pub resets_after: Duration,
}

/// `hh:mm:ss` (also `d.hh:mm:ss`) → a duration.
pub fn parse_hms(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (days, rest) = match s.split_once('.') {
        Some((d, r)) if !d.contains(':') => (d.parse::<u64>().ok()?, r),
        _ => (0, s),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let [h, m, sec] = parts.as_slice() else {
        return None;
    };
    let secs: f64 = sec.parse().ok()?;
    if !(0.0..60.0).contains(&secs) {
        return None;
    }
    let whole = days * 86_400 + h.parse::<u64>().ok()? * 3600 + m.parse::<u64>().ok()? * 60;
    Some(Duration::from_secs(whole) + Duration::from_secs_f64(secs))
}

/// The quota headers of an answer (`None` when it has none: a server without the quota).
pub fn reading(headers: &HeaderMap) -> Option<QuotaReading> {
    let get = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    Some(QuotaReading {
        remaining: get("x-ms-user-quota-remaining")?.trim().parse().ok()?,
        resets_after: parse_hms(get("x-ms-user-quota-resets-after")?)?,
    })
}

/// What to do before sending another query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    Go,
    /// The quota is spent: wait this long (until the window resets, plus a margin).
    Wait(Duration),
    /// Nothing is known of the current window: wait for an answer in flight to tell.
    AwaitAnswer,
}

/// The decision before a query, `since` after the answer that gave `reading`, with
/// `uncounted` queries the reading cannot have counted (those sent since it arrived, and those
/// already in flight when it did: they may have reached Resource Graph after the answered one,
/// and counting them errs on the side of waiting) and `in_flight` queries not yet answered.
/// With no reading, or once its window has reset, one query at a time goes to learn the new
/// window.
pub fn decide(
    reading: Option<QuotaReading>,
    since: Duration,
    uncounted: u32,
    in_flight: u32,
) -> Pace {
    const MARGIN: Duration = Duration::from_millis(50);
    match reading {
        Some(r) if since < r.resets_after => {
            if uncounted < r.remaining {
                Pace::Go
            } else {
                Pace::Wait((r.resets_after + MARGIN).saturating_sub(since))
            }
        }
        _ if in_flight == 0 => Pace::Go,
        _ => Pace::AwaitAnswer,
    }
}

/// Whether a new answer's reading replaces the one held (`age` old): answers arrive out of
/// order, so within the held reading's window a higher `remaining` is an older answer's and is
/// ignored.
pub fn replaces(held: Option<(QuotaReading, Duration)>, new: QuotaReading) -> bool {
    match held {
        Some((h, age)) if age < h.resets_after => new.remaining <= h.remaining,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(remaining: &str, resets: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-ms-user-quota-remaining", remaining.parse().unwrap());
        h.insert("x-ms-user-quota-resets-after", resets.parse().unwrap());
        h
    }

    #[test]
    fn the_recorded_headers_read_as_fourteen_left_for_five_seconds() {
        // Recording: azure-cli-extensions/test_dataprotection_backup_instance_restore_disk.yaml.
        let r = reading(&headers("14", "00:00:05")).unwrap();
        assert_eq!(r.remaining, 14);
        assert_eq!(r.resets_after, Duration::from_secs(5));
        assert_eq!(
            parse_hms("1.01:00:02.5"),
            Some(Duration::from_secs_f64(90_002.5))
        );
        assert_eq!(parse_hms("00:61"), None);
        assert_eq!(parse_hms("00:00:75"), None);
        assert!(reading(&HeaderMap::new()).is_none());
        assert!(reading(&headers("x", "00:00:05")).is_none());
    }

    #[test]
    fn a_spent_quota_waits_for_its_reset_and_a_live_one_does_not() {
        let r = |remaining| {
            Some(QuotaReading {
                remaining,
                resets_after: Duration::from_secs(3),
            })
        };
        let one = Duration::from_secs(1);
        assert_eq!(
            decide(r(0), one, 0, 0),
            Pace::Wait(Duration::from_millis(2050))
        );
        assert_eq!(decide(r(2), Duration::ZERO, 0, 0), Pace::Go);
        // One query not counted, in flight: one of the two left is still ours to send.
        assert_eq!(decide(r(2), Duration::ZERO, 1, 1), Pace::Go);
        assert_eq!(
            decide(r(2), Duration::ZERO, 2, 2),
            Pace::Wait(Duration::from_millis(3050))
        );
        // Once the window has reset, or before anything is known: one query learns the quota.
        assert_eq!(decide(r(0), Duration::from_secs(4), 5, 0), Pace::Go);
        assert_eq!(
            decide(r(0), Duration::from_secs(4), 5, 1),
            Pace::AwaitAnswer
        );
        assert_eq!(decide(None, Duration::ZERO, 0, 0), Pace::Go);
        assert_eq!(decide(None, Duration::ZERO, 0, 1), Pace::AwaitAnswer);
    }

    #[test]
    fn an_older_answer_arriving_late_does_not_raise_the_quota() {
        let r = |remaining| QuotaReading {
            remaining,
            resets_after: Duration::from_secs(3),
        };
        assert!(replaces(None, r(9)));
        assert!(!replaces(Some((r(0), Duration::from_secs(1))), r(1)));
        assert!(replaces(Some((r(1), Duration::from_secs(1))), r(0)));
        assert!(
            replaces(Some((r(0), Duration::from_secs(3))), r(14)),
            "a new window"
        );
    }
}
