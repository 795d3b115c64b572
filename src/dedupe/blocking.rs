//! Multi-pass blocking: the candidate pairs worth comparing, without comparing all n^2/2.
//!
//! Each [`BlockingRule`] gives a record a key (or none, when a field it needs is missing);
//! records sharing a key form a block and every pair inside a block is a candidate. A
//! duplicate that escapes one rule (a typo in the family name breaks its sound key) is caught
//! by another (the given name and birth date still agree), so recall comes from the union of
//! passes and no pass needs to be loose. Pairs found by several rules are kept once and
//! credited to the first rule that found them.
//!
//! A pass is a sort of `(key, row)` ([`KeySort`], by buckets of the hashed key) and a walk
//! over runs of equal keys: O(n log n) plus the pairs it emits. A block larger than
//! [`DedupeConfig::max_block_size`](super::DedupeConfig) is skipped and reported
//! ([`BlockingStat::skipped_blocks`]), never made quadratic: a key
//! shared by thousands of records (a placeholder phone, a dormitory's address, JOHN SMITH
//! with no birth date) cannot tell its records apart, and the other passes still see them.
//!
//! A pass's pairs must grow with the register, not its square. The birth-date rules do not
//! on their own: twice the voters put twice as many people on each name prefix and date.
//! The others split their commonest blocks by two finer keys ([`BlockingRule::refinement`])
//! once they are over [`EXACT_PAIRS_PER_RECORD`], which no rule reaches on a register of a
//! million. Every rule, [broad](BlockingRule::broad) rules at any size and the others where
//! their split is not enough, keeps its rarest keys within [`MAX_PAIRS_PER_RECORD`].

use std::ops::Range;

use rayon::prelude::*;

pub use super::keys::BlockingRule;
use super::keys::NO_KEY;
use super::keysort::{bucket_sort, KeySort, Scatter, Sink};
use super::records::Records;

/// What one blocking pass did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockingStat {
    pub rule: BlockingRule,
    /// Records that had a key under the rule.
    pub keyed_records: u64,
    /// Blocks of two or more records that were expanded into pairs.
    pub blocks: u64,
    /// Pairs the rule emitted.
    pub pairs: u64,
    /// Of those, pairs no earlier rule had found.
    pub new_pairs: u64,
    /// Blocks above the size cap, skipped.
    pub skipped_blocks: u64,
    /// Records in skipped blocks.
    pub skipped_records: u64,
    /// Size of the largest skipped block (0 if none).
    pub largest_skipped_block: u64,
    /// A rule that would have emitted more than [`MAX_PAIRS_PER_RECORD`] pairs per record
    /// (a broad rule, or one whose split was not enough), and so skipped its largest blocks
    /// (in the skipped counts) until it did not.
    pub over_budget: bool,
    /// Blocks of a rule over [`EXACT_PAIRS_PER_RECORD`] split by its finer keys
    /// ([`BlockingRule::refinement`]); `blocks` and `pairs` count the parts.
    pub refined_blocks: u64,
}

/// The largest block a [broad](BlockingRule::broad) rule expands: 100 records, 4,950 pairs.
/// JOHN SMITH without a birth date, or a common surname in a postcode, is skipped; a rare
/// name is kept, and a rare name is what scoring can confirm.
pub const BROAD_MAX_BLOCK_SIZE: usize = 100;

impl BlockingStat {
    /// A pass that found nothing yet.
    pub(super) fn empty(rule: BlockingRule) -> BlockingStat {
        BlockingStat {
            rule,
            keyed_records: 0,
            blocks: 0,
            pairs: 0,
            new_pairs: 0,
            skipped_blocks: 0,
            skipped_records: 0,
            largest_skipped_block: 0,
            over_budget: false,
            refined_blocks: 0,
        }
    }
}

