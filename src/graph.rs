//! The dependency graph of resources (petgraph): parents before children, cycle and dangling
//! reference errors that name the resources involved, topological layers, DOT/text output.
//!
//! Owns: [`Graph`]. Must not import: `azure`, `live`, `plan`, `apply`, `cli`.

use crate::model::{Address, Resource};
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Why a set of resources is not a DAG.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum GraphError {
    #[error("{from} depends on {to}, which is not declared")]
    #[diagnostic(
        code(azprotect::graph::dangling),
        help("declare {to}, or remove the reference")
    )]
    Dangling { from: Address, to: Address },
    #[error("dependency cycle: {}", .cycle.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(" → "))]
    #[diagnostic(code(azprotect::graph::cycle))]
    Cycle { cycle: Vec<Address> },
}

/// A DAG whose edges point from a dependency to its dependent (`vault → policy`).
#[derive(Debug, Clone, Default)]
pub struct Graph {
    g: DiGraph<Address, ()>,
    index: BTreeMap<Address, NodeIndex>,
}

impl Graph {
    /// Build from nodes and `(dependent, dependency)` edges; every edge end must be a node.
    pub fn from_edges(
        nodes: impl IntoIterator<Item = Address>,
        edges: impl IntoIterator<Item = (Address, Address)>,
    ) -> Result<Graph, GraphError> {
        let mut graph = Graph::default();
        for a in nodes {
            graph.add_node(a);
        }
        let mut seen = BTreeSet::new();
        for (from, to) in edges {
            let (Some(&f), Some(&t)) = (graph.index.get(&from), graph.index.get(&to)) else {
                return Err(GraphError::Dangling { from, to });
            };
            if seen.insert((t, f)) {
                graph.g.add_edge(t, f, ());
            }
        }
        graph.check_acyclic()?;
        Ok(graph)
    }

    /// The graph of desired resources (edges from `depends_on`).
    pub fn of_resources(resources: &[Resource]) -> Result<Graph, GraphError> {
        Graph::from_edges(
            resources.iter().map(|r| r.address.clone()),
            resources.iter().flat_map(|r| {
                r.depends_on
                    .iter()
                    .map(move |d| (r.address.clone(), d.clone()))
            }),
        )
    }

    fn add_node(&mut self, a: Address) -> NodeIndex {
        if let Some(&i) = self.index.get(&a) {
            return i;
        }
        let i = self.g.add_node(a.clone());
        self.index.insert(a, i);
        i
    }

    fn check_acyclic(&self) -> Result<(), GraphError> {
        for scc in tarjan_scc(&self.g) {
            let self_loop = scc.len() == 1 && self.g.contains_edge(scc[0], scc[0]);
            if scc.len() > 1 || self_loop {
                let mut cycle: Vec<Address> = scc.iter().map(|&i| self.g[i].clone()).collect();
                cycle.sort();
                let first = cycle[0].clone();
                cycle.push(first);
                return Err(GraphError::Cycle { cycle });
            }
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.g.node_count()
    }

    pub fn is_empty(&self) -> bool {
        self.g.node_count() == 0
    }

    /// Direct dependencies of `a`.
    pub fn dependencies(&self, a: &Address) -> Vec<Address> {
        self.neighbors(a, Direction::Incoming)
    }

    /// Direct dependents of `a`.
    pub fn dependents(&self, a: &Address) -> Vec<Address> {
        self.neighbors(a, Direction::Outgoing)
    }

    fn neighbors(&self, a: &Address, dir: Direction) -> Vec<Address> {
        let Some(&i) = self.index.get(a) else {
            return Vec::new();
        };
        let mut v: Vec<Address> = self
            .g
            .neighbors_directed(i, dir)
            .map(|n| self.g[n].clone())
            .collect();
        v.sort();
        v
    }

    /// Topological layers: every node's dependencies are in earlier layers; each layer sorted.
    pub fn layers(&self) -> Vec<Vec<Address>> {
        let mut indegree: BTreeMap<NodeIndex, usize> = self
            .g
            .node_indices()
            .map(|i| (i, self.g.neighbors_directed(i, Direction::Incoming).count()))
            .collect();
        let mut layers = Vec::new();
        let mut ready: Vec<NodeIndex> = indegree
            .iter()
            .filter(|(_, &d)| d == 0)
            .map(|(&i, _)| i)
            .collect();
        while !ready.is_empty() {
            let mut next = Vec::new();
            for &i in &ready {
                for n in self.g.neighbors_directed(i, Direction::Outgoing) {
                    let d = indegree.get_mut(&n).expect("node has an indegree");
                    *d -= 1;
                    if *d == 0 {
                        next.push(n);
                    }
                }
            }
            let mut layer: Vec<Address> = ready.iter().map(|&i| self.g[i].clone()).collect();
            layer.sort();
            layers.push(layer);
            ready = next;
        }
        layers
    }

    /// Graphviz DOT, stable order.
    pub fn to_dot(&self) -> String {
        let mut out = String::from(
            "digraph azprotect {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
        );
        for a in self.index.keys() {
            let _ = writeln!(out, "  \"{a}\";");
        }
        let mut edges: Vec<(String, String)> = self
            .g
            .edge_indices()
            .filter_map(|e| self.g.edge_endpoints(e))
            .map(|(f, t)| (self.g[f].to_string(), self.g[t].to_string()))
            .collect();
        edges.sort();
        for (f, t) in edges {
            let _ = writeln!(out, "  \"{f}\" -> \"{t}\";");
        }
        out.push_str("}\n");
        out
    }

    /// Indented text: each layer, and what each node depends on.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (n, layer) in self.layers().iter().enumerate() {
            let _ = writeln!(out, "layer {n}:");
            for a in layer {
                let deps = self.dependencies(a);
                if deps.is_empty() {
                    let _ = writeln!(out, "  {a}");
                } else {
                    let deps: Vec<String> = deps.iter().map(|d| d.to_string()).collect();
                    let _ = writeln!(out, "  {a}  ← {}", deps.join(", "));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Address {
        s.parse().unwrap()
    }

    #[test]
    fn layers_put_parents_first() {
        let g = Graph::from_edges(
            [
                a("protected_vm.v/rg/vm"),
                a("backup_policy.v/gold"),
                a("recovery_vault.v"),
                a("resource_group.rg"),
            ],
            [
                (a("protected_vm.v/rg/vm"), a("backup_policy.v/gold")),
                (a("backup_policy.v/gold"), a("recovery_vault.v")),
                (a("recovery_vault.v"), a("resource_group.rg")),
            ],
        )
        .unwrap();
        let layers = g.layers();
        assert_eq!(layers.len(), 4);
        assert_eq!(layers[0], vec![a("resource_group.rg")]);
        assert_eq!(layers[3], vec![a("protected_vm.v/rg/vm")]);
        assert!(g
            .to_dot()
            .contains("\"recovery_vault.v\" -> \"backup_policy.v/gold\""));
    }

    #[test]
    fn a_cycle_is_named_and_a_dangling_reference_is_reported() {
        let err = Graph::from_edges(
            [a("backup_policy.v/x"), a("backup_policy.v/y")],
            [
                (a("backup_policy.v/x"), a("backup_policy.v/y")),
                (a("backup_policy.v/y"), a("backup_policy.v/x")),
            ],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "dependency cycle: backup_policy.v/x → backup_policy.v/y → backup_policy.v/x"
        );
        let err = Graph::from_edges(
            [a("backup_policy.v/x")],
            [(a("backup_policy.v/x"), a("recovery_vault.v"))],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "backup_policy.v/x depends on recovery_vault.v, which is not declared"
        );
    }
}
