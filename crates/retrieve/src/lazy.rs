//! An index that is opened when it can be: a vector store or embedding server that is down
//! when quarry starts (or goes down later) costs retrieval, not the whole server.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::{Hit, Index, Kind, Result};

/// How long a failed open is remembered before the next search tries again, so that a store
/// that is down costs each question nothing rather than a connection timeout.
pub const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_secs(10);

type OpenFuture = Pin<Box<dyn Future<Output = Result<Index>> + Send>>;
type Opener = Box<dyn Fn() -> OpenFuture + Send + Sync>;

/// Whether a [`LazyIndex`] can be searched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexStatus {
    /// Open, and its last search (if any) worked.
    Ready,
    /// Not opened yet: no search has needed it.
    NotOpened,
    /// Opening it or searching it failed; the next search after the retry interval tries again.
    Unavailable {
        /// Why, as the error said.
        error: String,
    },
}

#[derive(Default)]
struct State {
    index: Option<Arc<Index>>,
    /// The last failure (of opening, or of searching the open index) and when it happened.
    failure: Option<(Instant, String)>,
}

/// An [`Index`] opened on first use and, after a failure, again on a later use (at most once
/// per retry interval). Searches fail while it cannot be opened; callers decide whether to go
/// on without hits.
pub struct LazyIndex {
    opener: Opener,
    retry_interval: Duration,
    /// Held while opening, so that concurrent searches wait for one attempt, not make their own.
    opening: tokio::sync::Mutex<()>,
    state: Mutex<State>,
}

impl std::fmt::Debug for LazyIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyIndex").field("status", &self.status()).finish_non_exhaustive()
    }
}

impl From<Index> for LazyIndex {
    /// An index that is open already.
    fn from(index: Index) -> Self {
        // Never called: the index is there.
        let lazy = LazyIndex::new(|| async { Err(crate::Error::store("the index is open already")) });
        lazy.lock().index = Some(Arc::new(index));
        lazy
    }
}

