//! Recovery Services throttling as Azure answers it, and azprotect's client waiting as long as
//! the answer says. Azure's Recovery Services 429 has **no** Retry-After header; the wait is
//! only in the message ("Please try again after '324' seconds.") — FACTS §5, recording
//! azure-cli CSR #103 L5467.

use std::time::{Duration, Instant};

mod support;

use azprotect::model::{ArmRequest, Method};
use azprotect::sandbox::{BucketLimit, SandboxOptions, ThrottleLimits};
use serde_json::Value;
use support::estate::Estate;

/// Reads refill at one every two seconds into a bucket of two, so the third read in a burst is refused.
fn tight_reads() -> SandboxOptions {
    SandboxOptions {
        throttle: true,
        throttle_limits: ThrottleLimits {
            reads: BucketLimit {
                burst: 2.0,
                per_second: 0.5,
            },
            ..ThrottleLimits::default()
        },
        ..SandboxOptions::default()
    }
}

fn vaults_path(sub: &str) -> String {
    format!(
        "/subscriptions/{sub}/providers/Microsoft.RecoveryServices/vaults?api-version=2024-04-01"
    )
}

#[tokio::test]
async fn a_busy_recovery_services_vault_says_how_long_to_wait_in_words_not_headers() {
    let estate = Estate::start_with(tight_reads()).await;
    let sb = &estate.sandbox;
    let (http, token) = support::raw::token_client(sb).await;
    let url = format!(
        "{}{}",
        sb.endpoint(),
        vaults_path(&sb.credentials().subscription_id)
    );
    let mut refused = None;
    for _ in 0..3 {
        let r = http.get(&url).bearer_auth(&token).send().await.unwrap();
        if r.status() == 429 {
            refused = Some((r.headers().clone(), r.json::<Value>().await.unwrap()));
            break;
        }
        assert_eq!(r.status(), 200);
    }
    let (headers, body) = refused.expect("the third read in a burst is throttled");
    assert_eq!(body["error"]["code"], "ResourceRequestsThrottled");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "Number of requests for action 'Microsoft.RecoveryServices/vaults/read' exceeded the limit of '2'"
        ),
        "{message}"
    );
    assert!(
        message.ends_with("Please try again after '2' seconds."),
        "{message}"
    );
    assert_eq!(support::raw::header(&headers, "retry-after"), "");
    assert_eq!(support::raw::header(&headers, "retry-after-ms"), "");
}

#[tokio::test]
async fn azprotect_waits_the_seconds_the_message_names_then_reads_the_vaults() {
    let estate = Estate::start_with(tight_reads()).await;
    let sb = &estate.sandbox;
    let path = vaults_path(&sb.credentials().subscription_id);
    // Someone else drains the read bucket.
    for _ in 0..2 {
        assert_eq!(support::raw::get(sb, &path).await.0, 200);
    }
    let client = estate.client().await;
    let started = Instant::now();
    let vaults = client
        .execute(&ArmRequest::new(Method::Get, path, None))
        .await
        .expect("the read succeeds after waiting")
        .expect("a body");
    assert!(vaults["value"].is_array(), "{vaults}");
    assert_eq!(client.request_count(), 2, "one refusal, one answer");
    // The backoff alone would have retried within one second (the first backoff is 0.5–1 s);
    // the message's '2' seconds is a floor.
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "waited {:?}",
        started.elapsed()
    );
}
