//! Pairwise precision and recall of a clustering against labels.
//!
//! Both sides are `(record id, cluster id)` rows; a pair is predicted (or true) when its two
//! records share a cluster id. Records absent from a side are singletons there. This is the
//! usual pairwise measure of entity resolution (Splink's and fastLink's evaluation): it
//! weighs a wrongly merged large cluster by all the pairs it creates.

use std::collections::{BTreeMap, BTreeSet};

/// A labels file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("line {line}: expected two columns (record id, cluster id), found {found}")]
    Columns { line: u64, found: usize },
    #[error("line {line}: unreadable CSV")]
    Csv {
        line: u64,
        #[source]
        source: csv::Error,
    },
}

/// Parses a labels CSV: a header row, then one row per record. When the header names a
/// `cluster_id` (or `group_id`) column and a `voter_id` or `record_id` column (as
/// `clusters.csv` and `exact.csv` of `rollaudit dedupe` do), those are used; otherwise the first column is the record id and
/// the second the cluster id. Further columns are ignored; ids are trimmed. The binary reads
/// the file; this only parses.
pub fn parse_labels(bytes: &[u8]) -> Result<Vec<(String, String)>, LabelError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let header = reader
        .headers()
        .map_err(|source| LabelError::Csv { line: 1, source })?;
    let named = |names: &[&str]| header.iter().position(|h| names.contains(&h.trim()));
    let (record_col, cluster_col) = match (
        named(&["voter_id", "record_id"]),
        named(&["cluster_id", "group_id"]),
    ) {
        (Some(r), Some(c)) => (r, c),
        _ => (0, 1),
    };
    let mut labels = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|source| LabelError::Csv {
            line: source.position().map_or(0, |p| p.line()),
            source,
        })?;
        let line = record.position().map_or(0, |p| p.line());
        match (record.get(record_col), record.get(cluster_col)) {
            (Some(r), Some(c)) => labels.push((r.trim().to_string(), c.trim().to_string())),
            _ => {
                return Err(LabelError::Columns {
                    line,
                    found: record.len(),
                })
            }
        }
    }
    Ok(labels)
}

/// Pairwise scores.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairScores {
    /// True pairs among predicted pairs (1 when nothing is predicted).
    pub precision: f64,
    /// Predicted pairs among true pairs (1 when there are no true pairs).
    pub recall: f64,
    /// Harmonic mean of the two (0 when both are 0).
    pub f1: f64,
    pub true_positives: u64,
    pub predicted_pairs: u64,
    pub true_pairs: u64,
}

/// The unordered pairs implied by `(record, cluster)` labels, each as (smaller, larger) id.
pub fn pairs_of_clusters(labels: &[(String, String)]) -> BTreeSet<(String, String)> {
    let mut by_cluster: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (record, cluster) in labels {
        by_cluster.entry(cluster).or_default().insert(record);
    }
    let mut pairs = BTreeSet::new();
    for members in by_cluster.values() {
        let members: Vec<&str> = members.iter().copied().collect();
        for (i, a) in members.iter().enumerate() {
            for b in &members[i + 1..] {
                pairs.insert((a.to_string(), b.to_string()));
            }
        }
    }
    pairs
}

/// Scores predicted pairs against true pairs (both as (smaller, larger) ids).
pub fn score_pairs(
    predicted: &BTreeSet<(String, String)>,
    truth: &BTreeSet<(String, String)>,
) -> PairScores {
    let tp = predicted.intersection(truth).count() as u64;
    let (np, nt) = (predicted.len() as u64, truth.len() as u64);
    let precision = if np == 0 { 1.0 } else { tp as f64 / np as f64 };
    let recall = if nt == 0 { 1.0 } else { tp as f64 / nt as f64 };
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    PairScores {
        precision,
        recall,
        f1,
        true_positives: tp,
        predicted_pairs: np,
        true_pairs: nt,
    }
}

/// Pairwise precision, recall and F1 of `predicted` against `truth`, both given as
/// `(record id, cluster id)` labels.
pub fn evaluate(predicted: &[(String, String)], truth: &[(String, String)]) -> PairScores {
    score_pairs(&pairs_of_clusters(predicted), &pairs_of_clusters(truth))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_columns_win_over_positions() {
        let clusters = b"cluster_id,voter_id,cluster_size\nC1,V1,2\nC1,V2,2\n";
        let plain = b"id,cluster\nV1,C1\nV2,C1\n";
        let a = parse_labels(clusters).unwrap();
        assert_eq!(a, parse_labels(plain).unwrap());
        assert_eq!(a[0], ("V1".to_string(), "C1".to_string()));
    }

    fn labels(rows: &[(&str, &str)]) -> Vec<(String, String)> {
        rows.iter()
            .map(|(r, c)| (r.to_string(), c.to_string()))
            .collect()
    }

    #[test]
    fn labels_parse_with_line_numbers() {
        let labels = parse_labels(b"record_id,cluster_id\nV1, C1\nV2,C1,extra\n").expect("ok");
        assert_eq!(labels[0], ("V1".to_string(), "C1".to_string()));
        assert_eq!(labels.len(), 2);
        let err = parse_labels(b"id,cluster\nV1,C1\nV2\n").expect_err("one column");
        assert_eq!(
            err.to_string(),
            "line 3: expected two columns (record id, cluster id), found 1"
        );
    }

    #[test]
    fn pairwise_scores() {
        let truth = labels(&[("a", "1"), ("b", "1"), ("c", "2"), ("d", "2"), ("e", "3")]);
        let predicted = labels(&[("a", "x"), ("b", "x"), ("c", "x"), ("d", "y")]);
        let s = evaluate(&predicted, &truth);
        assert_eq!(
            (s.true_positives, s.predicted_pairs, s.true_pairs),
            (1, 3, 2)
        );
        assert!((s.precision - 1.0 / 3.0).abs() < 1e-12);
        assert!((s.recall - 0.5).abs() < 1e-12);
        assert!((s.f1 - 0.4).abs() < 1e-12);
        let perfect = evaluate(&truth, &truth);
        assert_eq!(
            (perfect.precision, perfect.recall, perfect.f1),
            (1.0, 1.0, 1.0)
        );
    }
}
