//! The records of a register sorted by a hashed key: the step every blocking pass starts with.
//!
//! A pass sorts the `(key, row)` of every record that has a key, so that records sharing a key
//! lie side by side. At 10,000,000 voters that is 160 MB a pass, sixteen passes a dedupe; a
//! comparison sort of it ran out of the caches and took about half of blocking, which grew
//! 16-22 times from 1,000,000 voters to 10,000,000 against 10 times the records (`perf`,
//! 2026-12-06). The keys are 64-bit hashes (`xxh3`), so their top bits spread evenly: the
//! pairs are scattered into buckets by those bits, each bucket small enough to sort inside a
//! core's cache ([`BUCKET_ENTRIES`]), and the buckets are sorted on every core. Both buffers
//! are kept from one pass to the next, so a pass allocates nothing. The order is the full
//! sort's: by key, then row. The sort through buckets ([`bucket_sort`]) also orders blocking's
//! candidate pairs, in buckets of first rows (`Blocks::pairs_from`).

use rayon::prelude::*;

/// What a bucket holds on average: 2,048 pairs of 16 bytes, 32 KB, within a core's first- or
/// second-level cache.
const BUCKET_ENTRIES: usize = 2048;

/// The most top bits a bucket is chosen by: 65,536 buckets, for registers of 134M records
/// and more (the scatter writes to every bucket at once, and more would miss the caches).
const MAX_BUCKET_BITS: u32 = 16;

/// Marks, in the unsorted buffer, a row without a key. A key that is this value by chance
/// (one in 2^64) is taken as the one below it, as two keys that share a hash are one.
const KEYLESS: u64 = u64::MAX;

/// The two buffers a sort uses, kept between passes.
#[derive(Default)]
pub(crate) struct KeySort {
    /// Every row's key, by row, [`KEYLESS`] for a row without one: 8 bytes a row (a `(key,
    /// row)` was 16 with its padding, 1.6 GB at 100,000,000 voters).
    all: Vec<u64>,
    /// The rows with a key, sorted.
    sorted: Vec<(u64, u32)>,
}

impl KeySort {
    /// The `(key, row)` of every row of `0..rows` that has a key, sorted by key, then row.
    pub(crate) fn sorted(
        &mut self,
        rows: usize,
        key: impl Fn(usize) -> Option<u64> + Sync,
    ) -> &mut Vec<(u64, u32)> {
        assert!(
            u32::try_from(rows).is_ok(),
            "checked by dedupe() before blocking"
        );
        self.all.clear();
        self.all.par_extend(
            (0..rows)
                .into_par_iter()
                .map(|row| key(row).map_or(KEYLESS, |k| k.min(KEYLESS - 1))),
        );
        let bits = (rows / BUCKET_ENTRIES).max(1).ilog2().min(MAX_BUCKET_BITS);
        let chunks = Chunks {
            all: &self.all,
            chunk: rows.div_ceil(4 * rayon::current_num_threads()).max(1),
            bits,
        };
        bucket_sort(&chunks, &mut self.sorted);
        &mut self.sorted
    }
}

/// The unsorted buffer in chunks, each counted and scattered by one task, into buckets by the
/// top `bits` of the key.
struct Chunks<'a> {
    all: &'a [u64],
    chunk: usize,
    bits: u32,
}

impl Scatter<(u64, u32)> for Chunks<'_> {
    fn tasks(&self) -> usize {
        self.all.len().div_ceil(self.chunk)
    }

    fn buckets(&self) -> usize {
        1 << self.bits
    }

    fn each(&self, task: usize, sink: &mut impl Sink<(u64, u32)>) {
        let start = task * self.chunk;
        let part = &self.all[start..(start + self.chunk).min(self.all.len())];
        for (row, &key) in (start..).zip(part).filter(|&(_, &key)| key != KEYLESS) {
            let bucket = key.checked_shr(64 - self.bits).unwrap_or(0) as usize;
            sink.put(bucket, std::iter::once((key, row as u32)));
        }
    }
}

/// Items made by several tasks, to be sorted by [`bucket_sort`]: both of blocking's sorts
/// (this module's, and the candidate pairs'). Every item of a bucket sorts before every
/// item of the next, so that the buckets in order are the full sort.
pub(crate) trait Scatter<T>: Sync {
    fn tasks(&self) -> usize;
    fn buckets(&self) -> usize;
    /// Puts task `task`'s items into `sink` by bucket, the same items on every call.
    fn each(&self, task: usize, sink: &mut impl Sink<T>);
}

