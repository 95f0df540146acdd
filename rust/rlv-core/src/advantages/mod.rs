//! Sequence-level advantage estimators of value-free RL: GRPO (and Dr. GRPO), RLOO
//! (leave-one-out) and REINFORCE++ with a group baseline.
//!
//! Formulas, the choices made where TRL and verl differ, and worked examples are in
//! `docs/advantages.md`. In short, for a group `g` with scorable rewards `r` (count `n`,
//! mean `m`, unbiased std `s`):
//!
//! * GRPO: `A = (r - m) / (s + eps)` (`Scale::Group`), `(r - m) / (s_batch + eps)`
//!   (`Scale::Batch`) or `r - m` (`Scale::None`, Dr. GRPO);
//! * RLOO: `A = r - (sum - r) / (n - 1)` (= `(r - m) * n / (n - 1)`);
//! * REINFORCE++-baseline: `a = r - m`, then `(a - mu) / sqrt(var + eps)` with the (optionally
//!   weighted) mean and unbiased variance of `a` over the scorable samples of the batch.
//!
//! Conventions shared by every estimator:
//!
//! * a NaN reward marks an **unscorable** sample: it is left out of every statistic and gets
//!   advantage 0; ±inf is an error (a reward-function bug, not a sentinel);
//! * a group with a single scorable sample, or whose scorable rewards are all equal, carries
//!   no comparison: its samples get advantage **exactly 0** (never a division by zero);
//! * groups are given as ids in any order (ragged sizes allowed) or as sizes of consecutive
//!   groups; ids are numbered by first occurrence, so the work is O(n) and deterministic;
//! * arithmetic is in `f64` whatever the input type. Batches of 100k rewards or more run on
//!   up to `RLV_NUM_THREADS` threads: the element-wise passes in chunks, the per-group sums in
//!   two halves merged after (always two, whatever the thread count), so results never
//!   depend on the thread count. Permuting the input permutes the output, up to
//!   floating-point rounding (sums are taken in input order).

use crate::error::{Error, Result};
use crate::parallel::scoped_chunks;
use id_table::IdTable;

mod id_table;
mod prefetch;
use prefetch::prefetch_ahead;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// The float types accepted and returned by the estimators (`f32`, `f64`). Computation is
/// always in `f64`; `f32` results are rounded once at the end.
pub trait Real: Copy + Send + Sync + sealed::Sealed + 'static {
    /// Widen to `f64` (exact).
    fn to_f64(self) -> f64;
    /// Round from `f64`.
    fn from_f64(x: f64) -> Self;
}

impl Real for f32 {
    #[inline]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline]
    #[allow(clippy::cast_possible_truncation)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
}

impl Real for f64 {
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn from_f64(x: f64) -> Self {
        x
    }
}

/// How samples are assigned to groups (one group = the samples of one prompt).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Groups<'a> {
    /// One group id per sample, in any order; groups may have different sizes.
    Ids(&'a [i64]),
    /// Sizes of consecutive groups: non-negative and summing to the number of samples
    /// (a size of 0 is an empty group).
    Sizes(&'a [i64]),
    /// Consecutive groups of this size, which must divide the number of samples.
    Uniform(usize),
    /// The groups the workspace indexed last (by [`Workspace::index_groups`] or by the
    /// previous estimator call on it), for the same number of samples. Lets a caller read the
    /// groups once, while it may (the Python binding, before it releases the GIL), and not
    /// copy them; or reuse one grouping for several estimators. Only the `*_into` functions
    /// take it.
    Indexed,
}

/// The scaling of GRPO advantages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Divide by the unbiased std of the group + eps (GRPO; TRL's default).
    Group,
    /// Divide by the unbiased std of all scorable rewards of the batch + eps.
    Batch,
    /// No division (Dr. GRPO).
    None,
}

impl Scale {
    /// The allowed option values, for error messages.
    pub const ALLOWED: &'static str = "\"group\", \"batch\", \"none\"";

    /// Parse `"group"`, `"batch"` or `"none"`.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for any other string.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "group" => Ok(Self::Group),
            "batch" => Ok(Self::Batch),
            "none" => Ok(Self::None),
            _ => Err(Error::InvalidOption {
                option: "scale",
                value: s.to_string(),
                allowed: Self::ALLOWED,
            }),
        }
    }

    /// The option string of this scale.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Group => "group",
            Self::Batch => "batch",
            Self::None => "none",
        }
    }
}

/// Counts describing a batch, for logging (`advantages/zero_variance_frac`, ...).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Number of groups (for ids: distinct ids; for sizes: entries, empty ones included).
    pub n_groups: usize,
    /// Samples with a NaN reward (advantage 0, left out of every statistic).
    pub n_unscorable: usize,
    /// Groups with exactly one scorable sample (its advantage is 0).
    pub n_singleton_groups: usize,
    /// Groups with at least two scorable samples, all with the same reward (advantages 0).
    pub n_zero_variance_groups: usize,
    /// Groups without any scorable sample (empty, or all rewards NaN).
    pub n_empty_groups: usize,
}

/// Advantages (one per sample, in input order) and the batch [`Stats`].
#[derive(Clone, Debug, PartialEq)]
pub struct Advantages<T> {
    /// One advantage per sample, in input order.
    pub values: Vec<T>,
    /// Counts of unscorable samples and degenerate groups.
    pub stats: Stats,
}

/// Compact group indices: `index[i]` in `0..n_groups` is the group of sample `i`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupIndex {
    /// Group of each sample. For ids, groups are numbered by first occurrence.
    pub index: Vec<u32>,
    /// Number of groups.
    pub n_groups: usize,
}

