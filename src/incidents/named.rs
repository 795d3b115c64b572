//! The voters the findings name, each numbered once.
//!
//! Grouping findings into incidents looks their voters up again and again: which findings
//! share a voter, the district of a record finding's voter, the edit stamps of an incident's
//! voters, its voters sorted once. At 100,000,000 voters the findings name millions of
//! voters, and maps keyed by their ids spent the incidents stage comparing and hashing
//! strings (perf, session 30: 24% of its samples in `memcmp`, 12% hashing ids). Here each
//! mention of an id is hashed once; the rest works on numbers, and the numbers follow the
//! ids' order, so sorted numbers are sorted ids.

use rayon::prelude::*;

use crate::findings::Finding;
use crate::hashing::Map;
use crate::snapshot::Snapshot;

/// A voter without a row in a snapshot ([`Named::rows_in`]).
pub(crate) const NO_ROW: u32 = u32::MAX;

/// Rows of a snapshot probed at a time by one core in [`Named::rows_in`].
const PROBED_ROWS: usize = 1 << 16;

/// Every voter id some finding names, numbered in id order.
pub(crate) struct Named<'a> {
    /// Distinct and sorted (byte order, as `str` sorts).
    ids: Vec<&'a str>,
    numbers: Map<&'a str, u32>,
}

impl<'a> Named<'a> {
    pub fn of(findings: &'a [Finding]) -> Named<'a> {
        let mut ids: Vec<&str> = findings
            .par_iter()
            .flat_map_iter(|f| f.voter_ids.iter().map(String::as_str))
            .collect();
        // A stable sort merges the findings' lists, most of which come sorted.
        ids.par_sort();
        ids.dedup();
        let numbers = ids.iter().zip(0..).map(|(&id, n)| (id, n)).collect();
        Named { ids, numbers }
    }

    /// How many voters are named.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// The id of voter `n`.
    pub fn id(&self, n: u32) -> &'a str {
        self.ids[n as usize]
    }

    /// The voters of `finding`, as numbers, in its order (a finding of these findings names
    /// only voters numbered here).
    pub fn numbers(&self, finding: &Finding) -> Vec<u32> {
        let number = |id: &String| self.numbers[id.as_str()];
        finding.voter_ids.iter().map(number).collect()
    }

    /// The row of every named voter in `snapshot`, [`NO_ROW`] where it has none (a snapshot
    /// holds each voter id once: the loader rejects repeats). One pass over its ids, in parts
    /// on every core: on one, the probes of a 10,000,000-voter snapshot took about a second
    /// (perf, session 22).
    pub fn rows_in(&self, snapshot: &Snapshot) -> Vec<u32> {
        let (ids, rows) = (snapshot.voter_ids(), snapshot.rows());
        let found: Vec<(u32, u32)> = (0..rows.div_ceil(PROBED_ROWS))
            .into_par_iter()
            .flat_map_iter(|part| {
                let start = part * PROBED_ROWS;
                let part = start..(start + PROBED_ROWS).min(rows);
                crate::snapshot::values_at(ids, part)
                    .zip(start as u32..)
                    .filter_map(|(id, row)| Some((*self.numbers.get(id?)?, row)))
            })
            .collect();
        let mut at = vec![NO_ROW; self.len()];
        for (n, row) in found {
            at[n as usize] = row;
        }
        at
    }

    /// The rows of `snapshot` holding a named voter, in the order of the voters' ids, not of
    /// the rows.
    pub fn rows_found(&self, snapshot: &Snapshot) -> Vec<u32> {
        let mut rows: Vec<u32> = self.rows_in(snapshot);
        rows.retain(|&row| row != NO_ROW);
        rows
    }
}

/// The findings that name each voter (each finding once per mention), in their order: the
/// lists of every voter number in one vector.
pub(crate) struct ByVoter {
    starts: Vec<usize>,
    findings: Vec<u32>,
}

impl ByVoter {
    /// Of the findings `numbers` (each finding's voters as numbers) that `counted` admits,
    /// for `voters` numbered voters.
    pub fn of(numbers: &[Vec<u32>], voters: usize, counted: impl Fn(usize) -> bool) -> ByVoter {
        let mut starts = vec![0usize; voters + 1];
        let admitted = || (0..numbers.len()).filter(|&i| counted(i));
        for i in admitted() {
            for &n in &numbers[i] {
                starts[n as usize + 1] += 1;
            }
        }
        for n in 0..voters {
            starts[n + 1] += starts[n];
        }
        let mut next = starts.clone();
        let mut findings = vec![0u32; starts[voters]];
        for i in admitted() {
            for &n in &numbers[i] {
                findings[next[n as usize]] = i as u32;
                next[n as usize] += 1;
            }
        }
        ByVoter { starts, findings }
    }

    /// The findings naming voter `n`.
    pub fn of_voter(&self, n: u32) -> &[u32] {
        &self.findings[self.starts[n as usize]..self.starts[n as usize + 1]]
    }

    /// Every voter's list, in voter order.
    pub fn lists(&self) -> impl Iterator<Item = &[u32]> + '_ {
        self.starts.windows(2).map(|w| &self.findings[w[0]..w[1]])
    }
}
