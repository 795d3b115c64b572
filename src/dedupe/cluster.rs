//! Clusters: the connected components of the matched pairs, with ids that depend only on
//! their members.
//!
//! A cluster's id is `C` and 16 hex digits of the xxh3 hash of its smallest `voter_id`, so
//! scanning the same register twice, or the same records in another row order, gives the same
//! ids; a cluster that gains a member keeps its id unless the newcomer's id sorts first.

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
struct DisjointSets {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl DisjointSets {
    fn new(n: usize) -> Self {
        DisjointSets {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    fn union(&mut self, a: u32, b: u32) {
        let (mut ra, mut rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        if self.size[ra as usize] < self.size[rb as usize] {
            std::mem::swap(&mut ra, &mut rb);
        }
        self.parent[rb as usize] = ra;
        self.size[ra as usize] += self.size[rb as usize];
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
    let mut sets = DisjointSets::new(n);
    let mut touched = Vec::new();
    for (a, b) in edges {
        sets.union(a, b);
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
    clusters
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
}
