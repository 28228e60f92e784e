"""Microsoft's own Python SDKs against the azprotect sandbox, unmodified.

Reads the environment `azprotect sandbox serve --env-file` writes (AZURE_TENANT_ID,
AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_AUTHORITY_HOST, AZURE_SUBSCRIPTION_ID,
AZPROTECT_ARM_ENDPOINT, AZPROTECT_CA_CERT) and walks a user's story through the public API of
azure-identity and the azure-mgmt-* packages: Recovery Services backup, Site Recovery A2A with a
recovery plan and a test failover, Disk Backup with its role assignments, and an incremental
snapshot restored to a new disk. One line per step; the first failure exits non-zero.
"""

import time
import uuid

from sandbox_env import ARM, COMMON, POLL, SUB, credential, step

RG = f"/subscriptions/{SUB}/resourceGroups"
VM_ID = f"{RG}/rg-app/providers/Microsoft.Compute/virtualMachines/app-01"
DISK_ID = f"{RG}/rg-app/providers/Microsoft.Compute/disks/shared-data"


@step("identity: token from the sandbox authority")
def token():
    t = credential.get_token("https://management.azure.com/.default")
    assert t.token


VAULT_RG = "rg-protect-weu"
VAULT = "rsv-sdk"
VAULT_ID = f"{RG}/{VAULT_RG}/providers/Microsoft.RecoveryServices/vaults/{VAULT}"


@step("resource group for the vaults")
def resource_group():
    # The sandbox carries no Microsoft.Resources SDK dependency: a plain ARM PUT through
    # azure-mgmt-core's pipeline, as any SDK sends it.
    from azure.core.rest import HttpRequest
    from azure.mgmt.recoveryservices import RecoveryServicesClient

    c = RecoveryServicesClient(credential, SUB, **COMMON)
    for name, loc in [(VAULT_RG, "westeurope"), ("rg-protect-neu", "northeurope")]:
        r = c._client.send_request(
            HttpRequest(
                "PUT",
                f"{ARM}{RG}/{name}?api-version=2021-04-01",
                json={"location": loc},
            )
        )
        assert r.status_code in (200, 201), r.text()


@step("recovery services: create a vault")
def vault():
    from azure.mgmt.recoveryservices import RecoveryServicesClient
    from azure.mgmt.recoveryservices.models import Sku, Vault, VaultProperties

    c = RecoveryServicesClient(credential, SUB, **COMMON)
    v = c.vaults.begin_create_or_update(
        VAULT_RG,
        VAULT,
        Vault(location="westeurope", sku=Sku(name="Standard"), properties=VaultProperties(public_network_access="Enabled")),
    ).result()
    assert v.id.lower() == VAULT_ID.lower(), v.id
    assert v.properties.provisioning_state == "Succeeded", v.properties.provisioning_state


@step("backup: create a VM policy")
def policy():
    from azure.mgmt.recoveryservicesbackup import RecoveryServicesBackupClient
    from azure.mgmt.recoveryservicesbackup.models import (
        AzureIaaSVMProtectionPolicy,
        DailyRetentionSchedule,
        LongTermRetentionPolicy,
        ProtectionPolicyResource,
        RetentionDuration,
        SimpleSchedulePolicy,
    )

    at = "2026-01-01T22:00:00Z"
    body = ProtectionPolicyResource(
        properties=AzureIaaSVMProtectionPolicy(
            schedule_policy=SimpleSchedulePolicy(schedule_run_frequency="Daily", schedule_run_times=[at]),
            retention_policy=LongTermRetentionPolicy(
                daily_schedule=DailyRetentionSchedule(
                    retention_times=[at],
                    retention_duration=RetentionDuration(count=30, duration_type="Days"),
                )
            ),
            time_zone="UTC",
            instant_rp_retention_range_in_days=2,
        )
    )
    c = RecoveryServicesBackupClient(credential, SUB, **COMMON)
    # Azure answers a policy PUT at once, 200 with the policy (azure-cli backup
    # test_backup_policy.yaml): the SDK returns it (on a 202 it would return None).
    made = c.protection_policies.create_or_update(VAULT, VAULT_RG, "daily", body)
    assert made is not None and made.name == "daily", made
    got = c.protection_policies.get(VAULT, VAULT_RG, "daily")
    assert got.properties.schedule_policy.schedule_run_frequency == "Daily"


