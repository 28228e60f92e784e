//! Checks every plan must pass, shared by the invariant tests.

use azprotect::model::Address;
use azprotect::plan::Plan;
use std::collections::BTreeMap;

/// The plan lists its changes in apply order: each change comes after every change it depends
/// on, and depends only on changes of the plan.
pub fn listed_in_order(p: &Plan) -> Result<(), String> {
    let at: BTreeMap<&Address, usize> = p
        .changes
        .iter()
        .enumerate()
        .map(|(i, c)| (&c.address, i))
        .collect();
    for (i, c) in p.changes.iter().enumerate() {
        for dep in &c.depends_on {
            match at.get(dep) {
                Some(j) if *j < i => {}
                j => {
                    return Err(format!(
                        "{} (change {i}) depends on {dep}, which is listed at {j:?}",
                        c.address
                    ))
                }
            }
        }
    }
    Ok(())
}
