//! How many duplicates the blocking passes brought together, estimated from the matches
//! alone (the register has no ground truth): a capture-recapture estimate over two groups of
//! rules that fail for different reasons, reported with every dedupe.

use super::blocking::BlockingStat;
use super::records::Records;

/// How many of the duplicates blocking brought together, estimated from the matches
/// themselves: the rules fall into two groups, those keyed on the birth date and the others
/// (names with area or address, id, phone, email), which fail for mostly independent
/// reasons (a mistyped birth date against a move or a new phone). Among the matched pairs,
/// `n1` are found by the first group, `n2` by the second and `both` by both; with the two
/// independent, the number of duplicates is about `(n1 + 1)(n2 + 1) / (both + 1) - 1`
/// (the Lincoln-Petersen capture-recapture estimate, with Chapman's correction), and the
/// pair completeness is the matched pairs over that. Errors that break both groups at once
/// (a duplicate with every field mistyped) make the estimate optimistic: read it as an upper
/// bound on the completeness, not a measurement.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Completeness {
    /// Matched pairs whose keys agree under a birth-date rule.
    pub by_birth_date_rules: u64,
    /// Matched pairs whose keys agree under another rule.
    pub by_other_rules: u64,
    /// Matched pairs found by both groups.
    pub by_both: u64,
    /// Estimated duplicate pairs, found or not.
    pub estimated_pairs: f64,
    /// Matched pairs over the estimate; `None` when one group of rules has no key in this
    /// register or no matched pair is found by both (nothing to estimate from).
    pub estimate: Option<f64>,
}

/// The pair completeness of the passes that ran (see [`Completeness`]) from the matched
/// pairs.
pub(crate) fn completeness(
    r: &Records,
    passes: &[BlockingStat],
    matched: &[(u32, u32)],
) -> Completeness {
    let shared = |by_date: bool, a: usize, b: usize| {
        passes
            .iter()
            .map(|s| s.rule)
            .filter(|rule| rule.uses_birth_date() == by_date)
            .any(|rule| rule.key(r, a).is_some_and(|k| Some(k) == rule.key(r, b)))
    };
    let (mut n1, mut n2, mut both) = (0u64, 0u64, 0u64);
    for &(a, b) in matched {
        let (a, b) = (a as usize, b as usize);
        let (x, y) = (shared(true, a, b), shared(false, a, b));
        n1 += u64::from(x);
        n2 += u64::from(y);
        both += u64::from(x && y);
    }
    let estimated_pairs = (n1 as f64 + 1.0) * (n2 as f64 + 1.0) / (both as f64 + 1.0) - 1.0;
    let estimate = (both > 0).then(|| (matched.len() as f64 / estimated_pairs).min(1.0));
    Completeness {
        by_birth_date_rules: n1,
        by_other_rules: n2,
        by_both: both,
        estimated_pairs,
        estimate,
    }
}

#[cfg(test)]
mod tests {
    use super::super::keys::BlockingRule;
    use super::super::records::of_csv as records;
    use super::*;

    /// Four matched pairs: A and B share given name and birth date only, C only a phone, D
    /// both. n1 = 3, n2 = 2, both = 1: Chapman's estimate is 4 * 3 / 2 - 1 = 5 duplicates, of
    /// which 4 were matched.
    #[test]
    fn completeness_by_hand() {
        let r = records(
            "voter_id,given_name,family_name,birth_date,phone\n\
             A1,ANNA,LEE,1980-01-01,5550001001\n\
             A2,ANNA,LEA,1980-01-01,5550001002\n\
             B1,BORIS,KAY,1970-02-02,5550002001\n\
             B2,BORIS,KAYE,1970-02-02,5550002002\n\
             C1,CARL,DOE,1960-03-03,5550003000\n\
             C2,KARL,DOE,1961-04-04,5550003000\n\
             D1,DORA,FOX,1950-05-05,5550004000\n\
             D2,DORA,FOXX,1950-05-05,5550004000\n",
        );
        let passes = [
            BlockingStat::empty(BlockingRule::GivenPrefixBirthDate),
            BlockingStat::empty(BlockingRule::Phone),
        ];
        let c = completeness(&r, &passes, &[(0, 1), (2, 3), (4, 5), (6, 7)]);
        assert_eq!(
            (c.by_birth_date_rules, c.by_other_rules, c.by_both),
            (3, 2, 1)
        );
        assert!((c.estimated_pairs - 5.0).abs() < 1e-12, "{c:?}");
        assert_eq!(c.estimate, Some(0.8));
    }
}