/// The most pairs per record any rule emits: over it, the rule skips its largest blocks (in
/// the skipped counts, with [`BlockingStat::over_budget`]) until the rest fit, so every pass
/// grows with the register, not its square, and keeps its rarest keys, the ones scoring can
/// confirm.
///
/// A [broad](BlockingRule::broad) rule meets it at any size. The other rules give about 2
/// pairs per record in all on a generated register of a million and 8 at ten million (the
/// birth-date keys fill up); the four broad rules within this bound add at most 8, and on
/// those registers 7.1 and 6.0. A birth date alone gives about `n / 58,000` pairs per record
/// (80 years of birth dates, evenly spread; about `n / 50,000` on a generated register of
/// 1,000,000), so it runs whole up to about 100,000 records, and FEBRL's 5,000 get it; a
/// million get only the rarest dates.
///
/// A rule that is not broad first splits its commonest blocks ([`EXACT_PAIRS_PER_RECORD`]),
/// and reaches this bound only where the split is not enough: on a generated register of
/// 100,000,000 voters (seed 1), `initials+birth_date_any_order` gave 11.9 pairs per record
/// after its split (1.35 at ten million), `given_prefix+birth_date` 3.1 and
/// `given_sound+family_sound+birth_year` 2.2; no rule that is not broad passes it at ten
/// million or below, nor in any benchmark set ([`EXACT_MIN_PAIRS`] is its floor too).
pub const MAX_PAIRS_PER_RECORD: f64 = 2.0;

/// The most pairs per record a rule that is not broad emits with its blocks whole; over it
/// (and over [`EXACT_MIN_PAIRS`]), its largest blocks are split by two finer keys
/// ([`BlockingRule::refinement`]) until the whole ones left fit. Keys that hold a birth date
/// grow with the register's square (the birthday problem): on a generated register (seed
/// 42), `given_prefix+birth_date` gave 0.31 pairs per record at 1,000,000 voters and 3.05 at
/// 10,000,000, and the three rules keyed on a name and a birth date or year grew about a
/// hundredfold for ten times the voters. The highest of the splittable rules at a million is
/// 0.39 (`address+family_sound`), so a register of that size, and every benchmark set, keeps
/// every block whole. At ten million, the split took the candidate pairs from 13.2 to 9.1
/// per record (8.1 at a million) and lost 13 of the 100,000 planted duplicate pairs.
pub const EXACT_PAIRS_PER_RECORD: f64 = 0.5;

/// Pairs a rule that is not broad may always emit with its blocks whole, whatever the
/// register's size: a million pairs score in well under a second, and a small register with
/// many duplicates gets half a pair per record from them alone (FEBRL's sets are half
/// duplicates), which no split should touch.
pub const EXACT_MIN_PAIRS: f64 = 1e6;

/// The most rows blocking can address: a candidate pair packs both rows in 28 bits each and
/// the rule in the remaining 8 of one `u64`, which keeps the cross-rule sort on plain
/// integers. 268 million rows is larger than any register but India's, which is kept by
/// state.
pub const MAX_ROWS: usize = 1 << 28;

const ROW_BITS: u32 = 28;

/// Codes a bucket of [`Blocks::pairs_from`] holds on average: 32,768 of 8 bytes, 256 KB, within
/// a core's second-level cache.
const BUCKET_CODES: u64 = 1 << 15;

/// The most bits of the first row a bucket is chosen by (65,536 buckets): the codes are
/// written to every bucket at once, and more would miss the caches.
const MAX_BUCKET_BITS: u32 = 16;
const ROW_MASK: u64 = (1 << ROW_BITS) - 1;

/// Candidate pairs `(a, b)` with `a < b`, sorted and distinct, each packed in one `u64` as
/// `a << 32 | b`: the form [`Blocks::pairs_from`] makes them distinct in, in place (a second
/// list of the pairs was a gigabyte more at 10,000,000 voters).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pairs(Vec<u64>);

impl Pairs {
    fn pack(a: u32, b: u32) -> u64 {
        u64::from(a) << 32 | u64::from(b)
    }

    pub(crate) fn unpack(code: u64) -> (u32, u32) {
        ((code >> 32) as u32, code as u32)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = (u32, u32)> + '_ {
        self.0.iter().map(|&code| Pairs::unpack(code))
    }

