//! Taking, keeping and releasing apply's leases on the vaults a plan writes (`model::lease`): two
//! applies that would write the same vault never run at once.
//!
//! Taking a lease is Fischer's timed mutual exclusion over ARM's tags (no compare-and-swap is
//! offered there): read every vault's lease tag; if one is held by a live apply, stop; else write
//! ours, wait longer than another apply's read-then-write may take ([`SETTLE`], which each apply
//! holds its own read-then-write to), and read
//! again — a vault whose tag is no longer ours was taken by an apply that read before we wrote,
//! and we back off. All vaults are taken together (one settle wait) and, when one is held, the
//! others are given back before waiting, so two applies never hold half each.
//!
//! A lease lasts [`LEASE_DURATION`] and is renewed while apply runs; it is removed when apply
//! ends, and a killed apply's lease expires by itself. A lease held by a process of this host
//! that no longer runs is taken over at once (Linux: `/proc`).
//!
//! Must not import: `render`, `cli`, `config`, `ops`.

mod holder;
mod written;

pub use holder::{default_owner, this_process};
pub use written::{is_vault_creation, vaults_written, Written};

use crate::azure::{ArmClient, AzureError};
use crate::model::lease::{self, Lease};
use crate::model::{ArmId, ArmRequest, Method};
use crate::progress::Progress;
use holder::holder_is_gone;
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// The bound of Fischer's exclusion: an apply's read-then-write of the lease must be acknowledged
/// within it (else it backs off and tries again), and every apply waits this long after writing
/// before it reads the tag back.
pub const SETTLE: Duration = Duration::from_millis(1000);
/// Tries when our own read-then-write is slower than [`SETTLE`] (throttling, a slow link).
const SLOW_ATTEMPTS: usize = 3;

/// How taking leases ended, when it did not.
enum Taking {
    Locked(LeaseError),
    Failed(LeaseError),
    Slow,
}

impl From<LeaseError> for Taking {
    fn from(e: LeaseError) -> Self {
        Taking::Failed(e)
    }
}

fn too_slow(vault: &ArmId) -> LeaseError {
    LeaseError::Slow {
        vault: lease::vault_address(vault).to_string(),
        attempts: SLOW_ATTEMPTS,
    }
}

/// How long a lease lasts unless renewed: how long a killed apply keeps others waiting.
pub const LEASE_DURATION: Duration = Duration::from_secs(120);
/// How often a held lease is renewed.
pub const RENEW_EVERY: Duration = Duration::from_secs(40);

/// How apply leases its vaults.
#[derive(Debug, Clone)]
pub struct LeaseOptions {
    /// How long to wait for a vault another apply holds (`--lock-timeout`); zero: fail at once.
    pub timeout: Duration,
    /// Who we are, as others will read it: [`default_owner`].
    pub owner: String,
}

impl LeaseOptions {
    pub fn new(timeout: Duration) -> Self {
        LeaseOptions {
            timeout,
            owner: default_owner(),
        }
    }
}

/// Why apply did not get its leases.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LeaseError {
    #[error("{vault} is being changed by another apply: {holder}; nothing was applied")]
    #[diagnostic(
        code(azprotect::apply::locked),
        help("wait for that apply to end, or re-run with --lock-timeout 10m to wait for it; an apply that was killed leaves a lease that expires by itself at its 'until' time")
    )]
    Locked { vault: String, holder: String },
    #[error("could not lease {vault}: ARM took longer than a second to write its `azprotect-lease` tag, {attempts} times; nothing was applied")]
    #[diagnostic(
        code(azprotect::apply::lease_slow),
        help("two applies are told apart only when the tag is written promptly: try again when ARM answers faster")
    )]
    Slow { vault: String, attempts: usize },
    #[error("could not lease {vault} (the `azprotect-lease` tag): {source}")]
    #[diagnostic(
        code(azprotect::apply::lease),
        help("apply leases each vault it writes through ARM's Tags API: it needs Microsoft.Resources/tags/write on the vault (Contributor or Tag Contributor) and room for one more tag (a resource carries at most 50); --no-lock applies without leases when nothing else applies to these vaults")
    )]
    Azure {
        vault: String,
        #[source]
        source: Box<AzureError>,
    },
}

