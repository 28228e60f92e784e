//! Reading at tenant scale, over HTTPS against the sandbox through the ARM client: Resource
//! Graph discovery of VMs and disks across subscriptions (paged, paced by its quota, the same
//! values as the list calls), the KQL subset's limits, management-group descendants, and the
//! subscription list with names and without the subscriptions the caller cannot read.

use std::time::{Duration, Instant};

mod support;

use azprotect::azure::ArmClient;
use azprotect::live::{management_groups, resource_graph, vms};
use azprotect::model::{disk, ManagedDisk, VirtualMachine};
use azprotect::sandbox::{GraphQuota, SandboxOptions};
use serde_json::json;
use support::estate::{logged, Estate};

/// A row per VM, each subscription's together, by id: the paged query of the sandbox's paging
/// and quota stories (a plan asks for the VMs one row per subscription,
/// `resource_graph::vm_summary_query`).
const VM_QUERY: &str = "Resources | where type =~ 'microsoft.compute/virtualmachines' | project id, name, type, location, resourceGroup, subscriptionId, tags, sku, properties | order by subscriptionId asc, id asc";

/// The VMs and disks of `subscriptions` a row each through Resource Graph, and its queries.
async fn through_graph(
    client: &ArmClient,
    subscriptions: &[String],
) -> (Vec<VirtualMachine>, Vec<ManagedDisk>, u32) {
    let session = resource_graph::Session::new(client);
    let disk_q = resource_graph::disk_query(None);
    let (vms, disks) = futures::try_join!(
        session.all(subscriptions, VM_QUERY),
        session.all(subscriptions, &disk_q)
    )
    .unwrap();
    (
        vms.iter().filter_map(vms::from_arm).collect(),
        disks.iter().filter_map(ManagedDisk::from_arm).collect(),
        session.queries(),
    )
}

/// The same from each subscription's VM list (the product's reader) and disk list.
async fn through_lists(
    client: &ArmClient,
    subscriptions: &[String],
) -> (Vec<VirtualMachine>, Vec<ManagedDisk>) {
    let (mut vm_list, mut disks) = (Vec::new(), Vec::new());
    for s in subscriptions {
        let disk_path = disk::list_path(s);
        let (v, d) =
            futures::try_join!(vms::list(client, s, &[]), client.list(&disk_path)).unwrap();
        vm_list.extend(v);
        disks.extend(d.iter().filter_map(ManagedDisk::from_arm));
    }
    (vm_list, disks)
}

async fn estate(inventory: &str, opts: SandboxOptions) -> Estate {
    let opts = SandboxOptions {
        time_scale: 0.0,
        ..opts
    };
    Estate::with_inventory(inventory, opts).await
}

/// An estate served with ARM throttling and a Resource Graph quota of `queries` per `window`,
/// logging its requests to the returned file (in the returned directory).
async fn throttled(
    inventory: &str,
    queries: u32,
    window: Duration,
) -> (Estate, std::path::PathBuf, tempfile::TempDir) {
    throttled_with(inventory, queries, window, None).await
}

/// [`throttled`], with the sandbox's fault spec `faults`.
async fn throttled_with(
    inventory: &str,
    queries: u32,
    window: Duration,
    faults: Option<&str>,
) -> (Estate, std::path::PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let opts = SandboxOptions {
        throttle: true,
        resource_graph_quota: GraphQuota { queries, window },
        access_log: Some(log.clone()),
        faults: faults.map(str::to_string),
        ..SandboxOptions::default()
    };
    (estate(inventory, opts).await, log, dir)
}

/// `vms` in id order.
fn vms_by_id(
    mut vms: Vec<azprotect::model::VirtualMachine>,
) -> Vec<azprotect::model::VirtualMachine> {
    vms.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    vms
}

const FIRST: &str = "00000000-0000-0000-0000-0000000000a1";

fn spread(vms: u32, subscriptions: u32) -> String {
    format!("subscriptions:\n  {FIRST}: {{name: Landing zone 0}}\ngenerate: {{vms: {vms}, subscriptions: {subscriptions}, resource_groups: 2, locations: [westeurope, northeurope], tags: {{backup: [gold, none]}}}}\n")
}

#[tokio::test]
async fn five_thousand_vms_in_ten_subscriptions_come_in_five_pages_as_the_lists_read_them() {
    let e = estate(&spread(5000, 10), SandboxOptions::default()).await;
    e.sandbox.set_page_size(1000);
    let client = e.client().await;

    let subs = management_groups::subscriptions(&client).await.unwrap();
    assert_eq!(subs.len(), 10, "the tenant's ten subscriptions");
    assert_eq!(subs[0].id, FIRST);
    assert_eq!(subs[0].display_name, "Landing zone 0");
    assert_eq!(subs[1].display_name, "sub-gen-001");
    let ids: Vec<String> = subs.iter().map(|s| s.id.clone()).collect();

    let session = resource_graph::Session::new(&client);
    let rows = session.all(&ids, VM_QUERY).await.unwrap();
    assert_eq!(
        (rows.len(), session.queries()),
        (5000, 5),
        "1,000 rows a page"
    );

    let (graph_vms, graph_disks, queries) = through_graph(&client, &ids).await;
    assert_eq!(queries, 10, "five pages of VMs, five of disks");
    let (list_vms, list_disks) = through_lists(&client, &ids).await;
    assert_eq!(graph_vms.len(), 5000);
    assert_eq!(graph_disks.len(), 5000, "one OS disk each");
    let (mut a, mut b) = (graph_vms, list_vms);
    a.sort_by(|x, y| x.id.as_str().cmp(y.id.as_str()));
    b.sort_by(|x, y| x.id.as_str().cmp(y.id.as_str()));
    assert!(
        a == b,
        "Resource Graph reads the VMs exactly as the list calls do"
    );
    let (mut a, mut b) = (graph_disks, list_disks);
    a.sort_by(|x, y| x.id.as_str().cmp(y.id.as_str()));
    b.sort_by(|x, y| x.id.as_str().cmp(y.id.as_str()));
    assert!(a == b, "and the disks");
    let per_sub = a.iter().filter(|d| d.subscription == ids[3]).count();
    assert_eq!(per_sub, 500, "spread evenly");
}

