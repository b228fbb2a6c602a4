//! The read snapshot of one provider process: what the refreshes of one Terraform walk share.
//!
//! Terraform refreshes each resource in a separate `ReadResource` call, but one provider process serves them all.
//! Read one by one, N services cost 7 GETs each; read from the snapshot, a refresh of N services costs one list
//! per collection and region (Cloud Run services and serverless NEGs per project and region, backend services and
//! HTTPRoutes per project), one GET per DNS zone and per wildcard record (shared by every service of a domain, so
//! reading the one record is cheaper than listing a zone that may hold thousands), one read of each project's IAM
//! policy, and per service only what cannot be listed: its own IAM policy (`getIamPolicy` of the Cloud Run service).
//! A refresh asks for a collection with [`ReadSnapshot::get`]; the first asker fetches it, concurrent askers wait for
//! that one fetch (a [`OnceCell`] per key), later askers take the answer.
//!
//! The rules that keep a refresh exactly as fresh and exact as its GETs were:
//! - **Never reused across plans.** The snapshot lives in the provider data that `ConfigureProvider` builds, and
//!   Terraform configures the provider once per walk (and starts a new provider process per walk; a process serving
//!   several commands, as in debug/reattach mode, is configured again for each).
//! - **Dropped on any write of this process.** Create, update, delete and import hold a [`Writing`] guard: the
//!   snapshot is emptied when it is taken and when it is dropped, and while any is held [`ReadSnapshot::get`]
//!   answers `None`, so refreshes read directly.
//! - **Absence is decided by a GET.** An object that is not in its list is read directly before it is called
//!   missing, so drift is decided as before (a Cloud Run service being deleted is left out of `services.list` but
//!   still answered by `services.get`; a list that lags a GET cannot make a part look deleted). That costs one GET
//!   per part missing, i.e. only on drift.
//! - **A failed list falls back to direct reads**, which report their own errors as before. Its failure is kept, so
//!   it costs one list per snapshot, not one per service; a failure of the asker's own (Ctrl-C, its deadline) is not
//!   kept, and the next asker fetches again.
//! - A list item has the shape of a GET answer (the discovery documents give both as the same schema), and each part
//!   compares it with the same function as after a GET, so the same fields are compared.
//!
//! One service alone lists too (a refresh cannot know it is alone): about one call more than its GETs, within the
//! N + 10 of issue 13. The refresh after a failed update reads directly (`state::Via::Gets`): it runs during a
//! write and is about one service.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

/// A fetched collection (type-erased: each part keeps its own types), or `None` when its fetch failed.
type Item = Option<Arc<dyn Any + Send + Sync>>;

/// This process's read snapshot ([module documentation](self)).
#[derive(Default)]
pub struct ReadSnapshot {
    cells: Mutex<HashMap<String, Arc<OnceCell<Item>>>>,
    /// Writes of this process in progress ([`Writing`]).
    writers: AtomicUsize,
}

impl ReadSnapshot {
    /// The collection `key` (which names the API method and its scope, so two kinds never share a key), fetched by
    /// `fetch` once per snapshot. `None` while this process writes, when the fetch failed, or when `key` was stored
    /// with another type: the caller then reads directly.
    pub async fn get<T, F, Fut>(&self, key: &str, fetch: F) -> Option<Arc<T>>
    where
        T: Any + Send + Sync,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, gcp::Error>>,
    {
        if self.writers.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let cell = {
            let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(cells.entry(key.to_string()).or_default())
        };
        let item = cell
            .get_or_try_init(|| async {
                match fetch().await {
                    Ok(v) => Ok(Some(Arc::new(v) as Arc<dyn Any + Send + Sync>)),
                    // The asker's own end (Ctrl-C, its deadline) says nothing about the collection.
                    Err(e) if e.is_cancelled() || e.is_deadline() => Err(e),
                    Err(e) => {
                        tracing::debug!(key, error = %e, "snapshot read failed; refreshes read directly");
                        Ok(None)
                    }
                }
            })
            .await;
        match item {
            Ok(Some(v)) => Arc::clone(v).downcast::<T>().ok(),
            _ => None,
        }
    }