/// What one vault's tag said when read.
enum Seen {
    Free,
    Ours,
    Held(Lease),
}

/// The leases one apply holds.
pub struct Leases {
    client: ArmClient,
    lease: Mutex<Lease>,
    /// Vaults leased: lower-cased id → id.
    held: Mutex<BTreeSet<ArmId>>,
    renewer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Set when a lease is lost: no further change may start.
    lost: Mutex<Option<String>>,
}

impl Leases {
    fn new(client: &ArmClient, owner: &str) -> Arc<Leases> {
        let now = OffsetDateTime::now_utc();
        Arc::new(Leases {
            client: client.clone(),
            lease: Mutex::new(Lease {
                owner: owner.to_string(),
                since: now,
                until: now + LEASE_DURATION,
                id: format!(
                    "{}{}",
                    this_process(),
                    &uuid::Uuid::new_v4().simple().to_string()[..12]
                ),
            }),
            held: Mutex::new(BTreeSet::new()),
            renewer: Mutex::new(None),
            lost: Mutex::new(None),
        })
    }

    fn current(&self) -> Lease {
        self.lease.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn held(&self) -> Vec<ArmId> {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// How many vaults are leased.
    fn count(&self) -> usize {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    async fn see(&self, vault: &ArmId) -> Result<Option<Seen>, LeaseError> {
        let answer = self
            .client
            .get_optional(&lease::read_request(vault).path)
            .await
            .map_err(|e| azure(vault, e))?;
        let Some(answer) = answer else {
            return Ok(None);
        };
        let ours = self.current().id;
        Ok(Some(
            match lease::value_in_answer(&answer).and_then(Lease::parse) {
                None => Seen::Free,
                Some(l) if l.id == ours => Seen::Ours,
                Some(l) if l.expired(OffsetDateTime::now_utc()) || holder_is_gone(&l) => Seen::Free,
                Some(l) => Seen::Held(l),
            },
        ))
    }

    /// Take every vault of `vaults` once, or none (`Err(Locked)` names the first held;
    /// `Err(Slow)` when our own read-then-write outlasted [`SETTLE`], which the exclusion
    /// needs it not to). `meanwhile` runs while the settle wait does (and for as long as it
    /// needs): its output is returned with the vaults taken.
    async fn take_all<T>(
        &self,
        vaults: &[ArmId],
        meanwhile: impl Future<Output = T>,
    ) -> Result<T, Taking> {
        let started = Instant::now();
        let seen = futures::future::try_join_all(vaults.iter().map(|v| self.see(v))).await?;
        if let Some((v, l)) = held_one(vaults, seen) {
            return Err(Taking::Locked(locked(v, &l)));
        }
        // A lease taken (or taken again after waiting) lasts from now.
        let value = {
            let first = self.count() == 0;
            let mut l = self.lease.lock().unwrap_or_else(|p| p.into_inner());
            let now = OffsetDateTime::now_utc();
            if first {
                l.since = now;
            }
            l.until = now + LEASE_DURATION;
            l.value()
        };
        futures::future::try_join_all(vaults.iter().map(|v| async {
            // Counted as held before it is written: an apply cut off while the write is in
            // flight still releases it (release removes only a tag with our id).
            self.held
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(v.clone());
            let req = lease::merge_request(v, &value);
            match self.client.execute_discarding(&req).await {
                Ok(()) => Ok(()),
                // Gone since it was read (deleted meanwhile): nothing to lease.
                Err(e) if e.status() == Some(404) => Ok(()),
                Err(e) => Err(azure(v, e)),
            }
        }))
        .await?;
        if started.elapsed() > SETTLE {
            return Err(Taking::Slow);
        }
        let ((), out) = futures::join!(tokio::time::sleep(SETTLE), meanwhile);
        // Every vault must now carry our lease (or be gone): anything else — another apply's
        // lease, none, an expired one — means another apply wrote after us.
        let seen = futures::future::try_join_all(vaults.iter().map(|v| self.see(v))).await?;
        for (v, s) in vaults.iter().zip(seen) {
            match s {
                None | Some(Seen::Ours) => {}
                Some(Seen::Held(l)) => return Err(Taking::Locked(locked(v, &l))),
                Some(Seen::Free) => {
                    return Err(Taking::Locked(LeaseError::Locked {
                        vault: lease::vault_address(v).to_string(),
                        holder: "another apply that took it at the same moment".into(),
                    }))
                }
            }
        }
        Ok(out)
    }

    /// Lease a vault the plan has just created (refused if another apply got it first).
    pub async fn take_new(&self, vault: &ArmId) -> Result<(), LeaseError> {
        for _ in 0..SLOW_ATTEMPTS {
            match self.take_all(std::slice::from_ref(vault), async {}).await {
                Ok(()) => return Ok(()),
                Err(Taking::Slow) => continue,
                Err(Taking::Locked(e) | Taking::Failed(e)) => return Err(e),
            }
        }
        Err(too_slow(vault))
    }

    /// Why changes must stop: a lease was lost (another apply holds the vault now, or it could
    /// not be renewed before it expired).
    pub fn lost(&self) -> Option<String> {
        self.lost.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Carry the lease along in a write of a leased vault's tags (a vault's update sends all its
    /// tags: without this, it would remove the lease).
    pub fn keep_in(&self, req: &mut ArmRequest) {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        carry(req, &held, || self.current().value());
    }

    /// Renew the held leases every [`RENEW_EVERY`] until released (or dropped).
    fn keep_renewing(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                let Some(leases) = me.upgrade() else { return };
                leases.renew().await;
            }
        });
        *self.renewer.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
    }

    /// Renew each held lease that is still ours; one that is not, or that expires before it
    /// could be renewed, is lost (no further change starts).
    async fn renew(&self) {
        let (value, old_until) = {
            let mut l = self.lease.lock().unwrap_or_else(|p| p.into_inner());
            let old = l.until;
            l.until = OffsetDateTime::now_utc() + LEASE_DURATION;
            (l.value(), old)
        };
        let lose = |why: String| {
            tracing::warn!("{why}");
            self.lost
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(why);
        };
        for v in self.held() {
            let name = lease::vault_address(&v);
            match self.see(&v).await {
                Ok(None) => continue,
                Ok(Some(Seen::Held(other))) => {
                    lose(format!(
                        "{name} is now leased by another apply: {}",
                        other.describe()
                    ));
                    continue;
                }
                Ok(Some(Seen::Free)) => {
                    lose(format!("the lease on {name} was removed by someone else"));
                    continue;
                }
                Ok(Some(Seen::Ours)) | Err(_) => {}
            }
            if let Err(e) = self
                .client
                .execute_discarding(&lease::merge_request(&v, &value))
                .await
            {
                if OffsetDateTime::now_utc() >= old_until {
                    lose(format!(
                        "the lease on {name} expired: it could not be renewed ({e})"
                    ));
                } else {
                    tracing::warn!("could not renew the lease on {v} (trying again): {e}");
                }
            }
        }
    }

    /// Remove our lease tag from every vault that still carries it.
    pub async fn release(&self) {
        self.stop_renewing();
        let vaults = std::mem::take(&mut *self.held.lock().unwrap_or_else(|p| p.into_inner()));
        remove_ours(&self.client, vaults, &self.current().id).await;
    }

    fn stop_renewing(&self) {
        if let Some(t) = self
            .renewer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            t.abort();
        }
    }
}

