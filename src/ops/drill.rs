//! A test-failover drill of one declared recovery plan: find it and check the test network is
//! not production ([`prepare`]), say whether the plan is ready ([`check_ready`]), and after the
//! user agreed run it ([`run`]) into a report `render` formats.

use super::recovery_plan::{declared, Declared, DeclaredError};
use crate::azure::ArmClient;
use crate::drill::{self, DrillError, DrillOptions, DrillReport};
use crate::progress::Progress;
use std::path::PathBuf;

/// Why a drill did not start.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PrepareError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Declared(#[from] DeclaredError),
    #[error(
        "a drill needs --network: the test VMs must boot in a network isolated from production"
    )]
    #[diagnostic(help(
        "create an isolated virtual network in the target region (no peering, no gateway) and pass it with --network"
    ))]
    NoNetwork,
    #[error(
        "{network} is a production network of {group} (a network mapping uses it): a drill never runs there"
    )]
    #[diagnostic(help(
        "pass an isolated virtual network with --network; the test VMs would otherwise join production traffic"
    ))]
    ProductionNetwork { network: String, group: String },
}

/// A drill ready to run.
pub struct Prepared {
    pub found: Declared,
    pub options: DrillOptions,
}

/// Find the recovery plan `address` in `files` and check the test network: never one that a
/// network mapping of its group uses in production (as source or target).
pub async fn prepare(
    client: &ArmClient,
    default_subscription: Option<&str>,
    files: &[PathBuf],
    address: &str,
    network: Option<String>,
    keep: bool,
) -> Result<Prepared, PrepareError> {
    let found = declared(client, default_subscription, files, address, "a drill runs").await?;
    let group = found.address.name.split('/').next().unwrap_or_default();
    let network_id = network.ok_or(PrepareError::NoNetwork)?;
    let production = found
        .desired
        .replication_groups
        .iter()
        .filter(|g| g.name == group)
        .flat_map(|g| g.network_mappings.iter())
        .flat_map(|(s, t)| [s.as_str(), t.as_str()]);
    if production
        .into_iter()
        .any(|p| p.eq_ignore_ascii_case(&network_id))
    {
        return Err(PrepareError::ProductionNetwork {
            network: network_id,
            group: group.into(),
        });
    }
    Ok(Prepared {
        found,
        options: DrillOptions { network_id, keep },
    })
}

/// Is the plan ready (replication finished, no drill running)? `run` checks again right
/// before it starts, as the user's answer may take a while.
pub async fn check_ready(client: &ArmClient, p: &Prepared) -> Result<(), DrillError> {
    drill::check_ready(client, &p.found.plan, &p.found.item_ids()).await
}

/// Run the drill: the test failover and the cleanup are tasks of `progress`.
pub async fn run(
    client: &ArmClient,
    p: &Prepared,
    progress: &dyn Progress,
) -> Result<DrillReport, DrillError> {
    drill::run(client, &p.found.plan, &p.found.items, &p.options, progress).await
}