    /// The packed pairs ([`Pairs::unpack`] reads one).
    pub(crate) fn codes(&self) -> &[u64] {
        &self.0
    }
}

/// Candidate pairs `(a, b)` with `a < b`, sorted, each once, and the statistics per rule.
///
/// With `split`, the records are two files one after the other (a register, then a registry
/// linked to it) and only pairs across them, `a < split <= b`, are candidates.
pub(crate) fn candidate_pairs(
    r: &Records,
    rules: &[BlockingRule],
    max_block_size: usize,
    split: Option<u32>,
) -> (Pairs, Vec<BlockingStat>) {
    let mut blocks = Blocks::build(r, rules, max_block_size, split);
    let (pairs, new) = blocks.pairs_from(0..u32::MAX);
    blocks.credit(&new);
    (pairs, blocks.stats)
}

/// Every pass's blocks, built once and expanded into candidate pairs a range of first rows
/// at a time: a register whose candidate pairs do not fit in memory at once is compared in
/// parts, each part the pairs `(a, b)` with `a` in one range, and the parts in order are the
/// whole sorted list (a pair's every rule gives it the same `a`, so each part dedupes its own
/// pairs across rules). Only the rows of blocks that are expanded are kept, four bytes each.
pub(crate) struct Blocks {
    passes: Vec<Pass>,
    /// Records blocked.
    rows: u32,
    /// Per rule; `new_pairs` counts only what [`Blocks::credit`] was given.
    pub stats: Vec<BlockingStat>,
    split: Option<u32>,
}

/// One pass's expanded blocks: their rows one block after another, each block's rows in
/// ascending order, and where each block starts (with the end as the last entry).
struct Pass {
    rows: Vec<u32>,
    starts: Vec<u32>,
}

impl Blocks {
    pub(crate) fn build(
        r: &Records,
        rules: &[BlockingRule],
        max_block_size: usize,
        split: Option<u32>,
    ) -> Blocks {
        assert!(r.len() <= MAX_ROWS, "checked by dedupe() before blocking");
        assert!(rules.len() < 256, "a rule index fits in 8 bits");
        let mut sort = KeySort::default();
        let (passes, stats) = rules
            .iter()
            .map(|&rule| one_pass(r, rule, max_block_size, split, &mut sort))
            .unzip();
        Blocks {
            passes,
            rows: r.len() as u32,
            stats,
            split,
        }
    }

    /// Pairs the passes emit, a pair found by several rules counted once per rule: what
    /// expanding every block costs before the pairs are made distinct.
    pub(crate) fn emitted(&self) -> u64 {
        self.stats.iter().map(|s| s.pairs).sum()
    }

