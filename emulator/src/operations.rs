//! Long-running operations: each has a kind, a due time and a completion applied to the world when due.
//!
//! Progress is lazy and deterministic: whenever the world is touched, `World::tick` applies every completion
//! whose due time has passed, in (due time, creation order). Nothing runs in the background.

use crate::api::Api;
use crate::clock::{compute_timestamp, rfc3339};
use crate::world::World;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// How an operation is rendered on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// `google.longrunning.Operation` (Cloud Run, Network Services).
    Longrunning,
    /// Compute's own `Operation` resource (`status`, `progress`, `error.errors[]`).
    Compute,
}

/// An operation's failure.
#[derive(Clone, Debug, PartialEq)]
pub struct OpError {
    /// google.rpc.Code number.
    pub code: i64,
    pub message: String,
    /// Compute `error.errors[].code`, e.g. `RESOURCE_IN_USE_BY_ANOTHER_RESOURCE`.
    pub compute_code: Option<String>,
}

impl OpError {
    pub fn new(code: i64, message: impl Into<String>) -> OpError {
        OpError {
            code,
            message: message.into(),
            compute_code: None,
        }
    }
}

/// What a completion produces: the response (or error) and optionally new metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub result: Result<Value, OpError>,
    pub metadata: Option<Value>,
}

impl Outcome {
    pub fn ok(response: Value) -> Outcome {
        Outcome {
            result: Ok(response),
            metadata: None,
        }
    }

    pub fn err(error: OpError) -> Outcome {
        Outcome {
            result: Err(error),
            metadata: None,
        }
    }

    pub fn with_metadata(mut self, metadata: Value) -> Outcome {
        self.metadata = Some(metadata);
        self
    }
}

/// Applied to the world when the operation is due. `injected` is an operation failure from the fault
/// layer; the completion should leave the world as that failure would (the core forces the error anyway).
pub type Completion = Box<dyn FnOnce(&mut World, Option<OpError>) -> Outcome + Send>;

/// A stored operation.
#[derive(Clone, Debug)]
pub struct Operation {
    /// Full name, e.g. `projects/p/locations/r/operations/ID` or Compute's `operation-...`.
    pub name: String,
    pub api: Api,
    pub style: Style,
    /// The discovery method that started it, e.g. `run.projects.locations.services.create`.
    pub method_id: String,
    pub created: DateTime<Utc>,
    pub due: DateTime<Utc>,
    /// Longrunning: the `metadata` object (with `@type`). Compute: the operation document without
    /// `status`/`progress`/`endTime`/`error`, which are rendered from the state.
    pub doc: Value,
    pub outcome: Option<Outcome>,
    pub injected: Option<OpError>,
    seq: u64,
}

impl Operation {
    pub fn done(&self) -> bool {
        self.outcome.is_some()
    }

    /// The wire form in the operation's own style.
    pub fn render(&self) -> Value {
        match self.style {
            Style::Longrunning => render_longrunning(self),
            Style::Compute => render_compute(self),
        }
    }
}

fn render_longrunning(op: &Operation) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("name".into(), json!(op.name));
    let metadata = op
        .outcome
        .as_ref()
        .and_then(|o| o.metadata.clone())
        .unwrap_or_else(|| op.doc.clone());
    out.insert("metadata".into(), metadata);
    if let Some(outcome) = &op.outcome {
        out.insert("done".into(), json!(true));
        match &outcome.result {
            Ok(response) => {
                out.insert("response".into(), response.clone());
            }
            Err(e) => {
                out.insert(
                    "error".into(),
                    json!({"code": e.code, "message": e.message}),
                );
            }
        }
    }
    Value::Object(out)
}

fn render_compute(op: &Operation) -> Value {
    let mut out = op.doc.as_object().cloned().unwrap_or_default();
    match &op.outcome {
        None => {
            out.insert("status".into(), json!("RUNNING"));
            out.insert("progress".into(), json!(0));
        }
        Some(outcome) => {
            out.insert("status".into(), json!("DONE"));
            out.insert("progress".into(), json!(100));
            out.insert("endTime".into(), json!(compute_timestamp(op.due)));
            if let Err(e) = &outcome.result {
                let (_, http) = crate::error::rpc_status(e.code);
                let code = e
                    .compute_code
                    .clone()
                    .unwrap_or_else(|| crate::error::rpc_status(e.code).0.into());
                out.insert(
                    "error".into(),
                    json!({"errors": [{"code": code, "message": e.message}]}),
                );
                out.insert("httpErrorStatusCode".into(), json!(http));
                out.insert("httpErrorMessage".into(), json!(http_reason(http)));
            }
        }
    }
    Value::Object(out)
}

fn http_reason(code: u16) -> &'static str {
    match code {
        400 => "BAD REQUEST",
        403 => "FORBIDDEN",
        404 => "NOT FOUND",
        409 => "CONFLICT",
        412 => "PRECONDITION FAILED",
        429 => "TOO MANY REQUESTS",
        503 => "SERVICE UNAVAILABLE",
        _ => "INTERNAL SERVER ERROR",
    }
}

/// All operations and the completions still to run.
#[derive(Default)]
pub struct Operations {
    ops: BTreeMap<String, Operation>,
    pending: Vec<(DateTime<Utc>, u64, String, Completion)>,
    next_seq: u64,
}

impl std::fmt::Debug for Operations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operations")
            .field("ops", &self.ops.len())
            .field("pending", &self.pending.len())
            .finish()
    }
}

