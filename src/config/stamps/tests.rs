//! Stamps expanded without HTTP: patterns, slugs, the regions in scope, `create_empty_regions`,
//! an existing vault kept, names generated twice, selectors narrowed to the vault's region.

use super::*;
use crate::model::stamp::ExistingVault;
use crate::model::{ArmId, VirtualMachine};

const A: &str = "00000000-0000-0000-0000-0000000000a1";
const B: &str = "00000000-0000-0000-0000-0000000000a2";
const C: &str = "00000000-0000-0000-0000-0000000000a3";

fn vm(sub: &str, rg: &str, name: &str, location: &str, tier: &str) -> VirtualMachine {
    VirtualMachine {
        id: ArmId::new(format!(
            "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}"
        )),
        name: name.into(),
        resource_group: rg.into(),
        subscription: sub.into(),
        location: location.into(),
        tags: [("backup".to_string(), tier.to_string())].into(),
        data_disk_luns: vec![],
        disks: vec![],
        size: None,
    }
}

/// Three subscriptions under `mg-corp`: Corp Prod has gold VMs in two regions, Corp Dev one
/// gold VM in North Europe (and an untagged one in West Europe), Sandbox none.
fn facts() -> StampFacts {
    let sub = |id: &str, name: &str| StampSubscription {
        id: id.into(),
        name: name.into(),
    };
    StampFacts {
        groups: [(
            "mg-corp".to_string(),
            vec![sub(A, "Corp Prod"), sub(B, "Corp Dev"), sub(C, "Sandbox")],
        )]
        .into(),
        names: [(A, "Corp Prod"), (B, "Corp Dev"), (C, "Sandbox")]
            .map(|(i, n)| (i.to_string(), n.to_string()))
            .into(),
        vms: vec![
            vm(A, "rg-app", "app-01", "westeurope", "gold"),
            vm(A, "rg-app", "app-02", "northeurope", "gold"),
            vm(B, "rg-dev", "dev-01", "westeurope", "none"),
            vm(B, "rg-dev", "dev-02", "northeurope", "gold"),
        ],
        ..StampFacts::default()
    }
}

const STAMP: &str = "version: 1
subscription: 00000000-0000-0000-0000-0000000000a1
stamps:
  landing-zone:
    management_group: mg-corp
    resource_group: rg-backup-{subscription.name}-{region}
    recovery_vault:
      name: rsv-{subscription.name}-{region}
      backup_policies:
        gold:
          schedule: {daily: {at: '02:00'}}
          retention: {daily: 30d}
      protect:
        - policy: gold
          select: {tags: {backup: gold}}
";

fn files(yaml: &str) -> Vec<ConfigFile> {
    match crate::config::load_sources(vec![("f.yaml".into(), yaml.into())]) {
        Ok(l) => l.files().to_vec(),
        Err(e) => panic!("{:?}", miette::Report::new(e)),
    }
}

fn run(yaml: &str, facts: &StampFacts) -> (Vec<ConfigFile>, Vec<Stamped>, Diags) {
    let mut diags = Diags::default();
    let (files, stamped, _) = expand(&files(yaml), facts, &mut diags);
    (files, stamped, diags)
}

fn vaults(f: &[ConfigFile]) -> Vec<String> {
    f.iter()
        .flat_map(|f| f.recovery_vaults.iter().flat_map(|m| m.value.keys()))
        .map(str::to_string)
        .collect()
}

fn errors(d: &Diags) -> Vec<String> {
    d.list.iter().map(|d| d.message.clone()).collect()
}