/// Scratch buffers of the estimators, reusable across calls.
///
/// Every buffer is overwritten before it is read, so results never depend on what a
/// workspace held before. Reusing one matters for speed: on a 1M-reward batch, first-touch
/// page faults of fresh buffers cost more than the arithmetic. The `*_into` functions take
/// one; the allocating functions ([`grpo`], ...) use a fresh one per call.
#[derive(Debug, Default)]
pub struct Workspace {
    index: Vec<u32>,
    table: Vec<u32>,
    id_table: IdTable,
    /// `(samples, slots, every slot is a group)` of the grouping in `index`, if valid.
    indexed: Option<(usize, usize, bool)>,
    acc: Vec<Acc>,
    /// Accumulators of the second half of a split batch (see [`accumulate`]).
    acc2: Vec<Acc>,
    centred: Vec<f64>,
}

impl Workspace {
    /// An empty workspace (buffers grow on first use).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Index `groups` for `n` samples (the one step of an estimator that reads the groups),
    /// for a following `*_into` call with [`Groups::Indexed`].
    ///
    /// # Errors
    /// As the estimators for invalid groups; [`Error::InvalidGroups`] for
    /// [`Groups::Indexed`] with a different number of samples or nothing indexed yet.
    pub fn index_groups(&mut self, groups: Groups<'_>, n: usize) -> Result<()> {
        slot_index(self, groups, n, threads_for(n)).map(|_| ())
    }

    /// Bytes currently reserved by the buffers.
    #[must_use]
    pub fn capacity_bytes(&self) -> usize {
        (self.index.capacity() + self.table.capacity()) * 4
            + self.id_table.capacity_bytes()
            + (self.acc.capacity() + self.acc2.capacity()) * std::mem::size_of::<Acc>()
            + self.centred.capacity() * 8
    }
}

fn groups_error(msg: String) -> Error {
    Error::InvalidGroups(msg)
}

fn to_u32(i: usize) -> u32 {
    // Callers check `n <= u32::MAX` first, and every index is < n.
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Number ids by first occurrence into `ws.index`, through a direct table when the ids span
/// a small range and a hash table ([`IdTable`]) otherwise. `range`: `(min, max)` of the ids if
/// known. Returns the number of groups.
fn index_from_ids(ws: &mut Workspace, ids: &[i64], range: Option<(i64, i64)>) -> usize {
    const UNSEEN: u32 = u32::MAX;
    let n = ids.len();
    if n == 0 {
        return 0;
    }
    let (lo, hi) = range.unwrap_or_else(|| {
        ids.iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)))
    });
    let span = i128::from(hi) - i128::from(lo);
    if span > 2 * (n as i128) + 1024 {
        // Serial: numbering two halves on two threads and merging measured no faster (the
        // random probes share one memory system).
        return ws.id_table.number(ids, &mut ws.index);
    }
    let (index, table) = (&mut ws.index, &mut ws.table);
    index.clear();
    let mut next: u32 = 0;
    table.clear();
    // span fits in usize: it is at most 2n + 1024.
    table.resize(usize::try_from(span).unwrap_or(0) + 1, UNSEEN);
    // Branch-free (a new group is an unpredictable event): select, then count.
    index.extend(ids.iter().map(|&id| {
        // lo <= id <= hi, so the wrapping difference is the exact offset (<= span).
        #[allow(clippy::cast_possible_truncation)]
        let slot = id.wrapping_sub(lo) as u64 as usize;
        let seen = table[slot];
        let new = seen == UNSEEN;
        let g = if new { next } else { seen };
        table[slot] = g;
        next += u32::from(new);
        g
    }));
    next as usize
}

/// Fill `ws.index` (replaced) with the group of each of `n` samples, numbered by first
/// occurrence; returns the number of groups. `range`: `(min, max)` of the ids, if known.
fn build_index(
    ws: &mut Workspace,
    groups: Groups<'_>,
    n: usize,
    range: Option<(i64, i64)>,
) -> Result<usize> {
    ws.index.clear();
    if u32::try_from(n).is_err() {
        return Err(groups_error(format!(
            "at most {} samples are supported, got {n}",
            u32::MAX
        )));
    }
    match groups {
        Groups::Ids(ids) => {
            if ids.len() != n {
                return Err(Error::LengthMismatch {
                    left_name: "rewards",
                    left: n,
                    right_name: "groups",
                    right: ids.len(),
                });
            }
            Ok(index_from_ids(ws, ids, range))
        }
        Groups::Sizes(sizes) => {
            let mut total: u128 = 0;
            for (i, &s) in sizes.iter().enumerate() {
                if s < 0 {
                    return Err(groups_error(format!(
                        "sizes[{i}] is {s}; sizes must be >= 0"
                    )));
                }
                total += u128::from(s.unsigned_abs());
            }
            if total != n as u128 {
                return Err(groups_error(format!(
                    "sizes sum to {total}, but rewards has length {n}"
                )));
            }
            for (g, &s) in sizes.iter().enumerate() {
                // 0 <= s <= n, checked above.
                let s = usize::try_from(s).unwrap_or(0);
                ws.index.extend(std::iter::repeat_n(to_u32(g), s));
            }
            Ok(sizes.len())
        }
        Groups::Indexed => Err(groups_error(
            "Groups::Indexed refers to a workspace's index; use the ids, sizes or size".into(),
        )),
        Groups::Uniform(size) => {
            if size == 0 || !n.is_multiple_of(size) {
                return Err(groups_error(format!(
                    "rewards has length {n}, which is not divisible by group_size={size}"
                )));
            }
            // A run of `size` copies per group (no division per sample).
            for g in 0..n / size {
                ws.index.extend(std::iter::repeat_n(to_u32(g), size));
            }
            Ok(n / size)
        }
    }
}

