//! Cross-region restore (CRR) of a protected VM: restoring from the copy of a Recovery Services
//! vault's backups that Azure keeps in the vault's paired region when the vault is geo-redundant
//! with cross-region restore enabled. The requests and what their answers mean; `ops::restore_crr`
//! sends them.
//!
//! The calls, as `az backup restore restore-disks --use-secondary-region` makes them
//! (Azure/azure-cli `backup/custom.py` `restore_disks`, `_get_crr_access_token`;
//! `custom_help.py` `track_backup_crr_job`), through the "passive stamp" api-version
//! ([`PASSIVE`]):
//!
//! 1. the item's points in the secondary region: `GET {item}/recoveryPoints` at [`PASSIVE`]
//!    (Microsoft Learn, "Restore Azure VMs using REST API", *Cross Region Restore*);
//! 2. `GET /subscriptions/{s}/providers/Microsoft.RecoveryServices/locations/{secondary}/backupAadProperties`;
//! 3. `POST {point}/accessToken` with those properties → a `CrrAccessToken`;
//! 4. `POST …/locations/{secondary}/backupCrossRegionRestore` with
//!    `{crossRegionRestoreAccessDetails, restoreRequest}` (the ordinary `IaasVMRestoreRequest`,
//!    its `region` the secondary one) → 202, tracked through `backupCrrOperationsStatus`;
//! 5. the job, which lives in the secondary region: `POST …/locations/{secondary}/backupCrrJob`
//!    with `{resourceId: vault, jobName}`; the vault's CRR jobs: `POST …/backupCrrJobs`.
//!
//! Only a geo-redundant vault with `redundancySettings.crossRegionRestore: Enabled` has a
//! secondary copy (recording azure-cli/test_backup_protection.yaml #3 shows the vault's
//! `redundancySettings`). Azure replicates a point's vault-tier copy "up to 12 hours" after the
//! backup (Microsoft Learn, backup-create-rs-vault, *Set Cross Region Restore*). A restore in the
//! secondary region needs a target resource group: the CLI refuses one without
//! (`_validators.py` `validate_crr`), so a VM's disks cannot be replaced from there.
//!
//! Must not import: the `azure` transport, `cli`.

use super::{ArmId, ArmRequest, Method};
use serde_json::{json, Value};

/// The api-version of Azure Backup's secondary-region ("passive stamp") surface, as the
/// CLI's `azure-mgmt-recoveryservicesbackup.passivestamp` sends it (tag
/// `package-passivestamp-2021-11-15`).
pub const PASSIVE: &str = "2021-11-15";

/// How long Azure may take to copy a point to the secondary region (Microsoft Learn,
/// backup-create-rs-vault: "can take up to 12 hours to replicate the backup data").
pub const REPLICATION_LAG_SECS: i64 = 12 * 3_600;

/// Azure's region pairs for cross-region restore, as the az CLI maps a vault's region to the
/// region it restores into (`backup/custom.py` `secondary_region_map`).
const PAIRS: &[(&str, &str)] = &[
    ("australiacentral", "australiacentral2"),
    ("australiacentral2", "australiacentral"),
    ("australiaeast", "australiasoutheast"),
    ("australiasoutheast", "australiaeast"),
    ("brazilsouth", "southcentralus"),
    ("brazilsoutheast", "brazilsouth"),
    ("canadacentral", "canadaeast"),
    ("canadaeast", "canadacentral"),
    ("centralindia", "southindia"),
    ("centralus", "eastus2"),
    ("eastasia", "southeastasia"),
    ("eastus", "westus"),
    ("eastus2", "centralus"),
    ("francecentral", "francesouth"),
    ("francesouth", "francecentral"),
    ("germanynorth", "germanywestcentral"),
    ("germanywestcentral", "germanynorth"),
    ("japaneast", "japanwest"),
    ("japanwest", "japaneast"),
    ("jioindiacentral", "jioindiawest"),
    ("jioindiawest", "jioindiacentral"),
    ("koreacentral", "koreasouth"),
    ("koreasouth", "koreacentral"),
    ("northcentralus", "southcentralus"),
    ("northeurope", "westeurope"),
    ("norwayeast", "norwaywest"),
    ("norwaywest", "norwayeast"),
    ("southafricanorth", "southafricawest"),
    ("southafricawest", "southafricanorth"),
    ("southcentralus", "northcentralus"),
    ("southeastasia", "eastasia"),
    ("southindia", "centralindia"),
    ("swedencentral", "swedensouth"),
    ("swedensouth", "swedencentral"),
    ("switzerlandnorth", "switzerlandwest"),
    ("switzerlandwest", "switzerlandnorth"),
    ("uaecentral", "uaenorth"),
    ("uaenorth", "uaecentral"),
    ("uksouth", "ukwest"),
    ("ukwest", "uksouth"),
    ("westcentralus", "westus2"),
    ("westeurope", "northeurope"),
    ("westindia", "southindia"),
    ("westus", "eastus"),
    ("westus2", "westcentralus"),
    ("westus3", "eastus"),
];

