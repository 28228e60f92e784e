//! Seeded fault injection. The spec is a comma-separated list of `key=value`:
//!
//! * `seed=N` — RNG seed (default 0); the same seed and request sequence give the same faults;
//! * `429=P`, `500=P`, `503=P` — probability of answering with that status (ARM error body;
//!   429 and 503 carry ARM's `Retry-After`, scaled by the time scale in whole seconds);
//! * `drop=P` — probability of closing the connection without an answer;
//! * `lro_fail=P` — probability that a started long-running operation ends `Failed`;
//! * `garble=P` — probability that a successful answer's body arrives malformed (`garble.rs`:
//!   truncated, a value of the wrong type, keys in odd casing, a key missing, a huge array). Not
//!   something Azure is known to do: a test that a client survives what it cannot parse;
//! * `restore_fail=VM` — every restore of the VM named `VM` (its recovery points, any vault)
//!   fails as a restore whose VM size is not available in the target region does:
//!   `UserErrorSkuNotAvailable` (Microsoft Learn, "Troubleshoot backup failures on Azure VMs",
//!   restore errors). Repeat it for several VMs. What a restore drill's failing VM needs.
//! * `region_down=REGION` — Azure Backup in that region is down: its Recovery Services backup
//!   routes answer 503 `ServiceUnavailable` (`protection::crr::region_down` says which: a
//!   vault's own there, and the copies it keeps for its paired vaults); the vault resources
//!   still answer. Repeat it for several regions.
//!   What a cross-region restore is for.
//! * `backup_fail=VM` — the scheduled backups of the VM named `VM` (any vault; `RG/VM` names
//!   one resource group's) fail as they do
//!   when the VM agent cannot be reached: after its first backup no scheduled run makes a
//!   recovery point, so its newest point ages past the policy's RPO as simulated time passes
//!   (the item's `lastRecoveryPoint` is stamped at its simulated age: the real time since it
//!   over the time scale, so that a client's clock sees the RPO go by);
//!   the item says `lastBackupStatus: "Failed"` with `healthStatus: "ActionRequired"`, and each
//!   failed run is a `Backup` job `Failed` with `UserErrorGuestAgentStatusUnavailable`
//!   ("VM Agent unable to communicate with the Azure Backup Service", Microsoft Learn,
//!   "Troubleshoot backup failures on Azure virtual machines"). Repeat it for several VMs.
//! * `first_backup_fail=VM` — as `backup_fail=`, and the VM's first backup fails too: the item
//!   stays `protectionState: "IRPending"` (FACTS §4: the state before the first backup) with
//!   `lastBackupStatus: "Failed"` and no recovery point, and the VM's jobs (its
//!   `ConfigureBackup` among them) are stamped at their simulated age, as the point of
//!   `backup_fail=` is, so that a client's clock sees the time since protection go by.
//!   What a VM protected long ago that never got a recovery point looks like.
//! * `replication_degraded=VM` — Site Recovery replication of the VM named `VM` falls behind:
//!   its replicated item says `replicationHealth: "Critical"` with a health error, and its
//!   `rpoInSeconds` grows with simulated time since replication became protected. Repeat it
//!   for several VMs. What `azprotect status` reports.
//!
//!   The errors these two faults plant are shaped as recorded ones (a protected item's
//!   `healthDetails`, a job's error, a replicated item's `healthErrors`, A2A #73), but the
//!   numeric codes (the health detail's 400044, the health error's 153020) and the RPO alert's
//!   wording are UNCONFIRMED: no recording has a failing backup or a lagging replication.
//!
//! * `graph_fail_after=N` — every Azure Resource Graph query after the first `N` (retries
//!   included) answers 503 `ServiceUnavailable`, as a random 503 does: what a client does when
//!   Resource Graph fails part-way through its discovery. Not a known Azure behaviour in that
//!   order: a test that a client falls back to its lists.
//!
//! Example: `seed=7,429=0.05,500=0.02,503=0.02,drop=0.01,lro_fail=0.02`. Faults apply to ARM
//! routes only (not the token endpoint) and are decided before the request is handled, so a
//! faulted request has no effect on state.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::errors::ArmError;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultSpec {
    pub seed: u64,
    pub p429: f64,
    pub p500: f64,
    pub p503: f64,
    pub drop: f64,
    pub lro_fail: f64,
    pub garble: f64,
    /// Names of VMs whose restores fail.
    pub restore_fail: Vec<String>,
    /// Regions whose Azure Backup service is down (normalized names).
    pub region_down: Vec<String>,
    /// Names of VMs whose scheduled backups fail.
    pub backup_fail: Vec<String>,
    /// Names of VMs whose first backup fails too.
    pub first_backup_fail: Vec<String>,
    /// Names of VMs whose replication is degraded.
    pub replication_degraded: Vec<String>,
    /// Resource Graph queries answered before the rest fail.
    pub graph_fail_after: Option<u64>,
}