/// Compact group indices for `n` samples.
///
/// # Errors
/// [`Error::LengthMismatch`] if ids and samples differ in number; [`Error::InvalidGroups`]
/// for a negative size, sizes that do not sum to `n`, a uniform size of 0 or one that does
/// not divide `n`, or more than `u32::MAX` samples.
pub fn group_index(groups: Groups<'_>, n: usize) -> Result<GroupIndex> {
    let mut ws = Workspace::new();
    let n_groups = build_index(&mut ws, groups, n, None)?;
    Ok(GroupIndex {
        index: ws.index,
        n_groups,
    })
}

/// Per-group accumulator, shifted by the group's first scorable reward `k` (so the variance
/// does not cancel catastrophically when rewards are large relative to their spread).
///
/// After [`finalize`], the same slot holds what the group's samples get:
/// `A = ((r - k) - s1) * s2`, i.e. `s1` is the mean offset from `k` and `s2` the multiplier
/// (0 for groups without a comparison). Reusing the slot keeps the random accesses of the
/// last pass within the memory the first pass already touched.
///
/// 32 bytes, aligned to 32 so that no accumulator straddles two cache lines (one random
/// access is one cache miss, not two).
#[derive(Clone, Copy, Debug, Default)]
#[repr(align(32))]
struct Acc {
    /// First scorable reward of the group (the shift).
    k: f64,
    /// Sum of `r - k`; after `finalize`, the mean of `r - k`.
    s1: f64,
    /// Sum of `(r - k)^2`; after `finalize`, the multiplier.
    s2: f64,
    /// Number of scorable rewards.
    n: u32,
    /// [`DIFFERS`] if some scorable reward differs from `k` (exact zero-variance test),
    /// [`PRESENT`] if the slot is a group (only unused slots of [`slot_index`] lack it).
    flags: u32,
}

impl Acc {
    /// Mean offset from `k` and the sum of squared deviations from the mean (>= 0).
    fn centre(&self) -> (f64, f64) {
        let off = self.s1 / f64::from(self.n);
        (off, (self.s2 - self.s1 * off).max(0.0))
    }

    /// A comparison exists: at least two scorable rewards, not all equal.
    fn informative(&self) -> bool {
        self.n >= 2 && self.flags & DIFFERS != 0
    }
}

/// [`Acc::flags`] bit: some scorable reward differs from the shift.
const DIFFERS: u32 = 1;
/// [`Acc::flags`] bit: the slot is a group (has a sample).
const PRESENT: u32 = 2;

fn check_eps(eps: f64) -> Result<()> {
    if eps.is_finite() && eps >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidOption {
            option: "eps",
            value: eps.to_string(),
            allowed: "a finite number >= 0",
        })
    }
}

fn check_len<T>(rewards: &[T], out_len: usize) -> Result<()> {
    if out_len == rewards.len() {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            left_name: "rewards",
            left: rewards.len(),
            right_name: "out",
            right: out_len,
        })
    }
}

/// Batches with fewer rewards than this are processed on the calling thread.
const PAR_MIN_LEN: usize = 100_000;

/// Threads for a batch of `n` rewards: 1 (the calling thread) for small batches, else
/// `RLV_NUM_THREADS` or the number of cores. Read once per estimator call.
fn threads_for(n: usize) -> usize {
    if n < PAR_MIN_LEN {
        return 1;
    }
    crate::parallel::default_num_threads()
}

/// The slot of each sample, written to `ws.index` (cleared first); returns the number of
/// slots and whether every slot is a group (even one without samples: a size of 0), and
/// records both in `ws.indexed` for [`Groups::Indexed`].
///
/// Unlike [`build_index`], slots need not be numbered by first occurrence nor all be used:
/// ids spanning a small range (the common case: prompt indices) map straight to
/// `id` (ids from 0) or `id - min_id`, so the estimators make one random access per sample
/// (their accumulator) instead of two (a numbering table, then the accumulator). Unused slots
/// are never marked present and are left out of every statistic. Other groupings use
/// [`build_index`].
fn slot_index(
    ws: &mut Workspace,
    groups: Groups<'_>,
    n: usize,
    threads: usize,
) -> Result<(usize, bool)> {
    if groups == Groups::Indexed {
        return match ws.indexed {
            Some((len, slots, all)) if len == n => Ok((slots, all)),
            Some((len, _, _)) => Err(groups_error(format!(
                "Groups::Indexed: the workspace indexed {len} samples, not {n}"
            ))),
            None => Err(groups_error(
                "Groups::Indexed: the workspace has no groups indexed".into(),
            )),
        };
    }
    ws.indexed = None;
    let (slots, all) = match direct_slots(ws, groups, n, threads) {
        Ok(slots) => (slots, false),
        Err(range) => (build_index(ws, groups, n, range)?, true),
    };
    ws.indexed = Some((n, slots, all));
    Ok((slots, all))
}