/// Remove the lease tag with id `ours` from each of `vaults` that still carries it.
async fn remove_ours(client: &ArmClient, vaults: BTreeSet<ArmId>, ours: &str) {
    futures::future::join_all(vaults.iter().map(|v| async move {
        let Ok(Some(answer)) = client.get_optional(&lease::read_request(v).path).await else {
            return;
        };
        let Some(value) = lease::value_in_answer(&answer) else {
            return;
        };
        if Lease::parse(value).is_some_and(|l| l.id == ours) {
            if let Err(e) = client
                .execute_discarding(&lease::delete_request(v, value))
                .await
            {
                tracing::warn!("could not remove the lease on {v} (it expires by itself): {e}");
            }
        }
    }))
    .await;
}

impl Drop for Leases {
    /// An apply cut off before it released (its future dropped): release in the background,
    /// as far as the runtime lets it run; what is left expires by itself.
    fn drop(&mut self) {
        self.stop_renewing();
        let vaults = std::mem::take(self.held.get_mut().unwrap_or_else(|p| p.into_inner()));
        if vaults.is_empty() {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let (client, ours) = (self.client.clone(), self.current().id);
            rt.spawn(async move { remove_ours(&client, vaults, &ours).await });
        }
    }
}

/// `req` with the lease tag `value` added when it writes the tags of a vault in `held`.
/// The value is made only for such a write (most requests are not).
fn carry(req: &mut ArmRequest, held: &BTreeSet<ArmId>, value: impl FnOnce() -> String) {
    if !matches!(req.method, Method::Put | Method::Patch) {
        return;
    }
    let path = req.path.split('?').next().unwrap_or_default();
    if !held.contains(&ArmId::new(path)) {
        return;
    }
    if let Some(tags) = req
        .body
        .as_mut()
        .and_then(|b| b.get_mut("tags"))
        .and_then(serde_json::Value::as_object_mut)
    {
        tags.retain(|k, _| !k.eq_ignore_ascii_case(lease::TAG));
        tags.insert(lease::TAG.into(), value().into());
    }
}