impl FaultSpec {
    pub fn parse(spec: &str) -> Result<FaultSpec, String> {
        let mut f = FaultSpec::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("fault spec entry '{part}' is not key=value"))?;
            if k == "restore_fail" {
                f.restore_fail.push(v.to_string());
                continue;
            }
            if k == "first_backup_fail" {
                f.first_backup_fail.push(v.to_string());
                continue;
            }
            if k == "backup_fail" {
                f.backup_fail.push(v.to_string());
                continue;
            }
            if k == "replication_degraded" {
                f.replication_degraded.push(v.to_string());
                continue;
            }
            if k == "region_down" {
                f.region_down
                    .push(crate::model::resource_group::normalize_location(v));
                continue;
            }
            if k == "graph_fail_after" {
                let n = v
                    .parse()
                    .map_err(|_| format!("graph_fail_after '{v}' is not a count of queries"))?;
                f.graph_fail_after = Some(n);
                continue;
            }
            if k == "seed" {
                f.seed = v
                    .parse()
                    .map_err(|_| format!("fault seed '{v}' is not an integer"))?;
                continue;
            }
            let p: f64 = v
                .parse()
                .map_err(|_| format!("fault probability '{v}' for '{k}' is not a number"))?;
            if !(0.0..=1.0).contains(&p) {
                return Err(format!(
                    "fault probability for '{k}' must be between 0 and 1, got {p}"
                ));
            }
            match k {
                "429" => f.p429 = p,
                "500" => f.p500 = p,
                "503" => f.p503 = p,
                "drop" => f.drop = p,
                "lro_fail" => f.lro_fail = p,
                "garble" => f.garble = p,
                _ => {
                    return Err(format!(
                        "unknown fault '{k}' (expected seed, 429, 500, 503, drop, lro_fail, garble, restore_fail, region_down, backup_fail, first_backup_fail, replication_degraded, graph_fail_after)"
                    ))
                }
            }
        }
        if f.p429 + f.p500 + f.p503 + f.drop > 1.0 {
            return Err("fault probabilities 429+500+503+drop add up to more than 1".into());
        }
        Ok(f)
    }
}

/// Does one of `entries` (`NAME` or `RG/NAME`, case-insensitive) name the VM?
fn names_vm(entries: &[String], rg: &str, name: &str) -> bool {
    entries.iter().any(|e| match e.split_once('/') {
        Some((r, n)) => r.eq_ignore_ascii_case(rg) && n.eq_ignore_ascii_case(name),
        None => e.eq_ignore_ascii_case(name),
    })
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    None,
    Drop,
    Status(u16),
}

pub struct Faults {
    pub spec: FaultSpec,
    /// Resource Graph queries seen (`graph_fail_after`).
    graph_queries: AtomicU64,
    rng: Mutex<StdRng>,
    lro_rng: Mutex<StdRng>,
    garble_rng: Mutex<StdRng>,
}

impl Faults {
    pub fn new(spec: FaultSpec) -> Faults {
        Faults {
            graph_queries: AtomicU64::new(0),
            rng: Mutex::new(StdRng::seed_from_u64(spec.seed)),
            lro_rng: Mutex::new(StdRng::seed_from_u64(spec.seed ^ 0x5eed_1a0f)),
            garble_rng: Mutex::new(StdRng::seed_from_u64(spec.seed ^ 0x6a7b_1e00)),
            spec,
        }
    }

    /// Draw the fault for the next ARM request.
    pub fn next_request(&self) -> Fault {
        let x: f64 = match self.rng.lock() {
            Ok(mut r) => r.random(),
            Err(_) => return Fault::None,
        };
        let s = &self.spec;
        let mut acc = s.p429;
        if x < acc {
            return Fault::Status(429);
        }
        acc += s.p500;
        if x < acc {
            return Fault::Status(500);
        }
        acc += s.p503;
        if x < acc {
            return Fault::Status(503);
        }
        acc += s.drop;
        if x < acc {
            return Fault::Drop;
        }
        Fault::None
    }

    /// Whether the next Resource Graph query fails (`graph_fail_after=`).
    pub fn next_graph_query_fails(&self) -> bool {
        let seen = self.graph_queries.fetch_add(1, Ordering::Relaxed);
        self.spec.graph_fail_after.is_some_and(|n| seen >= n)
    }

