//! One request's outcome, shared by the messages with an item in it.

use hookloop_aws::AwsError;

/// The outcome of one request and the messages with an item in it.
pub(super) type Group = (Vec<usize>, Result<(), AwsError>);

/// Sends `items` (each with the messages that own it) in one request. A request refused for
/// good (an item too large, say) is sent again item by item, so that only the messages owning a
/// bad item fail with it; any other outcome is the outcome of every owner.
pub(super) async fn send_isolating<T, F, Fut>(items: &[(&T, Vec<usize>)], send: F) -> Vec<Group>
where
    T: Clone,
    F: Fn(Vec<T>) -> Fut,
    Fut: std::future::Future<Output = Result<(), AwsError>>,
{
    let batch: Vec<T> = items.iter().map(|(item, _)| (*item).clone()).collect();
    match send(batch).await {
        Err(e) if !e.retryable && items.len() > 1 => {
            let mut groups = Vec::with_capacity(items.len());
            for (item, owners) in items {
                groups.push((owners.clone(), send(vec![(*item).clone()]).await));
            }
            groups
        }
        result => vec![(owners(items), result)],
    }
}

/// The messages owning any of `items`, each once.
pub(super) fn owners<T>(items: &[(&T, Vec<usize>)]) -> Vec<usize> {
    let mut owners: Vec<usize> = items.iter().flat_map(|(_, o)| o).copied().collect();
    owners.sort_unstable();
    owners.dedup();
    owners
}
