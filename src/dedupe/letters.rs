//! A name's letters counted: a bound that rules out most unrelated name pairs before any
//! Jaro-Winkler or edit distance is computed (see [`Letters`]).

/// The shorter of two names one edit apart must have at least this many letters to be
/// `one_edit` (see [`super::compare`]): among names of three letters one edit is another
/// name as often as a typo (JON, JAN, JIM, KIM), and such pairs stay `close` or `similar` by
/// their sound and Jaro-Winkler.
pub const ONE_EDIT_MIN_LEN: usize = 4;

/// A name's letters counted, for an upper bound on the Jaro matches of two names: two names
/// share at most `min(count in one, count in the other)` of each letter, and the Jaro
/// similarity is at most `(m / |a| + m / |b| + 1) / 3` with `m` matched characters. Most
/// candidate pairs compare unrelated names (two voters born on one day), and the bound rules
/// out most of them with a few bit operations, where the Jaro-Winkler itself was a fifth of
/// the pair comparisons.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Letters {
    /// Bit `c` of `at_least[k]`: letter `A + c` occurs more than `k` times.
    at_least: [u32; 3],
    /// The name's length in bytes; 0 when there is no bound (a byte outside `A`-`Z`, a letter
    /// four times or more, or more than 64 bytes).
    len: u8,
}

impl Letters {
    pub(crate) fn of(name: &str) -> Letters {
        let mut counts = [0u8; 26];
        for b in name.bytes() {
            if !b.is_ascii_uppercase() {
                return Letters::default();
            }
            counts[usize::from(b - b'A')] += 1;
        }
        if name.len() > 64 || counts.iter().any(|&c| c > 3) {
            return Letters::default();
        }
        let mut at_least = [0u32; 3];
        for (c, &n) in counts.iter().enumerate() {
            for mask in &mut at_least[..usize::from(n)] {
                *mask |= 1 << c;
            }
        }
        Letters {
            at_least,
            len: name.len() as u8,
        }
    }

    /// Whether the Jaro-Winkler similarity of the two names is surely below 0.8 (the `similar`
    /// level's threshold): Winkler's prefix boost adds at most `0.4 * (1 - jaro)`, so below
    /// 0.8 takes a Jaro below 2/3, that is `m (|a| + |b|) < |a| |b|` for the bound `m` on the
    /// matches: an exact integer test.
    pub fn surely_below_similar(self, other: Letters) -> bool {
        self.bounded(other)
            .is_some_and(|(shared, a, b)| shared * (a + b) < a * b)
    }

    /// Whether the two names are surely not one edit apart (see `compare::one_edit_apart`):
    /// lengths more than one apart or below [`ONE_EDIT_MIN_LEN`], or fewer letters shared
    /// than the longer name's length less one.
    pub fn surely_not_one_edit(self, other: Letters) -> bool {
        self.bounded(other).is_some_and(|(shared, a, b)| {
            a.abs_diff(b) > 1 || (a.min(b) as usize) < ONE_EDIT_MIN_LEN || shared + 1 < a.max(b)
        })
    }

    /// The letters the two names share at most and their lengths; `None` when either has no
    /// bound.
    fn bounded(self, other: Letters) -> Option<(u32, u32, u32)> {
        if self.len == 0 || other.len == 0 {
            return None;
        }
        let shared: u32 = (0..3)
            .map(|k| (self.at_least[k] & other.at_least[k]).count_ones())
            .sum();
        Some((shared, u32::from(self.len), u32::from(other.len)))
    }
}

#[cfg(test)]
mod tests {
    use super::Letters;
    use proptest::prelude::*;

    #[test]
    fn the_letter_bound_rules_out_unrelated_names_only() {
        let below = |a: &str, b: &str| Letters::of(a).surely_below_similar(Letters::of(b));
        assert!(below("ROBERT", "MARIA"));
        assert!(below("JOHN", "MARY"));
        assert!(!below("MICHAEL", "MICHELLE"));
        assert!(!below("ANNA", "ANNA"));
        // No bound without counts: a byte outside A-Z, a letter four times.
        assert!(!below("JOSÉ", "MARY"));
        assert!(!below("AAAAB", "CCCCD"));
    }

    proptest! {
        /// Whatever the bound rules out is below the `similar` threshold by `strsim`.
        #[test]
        fn the_letter_bound_never_rules_out_a_similar_pair(a in "[A-F]{1,12}", b in "[A-F]{1,12}") {
            if Letters::of(&a).surely_below_similar(Letters::of(&b)) {
                prop_assert!(strsim::jaro_winkler(&a, &b) < super::super::compare::JW_SIMILAR);
            }
        }
    }
}
