//! `apply --wait-replicated`: after enabling replication, wait until initial replication has
//! finished (`vmProtectionState: Protected`) for every replicated VM the apply created.

use crate::azure::{ArmClient, AzureError};
use crate::model::site_recovery::replication;
use crate::model::{api, ArmId};
use crate::progress::{Event, Progress, Task};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Where one replicated VM stands.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicationStatus {
    pub item: ArmId,
    pub vm_state: String,
    pub percent: Option<u64>,
}

impl ReplicationStatus {
    pub fn protected(&self) -> bool {
        self.vm_state.eq_ignore_ascii_case("Protected")
    }
}

/// One GET per item still replicating.
pub async fn status(client: &ArmClient, item: &ArmId) -> Result<ReplicationStatus, AzureError> {
    let path = format!("{item}?api-version={}", api::SITE_RECOVERY);
    let body = client.get_optional(&path).await?.unwrap_or_default();
    Ok(ReplicationStatus {
        item: item.clone(),
        vm_state: body["properties"]["providerSpecificDetails"]["vmProtectionState"]
            .as_str()
            .unwrap_or("Unknown")
            .to_string(),
        percent: replication::progress(&body),
    })
}

/// Poll until every item is protected or `timeout` passes; each item is a task of `progress`
/// ("initial replication NAME"), its state reported every round. Returns the items still not
/// protected at the end (empty = all done).
pub async fn wait_replicated(
    client: &ArmClient,
    items: &[ArmId],
    timeout: Duration,
    progress: &dyn Progress,
) -> Result<Vec<ReplicationStatus>, AzureError> {
    let start = Instant::now();
    let tasks: HashMap<&ArmId, Task> = items
        .iter()
        .map(|i| {
            let task = Task::new(i.to_string(), format!("initial replication {}", i.name()));
            (i, task)
        })
        .collect();
    let mut pending: Vec<ArmId> = items.to_vec();
    let mut delay = Duration::from_millis(250);
    loop {
        let statuses =
            futures::future::try_join_all(pending.iter().map(|i| status(client, i))).await?;
        for s in &statuses {
            let task = &tasks[&s.item];
            progress.event(
                task,
                Event::Progressed {
                    status: &replication::state_words(&s.vm_state),
                    percent: s.percent.map(|p| p as f64),
                },
            );
            if s.protected() {
                progress.event(task, Event::Finished);
            }
        }
        let left: Vec<ReplicationStatus> =
            statuses.into_iter().filter(|s| !s.protected()).collect();
        if left.is_empty() || start.elapsed() >= timeout {
            return Ok(left);
        }
        pending = left.iter().map(|s| s.item.clone()).collect();
        tokio::time::sleep(delay.min(timeout.saturating_sub(start.elapsed()))).await;
        delay = (delay * 2).min(Duration::from_secs(60));
    }
}