/// Direct slots for ids spanning a small range (at most `n + 1024` slots, so at most ~32
/// bytes of accumulator per sample): `ws.index` filled and the number of slots returned.
/// Otherwise (index unspecified) `Err` with the ids' `(min, max)` if it was computed.
fn direct_slots(
    ws: &mut Workspace,
    groups: Groups<'_>,
    n: usize,
    threads: usize,
) -> std::result::Result<usize, Option<(i64, i64)>> {
    let Groups::Ids(ids) = groups else {
        return Err(None);
    };
    if ids.len() != n || n == 0 || u32::try_from(n).is_err() {
        return Err(None);
    }
    let limit = n as i128 + 1024;
    // One pass for the common case, ids from 0 (slot = id), tracking the range as it goes;
    // a second only for a small range that does not start near 0.
    // (Resizing a reused index writes nothing: every entry is overwritten below.)
    ws.index.truncate(n);
    ws.index.resize(n, 0);
    let (lo, hi) = scoped_chunks(threads, &mut ws.index, |start, index| {
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for (slot, &id) in index.iter_mut().zip(&ids[start..]) {
            lo = lo.min(id);
            hi = hi.max(id);
            // Truncation is harmless: the index is used only if every id is in 0..=limit.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let slot_id = id as u32;
            *slot = slot_id;
        }
        (lo, hi)
    })
    .into_iter()
    .fold((i64::MAX, i64::MIN), |(lo, hi), (l, h)| {
        (lo.min(l), hi.max(h))
    });
    if lo >= 0 && i128::from(hi) <= limit && hi < i64::from(u32::MAX) {
        // 0 <= hi < u32::MAX fits in usize.
        return Ok(usize::try_from(hi).unwrap_or(0) + 1);
    }
    let span = i128::from(hi) - i128::from(lo);
    if span > limit || span >= i128::from(u32::MAX) {
        return Err(Some((lo, hi)));
    }
    // lo <= id <= hi, so the wrapping difference is the exact offset (<= span < u32::MAX).
    #[allow(clippy::cast_possible_truncation)]
    for (slot, &id) in ws.index.iter_mut().zip(ids) {
        *slot = id.wrapping_sub(lo) as u64 as u32;
    }
    // 0 <= span < u32::MAX fits in usize.
    Ok(usize::try_from(span).unwrap_or(0) + 1)
}

/// Batches with at least this many rewards are accumulated in two halves, merged after.
const SPLIT_MIN_LEN: usize = PAR_MIN_LEN;

/// Slot index plus one pass over the rewards: per-slot accumulators in `ws.acc` and the
/// number of NaN rewards.
///
/// Batches of [`SPLIT_MIN_LEN`] rewards or more are cut in two halves, always two whatever
/// the thread count (so the sums, and the results, never depend on it), accumulated on two
/// threads when there are two and merged slot by slot ([`merge`]). The loop costs about
/// 2.5 ns per sample whether the accumulators fit in L1 or not (with the prefetch below), so
/// halving the samples per thread is what pays: splitting the *groups* between threads
/// (each scanning all samples) measured no faster, nor did a counting sort of the samples
/// into slot ranges whose accumulators fit in L2 (1.2-1.5x slower).
fn accumulate<T: Real>(
    ws: &mut Workspace,
    rewards: &[T],
    groups: Groups<'_>,
    threads: usize,
) -> Result<usize> {
    let n = rewards.len();
    let (n_slots, all_groups) = slot_index(ws, groups, n, threads)?;
    let init = Acc {
        k: f64::NAN,
        flags: if all_groups { PRESENT } else { 0 },
        ..Acc::default()
    };
    let reset = |acc: &mut Vec<Acc>| {
        acc.clear();
        acc.resize(n_slots, init);
    };
    reset(&mut ws.acc);
    let index = &ws.index;
    let (unscorable, infinite) = if n >= SPLIT_MIN_LEN {
        reset(&mut ws.acc2);
        let h = n / 2;
        let mut halves = [
            (&rewards[..h], &index[..h], &mut ws.acc),
            (&rewards[h..], &index[h..], &mut ws.acc2),
        ];
        let counts = scoped_chunks(threads.min(2), &mut halves, |_, jobs| {
            jobs.iter_mut()
                .map(|(r, g, acc)| accumulate_range(r, g, acc))
                .collect::<Vec<_>>()
        });
        let acc2 = &ws.acc2;
        scoped_chunks(threads, &mut ws.acc, |start, a| {
            for (a, b) in a.iter_mut().zip(&acc2[start..]) {
                merge(a, b);
            }
        });
        counts
            .into_iter()
            .flatten()
            .fold((0, false), |(u, i), (u2, i2)| (u + u2, i | i2))
    } else {
        accumulate_range(rewards, index, &mut ws.acc)
    };
    if infinite {
        // Rare: find the first offender for the error message.
        if let Some((i, x)) = rewards
            .iter()
            .map(|r| r.to_f64())
            .enumerate()
            .find(|(_, x)| x.is_infinite())
        {
            return Err(Error::InvalidValue {
                name: "rewards",
                index: i,
                value: x.to_string(),
                expected: "a finite number, or NaN for an unscorable sample",
            });
        }
    }
    Ok(unscorable)
}

