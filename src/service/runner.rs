//! Runs the steps of an apply as a dependency graph, journals what changed, and rolls back on failure. Every
//! lifecycle is a plan for this one runner: a create is a graph ([`CreateSteps`]), an update a sequence with a
//! commit point (`super::update`), a destroy an order of deletes whose steps undo nothing (`super::resource`).
//!
//! # Guarantees
//! - A step starts only after every step it depends on has succeeded; steps whose dependencies are met run
//!   concurrently.
//! - Every step that succeeded having changed something, and every step that failed after changing something (its
//!   partial record), is in the journal. On any failure or cancellation no new step is started, the steps in
//!   flight are awaited, and then every journal entry is undone in reverse completion order, which is a reverse
//!   dependency order: a part is undone only after everything that depends on it. A step may run after another
//!   without needing it ([`Graph::add_after`]: a sequence's order); only what a step needs is kept for it.
//! - A failing step never cuts short the other branches' changes in flight: when a step fails, the runner cancels
//!   only the token it gave the steps (a child of the caller's), which ends their waits; the caller's token, to
//!   which steps bind their API calls, is left alone. So a create whose request was already sent completes, its
//!   record is journaled, and it is undone with everything else, instead of being abandoned half-made (a part
//!   created server-side after the rollback looked for it would be an orphan). Only the caller (Ctrl-C, timeout)
//!   interrupts requests.
//! - If an undo fails, the parts it needs are kept (something may still use them), and the outcome lists
//!   everything that remains with its record, so the caller can put it in Terraform state: nothing is left that
//!   the caller is not told about.
//! - Rollback runs even after cancellation: undo takes no cancellation token.
//! - The token the steps get is cancelled when a step fails, so waits in other steps end promptly; the token given
//!   to [`Graph::run`] is never cancelled by the runner.
//!
//! # Assumptions
//! - `ensure` and `undo` are idempotent: a repeated `ensure` adopts what an earlier one made, a repeated `undo` of a
//!   part already gone succeeds.
//! - A step binds its API calls to the caller's token and its waits to the one it is given. Cut short by the
//!   caller, it returns as its partial record whatever a request it sent may have made, and its `undo` settles that
//!   request (e.g. awaits the insert's operation) before removing the part.
//! - A step's record says what that step changed (e.g. "created", "member added"), so `undo` reverts exactly that and
//!   leaves pre-existing things alone.
//!
//! # Errors
//! - [`GraphEnd::RolledBack`]: the first error, with everything undone.
//! - [`GraphEnd::Incomplete`]: the first error, the undo errors, and the records of what remains.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::{FuturesUnordered, StreamExt};
use tokio_util::sync::CancellationToken;

/// A step that failed; `partial` is set when it changed something before failing (e.g. a service that was created
/// but never became Ready), so rollback can undo it.
#[derive(Debug)]
pub struct Failed<R, E> {
    pub error: E,
    pub partial: Option<R>,
}

impl<R, E> Failed<R, E> {
    /// A failure that changed nothing.
    pub fn clean(error: E) -> Self {
        Failed {
            error,
            partial: None,
        }
    }
}

/// One part of an apply.
#[async_trait]
pub trait Step: Send + Sync {
    /// What the step did, enough for `undo` to revert exactly that.
    type Record: Clone + Debug + Send + Sync + 'static;
    /// The step's error.
    type Error: Debug + Send + 'static;

    /// Brings the part to its desired state; waits inside it end early when `cancel` fires.
    async fn ensure(
        &self,
        cancel: CancellationToken,
    ) -> Result<Self::Record, Failed<Self::Record, Self::Error>>;

    /// Reverts what `ensure` recorded.
    async fn undo(&self, record: &Self::Record) -> Result<(), Self::Error>;

    /// True when the record says nothing was changed (a read-only check, an adopted shared part): such records
    /// are not journaled, so they are neither undone nor reported as remaining.
    fn is_noop(&self, _record: &Self::Record) -> bool {
        false
    }
}

/// A boxed step of a graph.
pub type DynStep<R, E> = Arc<dyn Step<Record = R, Error = E>>;

/// Index of a node in a [`Graph`].
pub type NodeId = usize;

struct Node<R, E> {
    name: &'static str,
    /// Steps this one runs after.
    deps: Vec<NodeId>,
    /// Steps whose parts this one's part uses: kept while it remains (a subset of what it runs after).
    needs: Vec<NodeId>,
    step: DynStep<R, E>,
}

/// Steps and the "runs after" relation between them.
pub struct Graph<R, E> {
    nodes: Vec<Node<R, E>>,
}

impl<R, E> Default for Graph<R, E> {
    fn default() -> Self {
        Graph { nodes: Vec::new() }
    }
}

/// A journal entry: the node, its name and its record.
#[derive(Debug, Clone)]
pub struct Entry<R> {
    pub node: NodeId,
    pub name: &'static str,
    pub record: R,
}

