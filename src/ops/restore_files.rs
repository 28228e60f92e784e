//! `azprotect restore ADDRESS [--point …] --files --script-out PATH | --revoke`: item-level
//! (file) recovery of a protected VM. [`prepare`] resolves the address, chooses the point and
//! reads which points have a file-recovery session open (`isInstantIlrSessionActive`, which the
//! point list carries: recording azure-cli/test_backup_diskaccess_restore.yaml, the
//! `recoveryPoints` list), and says what it will do; [`mount`] provisions the session (or renews
//! the open one, as the az CLI's `restore files mount-rp` does), waits for the operation, writes
//! the mount script to PATH (a new file of mode 0700 renamed over PATH) and reports the password,
//! how to run it and when the session closes; [`revoke`] ends the sessions open — of the point
//! given, or without `--point` of every point — sending nothing where none is, as
//! `restore files unmount-rp` does. Requests and parsing: `model::item_recovery`.

use super::recovery_points::{resolve_in, Protected};
use super::restore::{chosen, protected_item, vm_points, PointChoice};
use crate::azure::ArmClient;
use crate::model::item_recovery::{self, Mounted, Revoked};
use crate::model::recovery_point::RecoveryPoint;
use crate::model::ArmId;
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
    /// `None`: the latest point to mount; every point with a session open to revoke.
    pub point: Option<PointChoice>,
    /// Where the mount script goes; `None` with `revoke`.
    pub script_out: Option<PathBuf>,
    pub revoke: bool,
}

/// A file recovery checked and ready.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub address: String,
    pub vm: ArmId,
    /// The point to mount, or the one `--point` names to revoke (`None`: revoke them all).
    pub point: Option<RecoveryPoint>,
    /// A session of `point` is open now.
    pub active: bool,
    /// With revoke: the points whose open session it ends.
    pub sessions: Vec<RecoveryPoint>,
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
    let (address, item) = match resolve_in(&input.files, default_subscription, &input.address)? {
        Protected::Vm { address, item, .. } => (address, item),
        Protected::Disk { address, .. } => {
            return Err(miette!(
                help = "restore a disk with --as-new-disk NAME --resource-group RG",
                "{address} is a disk: file recovery mounts a protected VM's point"
            ))
        }
    };
    let item_body = protected_item(client, &address, &item).await?;
    let vm = crate::model::protected_vm::vm_of(&item_body);
    let listed = vm_points(client, &item).await?;
    let open: Vec<RecoveryPoint> = listed
        .iter()
        .filter(|(_, body)| item_recovery::session_active(body))
        .map(|(p, _)| p.clone())
        .collect();
    let points: Vec<RecoveryPoint> = listed.into_iter().map(|(p, _)| p).collect();
    let point = match (&input.point, input.revoke) {
        (None, true) => None,
        (choice, _) => Some(chosen(
            &points,
            choice.as_ref().unwrap_or(&PointChoice::Latest),
            &address,
        )?),
    };
    let active = point
        .as_ref()
        .is_some_and(|p| open.iter().any(|o| o.id == p.id));
    let at = |p: &RecoveryPoint| format!("point {} ({}) of {}", p.name, p.time, vm.name());
    let mut will = Vec::new();
    let sessions = if input.revoke {
        let sessions: Vec<RecoveryPoint> = match &point {
            None => open,
            Some(p) => open.into_iter().filter(|o| o.id == p.id).collect(),
        };
        for p in &sessions {
            will.push(format!("end the file-recovery session of {}", at(p)));
        }
        sessions
    } else {
        let Some(point) = point.as_ref() else {
            return Err(miette!("--files: no point to mount"));
        };
        let out = input
            .script_out
            .as_deref()
            .ok_or_else(|| miette!("--files needs --script-out PATH (or --revoke)"))?;
        check_out(out)?;
        will.push(if active {
            format!(
                "renew the open file-recovery session of {} for {} hours",
                at(point),
                item_recovery::SESSION_HOURS
            )
        } else {
            format!(
                "open a file-recovery session on {} for {} hours",
                at(point),
                item_recovery::SESSION_HOURS
            )
        });
        will.push(format!(
            "write its mount script to {}{}",
            out.display(),
            if out.exists() { " (replacing it)" } else { "" }
        ));
        Vec::new()
    };
    Ok(Prepared {
        address: address.to_string(),
        vm,
        point,
        active,
        sessions,
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

/// Write the script, readable and runnable by its owner only: into a new file beside `out`
/// (created exclusively, mode 0700, so neither an old file's mode nor a link is followed), then
/// renamed over `out` (which replaces a link there, not its target).
fn write_script(out: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let name = out
        .file_name()
        .ok_or_else(|| miette!("--script-out {} names no file", out.display()))?;
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let nonce = OffsetDateTime::now_utc().unix_timestamp_nanos();
    let tmp = dir.join(format!(
        ".{}.{}-{nonce}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o700);
    let written = (|| {
        let mut f = options.open(&tmp)?;
        // The umask may have taken bits away; set them on the file itself, not by path.
        #[cfg(unix)]
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, out)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
        .into_diagnostic()
        .map_err(|e| e.wrap_err(format!("writing the mount script to {}", out.display())))
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
    let point = p
        .point
        .as_ref()
        .ok_or_else(|| miette!("a mount needs its point"))?;
    let task = Task::new(p.address.clone(), format!("mounting point {}", point.name));
    progress.event(&task, Event::Started);
    let req = item_recovery::provision_request(&point.id, &p.vm, p.active);
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
        point: point.name.clone(),
        point_time: point.time,
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

/// End the open sessions `prepare` found (none: nothing is sent).
pub async fn revoke(client: &ArmClient, p: &Prepared) -> Result<Revoked> {
    for s in &p.sessions {
        client
            .execute_discarding(&item_recovery::revoke_request(&s.id))
            .await?;
    }
    Ok(Revoked {
        address: p.address.clone(),
        point: p.point.as_ref().map(|s| s.name.clone()),
        ended: p.sessions.iter().map(|s| s.name.clone()).collect(),
        revoked: !p.sessions.is_empty(),
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

    #[cfg(unix)]
    #[test]
    fn the_script_replaces_an_open_file_or_a_link_and_ends_mode_0700() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777;
        // An existing file anyone may read: replaced, owner-only.
        let out = dir.path().join("mount.py");
        std::fs::write(&out, "old").unwrap();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_script(&out, "secret").unwrap();
        assert_eq!(
            (std::fs::read_to_string(&out).unwrap(), mode(&out)),
            ("secret".into(), 0o700)
        );
        // A link at the path is replaced; what it pointed to is untouched.
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "keep").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.path().join("link.py");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_script(&link, "secret").unwrap();
        assert!(!std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(mode(&link), 0o700);
        assert_eq!(
            (std::fs::read_to_string(&target).unwrap(), mode(&target)),
            ("keep".into(), 0o644)
        );
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    }
}
