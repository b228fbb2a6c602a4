//! Tests of the runner with fake steps on paused tokio time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::*;

#[derive(Debug, Clone, PartialEq)]
enum FakeError {
    Boom(&'static str),
    Cancelled,
}

impl CancelledError for FakeError {
    fn cancelled() -> Self {
        FakeError::Cancelled
    }
}

/// What happened, with the paused-clock time in seconds since the start.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    Start(&'static str, u64),
    Finish(&'static str, u64),
    Undo(&'static str),
}

#[derive(Clone)]
struct Log {
    t0: Instant,
    events: Arc<Mutex<Vec<Event>>>,
}

impl Log {
    fn new() -> Self {
        Log {
            t0: Instant::now(),
            events: Arc::default(),
        }
    }
    fn now(&self) -> u64 {
        self.t0.elapsed().as_secs()
    }
    fn push(&self, e: Event) {
        self.events.lock().unwrap().push(e);
    }
    fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }
    fn undone(&self) -> Vec<&'static str> {
        self.events()
            .into_iter()
            .filter_map(|e| {
                if let Event::Undo(n) = e {
                    Some(n)
                } else {
                    None
                }
            })
            .collect()
    }
    fn finished(&self) -> Vec<&'static str> {
        self.events()
            .into_iter()
            .filter_map(|e| {
                if let Event::Finish(n, _) = e {
                    Some(n)
                } else {
                    None
                }
            })
            .collect()
    }
}

struct Fake {
    name: &'static str,
    secs: u64,
    fail: bool,
    /// Fails after having changed something, like a Cloud Run service that never becomes Ready.
    fail_with_partial: bool,
    undo_fails: bool,
    log: Log,
}

#[async_trait]
impl Step for Fake {
    type Record = &'static str;
    type Error = FakeError;

    async fn ensure(
        &self,
        cancel: CancellationToken,
    ) -> Result<&'static str, Failed<&'static str, FakeError>> {
        self.log.push(Event::Start(self.name, self.log.now()));
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(self.secs)) => {}
            _ = cancel.cancelled() => return Err(Failed::clean(FakeError::Cancelled)),
        }
        if self.fail {
            let partial = self.fail_with_partial.then_some(self.name);
            return Err(Failed {
                error: FakeError::Boom(self.name),
                partial,
            });
        }
        self.log.push(Event::Finish(self.name, self.log.now()));
        Ok(self.name)
    }

    async fn undo(&self, record: &&'static str) -> Result<(), FakeError> {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if self.undo_fails {
            return Err(FakeError::Boom(record));
        }
        self.log.push(Event::Undo(record));
        Ok(())
    }

    fn is_noop(&self, record: &&'static str) -> bool {
        *record == node::CHECKS
    }
}

/// Durations of the create graph's steps (seconds): the IAM step includes a 90 s propagation wait; the NEG step is
/// the insert until accepted, its operation runs 3 s more.
const PLAN: [(&str, u64); 11] = [
    (node::CHECKS, 1),
    (node::IAM, 91),
    (node::DNS_ZONE, 2),
    (node::DNS_RECORD, 1),
    (node::NEG, 1),
    (node::NEG_OPERATION, 3),
    (node::BACKEND_SERVICE, 4),
    (node::MESH_SETTLE, 60),
    (node::SERVICE, 20),
    (node::INVOKERS, 1),
    (node::ROUTE, 5),
];

fn create_graph(
    log: &Log,
    fault: Option<&str>,
    partial: bool,
    undo_fault: Option<&str>,
) -> Graph<&'static str, FakeError> {
    let mk = |name: &'static str| -> DynStep<&'static str, FakeError> {
        let secs = PLAN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| *s)
            .unwrap();
        Arc::new(Fake {
            name,
            secs,
            fail: fault == Some(name),
            fail_with_partial: partial,
            undo_fails: undo_fault == Some(name),
            log: log.clone(),
        })
    };
    CreateSteps {
        checks: mk(node::CHECKS),
        iam: mk(node::IAM),
        dns_zone: mk(node::DNS_ZONE),
        dns_record: mk(node::DNS_RECORD),
        neg: mk(node::NEG),
        neg_operation: mk(node::NEG_OPERATION),
        backend_service: mk(node::BACKEND_SERVICE),
        mesh_settle: mk(node::MESH_SETTLE),
        service: mk(node::SERVICE),
        invokers: mk(node::INVOKERS),
        route: mk(node::ROUTE),
    }
    .into_graph()
}

