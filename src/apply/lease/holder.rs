//! Who holds a lease: the owner apply writes into it (`default_owner`), and whether a holder's
//! process has ended on this host (`holder_is_gone`), told by the kernel boot and pid namespace
//! its lease id starts with (`this_process`).

use crate::model::lease::Lease;

/// `AZPROTECT_LEASE_OWNER` if set; in GitHub Actions the repository, run and actor; else
/// `user@host (pid N)`.
pub fn default_owner() -> String {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let Some(o) = var("AZPROTECT_LEASE_OWNER") {
        return o;
    }
    if var("GITHUB_ACTIONS").as_deref() == Some("true") {
        return format!(
            "{} run {} ({})",
            var("GITHUB_REPOSITORY").unwrap_or_default(),
            var("GITHUB_RUN_ID").unwrap_or_default(),
            var("GITHUB_ACTOR").unwrap_or_default()
        );
    }
    let user = var("USER")
        .or_else(|| var("USERNAME"))
        .unwrap_or_else(|| "someone".into());
    format!("{user}@{} (pid {})", host_name(), std::process::id())
}

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

/// The lease was held by a process of this host that has ended (it could not release it).
pub(super) fn holder_is_gone(holder: &Lease) -> bool {
    let Some((who, pid)) = holder
        .owner
        .strip_suffix(')')
        .and_then(|o| o.rsplit_once(" (pid "))
    else {
        return false;
    };
    let here = format!("@{}", host_name());
    if !who.ends_with(&here) || pid.parse::<u32>().is_err() {
        return false;
    }
    if pid == std::process::id().to_string() {
        // Ourselves: an earlier apply of this process (a library caller) that was cut off.
        return false;
    }
    // Host names repeat (cloned machines, containers sharing the host's network): the pid means
    // something here only when the holder ran on this kernel boot, in this pid namespace.
    cfg!(target_os = "linux")
        && this_process() != UNKNOWN_PROCESS
        && holder.id.starts_with(&this_process())
        && std::path::Path::new("/proc/self").exists()
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// The fingerprint of a process's [`this_process`] when it cannot be told.
const UNKNOWN_PROCESS: &str = "00000000";

/// Eight hex digits naming the kernel boot and pid namespace this process runs in (Linux's
/// `boot_id` and `/proc/self/ns/pid`): the prefix of our lease ids, so that a lease's pid is
/// checked only on the machine and in the namespace that gave it.
pub fn this_process() -> String {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok();
    let ns = std::fs::read_link("/proc/self/ns/pid").ok();
    match (boot, ns) {
        (Some(b), Some(n)) => {
            let g = uuid::Uuid::new_v5(
                &uuid::Uuid::NAMESPACE_OID,
                format!("{}|{}", b.trim(), n.display()).as_bytes(),
            );
            g.simple().to_string()[..8].to_string()
        }
        _ => UNKNOWN_PROCESS.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_lease_of_a_process_that_ended_on_this_host_is_not_waited_for() {
        let lease = |owner: String| Lease {
            owner,
            since: datetime!(2026-12-05 18:00:00 UTC),
            until: datetime!(2026-12-05 18:02:00 UTC),
            id: format!("{}0123", this_process()),
        };
        let host = host_name();
        // A pid far above Linux's pid_max: no such process.
        assert_eq!(
            holder_is_gone(&lease(format!("alice@{host} (pid 999999999)"))),
            cfg!(target_os = "linux")
        );
        assert!(!holder_is_gone(&lease(format!(
            "alice@{host} (pid {})",
            std::process::id()
        ))));
        assert!(!holder_is_gone(&lease(
            "alice@elsewhere (pid 999999999)".into()
        )));
        assert!(!holder_is_gone(&lease("octo/repo run 42 (octocat)".into())));
        // Same host name and a dead pid, but another kernel or pid namespace: not ours to judge.
        let elsewhere = Lease {
            id: "ffffffff0123".into(),
            ..lease(format!("alice@{host} (pid 999999999)"))
        };
        assert!(!holder_is_gone(&elsewhere));
    }
}
