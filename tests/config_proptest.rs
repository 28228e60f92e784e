//! Properties: no input makes `load` panic (site_recovery and disk_backup fragments
//! included), any valid policy comes out of `desired()` in canonical form (days in week order,
//! lists deduplicated, defaults filled), and replication durations round-trip.

use azprotect::config;
use proptest::prelude::*;
use serde_json::Value;

const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

fn load(text: String) -> Result<config::Loaded, config::ConfigError> {
    config::load_sources(vec![("fuzz.yaml".into(), text)])
}

/// Fragments of real files, glued in random order: reaches the validator, not only the parser.
fn yamlish() -> impl Strategy<Value = String> {
    let frag = prop_oneof![
        Just("version: 1\n".to_string()),
        Just("subscription: 00000000-0000-0000-0000-000000000001\n".to_string()),
        Just("recovery_vaults:\n  rsv-a:\n    resource_group: rg-a\n    location: westeurope\n".to_string()),
        Just("    backup_policies:\n      gold:\n        schedule: {daily: {at: \"23:00\"}}\n        retention: {daily: 30d}\n".to_string()),
        Just("    protect:\n      - policy: gold\n        vms: [rg/a, rg/a]\n".to_string()),
        Just("  - x\n".to_string()),
        Just("&a [*a]\n".to_string()),
        Just("<<: {}\n".to_string()),
        Just("tags: {a: 1, b: 2, a: 3}\n".to_string()),
        Just("resource_groups:\n  rg: {location: x}\n\n  # c\n  rg: {location: y}\n".to_string()),
        Just("  - policy: a\n    policy: b\n".to_string()),
        Just("site_recovery:\n  dr:\n    vault: RSV-A\n    source_region: westeurope\n    target_region: westeurope\n    target_resource_group: rg\n    cache_storage_account: /subscriptions/x\n    policy: {recovery_points: 0m, app_consistent_every: 99999999d}\n".to_string()),
        Just("    vms: [{vm: rg/a, target_zone: 9, target_availability_set: a, disks: {os: PremiumV2_LRS, data: {0: x, 00: y, os: z}}}, {vm: rg/a}]\n".to_string()),
        Just("    recovery_plans:\n      p: {groups: [{vms: [rg/a, rg/a, rg/b], after: [{}, {manual: '', script: '', on: [], timeout: 0m}]}, {vms: []}]}\n".to_string()),
        Just("    network_mappings: [{source: /a/b, target: /a/b}, {source: /a/b, target: /c}]\n".to_string()),
        Just("disk_backup:\n  bv-a:\n    resource_group: rg-a\n    location: westeurope\n    on_remove: delete_data\n".to_string()),
        Just("    policies:\n      every-4h: {every: 4h, retention: 7d, start: \"02:00\", time_zone: UTC}\n      p: {every: 1h, retention: 99999999999d}\n".to_string()),
        Just("    protect:\n      - {policy: every-4h, snapshot_resource_group: /subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/r, disks: [rg/d, rg/d, /subscriptions/x/d], select: {}}\n".to_string()),
        Just("\t\"\u{0}\u{feff}é\n".to_string()),
        "[ -~\n]{0,40}",
    ];
    prop::collection::vec(frag, 0..8).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = load(text);
    }

    #[test]
    fn yaml_shaped_text_never_panics(text in yamlish()) {
        if let Ok(l) = load(text) {
            let _ = l.desired(Some("00000000-0000-0000-0000-000000000009"));
        }
    }

    #[test]
    fn replication_durations_round_trip_through_their_shortest_form(m in 0u32..=525_600) {
        use azprotect::config::validate::site_recovery::{format_minutes, parse_minutes};
        prop_assert_eq!(parse_minutes(&format_minutes(m)), Some(m));
        prop_assert_eq!(parse_minutes(&format!("{m}m")), Some(m));
    }

    #[test]
    fn a_valid_weekly_policy_comes_out_canonical(
        sched in prop::sample::subsequence(DAYS.to_vec(), 1..=7).prop_shuffle(),
        keep in 1u32..=5163,
        hour in 0u32..24,
        half in any::<bool>(),
        enhanced in any::<bool>(),
    ) {
        let at = format!("{hour:02}:{}", if half { "30" } else { "00" });
        let ret_days: Vec<&str> = sched.iter().rev().copied().collect();
        let yaml = format!(
            "version: 1\nsubscription: 00000000-0000-0000-0000-000000000001\nrecovery_vaults:\n  rsv-a:\n    resource_group: rg-a\n    location: westeurope\n    backup_policies:\n      pol:\n        tier: {}\n        schedule: {{weekly: {{on: [{}], at: \"{at}\"}}}}\n        retention:\n          weekly: {{keep: {keep}, on: [{}]}}\n          monthly: {{keep: 12, week: [Last, First], on: [{}]}}\n",
            if enhanced { "enhanced" } else { "standard" },
            sched.join(", "),
            ret_days.join(", "),
            ret_days.join(", "),
        );
        let d = load(yaml).map_err(|e| TestCaseError::fail(format!("{:?}", miette::Report::new(e))))?.desired(None).unwrap();
        let p = &d.resources.iter().find(|r| r.address.to_string() == "backup_policy.rsv-a/pol").unwrap().attrs;
        let mut sorted: Vec<&str> = sched.clone();
        sorted.sort_by_key(|d| DAYS.iter().position(|x| x == d));
        let expect: Vec<Value> = sorted.iter().map(|d| Value::from(*d)).collect();
        prop_assert_eq!(&p["schedule"]["weekly"]["on"], &Value::Array(expect.clone()));
        prop_assert_eq!(&p["schedule"]["weekly"]["at"], &Value::from(at));
        prop_assert_eq!(&p["retention"]["weekly"]["on"], &Value::Array(expect.clone()));
        prop_assert_eq!(&p["retention"]["weekly"]["keep"], &Value::from(keep));
        prop_assert_eq!(&p["retention"]["monthly"]["week"], &serde_json::json!(["First", "Last"]));
        let on = &p["retention"]["monthly"]["on"];
        if expect.len() == 1 {
            prop_assert_eq!(on, &expect[0]);
        } else {
            prop_assert_eq!(on, &Value::Array(expect));
        }
        prop_assert_eq!(&p["instant_restore_days"], &Value::from(5));
        prop_assert_eq!(&p["time_zone"], &Value::from("UTC"));
    }
}

