//! One answer per key, however many tasks ask at once: the first asker reads, the others wait
//! for its answer. Only a success is kept; after a failure the next asker reads again. Used for
//! ARM reads that many changes or vaults of one run need alike (a vault's identity, a principal's
//! role assignments in a subscription).

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

pub struct Memo<K, V>(Mutex<HashMap<K, Arc<OnceCell<V>>>>);

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo(Mutex::new(HashMap::new()))
    }
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    /// The answer for `key`, read by `read` unless it is known or being read.
    pub async fn get<E, F, Fut>(&self, key: K, read: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let cell = (self.0.lock().unwrap_or_else(|p| p.into_inner()))
            .entry(key)
            .or_default()
            .clone();
        cell.get_or_try_init(read).await.cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

    #[tokio::test]
    async fn one_read_per_key_and_a_failure_is_read_again() {
        let memo: Memo<&str, u32> = Memo::default();
        let reads = AtomicU32::new(0);
        let read = |ok: bool| {
            let reads = &reads;
            move || async move {
                reads.fetch_add(1, SeqCst);
                if ok {
                    Ok(7)
                } else {
                    Err("no")
                }
            }
        };
        assert_eq!(memo.get("a", read(false)).await, Err("no"));
        let (x, y) = tokio::join!(memo.get("a", read(true)), memo.get("a", read(true)));
        assert_eq!((x, y), (Ok(7), Ok(7)));
        assert_eq!(memo.get("b", read(true)).await, Ok(7));
        assert_eq!(reads.load(SeqCst), 3, "a failed, a once, b once");
    }
}
