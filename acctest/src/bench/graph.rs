//! The critical-path lower bound of one create (PRODUCT §4's graph over the emulator's durations) and the anchors' chain.

use serde::Serialize;

use super::world::IAM_PROPAGATION_SECONDS;

/// Nominal (unscaled) durations of the operations one `csmrun_service` create waits on, as the
/// emulator models them (`emulator/src/services/...`); a smoke test checks them against the
/// operations the emulator actually started.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Durations {
    /// Cloud Run `services.create` (`run/deploy.rs` CREATE_SECONDS).
    pub run_create: f64,
    /// Compute `regionNetworkEndpointGroups.insert` (`compute/neg_api.rs`).
    pub neg_insert: f64,
    /// Compute `backendServices.insert` (`compute/backend_service_api.rs`).
    pub backend_insert: f64,
    /// Network Services `httpRoutes.create` (`network_services/route_api.rs`).
    pub route_create: f64,
    /// Cloud DNS change `pending` → `done` (`dns/changes.rs`); `rrsets.create` is synchronous.
    pub dns_change: f64,
    /// A new project binding becomes effective after this (`iamPropagationDelay` of the seed).
    pub iam_propagation: f64,
}

impl Durations {
    /// The emulator's nominal durations.
    pub const EMULATOR: Durations = Durations {
        run_create: 20.0,
        neg_insert: 5.0,
        backend_insert: 10.0,
        route_create: 10.0,
        dns_change: 5.0,
        iam_propagation: IAM_PROPAGATION_SECONDS,
    };
}

/// One node of a dependency graph with its own duration (nominal seconds).
struct Node {
    name: &'static str,
    seconds: f64,
    after: &'static [&'static str],
}

/// The longest chain of a graph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chain {
    /// Nominal seconds.
    pub seconds: f64,
    /// Node names along the chain, first to last.
    pub path: Vec<&'static str>,
}

/// Longest path through `nodes` (listed in dependency order: every `after` names an earlier node).
fn longest(nodes: &[Node]) -> Chain {
    let mut finish: Vec<(f64, Option<usize>)> = Vec::with_capacity(nodes.len());
    for node in nodes {
        let (start, from) = node
            .after
            .iter()
            .filter_map(|dep| nodes.iter().position(|n| n.name == *dep))
            // Only earlier nodes have finished (the lists are in dependency order).
            .filter(|i| *i < finish.len())
            .map(|i| (finish[i].0, Some(i)))
            .fold((0.0, None), |best, c| {
                // Ties go to the first dependency, so zero-length steps still show on the path.
                if best.1.is_none() || c.0 > best.0 {
                    c
                } else {
                    best
                }
            });
        finish.push((start + node.seconds, from));
    }
    let mut at = finish
        .iter()
        .enumerate()
        .fold(None::<usize>, |best, (i, f)| match best {
            Some(b) if finish[b].0 >= f.0 => Some(b),
            _ => Some(i),
        });
    let seconds = at.map(|i| finish[i].0).unwrap_or(0.0);
    let mut path = Vec::new();
    while let Some(i) = at {
        path.push(nodes[i].name);
        at = finish[i].1;
    }
    path.reverse();
    Chain { seconds, path }
}

/// The critical path of csmrun's create graph, PRODUCT §4: pre-flight; {IAM → propagation wait} ∥
/// {zone → record} ∥ {NEG → backend service} ∥ mesh settle; the service after IAM and settle;
/// invokers after the service; the route last. (`src/service/runner.rs` also makes IAM wait for the
/// NEG insert to be *accepted*, which takes one round trip, counted as zero here.) `new_grant`: the
/// account's binding is added by this create, so the service waits for propagation. The seeded mesh
/// is older than the settle time and API round trips count as zero.
pub fn csmrun_critical_path(d: &Durations, new_grant: bool) -> Chain {
    let propagation = if new_grant { d.iam_propagation } else { 0.0 };
    let nodes = [
        Node {
            name: "pre-flight",
            seconds: 0.0,
            after: &[],
        },
        Node {
            name: "neg",
            seconds: d.neg_insert,
            after: &["pre-flight"],
        },
        Node {
            name: "iam + propagation wait",
            seconds: propagation,
            after: &["pre-flight"],
        },
        Node {
            name: "dns zone",
            seconds: 0.0,
            after: &["pre-flight"],
        },
        Node {
            name: "dns record",
            seconds: 0.0,
            after: &["dns zone"],
        },
        Node {
            name: "backend service",
            seconds: d.backend_insert,
            after: &["neg"],
        },
        Node {
            name: "mesh settle",
            seconds: 0.0,
            after: &["pre-flight"],
        },
        Node {
            name: "cloud run service",
            seconds: d.run_create,
            after: &["iam + propagation wait", "mesh settle"],
        },
        Node {
            name: "invokers",
            seconds: 0.0,
            after: &["cloud run service"],
        },
        Node {
            name: "http route",
            seconds: d.route_create,
            after: &[
                "cloud run service",
                "invokers",
                "backend service",
                "dns record",
            ],
        },
    ];
    longest(&nodes)
}

/// The anchors' unit as one sequential chain (the google-provider composition of the sample repo
/// and field report): project IAM member, a blind 90 s `time_sleep`, then each part after the
/// other, the DNS record through the Changes API waited until done.
pub fn anchor_chain(d: &Durations) -> Chain {
    let nodes = [
        Node {
            name: "project iam member",
            seconds: 0.0,
            after: &[],
        },
        Node {
            name: "time_sleep",
            seconds: IAM_PROPAGATION_SECONDS,
            after: &["project iam member"],
        },
        Node {
            name: "cloud run service",
            seconds: d.run_create,
            after: &["time_sleep"],
        },
        Node {
            name: "neg",
            seconds: d.neg_insert,
            after: &["cloud run service"],
        },
        Node {
            name: "backend service",
            seconds: d.backend_insert,
            after: &["neg"],
        },
        Node {
            name: "dns zone",
            seconds: 0.0,
            after: &["backend service"],
        },
        Node {
            name: "dns record",
            seconds: d.dns_change,
            after: &["dns zone"],
        },
        Node {
            name: "http route",
            seconds: d.route_create,
            after: &["dns record"],
        },
    ];
    longest(&nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_new_grant_the_service_then_the_route_bound_the_create() {
        let c = csmrun_critical_path(&Durations::EMULATOR, false);
        assert_eq!(c.seconds, 30.0);
        assert_eq!(c.path.last(), Some(&"http route"));
        assert!(c.path.contains(&"cloud run service"));
    }

    #[test]
    fn a_new_grant_puts_the_propagation_wait_on_the_critical_path() {
        let c = csmrun_critical_path(&Durations::EMULATOR, true);
        assert_eq!(c.seconds, 120.0);
        assert_eq!(
            c.path,
            vec![
                "pre-flight",
                "iam + propagation wait",
                "cloud run service",
                "http route"
            ]
        );
    }

    #[test]
    fn a_slow_backend_service_would_take_over_the_critical_path() {
        let d = Durations {
            backend_insert: 40.0,
            ..Durations::EMULATOR
        };
        let c = csmrun_critical_path(&d, false);
        assert_eq!(c.seconds, 55.0);
        assert!(c.path.contains(&"backend service"));
    }

    #[test]
    fn the_anchor_chain_adds_every_part_and_the_blind_sleep() {
        let c = anchor_chain(&Durations::EMULATOR);
        assert_eq!(c.seconds, 90.0 + 20.0 + 5.0 + 10.0 + 5.0 + 10.0);
        assert_eq!(c.path.len(), 8);
    }
}