#[tokio::test]
async fn a_quota_of_two_queries_makes_the_reader_wait_instead_of_meeting_429s() {
    let (e, log, _dir) = throttled(&spread(2500, 3), 2, Duration::from_secs(1)).await;
    let client = e.client().await;
    let subs: Vec<String> = management_groups::subscriptions(&client)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    let t = Instant::now();
    let (found_vms, found_disks, queries) = through_graph(&client, &subs).await;
    assert_eq!(
        (found_vms.len(), found_disks.len(), queries),
        (2500, 2500, 6)
    );
    assert!(
        t.elapsed() >= Duration::from_secs(2),
        "six queries at two a second take two waits: {:?}",
        t.elapsed()
    );
    let graph_answers: Vec<serde_json::Value> = (logged(&log).into_iter())
        .filter(|l| {
            l["path"]
                .as_str()
                .unwrap()
                .contains("Microsoft.ResourceGraph")
        })
        .collect();
    assert_eq!(graph_answers.len(), 6, "each query sent once");
    assert!(
        graph_answers.iter().all(|l| l["status"] == 200),
        "{graph_answers:?}"
    );

    // The quota is real: a third query at once is refused, with the headers that say when.
    let (http, tok) = support::raw::token_client(&e.sandbox).await;
    let url = format!("{}{}", e.sandbox.endpoint(), resource_graph::path());
    let body = resource_graph::request_body(&subs, VM_QUERY, resource_graph::At::First);
    let mut statuses = vec![];
    for _ in 0..5 {
        let r = http
            .post(&url)
            .bearer_auth(&tok)
            .json(&body)
            .send()
            .await
            .unwrap();
        statuses.push((
            r.status().as_u16(),
            support::raw::header(r.headers(), "x-ms-user-quota-remaining"),
            support::raw::header(r.headers(), "x-ms-user-quota-resets-after"),
        ));
    }
    let refused = statuses.iter().find(|s| s.0 == 429);
    let refused =
        refused.unwrap_or_else(|| panic!("five queries at once meet the quota: {statuses:?}"));
    assert_eq!(refused.1, "0");
    assert!(refused.2.starts_with("00:00:0"), "{statuses:?}");
}

/// A Resource Graph query sent as it is, past the ARM client: Azure's status and body as sent.
async fn raw_query(
    e: &Estate,
    (http, token): (&reqwest::Client, &str),
    body: &serde_json::Value,
) -> reqwest::Response {
    let url = format!("{}{}", e.sandbox.endpoint(), resource_graph::path());
    http.post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_query_outside_the_subset_is_a_bad_request_naming_the_token() {
    let e = estate(&spread(3, 1), SandboxOptions::default()).await;
    let client = e.client().await;
    let err = client
        .post_query(
            &resource_graph::path(),
            &json!({"subscriptions": [FIRST], "query": "Resources | summarize count() by type"}),
        )
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(400), Some("BadRequest")));

    let (http, tok) = support::raw::token_client(&e.sandbox).await;
    let bad = json!({"subscriptions": [FIRST], "query": "Resources | whre type == 'x'"});
    let r = raw_query(&e, (&http, &tok), &bad).await;
    assert_eq!(r.status(), 400);
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(b["error"]["details"][0]["code"], "InvalidQuery");
    assert_eq!(b["error"]["details"][1]["token"], "whre");
    assert_eq!(b["error"]["details"][1]["characterPositionInLine"], 12);

    // A supported query answers in the recorded shape (`resultTruncated` is a string).
    let (ok, _) = client
        .post_query(
            &resource_graph::path(),
            &json!({"subscriptions": [FIRST], "query": "Resources | where type =~ 'microsoft.compute/virtualmachines' and name in~ ('VM-0001') | project id, name", "options": {"$top": 1000, "$skip": 0, "resultFormat": "objectArray"}}),
        )
        .await
        .unwrap();
    let ok = ok.unwrap();
    assert_eq!(ok["totalRecords"], 1);
    assert_eq!(ok["count"], 1);
    assert_eq!(ok["resultTruncated"], "false");
    assert_eq!(ok["facets"], json!([]));
    assert_eq!(ok["data"][0]["name"], "vm-0001");
    assert!(ok.get("$skipToken").is_none());
}

