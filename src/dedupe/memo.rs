//! Name levels remembered while the candidate pairs are compared ([`NameMemo`]): the
//! Jaro-Winkler of two names was the largest computation in `dedupe` at 10,000,000 voters.

/// The levels of name pairs already compared by one task of
/// [`compare_all`](super::sweep::compare_all): the same two
/// names meet again and again among a register's candidate pairs (two common given names
/// of one birth date), and their level costs a Jaro-Winkler where the cheap tests fail. A
/// direct-mapped table: a pair's slot holds the last pair that hashed there.
pub(super) struct NameMemo {
    /// `a << 32 | b` per slot.
    pairs: Vec<u64>,
    /// [`NameMemo::TAKEN`] with the kind of comparison (bits 4-5) and the level (bits 0-3)
    /// per slot, 0 when empty.
    levels: Vec<u8>,
}

impl NameMemo {
    /// 262,144 slots, 2.3 MB a thread. At 10,000,000 voters (seed 42) it took the Jaro-Winkler
    /// from 8.5% to 6.4% of `dedupe`'s `perf` samples and `dedupe` from 43.9 and 42.4 s to
    /// 41.7 and 37.6 s; 32,768 slots (within a core's second-level cache) kept more of it
    /// (8.0%).
    const BITS: u32 = 18;
    const TAKEN: u8 = 0x80;

    pub(super) fn new() -> NameMemo {
        NameMemo::with_bits(Self::BITS)
    }

    fn with_bits(bits: u32) -> NameMemo {
        NameMemo {
            pairs: vec![0; 1 << bits],
            levels: vec![0; 1 << bits],
        }
    }

    /// A memo that remembers nothing, for pairs compared one at a time.
    pub(super) fn none() -> NameMemo {
        NameMemo {
            pairs: Vec::new(),
            levels: Vec::new(),
        }
    }

    /// The level of names `a` and `b` under comparison `kind` (0 to 3), computed by `level`
    /// when not remembered. Missing and equal names are not remembered: their tests are
    /// cheaper than a lookup.
    #[inline]
    pub(super) fn level(&mut self, kind: u8, a: u32, b: u32, level: impl FnOnce() -> u8) -> u8 {
        if self.pairs.is_empty() || a == 0 || b == 0 || a == b {
            return level();
        }
        let pair = u64::from(a) << 32 | u64::from(b);
        let hash = (pair ^ u64::from(kind)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let slot = (hash >> (u64::BITS - self.pairs.len().ilog2())) as usize;
        let tag = Self::TAKEN | kind << 4;
        if self.pairs[slot] == pair && self.levels[slot] & 0xF0 == tag {
            return self.levels[slot] & 0x0F;
        }
        let l = level();
        debug_assert!(l < 16, "a level fits in four bits");
        (self.pairs[slot], self.levels[slot]) = (pair, tag | l);
        l
    }
}

#[cfg(test)]
mod tests {
    /// The memo of name levels changes no pattern: every pair of a register of look-alike
    /// names (nicknames, one-letter typos, swapped names, middle initials) compared through
    /// memos of 2 and 16 slots, so that pairs and kinds of comparison overwrite each other,
    /// twice over, gives the pattern computed without one.
    #[test]
    fn remembered_name_levels_are_the_levels() {
        use super::super::compare::{compare, compare_rows};
        use super::super::records::of_csv;
        use super::NameMemo;
        let r = of_csv(
            "voter_id,given_name,middle_name,family_name,birth_date\n\
             1,WILLIAM,J,SMITH,1980-01-02\n\
             2,BILL,JOHN,SMITH,1980-01-02\n\
             3,SMITH,JOHN,WILLIAM,1980-01-02\n\
             4,WILIAM,JAMES,SMYTH,1980-01-02\n\
             5,MARIA,,SILVA,1975-05-06\n\
             6,MARIO,ANA,SILVA,1975-05-06\n\
             7,SILVA,,MARIA,1975-05-06\n\
             8,JON,J,WILLIAMS,1990-03-04\n",
        );
        let n = r.len();
        for bits in [1, 4] {
            let mut memo = NameMemo::with_bits(bits);
            for _ in 0..2 {
                for a in 0..n {
                    for b in 0..n {
                        let remembered = compare_rows(&r, &r.rows[a], &r.rows[b], &mut memo);
                        assert_eq!(remembered, compare(&r, a, b), "rows {a} and {b}");
                    }
                }
            }
        }
    }
}