/// The region a vault in `region` (any spelling: `West Europe`, `westeurope`) restores into
/// across regions.
pub fn paired_region(region: &str) -> Option<&'static str> {
    let r: String = region
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    PAIRS.iter().find(|(a, _)| *a == r).map(|(_, b)| *b)
}

/// Whether a vault (its ARM body) keeps a secondary copy to restore from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultCrr {
    Enabled,
    /// Why not: its storage redundancy, or cross-region restore switched off.
    Disabled(String),
}

/// A vault's `redundancySettings` read (recording test_backup_protection.yaml #3:
/// `{"standardTierStorageRedundancy": "GeoRedundant", "crossRegionRestore": "Disabled"}`).
pub fn vault_crr(vault: &Value) -> VaultCrr {
    let r = &vault["properties"]["redundancySettings"];
    let redundancy = r["standardTierStorageRedundancy"]
        .as_str()
        .unwrap_or("GeoRedundant");
    if !redundancy.eq_ignore_ascii_case("GeoRedundant") {
        return VaultCrr::Disabled(format!(
            "its storage is {redundancy}: only a GeoRedundant vault keeps a copy in its paired region"
        ));
    }
    if !r["crossRegionRestore"]
        .as_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("Enabled"))
    {
        return VaultCrr::Disabled(
            "cross-region restore is not enabled on it (cross_region_restore: true)".into(),
        );
    }
    VaultCrr::Enabled
}

/// `GET {item}/recoveryPoints` in the secondary region.
pub fn points_path(item: &ArmId) -> String {
    format!("{item}/recoveryPoints?api-version={PASSIVE}")
}

fn location(sub: &str, region: &str, what: &str) -> String {
    format!("/subscriptions/{sub}/providers/Microsoft.RecoveryServices/locations/{region}/{what}?api-version={PASSIVE}")
}

/// `GET {vault}/backupProtectedItems` in the secondary region: the VMs that have a point there
/// (the CLI's `show_item` with `use_secondary_region`).
pub fn items_path(vault: &ArmId) -> String {
    format!("{vault}/backupProtectedItems?api-version={PASSIVE}&$filter=backupManagementType eq 'AzureIaasVM' and itemType eq 'VM'")
}

/// `GET …/locations/{region}/backupAadProperties`: the identity the secondary region's
/// service trusts.
pub fn aad_properties_path(sub: &str, region: &str) -> String {
    location(sub, region, "backupAadProperties")
}

/// `POST {point}/accessToken` with the AAD properties' answer as its body.
pub fn access_token_request(point: &ArmId, aad: &Value) -> ArmRequest {
    ArmRequest::new(
        Method::Post,
        format!("{point}/accessToken?api-version={PASSIVE}"),
        Some(json!({"properties": aad["properties"].clone()})),
    )
}

/// `POST …/locations/{region}/backupCrossRegionRestore`: the access token's `properties`
/// (`objectType: CrrAccessToken`, as the CLI sets it) and the restore request's `properties`.
pub fn trigger_request(sub: &str, region: &str, token: &Value, restore: &Value) -> ArmRequest {
    let mut access = token["properties"].clone();
    access["objectType"] = json!("CrrAccessToken");
    ArmRequest::new(
        Method::Post,
        location(sub, region, "backupCrossRegionRestore"),
        Some(json!({
            "crossRegionRestoreAccessDetails": access,
            "restoreRequest": restore["properties"].clone(),
        })),
    )
}

