//! CPython 3.11's `list.sort` as far as a port can observe it: the result (a stable sort) and,
//! when a comparison raises, *which* comparison raised first — the exception a handler then
//! reports names the two types in the order CPython compared them
//! (`'<' not supported between instances of 'str' and 'decimal.Decimal'`).
//!
//! Written here because the comparison order is the point and no crate reproduces it: natural
//! runs found left to right (`count_run`), short runs extended by binary insertion to `minrun`,
//! runs merged by the powersort policy 3.11 adopted (`found_new_run` / `powerloop`), then
//! `merge_force_collapse`. Every comparison of run building is CPython's, and so is the first
//! comparison of every merge (`gallop_right` of the second run's head into the first run at
//! hint 0). The rest of a merge is an ordinary stable merge: its comparison order differs from
//! CPython's galloping, which matters only for keys whose comparisons can fail *between
//! members of the same sorted runs* (lists holding mixed types; `tests/sort_corpus.rs` covers
//! the scalar kinds against CPython itself).

use crate::py::PyException;

/// `keys.sort(reverse=reverse)` with `lt` as Python's `<` (an `Err` is the exception the
/// comparison raises): returns the permutation (`order[i]` is the original index of the `i`th
/// element after sorting), or the first exception.
pub fn sort_order<T>(
    keys: &[T],
    reverse: bool,
    mut lt: impl FnMut(&T, &T) -> Result<bool, PyException>,
) -> Result<Vec<usize>, PyException> {
    let n = keys.len();
    let mut order: Vec<usize> = (0..n).collect();
    if reverse {
        order.reverse();
    }
    if n >= 2 {
        let mut s = Sorter {
            keys,
            order: &mut order,
            lt: &mut lt,
            pending: Vec::new(),
        };
        s.sort()?;
    }
    if reverse {
        order.reverse();
    }
    Ok(order)
}

struct Run {
    base: usize,
    len: usize,
    power: u32,
}

struct Sorter<'a, T, F> {
    keys: &'a [T],
    order: &'a mut Vec<usize>,
    lt: &'a mut F,
    pending: Vec<Run>,
}

impl<T, F> Sorter<'_, T, F>
where
    F: FnMut(&T, &T) -> Result<bool, PyException>,
{
    /// `ISLT(order[i], order[j])`.
    fn islt(&mut self, i: usize, j: usize) -> Result<bool, PyException> {
        let (a, b) = (self.order[i], self.order[j]);
        (self.lt)(&self.keys[a], &self.keys[b])
    }

    fn sort(&mut self) -> Result<(), PyException> {
        let n = self.order.len();
        let minrun = compute_minrun(n);
        let mut lo = 0;
        let mut remaining = n;
        while remaining > 0 {
            let (mut run, descending) = self.count_run(lo, lo + remaining)?;
            if descending {
                self.order[lo..lo + run].reverse();
            }
            if run < minrun {
                let force = remaining.min(minrun);
                self.binarysort(lo, lo + force, lo + run)?;
                run = force;
            }
            self.found_new_run(run, n)?;
            self.pending.push(Run {
                base: lo,
                len: run,
                power: 0,
            });
            lo += run;
            remaining -= run;
        }
        // merge_force_collapse
        while self.pending.len() > 1 {
            let mut i = self.pending.len() - 2;
            if i > 0 && self.pending[i - 1].len < self.pending[i + 1].len {
                i -= 1;
            }
            self.merge_at(i)?;
        }
        Ok(())
    }

    /// The length of the run starting at `lo` (at most `hi - lo`) and whether it is strictly
    /// descending.
    fn count_run(&mut self, lo: usize, hi: usize) -> Result<(usize, bool), PyException> {
        if lo + 1 == hi {
            return Ok((1, false));
        }
        let mut n = 2;
        let mut at = lo + 2;
        if self.islt(lo + 1, lo)? {
            while at < hi && self.islt(at, at - 1)? {
                at += 1;
                n += 1;
            }
            Ok((n, true))
        } else {
            while at < hi && !self.islt(at, at - 1)? {
                at += 1;
                n += 1;
            }
            Ok((n, false))
        }
    }

    /// Binary insertion of `order[start..hi]` into the sorted `order[lo..start]`.
    fn binarysort(&mut self, lo: usize, hi: usize, mut start: usize) -> Result<(), PyException> {
        if lo == start {
            start += 1;
        }
        while start < hi {
            let pivot = self.order[start];
            let (mut l, mut r) = (lo, start);
            while l < r {
                let p = l + ((r - l) >> 1);
                if (self.lt)(&self.keys[pivot], &self.keys[self.order[p]])? {
                    r = p;
                } else {
                    l = p + 1;
                }
            }
            self.order.copy_within(l..start, l + 1);
            self.order[l] = pivot;
            start += 1;
        }
        Ok(())
    }

    /// Powersort's merge policy for a new run of length `n2`.
    fn found_new_run(&mut self, n2: usize, n: usize) -> Result<(), PyException> {
        if let Some(last) = self.pending.last() {
            let power = powerloop(last.base, last.len, n2, n);
            while self.pending.len() > 1 && self.pending[self.pending.len() - 2].power > power {
                self.merge_at(self.pending.len() - 2)?;
            }
            if let Some(last) = self.pending.last_mut() {
                last.power = power;
            }
        }
        Ok(())
    }

    /// Merge runs `i` and `i + 1` (adjacent) into one, stably.
    fn merge_at(&mut self, i: usize) -> Result<(), PyException> {
        let (a, na) = (self.pending[i].base, self.pending[i].len);
        let (b, nb) = (self.pending[i + 1].base, self.pending[i + 1].len);
        self.pending[i].len = na + nb;
        // The next run's power moves down with it (CPython copies pending[i+2] into i+1).
        self.pending.remove(i + 1);

        // CPython starts with gallop_right(b[0], a, na, hint 0), whose first comparison is
        // `b[0] < a[0]`: the first comparison of this merge too.
        let left: Vec<usize> = self.order[a..a + na].to_vec();
        let right: Vec<usize> = self.order[b..b + nb].to_vec();
        let (mut x, mut y, mut out) = (0, 0, a);
        while x < left.len() && y < right.len() {
            // Take from the right run only when strictly smaller: stability.
            if (self.lt)(&self.keys[right[y]], &self.keys[left[x]])? {
                self.order[out] = right[y];
                y += 1;
            } else {
                self.order[out] = left[x];
                x += 1;
            }
            out += 1;
        }
        for &v in &left[x..] {
            self.order[out] = v;
            out += 1;
        }
        for &v in &right[y..] {
            self.order[out] = v;
            out += 1;
        }
        Ok(())
    }
}