fn held_one(vaults: &[ArmId], seen: Vec<Option<Seen>>) -> Option<(&ArmId, Lease)> {
    vaults.iter().zip(seen).find_map(|(v, s)| match s {
        Some(Seen::Held(l)) => Some((v, l)),
        _ => None,
    })
}

fn locked(vault: &ArmId, holder: &Lease) -> LeaseError {
    LeaseError::Locked {
        vault: lease::vault_address(vault).to_string(),
        holder: holder.describe(),
    }
}

fn azure(vault: &ArmId, e: AzureError) -> LeaseError {
    LeaseError::Azure {
        vault: lease::vault_address(vault).to_string(),
        source: Box::new(e),
    }
}

/// Lease `written.existing`, waiting up to `opts.timeout` for vaults another apply holds.
/// The leases are renewed until [`Leases::release`].
pub async fn acquire(
    client: &ArmClient,
    written: &Written,
    opts: &LeaseOptions,
    progress: &dyn Progress,
) -> Result<Arc<Leases>, LeaseError> {
    let (leases, ()) = acquire_reading(client, written, opts, progress, || async {}).await?;
    Ok(leases)
}

/// [`acquire`], running `read` during the settle wait of the attempt that takes the leases —
/// a read of Azure then sees it as the leases leave it: every apply that held a vault before
/// had released it, so had finished writing, when its tag was read free, and an apply that
/// takes a vault from us meanwhile makes the attempt (and its read) be thrown away.
pub async fn acquire_reading<T, F: Future<Output = T>>(
    client: &ArmClient,
    written: &Written,
    opts: &LeaseOptions,
    progress: &dyn Progress,
    read: impl Fn() -> F,
) -> Result<(Arc<Leases>, T), LeaseError> {
    let leases = Leases::new(client, &opts.owner);
    let vaults: Vec<ArmId> = written.existing.iter().cloned().collect();
    // Nothing to take, nothing to settle: the vaults the plan creates are leased as each comes
    // into being (`take_new`).
    let out = match vaults.is_empty() {
        true => read().await,
        false => take_waiting(&leases, &vaults, opts, progress, read).await?,
    };
    leases.keep_renewing();
    Ok((leases, out))
}