/// Accumulate `rewards` into `acc` (slot `index[i]` for sample `i`): returns the number of NaN
/// rewards and whether any reward is infinite.
///
/// The accesses to `acc` are random, so the loop has no unpredictable branch: each group's
/// shift `k` starts as NaN and is set by a select (not a branch) at the group's first
/// scorable reward; and the accumulator of the sample [`prefetch::DISTANCE`] places
/// ahead is prefetched ([`prefetch`]), so that many cache misses are in flight at once.
fn accumulate_range<T: Real>(rewards: &[T], index: &[u32], acc: &mut [Acc]) -> (usize, bool) {
    let mut unscorable = 0usize;
    let mut infinite = false;
    for (i, (&r, &g)) in rewards.iter().zip(index).enumerate() {
        prefetch_ahead(acc, index, i);
        let x = r.to_f64();
        let ok = !x.is_nan();
        infinite |= x.is_infinite();
        let a = &mut acc[g as usize];
        // The group's first scorable reward becomes its shift.
        a.k = if ok & a.k.is_nan() { x } else { a.k };
        let d = if ok { x - a.k } else { 0.0 };
        a.s1 += d;
        a.s2 += d * d;
        a.n += u32::from(ok);
        a.flags |= PRESENT | u32::from(d != 0.0);
        unscorable += usize::from(!ok);
    }
    (unscorable, infinite)
}

/// Fold `b` (a later run of samples of the same slot) into `a`, re-shifting `b`'s sums from
/// its shift to `a`'s: with `delta = k_b - k_a`, `sum (r - k_a) = s1_b + n_b delta` and
/// `sum (r - k_a)^2 = s2_b + delta (2 s1_b + n_b delta)`. The zero-variance test stays
/// exact: the merged rewards differ iff either half's do or the two shifts differ.
fn merge(a: &mut Acc, b: &Acc) {
    let flags = a.flags | b.flags;
    if b.n == 0 {
        a.flags = flags;
    } else if a.n == 0 {
        *a = Acc { flags, ..*b };
    } else {
        let delta = b.k - a.k;
        let nb = f64::from(b.n);
        a.s1 += b.s1 + nb * delta;
        a.s2 += b.s2 + delta * (2.0 * b.s1 + nb * delta);
        a.n += b.n;
        a.flags = flags | u32::from(delta != 0.0);
    }
}

impl Stats {
    /// Count group `a` (nothing for an unused slot).
    fn count(&mut self, a: &Acc) {
        if a.flags & PRESENT == 0 {
            return;
        }
        self.n_groups += 1;
        match a.n {
            0 => self.n_empty_groups += 1,
            1 => self.n_singleton_groups += 1,
            _ if a.flags & DIFFERS == 0 => self.n_zero_variance_groups += 1,
            _ => {}
        }
    }

    /// Field-wise sum.
    fn add(self, o: Self) -> Self {
        Self {
            n_groups: self.n_groups + o.n_groups,
            n_unscorable: self.n_unscorable + o.n_unscorable,
            n_singleton_groups: self.n_singleton_groups + o.n_singleton_groups,
            n_zero_variance_groups: self.n_zero_variance_groups + o.n_zero_variance_groups,
            n_empty_groups: self.n_empty_groups + o.n_empty_groups,
        }
    }
}

fn stats_of(acc: &[Acc], unscorable: usize) -> Stats {
    let mut st = Stats {
        n_unscorable: unscorable,
        ..Stats::default()
    };
    for a in acc {
        st.count(a);
    }
    st
}

/// Turn each informative accumulator into `(k, mean offset + shift, mul(acc, ss))`; every
/// other group gets `(0, 0, 0)`. Returns the [`Stats`] of the groups (`n_unscorable` left 0),
/// counted in the same pass; an informative group whose `mul` is not positive and finite
/// (a zero denominator) gets advantage 0 and counts as zero-variance.
fn finalize(acc: &mut [Acc], shift: f64, mul: impl Fn(&Acc, f64) -> f64) -> Stats {
    let mut st = Stats::default();
    for a in acc {
        st.count(a);
        let informative = a.informative();
        let (off, ss) = if informative { a.centre() } else { (0.0, 0.0) };
        let m = if informative { mul(a, ss) } else { 0.0 };
        // A zero denominator gives an infinite multiplier; `m > 0` is false for NaN.
        let keep = m.is_finite() && m > 0.0;
        st.n_zero_variance_groups += usize::from(informative && !keep);
        *a = if keep {
            Acc {
                k: a.k,
                s1: off + shift,
                s2: m,
                ..*a
            }
        } else {
            Acc {
                k: 0.0,
                s1: 0.0,
                s2: 0.0,
                ..*a
            }
        };
    }
    st
}

/// `((r - k) - off) * mul` per sample (0 for NaN rewards). `+ 0.0` turns the `-0.0` of a
/// negative deviation times `mul = 0` into `+0.0`. Branch-free, like [`accumulate`].
fn apply<T: Real, U: Real>(rewards: &[T], index: &[u32], acc: &[Acc], out: &mut [U]) {
    for (i, ((o, &r), &g)) in out.iter_mut().zip(rewards).zip(index).enumerate() {
        prefetch_ahead(acc, index, i);
        let x = r.to_f64();
        let f = &acc[g as usize];
        let v = ((x - f.k) - f.s1) * f.s2 + 0.0;
        *o = U::from_f64(if x.is_nan() { 0.0 } else { v });
    }
}

/// [`finalize`] on `threads` (chunks of groups are independent), with `unscorable` NaN
/// rewards.
fn finalize_par(
    threads: usize,
    acc: &mut [Acc],
    unscorable: usize,
    shift: f64,
    mul: impl Fn(&Acc, f64) -> f64 + Sync,
) -> Stats {
    let st = Stats {
        n_unscorable: unscorable,
        ..Stats::default()
    };
    scoped_chunks(threads, acc, |_, a| finalize(a, shift, &mul))
        .into_iter()
        .fold(st, Stats::add)
}

