//! The dependency graph (petgraph), the one source of ordering: `plan` orders its changes by
//! the resolved desired state's graph (and the live state's for deletes) and links them from
//! it; `apply` walks the plan's change graph; `validate` and `graph` print it. Parents before
//! children, cycle and dangling-reference errors that name the resources involved, topological
//! layers and orders, DOT/text output.
//!
//! Owns: [`Graph`]. Must not import: `azure`, `live`, `plan`, `apply`, `cli`, `ops`.

use crate::model::fast::FastMap;
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
    /// Node by address: hashed, a tenant's plan looks up 100,000s of them.
    index: FastMap<Address, NodeIndex>,
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

    /// The graph of resources whose references may point outside the set (live resources:
    /// what they depend on may not be managed, or may be gone): those edges are dropped, and a
    /// cycle (Azure's state never has one) is not an error.
    pub fn within(resources: &[Resource]) -> Graph {
        let mut graph = Graph::default();
        for r in resources {
            graph.add_node(r.address.clone());
        }
        let mut seen = BTreeSet::new();
        for r in resources {
            let f = graph.index[&r.address];
            for d in &r.depends_on {
                if let Some(&t) = graph.index.get(d) {
                    if t != f && seen.insert((t, f)) {
                        graph.g.add_edge(t, f, ());
                    }
                }
            }
        }
        graph
    }

    pub fn contains(&self, a: &Address) -> bool {
        self.index.contains_key(a)
    }

    /// Every node after its dependencies (`dependencies_first`) or after its dependents; among
    /// the nodes ready at once, the smallest `key` first, so the order is stable and reads well.
    /// Nodes on a cycle (only [`Graph::within`] allows one) come last, by `key`.
    pub fn order_by<K: Ord>(
        &self,
        dependencies_first: bool,
        key: impl Fn(&Address) -> K,
    ) -> Vec<Address> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let (before, after) = if dependencies_first {
            (Direction::Incoming, Direction::Outgoing)
        } else {
            (Direction::Outgoing, Direction::Incoming)
        };
        // Every node's place in `key` order, once: the ready heap compares places, not keys.
        let keys: Vec<K> = self.g.node_indices().map(|i| key(&self.g[i])).collect();
        let mut by_key: Vec<NodeIndex> = self.g.node_indices().collect();
        by_key.sort_by(|a, b| keys[a.index()].cmp(&keys[b.index()]).then(a.cmp(b)));
        let mut place = vec![0; by_key.len()];
        for (p, i) in by_key.iter().enumerate() {
            place[i.index()] = p;
        }
        // Dependencies (or dependents) not yet out, per node; `None` once it is out.
        let mut waiting: Vec<Option<usize>> = (self.g.node_indices())
            .map(|i| Some(self.g.neighbors_directed(i, before).count()))
            .collect();
        let mut ready: BinaryHeap<Reverse<usize>> = (self.g.node_indices())
            .filter(|i| waiting[i.index()] == Some(0))
            .map(|i| Reverse(place[i.index()]))
            .collect();
        let mut out = Vec::with_capacity(self.g.node_count());
        while let Some(Reverse(p)) = ready.pop() {
            let i = by_key[p];
            out.push(self.g[i].clone());
            waiting[i.index()] = None;
            for n in self.g.neighbors_directed(i, after) {
                if let Some(w) = waiting[n.index()].as_mut() {
                    *w -= 1;
                    if *w == 0 {
                        ready.push(Reverse(place[n.index()]));
                    }
                }
            }
        }
        // Nodes on a cycle, by key.
        let stuck = by_key.iter().filter(|i| waiting[i.index()].is_some());
        out.extend(stuck.map(|&i| self.g[i].clone()));
        out
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
        let mut nodes: Vec<&Address> = self.index.keys().collect();
        nodes.sort();
        for a in nodes {
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
    fn an_order_puts_dependencies_first_and_breaks_ties_by_key() {
        let g = Graph::from_edges(
            [
                a("protected_vm.v/rg/b"),
                a("protected_vm.v/rg/a"),
                a("backup_policy.v/gold"),
                a("recovery_vault.v"),
                a("resource_group.rg"),
            ],
            [
                (a("protected_vm.v/rg/a"), a("backup_policy.v/gold")),
                (a("protected_vm.v/rg/b"), a("backup_policy.v/gold")),
                (a("backup_policy.v/gold"), a("recovery_vault.v")),
            ],
        )
        .unwrap();
        let names = |v: Vec<Address>| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        // The resource group depends on nothing and is ready first; by key it still sorts
        // among the ready ones.
        assert_eq!(
            names(g.order_by(true, |x| x.clone())),
            [
                "resource_group.rg",
                "recovery_vault.v",
                "backup_policy.v/gold",
                "protected_vm.v/rg/a",
                "protected_vm.v/rg/b"
            ]
        );
        // Dependents first (the order deletes need).
        let rev = names(g.order_by(false, |x| x.clone()));
        assert_eq!(rev.last().unwrap(), "recovery_vault.v");
        assert!(
            rev.iter().position(|x| x == "protected_vm.v/rg/b")
                < rev.iter().position(|x| x == "backup_policy.v/gold")
        );
    }

    #[test]
    fn a_graph_within_drops_references_outside_it() {
        use crate::model::{ArmId, Resource};
        let r = |addr: &str, deps: &[&str]| Resource {
            address: a(addr),
            arm_id: ArmId::new(format!("/x/{addr}")),
            attrs: serde_json::json!({}),
            depends_on: deps.iter().map(|d| a(d)).collect(),
        };
        let g = Graph::within(&[
            r("backup_policy.v/gold", &["recovery_vault.v"]),
            r("protected_vm.v/rg/a", &["backup_policy.v/gold"]),
        ]);
        assert_eq!(g.len(), 2);
        assert_eq!(g.dependencies(&a("backup_policy.v/gold")), vec![]);
        assert_eq!(
            g.dependents(&a("backup_policy.v/gold")),
            vec![a("protected_vm.v/rg/a")]
        );
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