#[test]
fn patterns_know_three_placeholders_and_point_at_an_unknown_one() {
    let p = Pattern::parse("rsv-{subscription.name}-{region}").unwrap();
    let sub = StampSubscription {
        id: A.to_uppercase(),
        name: "Corp Prod (EU)".into(),
    };
    assert_eq!(p.expand(&sub, "West Europe"), "rsv-corp-prod-eu-westeurope");
    let p = Pattern::parse("x{subscription.id}").unwrap();
    assert_eq!(p.expand(&sub, "westeurope"), format!("x{A}"));
    assert!(p.uses(Placeholder::SubscriptionId) && !p.uses(Placeholder::Region));
    let bad = Pattern::parse("rsv-{sub}-{region}").unwrap_err();
    assert_eq!((bad.at, bad.text.as_str()), (4..9, "{sub}"));
    let open = Pattern::parse("rsv-{region").unwrap_err();
    assert_eq!(open.at, 4..5, "{open:?}");
    assert!(Pattern::parse("rsv-}").is_err());
    assert_eq!(sub_span((10..15).into(), "a{x}b", 1..4), (11..14).into());
    assert_eq!(sub_span((10..17).into(), "a{x}b", 1..4), (12..15).into());
}

#[test]
fn a_group_and_a_vault_per_subscription_and_region_with_vms_in_scope() {
    let (out, stamped, d) = run(STAMP, &facts());
    assert!(d.list.is_empty(), "{:?}", errors(&d));
    assert_eq!(
        vaults(&out),
        [
            "rsv-corp-prod-northeurope",
            "rsv-corp-prod-westeurope",
            "rsv-corp-dev-northeurope"
        ],
        "no vault where no VM is in scope: Corp Dev's West Europe VM is not gold, Sandbox has none"
    );
    let rgs = out[0].resource_groups.as_ref().unwrap();
    let (name, rg) = &rgs.value.0[0];
    assert_eq!(name.value, "rg-backup-corp-prod-northeurope");
    assert_eq!(rg.value.location.value, "northeurope");
    assert_eq!(rg.value.subscription.as_ref().unwrap().value, A);
    let v = out[0]
        .recovery_vaults
        .as_ref()
        .unwrap()
        .get("rsv-corp-dev-northeurope")
        .unwrap();
    assert_eq!(v.value.subscription.as_ref().unwrap().value, B);
    assert_eq!(
        v.value.resource_group.value,
        "rg-backup-corp-dev-northeurope"
    );
    let sel = v.value.protect.as_ref().unwrap().value[0]
        .value
        .select
        .as_ref()
        .unwrap();
    assert_eq!(
        sel.value.location_names(),
        ["northeurope"],
        "the selector keeps to the vault's region"
    );
    // The spans stay on the stamp: the vault's name on the pattern.
    let at = STAMP.find("rsv-{subscription.name}").unwrap();
    assert_eq!(
        out[0].recovery_vaults.as_ref().unwrap().value.0[0]
            .0
            .span
            .offset(),
        at
    );
    assert_eq!(stamped.len(), 3);
    assert_eq!(
        (
            stamped[2].stamp.as_str(),
            stamped[2].subscription.name.as_str()
        ),
        ("landing-zone", "Corp Dev")
    );
}

#[test]
fn regions_narrow_the_scope_and_create_empty_regions_fills_it() {
    let only_weu = STAMP.replace(
        "    management_group",
        "    regions: [West Europe]\n    management_group",
    );
    assert_eq!(
        vaults(&run(&only_weu, &facts()).0),
        ["rsv-corp-prod-westeurope"]
    );
    let everywhere = STAMP.replace(
        "    management_group",
        "    regions: [westeurope, northeurope]\n    create_empty_regions: true\n    management_group",
    );
    let (out, _, d) = run(&everywhere, &facts());
    assert!(d.list.is_empty(), "{:?}", errors(&d));
    assert_eq!(
        vaults(&out).len(),
        6,
        "two regions in each of three subscriptions: {:?}",
        vaults(&out)
    );
    assert!(vaults(&out).contains(&"rsv-sandbox-westeurope".to_string()));
}