impl LazyIndex {
    /// An index that `open` opens when a search first needs it (see [`LazyIndex::index`]).
    pub fn new<F, Fut>(open: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Index>> + Send + 'static,
    {
        Self {
            opener: Box::new(move || Box::pin(open())),
            retry_interval: DEFAULT_RETRY_INTERVAL,
            opening: tokio::sync::Mutex::new(()),
            state: Mutex::new(State::default()),
        }
    }

    /// Waits `interval` after a failure before trying again (default [`DEFAULT_RETRY_INTERVAL`]).
    pub fn with_retry_interval(mut self, interval: Duration) -> Self {
        self.retry_interval = interval;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the index can be searched, as far as is known.
    pub fn status(&self) -> IndexStatus {
        let state = self.lock();
        match (&state.index, &state.failure) {
            (_, Some((_, error))) => IndexStatus::Unavailable { error: error.clone() },
            (Some(_), None) => IndexStatus::Ready,
            (None, None) => IndexStatus::NotOpened,
        }
    }

    /// The open index, opening it now if needed. Within the retry interval of a failed
    /// open, fails at once with that failure.
    pub async fn index(&self) -> Result<Arc<Index>> {
        if let Some(index) = self.lock().index.clone() {
            return Ok(index);
        }
        let _opening = self.opening.lock().await;
        {
            let state = self.lock();
            if let Some(index) = state.index.clone() {
                return Ok(index);
            }
            if let Some((at, error)) = &state.failure
                && at.elapsed() < self.retry_interval
            {
                let wait = self.retry_interval.saturating_sub(at.elapsed());
                return Err(crate::Error::Unavailable {
                    what: "the retrieval index".into(),
                    message: format!("{error} (tried again in {} s)", wait.as_secs().max(1)),
                });
            }
        }
        match (self.opener)().await {
            Ok(index) => {
                let index = Arc::new(index);
                let mut state = self.lock();
                state.index = Some(Arc::clone(&index));
                state.failure = None;
                Ok(index)
            }
            Err(error) => {
                tracing::warn!(%error, "the retrieval index cannot be opened");
                self.lock().failure = Some((Instant::now(), error.to_string()));
                Err(error)
            }
        }
    }

    /// [`Index::search`] on the index, opening it if needed; a failure is remembered for
    /// [`LazyIndex::status`] until a search works again.
    pub async fn search(&self, query: &str, kinds: &[Kind], limit: usize) -> Result<Vec<Hit>> {
        let index = self.index().await?;
        let outcome = index.search(query, kinds, limit).await;
        let mut state = self.lock();
        match &outcome {
            Ok(_) => state.failure = None,
            // A bad argument says nothing about whether the index works.
            Err(crate::Error::Config { .. }) => {}
            Err(error) => state.failure = Some((Instant::now(), error.to_string())),
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use quarry_semantic::SemanticLayer;

    use super::*;
    use crate::{BuildOptions, Error, HashingEmbedder, MemoryStore};

    fn demo() -> quarry_snapshot::Snapshot {
        // Installed once and kept: the demo is the same for every run.
        let dir = std::env::temp_dir().join("quarry-lazy-index-demo");
        let store = quarry_snapshot::SnapshotStore::new(dir);
        quarry_demo::ensure_installed(&store, &quarry_demo::DemoConfig::default()).expect("demo snapshot")
    }

    /// A lazy index whose opener fails `failures` times, then builds an in-memory index.
    fn flaky(failures: usize, calls: Arc<AtomicUsize>) -> LazyIndex {
        let snapshot = demo();
        LazyIndex::new(move || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            let snapshot = snapshot.clone();
            async move {
                if n < failures {
                    return Err(Error::Unavailable {
                        what: "Qdrant server at http://127.0.0.1:1".into(),
                        message: "cannot connect".into(),
                    });
                }
                let embedder = Arc::new(HashingEmbedder::default());
                let store = Arc::new(MemoryStore::new());
                Index::build(&SemanticLayer::demo(), &snapshot, embedder, store, &BuildOptions::default()).await
            }
        })
    }

    #[tokio::test]
    async fn an_index_that_cannot_open_fails_searches_until_it_can() {
        let calls = Arc::new(AtomicUsize::new(0));
        let index = flaky(1, Arc::clone(&calls)).with_retry_interval(Duration::ZERO);
        assert_eq!(index.status(), IndexStatus::NotOpened);
        let error = index.search("revenue", &[], 5).await.unwrap_err();
        assert!(error.to_string().contains("cannot connect"), "{error}");
        assert!(matches!(index.status(), IndexStatus::Unavailable { error } if error.contains("cannot connect")));
        let hits = index.search("revenue", &[], 5).await.expect("the second try opens it");
        assert!(!hits.is_empty());
        assert_eq!(index.status(), IndexStatus::Ready);
        index.search("signups", &[], 5).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2, "an open index is not opened again");
    }

    #[tokio::test]
    async fn within_the_retry_interval_a_failure_is_given_back_without_trying_again() {
        let calls = Arc::new(AtomicUsize::new(0));
        let index = flaky(1, Arc::clone(&calls)).with_retry_interval(Duration::from_secs(3600));
        index.search("revenue", &[], 5).await.unwrap_err();
        let error = index.search("revenue", &[], 5).await.unwrap_err();
        assert!(
            error.to_string().contains("cannot connect") && error.to_string().contains("tried again in"),
            "{error}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_open_index_is_ready_and_a_bad_query_does_not_make_it_unavailable() {
        let calls = Arc::new(AtomicUsize::new(0));
        let open = flaky(0, calls).index().await.unwrap();
        let index = LazyIndex::from(Arc::into_inner(open).expect("one owner"));
        assert_eq!(index.status(), IndexStatus::Ready);
        index.search("  ", &[], 5).await.unwrap_err();
        assert_eq!(index.status(), IndexStatus::Ready);
    }
}
