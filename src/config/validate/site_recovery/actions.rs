//! Recovery plan actions (scripts, runbooks, manual steps) and the distinctness checks of plan
//! lists.

use super::super::{names, Cx};
use super::*;
use crate::config::diag::{At, Diag};
use crate::config::spanned::Sp;
use crate::config::types_site_recovery::PlanAction;
use crate::model::site_recovery::recovery_plan::{action_base, DerivedNames};
use std::collections::BTreeMap;

/// The names of one recovery plan's actions, declared or derived as the desired state derives
/// them (`recovery_plan::DerivedNames`): Azure tells a plan's actions apart by name.
#[derive(Default)]
pub(super) struct ActionNames {
    derived: DerivedNames,
    seen: BTreeMap<String, At>,
}

impl ActionNames {
    /// `a`'s name is not empty and no other action of the plan has it.
    pub(super) fn check(&mut self, cx: &mut Cx, a: &Sp<PlanAction>, plan: &str) {
        let v = &a.value;
        let (name, at) = match &v.name {
            Some(n) if n.value.trim().is_empty() => {
                cx.push(
                    Diag::error(cx.at(n.span), "an action's `name` is empty")
                        .label("empty name")
                        .help("leave `name` out to have one derived from the runbook, script or manual step"),
                );
                return;
            }
            Some(n) => (n.value.trim().to_string(), cx.at(n.span)),
            None => {
                let (rb, sc) = (v.runbook.as_ref(), v.script.as_ref());
                let base = action_base(rb.map(|r| r.value.as_str()), sc.map(|s| s.value.as_str()));
                (self.derived.take(&base), cx.at(a.span))
            }
        };
        match self.seen.get(&name.to_ascii_lowercase()) {
            Some(first) => cx.push(
                Diag::error(at, format!("two actions of recovery plan `{plan}` are named `{name}`"))
                    .label("named again here")
                    .note(*first, "first named here")
                    .help("give one of them another `name:` (an unnamed action is named after its runbook, script or `manual`, numbered -2, -3… when repeated)"),
            ),
            None => {
                self.seen.insert(name.to_ascii_lowercase(), at);
            }
        }
    }
}