/// (dependent, dependency) pairs of the create graph, transitively closed enough for order checks.
const EDGES: [(&str, &str); 13] = [
    (node::IAM, node::NEG),
    (node::NEG_OPERATION, node::NEG),
    (node::DNS_ZONE, node::CHECKS),
    (node::NEG, node::CHECKS),
    (node::MESH_SETTLE, node::CHECKS),
    (node::DNS_RECORD, node::DNS_ZONE),
    (node::BACKEND_SERVICE, node::NEG_OPERATION),
    (node::SERVICE, node::IAM),
    (node::SERVICE, node::MESH_SETTLE),
    (node::INVOKERS, node::SERVICE),
    (node::ROUTE, node::SERVICE),
    (node::ROUTE, node::BACKEND_SERVICE),
    (node::ROUTE, node::DNS_RECORD),
];

#[tokio::test(start_paused = true)]
async fn independent_branches_run_concurrently_and_the_route_goes_last() {
    let log = Log::new();
    let outcome = create_graph(&log, None, false, None)
        .run(&CancellationToken::new())
        .await;
    let GraphEnd::Done(journal) = outcome else {
        panic!("expected success, got {outcome:?}")
    };
    assert_eq!(journal.len(), 10, "the read-only checks are not journaled");
    // Critical path: checks (1) -> NEG accepted (1) -> IAM (91) -> service (20) -> invokers (1) -> route (5) =
    // 119 s. Run one after the other the steps would take 189 s, so 119 proves the branches overlapped; and the
    // NEG operation (3 s) is not on it.
    assert_eq!(log.now(), 119);
    let starts: Vec<(&str, u64)> = log
        .events()
        .into_iter()
        .filter_map(|e| {
            if let Event::Start(n, t) = e {
                Some((n, t))
            } else {
                None
            }
        })
        .collect();
    assert!(starts.contains(&(node::CHECKS, 0)), "{starts:?}");
    for branch in [node::DNS_ZONE, node::NEG, node::MESH_SETTLE] {
        assert!(
            starts.contains(&(branch, 1)),
            "{branch} should start right after the checks: {starts:?}"
        );
    }
    assert!(
        starts.contains(&(node::IAM, 2)) && starts.contains(&(node::NEG_OPERATION, 2)),
        "the IAM grant starts once the NEG insert is accepted, beside the NEG operation: {starts:?}"
    );
    assert!(
        starts.contains(&(node::BACKEND_SERVICE, 5)),
        "the backend service starts once the NEG exists: {starts:?}"
    );
    assert!(
        starts.contains(&(node::SERVICE, 93)),
        "service waits for IAM and the settle wait: {starts:?}"
    );
    assert!(
        starts.contains(&(node::ROUTE, 114)),
        "route starts after the invoker policy: {starts:?}"
    );
    assert_eq!(log.finished().last(), Some(&node::ROUTE));
}

