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
//!    with `{resourceId: vault, jobName}`, the job's name from the trigger's operation status.
//!
//! Only a geo-redundant vault with `redundancySettings.crossRegionRestore: Enabled` has a
//! secondary copy (recording azure-cli/test_backup_protection.yaml #3 shows the vault's
//! `redundancySettings`). Azure replicates a point's vault-tier copy "up to 12 hours" after the
//! backup (Microsoft Learn, backup-create-rs-vault, *Set Cross Region Restore*). A restore in the
//! secondary region needs a target resource group: the CLI refuses one without
//! (`_validators.py` `validate_crr`), so a VM's disks cannot be replaced from there.
//!
//! Must not import: `azure`, `cli`, `plan`, `apply`, `ops` (as all of `model`).

use super::resource_group::normalize_location;
use super::{ArmId, ArmRequest, Method};
use serde_json::{json, Value};

/// The api-version of Azure Backup's secondary-region ("passive stamp") surface, as the
/// CLI's `azure-mgmt-recoveryservicesbackup.passivestamp` sends it (tag
/// `package-passivestamp-2021-11-15`).
pub const PASSIVE: &str = "2021-11-15";

/// How long Azure may take to copy a point to the secondary region (Microsoft Learn,
/// backup-create-rs-vault: "can take up to 12 hours to replicate the backup data").
pub const REPLICATION_LAG_SECS: i64 = 12 * 3_600;

/// Azure's region pairs for cross-region restore, exactly as the az CLI maps a vault's region
/// to the region it restores into: `secondary_region_map` in Azure/azure-cli
/// `src/azure-cli/azure/cli/command_modules/backup/custom.py` (commit 33999a38), sovereign
/// clouds (China, Germany, US Gov, US DoD, US Nat/Sec, Bleu) and canary regions included. Its
/// one-way entries (brazilsouth → southcentralus, westus3 → eastus, westindia → southindia,
/// malaysiasouth → japanwest, …) are the CLI's; Microsoft Learn's "Azure cross-region
/// replication pairings" lists most of the same pairs.
const PAIRS: &[(&str, &str)] = &[
    ("australiacentral", "australiacentral2"),
    ("australiacentral2", "australiacentral"),
    ("australiaeast", "australiasoutheast"),
    ("australiasoutheast", "australiaeast"),
    ("bleufrancecentral", "bleufrancesouth"),
    ("bleufrancesouth", "bleufrancecentral"),
    ("brazilsouth", "southcentralus"),
    ("brazilsoutheast", "brazilsouth"),
    ("canadacentral", "canadaeast"),
    ("canadaeast", "canadacentral"),
    ("centralindia", "southindia"),
    ("centralus", "eastus2"),
    ("centraluseuap", "eastus2euap"),
    ("chinaeast", "chinanorth"),
    ("chinaeast2", "chinanorth2"),
    ("chinaeast3", "chinanorth3"),
    ("chinanorth", "chinaeast"),
    ("chinanorth2", "chinaeast2"),
    ("chinanorth3", "chinaeast3"),
    ("eastasia", "southeastasia"),
    ("eastus", "westus"),
    ("eastus2", "centralus"),
    ("eastus3", "westus3"),
    ("eastus2euap", "centraluseuap"),
    ("francecentral", "francesouth"),
    ("francesouth", "francecentral"),
    ("germanycentral", "germanynortheast"),
    ("germanynorth", "germanywestcentral"),
    ("germanynortheast", "germanycentral"),
    ("germanywestcentral", "germanynorth"),
    ("japaneast", "japanwest"),
    ("japanwest", "japaneast"),
    ("jioindiacentral", "jioindiawest"),
    ("jioindiawest", "jioindiacentral"),
    ("koreacentral", "koreasouth"),
    ("koreasouth", "koreacentral"),
    ("malaysiasouth", "japanwest"),
    ("northcentralus", "southcentralus"),
    ("northeastus5", "centralus"),
    ("northeurope", "westeurope"),
    ("norwayeast", "norwaywest"),
    ("norwaywest", "norwayeast"),
    ("southafricanorth", "southafricawest"),
    ("southafricawest", "southafricanorth"),
    ("southcentralus", "northcentralus"),
    ("southcentralus2", "westcentralus"),
    ("southeastasia", "eastasia"),
    ("southeastus", "westus3"),
    ("southeastus3", "westus3"),
    ("southeastus5", "centralus"),
    ("southindia", "centralindia"),
    ("southwestus", "centralus"),
    ("swedencentral", "swedensouth"),
    ("swedensouth", "swedencentral"),
    ("switzerlandnorth", "switzerlandwest"),
    ("switzerlandwest", "switzerlandnorth"),
    ("taiwannorth", "taiwannorthwest"),
    ("taiwannorthwest", "taiwannorth"),
    ("uaecentral", "uaenorth"),
    ("uaenorth", "uaecentral"),
    ("uksouth", "ukwest"),
    ("ukwest", "uksouth"),
    ("usdodcentral", "usdodeast"),
    ("usdodeast", "usdodcentral"),
    ("usgovarizona", "usgovtexas"),
    ("usgoviowa", "usgovvirginia"),
    ("usgovtexas", "usgovarizona"),
    ("usgovvirginia", "usgovtexas"),
    ("usnateast", "usnatwest"),
    ("usnatwest", "usnateast"),
    ("usseceast", "ussecwest"),
    ("ussecwest", "usseceast"),
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
    let r = normalize_location(region);
    PAIRS.iter().find(|(a, _)| *a == r).map(|(_, b)| *b)
}