pub(super) fn check_action(cx: &mut Cx, a: &Sp<PlanAction>) {
    let v = &a.value;
    let kinds: Vec<(&str, &Sp<String>)> = [
        ("runbook", &v.runbook),
        ("manual", &v.manual),
        ("script", &v.script),
    ]
    .into_iter()
    .filter_map(|(k, s)| s.as_ref().map(|s| (k, s)))
    .collect();
    match kinds.as_slice() {
        [] => cx.push(
            Diag::error(cx.at(a.span), "an action needs one of `runbook`, `manual` or `script`")
                .label("no action")
                .help("e.g. `{runbook: /subscriptions/…/runbooks/warm-cache}` or `{manual: \"Drain traffic from the load balancer\"}`"),
        ),
        [_] => {}
        [(first, f), (second, s), ..] => cx.push(
            Diag::error(
                cx.at(s.span),
                format!("an action is one of `runbook`, `manual` or `script`, not `{first}` and `{second}`"),
            )
            .label(format!("`{second}` in a `{first}` action"))
            .note(cx.at(f.span), format!("`{first}` here"))
            .help("split it into two actions of the list; they run in order"),
        ),
    }
    if let Some(rb) = &v.runbook {
        if let Err(e) = names::runbook_id(&rb.value) {
            cx.push(
                Diag::error(cx.at(rb.span), not_a(&rb.value, "a runbook id"))
                    .label("invalid runbook id")
                    .help(e),
            );
        }
    }
    if let Some(m) = &v.manual {
        if m.value.trim().is_empty() {
            cx.push(
                Diag::error(cx.at(m.span), "a manual action needs an instruction")
                    .label("empty text")
                    .help("write what the operator must do, e.g. `manual: \"Drain traffic from the load balancer\"`"),
            );
        }
        for (key, span) in [
            (
                "fabric_location",
                v.fabric_location.as_ref().map(|f| f.span),
            ),
            ("timeout", v.timeout.as_ref().map(|t| t.span)),
        ] {
            if let Some(span) = span {
                cx.push(
                    Diag::error(cx.at(span), format!("a manual action has no `{key}`"))
                        .label("not for manual actions")
                        .help(format!("`{key}` applies to runbook and script actions; Azure rejects it on a manual action: remove it")),
                );
            }
        }
    }
    if let Some(s) = &v.script {
        if s.value.trim().is_empty() {
            cx.push(
                Diag::error(cx.at(s.span), "a script action needs a path")
                    .label("empty path")
                    .help("write the script's path, e.g. `script: /RecoveryPlanScripts/warm-cache.ps1`"),
            );
        } else {
            cx.push(
                Diag::warning(cx.at(s.span), "script actions run on a VMM server")
                    .label("script action")
                    .help("Azure runs recovery-plan scripts in Hyper-V (VMM) to Azure scenarios; an Azure-to-Azure plan usually runs an Automation `runbook` instead"),
            );
        }
    }
    if let Some(t) = &v.timeout {
        match parse_minutes(&t.value) {
            None => cx.push(
                Diag::error(cx.at(t.span), format!("`{}` is not a duration", t.value))
                    .label("expected `<N>m`, `<N>h` or `<N>d`")
                    .help("write the timeout in minutes or hours, e.g. `30m` or `1h`"),
            ),
            Some(0) => cx.push(
                Diag::error(
                    cx.at(t.span),
                    "a timeout of 0 would stop the action at once",
                )
                .label("must be more than 0")
                .help(
                    "give the action time to run, e.g. `30m`; omit `timeout` for Azure's default",
                ),
            ),
            Some(_) => {}
        }
    }
    if let Some(on) = &v.on {
        check_distinct(
            cx,
            on,
            "on",
            "`failover`, `planned_failover` or `test_failover`; omit `on` to run on all three",
        );
    }
    if let Some(d) = &v.direction {
        check_distinct(
            cx,
            d,
            "direction",
            "`primary_to_recovery` or `recovery_to_primary`; omit `direction` to run in both",
        );
    }
}

pub(super) fn check_distinct<T: Ord + Copy + std::fmt::Debug + serde_snake::Snake>(
    cx: &mut Cx,
    list: &Sp<Vec<Sp<T>>>,
    key: &str,
    values: &str,
) {
    if list.value.is_empty() {
        cx.push(
            Diag::error(
                cx.at(list.span),
                format!("`{key}` needs at least one value"),
            )
            .label("empty list")
            .help(format!("list {values}")),
        );
    }
    let mut seen: BTreeMap<T, At> = BTreeMap::new();
    for item in &list.value {
        let at = cx.at(item.span);
        if let Some(first) = seen.get(&item.value) {
            cx.push(
                Diag::error(
                    at,
                    format!("`{}` is listed twice in `{key}`", item.value.snake()),
                )
                .label("repeated value")
                .note(*first, "first listed here"),
            );
        } else {
            seen.insert(item.value, at);
        }
    }
}

/// The YAML spelling of `on`/`direction` values, for messages.
mod serde_snake {
    use crate::config::types_site_recovery::{FailoverDirection, FailoverType};

    pub trait Snake {
        fn snake(&self) -> &'static str;
    }
    impl Snake for FailoverType {
        fn snake(&self) -> &'static str {
            match self {
                FailoverType::Failover => "failover",
                FailoverType::PlannedFailover => "planned_failover",
                FailoverType::TestFailover => "test_failover",
            }
        }
    }
    impl Snake for FailoverDirection {
        fn snake(&self) -> &'static str {
            match self {
                FailoverDirection::PrimaryToRecovery => "primary_to_recovery",
                FailoverDirection::RecoveryToPrimary => "recovery_to_primary",
            }
        }
    }
}
