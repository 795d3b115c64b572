//! The patterns of all candidate pairs ([`compare_all`]): the largest computation of
//! `dedupe`, and one bound by memory, not by the comparisons. The rows of a register of
//! 100,000,000 voters take 9.6 GB, and a pair's second row is anywhere in them.

use rayon::prelude::*;

use super::blocking::Pairs;
use super::compare::{compare_rows, Packed};
use super::memo::NameMemo;
use super::records::{Records, Row};

/// The pattern of every pair of rows, in parallel, in the pairs' order.
///
/// In the pairs' order (by first row) the second row of a pair is anywhere in the register:
/// waiting for it was two thirds of a comparison at 1,000,000 voters, and at 100,000,000
/// 35% of all `dedupe`'s `perf` samples sat on one prefetch of it, whose address must be
/// translated (a page-table walk) before the fetch can even start. So each task takes a span
/// of consecutive pairs, whose first rows are a few megabytes of the register, and compares
/// them in the order of their second rows ([`Span`]): both rows then come from pages whose
/// translations are at hand, and the rows [`PREFETCH_AHEAD`] pairs on are fetched while one
/// pair is compared. The patterns go back in the pairs' order; none depends on the order they
/// were computed in (the memo of name levels only remembers).
pub(crate) fn compare_all(r: &Records, pairs: &Pairs) -> Vec<Packed> {
    let mut patterns = vec![Packed(0); pairs.len()];
    // At least eight spans a thread, so that the cores stay busy to the end.
    let span = pairs
        .len()
        .div_ceil(8 * rayon::current_num_threads())
        .clamp(1, MAX_SPAN);
    let shift = Span::shift(r.len(), span);
    patterns
        .par_chunks_mut(span)
        .zip(pairs.codes().par_chunks(span))
        .for_each_init(
            || (NameMemo::new(), Span::default()),
            |(memo, order), (patterns, codes)| {
                order.arrange(codes, shift);
                for (k, (&code, &at)) in order.codes.iter().zip(&order.at).enumerate() {
                    if let Some(&ahead) = order.codes.get(k + PREFETCH_AHEAD) {
                        let (a, b) = Pairs::unpack(ahead);
                        prefetch(&r.rows[a as usize]);
                        prefetch(&r.rows[b as usize]);
                    }
                    let (a, b) = Pairs::unpack(code);
                    let (a, b) = (&r.rows[a as usize], &r.rows[b as usize]);
                    patterns[at as usize] = Packed::pack(compare_rows(r, a, b, memo));
                }
            },
        );
    patterns
}

/// The most pairs one task of [`compare_all`] orders at once: 2,097,152 pairs take 24 MB of
/// [`Span`] and 8 MB of patterns, and their first rows (about 12 pairs a row at
/// 100,000,000 voters) 16 MB of the register.
const MAX_SPAN: usize = 1 << 21;

/// How many pairs ahead [`compare_all`] fetches both rows: enough comparisons (about 100 ns
/// each) to cover a trip to memory.
const PREFETCH_AHEAD: usize = 8;

/// A span of pairs in the order of their second rows: a counting sort on the second row's
/// bucket, stable, so by first row within a bucket.
#[derive(Default)]
struct Span {
    counts: Vec<u32>,
    /// The pairs, reordered.
    codes: Vec<u64>,
    /// The place of each in the span.
    at: Vec<u32>,
}

impl Span {
    /// A second row's bucket is its number shifted right by this much: about four pairs a
    /// bucket, so that the counts stay a small part of the span.
    fn shift(rows: usize, span: usize) -> u32 {
        rows.div_ceil((span / 4).max(1)).next_power_of_two().ilog2()
    }

    fn arrange(&mut self, codes: &[u64], shift: u32) {
        let bucket = |code: u64| (Pairs::unpack(code).1 >> shift) as usize;
        let buckets = codes.iter().map(|&c| bucket(c)).max().map_or(0, |b| b + 1);
        self.counts.clear();
        self.counts.resize(buckets + 1, 0);
        for &code in codes {
            self.counts[bucket(code) + 1] += 1;
        }
        for k in 1..self.counts.len() {
            self.counts[k] += self.counts[k - 1];
        }
        self.codes.resize(codes.len(), 0);
        self.at.resize(codes.len(), 0);
        for (k, &code) in codes.iter().enumerate() {
            let slot = &mut self.counts[bucket(code)];
            self.codes[*slot as usize] = code;
            self.at[*slot as usize] = k as u32;
            *slot += 1;
        }
    }
}

/// Asks the CPU to bring `row` (two or three cache lines) into its caches.
#[inline]
fn prefetch(row: &Row) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let first = std::ptr::from_ref(row).cast::<i8>();
        let last = first.wrapping_add(std::mem::size_of::<Row>() - 1);
        // SAFETY: a prefetch is a hint to the cache: it reads nothing and never faults,
        // whatever the address.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(first);
            _mm_prefetch::<_MM_HINT_T0>(first.wrapping_add(64));
            _mm_prefetch::<_MM_HINT_T0>(last);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

#[cfg(test)]
mod tests {
    use super::super::blocking::candidate_pairs;
    use super::super::compare::{compare, Packed};
    use super::super::keys::BlockingRule;
    use super::super::records::of_csv;
    use super::compare_all;

    /// Every pattern is the pair's own, in the pairs' order, though the spans compare their
    /// pairs by second row: 400 voters on five birth dates give thousands of candidate pairs,
    /// so many spans and buckets, whose second rows come in no order.
    #[test]
    fn patterns_come_back_in_the_pairs_order() {
        let (given, family) = (
            ["ANNA", "JOHN", "MARIA", "PETER"],
            ["SMITH", "SILVA", "KOWALSKA"],
        );
        let mut csv = String::from("voter_id,given_name,family_name,birth_date,postcode\n");
        for i in 0..400 {
            let (g, f) = (given[i % 4], family[(i / 7) % 3]);
            csv.push_str(&format!("V{i},{g},{f},1970-01-0{},{}\n", 1 + i % 5, i % 3));
        }
        let r = of_csv(&csv);
        let (pairs, _) = candidate_pairs(&r, &BlockingRule::DEFAULT, 1000, None);
        assert!(pairs.len() > 10_000, "{} pairs", pairs.len());
        let patterns = compare_all(&r, &pairs);
        let expected: Vec<Packed> = pairs
            .iter()
            .map(|(a, b)| Packed::pack(compare(&r, a as usize, b as usize)))
            .collect();
        assert_eq!(patterns, expected);
    }
}
