//! Coverage: the VMs the file's scope looks at, protected or not.

use super::findings::{subject, Finding, Kind};
use crate::model::ArmId;

/// A VM the file's scope looks at: in a declared vault's region and in a resource group the
/// file's lists or selectors name (or, with `--all`, anywhere in its subscriptions).
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeVm {
    pub id: ArmId,
    /// Does the file want it protected (listed, or picked by a selector)?
    pub declared: bool,
    /// Is it protected (by any vault)?
    pub protected: bool,
    /// Does it carry an exemption tag (`--exempt-tag`, default `backup=none`)?
    pub exempt: bool,
}

/// Coverage: VMs the file wants protected that are not, VMs in scope that nothing protects,
/// and VMs protected in the file's vaults that the file does not declare (`outside`).
pub fn coverage_findings(scope: &[ScopeVm], outside: &[(ArmId, String)]) -> Vec<Finding> {
    let mut out = Vec::new();
    for vm in scope.iter().filter(|v| !v.protected) {
        let s = subject(&vm.id);
        if vm.declared {
            out.push(Finding::new(
                Kind::Coverage,
                "declared_not_protected",
                &s,
                "the file protects it but Azure does not: run `azprotect apply`".into(),
            ));
        } else if !vm.exempt {
            out.push(Finding::new(
                Kind::Coverage,
                "unprotected",
                &s,
                "in scope (the vault's region and a resource group the file looks at) with no backup"
                    .into(),
            ));
        }
    }
    for (vm, vault) in outside {
        out.push(Finding::new(
            Kind::Coverage,
            "protected_outside_file",
            &subject(vm),
            format!("protected in vault {vault} but not declared by the file"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_names_the_unapplied_the_unprotected_and_the_undeclared() {
        let id = |n: &str| {
            ArmId::new(format!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/{n}"))
        };
        let vm = |n: &str, declared, protected, exempt| ScopeVm {
            id: id(n),
            declared,
            protected,
            exempt,
        };
        let scope = [
            vm("ok", true, true, false),
            vm("unapplied", true, false, false),
            vm("forgotten", false, false, false),
            vm("opted-out", false, false, true),
        ];
        let f = coverage_findings(&scope, &[(id("extra"), "rsv".into())]);
        let got: Vec<(&str, &str)> = f.iter().map(|f| (f.code, f.subject.as_str())).collect();
        assert_eq!(
            got,
            [
                ("declared_not_protected", "rg/unapplied"),
                ("unprotected", "rg/forgotten"),
                ("protected_outside_file", "rg/extra")
            ]
        );
    }
}
