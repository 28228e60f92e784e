//! Pure retry decisions: given what happened (a status + headers, or a transport failure), the
//! attempt number, the time spent so far, "now" and an injected jitter, decide whether to retry
//! and after how long. The caller sleeps; nothing here does I/O or reads a clock.
//!
//! Semantics:
//! - Retried statuses: 408, 429, 500, 502, 503, 504; transport failures: a refused connection
//!   (the request never left) a few times only ([`RetryPolicy::max_connect_attempts`]: an
//!   endpoint that is not there stays away), and timeouts / broken connections. A certificate
//!   the client does not trust and a name that does not resolve are never retried: waiting
//!   cannot fix them.
//! - Non-idempotent requests (POST) are retried only when the server cannot have acted on them:
//!   429, 503, and connect errors before the request was sent. PUT, PATCH, DELETE and GET are
//!   idempotent in ARM and get the full table. A few POSTs are reads ([`READ_ONLY_POSTS`]:
//!   Azure Backup's secondary-region job reads) and get the full table too ([`is_idempotent`]).
//! - A server delay (`retry-after-ms`, `x-ms-retry-after-ms`, `Retry-After` seconds or
//!   HTTP-date) wins over the backoff; it is capped at `max_server_delay`. Recovery Services
//!   answers 429 with no header at all and the wait only in the message ("Please try again
//!   after '324' seconds.", FACTS §5, azure-cli CSR #103): a 429 without a header delay uses
//!   the wait from the error body's message ([`message_retry_after`]).
//! - Otherwise exponential backoff `initial * 2^(attempt-1)` capped at `max_backoff`, with
//!   "equal jitter": half fixed, half scaled by the injected `jitter` ∈ [0, 1).
//! - Give up after `max_attempts` attempts or when the next delay would exceed `total_budget`.
//! - A 401 asks the caller to refresh the token and retry once ([`Decision::Reauthenticate`]).
//! - "Another operation is in progress" answers (a 400 or 409 whose error code says the target
//!   is busy, [`IN_PROGRESS_CODES`]) are retried with the backoff for every method: the server
//!   refused without acting, so even a POST is safe to send again.

use reqwest::header::HeaderMap;
use std::time::{Duration, SystemTime};

/// Retry limits. `RetryPolicy::immediate()` is the zero-delay policy tests use.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included.
    pub max_attempts: u32,
    /// Attempts in total while the connection is refused.
    pub max_connect_attempts: u32,
    /// Backoff before the second attempt.
    pub initial_backoff: Duration,
    /// Cap of one computed backoff.
    pub max_backoff: Duration,
    /// Cap of one server-requested delay.
    pub max_server_delay: Duration,
    /// No retry is started once the time spent plus the next delay would exceed this.
    pub total_budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            max_connect_attempts: 4,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            max_server_delay: Duration::from_secs(300),
            total_budget: Duration::from_secs(900),
        }
    }
}

impl RetryPolicy {
    /// Same attempt count, no delays at all (tests).
    pub fn immediate() -> Self {
        RetryPolicy {
            initial_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
            max_server_delay: Duration::ZERO,
            ..Default::default()
        }
    }
}

/// Why a request failed below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    /// The connection was refused or could not be made: the request was not sent.
    Connect,
    /// The server's certificate is not trusted (or not for this name): never retried.
    Certificate,
    /// The host name does not resolve: never retried.
    Dns,
    /// Timed out (maybe after the server got it).
    Timeout,
    /// Connection reset mid-flight, body read error…
    Other,
}

/// What one attempt produced.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    Response {
        status: u16,
        headers: &'a HeaderMap,
        /// The response body (only read for a 429 without a delay header).
        body: &'a [u8],
    },
    Transport(TransportFailure),
}

