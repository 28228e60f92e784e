//! Replication settings Azure takes only from a protected item. The enable input
//! (`A2AEnableProtectionInput`) has no target VM size, and Azure updates a replicated item only
//! once initial replication has finished: Terraform's replicated VM waits for `Protected` before
//! its update ("We are only allowed to update the configuration once the VM is fully
//! protected", azurerm `site_recovery_replicated_vm_resource.go`). So a new replication with a
//! target VM size is enabled, waited for, then updated; an in-place update waits first too.

use super::requests_for;
use super::wait;
use super::{Failure, Heard};
use crate::azure::ArmClient;
use crate::model::site_recovery::replication;
use crate::model::ResourceKind;
use crate::plan::{Action, Change};
use crate::progress::{status_line, Event, Progress, Task};
use std::time::Duration;

/// Whether this change is carried out here rather than by `requests_for` alone.
pub fn handles(change: &Change) -> bool {
    change.address.kind == ResourceKind::Replication
        && match change.action {
            Action::Update => true,
            Action::Create | Action::Replace => sized(change),
            Action::Delete => false,
        }
}

fn sized(change: &Change) -> bool {
    change
        .after
        .as_ref()
        .is_some_and(|a| replication::Attrs(a).target_vm_size().is_some())
}

/// How long to wait for initial replication, and where to say so: the change's own task.
pub struct Waiting<'a> {
    pub heard: Heard<'a>,
    pub timeout: Duration,
}

/// The wait's polls, told as what the change waits for.
impl Progress for Waiting<'_> {
    fn event(&self, _: &Task, event: Event<'_>) {
        if let Event::Progressed { status, percent } = event {
            // "initial replication 45% to finish before Azure takes its settings"
            let what = format!(
                "{} to finish before Azure takes its settings",
                status_line(status, percent)
            );
            self.heard.waiting_for(&what);
        }
    }
    fn note(&self, line: &str) {
        self.heard.progress.note(line);
    }
}

/// Enable (for a create), wait until the item is protected, then send the update.
pub async fn execute(
    client: &ArmClient,
    change: &Change,
    waiting: &Waiting<'_>,
) -> Result<(), Failure> {
    let timeout = waiting.timeout;
    let item = change.arm_id.clone();
    let update = match change.action {
        Action::Update => requests_for(change).map_err(|e| e.to_string())?,
        _ => {
            for req in requests_for(change).map_err(|e| e.to_string())? {
                client.execute_discarding(&req).await?;
            }
            let desired = crate::model::Resource {
                address: change.address.clone(),
                arm_id: item.clone(),
                attrs: change.after.clone().unwrap_or_default(),
                depends_on: vec![],
            };
            vec![replication::update_request(&desired)]
        }
    };
    let left = wait::wait_replicated(client, std::slice::from_ref(&item), timeout, waiting).await?;
    if let Some(s) = left.first() {
        return Err(Failure::from(format!(
            "Azure takes replication settings only once initial replication has finished, and it has not after {} minutes ({}): run apply again later",
            timeout.as_secs() / 60,
            status_line(&replication::state_words(&s.vm_state), s.percent.map(|p| p as f64))
        )));
    }
    for req in &update {
        client.execute_discarding(req).await?;
    }
    Ok(())
}
