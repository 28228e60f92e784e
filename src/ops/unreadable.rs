//! Subscriptions the identity may not read. `plan` names every one of them with the action
//! Azure says is missing, never skips one silently; with `--allow-partial` it plans the rest
//! and the plan carries what it left out (`Plan::left_out`).

use super::plan::{diff, Phases, PlanError};
use crate::azure::{ArmClient, AzureError};
use crate::model::{resource_group, Address, ArmId, Desired, LiveState};
use crate::plan::{LeftOut, Plan};
use miette::Diagnostic;

/// Subscriptions the identity may not read, and `--allow-partial` was not given.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("the identity may not read {} subscription(s): {}", .0.len(), list(.0))]
#[diagnostic(
    code(azprotect::plan::unreadable_subscription),
    help("grant the identity Reader (and the roles in the README's \"In CI\") on them, or plan the rest with --allow-partial")
)]
pub struct Unreadable(pub Vec<LeftOut>);

fn list(left: &[LeftOut]) -> String {
    left.iter()
        .map(|l| format!("\n  {}: {}", l.subscription, l.reason))
        .collect()
}

/// The subscription of a request Azure refused (403 `AuthorizationFailed`), from its path:
/// whether the identity may not read the subscription at all, [`diff_readable`] asks Azure.
pub fn denied_subscription(e: &AzureError) -> Option<LeftOut> {
    let AzureError::Arm {
        status: 403,
        code,
        resource,
        message,
        ..
    } = e
    else {
        return None;
    };
    if !code.eq_ignore_ascii_case("AuthorizationFailed") {
        return None;
    }
    let path = resource.split('?').next().unwrap_or(resource);
    let path = path.find("/subscriptions/").map_or(path, |i| &path[i..]);
    let subscription = ArmId::new(path).subscription()?.to_ascii_lowercase();
    Some(LeftOut {
        subscription,
        reason: message.clone(),
    })
}

/// Read and diff `desired`; a subscription Azure refuses is left out and the rest read again,
/// until what is left reads. Every refused subscription is an [`Unreadable`] error unless
/// `allow_partial`. Returns the desired state planned (without the left-out subscriptions),
/// what was read, the plan (with `left_out`).
pub async fn diff_readable(
    client: &ArmClient,
    desired: Desired,
    targets: &[Address],
    allow_partial: bool,
    phases: &mut Phases,
) -> Result<(Desired, LiveState, Plan), PlanError> {
    let mut desired = desired;
    let mut left_out: Vec<LeftOut> = Vec::new();
    let (live, mut plan) = loop {
        match diff(client, &desired, targets, phases).await {
            Ok(done) => break done,
            Err(PlanError::Azure(e)) => {
                let Some(left) = denied_subscription(&e) else {
                    return Err(PlanError::Azure(e));
                };
                // A refusal inside a readable subscription (a role missing on one vault) is
                // the error it is: the subscription's own resource-group list tells them apart.
                let probe = resource_group::list_path(&left.subscription);
                match client.list(&probe).await {
                    Err(p) if denied_subscription(&p).is_some() => {}
                    _ => return Err(PlanError::Azure(e)),
                }
                let again = left_out.iter().any(|l| l.subscription == left.subscription);
                let declared = desired.home_subscriptions().contains(&left.subscription)
                    || desired
                        .subscription
                        .eq_ignore_ascii_case(&left.subscription);
                if again || !declared {
                    // Not one of the file's own subscriptions (a disk or VM it points at), or
                    // refused again: leaving it out does not help.
                    return Err(PlanError::Azure(e));
                }
                let sub = left.subscription.clone();
                left_out.push(left);
                desired = desired.only(|s| !s.eq_ignore_ascii_case(&sub));
            }
            Err(e) => return Err(e),
        }
    };
    if !left_out.is_empty() && !allow_partial {
        return Err(PlanError::Unreadable(Unreadable(left_out)));
    }
    plan.left_out = left_out;
    Ok((desired, live, plan))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_authorization_failure_names_the_subscription_of_the_refused_request() {
        let e = AzureError::Arm {
            method: "GET".into(),
            resource: "https://management.azure.com/subscriptions/ABC-1/providers/Microsoft.Compute/virtualMachines?api-version=2024-07-01".into(),
            status: 403,
            code: "AuthorizationFailed".into(),
            message: "no 'Microsoft.Compute/virtualMachines/read'".into(),
            request_id: "r".into(),
        };
        let left = denied_subscription(&e).expect("a denied subscription");
        assert_eq!(left.subscription, "abc-1");
        assert!(left.reason.contains("virtualMachines/read"));
        let other = AzureError::Arm {
            method: "GET".into(),
            resource: "/subscriptions/abc-1/resourcegroups".into(),
            status: 403,
            code: "RequestDisallowedByPolicy".into(),
            message: "policy".into(),
            request_id: "r".into(),
        };
        assert!(denied_subscription(&other).is_none());
    }
}