/// Parameters for a new operation.
pub struct NewOperation {
    pub name: String,
    pub api: Api,
    pub style: Style,
    pub method_id: String,
    pub doc: Value,
    pub created: DateTime<Utc>,
    pub due: DateTime<Utc>,
    pub injected: Option<OpError>,
}

impl Operations {
    pub fn get(&self, name: &str) -> Option<&Operation> {
        self.ops.get(name)
    }

    pub fn all(&self) -> impl Iterator<Item = &Operation> {
        self.ops.values()
    }

    /// Stores an operation; `completion` runs at `due`.
    pub fn insert(&mut self, new: NewOperation, completion: Completion) {
        self.next_seq += 1;
        let op = Operation {
            name: new.name.clone(),
            api: new.api,
            style: new.style,
            method_id: new.method_id,
            created: new.created,
            due: new.due,
            doc: new.doc,
            outcome: None,
            injected: new.injected,
            seq: self.next_seq,
        };
        self.pending
            .push((op.due, op.seq, op.name.clone(), completion));
        self.ops.insert(new.name, op);
    }

    /// Stores an operation that is already finished (synchronous work reported as an operation).
    pub fn insert_done(&mut self, new: NewOperation, outcome: Outcome) {
        self.next_seq += 1;
        let name = new.name.clone();
        let op = Operation {
            name: new.name,
            api: new.api,
            style: new.style,
            method_id: new.method_id,
            created: new.created,
            due: new.due,
            doc: new.doc,
            outcome: Some(outcome),
            injected: new.injected,
            seq: self.next_seq,
        };
        self.ops.insert(name, op);
    }

    /// Takes the earliest completion due at or before `now`.
    pub(crate) fn take_due(
        &mut self,
        now: DateTime<Utc>,
    ) -> Option<(String, Option<OpError>, Completion)> {
        let index = self
            .pending
            .iter()
            .enumerate()
            .filter(|(_, (due, ..))| *due <= now)
            .min_by_key(|(_, (due, seq, ..))| (*due, *seq))
            .map(|(i, _)| i)?;
        let (_, _, name, completion) = self.pending.remove(index);
        let injected = self.ops.get(&name).and_then(|o| o.injected.clone());
        Some((name, injected, completion))
    }

    pub(crate) fn finish(&mut self, name: &str, mut outcome: Outcome, injected: Option<OpError>) {
        if let Some(e) = injected {
            outcome.result = Err(e);
        }
        if let Some(op) = self.ops.get_mut(name) {
            op.outcome = Some(outcome);
        }
    }

    /// Earliest due time of unfinished work (for `:wait` sleeping).
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.pending.iter().map(|(due, ..)| *due).min()
    }

    pub fn clear(&mut self) {
        self.ops.clear();
        self.pending.clear();
    }

    /// Timestamps used in operation metadata.
    pub fn stamp(t: DateTime<Utc>) -> String {
        rfc3339(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::world::{Settings, World};

    fn new_op(name: &str, world: &World, due_in: i64) -> NewOperation {
        NewOperation {
            name: name.into(),
            api: Api::Run,
            style: Style::Longrunning,
            method_id: "m".into(),
            doc: json!({"@type": "t"}),
            created: world.now(),
            due: world.now() + chrono::Duration::seconds(due_in),
            injected: None,
        }
    }

    fn world() -> World {
        let at = "2026-01-01T00:00:00Z".parse().unwrap();
        World::new(Clock::frozen(at), Settings::default())
    }

    #[test]
    fn completions_run_only_when_due_and_in_due_order() {
        let mut w = world();
        for (name, due) in [("late", 20), ("early", 10)] {
            let op = new_op(name, &w, due);
            w.start_operation(
                op,
                Box::new(move |w: &mut World, _| {
                    let order = w.get("test", "order").cloned().unwrap_or(json!([]));
                    let mut list = order.as_array().cloned().unwrap_or_default();
                    list.push(json!(name));
                    w.put("test", "order", json!(list));
                    Outcome::ok(json!({}))
                }),
            );
        }
        w.tick();
        assert!(!w.operations.get("early").unwrap().done());
        w.clock.advance(chrono::Duration::seconds(30));
        w.tick();
        assert_eq!(w.get("test", "order").unwrap(), &json!(["early", "late"]));
        assert_eq!(w.operations.get("late").unwrap().render()["done"], true);
    }

    #[test]
    fn an_injected_failure_overrides_the_completions_result() {
        let mut w = world();
        let mut op = new_op("op", &w, 0);
        op.injected = Some(OpError::new(13, "boom"));
        w.start_operation(op, Box::new(|_, _| Outcome::ok(json!({"fine": true}))));
        w.tick();
        let rendered = w.operations.get("op").unwrap().render();
        assert_eq!(rendered["error"]["code"], 13);
        assert!(rendered.get("response").is_none());
    }

    #[test]
    fn compute_style_renders_running_then_done_with_errors() {
        let mut w = world();
        let mut op = new_op("op", &w, 5);
        op.style = Style::Compute;
        op.doc = json!({"kind": "compute#operation", "name": "op"});
        w.start_operation(op, Box::new(|_, _| Outcome::err(OpError::new(9, "in use"))));
        assert_eq!(
            w.operations.get("op").unwrap().render()["status"],
            "RUNNING"
        );
        w.clock.advance(chrono::Duration::seconds(5));
        w.tick();
        let done = w.operations.get("op").unwrap().render();
        assert_eq!(done["status"], "DONE");
        assert_eq!(done["error"]["errors"][0]["message"], "in use");
        assert_eq!(done["httpErrorStatusCode"], 400);
    }
}