    /// The distinct candidate pairs whose first row is in `first`, sorted, and how many of them
    /// each rule found first.
    ///
    /// The passes emit a pair once per rule that finds it: 101M codes for 91M distinct pairs
    /// at 10,000,000 voters. A comparison sort of them all ran out of the caches (a tenth of
    /// the dedupe), so the codes are counted, then written straight into buckets of first
    /// rows (a pair's every code has the same first row, so a bucket holds all of them), and
    /// each bucket is sorted and made distinct in cache, on every core. The pairs come out in
    /// the full sort's order, in one allocation of the emitted codes.
    pub(crate) fn pairs_from(&self, first: Range<u32>) -> (Pairs, Vec<u64>) {
        let first = first.start..first.end.min(self.rows);
        let span = u64::from(first.end.saturating_sub(first.start));
        let expected = self.emitted() * span / u64::from(self.rows).max(1);
        let bits = (expected / BUCKET_CODES)
            .max(1)
            .ilog2()
            .min(MAX_BUCKET_BITS);
        let shift = (u64::BITS - span.leading_zeros()).saturating_sub(bits);
        let buckets = (span.saturating_sub(1) >> shift) as usize + 1;
        // Each pass's blocks in a few runs, one task each.
        let per_pass = 4 * rayon::current_num_threads();
        let tasks = self
            .passes
            .iter()
            .enumerate()
            .flat_map(|(index, pass)| {
                let blocks = pass.starts.len().saturating_sub(1);
                let step = blocks.div_ceil(per_pass).max(1);
                (0..blocks)
                    .step_by(step)
                    .map(move |s| (index, s..(s + step).min(blocks)))
            })
            .collect();
        let runs = Runs {
            blocks: self,
            tasks,
            first,
            shift,
            buckets,
        };
        let mut codes = Vec::new();
        let whole = bucket_sort(&runs, &mut codes);
        // Each distinct pair once, written over the codes already read.
        let distinct: Vec<(usize, usize, Vec<u64>)> = whole
            .into_par_iter()
            .map(|codes| {
                let mut new = vec![0u64; self.passes.len()];
                let mut kept = 0;
                let mut last = u64::MAX;
                for k in 0..codes.len() {
                    let code = codes[k];
                    let pair = code >> 8;
                    if pair != last {
                        last = pair;
                        new[(code & 0xFF) as usize] += 1;
                        codes[kept] =
                            Pairs::pack((pair >> ROW_BITS) as u32, (pair & ROW_MASK) as u32);
                        kept += 1;
                    }
                }
                (codes.len(), kept, new)
            })
            .collect();
        let mut new = vec![0u64; self.passes.len()];
        let (mut from, mut to) = (0, 0);
        for (len, kept, found) in distinct {
            codes.copy_within(from..from + kept, to);
            (from, to) = (from + len, to + kept);
            for (n, f) in new.iter_mut().zip(found) {
                *n += f;
            }
        }
        codes.truncate(to);
        // The repeats' room is returned (glibc moves a large block's pages, it does not copy).
        codes.shrink_to_fit();
        (Pairs(codes), new)
    }

    /// Drops the expanded blocks once no more pairs will be asked for (the statistics stay).
    pub(crate) fn drop_blocks(&mut self) {
        self.passes = Vec::new();
    }

    /// Adds the first finds of a part ([`Blocks::pairs_from`]) to each rule's `new_pairs`.
    pub(crate) fn credit(&mut self, new: &[u64]) {
        for (stat, n) in self.stats.iter_mut().zip(new) {
            stat.new_pairs += n;
        }
    }
}

/// The runs of blocks of [`Blocks::pairs_from`], each a task that puts its pairs' codes,
/// `a << 36 | b << 8 | rule`, into buckets of first rows `a`.
struct Runs<'a> {
    blocks: &'a Blocks,
    /// (pass, its blocks) per task.
    tasks: Vec<(usize, Range<usize>)>,
    first: Range<u32>,
    shift: u32,
    buckets: usize,
}

impl Scatter<u64> for Runs<'_> {
    fn tasks(&self) -> usize {
        self.tasks.len()
    }

    fn buckets(&self) -> usize {
        self.buckets
    }

    fn each(&self, task: usize, sink: &mut impl Sink<u64>) {
        let (index, blocks) = &self.tasks[task];
        let pass = &self.blocks.passes[*index];
        pass.each_first(blocks.clone(), self.blocks.split, &self.first, |a, bs| {
            let bucket = (u64::from(a - self.first.start) >> self.shift) as usize;
            let code =
                |&b: &u32| (u64::from(a) << (ROW_BITS + 8)) | (u64::from(b) << 8) | *index as u64;
            sink.put(bucket, bs.iter().map(code));
        });
    }
}