/// `merge_compute_minrun`.
fn compute_minrun(mut n: usize) -> usize {
    let mut r = 0;
    while n >= 64 {
        r |= n & 1;
        n >>= 1;
    }
    n + r
}

/// The powersort "power" of the run at `s1` (length `n1`) followed by one of length `n2`, in a
/// list of length `n`.
fn powerloop(s1: usize, n1: usize, n2: usize, n: usize) -> u32 {
    let mut result = 0;
    let mut a = 2 * s1 + n1;
    let mut b = a + n1 + n2;
    loop {
        result += 1;
        if a >= n {
            a -= n;
            b -= n;
        } else if b >= n {
            break;
        }
        a <<= 1;
        b <<= 1;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lt_int(a: &i64, b: &i64) -> Result<bool, PyException> {
        Ok(a < b)
    }

    #[test]
    fn sorts_stably_in_both_directions() {
        let keys = [3, 1, 2, 1, 3, 0];
        let asc = sort_order(&keys, false, lt_int).unwrap();
        assert_eq!(asc, vec![5, 1, 3, 2, 0, 4]);
        // reverse=True keeps equal keys in their original order too.
        let desc = sort_order(&keys, true, lt_int).unwrap();
        assert_eq!(desc, vec![0, 4, 2, 1, 3, 5]);
    }

    #[test]
    fn long_inputs_come_out_sorted() {
        let keys: Vec<i64> = (0..1000).map(|i| (i * 7919) % 613).collect();
        let order = sort_order(&keys, true, lt_int).unwrap();
        let sorted: Vec<i64> = order.iter().map(|&i| keys[i]).collect();
        let mut want = keys.clone();
        want.sort_by(|a, b| b.cmp(a));
        assert_eq!(sorted, want);
    }

    #[test]
    fn the_first_failing_comparison_is_reported() {
        // [a, b] reversed is [b, a]; count_run compares a < b.
        let keys = ["x", "y"];
        let err = sort_order(&keys, true, |a, b| {
            Err::<bool, _>(PyException::new("TypeError", format!("{a} {b}")))
        })
        .unwrap_err();
        assert_eq!(err.message, "x y");
    }
}
