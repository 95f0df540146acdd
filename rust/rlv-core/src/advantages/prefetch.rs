//! Software prefetch for the estimators' random accesses.
//!
//! The advantage estimators read and write one per-group accumulator per sample, in sample
//! order, so with shuffled groups every access is a cache miss. Out-of-order execution
//! overlaps only the few misses that fit in its window; asking for the accumulator of the
//! sample [`DISTANCE`] places ahead keeps more of them in flight. Measured on the 2-vCPU
//! AMD EPYC VM (1M samples, 125k shuffled groups, 32-byte accumulators): the accumulation
//! loop went from 3.3-4.3 ms to 2.8-2.9 ms.

/// How many samples ahead to prefetch (8, 16, 32 and 64 measured; 32 and 64 were best).
pub(crate) const DISTANCE: usize = 32;

/// Hint the CPU to start loading `slice[i]` into the L1 cache. Does nothing when `i` is out
/// of bounds or the target has no stable prefetch instruction; never changes a result.
#[inline(always)]
pub(crate) fn prefetch<T>(slice: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(x) = slice.get(i) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: `_mm_prefetch` is `unsafe` only because it is a `#[target_feature(enable =
        // "sse")]` function; SSE is part of the x86_64 baseline, so every CPU this code can
        // run on has it. A prefetch is a hint: it never faults and changes no memory, and
        // the pointer is derived from a live shared reference into `slice` anyway.
        #[allow(unsafe_code)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(x).cast::<i8>());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (slice, i);
}

/// [`prefetch`] the entry of `table` that the sample [`DISTANCE`] places after `i` will use
/// (`table[index[i + DISTANCE]]`); nothing near the end of `index`.
#[inline(always)]
pub(crate) fn prefetch_ahead<T>(table: &[T], index: &[u32], i: usize) {
    if let Some(&ahead) = index.get(i.saturating_add(DISTANCE)) {
        prefetch(table, ahead as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::{prefetch, prefetch_ahead};

    #[test]
    fn any_index_is_fine() {
        let v = [1u64, 2, 3];
        for i in [0, 2, 3, usize::MAX] {
            prefetch(&v, i);
        }
        prefetch::<u8>(&[], 0);
        for i in [0, 1, 40, usize::MAX - 8] {
            prefetch_ahead(&v, &[0; 40], i);
            prefetch_ahead(&v, &[7; 40], i);
        }
        assert_eq!(v, [1, 2, 3]);
    }
}