@step("backup: protect a VM and read it back")
def protect():
    from azure.mgmt.recoveryservicesbackup import RecoveryServicesBackupClient
    from azure.mgmt.recoveryservicesbackup.models import (
        AzureIaaSComputeVMProtectedItem,
        ProtectedItemResource,
    )

    c = RecoveryServicesBackupClient(credential, SUB, **COMMON)
    # As Azure's CLI does: discover the VMs, then protect the item Azure listed.
    c.protection_containers.refresh(VAULT, VAULT_RG, "Azure")
    listed = None
    for _ in range(200):
        items = list(c.backup_protectable_items.list(VAULT, VAULT_RG, filter="backupManagementType eq 'AzureIaasVM'"))
        # The SDK resolves only the first level of this two-level discriminator
        # (WorkloadProtectableItem → IaaSVMProtectableItem → Microsoft.Compute/virtualMachines),
        # as it does against Azure: read the wire name.
        listed = next((i for i in items if i.properties["virtualMachineId"].lower() == VM_ID.lower()), None)
        if listed:
            break
        time.sleep(POLL)
    assert listed, "app-01 was not discovered"
    container = listed.id.split("/protectionContainers/")[1].split("/")[0]
    item = "vm;" + listed.name
    body = ProtectedItemResource(
        properties=AzureIaaSComputeVMProtectedItem(
            source_resource_id=VM_ID,
            policy_id=f"{VAULT_ID}/backupPolicies/daily",
        )
    )
    c.protected_items.begin_create_or_update(VAULT, VAULT_RG, "Azure", container, item, body).result()
    got = None
    for _ in range(200):
        got = c.protected_items.get(VAULT, VAULT_RG, "Azure", container, item)
        if got.properties["protectionState"] in ("IRPending", "Protected"):
            break
        time.sleep(POLL)
    # Same two-level discriminator as the protectable item: read the wire names.
    assert got.properties["policyId"].lower().endswith("/backuppolicies/daily"), got.properties
    assert got.properties["protectionState"] in ("IRPending", "Protected"), got.properties


DR_RG = "rg-protect-neu"
DR_VAULT = "rsv-sdk-dr"
DR_VAULT_ID = f"{RG}/{DR_RG}/providers/Microsoft.RecoveryServices/vaults/{DR_VAULT}"
SRC_FABRIC, DST_FABRIC = "asr-a2a-default-westeurope", "asr-a2a-default-northeurope"
SRC_PC, DST_PC = f"{SRC_FABRIC}-container", f"{DST_FABRIC}-container"
VNET = f"{RG}/rg-app/providers/Microsoft.Network/virtualNetworks/vnet-app"
DR_VNET = f"{RG}/rg-app-dr/providers/Microsoft.Network/virtualNetworks/vnet-app-dr"
TEST_VNET = f"{RG}/rg-app-dr/providers/Microsoft.Network/virtualNetworks/vnet-app-dr-test"
CACHE = f"{RG}/rg-app/providers/Microsoft.Storage/storageAccounts/asrcacheweu"


def site_recovery():
    from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient

    return SiteRecoveryManagementClient(credential, SUB, **COMMON)


def wait(what, done, tries=600):
    for _ in range(tries):
        got = done()
        if got:
            return got
        time.sleep(POLL)
    raise AssertionError(f"timed out waiting for {what}")


