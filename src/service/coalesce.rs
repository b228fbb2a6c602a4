//! One per-process coalescer for writes to a shared object (a project's IAM policy, a zone's users registry).
//!
//! Every caller queues its entry under the object's key, then whoever holds that key's writer lock takes the whole
//! queue and applies it in one go; callers whose entries another writer took just wait for their answer. Many
//! services applied at once by one Terraform run thus cost one compare-and-swap race per batch, not one each.
//! Across processes the object's own concurrency control (an etag, exact-match deletions) orders the writers.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

struct Queue<T, A> {
    pending: Mutex<Vec<(T, oneshot::Sender<A>)>>,
    writer: tokio::sync::Mutex<()>,
}

impl<T, A> Default for Queue<T, A> {
    fn default() -> Self {
        Queue {
            pending: Mutex::new(Vec::new()),
            writer: tokio::sync::Mutex::new(()),
        }
    }
}

/// Batches entries `T` per key; each entry gets its answer `A`.
pub struct Coalescer<T, A> {
    queues: Mutex<HashMap<String, Arc<Queue<T, A>>>>,
}

impl<T, A> Default for Coalescer<T, A> {
    fn default() -> Self {
        Coalescer {
            queues: Mutex::new(HashMap::new()),
        }
    }
}

impl<T, A> Coalescer<T, A> {
    /// Queues `entry` under `key` and returns its answer. If this caller gets the writer lock while entries are
    /// queued, it applies them all with `apply`, which answers each entry in order. `None` when the writer that
    /// took the entry gave no answer for it (it was cancelled, or answered fewer entries than it took).
    pub async fn submit<F, Fut>(&self, key: &str, entry: T, apply: F) -> Option<A>
    where
        F: FnOnce(Vec<T>) -> Fut,
        Fut: Future<Output = Vec<A>>,
    {
        let queue = {
            let mut map = self.queues.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(map.entry(key.to_string()).or_default())
        };
        let (tx, rx) = oneshot::channel();
        queue
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((entry, tx));
        {
            let _writer = queue.writer.lock().await;
            let batch: Vec<(T, oneshot::Sender<A>)> =
                std::mem::take(&mut *queue.pending.lock().unwrap_or_else(|p| p.into_inner()));
            if !batch.is_empty() {
                let (entries, senders): (Vec<T>, Vec<oneshot::Sender<A>>) =
                    batch.into_iter().unzip();
                let answers = apply(entries).await;
                for (tx, a) in senders.into_iter().zip(answers) {
                    let _ = tx.send(a);
                }
            }
        }
        rx.await.ok()
    }
}

/// Concurrent reads of one collection shared per key: a caller that asks while a read runs takes the next one, which
/// starts after it asked, so every answer is as fresh as a read of the caller's own.
pub struct FreshReads<T, E> {
    reads: Coalescer<(), Result<Arc<T>, E>>,
}

impl<T, E> Default for FreshReads<T, E> {
    fn default() -> Self {
        FreshReads {
            reads: Coalescer::default(),
        }
    }
}

impl<T, E: Clone> FreshReads<T, E> {
    /// `fetch`'s answer, shared with the callers queued beside this one; `fetch` again alone if the caller that took
    /// this one's turn was cancelled.
    pub async fn read<F, Fut>(&self, key: &str, fetch: F) -> Result<Arc<T>, E>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let shared = self
            .reads
            .submit(key, (), |batch| {
                let fetch = &fetch;
                async move {
                    let answer = fetch().await.map(Arc::new);
                    batch.iter().map(|()| answer.clone()).collect()
                }
            })
            .await;
        match shared {
            Some(answer) => answer,
            None => fetch().await.map(Arc::new),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn entries_queued_while_a_writer_runs_are_applied_in_one_batch_and_each_gets_its_answer()
    {
        let co: Arc<Coalescer<u32, u32>> = Arc::default();
        let batches = Arc::new(AtomicUsize::new(0));
        let (hold_tx, hold_rx) = oneshot::channel::<()>();
        // The first writer holds the lock until the others have queued.
        let first = {
            let (co, batches) = (Arc::clone(&co), Arc::clone(&batches));
            tokio::spawn(async move {
                co.submit("k", 1, |entries| async move {
                    let _ = hold_rx.await;
                    batches.fetch_add(1, Ordering::SeqCst);
                    entries.iter().map(|e| e * 10).collect()
                })
                .await
            })
        };
        tokio::task::yield_now().await;
        let others: Vec<_> = (2..=4)
            .map(|n| {
                let (co, batches) = (Arc::clone(&co), Arc::clone(&batches));
                tokio::spawn(async move {
                    co.submit("k", n, |entries| async move {
                        batches.fetch_add(1, Ordering::SeqCst);
                        entries.iter().map(|e| e * 10).collect()
                    })
                    .await
                })
            })
            .collect();
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        let _ = hold_tx.send(());
        assert_eq!(first.await.unwrap(), Some(10));
        let mut got = Vec::new();
        for o in others {
            got.push(o.await.unwrap());
        }
        assert_eq!(got, vec![Some(20), Some(30), Some(40)]);
        assert_eq!(
            batches.load(Ordering::SeqCst),
            2,
            "the first alone, then the three queued behind it"
        );
    }

    #[tokio::test]
    async fn an_entry_the_writer_does_not_answer_gets_none() {
        let co: Coalescer<u32, u32> = Coalescer::default();
        assert_eq!(co.submit("k", 1, |_| async { Vec::new() }).await, None);
    }
}
