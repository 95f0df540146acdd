//! Thread pools for batch work.
//!
//! Fork-safe: a process created by `fork()` after rlv used its pools builds new ones (the
//! inherited pools have no threads in the child).
//!
//! rlv never uses rayon's global pool, so it does not compete with the pools of other
//! libraries (torch intra-op threads, tokenizers). A pool of `n` threads is built on first use
//! and cached. `RLV_NUM_THREADS` sets the default size; `RLV_PARALLELISM=0|false|off|no` makes
//! every batch call serial. Results never depend on the thread count: every batch function
//! computes items independently and writes them in input order. [`scoped_chunks`] splits
//! one pass over a slice between threads spawned for the call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{Error, Result};

fn env_flag_false(name: &str) -> bool {
    match std::env::var(name) {
        Ok(v) => matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "" | "0" | "false" | "off" | "no" | "f" | "n"
        ),
        Err(_) => false,
    }
}

/// Number of threads a batch call uses when the caller passes `None`.
#[must_use]
pub fn default_num_threads() -> usize {
    if env_flag_false("RLV_PARALLELISM") {
        return 1;
    }
    if let Some(n) = std::env::var("RLV_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        return n;
    }
    // Cached: on Linux the first call reads cgroup files (~0.1 ms), and the answer does not
    // change while the process runs.
    static CPUS: OnceLock<usize> = OnceLock::new();
    *CPUS
        .get_or_init(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
}

/// The cached pools, tagged with the id of the process that built them.
struct Pools {
    pid: u32,
    by_size: HashMap<usize, Arc<rayon::ThreadPool>>,
}

fn pools() -> &'static Mutex<Pools> {
    static POOLS: OnceLock<Mutex<Pools>> = OnceLock::new();
    POOLS.get_or_init(|| {
        Mutex::new(Pools {
            pid: std::process::id(),
            by_size: HashMap::new(),
        })
    })
}

/// The cached pool with `n` threads (built on first use).
///
/// # Errors
/// [`Error::ThreadPool`] if the operating system refuses to start the threads.
pub fn pool(n: usize) -> Result<Arc<rayon::ThreadPool>> {
    let n = n.max(1);
    let mut pools = pools()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // After `fork()` (DataLoader workers, multiprocessing's "fork" start method) the child
    // inherits the cached pools but not their threads: using them would wait forever. A
    // child therefore builds its own pools; the inherited ones are leaked on purpose, as
    // dropping them would try to signal threads that do not exist in this process.
    let pid = std::process::id();
    if pools.pid != pid {
        std::mem::forget(std::mem::take(&mut pools.by_size));
        pools.pid = pid;
    }
    let map = &mut pools.by_size;
    if let Some(p) = map.get(&n) {
        return Ok(Arc::clone(p));
    }
    let p = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("rlv-{i}"))
        .build()
        .map_err(|e| Error::ThreadPool(e.to_string()))?;
    let p = Arc::new(p);
    map.insert(n, Arc::clone(&p));
    Ok(p)
}

/// Map `f` over `items` on `num_threads` threads (default: [`default_num_threads`]),
/// returning results in input order. With one thread, runs on the calling thread.
///
/// # Errors
/// [`Error::ThreadPool`] if the pool cannot be built.
pub fn map_ordered<T, R, F>(items: &[T], num_threads: Option<usize>, f: F) -> Result<Vec<R>>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync + Send,
{
    use rayon::prelude::*;
    let n = num_threads.unwrap_or_else(default_num_threads).max(1);
    if n == 1 || items.len() < 2 {
        return Ok(items.iter().map(f).collect());
    }
    let p = pool(n)?;
    Ok(p.install(|| items.par_iter().with_min_len(16).map(f).collect()))
}

/// Split `data` into at most `parts` nearly equal chunks and run `f(offset, chunk)` on each
/// (`offset`: index of the chunk's first element in `data`): the first chunk on the calling
/// thread, the others on threads spawned for this call. Returns the results in chunk order.
///
/// For the few-millisecond passes of the advantage estimators (batches of 100k rewards or
/// more, where a spawn, some 20 us, is noise). Measured as fast as the cached rayon pool
/// there, and simpler: nothing to rebuild after `fork()`, no worker left waiting between
/// calls. A chunk whose thread the system refuses to start runs on the calling thread
/// afterwards, so the results never depend on it.
pub(crate) fn scoped_chunks<T, R, F>(parts: usize, data: &mut [T], f: F) -> Vec<R>
where
    T: Send,
    R: Send,
    F: Fn(usize, &mut [T]) -> R + Sync,
{
    if parts < 2 || data.len() < 2 {
        return vec![f(0, data)];
    }
    let size = data.len().div_ceil(parts);
    let f = &f;
    let mut results: Vec<Option<R>> = std::thread::scope(|s| {
        let mut chunks = data.chunks_mut(size).enumerate();
        let first = chunks.next();
        // `None` for a chunk whose thread did not start (its closure, chunk included, is
        // dropped by the failed spawn; it runs below, once `data` is free again).
        let handles: Vec<_> = chunks
            .map(|(c, chunk)| {
                std::thread::Builder::new()
                    .spawn_scoped(s, move || f(c * size, chunk))
                    .ok()
            })
            .collect();
        let mut results = Vec::with_capacity(handles.len() + 1);
        results.push(first.map(|(_, chunk)| f(0, chunk)));
        for h in handles {
            results.push(h.map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))));
        }
        results
    });
    for (c, r) in results.iter_mut().enumerate() {
        if r.is_none() {
            let start = c * size;
            let end = (start + size).min(data.len());
            *r = Some(f(start, &mut data[start..end]));
        }
    }
    results.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::scoped_chunks;

    #[test]
    fn chunks_cover_the_slice_in_order() {
        for len in [0usize, 1, 2, 7, 100] {
            for parts in 0..6 {
                let mut data: Vec<usize> = vec![0; len];
                let starts = scoped_chunks(parts, &mut data, |start, chunk| {
                    for (i, x) in chunk.iter_mut().enumerate() {
                        *x = start + i;
                    }
                    (start, chunk.len())
                });
                assert_eq!(data, (0..len).collect::<Vec<_>>(), "{len} {parts}");
                assert!(starts.len() <= parts.max(1));
                let covered: usize = starts.iter().map(|s| s.1).sum();
                assert_eq!(covered, len);
                assert!(starts.windows(2).all(|w| w[0].0 + w[0].1 == w[1].0));
            }
        }
    }
}