    /// Whether restores of the VM `name` fail (`restore_fail=`).
    pub fn restore_fails(&self, name: &str) -> bool {
        self.spec
            .restore_fail
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name))
    }

    /// Whether the scheduled backups of the VM `name` of resource group `rg` fail
    /// (`backup_fail=NAME` or `backup_fail=RG/NAME`).
    pub fn backup_fails(&self, rg: &str, name: &str) -> bool {
        names_vm(&self.spec.backup_fail, rg, name) || self.first_backup_fails(rg, name)
    }

    /// Whether the first backup of the VM fails too (`first_backup_fail=NAME` or `…=RG/NAME`).
    pub fn first_backup_fails(&self, rg: &str, name: &str) -> bool {
        names_vm(&self.spec.first_backup_fail, rg, name)
    }

    /// Whether the replication of the VM named `name` is degraded (`replication_degraded=`).
    pub fn replication_degraded(&self, name: &str) -> bool {
        self.spec
            .replication_degraded
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name))
    }

    /// Whether Azure Backup in `region` (any spelling) is down (`region_down=`).
    pub fn region_down(&self, region: &str) -> bool {
        let r = crate::model::resource_group::normalize_location(region);
        self.spec.region_down.contains(&r)
    }

    /// Whether the next long-running operation fails.
    pub fn next_lro_fails(&self) -> bool {
        if self.spec.lro_fail <= 0.0 {
            return false;
        }
        match self.lro_rng.lock() {
            Ok(mut r) => r.random::<f64>() < self.spec.lro_fail,
            Err(_) => false,
        }
    }
}

impl Faults {
    /// The body of a successful answer, garbled with probability `garble`.
    pub fn maybe_garble(&self, body: String) -> String {
        if self.spec.garble <= 0.0 {
            return body;
        }
        let Ok(mut rng) = self.garble_rng.lock() else {
            return body;
        };
        if rng.random::<f64>() >= self.spec.garble {
            return body;
        }
        super::garble::garble(&body, &mut *rng)
    }
}

/// The error answered for an injected status.
pub fn fault_error(status: u16, time_scale: f64) -> ArmError {
    match status {
        429 => {
            let mut e = ArmError::new(429, "TooManyRequests", "The request is being throttled as the limit has been reached for operation type - 'Read'. (injected fault)");
            e.headers.push(super::lro::retry_after(10, time_scale));
            e
        }
        503 => {
            let mut e = ArmError::new(
                503,
                "ServiceUnavailable",
                "The service is temporarily unavailable. Please retry. (injected fault)",
            );
            e.headers.push(super::lro::retry_after(10, time_scale));
            e
        }
        _ => ArmError::new(
            500,
            "InternalServerError",
            "Encountered internal server error. Please try again. (injected fault)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_determinism() {
        let spec = FaultSpec::parse("seed=7,429=0.2,500=0.1,drop=0.1,lro_fail=0.5").unwrap();
        assert_eq!(spec.seed, 7);
        let a = Faults::new(spec.clone());
        let b = Faults::new(spec);
        let sa: Vec<_> = (0..50).map(|_| a.next_request()).collect();
        let sb: Vec<_> = (0..50).map(|_| b.next_request()).collect();
        assert_eq!(sa, sb);
        assert!(sa.contains(&Fault::Status(429)));
        assert!(FaultSpec::parse("429=2").is_err());
        assert!(FaultSpec::parse("bogus=0.1").is_err());
        assert!(FaultSpec::parse("429").is_err());
    }

    #[test]
    fn backups_fail_and_replication_degrades_for_the_vms_named() {
        let f = Faults::new(
            FaultSpec::parse("backup_fail=db-01,backup_fail=web-02,replication_degraded=App-01")
                .unwrap(),
        );
        assert!(
            f.backup_fails("rg", "DB-01")
                && f.backup_fails("rg", "web-02")
                && !f.backup_fails("rg", "app-01")
        );
        let g = Faults::new(FaultSpec::parse("backup_fail=rg-b/app-01").unwrap());
        assert!(g.backup_fails("RG-B", "app-01") && !g.backup_fails("rg-a", "app-01"));
        assert!(f.replication_degraded("app-01") && !f.replication_degraded("db-01"));
    }

    #[test]
    fn resource_graph_fails_after_the_queries_named() {
        let f = Faults::new(FaultSpec::parse("graph_fail_after=2").unwrap());
        let fails: Vec<bool> = (0..4).map(|_| f.next_graph_query_fails()).collect();
        assert_eq!(fails, [false, false, true, true]);
        let never = Faults::new(FaultSpec::parse("seed=1").unwrap());
        assert!(!(0..4).any(|_| never.next_graph_query_fails()));
        assert!(FaultSpec::parse("graph_fail_after=-1").is_err());
    }

    #[test]
    fn a_region_goes_down_by_name() {
        let f =
            Faults::new(FaultSpec::parse("region_down=West Europe,region_down=eastus").unwrap());
        assert!(f.region_down("westeurope"));
        assert!(f.region_down("East US"));
        assert!(!f.region_down("northeurope"));
        assert_eq!(f.next_request(), Fault::None, "no random fault with it");
    }
}