/// Where a [`Scatter`] task puts its items.
pub(crate) trait Sink<T> {
    fn put(&mut self, bucket: usize, items: impl ExactSizeIterator<Item = T>);
}

/// Counts a task's items per bucket.
struct Count(Vec<usize>);

impl<T> Sink<T> for Count {
    fn put(&mut self, bucket: usize, items: impl ExactSizeIterator<Item = T>) {
        self.0[bucket] += items.len();
    }
}

/// Writes a task's items into its share of each bucket.
struct Write<'a, T>(Vec<std::slice::IterMut<'a, T>>);

impl<T> Sink<T> for Write<'_, T> {
    fn put(&mut self, bucket: usize, items: impl ExactSizeIterator<Item = T>) {
        let share = &mut self.0[bucket];
        for item in items {
            *share.next().expect("counted") = item;
        }
    }
}

/// The items of `scatter` in `out` (one allocation of their number), sorted, and `out` cut
/// into its buckets. Each task runs twice: to count its items per bucket, then to write them
/// into their place; the buckets are sorted on every core.
pub(crate) fn bucket_sort<'o, T: Copy + Default + Ord + Send + Sync>(
    scatter: &impl Scatter<T>,
    out: &'o mut Vec<T>,
) -> Vec<&'o mut [T]> {
    let buckets = scatter.buckets();
    let counts: Vec<Vec<usize>> = (0..scatter.tasks())
        .into_par_iter()
        .map(|task| {
            let mut count = Count(vec![0; buckets]);
            scatter.each(task, &mut count);
            count.0
        })
        .collect();
    out.clear();
    // The tasks write to every bucket at once: on small pages each write is a page-table walk.
    let items = counts.iter().flatten().sum();
    out.reserve(items);
    super::pages::advise_huge(out);
    out.resize(items, T::default());
    // Each task's share of each bucket: buckets in order, tasks in order inside one.
    let mut shares: Vec<Vec<std::slice::IterMut<'_, T>>> = (0..counts.len())
        .map(|_| Vec::with_capacity(buckets))
        .collect();
    let mut rest = &mut out[..];
    for b in 0..buckets {
        for (count, share) in counts.iter().zip(&mut shares) {
            let (head, tail) = rest.split_at_mut(count[b]);
            share.push(head.iter_mut());
            rest = tail;
        }
    }
    shares
        .into_par_iter()
        .enumerate()
        .for_each(|(task, share)| scatter.each(task, &mut Write(share)));
    let mut rest = &mut out[..];
    let mut whole = Vec::with_capacity(buckets);
    for b in 0..buckets {
        let (head, tail) = rest.split_at_mut(counts.iter().map(|c| c[b]).sum());
        whole.push(head);
        rest = tail;
    }
    whole.par_iter_mut().for_each(|b| b.sort_unstable());
    whole
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The order is a full sort's, keys spread or not (few distinct keys, keys that share
        /// their top bits), rows without a key left out.
        #[test]
        fn sorts_as_a_full_sort(
            keys in proptest::collection::vec(proptest::option::of(0u64..6), 0..5000),
            spread: bool,
        ) {
            let key_of = |k: u64| if spread { k.wrapping_mul(0x9E37_79B9_7F4A_7C15) } else { k };
            let mut expected: Vec<(u64, u32)> = keys
                .iter()
                .enumerate()
                .filter_map(|(row, k)| k.map(|k| (key_of(k), row as u32)))
                .collect();
            expected.sort_unstable();
            let mut sort = KeySort::default();
            let got = sort.sorted(keys.len(), |row| keys[row].map(key_of)).clone();
            proptest::prop_assert_eq!(&got, &expected);
            // The buffers kept from a first sort change nothing.
            let again = sort.sorted(keys.len(), |row| keys[row].map(key_of)).clone();
            proptest::prop_assert_eq!(again, expected);
        }
    }

    #[test]
    fn hashed_keys_of_a_large_register_sort_as_a_full_sort() {
        let rows = 300_000;
        let key = |row: usize| {
            (!row.is_multiple_of(7))
                .then(|| xxhash_rust::xxh3::xxh3_64(&((row % 90_000) as u64).to_le_bytes()))
        };
        let mut expected: Vec<(u64, u32)> = (0..rows)
            .filter_map(|row| key(row).map(|k| (k, row as u32)))
            .collect();
        expected.sort_unstable();
        assert_eq!(*KeySort::default().sorted(rows, key), expected);
    }
}