/// [`apply`] on `threads` (chunks of samples are independent).
fn apply_par<T: Real, U: Real>(
    threads: usize,
    rewards: &[T],
    index: &[u32],
    acc: &[Acc],
    out: &mut [U],
) {
    scoped_chunks(threads, out, |start, o| {
        let end = start + o.len();
        apply(&rewards[start..end], &index[start..end], acc, o);
    });
}

/// Bit pattern of `-0.0`, the marker of a scorable sample of an uninformative group.
const NEG_ZERO_BITS: u64 = 0x8000_0000_0000_0000;

/// [`apply`] into `f64` for REINFORCE++, with the sample's kind encoded in the value, so that
/// the later passes need neither the rewards nor a second lookup in `acc`: NaN for a NaN
/// reward, `-0.0` for a sample of an uninformative group (`apply` never gives `-0.0`: it adds
/// `+0.0`), the group-centred reward otherwise. In sums, `-0.0` acts exactly as `0.0`.
fn centred_par<T: Real>(
    threads: usize,
    rewards: &[T],
    index: &[u32],
    acc: &[Acc],
    out: &mut [f64],
) {
    let run = |rewards: &[T], index: &[u32], out: &mut [f64]| {
        for (i, ((o, &r), &g)) in out.iter_mut().zip(rewards).zip(index).enumerate() {
            prefetch_ahead(acc, index, i);
            let x = r.to_f64();
            let f = &acc[g as usize];
            let v = ((x - f.k) - f.s1) * f.s2 + 0.0;
            let v = if f.s2 == 0.0 { -0.0 } else { v };
            *o = if x.is_nan() { f64::NAN } else { v };
        }
    };
    scoped_chunks(threads, out, |start, o| {
        let end = start + o.len();
        run(&rewards[start..end], &index[start..end], o);
    });
}

/// REINFORCE++ with unit weights, from the group accumulators alone (no per-sample pass
/// besides the final one). With `a_i = r_i - mean_g` in informative groups and 0 in the
/// others (NaN samples left out), the batch moments are sums over groups:
/// `sum a = sum_g (s1_g - n_g off_g)` (0 up to rounding) and
/// `sum (a - mu)^2 = sum_g ss_g - 2 mu sum a + n mu^2`, so each sample's advantage is
/// `((r - k) - (off_g + mu)) * inv`, one [`apply`] pass like GRPO's.
fn rpp_from_groups<T: Real>(
    threads: usize,
    ws: &mut Workspace,
    rewards: &[T],
    unscorable: usize,
    eps: f64,
    out: &mut [T],
) -> Stats {
    let acc = &ws.acc;
    let [sw, swa, sss] = chunked_sums(threads, acc.len(), |range| {
        let (mut sw, mut swa, mut sss) = (0.0f64, 0.0f64, 0.0f64);
        for a in &acc[range] {
            sw += f64::from(a.n);
            if a.informative() {
                let (off, ss) = a.centre();
                swa += a.s1 - f64::from(a.n) * off;
                sss += ss;
            }
        }
        [sw, swa, sss]
    });
    let mu = swa / sw;
    let ss = sss - 2.0 * mu * swa + sw * mu * mu;
    let denom = (ss / (sw - 1.0) + eps).sqrt();
    // Degenerate batch (total weight <= 1, or a zero / NaN denominator): all advantages 0.
    let inv = if sw > 1.0 && denom > 0.0 {
        1.0 / denom
    } else {
        0.0
    };
    if inv == 0.0 {
        out.fill(T::from_f64(0.0));
        return stats_of(&ws.acc, unscorable);
    }
    // `inv` is positive and finite, so no informative group is demoted.
    let stats = finalize_par(threads, &mut ws.acc, unscorable, mu, |_, _| inv);
    apply_par(threads, rewards, &ws.index, &ws.acc, out);
    stats
}

/// Samples per partial sum of [`chunked_sums`].
const SUM_CHUNK: usize = 1 << 16;

/// `K` sums over `0..n`: `f` sums one chunk of [`SUM_CHUNK`] indices, and the partial sums
/// are added in chunk order. The chunks do not depend on the thread count, so neither do the
/// bits of the result (the chunks run in parallel on `threads`).
fn chunked_sums<const K: usize>(
    threads: usize,
    n: usize,
    f: impl Fn(std::ops::Range<usize>) -> [f64; K] + Sync,
) -> [f64; K] {
    let chunk = |c: usize| f(c * SUM_CHUNK..((c + 1) * SUM_CHUNK).min(n));
    let n_chunks = n.div_ceil(SUM_CHUNK);
    let mut parts = vec![[0.0; K]; n_chunks];
    scoped_chunks(threads, &mut parts, |start, p| {
        for (c, part) in p.iter_mut().enumerate() {
            *part = chunk(start + c);
        }
    });
    parts.iter().fold([0.0; K], |mut acc, part| {
        for (a, x) in acc.iter_mut().zip(part) {
            *a += x;
        }
        acc
    })
}

/// Unbiased std of all scorable rewards, combined from the group accumulators
/// (within-group plus between-group sums of squares); 0 with fewer than two.
fn batch_std(acc: &[Acc]) -> f64 {
    let total: f64 = acc.iter().map(|a| f64::from(a.n)).sum();
    if total < 2.0 {
        return 0.0;
    }
    let means = || {
        acc.iter().filter(|a| a.n > 0).map(|a| {
            let (off, ss) = a.centre();
            (f64::from(a.n), a.k + off, ss)
        })
    };
    let grand = means().map(|(n, m, _)| n * m).sum::<f64>() / total;
    let ss: f64 = means()
        .map(|(n, m, ss)| ss + n * (m - grand) * (m - grand))
        .sum();
    (ss / (total - 1.0)).sqrt()
}

