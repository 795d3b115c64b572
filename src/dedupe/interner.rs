//! Distinct strings by id, in first-seen order, id 0 being the empty string: the names and
//! street keys of dedupe's records.
//!
//! Each string is held once, in one buffer of text with the end of each, and the table from
//! string to id holds only ids, hashed by the string they name. A boxed string in a vector
//! and another as a hash map's key held every string twice, with an allocation each: about
//! 80 bytes a string besides its text, for millions of distinct names and streets at
//! 100,000,000 voters.

use std::hash::BuildHasher;

use hashbrown::HashTable;

#[derive(Debug)]
pub(crate) struct Interner {
    text: String,
    /// Where each string ends in `text`: string `id` runs from `ends[id - 1]` (0 for the
    /// first) to `ends[id]`.
    ends: Vec<usize>,
    /// Ids, hashed by their strings.
    index: HashTable<u32>,
    hasher: foldhash::fast::FixedState,
}

impl Default for Interner {
    fn default() -> Interner {
        let mut interner = Interner {
            text: String::new(),
            ends: Vec::new(),
            index: HashTable::new(),
            hasher: foldhash::fast::FixedState::default(),
        };
        interner.intern("");
        interner
    }
}

impl Interner {
    /// The id of `key`, a new one (the next) when it was not seen before.
    pub(crate) fn intern(&mut self, key: &str) -> u32 {
        let hash = self.hasher.hash_one(key);
        let Interner {
            text,
            ends,
            index,
            hasher,
        } = self;
        if let Some(&id) = index.find(hash, |&id| &text[span(ends, id)] == key) {
            return id;
        }
        let id = u32::try_from(ends.len()).expect("fewer than 2^32 distinct strings");
        text.push_str(key);
        ends.push(text.len());
        index.insert_unique(hash, id, |&id| hasher.hash_one(&text[span(ends, id)]));
        id
    }

    /// The string of `id`.
    pub(crate) fn get(&self, id: u32) -> &str {
        &self.text[span(&self.ends, id)]
    }

    /// Distinct strings, the empty one included.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }
}

/// Where string `id` lies in the text, of the strings' `ends`.
fn span(ends: &[usize], id: u32) -> std::ops::Range<usize> {
    let id = id as usize;
    let start = if id == 0 { 0 } else { ends[id - 1] };
    start..ends[id]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_first_sight_and_name_their_strings() {
        let mut strings = Interner::default();
        let words = ["ANA", "", "JOSE", "ANA", "AN", "JOSE", "ANAJOSE"];
        let ids: Vec<u32> = words.iter().map(|w| strings.intern(w)).collect();
        assert_eq!(ids, [1, 0, 2, 1, 3, 2, 4]);
        assert_eq!(strings.len(), 5);
        for (w, id) in words.iter().zip(ids) {
            assert_eq!(strings.get(id), *w);
        }
        // Enough strings for the table to grow several times.
        let many: Vec<String> = (0..10_000).map(|k| format!("N{k}")).collect();
        let first: Vec<u32> = many.iter().map(|s| strings.intern(s)).collect();
        let again: Vec<u32> = many.iter().map(|s| strings.intern(s)).collect();
        assert_eq!(first, again);
        assert_eq!(first[0], 5);
        assert_eq!(strings.get(first[9_999]), "N9999");
    }
}
