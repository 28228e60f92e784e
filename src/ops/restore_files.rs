//! `azprotect restore ADDRESS --point … --files --script-out PATH [--revoke]`: item-level (file)
//! recovery of a protected VM. [`prepare`] resolves the address, chooses the point and reads
//! whether it already has a file-recovery session (`isInstantIlrSessionActive`), and says what
//! it will do; [`mount`] provisions the session (or renews the open one, as the az CLI's
//! `restore files mount-rp` does), waits for the operation, writes the mount script to PATH
//! (mode 0700 on unix) and reports the password, how to run it and when the session closes;
//! [`revoke`] ends the session — only when one is open, as `restore files unmount-rp` does.
//! Requests and parsing: `model::item_recovery`.

use super::recovery_points::{resolve, Protected};
use super::restore::{choose, PointChoice};
use crate::azure::ArmClient;
use crate::model::item_recovery::{self, Mounted, Revoked};
use crate::model::recovery_point::{self, RecoveryPoint};
use crate::model::{api, ArmId};
use crate::progress::{Event, Progress, Task};
use miette::{miette, IntoDiagnostic, Result};
use std::path::{Path, PathBuf};
use std::time::Instant;
use time::OffsetDateTime;

/// What to do.
#[derive(Debug, Clone)]
pub struct Input {
    pub address: String,
    pub files: Vec<PathBuf>,
    pub point: PointChoice,
    /// Where the mount script goes; `None` with `revoke`.
    pub script_out: Option<PathBuf>,
    pub revoke: bool,
}

/// A file recovery checked and ready.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub address: String,
    pub vm: ArmId,
    pub point: RecoveryPoint,
    /// A session of the point is open now.
    pub active: bool,
    pub script_out: Option<PathBuf>,
    /// What it will do, one line each (empty: nothing to do).
    pub will: Vec<String>,
}

/// Read and check; nothing is changed.
pub async fn prepare(
    client: &ArmClient,
    default_subscription: Option<&str>,
    input: &Input,
) -> Result<Prepared> {
    let files = crate::ops::plan::files_or_default(&input.files);
    let desired = crate::config::load(&files)?.desired(default_subscription)?;
    let (address, item) = match resolve(&input.address, &desired)? {
        Protected::Vm { address, item, .. } => (address, item),
        Protected::Disk { address, .. } => {
            return Err(miette!(
                help = "restore a disk with --as-new-disk NAME --resource-group RG",
                "{address} is a disk: file recovery mounts a protected VM's point"
            ))
        }
    };
    let versioned = |id: &ArmId| format!("{id}?api-version={}", api::BACKUP);
    let Some(item_body) = client.get_optional(&versioned(&item)).await? else {
        return Err(miette!(
            help = "apply the file first",
            "{address} is not protected in Azure"
        ));
    };
    let p = &item_body["properties"];
    let vm = ArmId::new(
        p["virtualMachineId"]
            .as_str()
            .or_else(|| p["sourceResourceId"].as_str())
            .unwrap_or_default(),
    );
    let points: Vec<RecoveryPoint> = client
        .list(&recovery_point::vm_points_path(&item))
        .await?
        .iter()
        .filter_map(recovery_point::from_vm_point)
        .collect();
    let point = choose(&points, &input.point).ok_or_else(|| {
        miette!(
            help = format!(
                "`azprotect recovery-points {address}` lists its {} point(s)",
                points.len()
            ),
            "{address} has no such recovery point"
        )
    })?;
    let body = client
        .get_optional(&versioned(&point.id))
        .await?
        .ok_or_else(|| miette!("{address}: the point {} no longer exists", point.name))?;
    let active = item_recovery::session_active(&body);
    let at = format!("point {} ({})", point.name, point.time);
    let mut will = Vec::new();
    if input.revoke {
        if active {
            will.push(format!(
                "end the file-recovery session of {at} of {}",
                vm.name()
            ));
        }
    } else {
        let out = input
            .script_out
            .as_deref()
            .ok_or_else(|| miette!("--files needs --script-out PATH (or --revoke)"))?;
        check_out(out)?;
        will.push(if active {
            format!(
                "renew the open file-recovery session of {at} of {} for {} hours",
                vm.name(),
                item_recovery::SESSION_HOURS
            )
        } else {
            format!(
                "open a file-recovery session on {at} of {} for {} hours",
                vm.name(),
                item_recovery::SESSION_HOURS
            )
        });
        will.push(format!(
            "write its mount script to {}{}",
            out.display(),
            if out.exists() { " (replacing it)" } else { "" }
        ));
    }
    Ok(Prepared {
        address: address.to_string(),
        vm,
        point,
        active,
        script_out: input.script_out.clone(),
        will,
    })
}

