//! Bounded concurrency for the requests of one batch.

use futures::stream::{self, StreamExt};

/// Requests of one stage in flight at once.
pub const MAX_CONCURRENT_REQUESTS: usize = 16;

/// Runs `futures` with at most [`MAX_CONCURRENT_REQUESTS`] at once; results in completion
/// order. The futures are built before they are streamed: a stream mapping borrowing closures is
/// not `Send` enough for the local runner's `tokio::spawn`.
pub(crate) async fn bounded<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    stream::iter(futures)
        .buffer_unordered(MAX_CONCURRENT_REQUESTS)
        .collect()
        .await
}