fn alloc<T: Real>(
    rewards: &[T],
    f: impl FnOnce(&mut Workspace, &mut [T]) -> Result<Stats>,
) -> Result<Advantages<T>> {
    let mut values = vec![T::from_f64(0.0); rewards.len()];
    let stats = f(&mut Workspace::new(), &mut values)?;
    Ok(Advantages { values, stats })
}

/// GRPO advantages: `(r - mean_g) / (std_g + eps)` (or the batch std, or no division).
///
/// `std_g` is the unbiased (Bessel) std of the group's scorable rewards. NaN rewards get 0 and
/// are left out; groups with one scorable sample or zero variance get 0.
///
/// # Errors
/// Invalid groups (see [`group_index`]), a non-finite or negative `eps`, or an infinite reward.
pub fn grpo<T: Real>(
    rewards: &[T],
    groups: Groups<'_>,
    scale: Scale,
    eps: f64,
) -> Result<Advantages<T>> {
    alloc(rewards, |ws, out| {
        grpo_into(ws, rewards, groups, scale, eps, out)
    })
}

/// [`grpo`] writing into `out` (same length as `rewards`) with the buffers of `ws`.
///
/// # Errors
/// As [`grpo`], and [`Error::LengthMismatch`] if `out` has the wrong length.
pub fn grpo_into<T: Real>(
    ws: &mut Workspace,
    rewards: &[T],
    groups: Groups<'_>,
    scale: Scale,
    eps: f64,
    out: &mut [T],
) -> Result<Stats> {
    check_eps(eps)?;
    check_len(rewards, out.len())?;
    let threads = threads_for(rewards.len());
    let unscorable = accumulate(ws, rewards, groups, threads)?;
    let batch_denom = match scale {
        Scale::Batch => batch_std(&ws.acc) + eps,
        Scale::Group | Scale::None => 1.0,
    };
    // Distinct rewards whose squared deviations underflow, with eps = 0, give a zero
    // denominator: `finalize` demotes such groups to zero-variance.
    let stats = finalize_par(threads, &mut ws.acc, unscorable, 0.0, |a, ss| match scale {
        Scale::Group => 1.0 / ((ss / f64::from(a.n - 1)).sqrt() + eps),
        Scale::Batch => 1.0 / batch_denom,
        Scale::None => 1.0,
    });
    apply_par(threads, rewards, &ws.index, &ws.acc, out);
    Ok(stats)
}

/// RLOO advantages: `r_i - (sum_g - r_i) / (n_g - 1)`, the reward minus the mean of the
/// other scorable samples of its group (computed as `(r_i - mean_g) * n_g / (n_g - 1)`).
///
/// NaN rewards get 0 and are left out of their siblings' baselines; groups with one scorable
/// sample or zero variance get 0.
///
/// # Errors
/// Invalid groups (see [`group_index`]) or an infinite reward.
pub fn rloo<T: Real>(rewards: &[T], groups: Groups<'_>) -> Result<Advantages<T>> {
    alloc(rewards, |ws, out| rloo_into(ws, rewards, groups, out))
}

/// [`rloo`] writing into `out` (same length as `rewards`) with the buffers of `ws`.
///
/// # Errors
/// As [`rloo`], and [`Error::LengthMismatch`] if `out` has the wrong length.
pub fn rloo_into<T: Real>(
    ws: &mut Workspace,
    rewards: &[T],
    groups: Groups<'_>,
    out: &mut [T],
) -> Result<Stats> {
    check_len(rewards, out.len())?;
    let threads = threads_for(rewards.len());
    let unscorable = accumulate(ws, rewards, groups, threads)?;
    let stats = finalize_par(threads, &mut ws.acc, unscorable, 0.0, |a, _| {
        let n = f64::from(a.n);
        n / (n - 1.0)
    });
    apply_par(threads, rewards, &ws.index, &ws.acc, out);
    Ok(stats)
}

/// REINFORCE++ with a group baseline: `a = r - mean_g`, then whitened over the scorable
/// samples of the batch, `(a - mu) / sqrt(var + eps)`, where `mu` and the unbiased `var` are
/// weighted by `weights` (default 1 per sample; pass response token counts to reproduce
/// verl's token-level whitening: `var = sum w (a - mu)^2 / (sum w - 1)`).
///
/// NaN rewards, singleton groups and zero-variance groups get 0 (the latter two still enter
/// `mu` and `var` with `a = 0`). If the scorable weight totals at most 1, or the whitening
/// denominator is 0, every advantage is 0.
///
/// # Errors
/// Invalid groups (see [`group_index`]), `weights` of the wrong length or with a negative or
/// non-finite entry, a non-finite or negative `eps`, or an infinite reward.
pub fn reinforce_pp_baseline<T: Real>(
    rewards: &[T],
    groups: Groups<'_>,
    weights: Option<&[f64]>,
    eps: f64,
) -> Result<Advantages<T>> {
    alloc(rewards, |ws, out| {
        reinforce_pp_baseline_into(ws, rewards, groups, weights, eps, out)
    })
}