/// `POST …/locations/{region}/backupCrrJobs`: the vault's jobs in the secondary region.
pub fn jobs_request(sub: &str, region: &str, vault: &ArmId) -> ArmRequest {
    ArmRequest::new(
        Method::Post,
        location(sub, region, "backupCrrJobs"),
        Some(json!({"resourceId": vault})),
    )
}

/// `POST …/locations/{region}/backupCrrJob`: one job (`jobName`: the last segment of its id).
pub fn job_request(sub: &str, region: &str, vault: &ArmId, job: &ArmId) -> ArmRequest {
    ArmRequest::new(
        Method::Post,
        location(sub, region, "backupCrrJob"),
        Some(json!({"resourceId": vault, "jobName": job.name()})),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const POINT: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/backupFabrics/Azure/protectionContainers/IaasVMContainer;iaasvmcontainerv2;rg-app;app-01/protectedItems/VM;iaasvmcontainerv2;rg-app;app-01/recoveryPoints/22493304464643";

    #[test]
    fn a_vault_restores_into_its_paired_region() {
        assert_eq!(paired_region("westeurope"), Some("northeurope"));
        assert_eq!(paired_region("West Europe"), Some("northeurope"));
        assert_eq!(paired_region("northeurope"), Some("westeurope"));
        assert_eq!(paired_region("mars"), None);
    }

    #[test]
    fn only_a_geo_redundant_vault_with_crr_enabled_allows_it() {
        let v = |red: &str, crr: &str| json!({"properties": {"redundancySettings": {"standardTierStorageRedundancy": red, "crossRegionRestore": crr}}});
        assert_eq!(vault_crr(&v("GeoRedundant", "Enabled")), VaultCrr::Enabled);
        assert!(
            matches!(vault_crr(&v("GeoRedundant", "Disabled")), VaultCrr::Disabled(w) if w.contains("not enabled"))
        );
        assert!(
            matches!(vault_crr(&v("LocallyRedundant", "Disabled")), VaultCrr::Disabled(w) if w.contains("LocallyRedundant"))
        );
        assert!(
            matches!(vault_crr(&v("ZoneRedundant", "Disabled")), VaultCrr::Disabled(w) if w.contains("ZoneRedundant"))
        );
    }

    #[test]
    fn the_trigger_carries_the_token_and_the_restore_request() {
        let aad = json!({"properties": {"tenantId": "t", "audience": "https://RecoveryServices/IaasCoord/aadmgmt/neu", "servicePrincipalObjectId": "o"}});
        let at = access_token_request(&ArmId::new(POINT), &aad);
        assert_eq!(at.method, Method::Post);
        assert_eq!(
            at.path,
            format!("{POINT}/accessToken?api-version=2021-11-15")
        );
        assert_eq!(
            at.body.unwrap()["properties"]["audience"],
            "https://RecoveryServices/IaasCoord/aadmgmt/neu"
        );
        let token =
            json!({"properties": {"accessTokenString": "x", "recoveryPointId": "22493304464643"}});
        let restore =
            json!({"properties": {"objectType": "IaasVMRestoreRequest", "region": "northeurope"}});
        let t = trigger_request("s", "northeurope", &token, &restore);
        assert_eq!(t.path, "/subscriptions/s/providers/Microsoft.RecoveryServices/locations/northeurope/backupCrossRegionRestore?api-version=2021-11-15");
        let b = t.body.unwrap();
        assert_eq!(
            b["crossRegionRestoreAccessDetails"]["objectType"],
            "CrrAccessToken"
        );
        assert_eq!(
            b["crossRegionRestoreAccessDetails"]["accessTokenString"],
            "x"
        );
        assert_eq!(b["restoreRequest"]["region"], "northeurope");
        let vault = ArmId::new(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v",
        );
        let j = job_request(
            "s",
            "northeurope",
            &vault,
            &ArmId::new(format!("{vault}/backupJobs/abc")),
        );
        assert_eq!(
            j.body.unwrap(),
            json!({"resourceId": vault.as_str(), "jobName": "abc"})
        );
    }
}
