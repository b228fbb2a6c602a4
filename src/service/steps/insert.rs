//! Compute inserts whose `requestId` is kept, so one whose answer was lost can be settled before rollback deletes.
//!
//! Compute answers a repeated `requestId` with the operation the first request started (and starts it if the
//! first never arrived), so sending the same insert again and awaiting its operation tells rollback that the part
//! is really there (or really not) before it deletes: a delete sent while the insert's operation still runs finds
//! nothing, and the part would appear afterwards, owned by nobody. `gcp::compute::Client` makes a fresh id per
//! call, which cannot be replayed; hence requests built here on the same transport.

use std::sync::Mutex;

use crate::service::explain::Explanation;
use gcp::lro::ComputeOperation;
use gcp::transport::Request;
use reqwest::Method;

use super::{Ctx, Node, StepError};

/// The creates one apply sent whose answer may be lost (cut short by Ctrl-C or the timeout, or a dropped
/// connection): the parts whose create was sent, so a failed step still reports what it may have made (its partial
/// record, [`super::sent`]), and the Compute inserts as sent, so rollback can send one again and settle it
/// ([`settle`]). A refusal, which made nothing, takes its entry back.
#[derive(Debug, Default)]
pub struct Sent {
    parts: Mutex<Vec<Node>>,
    inserts: Mutex<Vec<Insert>>,
}

impl Sent {
    /// Notes that a create of `part` was sent.
    pub fn mark(&self, part: Node) {
        if let Ok(mut g) = self.parts.lock() {
            if !g.contains(&part) {
                g.push(part);
            }
        }
    }

    /// Takes the note back: the create was refused.
    pub fn unmark(&self, part: Node) {
        if let Ok(mut g) = self.parts.lock() {
            g.retain(|p| *p != part);
        }
    }

    /// True when a create of `part` was sent and not refused.
    pub fn contains(&self, part: Node) -> bool {
        self.parts.lock().is_ok_and(|g| g.contains(&part))
    }

    fn insert_sent(&self, insert: Insert) {
        if let Ok(mut g) = self.inserts.lock() {
            g.push(insert);
        }
    }

    fn insert_refused(&self, part: Node) {
        if let Ok(mut g) = self.inserts.lock() {
            g.retain(|i| i.part != part);
        }
    }

    /// The last insert of `part` sent (and not refused).
    pub fn last_insert(&self, part: Node) -> Option<Insert> {
        self.inserts
            .lock()
            .ok()
            .and_then(|g| g.iter().rev().find(|i| i.part == part).cloned())
    }
}

/// An insert as sent: the request (with its `requestId`) and what errors call it.
#[derive(Debug, Clone)]
pub struct Insert {
    pub part: Node,
    request: Request,
    call: &'static str,
    resource: String,
}

impl Insert {
    pub(crate) fn new(
        part: Node,
        path: String,
        call: &'static str,
        resource: String,
        body: &impl serde::Serialize,
    ) -> Result<Self, StepError> {
        let body = serde_json::to_value(body).map_err(|e| {
            StepError::refused(
                Explanation::new(
                    resource.clone(),
                    format!("could not encode the {call} request"),
                )
                .why(format!(
                    "the request body could not be encoded as JSON: {e}"
                )),
            )
        })?;
        let request = Request::new(gcp::Api::Compute, Method::POST, path, call)
            .body(body)
            .resource(resource.clone())
            .query("requestId", uuid::Uuid::new_v4().to_string());
        Ok(Insert {
            part,
            request,
            call,
            resource,
        })
    }

    /// Sends the insert, noting it first (its answer may be lost); returns the operation Compute accepted.
    /// An error that shows the request was refused forgets the note: nothing was made.
    pub async fn send(&self, c: &Ctx) -> Result<ComputeOperation, gcp::Error> {
        c.sent.insert_sent(self.clone());
        let r = c.clients.transport().send(self.request.clone()).await;
        if let Err(e) = &r {
            if is_refusal(e) {
                c.sent.insert_refused(self.part);
            }
        }
        r
    }

    /// Waits for the operation the insert started.
    pub async fn wait(
        &self,
        c: &Ctx,
        op: ComputeOperation,
    ) -> Result<ComputeOperation, gcp::Error> {
        c.clients
            .compute()
            .wait_operation(&c.spec.project, op, self.call, &self.resource)
            .await
    }
}

/// A definite answer that the insert was not carried out (4xx other than timeouts and rate limits): sending it
/// again would make what the first did not.
pub fn is_refusal(e: &gcp::Error) -> bool {
    !e.is_retryable()
        && !e.is_cancelled()
        && !e.is_deadline()
        && e.http_status().is_some_and(|s| (400..500).contains(&s))
}

/// Before rollback deletes `part`: if `sent` (the context of the run that created it) holds an insert of it (the
/// last one), sends it again on `cleanup` (same `requestId`: Compute returns the first operation) and waits until it is
/// done, so the delete that follows finds the part if it was made. A failed insert operation or a refusal means
/// nothing to wait for.
pub async fn settle(sent: &Ctx, cleanup: &Ctx, part: Node) -> Result<(), StepError> {
    let Some(insert) = sent.sent.last_insert(part) else {
        return Ok(());
    };
    let doing = format!(
        "settle the create of {} before removing it",
        insert.resource
    );
    let op = match cleanup
        .clients
        .transport()
        .send::<ComputeOperation>(insert.request.clone())
        .await
    {
        Ok(op) => op,
        Err(e) if is_refusal(&e) || e.is_already_exists() => return Ok(()),
        Err(e) => return Err(StepError::api(&doing, &e)),
    };
    match insert.wait(cleanup, op).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_operation_failure() => Ok(()),
        Err(e) => Err(StepError::api(&doing, &e)),
    }
}
