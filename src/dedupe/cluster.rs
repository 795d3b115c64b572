//! Clusters: the connected components of the matched pairs, with ids that depend only on
//! their members.
//!
//! Two records a guard keeps apart (twins, Jr and Sr) must not end up in one cluster through
//! a third record that matches both: matches join clusters strongest first, and a match that
//! would join two clusters holding such a pair is refused (and reported as `kept_apart`).
//! Without guarded pairs this is plain connected components, whatever the order.
//!
//! A cluster's id is `C` and 16 hex digits of the xxh3 hash of its smallest `voter_id`, so
//! scanning the same register twice, or the same records in another row order, gives the same
//! ids; a cluster that gains a member keeps its id unless the newcomer's id sorts first.

use std::collections::HashMap;

use xxhash_rust::xxh3::xxh3_64;

/// One cluster: two or more records judged to be one person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    pub id: String,
    /// Snapshot rows, ascending (which is `voter_id` order).
    pub rows: Vec<u32>,
}

/// The id of a cluster whose smallest voter id is `smallest_voter_id`.
pub fn cluster_id(smallest_voter_id: &str) -> String {
    format!("C{:016x}", xxh3_64(smallest_voter_id.as_bytes()))
}

/// Union-find with path halving and union by size.
pub(crate) struct DisjointSets {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl DisjointSets {
    pub(crate) fn new(n: usize) -> Self {
        DisjointSets {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    pub(crate) fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    /// Joins the sets of `a` and `b`; returns the root of the joined set.
    pub(crate) fn union(&mut self, a: u32, b: u32) -> u32 {
        let (mut ra, mut rb) = (self.find(a), self.find(b));
        if ra == rb {
            return ra;
        }
        if self.size[ra as usize] < self.size[rb as usize] {
            std::mem::swap(&mut ra, &mut rb);
        }
        self.parent[rb as usize] = ra;
        self.size[ra as usize] += self.size[rb as usize];
        ra
    }
}

/// Connected components of `edges` over rows `0..n`, components of two or more only, ordered
/// by their smallest row; `voter_id(row)` names a row. Rows are sorted by voter id in a
/// snapshot, so the smallest row holds the smallest voter id.
pub(crate) fn connected_components<'a>(
    n: usize,
    edges: impl Iterator<Item = (u32, u32)>,
    voter_id: impl Fn(u32) -> &'a str,
) -> Vec<Cluster> {
    kept_apart_components(n, edges, &[], voter_id).0
}

/// [`connected_components`] of `edges`, taken in the order given (strongest first), where an
/// edge that would join two components holding the two rows of a pair in `apart` is refused;
/// also returns the positions of the refused edges in `edges`.
pub(crate) fn kept_apart_components<'a>(
    n: usize,
    edges: impl Iterator<Item = (u32, u32)>,
    apart: &[(u32, u32)],
    voter_id: impl Fn(u32) -> &'a str,
) -> (Vec<Cluster>, Vec<usize>) {
    let mut sets = DisjointSets::new(n);
    // Per component root, the rows its members must be kept apart from.
    let mut away: HashMap<u32, Vec<u32>> = HashMap::new();
    for &(a, b) in apart {
        away.entry(a).or_default().push(b);
        away.entry(b).or_default().push(a);
    }
    let mut touched = Vec::new();
    let mut refused = Vec::new();
    for (k, (a, b)) in edges.enumerate() {
        let (ra, rb) = (sets.find(a), sets.find(b));
        if ra == rb {
            continue;
        }
        let clash = |from: u32, to: u32, sets: &mut DisjointSets| {
            away.get(&from)
                .is_some_and(|rows| rows.iter().any(|&r| sets.find(r) == to))
        };
        if clash(ra, rb, &mut sets) || clash(rb, ra, &mut sets) {
            refused.push(k);
            continue;
        }
        let root = sets.union(a, b);
        let moved: Vec<u32> = [ra, rb]
            .into_iter()
            .filter(|&r| r != root)
            .flat_map(|r| away.remove(&r).unwrap_or_default())
            .collect();
        if !moved.is_empty() {
            away.entry(root).or_default().extend(moved);
        }
        touched.push(a);
        touched.push(b);
    }
    touched.sort_unstable();
    touched.dedup();
    let mut members: Vec<(u32, u32)> = touched.iter().map(|&r| (sets.find(r), r)).collect();
    members.sort_unstable();
    let mut clusters: Vec<Cluster> = members
        .chunk_by(|x, y| x.0 == y.0)
        .filter(|group| group.len() >= 2)
        .map(|group| {
            let rows: Vec<u32> = group.iter().map(|&(_, r)| r).collect();
            Cluster {
                id: cluster_id(voter_id(rows[0])),
                rows,
            }
        })
        .collect();
    clusters.sort_unstable_by_key(|c| c.rows[0]);
    (clusters, refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_a_partition_with_member_derived_ids() {
        let ids = ["V1", "V2", "V3", "V4", "V5", "V6"];
        let edges = [(4u32, 5u32), (0, 2), (2, 3)];
        let clusters = connected_components(6, edges.into_iter(), |r| ids[r as usize]);
        assert_eq!(clusters.len(), 2);
        assert_eq!(clusters[0].rows, vec![0, 2, 3]);
        assert_eq!(clusters[0].id, cluster_id("V1"));
        assert_eq!(clusters[1].rows, vec![4, 5]);
        let reversed = connected_components(6, edges.into_iter().rev(), |r| ids[r as usize]);
        assert_eq!(clusters, reversed);
    }

    /// Twins 0 and 1 each match a third record 2, 0 more strongly: 0 and 2 join, and the
    /// weaker match of 1 and 2 is refused. A pair apart that no path joins changes nothing.
    #[test]
    fn a_pair_kept_apart_never_shares_a_cluster() {
        let ids = ["V1", "V2", "V3", "V4", "V5"];
        let edges = [(0u32, 2u32), (1, 2), (3, 4)];
        let (clusters, refused) =
            kept_apart_components(5, edges.into_iter(), &[(0, 1), (3, 1)], |r| ids[r as usize]);
        assert_eq!(refused, vec![1]);
        let rows: Vec<Vec<u32>> = clusters.into_iter().map(|c| c.rows).collect();
        assert_eq!(rows, vec![vec![0, 2], vec![3, 4]]);
        let (_, refused) =
            kept_apart_components(5, [(1u32, 2u32), (0, 2)].into_iter(), &[(0, 1)], |r| {
                ids[r as usize]
            });
        assert_eq!(refused, vec![1], "the first match in the order wins");
    }
}