@step("site recovery: a vault in the recovery region")
def dr_vault():
    from azure.mgmt.recoveryservices import RecoveryServicesClient
    from azure.mgmt.recoveryservices.models import Sku, Vault, VaultProperties

    c = RecoveryServicesClient(credential, SUB, **COMMON)
    c.vaults.begin_create_or_update(
        DR_RG, DR_VAULT, Vault(location="northeurope", sku=Sku(name="Standard"), properties=VaultProperties())
    ).result()


@step("site recovery: fabrics and protection containers")
def fabrics():
    from azure.mgmt.recoveryservicessiterecovery.models import (
        A2AContainerCreationInput,
        AzureFabricCreationInput,
        CreateProtectionContainerInput,
        CreateProtectionContainerInputProperties,
        FabricCreationInput,
        FabricCreationInputProperties,
    )

    c = site_recovery()
    for fabric, pc, loc in [(SRC_FABRIC, SRC_PC, "westeurope"), (DST_FABRIC, DST_PC, "northeurope")]:
        f = c.replication_fabrics.begin_create(
            DR_RG, DR_VAULT, fabric,
            FabricCreationInput(properties=FabricCreationInputProperties(custom_details=AzureFabricCreationInput(location=loc))),
        ).result()
        assert f.name == fabric, f.name
        c.replication_protection_containers.begin_create(
            DR_RG, DR_VAULT, fabric, pc,
            CreateProtectionContainerInput(
                properties=CreateProtectionContainerInputProperties(provider_specific_input=[A2AContainerCreationInput()])
            ),
        ).result()


@step("site recovery: replication policy and container mapping")
def policy_and_mapping():
    from azure.mgmt.recoveryservicessiterecovery.models import (
        A2AContainerMappingInput,
        A2APolicyCreationInput,
        CreatePolicyInput,
        CreatePolicyInputProperties,
        CreateProtectionContainerMappingInput,
        CreateProtectionContainerMappingInputProperties,
    )

    c = site_recovery()
    pol = c.replication_policies.begin_create(
        DR_RG, DR_VAULT, "24-hour-retention-policy",
        CreatePolicyInput(properties=CreatePolicyInputProperties(provider_specific_input=A2APolicyCreationInput(
            recovery_point_history=1440, app_consistent_frequency_in_minutes=240, multi_vm_sync_status="Enable"))),
    ).result()
    c.replication_protection_container_mappings.begin_create(
        DR_RG, DR_VAULT, SRC_FABRIC, SRC_PC, "weu-to-neu",
        CreateProtectionContainerMappingInput(properties=CreateProtectionContainerMappingInputProperties(
            target_protection_container_id=f"{DR_VAULT_ID}/replicationFabrics/{DST_FABRIC}/replicationProtectionContainers/{DST_PC}",
            policy_id=pol.id,
            provider_specific_input=A2AContainerMappingInput(agent_auto_update_status="Disabled"),
        )),
    ).result()


@step("site recovery: network mapping")
def network_mapping():
    from azure.mgmt.recoveryservicessiterecovery.models import (
        AzureToAzureCreateNetworkMappingInput,
        CreateNetworkMappingInput,
        CreateNetworkMappingInputProperties,
    )

    c = site_recovery()
    c.replication_network_mappings.begin_create(
        DR_RG, DR_VAULT, SRC_FABRIC, "vnet-app", "vnet-app-to-dr",
        CreateNetworkMappingInput(properties=CreateNetworkMappingInputProperties(
            recovery_fabric_name=DST_FABRIC,
            recovery_network_id=DR_VNET,
            fabric_specific_details=AzureToAzureCreateNetworkMappingInput(primary_network_id=VNET),
        )),
    ).result()


