//! Enabling VM backup the way Azure discovers VMs. Before the first protection of a VM in a
//! Recovery Services vault, apply lists the vault's protectable items; a VM not among them
//! triggers one `refreshContainers` for the vault and a second listing; protection is then enabled
//! at the container and item names Azure returned (recording: azure-cli/test_backup_protection.yaml
//! #35–41, FACTS §4). One listing (and at most one refresh) per vault per apply, however many VMs
//! it protects — unless one fails, when the next protection of the vault asks again. A VM still
//! not listed after the refresh is enabled at the names its id gives (what ARM templates and
//! Terraform always do): Azure then says whether it can protect it.
//!
//! A VM in another subscription is never discovered (discovery runs in the vault's subscription):
//! its names are built from its id, as Azure's CLI does for cross-subscription backup
//! (Azure/azure-cli#33703).
//!
//! Apply discovers [`ahead`](Discovered::ahead) during its leases' settle second (idle time),
//! once every vault was read free and carries its lease tag (`ops::apply`): a protection then
//! finds its vault's listing made. The lease is not confirmed yet then; discovery reads, and a
//! `refreshContainers` (which Azure's CLI sends whenever a VM is not listed) changes nothing a
//! plan manages.

use super::Failure;
use crate::azure::{ArmClient, AzureError};
use crate::model::{protected_vm, ArmId, ResourceKind};
use crate::plan::{Action, Change, Plan};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// What each vault has shown this apply, by lower-cased vault id.
#[derive(Default)]
pub struct Discovered(Mutex<HashMap<String, Arc<tokio::sync::Mutex<VaultView>>>>);

#[derive(Default)]
struct VaultView {
    /// Lower-cased VM id → the protected item id to enable it at.
    listed: Option<HashMap<String, ArmId>>,
    refreshed: bool,
}

/// Discovery started by [`Discovered::ahead`], stopped when dropped.
pub struct Ahead(tokio::task::JoinHandle<()>);

impl Drop for Ahead {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A new VM protection: its vault, its VM and the id the plan gave it; `None` for any other
/// change.
pub(super) fn new_protection(change: &Change) -> Option<(ArmId, &str, &ArmId)> {
    if change.address.kind != ResourceKind::ProtectedVm
        || change.action != Action::Create
        || change.before.is_some()
    {
        return None;
    }
    let vm_id = change
        .after
        .as_ref()
        .and_then(|a| protected_vm::Attrs(a).vm_id())
        .unwrap_or_default();
    Some((
        protected_vm::vault_of(&change.arm_id),
        vm_id,
        &change.arm_id,
    ))
}

impl Discovered {
    /// Start discovering, in the background, what the plan's new protections will ask
    /// [`target`](Self::target): the vaults at once, each vault's VMs in turn (they share its
    /// listing). Vaults the plan creates or replaces are left to their protections (a new
    /// vault does not exist yet; a replaced one is listed once it exists anew), and so is a
    /// failure: the protection asks again, and says why. Dropping the returned [`Ahead`] stops
    /// what is left.
    pub fn ahead(self: &Arc<Self>, client: &ArmClient, plan: &Plan) -> Ahead {
        let made: BTreeSet<&ArmId> = plan
            .changes
            .iter()
            .filter(|c| super::lease::is_vault_creation(c.address.kind, c.action))
            .map(|c| &c.arm_id)
            .collect();
        let mut by_vault: BTreeMap<ArmId, Vec<(String, ArmId)>> = BTreeMap::new();
        for (vault, vm_id, planned) in plan.changes.iter().filter_map(new_protection) {
            if !made.contains(&vault) {
                let vms = by_vault.entry(vault).or_default();
                vms.push((vm_id.to_string(), planned.clone()));
            }
        }
        let (me, client) = (self.clone(), client.clone());
        Ahead(tokio::spawn(async move {
            let (me, client) = (&me, &client);
            futures::future::join_all(by_vault.iter().map(|(vault, vms)| async move {
                for (vm_id, planned) in vms {
                    if me.target(client, vault, vm_id, planned).await.is_err() {
                        return;
                    }
                }
            }))
            .await;
        }))
    }

    /// The protected item id to enable `vm_id`'s protection at in `vault`: Azure's names for a VM
    /// of the vault's subscription, `planned` for a VM of another subscription.
    pub async fn target(
        &self,
        client: &ArmClient,
        vault: &ArmId,
        vm_id: &str,
        planned: &ArmId,
    ) -> Result<ArmId, Failure> {
        let vm = ArmId::new(vm_id);
        let same_sub = vm
            .subscription()
            .zip(vault.subscription())
            .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b));
        if !same_sub {
            return Ok(planned.clone());
        }
        let entry = self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(vault.as_str().to_ascii_lowercase())
            .or_default()
            .clone();
        let mut view = entry.lock().await;
        let key = vm_id.to_ascii_lowercase();
        loop {
            if view.listed.is_none() {
                view.listed = Some(list(client, vault).await?);
            }
            if let Some(id) = view.listed.as_ref().and_then(|l| l.get(&key)) {
                return Ok(id.clone());
            }
            if view.refreshed {
                // Not listed even after a refresh (the list is paged and shrinks while other
                // protections land, or discovery lags): enable it at the names its id gives, as
                // templates and Terraform do; Azure answers for a VM it cannot protect.
                tracing::debug!(%vault, vm_id, "not among the protectable items: using the names its id gives");
                return Ok(planned.clone());
            }
            client
                .execute_discarding(&protected_vm::refresh_request(vault))
                .await
                .map_err(|e| {
                    failure(
                        e,
                        format!("discovering the VMs of {vault} (refreshContainers)"),
                    )
                })?;
            view.refreshed = true;
            view.listed = None;
        }
    }
}

/// Azure's error, its message prefixed with what was being done (code, request id and
/// reachability kept).
fn failure(e: AzureError, doing: String) -> Failure {
    let f = Failure::from(e);
    Failure {
        message: format!("{doing}: {}", f.message),
        ..f
    }
}

async fn list(client: &ArmClient, vault: &ArmId) -> Result<HashMap<String, ArmId>, Failure> {
    let items = client
        .list(&protected_vm::protectable_list_path(vault))
        .await
        .map_err(|e| failure(e, format!("listing the VMs {vault} can protect")))?;
    Ok(items.iter().filter_map(protected_vm::protectable).collect())
}