impl Pass {
    /// Calls `pair(a, bs)` for each row `a` in `first` of the blocks numbered `blocks`, with
    /// the rows `bs` it makes a pair with: those after it in its block, or with a split, the
    /// second file's rows of its block.
    fn each_first(
        &self,
        blocks: Range<usize>,
        split: Option<u32>,
        first: &Range<u32>,
        mut pair: impl FnMut(u32, &[u32]),
    ) {
        for w in self.starts[blocks.start..=blocks.end].windows(2) {
            let rows = &self.rows[w[0] as usize..w[1] as usize];
            // Rows ascend: a pair's first row is any but the last (with a split, one of the
            // first file's, which come first). Compared in parts, a register's every block is
            // read once a part (counted, then written), and most have no first row in it.
            let firsts = split.map_or(rows.len().saturating_sub(1), |s| {
                rows.partition_point(|&row| row < s)
            });
            let Some(&highest) = rows[..firsts].last() else {
                continue;
            };
            if rows[0] >= first.end || highest < first.start {
                continue;
            }
            let from = rows.partition_point(|&row| row < first.start);
            let to = rows[..firsts].partition_point(|&row| row < first.end);
            for i in from..to.max(from) {
                let second = if split.is_some() { firsts } else { i + 1 };
                pair(rows[i], &rows[second..]);
            }
        }
    }
}

fn one_pass(
    r: &Records,
    rule: BlockingRule,
    cap: usize,
    split: Option<u32>,
    sort: &mut KeySort,
) -> (Pass, BlockingStat) {
    let n = r.len() as f64;
    let budgets = Budgets {
        split: (EXACT_PAIRS_PER_RECORD * n).max(EXACT_MIN_PAIRS),
        most: if rule.broad() {
            MAX_PAIRS_PER_RECORD * n
        } else {
            (MAX_PAIRS_PER_RECORD * n).max(EXACT_MIN_PAIRS)
        },
    };
    one_pass_within(r, rule, cap, split, budgets, sort)
}

/// The pairs a pass may emit before it splits its commonest blocks (a rule that is not
/// broad), and before it skips them.
#[derive(Clone, Copy)]
struct Budgets {
    split: f64,
    most: f64,
}

/// [`one_pass`] with its budgets given.
fn one_pass_within(
    r: &Records,
    rule: BlockingRule,
    cap: usize,
    split: Option<u32>,
    budgets: Budgets,
    sort: &mut KeySort,
) -> (Pass, BlockingStat) {
    let cap = if rule.broad() {
        cap.min(BROAD_MAX_BLOCK_SIZE)
    } else {
        cap
    };
    let keyed = sort.sorted(r.len(), |row| rule.key(r, row));
    let mut stat = BlockingStat {
        keyed_records: keyed.len() as u64,
        ..BlockingStat::empty(rule)
    };
    let mut blocks: Vec<Block> = Vec::new();
    let mut start = 0;
    while start < keyed.len() {
        // Blocks hold a row or two on average: a linear scan, not a binary search over the
        // rest of the pass (twenty cache misses a block, half of `Blocks::build`).
        let key = keyed[start].0;
        let end = start
            + keyed[start..]
                .iter()
                .take_while(|&&(k, _)| k == key)
                .count();
        let size = end - start;
        if size > cap {
            stat.skipped_blocks += 1;
            stat.skipped_records += size as u64;
            stat.largest_skipped_block = stat.largest_skipped_block.max(size as u64);
        } else if size >= 2 {
            let first = split.map_or(size, |s| {
                keyed[start..end].partition_point(|&(_, row)| row < s)
            });
            let pairs = block_pairs(size, first, split);
            if pairs > 0 {
                stat.blocks += 1;
                stat.pairs += pairs as u64;
                blocks.push(Block::new(start, end, first));
            }
        }
        start = end;
    }
    // Over the budget there are records, and row 0 tells whether the rule has a finer key.
    if !rule.broad() && stat.pairs as f64 > budgets.split && rule.refinement(r, 0).is_some() {
        let cap = budget_cap(&blocks, split, budgets.split);
        blocks = refine(r, rule, keyed, &blocks, cap, split, &mut stat);
    }
    if stat.pairs as f64 > budgets.most {
        stat.over_budget = true;
        let cap = budget_cap(&blocks, split, budgets.most);
        blocks.retain(|&block| {
            let size = block.size();
            if size <= cap {
                return true;
            }
            stat.blocks -= 1;
            stat.pairs -= block.pairs(split) as u64;
            stat.skipped_blocks += 1;
            stat.skipped_records += size as u64;
            stat.largest_skipped_block = stat.largest_skipped_block.max(size as u64);
            false
        });
    }
    let mut pass = Pass {
        rows: Vec::with_capacity(blocks.iter().map(|b| b.size()).sum()),
        starts: Vec::with_capacity(blocks.len() + 1),
    };
    for block in &blocks {
        pass.starts.push(pass.rows.len() as u32);
        pass.rows
            .extend(keyed[block.rows()].iter().map(|&(_, row)| row));
    }
    pass.starts.push(pass.rows.len() as u32);
    (pass, stat)
}

