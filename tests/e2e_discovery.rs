//! A landing zone of several subscriptions planned through Azure Resource Graph: `plan` finds
//! the VMs and resource groups of every subscription in a few queries instead of lists per
//! subscription, makes the same plan as `--discovery lists`, and never plans a subscription
//! Resource Graph silently left out as empty — it names it, and `--allow-partial` plans the
//! rest after a single read.

mod support;

use azprotect::sandbox::SandboxOptions;
use serde_json::Value;
use std::path::{Path, PathBuf};
use support::estate::Estate;

const FIRST: &str = "00000000-0000-0000-0000-0000000000d1";

fn sub(i: u32) -> String {
    match i {
        0 => FIRST.to_string(),
        i => format!("00000000-0000-0000-0001-{i:012}"),
    }
}

/// `vms` VMs spread over `subs` subscriptions (two resource groups each, half tagged gold);
/// `unreadable`: the subscription the identity holds no role on.
fn inventory(dir: &Path, vms: u32, subs: u32, unreadable: Option<u32>) -> PathBuf {
    let mut text = format!("subscriptions:\n  {FIRST}: {{name: Landing zone 0}}\n");
    if let Some(u) = unreadable {
        text.push_str(&format!("  {}: {{readable: false}}\n", sub(u)));
    }
    text.push_str(&format!("generate: {{vms: {vms}, subscriptions: {subs}, resource_groups: 2, locations: [westeurope], tags: {{backup: [gold, none]}}}}\n"));
    let p = dir.join("inventory.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

/// One vault per subscription, in that subscription, protecting its gold VMs.
fn config(subs: u32) -> String {
    let mut y = format!("version: 1\nsubscription: {FIRST}\nresource_groups:\n");
    for i in 0..subs {
        y.push_str(&format!(
            "  rg-protect-{i}: {{location: westeurope, subscription: {}}}\n",
            sub(i)
        ));
    }
    y.push_str("recovery_vaults:\n");
    for i in 0..subs {
        y.push_str(&format!(
            "  rsv-{i}:\n    subscription: {}\n    resource_group: rg-protect-{i}\n    location: westeurope\n    backup_policies:\n      gold: {{schedule: {{daily: {{at: \"23:00\"}}}}, retention: {{daily: 30d}}}}\n    protect:\n      - policy: gold\n        select: {{tags: {{backup: gold}}}}\n",
            sub(i)
        ));
    }
    y
}

async fn estate(inventory: PathBuf, log: &Path) -> Estate {
    Estate::start_with(SandboxOptions {
        inventory: Some(inventory),
        time_scale: 0.0,
        access_log: Some(log.to_path_buf()),
        ..SandboxOptions::default()
    })
    .await
}

/// The access log's requests from line `from` on: (method, path without query).
fn requests(log: &Path, from: usize) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .skip(from)
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| {
            let path = v["path"].as_str().unwrap_or_default();
            let path = path.split('?').next().unwrap_or_default();
            (
                v["method"].as_str().unwrap_or_default().to_string(),
                path.to_ascii_lowercase(),
            )
        })
        .collect()
}

fn lines(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .count()
}

fn graph_queries(reqs: &[(String, String)]) -> usize {
    reqs.iter()
        .filter(|(m, p)| m == "POST" && p.contains("microsoft.resourcegraph/resources"))
        .count()
}

fn vm_lists(reqs: &[(String, String)]) -> usize {
    reqs.iter()
        .filter(|(m, p)| m == "GET" && p.ends_with("/providers/microsoft.compute/virtualmachines"))
        .count()
}

fn group_lists(reqs: &[(String, String)]) -> usize {
    reqs.iter()
        .filter(|(m, p)| m == "GET" && p.ends_with("/resourcegroups"))
        .count()
}