/// Whether a vault (its ARM body) keeps a secondary copy to restore from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultCrr {
    Enabled,
    /// Why not: its storage redundancy, or cross-region restore switched off.
    Disabled(String),
}

/// A vault's `redundancySettings` read, through [`super::vault::normalize`] (recording
/// test_backup_protection.yaml #3: `{"standardTierStorageRedundancy": "GeoRedundant",
/// "crossRegionRestore": "Disabled"}`). A vault that does not say is GeoRedundant, Azure's default.
pub fn vault_crr(vault: &Value) -> VaultCrr {
    let n = super::vault::normalize(vault);
    let redundancy = n["storage_redundancy"].as_str().unwrap_or("GeoRedundant");
    if redundancy != "GeoRedundant" {
        return VaultCrr::Disabled(format!(
            "its storage is {redundancy}: only a GeoRedundant vault keeps a copy in its paired region"
        ));
    }
    if n["cross_region_restore"] != Value::Bool(true) {
        return VaultCrr::Disabled(
            "cross-region restore is not enabled on it (cross_region_restore: true)".into(),
        );
    }
    VaultCrr::Enabled
}

/// `GET {item}/recoveryPoints` in the secondary region.
pub fn points_path(item: &ArmId) -> String {
    super::recovery_point::vm_points_path_at(item, PASSIVE)
}

fn location(sub: &str, region: &str, what: &str) -> String {
    format!("/subscriptions/{sub}/providers/Microsoft.RecoveryServices/locations/{region}/{what}?api-version={PASSIVE}")
}

/// `GET {vault}/backupProtectedItems` in the secondary region: the VMs that have a point there
/// (the CLI's `show_item` with `use_secondary_region`).
pub fn items_path(vault: &ArmId) -> String {
    super::protected_vm::list_path_at(vault, PASSIVE)
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
    fn sovereign_clouds_restore_into_the_pair_the_az_cli_names() {
        assert_eq!(paired_region("US Gov Virginia"), Some("usgovtexas"));
        assert_eq!(paired_region("usdodeast"), Some("usdodcentral"));
        assert_eq!(paired_region("chinanorth2"), Some("chinaeast2"));
        assert_eq!(paired_region("germanycentral"), Some("germanynortheast"));
        // One-way in the CLI's table: West US 3's copy is in East US, East US's in West US.
        assert_eq!(paired_region("westus3"), Some("eastus"));
        assert_eq!(paired_region("eastus"), Some("westus"));
        assert_eq!(PAIRS.len(), 78);
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
        // The trigger's operation status names the job.
        let job = crate::model::restore::job_of_status(
            &json!({"objectType": "OperationStatusJobExtendedInfo", "jobId": "abc"}),
            &vault,
        );
        assert_eq!(job, Some(ArmId::new(format!("{vault}/backupJobs/abc"))));
        assert_eq!(
            crate::model::restore::job_of_status(
                &json!({"objectType": "OperationStatusJobExtendedInfo"}),
                &vault
            ),
            None
        );
    }
}
