//! Subscriptions the identity may not read. `plan` names every one of them with the action
//! Azure says is missing, never skips one silently; with `--allow-partial` it plans the rest
//! and the plan carries what it left out (`Plan::left_out`).

use super::plan::{diff, Diffed, Phases, PlanError, Scope, Targets};
use crate::azure::{ArmClient, AzureError};
use crate::live::{Known, ReadOptions, VaultConfigs};
use crate::model::{ArmId, Desired, LiveState};
use crate::plan::LeftOut;
use miette::Diagnostic;
use std::collections::BTreeSet;

/// Subscriptions the identity may not read, and `--allow-partial` was not given.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("the identity may not read {} subscription(s): {}", .0.len(), list(.0))]
#[diagnostic(
    code(azprotect::plan::unreadable_subscription),
    help("grant the identity Reader (and the roles in the README's \"In CI\") on them, or plan the rest with --allow-partial")
)]
pub struct Unreadable(pub Vec<LeftOut>);

/// `--target subscription.X` with `--allow-partial`, X being a subscription left out.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("--target subscription.{}: the identity may not read it: {}", .0.subscription, .0.reason)]
#[diagnostic(
    code(azprotect::plan::target_unreadable),
    help("grant the identity Reader (and the roles in the README's \"In CI\") on it")
)]
pub struct TargetUnreadable(pub LeftOut);

fn list(left: &[LeftOut]) -> String {
    left.iter()
        .map(|l| format!("\n  {}: {}", l.subscription, l.reason))
        .collect()
}

/// The subscription of a request Azure refused (403 `AuthorizationFailed`), from its path
/// (`live::read_with` tells whether the identity may not read the subscription at all).
pub fn denied_subscription(e: &AzureError) -> Option<LeftOut> {
    let message = e.authorization_failed()?;
    let AzureError::Arm { resource, .. } = e else {
        return None;
    };
    let path = resource.split('?').next().unwrap_or(resource);
    let path = path.find("/subscriptions/").map_or(path, |i| &path[i..]);
    let subscription = ArmId::new(path).subscription()?.to_ascii_lowercase();
    Some(LeftOut {
        subscription,
        reason: message.to_string(),
    })
}

/// What a read before the plan's (the stamps' discovery read) found: VMs not to read again, and
/// subscriptions it could not read (reported with the plan's own, all at once).
#[derive(Debug, Default)]
pub struct Before {
    pub known: Option<Known>,
    pub left_out: Vec<LeftOut>,
}

/// Read `desired` once (`live::read_with`, which returns the subscriptions Azure refuses
/// beside what it read of the others) and diff what may be read. Every refused subscription is
/// an [`Unreadable`] error unless `allow_partial`; one the file does not declare anything in (a
/// disk or VM it points at) is the error it is. Returns the desired state planned (without the
/// left-out subscriptions), what was read, the plan (with `left_out`, `before`'s included) and its targets' addresses.
pub async fn diff_readable(
    client: &ArmClient,
    desired: Desired,
    targets: &Targets,
    scope: &Scope,
    before: Before,
    phases: &mut Phases,
) -> Result<(Desired, LiveState, Diffed), PlanError> {
    phases.mark("read");
    // Soft delete where the file sets it now, where the plan deletes backup data once known.
    let consulted = crate::plan::soft_delete_consulted(&desired, None);
    let options = ReadOptions {
        discovery: scope.discovery,
        known: before.known,
        vault_configs: VaultConfigs::Only(consulted.clone()),
    };
    let read = crate::live::read_with(client, &desired, &options).await?;
    tracing::debug!(source = ?read.source, graph_queries = read.graph_queries, "read");
    let mut left_out: Vec<LeftOut> = before.left_out;
    for denied in read.denied {
        let sub = denied.subscription.clone();
        let declared = desired.home_subscriptions().contains(&sub)
            || desired.subscription.eq_ignore_ascii_case(&sub);
        match denied_subscription(&denied.error) {
            // Not one of the file's own subscriptions: leaving it out does not help.
            Some(left) if declared => left_out.push(LeftOut {
                subscription: sub,
                reason: left.reason,
            }),
            _ => return Err(PlanError::Azure(Box::new(denied.error))),
        }
    }
    left_out.sort_by(|a, b| a.subscription.cmp(&b.subscription));
    left_out.dedup_by(|a, b| a.subscription == b.subscription);
    if !left_out.is_empty() && !scope.allow_partial {
        return Err(PlanError::Unreadable(Unreadable(left_out)));
    }
    // A subscription targeted but left out would plan as nothing: refused, naming why.
    if let Some(left) = left_out.iter().find(|l| targets.selects(&l.subscription)) {
        return Err(TargetUnreadable(left.clone()).into());
    }
    let desired = match left_out.is_empty() {
        true => desired,
        false => desired.only(|s| {
            !left_out
                .iter()
                .any(|l| l.subscription.eq_ignore_ascii_case(s))
        }),
    };
    let mut live = read.live;
    let mut diffed = diff(&desired, &live, targets, phases)?;
    let more: BTreeSet<ArmId> = crate::plan::soft_delete_consulted(&desired, Some(&diffed.plan))
        .difference(&consulted)
        .cloned()
        .collect();
    if !more.is_empty() {
        crate::live::read_vault_configs(client, &mut live, &more).await?;
        diffed = diff(&desired, &live, targets, phases)?;
    }
    diffed.plan.left_out = left_out;
    Ok((desired, live, diffed))
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
