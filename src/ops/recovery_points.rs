//! `azprotect recovery-points ADDRESS`: every point a protected resource has, newest first — a
//! protected VM's (Recovery Services, `protected_vm.V/rg/vm`, or `rg/vm` when the file has one
//! vault) and a disk's (Data Protection, `disk_backup.V/rg/disk`). The vaults come from the
//! file(s); the points from Azure. The result is data (`Listing`) that `render::recovery_points`
//! formats.

use crate::azure::{ArmClient, AzureError};
use crate::model::recovery_point::{self, Listing, RecoveryPoint};
use crate::model::snapshot::BackupInstance;
use crate::model::{protected_vm, Address, ArmId, Desired, ResourceKind};
use crate::progress::Progress;
use miette::{miette, Result};
use std::path::PathBuf;
use time::OffsetDateTime;

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// `protected_vm.V/rg/vm`, `disk_backup.V/rg/disk`, or `rg/vm`.
    pub address: String,
    pub files: Vec<PathBuf>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
}

/// The protected resource an address names, resolved against the file's vaults.
/// Each names its vault and the vault's (normalized) region.
pub(crate) enum Protected {
    Vm {
        address: Address,
        item: ArmId,
        vault: ArmId,
        region: String,
    },
    Disk {
        address: Address,
        vault: ArmId,
        region: String,
        disk: ArmId,
    },
}

fn no_points(address: &Address) -> miette::Report {
    miette!(
        help = "protected_vm.<vault>/<resource-group>/<vm> or disk_backup.<backup-vault>/<resource-group>/<disk>",
        "ADDRESS: a {} has no recovery points",
        address.kind.prefix()
    )
}

/// Load `files` (default `azprotect.yaml`) and [`resolve`] `raw` against their vaults.
pub(crate) fn resolve_in(
    files: &[PathBuf],
    default_subscription: Option<&str>,
    raw: &str,
) -> Result<Protected> {
    let files = crate::ops::plan::files_or_default(files);
    let desired = crate::config::load(&files)?.desired(default_subscription)?;
    resolve(raw, &desired)
}