/// The script's place: a file (new or not) in a directory that exists.
fn check_out(out: &Path) -> Result<()> {
    if out.is_dir() {
        return Err(miette!("--script-out {} is a directory", out.display()));
    }
    let dir = out.parent().filter(|d| !d.as_os_str().is_empty());
    if dir.is_some_and(|d| !d.is_dir()) {
        return Err(miette!(
            "--script-out {}: its directory does not exist",
            out.display()
        ));
    }
    Ok(())
}

/// Write the script, readable and runnable by its owner only.
fn write_script(out: &Path, text: &str) -> Result<()> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o700)
            .open(out)
            .into_diagnostic()?;
        f.write_all(text.as_bytes()).into_diagnostic()?;
        // An existing file keeps its mode through open(): set it.
        std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o700)).into_diagnostic()
    }
    #[cfg(not(unix))]
    {
        std::fs::write(out, text).into_diagnostic()
    }
}

/// How to run a script of this extension.
fn how_to_run(extension: &str, out: &Path) -> String {
    let path = out.display();
    match extension.to_ascii_lowercase().as_str() {
        ".py" => format!("sudo python3 {path}"),
        ".ps1" => format!("powershell -ExecutionPolicy Bypass -File {path}"),
        _ => path.to_string(),
    }
}

/// Provision (or renew) the session, write its script and say when it closes.
pub async fn mount(client: &ArmClient, p: &Prepared, progress: &dyn Progress) -> Result<Mounted> {
    let started = Instant::now();
    let task = Task::new(
        p.address.clone(),
        format!("mounting point {}", p.point.name),
    );
    progress.event(&task, Event::Started);
    let req = item_recovery::provision_request(&p.point.id, &p.vm, p.active);
    let status = client.execute_status(&req).await.inspect_err(|e| {
        progress.event(
            &task,
            Event::Failed {
                error: &e.to_string(),
            },
        )
    })?;
    let opened = OffsetDateTime::now_utc();
    let scripts = item_recovery::scripts_from_status(&status.unwrap_or_default());
    let Some(script) = scripts.iter().find(|s| s.content.is_some()) else {
        let urls: Vec<&str> = scripts.iter().filter_map(|s| s.url.as_deref()).collect();
        return Err(miette!(
            help = "download it from the portal's File Recovery blade, or from the URL given",
            "Azure opened the session but returned no script to write (URLs: {urls:?})"
        ));
    };
    let out = p
        .script_out
        .as_deref()
        .ok_or_else(|| miette!("--files needs --script-out PATH"))?;
    write_script(out, script.content.as_deref().unwrap_or_default())?;
    progress.event(&task, Event::Finished);
    let (file_name, password) = script.file_name_and_password();
    Ok(Mounted {
        address: p.address.clone(),
        point: p.point.name.clone(),
        point_time: p.point.time,
        renewed: p.active,
        script: out.display().to_string(),
        file_name,
        password,
        os_type: script.os_type.clone(),
        expires: opened + time::Duration::hours(item_recovery::SESSION_HOURS),
        run: how_to_run(&script.extension, out),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// End the point's session, when one is open.
pub async fn revoke(client: &ArmClient, p: &Prepared) -> Result<Revoked> {
    if p.active {
        client
            .execute_discarding(&item_recovery::revoke_request(&p.point.id))
            .await?;
    }
    Ok(Revoked {
        address: p.address.clone(),
        point: p.point.name.clone(),
        revoked: p.active,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_script_says_how_it_runs() {
        let out = Path::new("/tmp/mount.py");
        assert_eq!(how_to_run(".py", out), "sudo python3 /tmp/mount.py");
        assert!(how_to_run(".PS1", Path::new("m.ps1")).starts_with("powershell"));
        assert!(check_out(Path::new("/nonexistent-dir/x.py")).is_err());
        assert!(check_out(Path::new("/tmp")).is_err());
        assert!(check_out(Path::new("x.py")).is_ok());
    }
}