/// How a run ended.
#[derive(Debug)]
pub enum GraphEnd<R, E> {
    /// Every step succeeded; the journal (steps that changed something) in completion order.
    Done(Vec<Entry<R>>),
    /// A step failed (or the run was cancelled) and everything was undone; `undone` names what had been
    /// created and was removed again, oldest first.
    RolledBack {
        failed: &'static str,
        error: E,
        undone: Vec<&'static str>,
    },
    /// A step failed and some undo failed too; `remaining` still exists.
    Incomplete {
        failed: &'static str,
        error: E,
        undo_errors: Vec<(&'static str, E)>,
        remaining: Vec<Entry<R>>,
    },
}

/// Returned by [`Graph::run`] when the run was cancelled before any step failed.
pub trait CancelledError {
    /// The error that stands for "cancelled by the user or the timeout".
    fn cancelled() -> Self;
}

impl<R: Clone + Debug + Send + Sync + 'static, E: Debug + Send + CancelledError + 'static>
    Graph<R, E>
{
    /// Adds a step that runs after `deps`; returns its id.
    ///
    /// Ids come from earlier `add` calls only, so the graph cannot have cycles.
    pub fn add(&mut self, name: &'static str, deps: &[NodeId], step: DynStep<R, E>) -> NodeId {
        self.add_after(name, deps, deps, step)
    }

    /// Adds a step that runs after `after` but needs only `needs` (of those) to stay while its part remains: the
    /// steps of a sequence run in order, and each undo puts back its own part whatever became of the others.
    pub fn add_after(
        &mut self,
        name: &'static str,
        after: &[NodeId],
        needs: &[NodeId],
        step: DynStep<R, E>,
    ) -> NodeId {
        let id = self.nodes.len();
        debug_assert!(
            after.iter().all(|d| *d < id) && needs.iter().all(|n| after.contains(n)),
            "dependencies must be added first, and needed steps run first"
        );
        self.nodes.push(Node {
            name,
            deps: after.to_vec(),
            needs: needs.to_vec(),
            step,
        });
        id
    }

    /// The steps in this order, each after the one before and needing none of them (see [`Graph::add_after`]).
    pub fn sequence(steps: Vec<(&'static str, DynStep<R, E>)>) -> Self {
        let mut g = Graph::default();
        let mut last: Option<NodeId> = None;
        for (name, step) in steps {
            let after: Vec<NodeId> = last.into_iter().collect();
            last = Some(g.add_after(name, &after, &[], step));
        }
        g
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when there are no steps.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Runs every step, concurrently where the graph allows; on failure or cancellation (of `cancel`) rolls back.
    pub async fn run(&self, cancel: &CancellationToken) -> GraphEnd<R, E> {
        // What the steps get: cancelled on the first failure too, so their waits wind down before the rollback,
        // while requests bound to `cancel` still complete and are journaled (see the module doc).
        let stop = cancel.child_token();
        let mut done: BTreeSet<NodeId> = BTreeSet::new();
        let mut started: BTreeSet<NodeId> = BTreeSet::new();
        let mut journal: Vec<Entry<R>> = Vec::new();
        let mut first_error: Option<(&'static str, E)> = None;
        let mut in_flight = FuturesUnordered::new();
        loop {
            if first_error.is_none() && !stop.is_cancelled() {
                for (id, node) in self.nodes.iter().enumerate() {
                    if !started.contains(&id) && node.deps.iter().all(|d| done.contains(d)) {
                        started.insert(id);
                        let step = Arc::clone(&node.step);
                        let token = stop.clone();
                        in_flight.push(async move { (id, step.ensure(token).await) });
                    }
                }
            }
            let Some((id, result)) = in_flight.next().await else {
                break;
            };
            let name = self.nodes[id].name;
            match result {
                Ok(record) => {
                    tracing::debug!(step = name, "step done");
                    done.insert(id);
                    if !self.nodes[id].step.is_noop(&record) {
                        journal.push(Entry {
                            node: id,
                            name,
                            record,
                        });
                    }
                }
                Err(Failed { error, partial }) => {
                    tracing::debug!(step = name, ?error, "step failed");
                    // A partial record with nothing to undo is no more journaled than a no-op success.
                    if let Some(record) = partial.filter(|r| !self.nodes[id].step.is_noop(r)) {
                        journal.push(Entry {
                            node: id,
                            name,
                            record,
                        });
                    }
                    if first_error.is_none() {
                        first_error = Some((name, error));
                    }
                    stop.cancel();
                }
            }
        }
        let (failed, error) = match first_error {
            Some(fe) => fe,
            None if done.len() == self.nodes.len() => return GraphEnd::Done(journal),
            None => ("cancelled", E::cancelled()),
        };
        let created: Vec<&'static str> = journal.iter().map(|e| e.name).collect();
        let (undo_errors, remaining) = self.rollback(journal).await;
        if undo_errors.is_empty() {
            GraphEnd::RolledBack {
                failed,
                error,
                undone: created,
            }
        } else {
            GraphEnd::Incomplete {
                failed,
                error,
                undo_errors,
                remaining,
            }
        }
    }

    /// Undoes `journal` newest first; keeps whatever a remaining entry depends on.
    async fn rollback(&self, journal: Vec<Entry<R>>) -> (Vec<(&'static str, E)>, Vec<Entry<R>>) {
        let mut kept: Vec<Entry<R>> = Vec::new();
        let mut errors = Vec::new();
        for entry in journal.into_iter().rev() {
            let needed_by_kept = kept.iter().any(|k| self.depends_on(k.node, entry.node));
            if needed_by_kept {
                tracing::warn!(
                    step = entry.name,
                    "not undone: a part that depends on it could not be removed"
                );
                kept.push(entry);
                continue;
            }
            match self.nodes[entry.node].step.undo(&entry.record).await {
                Ok(()) => tracing::debug!(step = entry.name, "undone"),
                Err(e) => {
                    tracing::warn!(step = entry.name, error = ?e, "undo failed");
                    errors.push((entry.name, e));
                    kept.push(entry);
                }
            }
        }
        kept.reverse();
        (errors, kept)
    }

    /// True when `a` needs `b`, directly or through other steps.
    fn depends_on(&self, a: NodeId, b: NodeId) -> bool {
        let mut stack = self.nodes[a].needs.clone();
        while let Some(n) = stack.pop() {
            if n == b {
                return true;
            }
            stack.extend(self.nodes[n].needs.iter().copied());
        }
        false
    }
}

/// The steps of a create, wired as the graph of PRODUCT §4.
pub struct CreateSteps<R, E> {
    /// Read-only pre-flight checks (mesh exists, subnet Private Google Access, hostname free): everything else
    /// waits for them, so a doomed create fails before creating anything.
    pub checks: DynStep<R, E>,
    /// Project IAM grant, then (only if newly added) the propagation wait; runs once the NEG insert, which records
    /// the roles about to be granted, has been accepted.
    pub iam: DynStep<R, E>,
    pub dns_zone: DynStep<R, E>,
    pub dns_record: DynStep<R, E>,
    /// The NEG insert, done once Google has accepted it (the operation returned, not finished).
    pub neg: DynStep<R, E>,
    /// The NEG insert's operation, awaited while the IAM propagation wait runs.
    pub neg_operation: DynStep<R, E>,
    pub backend_service: DynStep<R, E>,
    /// The rest of the mesh settle time, overlapping the other branches.
    pub mesh_settle: DynStep<R, E>,
    /// Cloud Run service, waited for until Ready (diagnosed and redeployed inside the step).
    pub service: DynStep<R, E>,
    pub invokers: DynStep<R, E>,
    pub route: DynStep<R, E>,
}

/// Node names of the create graph, as they appear in journals and diagnostics.
pub mod node {
    pub const IAM: &str = "project IAM";
    pub const DNS_ZONE: &str = "DNS zone";
    pub const DNS_RECORD: &str = "DNS record";
    pub const NEG: &str = "serverless NEG";
    pub const NEG_OPERATION: &str = "serverless NEG operation";
    pub const BACKEND_SERVICE: &str = "backend service";
    pub const CHECKS: &str = "pre-flight checks";
    pub const MESH_SETTLE: &str = "mesh settle wait";
    pub const SERVICE: &str = "Cloud Run service";
    pub const INVOKERS: &str = "invoker policy";
    pub const ROUTE: &str = "HTTPRoute";
}

impl<R: Clone + Debug + Send + Sync + 'static, E: Debug + Send + CancelledError + 'static>
    CreateSteps<R, E>
{
    /// Pre-flight checks; then {NEG insert accepted → (IAM grant → wait ∥ NEG operation → backend service)} ∥
    /// {zone → record} ∥ mesh settle wait; the service after IAM and the settle wait; invokers after the service;
    /// the route last, once the service is Ready and everything else exists. This is PRODUCT §4's
    /// {IAM grant → wait} ∥ {NEG → backend service}, except that the grant starts only once the NEG insert is
    /// accepted (a request's time, not the operation's): the NEG must carry the `iam-grants=` marker before the
    /// grant is made (see `super` for why).
    pub fn into_graph(self) -> Graph<R, E> {
        let mut g = Graph::default();
        let checks = g.add(node::CHECKS, &[], self.checks);
        let neg = g.add(node::NEG, &[checks], self.neg);
        // After the NEG insert is accepted: the NEG records the roles about to be granted, so a crash in the wait
        // loses no ownership; its operation finishes server-side whatever happens to this process.
        let iam = g.add(node::IAM, &[neg], self.iam);
        let neg_done = g.add(node::NEG_OPERATION, &[neg], self.neg_operation);
        let zone = g.add(node::DNS_ZONE, &[checks], self.dns_zone);
        let record = g.add(node::DNS_RECORD, &[zone], self.dns_record);
        let bs = g.add(node::BACKEND_SERVICE, &[neg_done], self.backend_service);
        let settle = g.add(node::MESH_SETTLE, &[checks], self.mesh_settle);
        let svc = g.add(node::SERVICE, &[iam, settle], self.service);
        let inv = g.add(node::INVOKERS, &[svc], self.invokers);
        g.add(node::ROUTE, &[svc, inv, bs, record], self.route);
        g
    }
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