/// Facts about the attempt that just finished.
#[derive(Debug, Clone, Copy)]
pub struct AttemptInfo {
    /// 1-based number of the attempt that just finished.
    pub attempt: u32,
    /// Time spent on this logical request so far.
    pub elapsed: Duration,
    /// Whether the request is idempotent (everything but POST in ARM).
    pub idempotent: bool,
    /// Whether a 401 already triggered a token refresh for this request.
    pub reauthenticated: bool,
    /// Wall clock now (only for `Retry-After: <HTTP-date>`).
    pub now: SystemTime,
    /// Injected randomness in [0, 1).
    pub jitter: f64,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Success or a final error: hand the outcome to the caller.
    Done,
    /// Sleep this long, then send again.
    Retry(Duration),
    /// Refresh the token, then send again at once.
    Reauthenticate,
    /// Retryable, but the attempts or the time budget are used up.
    GiveUp,
}

/// POST actions that only read (the path's last segment, lower case): Azure Backup's
/// secondary-region job read, `POST …/locations/{region}/backupCrrJob` (Azure/azure-cli backup
/// `custom_help.py` `track_backup_crr_job` polls it).
pub const READ_ONLY_POSTS: &[&str] = &["backupcrrjob"];

/// Whether a request may be sent again after the server may have acted on it: every method
/// but POST, and the POSTs that only read ([`READ_ONLY_POSTS`]).
pub fn is_idempotent(post: bool, path: &str) -> bool {
    if !post {
        return true;
    }
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    READ_ONLY_POSTS.iter().any(|a| last.eq_ignore_ascii_case(a))
}

/// Whether this status is retried for this kind of request.
pub fn is_retryable_status(status: u16, idempotent: bool) -> bool {
    if idempotent {
        matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
    } else {
        matches!(status, 429 | 503)
    }
}

/// The retry decision. See the module doc for the table.
pub fn retry_decision(outcome: &Outcome<'_>, info: &AttemptInfo, policy: &RetryPolicy) -> Decision {
    let server_delay = match outcome {
        Outcome::Response {
            status,
            headers,
            body,
        } => {
            if (200..400).contains(status) {
                return Decision::Done;
            }
            if *status == 401 {
                return if info.reauthenticated {
                    Decision::Done
                } else {
                    Decision::Reauthenticate
                };
            }
            if !is_retryable_status(*status, info.idempotent) && !in_progress(*status, body) {
                return Decision::Done;
            }
            server_delay(*status, headers, body, info.now)
        }
        Outcome::Transport(kind) => {
            let retryable = match kind {
                TransportFailure::Certificate | TransportFailure::Dns => false,
                TransportFailure::Connect => {
                    if info.attempt >= policy.max_connect_attempts {
                        return Decision::GiveUp;
                    }
                    true
                }
                TransportFailure::Timeout | TransportFailure::Other => info.idempotent,
            };
            if !retryable {
                return Decision::Done;
            }
            None
        }
    };
    if info.attempt >= policy.max_attempts {
        return Decision::GiveUp;
    }
    let delay = match server_delay {
        Some(d) => d.min(policy.max_server_delay),
        None => backoff(info.attempt, info.jitter, policy),
    };
    if info.elapsed + delay > policy.total_budget {
        return Decision::GiveUp;
    }
    Decision::Retry(delay)
}

/// Error codes with which Azure refuses a change because another one on the same target is
/// still running; the refused request did nothing and succeeds once the other finishes.
/// - `BMSUserErrorConflictingProtectionOperation` ("Another configure protection operation is in
///   progress for this item") and `BMSUserErrorObjectLocked` ("Another operation is in progress
///   on the selected item"): Microsoft Learn, Azure Backup troubleshooting, "Common modify policy
///   errors" (MicrosoftDocs/azure-docs articles/backup/troubleshoot-azure-files.md): "Wait for the
///   other in-progress operation to complete and retry at a later time."
/// - `AnotherOperationInProgress` (ARM resource providers that allow one change at a time) and
///   `RetryableErrorDueToAnotherOperation` (azure-behaviour.md §2).
pub const IN_PROGRESS_CODES: &[&str] = &[
    "BMSUserErrorConflictingProtectionOperation",
    "BMSUserErrorObjectLocked",
    "AnotherOperationInProgress",
    "RetryableErrorDueToAnotherOperation",
];