/// Take `vaults` (not empty) with `read` during the settle wait, waiting up to `opts.timeout`
/// for vaults another apply holds; nothing is left held on an error.
async fn take_waiting<T, F: Future<Output = T>>(
    leases: &Leases,
    vaults: &[ArmId],
    opts: &LeaseOptions,
    progress: &dyn Progress,
    read: impl Fn() -> F,
) -> Result<T, LeaseError> {
    let start = Instant::now();
    let deadline = start
        .checked_add(opts.timeout)
        .unwrap_or(start + Duration::from_secs(86_400 * 365));
    let mut told = false;
    let mut slow = 0;
    loop {
        match leases.take_all(vaults, read()).await {
            Ok(out) => return Ok(out),
            Err(Taking::Failed(e)) => {
                leases.release().await;
                return Err(e);
            }
            Err(Taking::Slow) => {
                leases.release().await;
                slow += 1;
                if slow >= SLOW_ATTEMPTS {
                    return Err(too_slow(&vaults[0]));
                }
            }
            Err(Taking::Locked(locked)) => {
                leases.release().await;
                let now = Instant::now();
                if now >= deadline {
                    return Err(locked);
                }
                if !told {
                    progress.note(&format!("{locked}; waiting for it (--lock-timeout)"));
                    told = true;
                }
                // Jitter, so that two waiting applies do not retry in step.
                let pause = Duration::from_millis(1000 + rand::random::<u64>() % 2000);
                tokio::time::sleep(pause.min(deadline - now)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, ResourceKind};
    use crate::plan::Change;

    #[tokio::test(start_paused = true)]
    async fn an_apply_that_writes_only_vaults_it_creates_does_not_wait_to_settle() {
        let client = ArmClient::new(crate::azure::offline_settings())
            .await
            .unwrap();
        let started = tokio::time::Instant::now();
        let opts = LeaseOptions::new(Duration::from_secs(300));
        let read = || async { "Azure as read" };
        let (leases, out) = acquire_reading(
            &client,
            &Written::default(),
            &opts,
            &crate::progress::Silent,
            read,
        )
        .await
        .unwrap();
        assert_eq!(out, "Azure as read");
        assert!(
            started.elapsed() < SETTLE,
            "waited {:?} with no lease to settle",
            started.elapsed()
        );
        assert_eq!(client.request_count(), 0);
        leases.release().await;
    }

    pub(super) fn change(kind: ResourceKind, action: Action, id: &str) -> Change {
        Change::new(
            crate::model::Address::new(kind, "x"),
            action,
            ArmId::new(id),
        )
    }

    #[test]
    fn a_write_of_a_leased_vaults_tags_carries_the_lease() {
        let v = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v";
        let held: BTreeSet<ArmId> = [ArmId::new(v)].into();
        let patch = |path: String, body: serde_json::Value| {
            ArmRequest::new(Method::Patch, path, Some(body))
        };
        let mut update = patch(
            format!("{v}?api-version=2026-02-01"),
            serde_json::json!({"tags": {"env": "prod", "AZPROTECT-LEASE": "stale"}}),
        );
        carry(&mut update, &held, || "ours".into());
        assert_eq!(
            update.body.unwrap()["tags"],
            serde_json::json!({"env": "prod", "azprotect-lease": "ours"})
        );
        // Not the vault's tags, or not a leased vault: untouched.
        for (path, body) in [
            (
                format!("{v}/backupPolicies/gold?api-version=2026-01-01"),
                serde_json::json!({"tags": {}}),
            ),
            (
                format!("{v}?api-version=2026-02-01"),
                serde_json::json!({"properties": {}}),
            ),
            (
                format!("{}2?api-version=2026-02-01", v),
                serde_json::json!({"tags": {}}),
            ),
        ] {
            let mut req = patch(path, body.clone());
            carry(&mut req, &held, || "ours".into());
            assert_eq!(req.body, Some(body));
        }
    }
}
