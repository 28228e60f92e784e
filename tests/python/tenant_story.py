"""Microsoft's Resource Graph and Management Groups SDKs against the azprotect sandbox, unmodified.

The sandbox serves the landing-zone tenant (examples/inventories/landing-zone.yaml: three
subscriptions under mg-corp, Sandbox's VM in swedencentral). Reads the environment
`azprotect sandbox serve --env-file` writes and walks what a platform engineer's script does
before azprotect exists: the management group's subscriptions (azure-mgmt-managementgroups), and
the tenant's VMs and resource groups through Resource Graph, page by page with its skip token
(azure-mgmt-resourcegraph, whose models deserialize the answers). One line per step; the first
failure exits non-zero.
"""

import functools

from sandbox_env import COMMON, ENV, credential, step

PROD = "00000000-0000-0000-0000-0000000000c1"
DEV = "00000000-0000-0000-0000-0000000000c2"
SANDBOX = "00000000-0000-0000-0000-0000000000c3"


@functools.cache
def graph_client():
    from azure.mgmt.resourcegraph import ResourceGraphClient

    return ResourceGraphClient(credential, **COMMON)


def graph_query(query, options=None, **scope):
    """One Resource Graph query through the SDK's own models (`scope`: subscriptions= or
    management_groups=, `options`: QueryRequestOptions' arguments), its deserialized answer."""
    from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

    opts = QueryRequestOptions(**options) if options is not None else None
    return graph_client().resources(QueryRequest(query=query, options=opts, **scope))


@step("management groups: the group, its children and its descendants")
def management_groups():
    from azure.mgmt.managementgroups import ManagementGroupsMgmtClient

    c = ManagementGroupsMgmtClient(credential, **COMMON)
    listed = [g.name for g in c.management_groups.list()]
    assert "mg-corp" in listed, listed
    group = c.management_groups.get("mg-corp", expand="children")
    assert group.name == "mg-corp", group.name
    assert group.properties.display_name == "Corp", group.properties
    children = sorted(ch.name for ch in group.properties.children or [])
    assert children == [PROD, DEV, SANDBOX], children
    descendants = list(c.management_groups.get_descendants("mg-corp"))
    subs = sorted(d.name for d in descendants if d.type.lower().endswith("/subscriptions"))
    assert subs == [PROD, DEV, SANDBOX], [(d.name, d.type) for d in descendants]
    parents = {d.properties.parent.id for d in descendants}
    assert parents == {"/providers/Microsoft.Management/managementGroups/mg-corp"}, parents
    # Above it, as in every tenant, the tenant root group: its id is the tenant's.
    tenant = ENV["AZURE_TENANT_ID"]
    assert group.properties.details.parent.name == tenant, group.properties.details
    root = c.management_groups.get(tenant, expand="children")
    assert root.properties.display_name == "Tenant Root Group", root.properties
    assert [ch.name for ch in root.properties.children] == ["mg-corp"], root.properties.children
    below = list(c.management_groups.get_descendants(tenant))
    assert len(below) == 4, [(d.name, d.type) for d in below]


@step("resource graph: the tenant's VMs, two to a page, along the skip token")
def resource_graph_vms():
    query = (
        "Resources | where type =~ 'microsoft.compute/virtualmachines' "
        "| project id, name, resourceGroup, subscriptionId, location, tags "
        "| order by id asc"
    )
    subs = [PROD, DEV, SANDBOX]
    rows, token, pages = [], None, 0
    while True:
        answer = graph_query(
            query,
            {"top": 2, "skip_token": token, "result_format": "objectArray"},
            subscriptions=subs,
        )
        pages += 1
        assert answer.total_records == 6, answer.total_records
        assert answer.count == len(answer.data), (answer.count, answer.data)
        rows.extend(answer.data)
        token = answer.skip_token
        if not token:
            break
    assert pages == 3, pages
    names = sorted(r["name"] for r in rows)
    assert names == ["app-01", "app-02", "app-n1", "dev-01", "dev-02", "play-01"], names
    play = next(r for r in rows if r["name"] == "play-01")
    assert play["subscriptionId"] == SANDBOX and play["location"] == "swedencentral", play
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids), ids


@step("resource graph: the VMs one row per subscription (summarize make_list), in one page")
def resource_graph_summary():
    query = (
        "Resources | where type =~ 'microsoft.compute/virtualmachines' "
        "| summarize vms = make_list(pack('id', id, 'name', name, 'disk', "
        "properties.storageProfile.osDisk.managedDisk.id)), vmCount = count() by subscriptionId "
        "| order by subscriptionId asc"
    )
    answer = graph_query(
        query, {"result_format": "objectArray"}, subscriptions=[PROD, DEV, SANDBOX]
    )
    assert answer.total_records == 3 and answer.count == 3, answer
    assert answer.skip_token is None, answer.skip_token
    subs = [r["subscriptionId"] for r in answer.data]
    assert subs == sorted(subs), subs
    assert all(r["vmCount"] == len(r["vms"]) for r in answer.data), answer.data
    names = sorted(v["name"] for r in answer.data for v in r["vms"])
    assert names == ["app-01", "app-02", "app-n1", "dev-01", "dev-02", "play-01"], names
    play = next(r for r in answer.data if r["subscriptionId"] == SANDBOX)
    assert [v["name"] for v in play["vms"]] == ["play-01"], play
    assert "/disks/" in play["vms"][0]["disk"], play


@step("resource graph: resource groups, filtered to one subscription")
def resource_graph_groups():
    answer = graph_query(
        "ResourceContainers "
        "| where type =~ 'microsoft.resources/subscriptions/resourcegroups' "
        f"and subscriptionId == '{PROD}' | project name, location | order by name asc",
        management_groups=["mg-corp"],
    )
    assert [r["name"] for r in answer.data] == ["rg-app-neu", "rg-app-weu"], answer.data
    assert answer.result_truncated in ("false", False), answer.result_truncated


@step("resource graph: a query outside what it answers is refused in Resource Graph's shape")
def resource_graph_refusal():
    from azure.core.exceptions import HttpResponseError

    try:
        graph_query("Resources | summarize count()", subscriptions=[PROD])
    except HttpResponseError as e:
        assert e.status_code == 400, e.status_code
        assert e.error is not None and e.error.code == "BadRequest", e.error
        return
    raise AssertionError("an unsupported query was answered")


if __name__ == "__main__":
    management_groups()
    resource_graph_vms()
    resource_graph_summary()
    resource_graph_groups()
    resource_graph_refusal()
