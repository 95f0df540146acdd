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
//! * arithmetic is in `f64` whatever the input type; the per-group sums are serial (1M rewards
//!   in 125k shuffled groups take about 10 ms on a small VM, most of it cache misses) and only
//!   element-wise passes run on several threads (batches of 100k rewards or more), so results
//!   never depend on the thread count. Permuting the input permutes the output, up to
//!   floating-point rounding (sums are taken in input order).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::prefetch::prefetch_ahead;

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
    acc: Vec<Acc>,
    centred: Vec<f64>,
}

impl Workspace {
    /// An empty workspace (buffers grow on first use).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes currently reserved by the buffers.
    #[must_use]
    pub fn capacity_bytes(&self) -> usize {
        (self.index.capacity() + self.table.capacity()) * 4
            + self.acc.capacity() * std::mem::size_of::<Acc>()
            + self.centred.capacity() * 8
    }
}

/// splitmix64's finaliser: every output bit depends on every input bit, so ids that are
/// multiples of a power of two still spread over the table. Deterministic (no random seed):
/// the numbering never depends on it anyway, only the speed does.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        let mut z = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(b);
        }
    }
    fn write_i64(&mut self, i: i64) {
        self.0 = i as u64;
    }
}

fn groups_error(msg: String) -> Error {
    Error::InvalidGroups(msg)
}

