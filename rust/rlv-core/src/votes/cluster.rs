//! Answer classes: one parse per distinct answer, exact keys, then the full check only where
//! cheap keys cannot rule equality out.

use std::collections::HashMap;

use num_rational::BigRational;

use crate::grading::equiv::{compare_prepared, Key, Prepared};
use crate::grading::{GradeOptions, Status};

/// Default cap on full equivalence checks per problem (beyond it, remaining answers keep
/// their own classes and [`Clustering::truncated`] is set).
pub const DEFAULT_MAX_COMPARISONS: u64 = 50_000;

/// Answer classes of one pool of samples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clustering {
    /// Class of each sample, numbered by first appearance; `None` for a sample without an
    /// answer or whose answer cannot be read.
    pub class_of: Vec<Option<u32>>,
    /// First sample of each class.
    pub first: Vec<usize>,
    /// Full equivalence checks that ran.
    pub comparisons: u64,
    /// The comparison cap stopped the merging: some equal answers may sit in separate
    /// classes.
    pub truncated: bool,
}

impl Clustering {
    #[must_use]
    pub fn n_classes(&self) -> usize {
        self.first.len()
    }
}

/// [`Clustering`] plus the distinct answers, for reuse (grading each distinct answer once).
#[derive(Clone, Debug)]
pub struct Clustered {
    pub clustering: Clustering,
    /// Distinct answers (by canonical string), in order of first appearance.
    pub distinct: Vec<Prepared>,
    /// Index into `distinct` of each sample's answer.
    pub distinct_of: Vec<Option<u32>>,
}

/// Cluster answers (`None` or an empty/blank answer: no class).
#[must_use]
pub fn cluster<S: AsRef<str>>(
    answers: &[Option<S>],
    opts: &GradeOptions,
    max_comparisons: u64,
) -> Clustering {
    cluster_prepared(answers, opts, max_comparisons).clustering
}

struct UnionFind(Vec<u32>);

impl UnionFind {
    fn find(&mut self, mut x: u32) -> u32 {
        while self.0[x as usize] != x {
            let p = self.0[x as usize];
            self.0[x as usize] = self.0[p as usize];
            x = p;
        }
        x
    }

    /// Union keeping the smaller index (the earlier answer) as the root.
    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.0[hi as usize] = lo;
        }
    }
}

/// As [`cluster`], keeping the prepared distinct answers.
#[must_use]
pub fn cluster_prepared<S: AsRef<str>>(
    answers: &[Option<S>],
    opts: &GradeOptions,
    max_comparisons: u64,
) -> Clustered {
    // 1. Distinct answers by canonical string.
    let mut by_canon: HashMap<String, u32> = HashMap::new();
    let mut distinct: Vec<Prepared> = Vec::new();
    let mut distinct_of: Vec<Option<u32>> = Vec::with_capacity(answers.len());
    let mut seen_raw: HashMap<&str, Option<u32>> = HashMap::new();
    for a in answers {
        let Some(a) = a.as_ref().map(AsRef::as_ref) else {
            distinct_of.push(None);
            continue;
        };
        if let Some(&d) = seen_raw.get(a) {
            distinct_of.push(d);
            continue;
        }
        let canon = crate::grading::equiv::canonical_string(a);
        let d = if canon.is_empty() {
            None
        } else if let Some(&d) = by_canon.get(&canon) {
            Some(d)
        } else {
            #[allow(clippy::cast_possible_truncation)]
            let d = distinct.len() as u32;
            by_canon.insert(canon.clone(), d);
            distinct.push(Prepared::with_canon(a, canon, opts));
            Some(d)
        };
        seen_raw.insert(a, d);
        distinct_of.push(d);
    }
    // Unreadable answers (not math, not text) form no class; answers that ran out of budget
    // are kept as their own (never merged) answers.
    let usable: Vec<bool> = distinct
        .iter()
        .map(|p| !matches!(p.parsed, Err(crate::grading::parse::ParseError::Invalid)))
        .collect();

    // 2. Exact keys.
    #[allow(clippy::cast_possible_truncation)]
    let mut uf = UnionFind((0..distinct.len() as u32).collect());
    let mut by_value: HashMap<&BigRational, u32> = HashMap::new();
    for (i, p) in distinct.iter().enumerate() {
        if let (true, Key::Exact(q)) = (usable[i], &p.key) {
            #[allow(clippy::cast_possible_truncation)]
            let i = i as u32;
            match by_value.get(q) {
                Some(&j) => uf.union(j, i),
                None => {
                    by_value.insert(q, i);
                }
            }
        }
    }

    // 3. Full checks where keys cannot rule equality out.
    let mut comparisons = 0u64;
    let mut truncated = false;
    let reps: Vec<u32> = (0..distinct.len())
        .filter(|&i| usable[i])
        .map(|i| {
            #[allow(clippy::cast_possible_truncation)]
            let i = i as u32;
            i
        })
        .filter(|&i| uf.find(i) == i)
        .collect();
    let mut candidates: Vec<(u32, u32)> = Vec::new();
    // Scalars: sorted by value, only neighbours within reach.
    let mut scalars: Vec<(f64, f64, u32)> = Vec::new();
    let mut others: Vec<u32> = Vec::new();
    for &r in &reps {
        let key = &distinct[r as usize].key;
        match key.sort_value() {
            Some(v) if v.is_finite() && key.reach(opts.rel_tol).is_finite() => {
                scalars.push((v, key.reach(opts.rel_tol), r));
            }
            _ => others.push(r),
        }
    }
    scalars.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)));
    let max_reach = scalars.iter().map(|s| s.1).fold(0.0f64, f64::max);
    for i in 0..scalars.len() {
        for j in i + 1..scalars.len() {
            if scalars[j].0 - scalars[i].0 > scalars[i].1 + max_reach {
                break;
            }
            let (a, b) = (scalars[i].2, scalars[j].2);
            candidates.push((a.min(b), a.max(b)));
        }
    }
    for &o in &others {
        for &r in &reps {
            // A pair of two "others" is pushed twice; the dedup below keeps one.
            if r != o {
                candidates.push((o.min(r), o.max(r)));
            }
        }
    }
    // Earlier answers first: the merge order (and so the classes) does not depend on how the
    // candidates were found.
    candidates.sort_unstable();
    candidates.dedup();
    for (a, b) in candidates {
        if uf.find(a) == uf.find(b) {
            continue;
        }
        let (pa, pb) = (&distinct[a as usize], &distinct[b as usize]);
        if !pa.key.may_equal(&pb.key, opts.rel_tol) {
            continue;
        }
        if comparisons >= max_comparisons {
            truncated = true;
            break;
        }
        comparisons += 1;
        if compare_prepared(pa, pb, opts) == Status::Equal {
            uf.union(a, b);
        }
    }

    // 4. Classes numbered by first appearance.
    let mut class_of_root: Vec<Option<u32>> = vec![None; distinct.len()];
    let mut class_of = Vec::with_capacity(answers.len());
    let mut first = Vec::new();
    for (s, d) in distinct_of.iter().enumerate() {
        let c = d.filter(|&d| usable[d as usize]).map(|d| {
            let root = uf.find(d) as usize;
            *class_of_root[root].get_or_insert_with(|| {
                first.push(s);
                #[allow(clippy::cast_possible_truncation)]
                let c = (first.len() - 1) as u32;
                c
            })
        });
        class_of.push(c);
    }
    Clustered {
        clustering: Clustering {
            class_of,
            first,
            comparisons,
            truncated,
        },
        distinct,
        distinct_of,
    }
}