/// [`reinforce_pp_baseline`] writing into `out` (same length as `rewards`) with the buffers
/// of `ws`.
///
/// # Errors
/// As [`reinforce_pp_baseline`], and [`Error::LengthMismatch`] if `out` has the wrong length.
pub fn reinforce_pp_baseline_into<T: Real>(
    ws: &mut Workspace,
    rewards: &[T],
    groups: Groups<'_>,
    weights: Option<&[f64]>,
    eps: f64,
    out: &mut [T],
) -> Result<Stats> {
    check_eps(eps)?;
    check_len(rewards, out.len())?;
    let n = rewards.len();
    if let Some(w) = weights {
        if w.len() != n {
            return Err(Error::LengthMismatch {
                left_name: "rewards",
                left: n,
                right_name: "weights",
                right: w.len(),
            });
        }
        if let Some((i, &x)) = w
            .iter()
            .enumerate()
            .find(|(_, x)| !(x.is_finite() && **x >= 0.0))
        {
            return Err(Error::InvalidValue {
                name: "weights",
                index: i,
                value: x.to_string(),
                expected: "a finite number >= 0",
            });
        }
    }
    let threads = threads_for(rewards.len());
    let unscorable = accumulate(ws, rewards, groups, threads)?;
    if weights.is_none() {
        return Ok(rpp_from_groups(threads, ws, rewards, unscorable, eps, out));
    }
    let stats = finalize_par(threads, &mut ws.acc, unscorable, 0.0, |_, _| 1.0);
    // Group-centred values in f64 (NaN for NaN rewards, -0.0 for uninformative groups), then
    // whitening over the scorable samples. Every entry is overwritten by `centred_par`.
    let mut centred = std::mem::take(&mut ws.centred);
    centred.truncate(n);
    centred.resize(n, 0.0);
    centred_par(threads, rewards, &ws.index, &ws.acc, &mut centred);
    let weight = |i: usize| weights.map_or(1.0, |w| w[i]);
    let [sw, swa] = chunked_sums(threads, n, |range| {
        let (mut sw, mut swa) = (0.0f64, 0.0f64);
        for i in range {
            let a = centred[i];
            if !a.is_nan() {
                sw += weight(i);
                swa += weight(i) * a;
            }
        }
        [sw, swa]
    });
    let mu = swa / sw;
    let [ss] = chunked_sums(threads, n, |range| {
        let mut ss = 0.0f64;
        for i in range {
            let a = centred[i];
            if !a.is_nan() {
                ss += weight(i) * (a - mu) * (a - mu);
            }
        }
        [ss]
    });
    let denom = (ss / (sw - 1.0) + eps).sqrt();
    // Degenerate batch (total weight <= 1, or a zero / NaN denominator): all advantages 0.
    let inv = if sw > 1.0 && denom > 0.0 {
        1.0 / denom
    } else {
        0.0
    };
    let whiten = |out: &mut [T], centred: &[f64]| {
        for (o, &a) in out.iter_mut().zip(centred) {
            // NaN: unscorable; -0.0: uninformative group (see `centred_par`).
            let informative = !a.is_nan() && a.to_bits() != NEG_ZERO_BITS;
            let v = if informative && inv != 0.0 {
                (a - mu) * inv
            } else {
                0.0
            };
            *o = T::from_f64(v);
        }
    };
    scoped_chunks(threads, out, |start, o| {
        whiten(o, &centred[start..start + o.len()])
    });
    ws.centred = centred;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{accumulate_range, merge, Acc, DIFFERS, PRESENT};

    fn fresh(slots: usize) -> Vec<Acc> {
        vec![
            Acc {
                k: f64::NAN,
                ..Acc::default()
            };
            slots
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Accumulating two halves and merging them gives the accumulators of the whole
        /// batch: the same counts and flags exactly, the same centred sums up to rounding.
        #[test]
        fn halves_merge_into_the_whole(
            samples in prop::collection::vec(
                (
                    0u32..6,
                    prop_oneof![
                        1 => Just(f64::NAN),
                        2 => (0i32..3).prop_map(f64::from),
                        2 => -1e3f64..1e3,
                        1 => 1e6f64..1e6 + 2.0,
                    ],
                ),
                0..80,
            ),
            cut in any::<prop::sample::Index>(),
        ) {
            let r: Vec<f64> = samples.iter().map(|s| s.1).collect();
            let g: Vec<u32> = samples.iter().map(|s| s.0).collect();
            let h = if r.is_empty() { 0 } else { cut.index(r.len() + 1) };
            let mut whole = fresh(6);
            let (u, _) = accumulate_range(&r, &g, &mut whole);
            let (mut a, mut b) = (fresh(6), fresh(6));
            let (ua, _) = accumulate_range(&r[..h], &g[..h], &mut a);
            let (ub, _) = accumulate_range(&r[h..], &g[h..], &mut b);
            prop_assert_eq!(u, ua + ub);
            for (x, y) in a.iter_mut().zip(&b) {
                merge(x, y);
            }
            for (m, w) in a.iter().zip(&whole) {
                prop_assert_eq!(m.n, w.n);
                prop_assert_eq!(m.flags & (PRESENT | DIFFERS), w.flags & (PRESENT | DIFFERS));
                if w.n > 0 {
                    let ((mo, ms), (wo, ws)) = (m.centre(), w.centre());
                    // Compare means (shift + offset) and sums of squares.
                    let tol = 1e-9 * (1.0 + w.k.abs());
                    prop_assert!((m.k + mo - (w.k + wo)).abs() <= tol, "{:?} {:?}", m, w);
                    prop_assert!((ms - ws).abs() <= 1e-9 * (1.0 + ws.abs()) + tol * tol, "{:?} {:?}", m, w);
                }
            }
        }
    }
}
