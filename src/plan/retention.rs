//! Immutable vaults (immutability Unlocked or Locked) refuse any policy edit that shortens how
//! long recovery points are kept (Azure: `UserErrorRetentionReductionNotAllowed`).

use serde_json::Value;

/// The retention tiers an edit shortens or drops, e.g. `["retention.daily 30d → 14d"]`.
pub fn reductions(live: &Value, desired: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let (l, d) = (&live["retention"], &desired["retention"]);
    if let Some(before) = days(&l["daily"]) {
        match days(&d["daily"]) {
            Some(after) if after >= before => {}
            Some(after) => out.push(format!("retention.daily {before}d → {after}d")),
            None => out.push(format!("retention.daily {before}d → none")),
        }
    }
    for tier in ["weekly", "monthly", "yearly"] {
        if let Some(before) = l[tier]["keep"].as_u64() {
            match d[tier]["keep"].as_u64() {
                Some(after) if after >= before => {}
                Some(after) => out.push(format!("retention.{tier}.keep {before} → {after}")),
                None => out.push(format!("retention.{tier} keep {before} → none")),
            }
        }
    }
    out
}

fn days(v: &Value) -> Option<u64> {
    v.as_str()?.strip_suffix('d')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shorter_or_dropped_tiers_are_reductions_longer_ones_are_not() {
        let live =
            json!({"retention": {"daily": "30d", "weekly": {"keep": 12}, "yearly": {"keep": 3}}});
        let desired = json!({"retention": {"daily": "14d", "weekly": {"keep": 20}}});
        assert_eq!(
            reductions(&live, &desired),
            vec![
                "retention.daily 30d → 14d",
                "retention.yearly keep 3 → none"
            ]
        );
        assert!(reductions(
            &desired,
            &json!({"retention": {"daily": "60d", "weekly": {"keep": 20}}})
        )
        .is_empty());
    }
}
