//! Work spread over threads the way toto does it everywhere: each worker
//! takes the next item as it finishes one (so a slow core or a big file
//! does not hold the others up), and results come back in item order.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// `work` applied to every item of `items` on `threads` threads (0: one
/// per core; never more than there are items), in item order. Each thread
/// first makes its own `state` (a read buffer, say) and passes it to every
/// call. An item is `None` only when the thread working on it panicked.
pub fn map<T, S, R>(
    items: &[T],
    threads: usize,
    state: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, &T) -> R + Sync,
) -> Vec<Option<R>>
where
    T: Sync,
    R: Send,
{
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    }
    .min(items.len());
    if threads <= 1 {
        let mut state = state();
        return items
            .iter()
            .map(|item| Some(work(&mut state, item)))
            .collect();
    }
    // Items are taken in small blocks, each block's results kept as the
    // block is done: no per-thread list of results growing by doubling and
    // copied at the end, so memory stays near one result per item.
    let block = (items.len() / (threads * 8)).clamp(1, 64);
    let blocks: Vec<&[T]> = items.chunks(block).collect();
    let done: Vec<Mutex<Option<Vec<R>>>> = blocks.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut state = state();
                    loop {
                        let b = next.fetch_add(1, Ordering::Relaxed);
                        let (Some(chunk), Some(slot)) = (blocks.get(b), done.get(b)) else {
                            break;
                        };
                        let out: Vec<R> = chunk.iter().map(|item| work(&mut state, item)).collect();
                        if let Ok(mut slot) = slot.lock() {
                            *slot = Some(out);
                        }
                    }
                })
            })
            .collect();
        // Joined here, so a worker's panic is not the caller's: its block
        // is left `None`.
        for worker in workers {
            let _ = worker.join();
        }
    });
    let mut results = Vec::with_capacity(items.len());
    for (chunk, slot) in blocks.iter().zip(done) {
        match slot.into_inner().ok().flatten() {
            Some(out) => results.extend(out.into_iter().map(Some)),
            // The thread working on it panicked.
            None => results.extend(std::iter::repeat_with(|| None).take(chunk.len())),
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_item_order_on_any_number_of_threads() {
        let items: Vec<u64> = (0..1000).collect();
        for threads in [0, 1, 2, 3, 8] {
            let squares = map(
                &items,
                threads,
                || 0u64,
                |calls, n| {
                    *calls += 1;
                    n * n
                },
            );
            let want: Vec<Option<u64>> = items.iter().map(|n| Some(n * n)).collect();
            assert_eq!(squares, want, "{threads} threads");
        }
        assert!(map(&[] as &[u8], 0, || (), |_, b| *b).is_empty());
    }

    #[test]
    fn each_thread_has_its_own_state() {
        let made = AtomicUsize::new(0);
        let items = vec![(); 64];
        let owners = map(
            &items,
            4,
            || made.fetch_add(1, Ordering::Relaxed),
            |me, ()| *me,
        );
        let mut distinct: Vec<usize> = owners.into_iter().flatten().collect();
        distinct.sort_unstable();
        distinct.dedup();
        // Every item was done with a state its thread made; a thread that
        // found no item left made one that went unused.
        let made = made.load(Ordering::Relaxed);
        assert!((1..=4).contains(&made), "{made} states");
        assert!(!distinct.is_empty() && distinct.iter().all(|&id| id < made));
    }

    #[test]
    fn a_panicking_item_is_none_and_nothing_else_panics() {
        let items: Vec<u32> = (0..100).collect();
        let out = map(
            &items,
            2,
            || (),
            |(), &n| {
                assert_ne!(n, 50, "a deliberate panic on item 50");
                n
            },
        );
        assert_eq!(out.len(), 100);
        assert_eq!(out.get(50), Some(&None));
        // What a worker finished is kept, in place.
        for (i, r) in out.iter().enumerate() {
            assert!(r.is_none() || *r == Some(i as u32));
        }
    }
}