@step("site recovery: replicate a VM")
def replicate():
    from azure.mgmt.compute import ComputeManagementClient
    from azure.mgmt.recoveryservicessiterecovery.models import (
        A2AEnableProtectionInput,
        A2AVmManagedDiskInputDetails,
        EnableProtectionInput,
        EnableProtectionInputProperties,
    )

    vm = ComputeManagementClient(credential, SUB, **COMMON).virtual_machines.get("rg-app", "app-01")
    disks = [vm.storage_profile.os_disk.managed_disk.id] + [d.managed_disk.id for d in vm.storage_profile.data_disks]
    c = site_recovery()
    item = c.replication_protected_items.begin_create(
        DR_RG, DR_VAULT, SRC_FABRIC, SRC_PC, "app-01",
        EnableProtectionInput(properties=EnableProtectionInputProperties(
            policy_id=f"{DR_VAULT_ID}/replicationPolicies/24-hour-retention-policy",
            provider_specific_details=A2AEnableProtectionInput(
                fabric_object_id=VM_ID,
                recovery_container_id=f"{DR_VAULT_ID}/replicationFabrics/{DST_FABRIC}/replicationProtectionContainers/{DST_PC}",
                recovery_resource_group_id=f"{RG}/rg-app-dr",
                recovery_azure_network_id=DR_VNET,
                vm_managed_disks=[
                    A2AVmManagedDiskInputDetails(
                        disk_id=d,
                        primary_staging_azure_storage_account_id=CACHE,
                        recovery_resource_group_id=f"{RG}/rg-app-dr",
                    )
                    for d in disks
                ],
            ),
        )),
    ).result()
    assert item.name == "app-01", item.name
    wait(
        "initial replication",
        lambda: c.replication_protected_items.get(DR_RG, DR_VAULT, SRC_FABRIC, SRC_PC, "app-01").properties.protection_state == "Protected",
    )


@step("site recovery: recovery plan, test failover and cleanup")
def drill():
    from azure.mgmt.recoveryservicessiterecovery.models import (
        CreateRecoveryPlanInput,
        CreateRecoveryPlanInputProperties,
        RecoveryPlanA2AFailoverInput,
        RecoveryPlanGroup,
        RecoveryPlanProtectedItem,
        RecoveryPlanTestFailoverCleanupInput,
        RecoveryPlanTestFailoverCleanupInputProperties,
        RecoveryPlanTestFailoverInput,
        RecoveryPlanTestFailoverInputProperties,
    )

    c = site_recovery()
    item_id = f"{DR_VAULT_ID}/replicationFabrics/{SRC_FABRIC}/replicationProtectionContainers/{SRC_PC}/replicationProtectedItems/app-01"
    plan = c.replication_recovery_plans.begin_create(
        DR_RG, DR_VAULT, "app-plan",
        CreateRecoveryPlanInput(properties=CreateRecoveryPlanInputProperties(
            primary_fabric_id=f"{DR_VAULT_ID}/replicationFabrics/{SRC_FABRIC}",
            recovery_fabric_id=f"{DR_VAULT_ID}/replicationFabrics/{DST_FABRIC}",
            failover_deployment_model="ResourceManager",
            groups=[RecoveryPlanGroup(group_type="Boot", replication_protected_items=[
                RecoveryPlanProtectedItem(id=item_id, virtual_machine_id=VM_ID)])],
        )),
    ).result()
    assert "TestFailover" in plan.properties.allowed_operations, plan.properties.allowed_operations
    c.replication_recovery_plans.begin_test_failover(
        DR_RG, DR_VAULT, "app-plan",
        RecoveryPlanTestFailoverInput(properties=RecoveryPlanTestFailoverInputProperties(
            failover_direction="PrimaryToRecovery",
            network_type="VmNetworkAsInput",
            network_id=TEST_VNET,
            provider_specific_details=[RecoveryPlanA2AFailoverInput(recovery_point_type="Latest")],
        )),
    ).result()
    plan = c.replication_recovery_plans.get(DR_RG, DR_VAULT, "app-plan")
    assert "TestFailoverCleanup" in plan.properties.allowed_operations, plan.properties.allowed_operations
    c.replication_recovery_plans.begin_test_failover_cleanup(
        DR_RG, DR_VAULT, "app-plan",
        RecoveryPlanTestFailoverCleanupInput(properties=RecoveryPlanTestFailoverCleanupInputProperties(comments="sdk drill")),
    ).result()
    plan = c.replication_recovery_plans.get(DR_RG, DR_VAULT, "app-plan")
    assert "TestFailover" in plan.properties.allowed_operations, plan.properties.allowed_operations


