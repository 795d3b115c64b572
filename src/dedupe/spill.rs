//! The patterns of a dedupe's candidate pairs compared in parts, kept on disk from the first
//! pass over them to the second.
//!
//! When the candidates do not fit in memory at once, [`super::scoring::fit_and_score`] makes
//! and compares them a range of first rows at a time, once to count the patterns the model is
//! fitted on and once more to score them. At 100,000,000 voters the comparisons were about
//! four fifths of that work (`perf`, session 27: they wait on memory for records anywhere in
//! the register), making the parts (`Blocks::pairs_from`) about a twentieth. So the first
//! pass writes each part's patterns, 4 bytes a pair, to an unnamed temporary file (in
//! `TMPDIR`, else `/tmp`; the system removes it when it is closed), and the second makes the
//! part's pairs again (in the same order) and reads their patterns back instead of comparing
//! them. The pairs themselves (12 bytes a pair with their patterns) filled the 25 GB this
//! machine had free at 100M voters before the first pass ended.
//!
//! Where the file system has less room than the patterns could take and [`FREE_MARGIN`]
//! more, or the file cannot be made, written or read, or a part read back is not as long as
//! the part made again, the second pass compares the parts again, as it did before: the
//! result is the same either way.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};

use super::compare::Packed;

/// The buffer each way: large sequential writes and reads.
const BUFFER: usize = 1 << 20;

/// Room left free beside the file: the reports that follow are written to disk too, and a
/// file system filled to its last byte fails whatever else writes to it.
const FREE_MARGIN: u64 = 2 << 30;

/// Bytes a pair takes in the file: its pattern.
const BYTES_PER_PAIR: u64 = 4;

/// Parts' patterns written in order ([`Parts::write`]), then read back in the same order
/// ([`Parts::read`]).
pub(crate) struct Parts(BufWriter<File>);

impl Parts {
    /// A file for the patterns of at most `pairs` pairs, refused when the temporary
    /// directory's file system has not room for them and [`FREE_MARGIN`].
    pub(crate) fn new(pairs: u64) -> io::Result<Parts> {
        let needed = pairs
            .saturating_mul(BYTES_PER_PAIR)
            .saturating_add(FREE_MARGIN);
        if crate::files::free_bytes(&std::env::temp_dir()).is_some_and(|free| free < needed) {
            return Err(io::Error::other("not enough room for the patterns"));
        }
        Ok(Parts(BufWriter::with_capacity(
            BUFFER,
            tempfile::tempfile()?,
        )))
    }

    /// Appends one part's patterns.
    pub(crate) fn write(&mut self, patterns: &[Packed]) -> io::Result<()> {
        let out = &mut self.0;
        out.write_all(&(patterns.len() as u64).to_le_bytes())?;
        for p in patterns {
            out.write_all(&p.0.to_le_bytes())?;
        }
        Ok(())
    }

    /// The parts written, from the first.
    pub(crate) fn read(self) -> io::Result<Reader> {
        let mut file = self
            .0
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        file.rewind()?;
        Ok(Reader(BufReader::with_capacity(BUFFER, file)))
    }
}

/// Reads the parts of [`Parts`] back, one at a time.
pub(crate) struct Reader(BufReader<File>);

impl Reader {
    /// The next part's patterns, which must be `len` (the pairs of the part made again).
    pub(crate) fn next_part(&mut self, len: usize) -> io::Result<Vec<Packed>> {
        let input = &mut self.0;
        let mut bytes = [0u8; 8];
        input.read_exact(&mut bytes)?;
        if u64::from_le_bytes(bytes) != len as u64 {
            return Err(io::Error::other("a part of another length"));
        }
        let mut patterns = Vec::with_capacity(len);
        let mut bytes = [0u8; 4];
        for _ in 0..len {
            input.read_exact(&mut bytes)?;
            patterns.push(Packed(u32::from_le_bytes(bytes)));
        }
        Ok(patterns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_come_back_in_the_order_written() {
        let parts: Vec<Vec<u32>> = vec![
            vec![0, 7, u32::MAX],
            vec![],
            (0..100_000).map(|k| k * 3).collect(),
        ];
        let mut spilled = Parts::new(100_003).expect("a temporary file");
        for bits in &parts {
            let patterns: Vec<Packed> = bits.iter().map(|&b| Packed(b)).collect();
            spilled.write(&patterns).expect("written");
        }
        let mut read = spilled.read().expect("read back");
        let first = read.next_part(3).expect("the first part");
        assert_eq!(first.iter().map(|p| p.0).collect::<Vec<_>>(), parts[0]);
        assert!(
            read.next_part(1).is_err(),
            "a part of another length than asked"
        );
    }

    #[test]
    fn every_part_comes_back_whole() {
        let parts: Vec<Vec<u32>> = vec![vec![5], (0..70_000).collect(), vec![]];
        let mut spilled = Parts::new(70_001).expect("a temporary file");
        for bits in &parts {
            let patterns: Vec<Packed> = bits.iter().map(|&b| Packed(b)).collect();
            spilled.write(&patterns).expect("written");
        }
        let mut read = spilled.read().expect("read back");
        for bits in &parts {
            let got = read.next_part(bits.len()).expect("a part");
            assert_eq!(&got.iter().map(|p| p.0).collect::<Vec<_>>(), bits);
        }
        assert!(read.next_part(0).is_err(), "nothing after the last part");
    }

    #[test]
    fn no_file_is_made_for_more_than_the_disk_holds() {
        let free = crate::files::free_bytes(&std::env::temp_dir()).expect("statvfs on Linux");
        assert!(Parts::new(free / BYTES_PER_PAIR).is_err());
    }
}