    /// Empties the snapshot; fetches in flight still answer the refreshes waiting for them.
    pub fn forget(&self) {
        self.cells.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Marks a write of this process until the guard is dropped (see the module documentation).
    pub fn writing(self: &Arc<Self>) -> Writing {
        self.writers.fetch_add(1, Ordering::SeqCst);
        self.forget();
        Writing(Arc::clone(self))
    }
}

/// A write of this process in progress: the snapshot is empty from its start to after its end.
pub struct Writing(Arc<ReadSnapshot>);

impl Drop for Writing {
    fn drop(&mut self) {
        // Emptied before the count drops: a refresh that saw no writer just before the write began may have
        // started a fetch, whose answer must not outlive the write.
        self.0.forget();
        self.0.writers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `items` by the last segment of their name (`projects/p/locations/r/services/a` and `a` both give `a`): a list
/// is of one project and scope, and the spec names its parts by their short names.
pub fn by_name<T>(items: Vec<T>, name: impl Fn(&T) -> Option<&str>) -> HashMap<String, T> {
    items
        .into_iter()
        .filter_map(|item| {
            let key = name(&item)?
                .trim_end_matches('/')
                .rsplit('/')
                .next()?
                .to_string();
            Some((key, item))
        })
        .collect()
}

/// The object `name` of a listed collection, for a refresh: from the list `key` of the snapshot (fetched once by
/// `list`, keyed by [`by_name`] with `name_of`), else (not listed, or no snapshot) read by `get`, which decides
/// absence (module documentation: absence is decided by a GET).
pub async fn listed_or_get<T, L, LF, G, GF, E>(
    reads: &ReadSnapshot,
    key: &str,
    list: L,
    name_of: fn(&T) -> Option<&str>,
    name: &str,
    get: G,
) -> Result<Option<T>, E>
where
    T: Clone + Send + Sync + 'static,
    L: FnOnce() -> LF,
    LF: Future<Output = Result<Vec<T>, gcp::Error>>,
    G: FnOnce() -> GF,
    GF: Future<Output = Result<Option<T>, E>>,
{
    let listed = reads
        .get(key, || async { Ok(by_name(list().await?, name_of)) })
        .await;
    match listed.and_then(|all: Arc<HashMap<String, T>>| all.get(name).cloned()) {
        Some(x) => Ok(Some(x)),
        None => get().await,
    }
}

/// A GET's answer for the snapshot: a 404 is an answer (`None`: the object does not exist), not a failure.
pub fn absent_if_not_found<T>(r: Result<T, gcp::Error>) -> Result<Option<T>, gcp::Error> {
    match r {
        Ok(x) => Ok(Some(x)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use tokio::sync::oneshot;

    fn unavailable() -> gcp::Error {
        gcp::Error::from_http(
            gcp::Api::Compute,
            503,
            br#"{"error":{"code":503,"message":"backend unavailable","status":"UNAVAILABLE"}}"#,
        )
    }

    #[tokio::test]
    async fn concurrent_askers_of_one_collection_share_one_fetch() {
        let snap = Arc::new(ReadSnapshot::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let (release, hold) = oneshot::channel::<()>();
        let first = {
            let (snap, fetches) = (Arc::clone(&snap), Arc::clone(&fetches));
            tokio::spawn(async move {
                snap.get("negs p/r", || async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    let _ = hold.await;
                    Ok::<_, gcp::Error>(vec![1, 2, 3])
                })
                .await
            })
        };
        tokio::task::yield_now().await;
        let others: Vec<_> = (0..5)
            .map(|_| {
                let (snap, fetches) = (Arc::clone(&snap), Arc::clone(&fetches));
                tokio::spawn(async move {
                    snap.get("negs p/r", || async move {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        Ok::<_, gcp::Error>(vec![9])
                    })
                    .await
                })
            })
            .collect();
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        let _ = release.send(());
        assert_eq!(first.await.unwrap().as_deref(), Some(&vec![1, 2, 3]));
        for o in others {
            assert_eq!(o.await.unwrap().as_deref(), Some(&vec![1, 2, 3]));
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn each_key_is_fetched_once_and_forgetting_fetches_again() {
        let snap = ReadSnapshot::default();
        let fetches = AtomicUsize::new(0);
        let fetch = |n: u32| {
            fetches.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, gcp::Error>(n) }
        };
        assert_eq!(snap.get("a", || fetch(1)).await.as_deref(), Some(&1));
        assert_eq!(snap.get("a", || fetch(2)).await.as_deref(), Some(&1));
        assert_eq!(snap.get("b", || fetch(3)).await.as_deref(), Some(&3));
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        snap.forget();
        assert_eq!(snap.get("a", || fetch(4)).await.as_deref(), Some(&4));
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn while_this_process_writes_nothing_is_served_and_after_it_everything_is_read_again() {
        let snap = Arc::new(ReadSnapshot::default());
        let fetches = AtomicUsize::new(0);
        let fetch = |n: u32| {
            fetches.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, gcp::Error>(n) }
        };
        assert_eq!(snap.get("a", || fetch(1)).await.as_deref(), Some(&1));
        let write = snap.writing();
        let second = snap.writing();
        assert_eq!(snap.get("a", || fetch(2)).await, None);
        drop(write);
        assert_eq!(
            snap.get("a", || fetch(3)).await,
            None,
            "another write is still in progress"
        );
        drop(second);
        assert_eq!(fetches.load(Ordering::SeqCst), 1, "no fetch during writes");
        assert_eq!(snap.get("a", || fetch(4)).await.as_deref(), Some(&4));
    }

    #[tokio::test]
    async fn a_failed_fetch_is_kept_so_the_others_read_directly_without_listing_again() {
        let snap = ReadSnapshot::default();
        let fetches = AtomicUsize::new(0);
        let failing = || {
            fetches.fetch_add(1, Ordering::SeqCst);
            async { Err::<u32, _>(unavailable()) }
        };
        assert_eq!(snap.get("a", failing).await, None);
        assert_eq!(snap.get("a", failing).await, None);
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_fetch_whose_asker_went_away_is_done_again_by_the_next_asker() {
        let snap = Arc::new(ReadSnapshot::default());
        let asker = {
            let snap = Arc::clone(&snap);
            tokio::spawn(async move {
                snap.get("a", std::future::pending::<Result<u32, gcp::Error>>)
                    .await
            })
        };
        tokio::task::yield_now().await;
        asker.abort();
        let _ = asker.await;
        assert_eq!(
            snap.get("a", || async { Ok::<_, gcp::Error>(7) })
                .await
                .as_deref(),
            Some(&7)
        );
    }

    #[tokio::test]
    async fn a_key_stored_with_another_type_is_not_served() {
        let snap = ReadSnapshot::default();
        assert!(snap
            .get("a", || async { Ok::<_, gcp::Error>(1u32) })
            .await
            .is_some());
        assert_eq!(
            snap.get("a", || async { Ok::<_, gcp::Error>("x".to_string()) })
                .await,
            None
        );
    }

    #[tokio::test]
    async fn a_listed_object_is_served_from_the_list_and_an_unlisted_one_is_read_directly() {
        let snap = ReadSnapshot::default();
        let (lists, gets) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let list = || async {
            lists.fetch_add(1, Ordering::SeqCst);
            Ok::<_, gcp::Error>(vec![
                "projects/p/x/a".to_string(),
                "projects/p/x/b".to_string(),
            ])
        };
        let get = |found: Option<&'static str>| {
            gets.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, gcp::Error>(found.map(str::to_string)) }
        };
        // `name_of` is a `fn(&T)` with `T = String` here.
        #[allow(clippy::ptr_arg)]
        fn name(x: &String) -> Option<&str> {
            Some(x.as_str())
        }
        let a = listed_or_get(&snap, "k", list, name, "a", || get(None)).await;
        assert_eq!(a.unwrap().as_deref(), Some("projects/p/x/a"));
        let b = listed_or_get(&snap, "k", list, name, "b", || get(None)).await;
        assert_eq!(b.unwrap().as_deref(), Some("projects/p/x/b"));
        assert_eq!(
            (lists.load(Ordering::SeqCst), gets.load(Ordering::SeqCst)),
            (1, 0)
        );
        // Not listed: the GET decides (here it finds the object, as for a service being deleted).
        let c = listed_or_get(&snap, "k", list, name, "c", || get(Some("c"))).await;
        assert_eq!(c.unwrap().as_deref(), Some("c"));
        let d = listed_or_get(&snap, "k", list, name, "d", || get(None)).await;
        assert_eq!(d.unwrap(), None);
        assert_eq!(
            (lists.load(Ordering::SeqCst), gets.load(Ordering::SeqCst)),
            (1, 2)
        );
        // While this process writes there is no snapshot: every read is a GET.
        let writes = Arc::new(ReadSnapshot::default());
        let w = writes.writing();
        let e = listed_or_get(&writes, "k", list, name, "a", || get(Some("a"))).await;
        assert_eq!(e.unwrap().as_deref(), Some("a"));
        drop(w);
        assert_eq!(
            (lists.load(Ordering::SeqCst), gets.load(Ordering::SeqCst)),
            (1, 3)
        );
    }

    #[test]
    fn items_are_keyed_by_the_last_segment_of_their_name() {
        let items = vec![
            Some("projects/p/locations/r/services/a".to_string()),
            Some("b".to_string()),
            None,
        ];
        let keyed = by_name(items, |i| i.as_deref());
        let mut keys: Vec<&String> = keyed.keys().collect();
        keys.sort();
        assert_eq!(keys, vec!["a", "b"]);
    }
}