BV_RG = "rg-protect-weu"
BV = "bv-sdk"
SNAP_RG = f"{RG}/rg-app"
# Built-in role definitions (Microsoft Learn, Azure built-in roles).
DISK_BACKUP_READER = "3e5e47e6-65f7-47ef-90b5-e5dd4d455f24"
DISK_SNAPSHOT_CONTRIBUTOR = "7efff54f-a5b4-42b5-a1c5-5411624893ce"


def data_protection():
    from azure.mgmt.dataprotection import DataProtectionMgmtClient

    return DataProtectionMgmtClient(credential, SUB, **COMMON)


@step("disk backup: a Backup vault with a system-assigned identity")
def backup_vault():
    v = data_protection().backup_vaults.begin_create_or_update(
        BV_RG, BV,
        {
            "location": "westeurope",
            "identity": {"type": "SystemAssigned"},
            "properties": {"storageSettings": [{"datastoreType": "VaultStore", "type": "LocallyRedundant"}]},
        },
    ).result()
    assert v.identity.principal_id, v.identity
    return v.identity.principal_id


@step("disk backup: a disk policy")
def disk_policy():
    store = {"dataStoreType": "OperationalStore", "objectType": "DataStoreInfoBase"}
    p = data_protection().backup_policies.create_or_update(
        BV_RG, BV, "disk-4h",
        {"properties": {
            "objectType": "BackupPolicy",
            "datasourceTypes": ["Microsoft.Compute/disks"],
            "policyRules": [
                {
                    "objectType": "AzureBackupRule", "name": "BackupHourly",
                    "backupParameters": {"objectType": "AzureBackupParams", "backupType": "Incremental"},
                    "dataStore": store,
                    "trigger": {
                        "objectType": "ScheduleBasedTriggerContext",
                        "schedule": {"repeatingTimeIntervals": ["R/2024-01-01T08:00:00+00:00/PT4H"]},
                        "taggingCriteria": [{"isDefault": True, "taggingPriority": 99, "tagInfo": {"tagName": "Default"}}],
                    },
                },
                {
                    "objectType": "AzureRetentionRule", "name": "Default", "isDefault": True,
                    "lifecycles": [{
                        "deleteAfter": {"objectType": "AbsoluteDeleteOption", "duration": "P7D"},
                        "sourceDataStore": store, "targetDataStoreCopySettings": [],
                    }],
                },
            ],
        }},
    )
    return p.id


@step("disk backup: role assignments for the vault's identity")
def roles(principal):
    from azure.mgmt.authorization import AuthorizationManagementClient

    c = AuthorizationManagementClient(credential, SUB, **COMMON)
    for scope, role in [(DISK_ID, DISK_BACKUP_READER), (SNAP_RG, DISK_SNAPSHOT_CONTRIBUTOR)]:
        c.role_assignments.create(
            scope, str(uuid.uuid4()),
            {"properties": {
                "roleDefinitionId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}",
                "principalId": principal,
                "principalType": "ServicePrincipal",
            }},
        )


@step("disk backup: protect a disk")
def backup_instance(policy_id):
    from azure.core.exceptions import HttpResponseError

    c = data_protection()
    # New role assignments take minutes to take effect in Azure (Microsoft Learn, "Azure RBAC
    # troubleshooting"): Data Protection refuses until they do, and a user tries again.
    for attempt in range(100):
        try:
            create_instance(c, policy_id)
            break
        except HttpResponseError as e:
            if "UserErrorMissingRequiredPermissions" not in str(e) or attempt == 99:
                raise
            time.sleep(POLL * 5)
    # The PUT's operation ends before configuring does; a configuration that met roles not yet
    # effective ends in ProtectionError, which `sync` retries (as Azure Service Operator does).
    wait("protection configured", lambda: configured_or_synced(c))


