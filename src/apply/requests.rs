//! Change → the ARM requests that carry it out, in order, as its family builds them. Pure: no
//! I/O.

use crate::model::family::{self, ChangeInput};
use crate::model::{ArmRequest, Resource};
use crate::plan::Change;
use serde_json::Value;

/// Why a change cannot be turned into requests (a malformed or hand-edited plan).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{address}: {message}")]
pub struct RequestError {
    pub address: String,
    pub message: String,
}

/// The requests for one change, to be sent one after the other: its family's
/// (`model::family`).
pub fn requests_for(change: &Change) -> Result<Vec<ArmRequest>, RequestError> {
    let desired = change.after.clone().map(|attrs| Resource {
        address: change.address.clone(),
        arm_id: change.arm_id.clone(),
        attrs,
        depends_on: vec![],
    });
    let mut changed: Vec<String> = change
        .diff
        .iter()
        .map(|d| d.path.split('.').next().unwrap_or_default().to_string())
        .collect();
    changed.dedup();
    let input = ChangeInput {
        action: change.action,
        id: &change.arm_id,
        desired: desired.as_ref(),
        before: change.before.as_ref().unwrap_or(&Value::Null),
        data: change.data,
        changed: &changed,
    };
    (family::of(change.address.kind).requests)(&input).map_err(|message| RequestError {
        address: change.address.to_string(),
        message,
    })
}