/// The plan without what says how it was made.
fn changes(plan: &Value) -> Value {
    plan["changes"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_over_four_subscriptions_finds_its_vms_through_resource_graph_as_the_lists_do() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let e = estate(inventory(dir.path(), 400, 4, None), &log).await;
    let file = e.write("landing-zone.yaml", &config(4));

    let before = lines(&log);
    let graph = e.plan_json(&file, &["--discovery", "resource-graph"]).await;
    graph.expect_code(0);
    let reqs = requests(&log, before);
    assert_eq!(
        graph_queries(&reqs),
        3,
        "one query for the four subscriptions' groups, one counting their VMs, one for the 400 VMs: {reqs:?}"
    );
    assert_eq!(vm_lists(&reqs), 0, "no VM list: {reqs:?}");
    assert_eq!(group_lists(&reqs), 0, "no resource-group list: {reqs:?}");

    let before = lines(&log);
    let lists = e.plan_json(&file, &["--discovery", "lists"]).await;
    lists.expect_code(0);
    let reqs = requests(&log, before);
    assert_eq!(graph_queries(&reqs), 0, "{reqs:?}");
    assert_eq!(group_lists(&reqs), 4, "one per subscription: {reqs:?}");
    assert!(vm_lists(&reqs) >= 4, "{reqs:?}");

    let (g, l) = (graph.json(), lists.json());
    let protect = changes(&g)
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["address"].as_str().unwrap().starts_with("protected_vm."))
        .count();
    assert_eq!(protect, 200, "every gold VM of the four subscriptions");
    assert_eq!(changes(&g), changes(&l), "the same plan either way");

    // auto: four subscriptions go through Resource Graph.
    let before = lines(&log);
    let auto = e.plan_json(&file, &[]).await;
    auto.expect_code(0);
    let reqs = requests(&log, before);
    assert_eq!((graph_queries(&reqs), vm_lists(&reqs)), (3, 0), "{reqs:?}");
    assert_eq!(changes(&auto.json()), changes(&g));

    // Applied, it converges, whichever way it reads.
    e.run(&["apply", "-f", &file, "--auto-approve"])
        .await
        .expect_code(0);
    for how in ["resource-graph", "lists"] {
        let again = e
            .run(&[
                "plan",
                "-f",
                &file,
                "--discovery",
                how,
                "--detailed-exitcode",
            ])
            .await;
        again.expect_code(0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_resource_graph_leaves_out_is_named_and_allow_partial_plans_the_rest_in_one_read(
) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let e = estate(inventory(dir.path(), 300, 3, Some(2)), &log).await;
    let file = e.write("landing-zone.yaml", &config(3));
    let denied = sub(2);

    let before = lines(&log);
    let refused = e
        .run(&["plan", "-f", &file, "--discovery", "resource-graph"])
        .await;
    refused.expect_code(1);
    let err = support::estate::flat(&refused.stderr);
    assert!(err.contains("may not read 1 subscription(s)"), "{err}");
    assert!(err.contains(&denied), "{err}");
    assert!(
        err.contains("does not have authorization to perform action 'Microsoft."),
        "the permission Azure says is missing: {err}"
    );
    let reqs = requests(&log, before);
    assert!(graph_queries(&reqs) >= 1, "{reqs:?}");
    // Resource Graph answered for two of three: only the third is asked through its list.
    let asked: Vec<&(String, String)> = reqs
        .iter()
        .filter(|(m, p)| m == "GET" && p.ends_with("/resourcegroups"))
        .collect();
    assert_eq!(asked.len(), 1, "{reqs:?}");
    assert!(asked[0].1.contains(&denied), "{reqs:?}");

    let before = lines(&log);
    let partial = e
        .plan_json(&file, &["--discovery", "resource-graph", "--allow-partial"])
        .await;
    partial.expect_code(0);
    let plan = partial.json();
    assert_eq!(
        plan["left_out"][0]["subscription"],
        denied.as_str(),
        "{plan}"
    );
    let planned = changes(&plan);
    let addresses: Vec<&str> = planned
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    assert!(
        !addresses.iter().any(|a| a.contains("rsv-2")),
        "{addresses:?}"
    );
    assert!(addresses.contains(&"recovery_vault.rsv-0"), "{addresses:?}");
    assert!(addresses.contains(&"recovery_vault.rsv-1"), "{addresses:?}");
    // One read: each readable subscription's vaults are listed once, Resource Graph asked
    // once per query.
    let reqs = requests(&log, before);
    let vault_lists = |s: &str| {
        reqs.iter()
            .filter(|(m, p)| {
                m == "GET"
                    && p.contains(&s.to_ascii_lowercase())
                    && p.ends_with("/providers/microsoft.recoveryservices/vaults")
            })
            .count()
    };
    assert_eq!(
        (vault_lists(&sub(0)), vault_lists(&sub(1))),
        (1, 1),
        "{reqs:?}"
    );
    assert_eq!(graph_queries(&reqs), 3, "{reqs:?}");

    // The lists find the same: the plan does not depend on how it read.
    let lists = e
        .plan_json(&file, &["--discovery", "lists", "--allow-partial"])
        .await;
    lists.expect_code(0);
    assert_eq!(changes(&lists.json()), changes(&plan));
    assert_eq!(lists.json()["left_out"], plan["left_out"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_readable_subscription_resource_graph_has_not_indexed_yet_has_its_vms_listed() {
    // Subscription 2 is readable, but Resource Graph returns none of its rows yet.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let inv = inventory(dir.path(), 120, 3, None);
    let text = std::fs::read_to_string(&inv).unwrap().replace(
        "generate:",
        &format!("  {}: {{indexed: false}}\ngenerate:", sub(2)),
    );
    std::fs::write(&inv, text).unwrap();
    let e = estate(inv, &log).await;
    let file = e.write("landing-zone.yaml", &config(3));
    let plan = |how: &'static str| {
        let (e, file) = (&e, &file);
        async move {
            let run = e.plan_json(file, &["--discovery", how]).await;
            run.expect_code(0);
            run.json()
        }
    };
    let before = lines(&log);
    let graph = plan("resource-graph").await;
    let reqs = requests(&log, before);
    // Its VMs, and only its, come from its own list(s): never planned as a subscription
    // without VMs.
    let listed_2 = group_vm_lists(&reqs, &sub(2));
    assert!(listed_2 > 0, "{reqs:?}");
    assert_eq!(vm_lists(&reqs), listed_2, "{reqs:?}");
    let lists = plan("lists").await;
    assert_eq!(changes(&graph), changes(&lists));
    let protected_in_2 = changes(&graph)
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["address"]
                .as_str()
                .unwrap()
                .starts_with("protected_vm.rsv-2/")
        })
        .count();
    assert!(protected_in_2 > 0, "{graph}");
}

/// VM lists under `sub` (per resource group or the subscription's).
fn group_vm_lists(reqs: &[(String, String)], sub: &str) -> usize {
    reqs.iter()
        .filter(|(m, p)| {
            m == "GET"
                && p.contains(sub)
                && p.ends_with("/providers/microsoft.compute/virtualmachines")
        })
        .count()
}