fn to_u32(i: usize) -> u32 {
    // Callers check `n <= u32::MAX` first, and every index is < n.
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Number ids by first occurrence into `index`, through a direct table when the ids span a
/// small range and a hash map otherwise. Returns the number of groups.
fn index_from_ids(ids: &[i64], index: &mut Vec<u32>, table: &mut Vec<u32>) -> usize {
    const UNSEEN: u32 = u32::MAX;
    let n = ids.len();
    let (lo, hi) = ids
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    if n == 0 {
        return 0;
    }
    let span = i128::from(hi) - i128::from(lo);
    let mut next: u32 = 0;
    if span <= 2 * (n as i128) + 1024 {
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
    } else {
        let mut map: HashMap<i64, u32, BuildHasherDefault<IdHasher>> =
            HashMap::with_capacity_and_hasher((n / 4).max(16), BuildHasherDefault::default());
        index.extend(ids.iter().map(|&id| {
            *map.entry(id).or_insert_with(|| {
                next += 1;
                next - 1
            })
        }));
    }
    next as usize
}

/// Fill `index` (cleared first) with the group of each of `n` samples; returns the number of
/// groups.
fn build_index(
    groups: Groups<'_>,
    n: usize,
    index: &mut Vec<u32>,
    table: &mut Vec<u32>,
) -> Result<usize> {
    index.clear();
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
            Ok(index_from_ids(ids, index, table))
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
                index.extend(std::iter::repeat_n(to_u32(g), s));
            }
            Ok(sizes.len())
        }
        Groups::Uniform(size) => {
            if size == 0 || n % size != 0 {
                return Err(groups_error(format!(
                    "rewards has length {n}, which is not divisible by group_size={size}"
                )));
            }
            index.extend((0..n).map(|i| to_u32(i / size)));
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
    let mut index = Vec::with_capacity(n);
    let n_groups = build_index(groups, n, &mut index, &mut Vec::new())?;
    Ok(GroupIndex { index, n_groups })
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

/// The pool for a batch of `n` rewards, or `None` to run on the calling thread (small
/// batches, one thread, or a pool the system refuses to start).
fn pool_for(n: usize) -> Option<std::sync::Arc<rayon::ThreadPool>> {
    if n < PAR_MIN_LEN {
        return None;
    }
    let t = crate::parallel::default_num_threads();
    if t < 2 {
        return None;
    }
    crate::parallel::pool(t).ok()
}

/// The slot of each sample, written to `index` (cleared first); returns the number of slots
/// and whether every slot is a group (even one without samples: a size of 0).
///
/// Unlike [`build_index`], slots need not be numbered by first occurrence nor all be used:
/// ids spanning a small range (the common case: prompt indices) map straight to
/// `id - min_id`, so the estimators make one random access per sample (their accumulator)
/// instead of two (a numbering table, then the accumulator). Unused slots are never marked
/// present and are left out of every statistic. Other groupings use [`build_index`].
fn slot_index(ws: &mut Workspace, groups: Groups<'_>, n: usize) -> Result<(usize, bool)> {
    if let Groups::Ids(ids) = groups {
        if ids.len() == n && u32::try_from(n).is_ok() && n > 0 {
            let (lo, hi) = ids
                .iter()
                .fold((i64::MAX, i64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
            let span = i128::from(hi) - i128::from(lo);
            // At most n + 1024 slots (so at most ~32 bytes of accumulator per sample), and
            // every slot number fits in u32.
            if span <= n as i128 + 1024 && span < i128::from(u32::MAX) {
                ws.index.clear();
                // lo <= id <= hi, so the wrapping difference is the exact offset (<= span).
                #[allow(clippy::cast_possible_truncation)]
                ws.index
                    .extend(ids.iter().map(|&id| id.wrapping_sub(lo) as u64 as u32));
                // 0 <= span < u32::MAX fits in usize.
                return Ok((usize::try_from(span).unwrap_or(0) + 1, false));
            }
        }
    }
    let n_groups = build_index(groups, n, &mut ws.index, &mut ws.table)?;
    Ok((n_groups, true))
}

/// Slot index plus one pass over the rewards: per-slot accumulators in `ws.acc` and the
/// number of NaN rewards.
///
/// The accesses to `acc` are random (cache misses), so the loop has no unpredictable branch:
/// each group's shift `k` starts as NaN and is set by a select (not a branch) at the group's
/// first scorable reward.
///
/// This pass stays serial: splitting the groups between threads (each scanning all samples
/// for its own groups, which keeps results independent of the thread count) measured no
/// faster on 2 cores, the random accesses being bound by the memory system, not the core.
/// Nor did a counting sort of the samples into slot ranges whose accumulators fit in L2
/// (1.2-1.5x slower here: the partition pass costs more than the cache misses it saves).
/// What did help: prefetching the accumulator of the sample
/// [`crate::prefetch::DISTANCE`] places ahead ([`crate::prefetch`]), so more misses are in
/// flight at once.
fn accumulate<T: Real>(ws: &mut Workspace, rewards: &[T], groups: Groups<'_>) -> Result<usize> {
    let (n_slots, all_groups) = slot_index(ws, groups, rewards.len())?;
    let acc = &mut ws.acc;
    acc.clear();
    acc.resize(
        n_slots,
        Acc {
            k: f64::NAN,
            flags: if all_groups { PRESENT } else { 0 },
            ..Acc::default()
        },
    );
    let mut unscorable = 0usize;
    let mut infinite = false;
    let index = &ws.index;
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

fn stats_of(acc: &[Acc], unscorable: usize) -> Stats {
    let mut st = Stats {
        n_unscorable: unscorable,
        ..Stats::default()
    };
    for a in acc.iter().filter(|a| a.flags & PRESENT != 0) {
        st.n_groups += 1;
        match a.n {
            0 => st.n_empty_groups += 1,
            1 => st.n_singleton_groups += 1,
            _ if a.flags & DIFFERS == 0 => st.n_zero_variance_groups += 1,
            _ => {}
        }
    }
    st
}

/// Turn each informative accumulator into `(k, mean offset, mul(acc))`; every other group
/// gets `(0, 0, 0)`. Returns the number of informative groups whose `mul` is not positive
/// and finite (demoted to zero-variance by the caller).
fn finalize(acc: &mut [Acc], mul: impl Fn(&Acc, f64) -> f64) -> usize {
    let mut demoted = 0;
    for a in acc {
        let informative = a.informative();
        let (off, ss) = if informative { a.centre() } else { (0.0, 0.0) };
        let m = if informative { mul(a, ss) } else { 0.0 };
        // A zero denominator gives an infinite multiplier; `m > 0` is false for NaN.
        let keep = m.is_finite() && m > 0.0;
        demoted += usize::from(informative && !keep);
        *a = if keep {
            Acc {
                k: a.k,
                s1: off,
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
    demoted
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

/// [`finalize`] on `pool` (chunks of groups are independent).
fn finalize_par(
    pool: Option<&rayon::ThreadPool>,
    acc: &mut [Acc],
    mul: impl Fn(&Acc, f64) -> f64 + Sync,
) -> usize {
    match pool {
        Some(p) if acc.len() >= 2 => {
            let chunk = acc.len().div_ceil(p.current_num_threads());
            p.install(|| acc.par_chunks_mut(chunk).map(|a| finalize(a, &mul)).sum())
        }
        _ => finalize(acc, mul),
    }
}

/// [`apply`] on `pool` (chunks of samples are independent).
fn apply_par<T: Real, U: Real>(
    pool: Option<&rayon::ThreadPool>,
    rewards: &[T],
    index: &[u32],
    acc: &[Acc],
    out: &mut [U],
) {
    match pool {
        Some(p) if out.len() >= 2 => {
            let chunk = out.len().div_ceil(p.current_num_threads());
            p.install(|| {
                out.par_chunks_mut(chunk)
                    .zip(rewards.par_chunks(chunk))
                    .zip(index.par_chunks(chunk))
                    .for_each(|((o, r), g)| apply(r, g, acc, o));
            });
        }
        _ => apply(rewards, index, acc, out),
    }
}

/// Bit pattern of `-0.0`, the marker of a scorable sample of an uninformative group.
const NEG_ZERO_BITS: u64 = 0x8000_0000_0000_0000;

/// [`apply`] into `f64` for REINFORCE++, with the sample's kind encoded in the value, so that
/// the later passes need neither the rewards nor a second lookup in `acc`: NaN for a NaN
/// reward, `-0.0` for a sample of an uninformative group (`apply` never gives `-0.0`: it adds
/// `+0.0`), the group-centred reward otherwise. In sums, `-0.0` acts exactly as `0.0`.
fn centred_par<T: Real>(
    pool: Option<&rayon::ThreadPool>,
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
    match pool {
        Some(p) if out.len() >= 2 => {
            let chunk = out.len().div_ceil(p.current_num_threads());
            p.install(|| {
                out.par_chunks_mut(chunk)
                    .zip(rewards.par_chunks(chunk))
                    .zip(index.par_chunks(chunk))
                    .for_each(|((o, r), g)| run(r, g, o));
            });
        }
        _ => run(rewards, index, out),
    }
}

/// REINFORCE++ with unit weights, from the group accumulators alone (no per-sample pass
/// besides the final one). With `a_i = r_i - mean_g` in informative groups and 0 in the
/// others (NaN samples left out), the batch moments are sums over groups:
/// `sum a = sum_g (s1_g - n_g off_g)` (0 up to rounding) and
/// `sum (a - mu)^2 = sum_g ss_g - 2 mu sum a + n mu^2`, so each sample's advantage is
/// `((r - k) - (off_g + mu)) * inv`, one [`apply`] pass like GRPO's.
fn rpp_from_groups<T: Real>(
    pool: Option<&rayon::ThreadPool>,
    ws: &mut Workspace,
    rewards: &[T],
    eps: f64,
    out: &mut [T],
) {
    let (mut sw, mut swa, mut sss) = (0.0f64, 0.0f64, 0.0f64);
    for a in ws.acc.iter() {
        sw += f64::from(a.n);
        if a.informative() {
            let (off, ss) = a.centre();
            swa += a.s1 - f64::from(a.n) * off;
            sss += ss;
        }
    }
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
        return;
    }
    // `inv` is positive and finite, so no informative group is demoted.
    finalize_par(pool, &mut ws.acc, |_, _| inv);
    for a in ws.acc.iter_mut().filter(|a| a.s2 != 0.0) {
        a.s1 += mu;
    }
    apply_par(pool, rewards, &ws.index, &ws.acc, out);
}

/// Samples per partial sum of [`chunked_sums`].
const SUM_CHUNK: usize = 1 << 16;

/// Two sums over `0..n`: `f` sums one chunk of [`SUM_CHUNK`] indices, and the partial sums
/// are added in chunk order. The chunks do not depend on the pool, so neither do the bits of
/// the result (the chunks run in parallel on `pool`).
fn chunked_sums(
    pool: Option<&rayon::ThreadPool>,
    n: usize,
    f: impl Fn(std::ops::Range<usize>) -> (f64, f64) + Sync,
) -> (f64, f64) {
    let chunk = |c: usize| f(c * SUM_CHUNK..((c + 1) * SUM_CHUNK).min(n));
    let n_chunks = n.div_ceil(SUM_CHUNK);
    let parts: Vec<(f64, f64)> = match pool {
        Some(p) if n_chunks >= 2 => {
            p.install(|| (0..n_chunks).into_par_iter().map(chunk).collect())
        }
        _ => (0..n_chunks).map(chunk).collect(),
    };
    parts
        .iter()
        .fold((0.0, 0.0), |(a, b), &(x, y)| (a + x, b + y))
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
    let pool = pool_for(rewards.len());
    let pool = pool.as_deref();
    let unscorable = accumulate(ws, rewards, groups)?;
    let mut stats = stats_of(&ws.acc, unscorable);
    let batch_denom = match scale {
        Scale::Batch => batch_std(&ws.acc) + eps,
        Scale::Group | Scale::None => 1.0,
    };
    // Distinct rewards whose squared deviations underflow, with eps = 0, give a zero
    // denominator: `finalize` demotes such groups to zero-variance.
    stats.n_zero_variance_groups += finalize_par(pool, &mut ws.acc, |a, ss| match scale {
        Scale::Group => 1.0 / ((ss / f64::from(a.n - 1)).sqrt() + eps),
        Scale::Batch => 1.0 / batch_denom,
        Scale::None => 1.0,
    });
    apply_par(pool, rewards, &ws.index, &ws.acc, out);
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
    let pool = pool_for(rewards.len());
    let pool = pool.as_deref();
    let unscorable = accumulate(ws, rewards, groups)?;
    let stats = stats_of(&ws.acc, unscorable);
    finalize_par(pool, &mut ws.acc, |a, _| {
        let n = f64::from(a.n);
        n / (n - 1.0)
    });
    apply_par(pool, rewards, &ws.index, &ws.acc, out);
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
    let pool = pool_for(rewards.len());
    let pool = pool.as_deref();
    let unscorable = accumulate(ws, rewards, groups)?;
    let stats = stats_of(&ws.acc, unscorable);
    if weights.is_none() {
        rpp_from_groups(pool, ws, rewards, eps, out);
        return Ok(stats);
    }
    finalize_par(pool, &mut ws.acc, |_, _| 1.0);
    // Group-centred values in f64 (NaN for NaN rewards, -0.0 for uninformative groups), then
    // whitening over the scorable samples. Every entry is overwritten by `centred_par`.
    let mut centred = std::mem::take(&mut ws.centred);
    centred.truncate(n);
    centred.resize(n, 0.0);
    centred_par(pool, rewards, &ws.index, &ws.acc, &mut centred);
    let weight = |i: usize| weights.map_or(1.0, |w| w[i]);
    let (sw, swa) = chunked_sums(pool, n, |range| {
        let (mut sw, mut swa) = (0.0f64, 0.0f64);
        for i in range {
            let a = centred[i];
            if !a.is_nan() {
                sw += weight(i);
                swa += weight(i) * a;
            }
        }
        (sw, swa)
    });
    let mu = swa / sw;
    let (ss, _) = chunked_sums(pool, n, |range| {
        let mut ss = 0.0f64;
        for i in range {
            let a = centred[i];
            if !a.is_nan() {
                ss += weight(i) * (a - mu) * (a - mu);
            }
        }
        (ss, 0.0)
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
    match pool {
        Some(p) if n >= 2 => {
            let chunk = n.div_ceil(p.current_num_threads());
            p.install(|| {
                out.par_chunks_mut(chunk)
                    .zip(centred.par_chunks(chunk))
                    .for_each(|(o, c)| whiten(o, c));
            });
        }
        _ => whiten(out, &centred),
    }
    ws.centred = centred;
    Ok(stats)
}
