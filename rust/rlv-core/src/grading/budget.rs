//! Work budget ("fuel"): every parser and evaluator step spends fuel; running out gives
//! `Status::BudgetExceeded` instead of a hang. Deterministic and thread-safe (no clocks, no
//! signals).

/// Default fuel per comparison: far above any real answer, far below 10 ms of work.
pub const DEFAULT_FUEL: u64 = 200_000;
/// Longest answer span (bytes) that is parsed at all.
pub const MAX_SPAN_BYTES: usize = 16 * 1024;
/// Deepest nesting of groups / operators the parser follows.
pub const MAX_DEPTH: usize = 200;
/// Largest integer (in bits) that is materialised exactly.
pub const MAX_INT_BITS: u64 = 65_536;

/// A counter of remaining work.
#[derive(Debug, Clone)]
pub struct Budget {
    left: u64,
    exhausted: bool,
}

/// Marker error: the budget ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfFuel;

impl Budget {
    #[must_use]
    pub fn new(fuel: u64) -> Self {
        Self {
            left: fuel,
            exhausted: false,
        }
    }

    /// Spend `n` units.
    ///
    /// # Errors
    /// [`OutOfFuel`] once the budget is spent (and on every later call).
    pub fn spend(&mut self, n: u64) -> Result<(), OutOfFuel> {
        if self.exhausted || self.left < n {
            self.exhausted = true;
            self.left = 0;
            return Err(OutOfFuel);
        }
        self.left -= n;
        Ok(())
    }

    #[must_use]
    pub fn exhausted(&self) -> bool {
        self.exhausted
    }

    #[must_use]
    pub fn left(&self) -> u64 {
        self.left
    }
}