/// The example files as shipped: the seeds of the mutation fuzz.
fn examples() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut texts: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    texts.sort();
    texts
}

/// One edit of a file: what a careless hand, a bad merge or a cut-off download does.
#[derive(Debug, Clone)]
enum Edit {
    /// Cut the file at this fraction of its length.
    Truncate(f64),
    /// Delete a span (start fraction, length in bytes).
    Delete(f64, usize),
    /// Insert YAML punctuation or odd characters at a fraction.
    Insert(f64, String),
    /// Repeat a line (a duplicate key, a duplicate list item).
    DuplicateLine(usize),
    /// Re-indent a line by this many spaces (negative: dedent).
    Indent(usize, i8),
    /// Swap two lines.
    Swap(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0.0..1.0f64).prop_map(Edit::Truncate),
        (0.0..1.0f64, 1usize..40).prop_map(|(a, n)| Edit::Delete(a, n)),
        (
            0.0..1.0f64,
            prop::sample::select(
                &[
                    ":",
                    "- ",
                    "{",
                    "}",
                    "[",
                    "]",
                    "&a ",
                    "*a",
                    "!!map ",
                    "!evil ",
                    "? ",
                    "|\n",
                    ">-\n",
                    "\t",
                    "\"",
                    "'",
                    "#",
                    "%YAML 1.2\n",
                    "---\n",
                    "...\n",
                    "<<: *a\n",
                    "\u{feff}",
                    "\u{0}",
                    "é",
                    "99999999999999999999d",
                    "-1",
                    "~",
                    "null",
                    "0x1F",
                    ".inf",
                    "1e400",
                ][..]
            )
            .prop_map(str::to_string)
        )
            .prop_map(|(a, t)| Edit::Insert(a, t)),
        any::<usize>().prop_map(Edit::DuplicateLine),
        (any::<usize>(), -4i8..=4).prop_map(|(l, n)| Edit::Indent(l, n)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap(a, b)),
    ]
}

/// The byte at `fraction` of `text`, moved back to a character boundary.
fn at(text: &str, fraction: f64) -> usize {
    let mut i = ((text.len() as f64) * fraction) as usize;
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply_edit(text: String, e: &Edit) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let n = lines.len().max(1);
    match e {
        Edit::Truncate(f) => text[..at(&text, *f)].to_string(),
        Edit::Delete(f, len) => {
            let a = at(&text, *f);
            let b = at(
                &text,
                ((a + len) as f64 / text.len().max(1) as f64).min(1.0),
            );
            format!("{}{}", &text[..a], &text[b.max(a)..])
        }
        Edit::Insert(f, t) => {
            let a = at(&text, *f);
            format!("{}{t}{}", &text[..a], &text[a..])
        }
        Edit::DuplicateLine(l) if !lines.is_empty() => {
            let l = l % n;
            lines.insert(l, lines[l].clone());
            lines.join("\n")
        }
        Edit::Indent(l, by) if !lines.is_empty() => {
            let l = l % n;
            let line = &lines[l];
            lines[l] = if *by >= 0 {
                format!("{}{line}", " ".repeat(*by as usize))
            } else {
                line.chars().skip((-*by) as usize).collect()
            };
            lines.join("\n")
        }
        Edit::Swap(a, b) if !lines.is_empty() => {
            lines.swap(a % n, b % n);
            lines.join("\n")
        }
        _ => text,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Real files, edited: the loader and the validator answer with diagnostics, never a panic.
    #[test]
    fn edited_example_files_never_panic(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..5),
    ) {
        let all = examples();
        let text = edits.iter().fold(which.get(&all).clone(), apply_edit);
        match load(text) {
            Ok(l) => {
                let _ = l.desired(Some("00000000-0000-0000-0000-000000000009"));
            }
            Err(e) => {
                // A diagnostic that renders (spans inside the text).
                let _ = format!("{:?}", miette::Report::new(e));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_in_a_file_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("azprotect.yaml");
        std::fs::write(&path, &bytes).unwrap();
        let _ = config::load(&[path]);
    }
}

#[test]
fn a_missing_file_is_a_diagnostic_not_a_panic() {
    let err = config::load(&["/nonexistent/azprotect.yaml".into()])
        .err()
        .unwrap();
    let shown = format!("{:?}", miette::Report::new(err));
    assert!(
        shown.contains("/nonexistent/azprotect.yaml does not exist"),
        "{shown}"
    );
    assert!(!shown.contains("invalid configuration"), "{shown}");
}