/// `blocks` with every block larger than `cap` split by the rule's two finer keys: a record
/// joins the part of each of its keys, and each part of two or more rows becomes a block of
/// its own, its rows appended to `keyed` (a pair that agrees on both keys is emitted twice,
/// and made distinct with the other rules' pairs).
///
/// The blocks are split on every core, [`REFINE_BATCH`] at a time, and their parts appended
/// in the blocks' order. A block's rows lie anywhere in the register, so reading their finer
/// keys waits on memory: at 100,000,000 voters, the split on one thread was a fifth of the
/// samples of the first seven minutes of a dedupe (`perf`, session 27).
fn refine(
    r: &Records,
    rule: BlockingRule,
    keyed: &mut Vec<(u64, u32)>,
    blocks: &[Block],
    cap: usize,
    split: Option<u32>,
    stat: &mut BlockingStat,
) -> Vec<Block> {
    let mut out = Vec::with_capacity(blocks.len());
    let mut at = 0;
    while at < blocks.len() {
        // The next run of blocks that holds a batch of blocks to split, split together.
        let mut end = at;
        let mut over = 0;
        while end < blocks.len() && over < REFINE_BATCH {
            over += usize::from(blocks[end].size() > cap);
            end += 1;
        }
        let batch = &blocks[at..end];
        let parts: Vec<Vec<(u64, u32)>> = batch
            .par_iter()
            .map(|block| {
                if block.size() <= cap {
                    return Vec::new();
                }
                let mut parts: Vec<(u64, u32)> = Vec::with_capacity(2 * block.size());
                for &(_, row) in &keyed[block.rows()] {
                    let keys = rule.refinement(r, row as usize).expect("a refined rule");
                    // The key's index in the top bit: the two keys never share a part.
                    for (index, key) in keys.into_iter().enumerate() {
                        if key != NO_KEY {
                            parts.push((key & !(1 << 63) | (index as u64) << 63, row));
                        }
                    }
                }
                parts.sort_unstable();
                parts
            })
            .collect();
        for (&block, parts) in batch.iter().zip(parts) {
            if block.size() <= cap {
                out.push(block);
                continue;
            }
            stat.refined_blocks += 1;
            stat.blocks -= 1;
            stat.pairs -= block.pairs(split) as u64;
            for part in parts.chunk_by(|x, y| x.0 == y.0) {
                let first = split.map_or(part.len(), |s| part.partition_point(|&(_, row)| row < s));
                let pairs = if part.len() >= 2 {
                    block_pairs(part.len(), first, split)
                } else {
                    0
                };
                if pairs > 0 {
                    stat.blocks += 1;
                    stat.pairs += pairs as u64;
                    out.push(Block::new(keyed.len(), keyed.len() + part.len(), first));
                    keyed.extend_from_slice(part);
                }
            }
        }
        at = end;
    }
    out
}

/// Blocks [`refine`] splits at once: their parts are held together until appended, a few
/// megabytes.
const REFINE_BATCH: usize = 4096;

/// A block of a pass being built: the rows `keyed[start..end]` of its sort, `first` of them
/// from the first file; 12 bytes (three `usize` were 24, and a pass over 100,000,000 voters
/// has tens of millions of blocks). The sort and its parts hold fewer than 2^32 entries.
#[derive(Clone, Copy)]
struct Block {
    start: u32,
    end: u32,
    first: u32,
}

impl Block {
    fn new(start: usize, end: usize, first: usize) -> Block {
        Block {
            start: start as u32,
            end: end as u32,
            first: first as u32,
        }
    }