pub(crate) fn resolve(raw: &str, desired: &Desired) -> Result<Protected> {
    let address: Address =
        if raw.contains('.') {
            raw.parse().map_err(|e| miette!("ADDRESS: {e}"))?
        } else {
            // `rg/vm`: the file's only Recovery Services vault.
            match desired.vaults.as_slice() {
                [only] => Address::new(ResourceKind::ProtectedVm, format!("{}/{raw}", only.name)),
                [] => {
                    return Err(miette!(
                        "ADDRESS: the file declares no Recovery Services vault"
                    ))
                }
                many => {
                    return Err(miette!(
                        help =
                            format!(
                        "name the vault: protected_vm.<vault>/{raw}, with <vault> one of {}",
                        many.iter().map(|v| v.name.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                        "ADDRESS: `{raw}` could be in any of the file's {} vaults",
                        many.len()
                    ))
                }
            }
        };
    if !matches!(
        address.kind,
        ResourceKind::ProtectedVm | ResourceKind::DiskBackup
    ) {
        return Err(no_points(&address));
    }
    let parts: Vec<&str> = address.name.split('/').collect();
    let [vault, rg, name] = parts.as_slice() else {
        return Err(miette!(
            help = "protected_vm.<vault>/<resource-group>/<vm> or disk_backup.<backup-vault>/<resource-group>/<disk>",
            "ADDRESS: `{address}` does not name a protected VM or disk"
        ));
    };
    match address.kind {
        ResourceKind::ProtectedVm => {
            let v = desired
                .vaults
                .iter()
                .find(|v| v.name.eq_ignore_ascii_case(vault))
                .ok_or_else(|| {
                    miette!("ADDRESS: no Recovery Services vault {vault} is declared in the file")
                })?;
            let item = protected_vm::arm_id(&v.arm_id, rg, name);
            Ok(Protected::Vm {
                address,
                item,
                vault: v.arm_id.clone(),
                region: crate::model::resource_group::normalize_location(&v.location),
            })
        }
        ResourceKind::DiskBackup => {
            let v = desired
                .disk_vaults
                .iter()
                .find(|v| v.name.eq_ignore_ascii_case(vault))
                .ok_or_else(|| miette!("ADDRESS: no Backup vault {vault} is declared under disk_backup in the file"))?;
            let sub = v.arm_id.subscription().unwrap_or_default();
            let disk = crate::model::snapshot::disk_id(sub, rg, name);
            Ok(Protected::Disk {
                address,
                vault: v.arm_id.clone(),
                region: v.location.clone(),
                disk,
            })
        }
        _ => Err(no_points(&address)),
    }
}

/// A protected disk's backup instance in `vault`, and its points (Data Protection).
pub(crate) async fn disk_points(
    client: &ArmClient,
    address: &Address,
    vault: &ArmId,
    disk: &ArmId,
) -> Result<(BackupInstance, Vec<RecoveryPoint>)> {
    super::snapshot::protected_in(client, vault, Some(disk), recovery_point::from_disk_point)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| {
            miette!(
                help = "apply the file first",
                "{address}: the disk is not protected in {vault}"
            )
        })
}

/// The points of a protected VM in its vault's paired region when its own region failed
/// (`primary`): each marked as there. Fails naming both regions when that fails too.
async fn only_secondary(
    client: &ArmClient,
    (vault, region, item): (&ArmId, &str, &ArmId),
    primary: AzureError,
    progress: &dyn Progress,
) -> Result<(String, Vec<RecoveryPoint>)> {
    let fail = |why: String| {
        miette!(
            "the recovery points could not be read in the vault's region, {region} ({primary}), nor in its paired region: {why}"
        )
    };
    let s = match super::restore_crr::secondary(client, vault, region, item).await {
        Ok(Ok(s)) => s,
        Ok(Err(why)) => return Err(fail(why)),
        Err(e) => return Err(fail(e.to_string())),
    };
    progress.note(&format!(
        "{region} did not answer ({primary}): these are the points of the copy in the paired region, {}",
        s.region
    ));
    let mut points = s.points;
    for p in points.iter_mut() {
        p.secondary_region = Some(true);
    }
    Ok((s.region, points))
}

/// The points of the resource `input.address` names, newest first.
pub async fn list(
    client: &ArmClient,
    default_subscription: Option<&str>,
    input: &Input,
    progress: &dyn Progress,
) -> Result<Listing> {
    let mut secondary = None;
    let (address, item, points) =
        match resolve_in(&input.files, default_subscription, &input.address)? {
            Protected::Vm {
                address,
                item,
                vault,
                region,
            } => {
                progress.note(&format!("reading the recovery points of {address}"));
                let points = match client.list(&recovery_point::vm_points_path(&item)).await {
                    Ok(p) => p,
                    Err(e) if e.status() == Some(404) => {
                        return Err(miette!(
                        help =
                            "apply the file first; the first backup runs on the policy's schedule",
                        "{address} is not protected in Azure ({})",
                        e.code().unwrap_or("not found")
                    ))
                    }
                    // The vault's region is down (a server error after the retries, or no answer):
                    // its copy in the paired region, if any, is what a restore would use now.
                    Err(e)
                        if e.status().is_some_and(|s| s >= 500)
                            || matches!(
                                e,
                                AzureError::Transport {
                                    unreachable: false,
                                    ..
                                }
                            ) =>
                    {
                        let (there, points) =
                            only_secondary(client, (&vault, &region, &item), e, progress).await?;
                        secondary = Some(there);
                        return Ok(Listing {
                            address: address.to_string(),
                            item,
                            points: recovery_point::select(points, input.since, input.until),
                            secondary_region: secondary,
                        });
                    }
                    Err(e) => return Err(e.into()),
                };
                let mut points: Vec<RecoveryPoint> = points
                    .iter()
                    .filter_map(recovery_point::from_vm_point)
                    .collect();
                secondary =
                    match super::restore_crr::mark(client, (&vault, &region, &item), &mut points)
                        .await
                    {
                        Ok(s) => s,
                        Err(e) => {
                            // Which points the paired region holds is unknown (no column): the
                            // listing stands.
                            progress.note(&format!(
                                "which points are in the paired region is unknown: {e}"
                            ));
                            None
                        }
                    };
                (address, item, points)
            }
            Protected::Disk {
                address,
                vault,
                disk,
                ..
            } => {
                progress.note(&format!("reading the backup instances of {vault}"));
                let (instance, points) = disk_points(client, &address, &vault, &disk).await?;
                (address, instance.id, points)
            }
        };
    Ok(Listing {
        address: address.to_string(),
        item,
        points: recovery_point::select(points, input.since, input.until),
        secondary_region: secondary,
    })
}