def configured_or_synced(c):
    p = c.backup_instances.get(BV_RG, BV, "shared-data").properties
    if p.protection_status.status == "ProtectionError":
        code = p.protection_status.error_details.code
        assert "Permission" in code or "AuthorizationFailed" in code, p
        print("  ProtectionError while the roles propagate: sync", flush=True)
        c.backup_instances.begin_sync_backup_instance(
            BV_RG, BV, "shared-data", {"sync_type": "Default"}).result()
        return False
    return p.current_protection_state == "ProtectionConfigured"


def create_instance(c, policy_id):
    c.backup_instances.begin_create_or_update(
        BV_RG, BV, "shared-data",
        {"properties": {
            "objectType": "BackupInstance",
            "friendlyName": "shared-data",
            "dataSourceInfo": {
                "objectType": "Datasource", "datasourceType": "Microsoft.Compute/disks",
                "resourceID": DISK_ID, "resourceLocation": "westeurope", "resourceName": "shared-data",
                "resourceType": "Microsoft.Compute/disks", "resourceUri": DISK_ID,
            },
            "policyInfo": {
                "policyId": policy_id,
                "policyParameters": {"dataStoreParametersList": [{
                    "objectType": "AzureOperationalStoreParameters",
                    "dataStoreType": "OperationalStore",
                    "resourceGroupId": SNAP_RG,
                }]},
            },
        }},
    ).result()


@step("compute: an incremental snapshot of a disk, restored to a new disk")
def snapshot_and_restore():
    from azure.mgmt.compute import ComputeManagementClient

    c = ComputeManagementClient(credential, SUB, **COMMON)
    snap = c.snapshots.begin_create_or_update(
        "rg-app", "shared-data-sdk",
        {"location": "westeurope", "properties": {
            "incremental": True, "creationData": {"createOption": "Copy", "sourceResourceId": DISK_ID}}},
    ).result()
    assert snap.properties.incremental, snap
    disk = c.disks.begin_create_or_update(
        "rg-app", "shared-data-restored",
        {"location": "westeurope", "sku": {"name": "Premium_LRS"},
         "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": snap.id}}},
    ).result()
    assert disk.properties.disk_size_gb == 512, disk
    assert disk.properties.provisioning_state == "Succeeded", disk


@step("compute: a VM's instance view; an attached disk refused; the VM deleted, then its data disk")
def delete_vm():
    from azure.core.exceptions import HttpResponseError
    from azure.mgmt.compute import ComputeManagementClient

    c = ComputeManagementClient(credential, SUB, **COMMON)
    view = c.virtual_machines.instance_view("rg-web", "web-02")
    assert any(s.code == "PowerState/running" for s in view.statuses), view.statuses
    try:
        c.disks.begin_delete("rg-web", "web-02-data-0").result()
        raise AssertionError("a disk attached to web-02 was deleted")
    except HttpResponseError as e:
        assert e.error.code == "OperationNotAllowed", e
    c.virtual_machines.begin_delete("rg-web", "web-02").result()
    names = [v.name for v in c.virtual_machines.list("rg-web")]
    assert "web-02" not in names, names
    # Its disks stay, detached (deleteOption Detach, as recorded).
    disk = c.disks.get("rg-web", "web-02-data-0")
    assert disk.disk_state == "Unattached", disk
    c.disks.begin_delete("rg-web", "web-02-data-0").result()
    assert "web-02-data-0" not in [d.name for d in c.disks.list_by_resource_group("rg-web")]


def main():
    token()
    resource_group()
    vault()
    policy()
    protect()
    dr_vault()
    fabrics()
    policy_and_mapping()
    network_mapping()
    replicate()
    drill()
    principal = backup_vault()
    policy_id = disk_policy()
    roles(principal)
    backup_instance(policy_id)
    snapshot_and_restore()
    delete_vm()


if __name__ == "__main__":
    main()