    fn rows(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    fn size(self) -> usize {
        (self.end - self.start) as usize
    }

    fn pairs(self, split: Option<u32>) -> usize {
        block_pairs(self.size(), self.first as usize, split)
    }
}

/// The pairs a block of `size` rows emits, `first` of them from the first file.
fn block_pairs(size: usize, first: usize, split: Option<u32>) -> usize {
    match split {
        None => size * (size - 1) / 2,
        Some(_) => first * (size - first),
    }
}

/// The largest block size whose blocks, with all smaller ones, emit at most `budget` pairs:
/// a broad rule over its budget keeps its rarest keys.
fn budget_cap(blocks: &[Block], split: Option<u32>, budget: f64) -> usize {
    let mut by_size: Vec<(usize, usize)> = blocks
        .iter()
        .map(|&block| (block.size(), block.pairs(split)))
        .collect();
    by_size.sort_unstable();
    let mut total = 0.0;
    let mut cap = 1;
    for (i, &(size, pairs)) in by_size.iter().enumerate() {
        // All blocks of one size are kept or skipped together.
        if by_size.get(i + 1).is_some_and(|&(next, _)| next == size) {
            total += pairs as f64;
            continue;
        }
        total += pairs as f64;
        if total > budget {
            break;
        }
        cap = size;
    }
    cap
}

#[cfg(test)]
mod tests {
    use super::super::records::of_csv as records;
    use super::*;

    /// A broad rule over its budget (2 pairs per record) skips its largest blocks, not all of
    /// them: 13 records sharing three birth dates (blocks of 8, 3 and 2: 28 + 3 + 1 = 32 pairs
    /// against a budget of 26) keep the blocks of 3 and 2.
    #[test]
    fn a_broad_rule_over_its_budget_keeps_its_rarest_keys() {
        let mut csv = String::from("voter_id,given_name,family_name,birth_date\n");
        for (i, date) in ["1980-01-01"; 8]
            .into_iter()
            .chain(["1970-02-02"; 3])
            .chain(["1960-03-03"; 2])
            .enumerate()
        {
            csv.push_str(&format!("V{i:02},G{i},F{i},{date}\n"));
        }
        let r = records(&csv);
        let (pairs, stats) = candidate_pairs(&r, &[BlockingRule::BirthDate], 1000, None);
        let pairs: Vec<(u32, u32)> = pairs.iter().collect();
        assert_eq!(pairs, vec![(8, 9), (8, 10), (9, 10), (11, 12)]);
        let s = &stats[0];
        assert!(s.over_budget);
        assert_eq!((s.blocks, s.pairs), (2, 4));
        assert_eq!(
            (s.skipped_blocks, s.skipped_records, s.largest_skipped_block),
            (1, 8, 8)
        );
    }

    fn budgets(split: f64, most: f64) -> Budgets {
        Budgets { split, most }
    }

    /// A rule that is not broad, over the most pairs per record its split leaves it, skips its
    /// largest blocks as a broad rule does: blocks of 6, 3 and 2 records (15 + 3 + 1 pairs)
    /// against a budget of 10 keep the blocks of 3 and 2.
    #[test]
    fn a_rule_over_the_most_pairs_keeps_its_rarest_keys() {
        let mut csv = String::from("voter_id,given_name,family_name,birth_date\n");
        let people = [("JOHN", "SMITH", "1980-01-01"); 6]
            .into_iter()
            .chain([("JOHN", "BROWN", "1970-02-02"); 3])
            .chain([("ANNA", "LEE", "1960-03-03"); 2]);
        for (i, (given, family, date)) in people.enumerate() {
            csv.push_str(&format!("V{i:02},{given},{family},{date}\n"));
        }
        let r = records(&csv);
        let rule = BlockingRule::GivenPrefixBirthDate;
        let (pass, s) = one_pass_within(
            &r,
            rule,
            1000,
            None,
            budgets(100.0, 10.0),
            &mut KeySort::default(),
        );
        let mut pairs = Vec::new();
        pass.each_first(0..pass.starts.len() - 1, None, &(0..u32::MAX), |a, bs| {
            pairs.extend(bs.iter().map(|&b| (a, b)));
        });
        pairs.sort_unstable();
        assert_eq!(pairs, vec![(6, 7), (6, 8), (7, 8), (9, 10)]);
        assert!(s.over_budget);
        assert_eq!((s.blocks, s.pairs, s.refined_blocks), (2, 4, 0));
        assert_eq!(
            (s.skipped_blocks, s.skipped_records, s.largest_skipped_block),
            (1, 6, 6)
        );
    }