#[test]
fn a_stamped_vault_that_exists_is_kept_when_its_region_has_no_vm_in_scope_any_more() {
    let mut f = facts();
    let kept = format!("/subscriptions/{B}/resourceGroups/rg-backup-corp-dev-westeurope/providers/Microsoft.RecoveryServices/vaults/RSV-corp-dev-westeurope");
    let other = format!("/subscriptions/{C}/resourceGroups/rg-x/providers/Microsoft.RecoveryServices/vaults/rsv-hand-made");
    f.vaults = vec![
        ExistingVault {
            id: ArmId::new(&kept),
            location: "westeurope".into(),
        },
        ExistingVault {
            id: ArmId::new(&other),
            location: "westeurope".into(),
        },
    ];
    let names = vaults(&run(STAMP, &f).0);
    assert!(
        names.contains(&"rsv-corp-dev-westeurope".to_string()),
        "{names:?}"
    );
    assert_eq!(
        names.len(),
        4,
        "a vault of another name is not the stamp's: {names:?}"
    );
    // Outside the stamp's regions it is not the stamp's either.
    let only_neu = STAMP.replace(
        "    management_group",
        "    regions: [northeurope]\n    management_group",
    );
    assert!(!vaults(&run(&only_neu, &f).0).contains(&"rsv-corp-dev-westeurope".to_string()));
}

#[test]
fn a_name_generated_twice_or_also_written_by_hand_names_both_origins() {
    let no_sub = STAMP.replace("rsv-{subscription.name}-{region}", "rsv-{region}");
    let (_, _, d) = run(&no_sub, &facts());
    let e = errors(&d);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("vault `rsv-northeurope` of stamp `landing-zone` in subscription `Corp Dev`"),
        "{}",
        e[0]
    );
    assert!(
        e[0].contains("is also the vault of stamp `landing-zone` in subscription `Corp Prod`"),
        "{}",
        e[0]
    );
    assert!(
        d.list[0].notes.len() == 1
            && d.list[0]
                .help
                .as_deref()
                .unwrap()
                .contains("{subscription.name}")
    );

    let by_hand = format!(
        "{STAMP}resource_groups:\n  rg-backup-corp-prod-westeurope: {{location: westeurope}}\n"
    );
    let e = errors(&run(&by_hand, &facts()).2);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("is also the resource group of `resource_groups`"),
        "{}",
        e[0]
    );
}

#[test]
fn an_expanded_name_azure_refuses_points_at_the_pattern_and_says_where() {
    let long = STAMP.replace(
        "rsv-{subscription.name}-{region}",
        "rsv-{subscription.id}-{region}",
    );
    let (_, _, d) = run(&long, &facts());
    assert!(!d.list.is_empty());
    let first = &d.list[0];
    assert!(
        first
            .message
            .contains(&format!("vault name `rsv-{A}-northeurope`")),
        "{}",
        first.message
    );
    assert!(
        first.message.contains("subscription `Corp Prod`")
            && first.message.contains("region `northeurope`")
    );
    assert!(first.help.as_deref().unwrap().contains("2–50 characters"));
    assert_eq!(
        first.at.unwrap().span.offset(),
        long.find("rsv-{subscription.id}").unwrap()
    );
}

#[test]
fn a_listed_subscription_the_identity_cannot_read_is_an_error_at_its_entry() {
    let listed = STAMP.replace(
        "management_group: mg-corp",
        "subscriptions: [00000000-0000-0000-0000-0000000000a1, 00000000-0000-0000-0000-0000000000ff]",
    );
    let (out, _, d) = run(&listed, &facts());
    let e = errors(&d);
    assert_eq!(
        e,
        ["subscription `00000000-0000-0000-0000-0000000000ff` is not one the identity can read"]
    );
    assert_eq!(
        d.list[0].at.unwrap().span.offset(),
        listed.find("00000000-0000-0000-0000-0000000000ff").unwrap()
    );
    assert_eq!(vaults(&out).len(), 2, "the readable one is expanded");
}

#[test]
fn wanted_says_what_to_read_and_nothing_without_stamps() {
    assert_eq!(wanted(&files("version: 1\n")), None);
    let w = wanted(&files(STAMP)).unwrap();
    assert_eq!(
        (w.groups, w.subscriptions),
        (vec!["mg-corp".to_string()], vec![])
    );
}