#[tokio::test]
async fn a_summary_answers_one_row_per_subscription_in_one_page_and_an_answer_too_large_is_refused_with_its_size(
) {
    let e = estate(&spread(30, 3), SandboxOptions::default()).await;
    let client = e.client().await;
    let subs: Vec<String> = (0..3).map(sub).collect();
    let query = resource_graph::vm_summary_query();
    let ask = |top: u64| json!({"subscriptions": subs, "query": query, "options": {"$top": top, "resultFormat": "objectArray"}});
    // An answered page, and its (totalRecords, count).
    let page = async |top: u64| {
        let (body, _) = client
            .post_query(&resource_graph::path(), &ask(top))
            .await
            .unwrap();
        let body = body.unwrap();
        let counts = (body["totalRecords"].as_u64(), body["count"].as_u64());
        (body, counts)
    };
    let (body, counts) = page(1000).await;
    assert_eq!(counts, (Some(3), Some(3)));
    assert_eq!(body["resultTruncated"], "false");
    let row = &body["data"][0];
    assert_eq!(row["subscriptionId"], FIRST, "ordered by subscription");
    assert_eq!(row["vmCount"], 10);
    let vm = &row["vms"][0];
    assert!(vm["id"]
        .as_str()
        .unwrap()
        .starts_with(&format!("/subscriptions/{FIRST}/")));
    assert!(
        vm["properties"]["hardwareProfile"]["vmSize"].is_string(),
        "{vm}"
    );
    let os = &vm["properties"]["storageProfile"]["osDisk"]["managedDisk"];
    assert!(os["id"].as_str().unwrap().contains("/disks/"), "{vm}");
    assert!(os["storageAccountType"].is_string(), "{vm}");
    // Nothing the reader does not read: the rest of the VM's body stays out of the answer.
    assert!(
        vm["properties"]["osProfile"].is_null() && vm["sku"].is_null(),
        "{vm}"
    );

    // A summary is not paged: its rows carry no id. A page short of them says so, with no token.
    let (cut, counts) = page(2).await;
    assert_eq!(counts, (Some(3), Some(2)));
    assert_eq!(cut["resultTruncated"], "true");
    assert!(cut.get("$skipToken").is_none());

    // A VM's tags change: the next summary shows them (what was packed of the VM goes with
    // the change).
    let vm_id = vm["id"].as_str().unwrap().to_string();
    let (http, tok) = support::raw::token_client(&e.sandbox).await;
    let tags = format!(
        "{}{vm_id}/providers/Microsoft.Resources/tags/default?api-version=2021-04-01",
        e.sandbox.endpoint()
    );
    let r = http
        .patch(tags)
        .bearer_auth(&tok)
        .json(&json!({"operation": "Merge", "properties": {"tags": {"tier": "gold"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (again, _) = page(1000).await;
    let tagged = (again["data"].as_array().unwrap().iter())
        .flat_map(|row| row["vms"].as_array().unwrap())
        .find(|v| v["id"] == vm_id.as_str())
        .unwrap();
    assert_eq!(tagged["tags"]["tier"], "gold", "{tagged}");

    // Over the payload limit: Resource Graph's refusal, with the size and the limit in the
    // words users have met.
    e.sandbox.set_graph_payload_limit(1_000);
    let r = raw_query(&e, (&http, &tok), &ask(1000)).await;
    assert_eq!(r.status(), 400);
    let b: serde_json::Value = r.json().await.unwrap();
    assert_eq!(b["error"]["code"], "BadRequest");
    let detail = &b["error"]["details"][0];
    assert_eq!(detail["code"], "ResponsePayloadTooLarge");
    let message = detail["message"].as_str().unwrap();
    assert!(
        message.starts_with("Response payload size is "),
        "{message}"
    );
    assert!(
        message.contains(", and has exceeded the limit of 1000. "),
        "{message}"
    );
    let err = client
        .post_query(&resource_graph::path(), &ask(1000))
        .await
        .unwrap_err();
    let (size, limit) = resource_graph::too_large(&err).unwrap();
    assert!(size > 1_000, "{err}");
    assert_eq!(limit, Some(1_000));
}

#[tokio::test]
async fn a_later_page_answers_from_azure_as_it_is_then_not_as_the_first_page_saw_it() {
    // The sandbox keeps an evaluated query for its next pages; a change in between must show.
    let e = estate(&spread(5, 1), SandboxOptions::default()).await;
    let client = e.client().await;
    let query = |options: serde_json::Value| json!({"subscriptions": [FIRST], "query": VM_QUERY, "options": options});
    let names = |page: &serde_json::Value| -> Vec<String> {
        let rows = page["data"].as_array().cloned().unwrap_or_default();
        rows.iter()
            .map(|r| r["name"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let ask = |body: serde_json::Value| {
        let client = client.clone();
        async move {
            let (page, _) = client
                .post_query(&resource_graph::path(), &body)
                .await
                .unwrap();
            page.unwrap()
        }
    };
    let all = names(&ask(query(json!({"$top": 1000}))).await);
    assert_eq!(all.len(), 5);
    let first = ask(query(json!({"$top": 2}))).await;
    assert_eq!(names(&first), all[..2]);
    let token = first["$skipToken"].as_str().unwrap().to_string();
    // `$skip` overrides the offset a token carries (resourcegraph.json, `QueryRequestOptions`).
    let skipped = ask(query(json!({"$top": 2, "$skipToken": token, "$skip": 4}))).await;
    assert_eq!(names(&skipped), all[4..]);

    let third = format!("/subscriptions/{FIRST}/resourceGroups/rg-gen-000/providers/Microsoft.Compute/virtualMachines/{}", all[2]);
    let gone = support::raw::delete(&e.sandbox, &format!("{third}?api-version=2024-07-01")).await;
    assert!((200..300).contains(&gone), "{gone}");

    let second = ask(query(json!({"$top": 2, "$skipToken": token}))).await;
    assert_eq!(second["totalRecords"], 4, "{second}");
    assert_eq!(names(&second), all[3..5]);
}

#[tokio::test]
async fn pages_after_the_first_come_together_and_a_change_between_them_is_read_again() {
    let e = estate(&spread(2500, 1), SandboxOptions::default()).await;
    let client = e.client().await;
    let subs = vec![FIRST.to_string()];
    let query = VM_QUERY;

    // Unchanged: the first page says 2,500 rows; the other two pages are asked for together.
    let session = resource_graph::Session::new(&client);
    let firsts = session.first_pages(&subs, query).await.unwrap();
    assert_eq!(firsts[0].total, Some(2500));
    let rows = session.rest(firsts, query).await.unwrap();
    assert_eq!((rows.len(), session.queries()), (2500, 3));
    let ids: std::collections::BTreeSet<&str> =
        rows.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids.len(), 2500, "no row twice");

    // A VM deleted after the first page: the later pages count 2,499, so the pages are read
    // again one after the other, and every VM that is still there is read once.
    let session = resource_graph::Session::new(&client);
    let firsts = session.first_pages(&subs, query).await.unwrap();
    let gone = firsts[0].rows[0]["id"].as_str().unwrap().to_string();
    let deleted = support::raw::delete(&e.sandbox, &format!("{gone}?api-version=2024-07-01")).await;
    assert!((200..300).contains(&deleted), "{deleted}");
    let rows = session.rest(firsts, query).await.unwrap();
    let ids: std::collections::BTreeSet<&str> =
        rows.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!((rows.len(), ids.len()), (2499, 2499));
    assert!(!ids.contains(gone.as_str()));
    assert_eq!(
        session.queries(),
        1 + 2 + 3,
        "first, the two together, the chain again"
    );
}

const TREE: &str = "subscriptions:
  00000000-0000-0000-0000-0000000000b1: {name: Platform}
  00000000-0000-0000-0000-0000000000b2: {name: Prod EU}
  00000000-0000-0000-0000-0000000000b3: {name: Prod US}
  00000000-0000-0000-0000-0000000000b4: {name: Locked, readable: false}
  00000000-0000-0000-0000-0000000000b5: {name: Sandbox}
management_groups:
  - id: contoso
    name: Contoso
    subscriptions: [00000000-0000-0000-0000-0000000000b1]
    children:
      - id: landing-zones
        name: Landing zones
        children:
          - {id: corp, name: Corp, subscriptions: [00000000-0000-0000-0000-0000000000b2, 00000000-0000-0000-0000-0000000000b3]}
          - {id: online, subscriptions: [00000000-0000-0000-0000-0000000000b4]}
  - {id: playground, subscriptions: [00000000-0000-0000-0000-0000000000b5]}
";

#[tokio::test]
async fn management_group_descendants_resolve_across_nested_groups_page_by_page() {
    let e = estate(TREE, SandboxOptions::default()).await;
    e.sandbox.set_page_size(2);
    let client = e.client().await;

    let all = management_groups::under_group(&client, "contoso")
        .await
        .unwrap();
    let names: Vec<(&str, Option<&str>)> = all
        .iter()
        .map(|s| (s.display_name.as_str(), s.parent_group.as_deref()))
        .collect();
    assert_eq!(
        names,
        [
            ("Platform", Some("contoso")),
            ("Prod EU", Some("corp")),
            ("Prod US", Some("corp")),
            ("Locked", Some("online")),
        ],
        "three levels down, groups left out, over several pages"
    );
    let corp = management_groups::under_group(&client, "Landing-Zones")
        .await
        .unwrap();
    assert_eq!(corp.len(), 3);
    let missing = management_groups::under_group(&client, "nope")
        .await
        .unwrap_err();
    assert_eq!(
        (missing.status(), missing.code()),
        (Some(403), Some("AuthorizationFailed"))
    );

    // The subscription list has what the caller can read; the locked one answers 403.
    let listed = management_groups::subscriptions(&client).await.unwrap();
    let listed: Vec<&str> = listed.iter().map(|s| s.display_name.as_str()).collect();
    assert_eq!(listed, ["Platform", "Prod EU", "Prod US", "Sandbox"]);
    let locked = client
        .list("/subscriptions/00000000-0000-0000-0000-0000000000b4/resourcegroups?api-version=2021-04-01")
        .await
        .unwrap_err();
    assert_eq!(
        (locked.status(), locked.code()),
        (Some(403), Some("AuthorizationFailed"))
    );
    assert!(
        locked
            .to_string()
            .contains("Microsoft.Resources/subscriptions/resourceGroups/read"),
        "{locked}"
    );

    // A group's single GET names its parent; children on request.
    let g = client
        .get_optional("/providers/Microsoft.Management/managementGroups/corp?api-version=2023-04-01&$expand=children")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g["properties"]["displayName"], "Corp");
    assert_eq!(
        g["properties"]["details"]["parent"]["name"],
        "landing-zones"
    );
    assert_eq!(g["properties"]["children"].as_array().unwrap().len(), 2);

    // Above them all, as in every tenant, the tenant root group (its id the tenant's): a stamp
    // over the whole tenant names it.
    let tenant = e.sandbox.credentials().tenant_id;
    let everything = management_groups::under_group(&client, &tenant)
        .await
        .unwrap();
    let names: Vec<&str> = everything.iter().map(|s| s.display_name.as_str()).collect();
    assert_eq!(
        names,
        ["Platform", "Prod EU", "Prod US", "Locked", "Sandbox"]
    );
    let top = client
        .get_optional(
            "/providers/Microsoft.Management/managementGroups/contoso?api-version=2023-04-01",
        )
        .await
        .unwrap()
        .unwrap();
    let parent = &top["properties"]["details"]["parent"];
    assert_eq!(parent["name"], tenant.as_str(), "{top}");
    assert_eq!(parent["displayName"], "Tenant Root Group", "{top}");
}

/// Three vaults, one in each of the first three subscriptions of `spread`.
fn three_vaults(e: &Estate) -> azprotect::model::Desired {
    vaults(e, 3)
}

/// The `i`-th subscription of `spread`.
fn sub(i: u32) -> String {
    match i {
        0 => FIRST.to_string(),
        i => format!("00000000-0000-0000-0001-{i:012}"),
    }
}

/// A file declaring, in each of the first `n` subscriptions of `spread`, the resource group
/// `rg-p-{i}` and, under `section`, the entry `entry(i, subscription)` writes.
fn per_subscription(
    e: &Estate,
    n: u32,
    section: &str,
    entry: impl Fn(usize, &str) -> String,
) -> azprotect::model::Desired {
    let mut y = format!("version: 1\nsubscription: {FIRST}\nresource_groups:\n");
    let subs: Vec<String> = (0..n).map(sub).collect();
    for (i, s) in subs.iter().enumerate() {
        y.push_str(&format!(
            "  rg-p-{i}: {{location: westeurope, subscription: {s}}}\n"
        ));
    }
    y.push_str(&format!("{section}:\n"));
    for (i, s) in subs.iter().enumerate() {
        y.push_str(&entry(i, s));
    }
    let file = e.write(&format!("{section}.yaml"), &y);
    azprotect::config::load(&[file.into()])
        .unwrap()
        .desired(None)
        .unwrap()
}

/// `n` vaults, one in each of the first `n` subscriptions of `spread`.
fn vaults(e: &Estate, n: u32) -> azprotect::model::Desired {
    per_subscription(e, n, "recovery_vaults", |i, s| {
        format!(
            "  rsv-{i}: {{subscription: {s}, resource_group: rg-p-{i}, location: westeurope}}\n"
        )
    })
}

#[tokio::test]
async fn vms_already_discovered_by_a_stamp_are_taken_as_they_are_not_read_again() {
    use azprotect::live::{self, Discovery, Known, ReadOptions, Source};
    use azprotect::model::{resource_group, vault};
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let logging = SandboxOptions {
        access_log: Some(log.clone()),
        ..SandboxOptions::default()
    };
    let e = estate(&spread(300, 3), logging).await;
    let client = e.client().await;
    let desired = three_vaults(&e);
    let graph = ReadOptions {
        discovery: Discovery::ResourceGraph,
        ..ReadOptions::default()
    };
    let whole = live::read_with(&client, &desired, &graph).await.unwrap();
    assert_eq!(whole.source, Source::ResourceGraph);
    assert_eq!(whole.live.vms.len(), 300);
    assert_eq!(
        whole.graph_queries, 3,
        "containers, the VMs counted, then the VMs"
    );

    // Every subscription's VMs known: only the containers are asked.
    let subs: Vec<String> = desired.subscriptions();
    assert_eq!(subs.len(), 3);
    let known = Known {
        subscriptions: subs.clone(),
        vms: whole.live.vms.clone(),
        ..Known::default()
    };
    let again = ReadOptions {
        known: Some(known.clone()),
        ..graph.clone()
    };
    let read = live::read_with(&client, &desired, &again).await.unwrap();
    assert_eq!(read.graph_queries, 1, "no VM query");
    assert_eq!(read.live.fingerprint(), whole.live.fingerprint());

    // Their resource groups and vault lists known too (as a stamps' read hands them on):
    // neither is asked again.
    let mut lists = std::collections::BTreeMap::new();
    let mut groups = std::collections::BTreeMap::new();
    for s in &subs {
        let vaults = client.list(&vault::list_path(s)).await.unwrap();
        lists.insert(s.to_ascii_lowercase(), vaults);
        let rgs = client.list(&resource_group::list_path(s)).await.unwrap();
        groups.insert(s.to_ascii_lowercase(), rgs);
    }
    let before = logged(&log).len();
    let given = ReadOptions {
        known: Some(Known {
            groups,
            vault_lists: lists,
            ..known
        }),
        ..graph.clone()
    };
    let read = live::read_with(&client, &desired, &given).await.unwrap();
    assert_eq!((read.source, read.graph_queries), (Source::Known, 0));
    assert_eq!(read.live.fingerprint(), whole.live.fingerprint());
    let asked: Vec<String> = (logged(&log).iter().skip(before))
        .map(|l| l["path"].to_string())
        .collect();
    // The file's vaults do not exist yet (the lists given are empty): nothing to ask at all.
    assert_eq!(asked, Vec::<String>::new());

    // One subscription's VMs known, the others listed: the known VMs are taken as they are
    // (a mark on one shows through: they were not listed again), the others listed.
    let mut first: Vec<_> = (whole.live.vms.iter())
        .filter(|v| v.subscription.eq_ignore_ascii_case(FIRST))
        .cloned()
        .collect();
    assert_eq!(first.len(), 100);
    first[0].tags.insert("taken-as-given".into(), "yes".into());
    let marked = first[0].id.clone();
    let lists = ReadOptions {
        discovery: Discovery::Lists,
        known: Some(Known {
            subscriptions: vec![FIRST.to_string()],
            vms: first,
            ..Known::default()
        }),
        ..ReadOptions::default()
    };
    let read = live::read_with(&client, &desired, &lists).await.unwrap();
    assert_eq!((read.source, read.graph_queries), (Source::Lists, 0));
    assert_eq!(read.live.vms.len(), whole.live.vms.len());
    let vm = (read.live.vms.iter()).find(|v| v.id == marked).unwrap();
    assert_eq!(
        vm.tags.get("taken-as-given").map(String::as_str),
        Some("yes")
    );
    let ids = |vms: &[azprotect::model::VirtualMachine]| {
        let mut ids: Vec<String> = vms.iter().map(|v| v.id.to_string()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&read.live.vms), ids(&whole.live.vms));
}

/// `desired` read through `discovery` (the other read options their defaults).
async fn read_by(
    client: &ArmClient,
    desired: &azprotect::model::Desired,
    discovery: azprotect::live::Discovery,
) -> azprotect::live::Read {
    let options = azprotect::live::ReadOptions {
        discovery,
        ..Default::default()
    };
    azprotect::live::read_with(client, desired, &options)
        .await
        .unwrap()
}

/// The paths of the requests `lines`, lower case, without their queries.
fn paths(lines: &[serde_json::Value]) -> impl Iterator<Item = String> + '_ {
    (lines.iter()).filter_map(|l| {
        let p = l["path"].as_str()?.to_ascii_lowercase();
        Some(p.split('?').next().unwrap_or_default().to_string())
    })
}

/// The subscriptions (lower case) whose VMs the requests `lines` listed.
fn vm_listed(lines: &[serde_json::Value]) -> std::collections::BTreeSet<String> {
    paths(lines)
        .filter_map(|p| {
            let sub = p.strip_prefix("/subscriptions/")?.split('/').next()?;
            p.contains("/virtualmachines").then(|| sub.to_string())
        })
        .collect()
}

/// The statuses of the Resource Graph queries among `lines`.
fn graph_statuses(lines: &[serde_json::Value]) -> Vec<u64> {
    (lines.iter())
        .filter(|l| {
            let p = l["path"].as_str().unwrap_or_default().to_ascii_lowercase();
            p.contains("microsoft.resourcegraph/resources")
        })
        .filter_map(|l| l["status"].as_u64())
        .collect()
}

#[tokio::test]
async fn auto_reads_a_tenants_vms_in_one_answer_per_subscription_and_splits_an_answer_too_large() {
    use azprotect::live::{Discovery, Source};
    // 6,000 VMs, 1,000 in each of six subscriptions. One row per subscription: the
    // containers, the VMs counted, and one VM query — six pages' worth of VMs in one answer,
    // none listed.
    let (e, log, _dir) = throttled(&spread(6000, 6), 15, Duration::from_secs(5)).await;
    let client = e.client().await;
    let desired = vaults(&e, 6);
    let by_lists = read_by(&client, &desired, Discovery::Lists).await;
    let expected = vms_by_id(by_lists.live.vms);
    assert_eq!(expected.len(), 6000);
    let before = logged(&log).len();
    let auto = read_by(&client, &desired, Discovery::Auto).await;
    assert_eq!(
        (auto.source, auto.graph_queries),
        (Source::ResourceGraph, 3)
    );
    let lines = logged(&log).split_off(before);
    assert!(lines.iter().all(|l| l["status"] != 429), "no query waited");
    assert!(vm_listed(&lines).is_empty(), "no VM list");
    assert!(
        vms_by_id(auto.live.vms) == expected,
        "the same VMs as the lists"
    );

    // Resource Graph answers at most 1 MB here (16 MiB in Azure): the six subscriptions'
    // answer (6,000 VMs: one part by their count) is refused with its size, and asked again in
    // as many parts as that says — still no VM list.
    e.sandbox.set_graph_payload_limit(1_000_000);
    let before = logged(&log).len();
    let split = read_by(&client, &desired, Discovery::Auto).await;
    let lines = logged(&log).split_off(before);
    let statuses = graph_statuses(&lines);
    let (refused, answered) = (
        statuses.iter().filter(|s| **s == 400).count(),
        statuses.iter().filter(|s| **s == 200).count(),
    );
    // The containers, the counts, the refused answer (about 3 MB: three parts of two
    // subscriptions).
    assert_eq!((refused, answered), (1, 5), "{statuses:?}");
    assert_eq!(split.graph_queries, 6, "the refused query counts");
    assert_eq!(split.source, Source::ResourceGraph);
    assert!(vm_listed(&lines).is_empty(), "no VM list");
    assert!(vms_by_id(split.live.vms) == expected);

    // At 100 kB one subscription's VMs are too many for any answer: each is listed, and the
    // VMs are still the same.
    e.sandbox.set_graph_payload_limit(100_000);
    tokio::time::sleep(Duration::from_secs(5)).await; // a fresh quota window
    let before = logged(&log).len();
    let listed = read_by(&client, &desired, Discovery::Auto).await;
    let lines = logged(&log).split_off(before);
    assert_eq!(listed.source, Source::Mixed);
    let every: std::collections::BTreeSet<String> = (0..6).map(sub).collect();
    assert_eq!(vm_listed(&lines), every);
    assert!(vms_by_id(listed.live.vms) == expected);
}

/// `n` Backup vaults, one in each of the first `n` subscriptions of `spread`, each snapshotting
/// the disks of its own subscription's `rg-gen-000`.
fn disk_vaults(e: &Estate, n: u32) -> azprotect::model::Desired {
    per_subscription(e, n, "disk_backup", |i, s| {
        format!("  bv-{i}:\n    subscription: {s}\n    resource_group: rg-p-{i}\n    location: westeurope\n    policies:\n      daily: {{every: 1d, retention: 7d}}\n    protect:\n      - policy: daily\n        snapshot_resource_group: rg-p-{i}\n        select: {{resource_groups: [rg-gen-000]}}\n")
    })
}

#[tokio::test]
async fn disk_backup_over_subscriptions_finds_its_disks_through_resource_graph_while_its_quota_holds_them(
) {
    use azprotect::live::{Discovery, Source};
    // 3,000 VMs in three subscriptions, each with its OS disk beside it; the Backup vaults
    // pick the disks of each subscription's rg-gen-000 (1,500: two pages).
    let (e, log, _dir) = throttled(&spread(3000, 3), 6, Duration::from_secs(5)).await;
    let client = e.client().await;
    let desired = disk_vaults(&e, 3);
    let asked = || logged(&log);
    let listed_disks = |lines: &[serde_json::Value]| {
        (lines.iter())
            .filter(|l| {
                let p = l["path"].as_str().unwrap().to_ascii_lowercase();
                p.ends_with("/providers/microsoft.compute/disks") || p.contains("/disks?")
            })
            .count()
    };
    let lists = read_by(&client, &desired, Discovery::Lists).await;
    let listed = asked();
    assert_eq!(
        listed_disks(&listed),
        30,
        "each subscription's rg-gen-000 list: 500 disks, 50 a page (Azure's Compute lists)"
    );
    let sorted = |mut d: Vec<azprotect::model::ManagedDisk>| {
        d.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        d
    };
    let expected = sorted(lists.live.disks);
    assert_eq!(expected.len(), 1500);
    assert!(expected.iter().all(|d| d.resource_group == "rg-gen-000"));

    // Auto, a quota of six queries: the containers, the VMs' count and answer, and the disks'
    // first page leave two — the disks' second page fits.
    let before = asked().len();
    let auto = read_by(&client, &desired, Discovery::Auto).await;
    let lines = asked().split_off(before);
    assert_eq!(
        listed_disks(&lines),
        0,
        "no disk list: Resource Graph had them"
    );
    assert!(lines.iter().all(|l| l["status"] != 429), "no query waited");
    assert_eq!(
        (auto.source, auto.graph_queries),
        (Source::ResourceGraph, 5)
    );
    assert!(
        sorted(auto.live.disks) == expected,
        "the same disks as the lists, and only those the file can pick"
    );

    // A quota of four: the first queries spend it; the disks are listed.
    let (e, log, _dir) = throttled(&spread(3000, 3), 4, Duration::from_secs(5)).await;
    let client = e.client().await;
    let desired = disk_vaults(&e, 3);
    let auto = read_by(&client, &desired, Discovery::Auto).await;
    let lines = logged(&log);
    assert_eq!(listed_disks(&lines), 30);
    assert!(lines.iter().all(|l| l["status"] != 429));
    assert_eq!(
        (auto.source, auto.graph_queries),
        (Source::ResourceGraph, 4)
    );
    assert!(sorted(auto.live.disks) == expected);
}

#[tokio::test]
async fn auto_over_more_than_a_hundred_subscriptions_asks_one_vm_query_per_hundred() {
    use azprotect::live::{Discovery, Source};
    // 4,040 VMs, 20 in each of 202 subscriptions: three query groups (100, 100 and 2
    // subscriptions). A quota of nine queries: the containers', the counts' and the VMs' three.
    let (e, log, _dir) = throttled(&spread(4040, 202), 9, Duration::from_secs(5)).await;
    let client = e.client().await;
    let desired = vaults(&e, 202);
    let auto = read_by(&client, &desired, Discovery::Auto).await;
    assert_eq!(
        (auto.source, auto.graph_queries),
        (Source::ResourceGraph, 9)
    );
    let lines = logged(&log);
    assert!(lines.iter().all(|l| l["status"] != 429), "no query waited");
    assert!(vm_listed(&lines).is_empty(), "no VM list");

    let by_lists = read_by(&client, &desired, Discovery::Lists).await;
    let (a, b) = (vms_by_id(auto.live.vms), vms_by_id(by_lists.live.vms));
    assert_eq!(a.len(), 4040);
    assert!(
        a == b,
        "the same VMs, whichever way each subscription was read"
    );
}

/// The requests among `lines` that list a subscription's resource groups.
fn group_listed(lines: &[serde_json::Value]) -> usize {
    paths(lines)
        .filter(|p| p.ends_with("/resourcegroups"))
        .count()
}

#[tokio::test]
async fn auto_reads_one_subscription_through_resource_graph_only_when_its_lists_would_pass_fifty_pages(
) {
    use azprotect::live::discovery::AUTO_GRAPH_ABOVE;
    use azprotect::live::{Discovery, Source};
    // One subscription of 2,501 VMs: 51 pages of Azure's 50-VM lists. Resource Graph counts
    // them (one query) and answers them (one more); the resource groups still come from the
    // subscription's own list, and no VM is listed.
    let large = spread(AUTO_GRAPH_ABOVE as u32 + 1, 1);
    let (e, log, _dir) = throttled(&large, 15, Duration::from_secs(5)).await;
    let client = e.client().await;
    let desired = vaults(&e, 1);
    let expected = vms_by_id(read_by(&client, &desired, Discovery::Lists).await.live.vms);
    assert_eq!(expected.len(), 2_501);
    let before = logged(&log).len();
    let auto = read_by(&client, &desired, Discovery::Auto).await;
    let lines = logged(&log).split_off(before);
    assert_eq!(
        (auto.source, auto.graph_queries),
        (Source::ResourceGraph, 2),
        "the VMs counted, then answered"
    );
    assert!(vm_listed(&lines).is_empty(), "no VM list");
    assert_eq!(group_listed(&lines), 1, "its resource groups from its list");
    assert!(graph_statuses(&lines).iter().all(|s| *s == 200));
    assert!(
        vms_by_id(auto.live.vms) == expected,
        "the same VMs as the lists"
    );
    // A stamps' discovery (`discovery::find`) reads it the same way.
    let none = azprotect::live::discovery::DiskScopes::new();
    let one = [FIRST.to_string()];
    let found = azprotect::live::discovery::find(&client, &one, Discovery::Auto, None, &none)
        .await
        .unwrap();
    assert_eq!((found.source, found.queries), (Source::ResourceGraph, 2));
    assert_eq!(found.vms_of, [FIRST.to_string()].into());
    assert!(vms_by_id(found.vms.unwrap()) == expected);

    // `lists` never asks Resource Graph, however large.
    let before = logged(&log).len();
    let lists = read_by(&client, &desired, Discovery::Lists).await;
    assert_eq!((lists.source, lists.graph_queries), (Source::Lists, 0));
    assert!(graph_statuses(&logged(&log).split_off(before)).is_empty());

    // At 2,500 VMs (50 pages) the lists answer, after the count.
    let (auto, lines) = read_one_by_auto(&spread(2_500, 1), None).await;
    assert_eq!((auto.source, auto.graph_queries), (Source::Lists, 1));
    assert_eq!(vm_listed(&lines), [FIRST.to_string()].into());
    assert_eq!(auto.live.vms.len(), 2_500);

    // A large subscription Resource Graph has not indexed yet counts no VMs: listed, never
    // planned as empty.
    let unindexed = large.replace(
        "{name: Landing zone 0}",
        "{name: Landing zone 0, indexed: false}",
    );
    assert_ne!(unindexed, large);
    let (auto, lines) = read_one_by_auto(&unindexed, None).await;
    assert_eq!((auto.source, auto.graph_queries), (Source::Lists, 1));
    assert_eq!(vm_listed(&lines), [FIRST.to_string()].into());
    assert_eq!(auto.live.vms.len(), 2_501);

    // Resource Graph failing (503, retried until the client gives up) on the count, or on the
    // VMs after a count that said large: the lists answer, every VM, no error.
    for (answered, fault) in [(0, "graph_fail_after=0"), (1, "graph_fail_after=1")] {
        let (auto, lines) = read_one_by_auto(&large, Some(fault)).await;
        let statuses = graph_statuses(&lines);
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), answered);
        assert!(
            statuses.iter().filter(|s| **s == 503).count() > 1,
            "retried"
        );
        assert_eq!(auto.source, Source::Lists, "{fault}");
        assert_eq!(vm_listed(&lines), [FIRST.to_string()].into(), "{fault}");
        assert_eq!(auto.live.vms.len(), 2_501, "{fault}");
    }
}

/// The one-subscription estate `inventory` (served with the fault spec `faults`) read by
/// `auto` for a file with one vault there: the read, and the requests it sent.
async fn read_one_by_auto(
    inventory: &str,
    faults: Option<&str>,
) -> (azprotect::live::Read, Vec<serde_json::Value>) {
    let (e, log, _dir) = throttled_with(inventory, 15, Duration::from_secs(5), faults).await;
    let client = e.client().await;
    let desired = vaults(&e, 1);
    let before = logged(&log).len();
    let auto = read_by(&client, &desired, azprotect::live::Discovery::Auto).await;
    (auto, logged(&log).split_off(before))
}

#[tokio::test]
async fn a_lone_subscription_whose_count_waits_on_a_spent_quota_is_listed_not_held_up() {
    use azprotect::live::discovery::{AUTO_GRAPH_ABOVE, COUNT_PATIENCE};
    use azprotect::live::{Discovery, Source};
    // Resource Graph allows one query a minute, and another tool of the same user has spent it:
    // the count meets a 429 that says to wait the minute. `auto` waits COUNT_PATIENCE, then
    // lists the subscription's VMs, large as it is.
    let large = spread(AUTO_GRAPH_ABOVE as u32 + 1, 1);
    let (e, log, _dir) = throttled(&large, 1, Duration::from_secs(60)).await;
    let client = e.client().await;
    let spent = resource_graph::Session::new(&client)
        .page(
            &[FIRST.to_string()],
            &resource_graph::vm_count_query(),
            resource_graph::At::First,
        )
        .await
        .unwrap();
    assert_eq!(spent.rows.len(), 1);
    let desired = vaults(&e, 1);
    let before = logged(&log).len();
    let auto = read_by(&client, &desired, Discovery::Auto).await;
    let lines = logged(&log).split_off(before);
    let statuses = graph_statuses(&lines);
    assert!(
        !statuses.is_empty() && statuses.iter().all(|s| *s == 429),
        "the count was refused, never answered: {statuses:?} (patience {COUNT_PATIENCE:?})"
    );
    assert_eq!(auto.source, Source::Lists);
    assert_eq!(vm_listed(&lines), [FIRST.to_string()].into());
    assert_eq!(auto.live.vms.len(), 2_501);
}

#[tokio::test]
async fn a_subscription_resource_graph_left_out_is_listed_with_the_vault_contents_not_after_its_queries(
) {
    use azprotect::live::Discovery;
    // Three subscriptions, the third readable but not indexed by Resource Graph yet. A quota
    // of two queries per 5 s: the containers and the VM count spend it, and the VMs' query
    // waits for the next window. The third subscription's VMs do not wait with it.
    let inventory = spread(300, 3).replace(
        "generate:",
        &format!("  {}: {{indexed: false}}\ngenerate:", sub(2)),
    );
    let (e, log, _dir) = throttled(&inventory, 2, Duration::from_secs(5)).await;
    let client = e.client().await;
    let desired = vaults(&e, 3);
    let before = logged(&log).len();
    let read = read_by(&client, &desired, Discovery::Auto).await;
    let lines = logged(&log).split_off(before);
    assert_eq!(read.live.vms.len(), 300, "every VM, the third's listed");
    assert_eq!(
        vm_listed(&lines),
        [sub(2)].into(),
        "only the third's listed"
    );
    let positions = |wanted: &dyn Fn(&str) -> bool| -> Vec<usize> {
        (paths(&lines).enumerate())
            .filter(|(_, p)| wanted(p))
            .map(|(i, _)| i)
            .collect()
    };
    let third = sub(2);
    let listed = positions(&|p| p.contains(&third) && p.contains("/virtualmachines"));
    let queries = positions(&|p| p.contains("microsoft.resourcegraph/resources"));
    assert_eq!(queries.len(), 3, "containers, count, VMs");
    assert!(
        listed.iter().all(|l| *l < queries[2]),
        "the third's VM lists ({listed:?}) answered before the VMs' query ({queries:?})"
    );
}