    /// Ten records share a given-name prefix and a birth date: 45 pairs. Over a budget of 5
    /// the block is split by the family name's initial and its last three letters, and keeps
    /// the pairs that agree on either: SMITH with SMYTH (the initial) and with MITH (a first
    /// letter lost: ITH), not the eight other families. Within a budget of 45, or the real
    /// one (at least [`EXACT_MIN_PAIRS`]), it is kept whole.
    #[test]
    fn a_common_block_over_the_budget_is_split_by_finer_keys() {
        let families = [
            "SMITH", "MITH", "SMYTH", "BROWN", "GREEN", "TAYLOR", "WALKER", "CLARK", "ADAMS",
            "KING",
        ];
        let mut csv = String::from("voter_id,given_name,family_name,birth_date\n");
        for (i, family) in families.iter().enumerate() {
            csv.push_str(&format!("V{i:02},JOHN,{family},1980-01-01\n"));
        }
        let r = records(&csv);
        let rule = BlockingRule::GivenPrefixBirthDate;
        let pairs = |pass: &Pass| -> Vec<(u32, u32)> {
            let mut pairs = Vec::new();
            let blocks = pass.starts.len() - 1;
            pass.each_first(0..blocks, None, &(0..u32::MAX), |a, bs| {
                pairs.extend(bs.iter().map(|&b| (a, b)));
            });
            pairs.sort_unstable();
            pairs
        };
        let (pass, stat) = one_pass_within(
            &r,
            rule,
            1000,
            None,
            budgets(5.0, 1e6),
            &mut KeySort::default(),
        );
        assert_eq!(pairs(&pass), vec![(0, 1), (0, 2)]);
        assert_eq!((stat.refined_blocks, stat.blocks, stat.pairs), (1, 2, 2));

        let whole: Vec<(u32, u32)> = (0..10)
            .flat_map(|a| (a + 1..10).map(move |b| (a, b)))
            .collect();
        for (pass, stat) in [
            one_pass_within(
                &r,
                rule,
                1000,
                None,
                budgets(45.0, 1e6),
                &mut KeySort::default(),
            ),
            one_pass(&r, rule, 1000, None, &mut KeySort::default()),
        ] {
            assert_eq!(pairs(&pass), whole);
            assert_eq!((stat.refined_blocks, stat.blocks, stat.pairs), (0, 1, 45));
        }
    }

    /// With a split, every candidate pair has one record on each side.
    #[test]
    fn split_blocking_pairs_only_across() {
        let r = records(
            "voter_id,given_name,family_name,birth_date\n\
             V1,ANNA,LEE,1980-01-01\n\
             V2,ANNA,LEE,1980-01-01\n\
             V3,BORIS,KAY,1970-02-02\n\
             X1,ANNA,LEE,1980-01-01\n\
             X2,BORIS,KAY,1970-02-02\n",
        );
        let (all, _) = candidate_pairs(&r, &BlockingRule::DEFAULT, 1000, None);
        assert!(
            all.iter().any(|p| p == (0, 1)),
            "V1 and V2 share every key: {all:?}"
        );
        let (across, stats) = candidate_pairs(&r, &BlockingRule::DEFAULT, 1000, Some(3));
        let across: Vec<(u32, u32)> = across.iter().collect();
        assert_eq!(across, vec![(0, 3), (1, 3), (2, 4)]);
        assert!(stats.iter().all(|s| s.pairs <= 3));
    }
}