/// Whether a 400/409 answer says "another operation is in progress" ([`IN_PROGRESS_CODES`]).
pub fn in_progress(status: u16, body: &[u8]) -> bool {
    if !matches!(status, 400 | 409) {
        return false;
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    v.pointer("/error/code")
        .and_then(|c| c.as_str())
        .is_some_and(|c| IN_PROGRESS_CODES.iter().any(|k| k.eq_ignore_ascii_case(c)))
}

/// Exponential backoff with equal jitter for the attempt that just failed (1-based).
pub fn backoff(attempt: u32, jitter: f64, policy: &RetryPolicy) -> Duration {
    let exp = attempt.saturating_sub(1).min(20);
    let base = policy
        .initial_backoff
        .saturating_mul(1u32 << exp)
        .min(policy.max_backoff);
    let jitter = jitter.clamp(0.0, 1.0);
    base / 2 + base.mul_f64(jitter / 2.0)
}

/// The delay the server asked for: `retry-after-ms`, then `x-ms-retry-after-ms`, then
/// `Retry-After` (delta seconds, fractional tolerated, or an HTTP-date relative to `now`).
pub fn server_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = header_str(headers, name).and_then(|v| v.trim().parse::<f64>().ok()) {
            if ms.is_finite() && ms >= 0.0 {
                return Some(Duration::from_secs_f64(ms / 1000.0));
            }
        }
    }
    let v = header_str(headers, "retry-after")?.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = parse_http_date(v)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The delay a response asks for: the headers ([`server_retry_after`]) and, for a 429 without
