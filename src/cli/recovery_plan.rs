//! Finding a declared recovery plan (`recovery_plan.<group>/<plan>`) and its replicated items,
//! for the commands that act on one: `drill`, `failover`, `commit`, `reprotect`, `failback`.

use super::settings::Session;
use crate::model::site_recovery::recovery_plan;
use crate::model::{Address, ArmId, Desired, Resource, ResourceKind};
use miette::{bail, miette, Result};
use std::path::PathBuf;

/// The files to read: those given, else `azprotect.yaml`.
pub fn files_or_default(files: &[PathBuf]) -> Vec<PathBuf> {
    if files.is_empty() {
        vec!["azprotect.yaml".into()]
    } else {
        files.to_vec()
    }
}

/// A recovery plan the file declares, resolved against live state.
pub struct Declared {
    pub address: Address,
    pub plan: Resource,
    /// `(group number, replicated item id)` in boot order; group 1 boots first.
    pub items: Vec<(usize, ArmId)>,
    pub desired: Desired,
    /// The declared replications of the plan's VMs (their disks and target disk types).
    pub replications: Vec<Resource>,
}

impl Declared {
    pub fn item_ids(&self) -> Vec<ArmId> {
        self.items.iter().map(|(_, id)| id.clone()).collect()
    }
}

/// Parse `address` (`what` starts the error when it is not a recovery plan, e.g. "a drill
/// runs"), read the files and live state, and find the plan.
pub async fn declared(
    session: &Session,
    files: &[PathBuf],
    address: &str,
    what: &str,
) -> Result<Declared> {
    let address: Address = address.parse().map_err(|e| miette!("{e}"))?;
    if address.kind != ResourceKind::RecoveryPlan {
        bail!(
            "{what} a recovery plan: expected recovery_plan.<site_recovery>/<plan>, got {address}"
        );
    }
    let files = files_or_default(files);
    let desired = crate::config::load(&files)?.desired(session.default_subscription.as_deref())?;
    let live = crate::live::read(&session.client, &desired).await?;
    let resources = crate::plan::resolve(&desired, &live);
    let Some(plan) = resources.iter().find(|r| r.address == address).cloned() else {
        let known: Vec<String> = resources
            .iter()
            .filter(|r| r.address.kind == ResourceKind::RecoveryPlan)
            .map(|r| r.address.to_string())
            .collect();
        let known = if known.is_empty() {
            "none".into()
        } else {
            known.join(", ")
        };
        bail!(
            help = format!("recovery plans in the file: {known}"),
            "{address} is not declared"
        );
    };
    let items = plan.attrs["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .flat_map(|(n, g)| {
            g["vms"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |vm| (n + 1, vm))
        })
        .filter_map(|(n, vm)| Some((n, recovery_plan::item_of(&plan, vm.as_str()?))))
        .collect::<Vec<(usize, ArmId)>>();
    let replications = resources
        .iter()
        .filter(|r| {
            r.address.kind == ResourceKind::Replication && items.iter().any(|(_, i)| *i == r.arm_id)
        })
        .cloned()
        .collect();
    Ok(Declared {
        address,
        plan,
        items,
        desired,
        replications,
    })
}