#[tokio::test(start_paused = true)]
async fn a_fault_at_every_step_leaves_nothing_behind_and_undoes_in_reverse_dependency_order() {
    for (k, (faulty, _)) in PLAN.iter().enumerate() {
        for partial in [false, true] {
            let log = Log::new();
            let outcome = create_graph(&log, Some(faulty), partial, None)
                .run(&CancellationToken::new())
                .await;
            let GraphEnd::RolledBack { failed, error, .. } = outcome else {
                panic!("step {k} ({faulty}): expected a rollback, got {outcome:?}")
            };
            assert_eq!((failed, error), (*faulty, FakeError::Boom(faulty)));
            let mut created: Vec<&str> = log
                .finished()
                .into_iter()
                .filter(|n| *n != node::CHECKS)
                .collect();
            // A partial record is undone like a success, unless the step says it has nothing to undo.
            if partial && *faulty != node::CHECKS {
                created.push(faulty);
            }
            let mut undone = log.undone();
            for (dependent, dependency) in EDGES {
                let pos = |n| undone.iter().position(|u| *u == n);
                if let (Some(a), Some(b)) = (pos(dependent), pos(dependency)) {
                    assert!(
                        a < b,
                        "step {k}: {dependent} must be undone before {dependency}: {undone:?}"
                    );
                }
            }
            created.sort();
            undone.sort();
            assert_eq!(
                created, undone,
                "step {k} ({faulty}, partial={partial}): everything created is undone"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_undo_keeps_what_it_needs_and_reports_what_remains() {
    let log = Log::new();
    // The route fails; undoing the backend service fails, so the NEG it uses must stay too.
    let outcome = create_graph(&log, Some(node::ROUTE), false, Some(node::BACKEND_SERVICE))
        .run(&CancellationToken::new())
        .await;
    let GraphEnd::Incomplete {
        failed,
        error,
        undo_errors,
        remaining,
    } = outcome
    else {
        panic!("expected an incomplete rollback, got {outcome:?}")
    };
    assert_eq!((failed, error), (node::ROUTE, FakeError::Boom(node::ROUTE)));
    assert_eq!(
        undo_errors,
        vec![(
            node::BACKEND_SERVICE,
            FakeError::Boom(node::BACKEND_SERVICE)
        )]
    );
    let mut left: Vec<&str> = remaining.iter().map(|e| e.name).collect();
    left.sort();
    // The fake journals the NEG operation too (the real one changes nothing); it is what the backend service needs.
    assert_eq!(
        left,
        vec![node::BACKEND_SERVICE, node::NEG, node::NEG_OPERATION]
    );
    let undone = log.undone();
    for gone in [
        node::INVOKERS,
        node::SERVICE,
        node::DNS_RECORD,
        node::DNS_ZONE,
        node::IAM,
    ] {
        assert!(
            undone.contains(&gone),
            "{gone} should be undone: {undone:?}"
        );
    }
    assert!(!undone.contains(&node::NEG));
}

#[tokio::test(start_paused = true)]
async fn cancellation_stops_waits_promptly_and_still_rolls_back() {
    let log = Log::new();
    let cancel = CancellationToken::new();
    let graph = create_graph(&log, None, false, None);
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        trigger.cancel();
    });
    let outcome = graph.run(&cancel).await;
    let GraphEnd::RolledBack { error, .. } = outcome else {
        panic!("expected a rollback, got {outcome:?}")
    };
    assert_eq!(error, FakeError::Cancelled);
    let mut finished = log.finished();
    finished.sort();
    let mut want = vec![
        node::BACKEND_SERVICE,
        node::CHECKS,
        node::DNS_RECORD,
        node::DNS_ZONE,
        node::NEG,
        node::NEG_OPERATION,
    ];
    want.sort();
    assert_eq!(finished, want);
    let mut undone = log.undone();
    undone.sort();
    finished.retain(|n| *n != node::CHECKS);
    assert_eq!(
        undone, finished,
        "what was created before the cancel is undone"
    );
    assert!(!log
        .events()
        .iter()
        .any(|e| matches!(e, Event::Start(n, _) if *n == node::SERVICE)));
    // Cancelled at 30 s, five 1 s undos: the 91 s IAM wait did not run out.
    assert_eq!(log.now(), 35);
}

#[tokio::test(start_paused = true)]
async fn a_failure_ends_the_waits_of_steps_in_flight_before_rolling_back() {
    let log = Log::new();
    // The DNS record fails at 4 s while the IAM step is in its 91 s propagation wait.
    let outcome = create_graph(&log, Some(node::DNS_RECORD), false, None)
        .run(&CancellationToken::new())
        .await;
    assert!(matches!(outcome, GraphEnd::RolledBack { failed, .. } if failed == node::DNS_RECORD));
    assert!(
        log.now() < 20,
        "the rollback did not wait for the IAM wait: {}",
        log.now()
    );
    assert!(!log.finished().contains(&node::IAM));
}

/// A step whose create request is bound to the caller's token (as API clients are), not to the step's: the part
/// exists server-side once the request is sent, whether or not the answer is awaited.
struct Insert {
    name: &'static str,
    request_secs: u64,
    fail: bool,
    caller: CancellationToken,
    server: Arc<Mutex<Vec<&'static str>>>,
}

#[async_trait]
impl Step for Insert {
    type Record = &'static str;
    type Error = FakeError;

    async fn ensure(
        &self,
        _: CancellationToken,
    ) -> Result<&'static str, Failed<&'static str, FakeError>> {
        if self.fail {
            tokio::time::sleep(Duration::from_secs(self.request_secs)).await;
            return Err(Failed::clean(FakeError::Boom(self.name)));
        }
        self.server.lock().unwrap().push(self.name);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(self.request_secs)) => Ok(self.name),
            // The answer is lost; what the request made is not known to this step.
            _ = self.caller.cancelled() => Err(Failed::clean(FakeError::Cancelled)),
        }
    }

    async fn undo(&self, record: &&'static str) -> Result<(), FakeError> {
        self.server.lock().unwrap().retain(|n| n != record);
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_branch_lets_the_requests_in_flight_in_other_branches_complete_and_undoes_them() {
    let caller = CancellationToken::new();
    let server: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    let step = |name, request_secs, fail| -> DynStep<&'static str, FakeError> {
        Arc::new(Insert {
            name,
            request_secs,
            fail,
            caller: caller.clone(),
            server: Arc::clone(&server),
        })
    };
    let mut g = Graph::default();
    g.add(node::DNS_ZONE, &[], step(node::DNS_ZONE, 1, true));
    let neg = g.add(node::NEG, &[], step(node::NEG, 3, false));
    g.add(
        node::BACKEND_SERVICE,
        &[neg],
        step(node::BACKEND_SERVICE, 1, false),
    );
    let outcome = g.run(&caller).await;
    assert!(
        matches!(outcome, GraphEnd::RolledBack { failed, .. } if failed == node::DNS_ZONE),
        "{outcome:?}"
    );
    assert!(!caller.is_cancelled(), "the caller's token is the caller's");
    assert_eq!(
        *server.lock().unwrap(),
        Vec::<&str>::new(),
        "the NEG whose insert was in flight when the zone failed is left behind"
    );
}

/// A sequence of fake steps named `names`, each taking a second.
fn sequence(
    log: &Log,
    names: &[&'static str],
    fault: &str,
    undo_fault: &str,
) -> Graph<&'static str, FakeError> {
    Graph::sequence(
        names
            .iter()
            .map(|&name| {
                let step: DynStep<&'static str, FakeError> = Arc::new(Fake {
                    name,
                    secs: 1,
                    fail: fault == name,
                    fail_with_partial: true,
                    undo_fails: undo_fault == name,
                    log: log.clone(),
                });
                (name, step)
            })
            .collect(),
    )
}

#[tokio::test(start_paused = true)]
async fn a_sequence_runs_in_order_and_a_failed_undo_keeps_only_its_own_part() {
    let log = Log::new();
    let outcome = sequence(&log, &["a", "b", "c", "d"], "d", "b")
        .run(&CancellationToken::new())
        .await;
    // One at a time, in order.
    let started: Vec<(&str, u64)> = log
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Start(n, t) => Some((n, t)),
            _ => None,
        })
        .collect();
    assert_eq!(started, vec![("a", 0), ("b", 1), ("c", 2), ("d", 3)]);
    let GraphEnd::Incomplete {
        failed,
        undo_errors,
        remaining,
        ..
    } = outcome
    else {
        panic!("expected an incomplete rollback, got {outcome:?}")
    };
    assert_eq!(failed, "d");
    assert_eq!(undo_errors, vec![("b", FakeError::Boom("b"))]);
    // Order is not need: `a` is undone although `b`, after it, stays; newest first, the failed step's partial too.
    assert_eq!(log.undone(), vec!["d", "c", "a"]);
    let left: Vec<&str> = remaining.iter().map(|e| e.name).collect();
    assert_eq!(left, vec!["b"]);
}