/// them, the wait in the error message ([`message_retry_after`]).
pub fn server_delay(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Option<Duration> {
    server_retry_after(headers, now).or_else(|| {
        if status == 429 {
            message_retry_after(body)
        } else {
            None
        }
    })
}

/// The wait written in an ARM error body's message, as Recovery Services throttling puts it:
/// `{"error":{"code":"ResourceRequestsThrottled","message":"… Please try again after '324'
/// seconds."}}` (FACTS §5; recording azure-cli CSR #103 L5467, no Retry-After header).
pub fn message_retry_after(body: &[u8]) -> Option<Duration> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let message = v.pointer("/error/message").and_then(|m| m.as_str())?;
    let lower = message.to_ascii_lowercase();
    const MARK: &str = "try again after";
    let at = lower.find(MARK)? + MARK.len();
    let rest = lower[at..].trim_start().trim_start_matches(['\'', '"']);
    let digits: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let secs: f64 = digits.parse().ok()?;
    let unit = rest[digits.len()..]
        .trim_start_matches(['\'', '"'])
        .trim_start();
    if !secs.is_finite() || secs < 0.0 || !unit.starts_with("second") {
        return None;
    }
    Some(Duration::from_secs_f64(secs))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Parse an IMF-fixdate (`Wed, 21 Oct 2015 07:28:00 GMT`) or RFC 850 / asctime-ish variants
/// that `time`'s RFC 2822 parser accepts.
pub fn parse_http_date(s: &str) -> Option<SystemTime> {
    use time::format_description::well_known::Rfc2822;
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    if let Ok(dt) = time::PrimitiveDateTime::parse(s, &fmt) {
        return Some(dt.assume_utc().into());
    }
    let normalised = s.replace("GMT", "+0000").replace("UTC", "+0000");
    time::OffsetDateTime::parse(&normalised, &Rfc2822)
        .ok()
        .map(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn now() -> SystemTime {
        // Wed, 21 Oct 2015 07:28:00 GMT
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480)
    }

    fn info(attempt: u32) -> AttemptInfo {
        AttemptInfo {
            attempt,
            elapsed: Duration::ZERO,
            idempotent: true,
            reauthenticated: false,
            now: now(),
            jitter: 0.0,
        }
    }

    fn decide_with(status: u16, body: &[u8], i: AttemptInfo, policy: &RetryPolicy) -> Decision {
        let h = HeaderMap::new();
        retry_decision(
            &Outcome::Response {
                status,
                headers: &h,
                body,
            },
            &i,
            policy,
        )
    }

    fn decide(status: u16, h: &HeaderMap, i: AttemptInfo) -> Decision {
        retry_decision(
            &Outcome::Response {
                status,
                headers: h,
                body: b"",
            },
            &i,
            &RetryPolicy::default(),
        )
    }

    #[test]
    fn a_post_that_only_reads_is_retried_as_a_read() {
        let loc = "/subscriptions/s/providers/Microsoft.RecoveryServices/locations/northeurope";
        assert!(is_idempotent(true, &format!("{loc}/backupCrrJob")));
        // The list is not sent, so not known to be a read here.
        assert!(!is_idempotent(true, &format!("{loc}/backupCrrJobs")));
        assert!(!is_idempotent(
            true,
            &format!("{loc}/backupCrossRegionRestore")
        ));
        assert!(!is_idempotent(true, "/subscriptions/s/backupCrrJobsX"));
        assert!(is_idempotent(
            false,
            &format!("{loc}/backupCrossRegionRestore")
        ));
        // What that buys: a 500 on a job read is retried, on the trigger it is not.
        assert!(is_retryable_status(
            500,
            is_idempotent(true, &format!("{loc}/backupCrrJob"))
        ));
        assert!(!is_retryable_status(
            500,
            is_idempotent(true, &format!("{loc}/backupCrossRegionRestore"))
        ));
    }

    #[test]
    fn status_table_idempotent() {
        let h = HeaderMap::new();
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(matches!(decide(s, &h, info(1)), Decision::Retry(_)), "{s}");
        }
        for s in [200, 201, 202, 204, 400, 403, 404, 409, 412, 501, 505] {
            assert_eq!(decide(s, &h, info(1)), Decision::Done, "{s}");
        }
    }

    #[test]
    fn status_table_post() {
        let h = HeaderMap::new();
        let i = AttemptInfo {
            idempotent: false,
            ..info(1)
        };
        for s in [429, 503] {
            assert!(matches!(decide(s, &h, i), Decision::Retry(_)), "{s}");
        }
        for s in [408, 500, 502, 504] {
            assert_eq!(decide(s, &h, i), Decision::Done, "{s}");
        }
    }

    #[test]
    fn unauthorized_reauthenticates_once() {
        let h = HeaderMap::new();
        assert_eq!(decide(401, &h, info(1)), Decision::Reauthenticate);
        let i = AttemptInfo {
            reauthenticated: true,
            ..info(2)
        };
        assert_eq!(decide(401, &h, i), Decision::Done);
    }

    #[test]
    fn transport_failures() {
        let p = RetryPolicy::default();
        let post = AttemptInfo {
            idempotent: false,
            ..info(1)
        };
        let c = Outcome::Transport(TransportFailure::Connect);
        let t = Outcome::Transport(TransportFailure::Timeout);
        let o = Outcome::Transport(TransportFailure::Other);
        assert!(matches!(
            retry_decision(&c, &info(1), &p),
            Decision::Retry(_)
        ));
        assert!(matches!(
            retry_decision(&t, &info(1), &p),
            Decision::Retry(_)
        ));
        assert!(matches!(
            retry_decision(&o, &info(1), &p),
            Decision::Retry(_)
        ));
        assert!(matches!(retry_decision(&c, &post, &p), Decision::Retry(_)));
        assert_eq!(retry_decision(&t, &post, &p), Decision::Done);
        assert_eq!(retry_decision(&o, &post, &p), Decision::Done);
    }

    #[test]
    fn what_waiting_cannot_fix_fails_at_once_and_a_refusal_is_retried_briefly() {
        let p = RetryPolicy::default();
        for kind in [TransportFailure::Certificate, TransportFailure::Dns] {
            assert_eq!(
                retry_decision(&Outcome::Transport(kind), &info(1), &p),
                Decision::Done,
                "{kind:?}"
            );
        }
        let refused = Outcome::Transport(TransportFailure::Connect);
        let retried = (1..=p.max_attempts)
            .take_while(|a| matches!(retry_decision(&refused, &info(*a), &p), Decision::Retry(_)))
            .count();
        assert_eq!(retried as u32, p.max_connect_attempts - 1);
        assert_eq!(
            retry_decision(&refused, &info(p.max_connect_attempts), &p),
            Decision::GiveUp
        );
    }

    #[test]
    fn server_delay_forms() {
        let n = now();
        assert_eq!(
            server_retry_after(&headers(&[("retry-after-ms", "10")]), n),
            Some(Duration::from_millis(10))
        );
        assert_eq!(
            server_retry_after(&headers(&[("x-ms-retry-after-ms", "250")]), n),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            server_retry_after(&headers(&[("Retry-After", "7")]), n),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            server_retry_after(
                &headers(&[("Retry-After", "Wed, 21 Oct 2015 07:28:30 GMT")]),
                n
            ),
            Some(Duration::from_secs(30))
        );
        // A date in the past means "now".
        assert_eq!(
            server_retry_after(
                &headers(&[("Retry-After", "Wed, 21 Oct 2015 07:00:00 GMT")]),
                n
            ),
            Some(Duration::ZERO)
        );
        // retry-after-ms wins over Retry-After.
        assert_eq!(
            server_retry_after(
                &headers(&[("Retry-After", "60"), ("retry-after-ms", "5")]),
                n
            ),
            Some(Duration::from_millis(5))
        );
        assert_eq!(
            server_retry_after(&headers(&[("Retry-After", "soon")]), n),
            None
        );
        assert_eq!(
            server_retry_after(&headers(&[("Retry-After", "-3")]), n),
            None
        );
        assert_eq!(server_retry_after(&HeaderMap::new(), n), None);
    }

    #[test]
    fn server_delay_wins_over_backoff_and_is_capped() {
        let h = headers(&[("Retry-After", "17")]);
        assert_eq!(
            decide(429, &h, info(5)),
            Decision::Retry(Duration::from_secs(17))
        );
        let h = headers(&[("Retry-After", "3600")]);
        assert_eq!(
            decide(429, &h, info(1)),
            Decision::Retry(Duration::from_secs(300))
        );
        let h = headers(&[("retry-after-ms", "10")]);
        assert_eq!(
            retry_decision(
                &Outcome::Response {
                    status: 429,
                    headers: &h,
                    body: b"",
                },
                &info(1),
                &RetryPolicy::immediate()
            ),
            Decision::Retry(Duration::ZERO)
        );
    }

    #[test]
    fn backoff_grows_with_jitter_and_cap() {
        let p = RetryPolicy::default();
        assert_eq!(backoff(1, 0.0, &p), Duration::from_millis(500));
        assert_eq!(backoff(1, 1.0, &p), Duration::from_secs(1));
        assert_eq!(backoff(2, 0.0, &p), Duration::from_secs(1));
        assert_eq!(backoff(3, 0.5, &p), Duration::from_secs(3));
        assert_eq!(backoff(10, 1.0, &p), Duration::from_secs(30));
        assert_eq!(backoff(60, 1.0, &p), Duration::from_secs(30));
        assert_eq!(backoff(4, 0.3, &RetryPolicy::immediate()), Duration::ZERO);
    }

    #[test]
    fn caps_attempts_and_budget() {
        let h = HeaderMap::new();
        assert!(matches!(decide(503, &h, info(7)), Decision::Retry(_)));
        assert_eq!(decide(503, &h, info(8)), Decision::GiveUp);
        let late = AttemptInfo {
            elapsed: Duration::from_secs(900),
            ..info(2)
        };
        assert_eq!(decide(503, &h, late), Decision::GiveUp);
        let h = headers(&[("Retry-After", "120")]);
        let late = AttemptInfo {
            elapsed: Duration::from_secs(800),
            ..info(2)
        };
        assert_eq!(decide(429, &h, late), Decision::GiveUp);
    }

    /// FACTS §5 (azure-cli CSR #103 L5467): the Recovery Services 429, no Retry-After header.
    const RSV_429: &[u8] = br#"{"error":{"code":"ResourceRequestsThrottled","message":"Number of requests for action 'Microsoft.RecoveryServices/vaults/backupJobs/read' exceeded the limit of '150' for time interval '01:00:00'. Please try again after '324' seconds."}}"#;

    #[test]
    fn recovery_services_429_waits_as_long_as_the_message_says() {
        assert_eq!(message_retry_after(RSV_429), Some(Duration::from_secs(324)));
        let decision = decide_with(429, RSV_429, info(1), &RetryPolicy::default());
        assert_eq!(
            decision,
            Decision::Retry(Duration::from_secs(300)),
            "capped"
        );
        let policy = RetryPolicy {
            max_server_delay: Duration::from_secs(600),
            ..RetryPolicy::default()
        };
        let decision = decide_with(429, RSV_429, info(1), &policy);
        assert_eq!(decision, Decision::Retry(Duration::from_secs(324)));
    }

    #[test]
    fn a_header_delay_wins_over_the_message_and_other_statuses_ignore_it() {
        let h = headers(&[("Retry-After", "5")]);
        assert_eq!(
            server_delay(429, &h, RSV_429, now()),
            Some(Duration::from_secs(5))
        );
        assert_eq!(server_delay(503, &HeaderMap::new(), RSV_429, now()), None);
        assert_eq!(
            server_delay(429, &HeaderMap::new(), RSV_429, now()),
            Some(Duration::from_secs(324))
        );
    }

    #[test]
    fn messages_without_a_wait_fall_back_to_backoff() {
        for body in [
            &b""[..],
            b"not json",
            br#"{"error":{"code":"x","message":"Please try again later."}}"#,
            br#"{"error":{"code":"x","message":"Please try again after 'soon' seconds."}}"#,
            br#"{"error":{"code":"x","message":"Please try again after '3' minutes."}}"#,
        ] {
            assert_eq!(
                message_retry_after(body),
                None,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(
            message_retry_after(br#"{"error":{"message":"Please try again after 2 seconds"}}"#),
            Some(Duration::from_secs(2))
        );
        let h = HeaderMap::new();
        let decision = retry_decision(
            &Outcome::Response {
                status: 429,
                headers: &h,
                body: br#"{"error":{"code":"x","message":"busy"}}"#,
            },
            &info(1),
            &RetryPolicy::default(),
        );
        assert_eq!(
            decision,
            Decision::Retry(backoff(1, 0.0, &RetryPolicy::default()))
        );
    }

    #[test]
    fn http_date_parsing() {
        assert_eq!(
            parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(now())
        );
        assert!(parse_http_date("yesterday").is_none());
    }

    #[test]
    fn another_operation_in_progress_is_waited_out_for_every_method() {
        let busy = br#"{"error":{"code":"BMSUserErrorConflictingProtectionOperation","message":"Another configure protection operation is in progress for this item."}}"#;
        for idempotent in [true, false] {
            for status in [400, 409] {
                let i = AttemptInfo {
                    idempotent,
                    ..info(2)
                };
                let d = decide_with(status, busy, i, &RetryPolicy::default());
                // Backoff, not at once: attempt 2 waits half of 2 s with zero jitter.
                assert_eq!(
                    d,
                    Decision::Retry(Duration::from_secs(1)),
                    "{status} {idempotent}"
                );
            }
        }
        let locked = br#"{"error":{"code":"BMSUserErrorObjectLocked","message":"Another operation is in progress on the selected item."}}"#;
        assert!(in_progress(409, locked));
        // Other refusals stay final, and so does an in-progress code on an unrelated status.
        let other = br#"{"error":{"code":"BMSUserErrorPolicyNotFound","message":"x"}}"#;
        assert!(!in_progress(409, other));
        assert!(!in_progress(404, busy));
        assert!(!in_progress(409, b"not json"));
        let last = info(RetryPolicy::default().max_attempts);
        let d = decide_with(409, busy, last, &RetryPolicy::default());
        assert_eq!(d, Decision::GiveUp);
    }
}
