//! A loaded register snapshot: canonical columns in Arrow memory, sorted by `voter_id`.
//!
//! # Architecture invariants
//! - Rows are sorted by `voter_id` and ids are unique (the loader rejects repeats), so two
//!   snapshots can be diffed by a linear merge.
//! - Every row has a 64-bit xxh3 fingerprint of its normalised canonical fields (see
//!   `load::convert` for the normalisation), in the `_fingerprint` column, and the source line
//!   it came from in `_line`.
//! - The snapshot [`Digest`] depends on the set of rows, not their order.

use std::fmt;

use std::borrow::Cow;
use std::collections::HashMap;

use polars::datatypes::StaticArray;
use polars::prelude::{
    Categorical32Chunked, Categories, ChunkedArray, Column, DataFrame, DataType, IdxCa, IdxSize,
    Int32Chunked, Int64Chunked, IntoColumn, IntoSeries, NewChunkedArray, PolarsDataType,
    StringChunked, UInt32Chunked,
};
use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::dates::{IsoDate, IsoTimestamp};
use crate::model::{Field, FieldKind, FINGERPRINT_COLUMN, LINE_COLUMN};

/// An order-independent digest of a snapshot's rows.
///
/// It is the row count and the wrapping sum of each row fingerprint re-hashed with a fixed
/// seed. A sum (unlike a xor) keeps repeated rows from cancelling out, and re-hashing keeps
/// structured fingerprints from summing to collisions. Two snapshots with equal digests hold
/// the same rows with overwhelming probability (2^-64 per comparison), and the diff uses that
/// to skip the join entirely.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Digest {
    pub rows: u64,
    pub sum: u64,
}

/// Seed for the digest's re-hash: any fixed value; changing it changes every digest.
const DIGEST_SEED: u64 = 0x726f_6c6c_6175_6469; // "rollaudi"

impl Digest {
    pub fn of(fingerprints: &[u64]) -> Digest {
        // A wrapping sum, so the parts can be added up on any core in any order.
        let sum = fingerprints
            .par_iter()
            .map(|fp| xxh3_64_with_seed(&fp.to_le_bytes(), DIGEST_SEED))
            .reduce(|| 0, u64::wrapping_add);
        Digest {
            rows: fingerprints.len() as u64,
            sum,
        }
    }

    /// The digest of the rows of both: a snapshot read in parts has the sum of its parts'.
    pub fn combine(self, other: Digest) -> Digest {
        Digest {
            rows: self.rows + other.rows,
            sum: self.sum.wrapping_add(other.sum),
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}-{}", self.sum, self.rows)
    }
}

/// A register snapshot in canonical form.
#[derive(Clone)]
pub struct Snapshot {
    /// Present canonical fields in canonical order, then `_fingerprint` and `_line`.
    pub df: DataFrame,
    /// The canonical fields this snapshot has.
    pub fields: Vec<Field>,
    pub digest: Digest,
}

impl Snapshot {
    /// Makes every column but the uncoded text ones contiguous, however many chunks the frame
    /// was built from (a load makes one per 16,384-row batch). The diff reads the fingerprint
    /// and line columns as slices; and a per-row read of a column in chunks
    /// (`ChunkedArray::get`) first walks the chunks to find the row's one, which was a third
    /// of dedupe's record preparation (perf, 1,000,000 rows). Codes, days and timestamps are
    /// four or eight bytes a row, copied one column at a time, and the chunks they replace are
    /// returned to the operating system; text views are left in chunks (see `MAX_CHUNKS` in
    /// `load::table`), as gluing them copies every string.
    pub(crate) fn new(mut df: DataFrame, fields: Vec<Field>) -> Snapshot {
        glue_columns(&mut df, |c| !matches!(c.dtype(), DataType::String))
            .expect("a column replaced by its own rechunked copy has the frame's height");
        let digest = Digest::of(fingerprints(&df));
        Snapshot { df, fields, digest }
    }

    pub fn rows(&self) -> usize {
        self.df.height()
    }

    pub fn has(&self, field: Field) -> bool {
        self.fields.contains(&field)
    }

    /// One fingerprint per row, in row order.
    pub fn fingerprints(&self) -> &[u64] {
        fingerprints(&self.df)
    }

    /// The rows at `rows` (sorted, each in range), in that order: what is kept of an earlier
    /// snapshot once its diffs are taken (`audit`). Its digest is of those rows.
    pub fn subset(&self, rows: &[u32]) -> Snapshot {
        let idx = IdxCa::from_vec("rows".into(), rows.iter().map(|&r| r as IdxSize).collect());
        let df = self
            .df
            .take(&idx)
            .expect("subset rows are in range of the snapshot");
        Snapshot::new(df, self.fields.clone())
    }

    /// The source line of every row, in row order.
    pub fn lines(&self) -> &[u64] {
        self.df
            .column(LINE_COLUMN)
            .and_then(|c| c.u64())
            .ok()
            .and_then(|ca| ca.cont_slice().ok())
            .expect("a snapshot has one contiguous, null-free _line column")
    }
}

/// The row numbers of a [`Snapshot::subset`] of `kept` (ascending, distinct) for the rows of
/// the whole snapshot: a table as long as the largest row kept (40 MB for 10,000,000 rows),
/// so that renumbering the million rows a diff or dedupe names is a lookup each, not a
/// search (a binary search each took a fifth of a second at 10,000,000 voters).
pub(crate) struct Renumbered(Vec<u32>);

impl Renumbered {
    pub(crate) fn new(kept: &[u32]) -> Renumbered {
        let mut at = vec![u32::MAX; kept.last().map_or(0, |&r| r as usize + 1)];
        for (k, &row) in kept.iter().enumerate() {
            at[row as usize] = k as u32;
        }
        Renumbered(at)
    }

    /// `row`'s number in the subset. Panics when `row` was not kept.
    pub(crate) fn at(&self, row: u32) -> u32 {
        match self.0.get(row as usize) {
            Some(&k) if k != u32::MAX => k,
            _ => panic!("a subset keeps every row named"),
        }
    }
}

/// Read access to one canonical field's column, typed once (no per-row dynamic dispatch on
/// polars types).
#[derive(Clone, Copy)]
pub enum FieldColumn<'a> {
    Text(&'a StringChunked),
    /// A text field stored as codes into polars' global string mapping ([`Snapshot::compact`]).
    Coded(&'a Categorical32Chunked),
    Day(&'a Int32Chunked),
    Year(&'a Int32Chunked),
    Millis(&'a Int64Chunked),
}

impl<'a> FieldColumn<'a> {
    /// The value at `row` in its canonical text form (ISO dates), `None` if missing.
    pub fn text(&self, row: usize) -> Option<Cow<'a, str>> {
        match self {
            FieldColumn::Text(_) | FieldColumn::Coded(_) => self.str(row).map(Cow::Borrowed),
            FieldColumn::Day(ca) => ca.get(row).map(|d| IsoDate(d).to_string().into()),
            FieldColumn::Year(ca) => ca.get(row).map(|y| y.to_string().into()),
            FieldColumn::Millis(ca) => ca.get(row).map(|t| IsoTimestamp(t).to_string().into()),
        }
    }

    /// Whether `self[row]` equals `other[other_row]` (missing equals missing).
    pub fn same(&self, row: usize, other: &FieldColumn<'_>, other_row: usize) -> bool {
        match (self, other) {
            (FieldColumn::Text(a), FieldColumn::Text(b)) => a.get(row) == b.get(other_row),
            // One mapping for every coded column: equal codes are equal strings.
            (FieldColumn::Coded(a), FieldColumn::Coded(b)) => {
                a.physical().get(row) == b.physical().get(other_row)
            }
            (
                FieldColumn::Text(_) | FieldColumn::Coded(_),
                FieldColumn::Text(_) | FieldColumn::Coded(_),
            ) => self.str(row) == other.str(other_row),
            (FieldColumn::Day(a), FieldColumn::Day(b))
            | (FieldColumn::Year(a), FieldColumn::Year(b)) => a.get(row) == b.get(other_row),
            (FieldColumn::Millis(a), FieldColumn::Millis(b)) => a.get(row) == b.get(other_row),
            _ => false,
        }
    }

    pub fn day(&self, row: usize) -> Option<i32> {
        match self {
            FieldColumn::Day(ca) | FieldColumn::Year(ca) => ca.get(row),
            _ => None,
        }
    }

    /// The text values at `rows`, in order (`None` for missing; all `None` for a column that
    /// is not text): a block of rows read in one pass.
    pub fn strs(
        &self,
        rows: std::ops::Range<usize>,
    ) -> Box<dyn Iterator<Item = Option<&'a str>> + 'a> {
        match *self {
            FieldColumn::Text(ca) => Box::new(values_at(ca, rows)),
            FieldColumn::Coded(ca) => {
                let mapping = ca.get_mapping();
                Box::new(values_at(ca.physical(), rows).map(move |code| {
                    code.map(|c| {
                        mapping
                            .cat_to_str(c)
                            .expect("a coded column's codes are in its mapping")
                    })
                }))
            }
            _ => Box::new(rows.map(|_| None)),
        }
    }

    pub fn str(&self, row: usize) -> Option<&'a str> {
        match self {
            FieldColumn::Text(ca) => ca.get(row),
            FieldColumn::Coded(ca) => {
                let code = ca.physical().get(row)?;
                Some(
                    ca.get_mapping()
                        .cat_to_str(code)
                        .expect("a coded column's codes are in its mapping"),
                )
            }
            _ => None,
        }
    }
}

/// Marks a row without a verdict.
const NO_VERDICT: u32 = u32::MAX;

/// A verdict on each row's value of a text field, each distinct verdict held once.
pub(crate) struct Judged<V> {
    pub verdicts: Vec<V>,
    /// Each row's verdict in `verdicts`, or [`NO_VERDICT`] where there is none.
    of_row: Vec<u32>,
}

impl<V> Judged<V> {
    /// No verdict on any row: a field the snapshot lacks.
    pub fn none() -> Judged<V> {
        Judged {
            verdicts: Vec::new(),
            of_row: Vec::new(),
        }
    }

    /// Row `row`'s verdict, if it has one.
    pub fn at(&self, row: usize) -> Option<&V> {
        self.verdicts.get(self.index(row)?)
    }

    /// Where row `row`'s verdict is in `verdicts`, if it has one.
    pub fn index(&self, row: usize) -> Option<usize> {
        match *self.of_row.get(row)? {
            NO_VERDICT => None,
            i => Some(i as usize),
        }
    }

    /// The same judgement with each distinct verdict replaced by `f` of it.
    pub fn map<W>(self, f: impl FnMut(V) -> W) -> Judged<W> {
        Judged {
            verdicts: self.verdicts.into_iter().map(f).collect(),
            of_row: self.of_row,
        }
    }
}

/// `judge` of every row's value of a text field (a missing value has no verdict). It runs
/// once per distinct value where the column is coded ([`Snapshot::compact`]): a register of a
/// million voters holds a few thousand distinct given names, and judging each of four name
/// fields on every row was a seventh of `scan`'s time.
pub(crate) fn judge_texts<V: Send>(
    column: FieldColumn<'_>,
    rows: usize,
    judge: impl Fn(&str) -> Option<V> + Sync,
) -> Judged<V> {
    let mut of_row = vec![NO_VERDICT; rows];
    let mut verdicts = Vec::new();
    match column {
        FieldColumn::Coded(ca) => {
            let codes: Vec<Option<u32>> = values_at(ca.physical(), 0..rows).collect();
            let top = codes.iter().flatten().max().map_or(0, |&c| c as usize + 1);
            let mut seen = vec![false; top];
            let mut distinct = Vec::new();
            for &c in codes.iter().flatten() {
                if !std::mem::replace(&mut seen[c as usize], true) {
                    distinct.push(c);
                }
            }
            let mapping = ca.get_mapping();
            let judged: Vec<(u32, V)> = distinct
                .into_par_iter()
                .filter_map(|c| {
                    let text = mapping
                        .cat_to_str(c)
                        .expect("a coded column's codes are in its mapping");
                    judge(text).map(|v| (c, v))
                })
                .collect();
            let mut of_code = vec![NO_VERDICT; top];
            for (c, v) in judged {
                of_code[c as usize] = verdicts.len() as u32;
                verdicts.push(v);
            }
            for (slot, code) in of_row.iter_mut().zip(codes) {
                if let Some(c) = code {
                    *slot = of_code[c as usize];
                }
            }
        }
        FieldColumn::Text(ca) => {
            let values: Vec<Option<&str>> = ca.iter().collect();
            let judged: Vec<(usize, V)> = values
                .par_iter()
                .enumerate()
                .filter_map(|(row, v)| Some((row, judge((*v)?)?)))
                .collect();
            for (row, v) in judged {
                of_row[row] = verdicts.len() as u32;
                verdicts.push(v);
            }
        }
        _ => {}
    }
    Judged { verdicts, of_row }
}

/// The text fields [`Snapshot::compact`] stores as codes: those whose values repeat in any
/// register (names, the parts of an address but not its whole line, areas, status, party,
/// operator accounts). A value's 16-byte Arrow view becomes a 4-byte code: at 10,000,000 voters these
/// seventeen columns took about 2.7 GB of views, and a coded snapshot is about 1.9 GB smaller
/// (measured: 4.15 GB to 2.27 GB RSS for sixteen of them). Fields unique per voter (ids, the
/// address line, phone, email) stay text: coding them would add a mapping entry per row.
pub const CODED_FIELDS: [Field; 17] = [
    Field::GivenName,
    Field::MiddleName,
    Field::FamilyName,
    Field::NameSuffix,
    Field::Sex,
    Field::HouseNumber,
    Field::Street,
    Field::Unit,
    Field::Locality,
    Field::Postcode,
    Field::Region,
    Field::District,
    Field::Precinct,
    Field::Status,
    Field::StatusReason,
    Field::Party,
    Field::ChangedBy,
];

impl Snapshot {
    /// Typed access to a field's column; `None` when the snapshot lacks the field.
    pub fn column(&self, field: Field) -> Option<FieldColumn<'_>> {
        let c = self.df.column(field.name()).ok()?;
        Some(match field.kind() {
            FieldKind::Text | FieldKind::Status if c.dtype().is_categorical() => {
                FieldColumn::Coded(c.cat32().ok()?)
            }
            FieldKind::Text | FieldKind::Status => FieldColumn::Text(c.str().ok()?),
            FieldKind::Date => FieldColumn::Day(c.date().ok()?.physical()),
            FieldKind::Year => FieldColumn::Year(c.i32().ok()?),
            FieldKind::Timestamp => FieldColumn::Millis(c.datetime().ok()?.physical()),
        })
    }

    /// A text field's values in row order, `None` when the snapshot lacks the field. One pass
    /// over the column: reading row by row walks polars' list of chunks for every value.
    pub fn texts(&self, field: Field) -> Option<Vec<Option<&str>>> {
        match self.column(field)? {
            FieldColumn::Text(ca) => Some(ca.iter().collect()),
            coded @ FieldColumn::Coded(_) => Some(coded.strs(0..self.rows()).collect()),
            _ => None,
        }
    }

    /// Stores the [`CODED_FIELDS`] the snapshot has as codes into polars' global string
    /// mapping, shared by every snapshot, so that equal strings have equal codes across
    /// snapshots. Values read the same through [`FieldColumn`]; nothing orders by code.
    /// The columns are coded on every core, and the views they replace are returned to the
    /// operating system.
    pub fn compact(&mut self) {
        compact_frame(&mut self.df);
        release_freed_memory();
    }

    /// Every field's column, indexed by [`Field::index`]: one lookup per field instead of one
    /// per value, for loops that read many values.
    pub fn columns(&self) -> Vec<Option<FieldColumn<'_>>> {
        Field::ALL.iter().map(|&f| self.column(f)).collect()
    }

    /// The `voter_id` column.
    pub fn voter_ids(&self) -> &StringChunked {
        self.df
            .column(Field::VoterId.name())
            .and_then(|c| c.str())
            .expect("a snapshot always has a text voter_id column")
    }
}

/// The values of `ca` at `rows`, in order, in one pass over the arrays that hold them
/// (`get` searches polars' list of chunks for every row): for loops over a block of rows.
pub fn values_at<'a, T>(
    ca: &'a ChunkedArray<T>,
    rows: std::ops::Range<usize>,
) -> impl Iterator<Item = Option<T::Physical<'a>>> + 'a
where
    T: PolarsDataType,
{
    arrays_at(ca, rows).flat_map(|(array, at)| at.map(move |i| array.get(i)))
}

/// The arrays of `ca` that hold `rows`, each with the positions of those rows in it.
pub fn arrays_at<'a, T>(
    ca: &'a ChunkedArray<T>,
    rows: std::ops::Range<usize>,
) -> impl Iterator<Item = (&'a T::Array, std::ops::Range<usize>)> + 'a
where
    T: PolarsDataType,
{
    let (mut skip, mut take) = (rows.start, rows.len());
    ca.downcast_iter()
        .zip(ca.chunk_lengths())
        .map(move |(array, n)| {
            let from = skip.min(n);
            let len = take.min(n - from);
            skip -= from;
            take -= len;
            (array, from..from + len)
        })
        .filter(|(_, at)| !at.is_empty())
}

/// [`Snapshot::compact`] on a frame of snapshot columns (a row group being loaded, say), its
/// columns coded on every core.
pub(crate) fn compact_frame(df: &mut DataFrame) {
    let coded = DataType::from_categories(Categories::global());
    let columns: Vec<_> = df
        .columns()
        .par_iter()
        .filter_map(|c| coded_column(c, &coded))
        .collect();
    for c in columns {
        df.with_column(c)
            .expect("a coded column has its text column's name and height");
    }
}

/// [`Snapshot::compact`] on the columns of a batch being converted, in place, on the calling
/// thread (the batches are converted on every core already).
pub(crate) fn code_columns(columns: &mut [Column]) {
    let coded = DataType::from_categories(Categories::global());
    for c in columns.iter_mut() {
        if let Some(new) = coded_column(c, &coded) {
            *c = new;
        }
    }
}

/// `c` coded into `dtype`'s mapping when it is one of the [`CODED_FIELDS`] and still text.
fn coded_column(c: &Column, dtype: &DataType) -> Option<Column> {
    if !CODED_FIELDS.iter().any(|f| f.name() == c.name().as_str()) {
        return None;
    }
    Some(code(c.str().ok()?, dtype))
}

/// `ca` as codes into the mapping of `dtype` (a categorical type). A value of at most 12
/// bytes is held whole in its 16-byte Arrow view, so equal views are equal values: each
/// column keeps its own table from view to code, and asks the shared mapping (a concurrent
/// table hashing the string) once per distinct value instead of once per row. polars' own
/// cast, which asks it for every row, took about 5 s a 10M-voter snapshot.
fn code(ca: &StringChunked, dtype: &DataType) -> Column {
    let DataType::Categorical(_, mapping) = dtype else {
        unreachable!("codes go into a categorical type's mapping")
    };
    let insert = |s: &str| {
        mapping
            .insert_cat(s)
            .expect("a register's values number fewer than 2^32")
    };
    let mut by_view: HashMap<u128, u32, foldhash::fast::RandomState> = HashMap::default();
    let mut codes: Vec<Option<u32>> = Vec::with_capacity(ca.len());
    for array in ca.downcast_iter() {
        let views = array.views();
        for (i, value) in array.iter().enumerate() {
            codes.push(value.map(|s| {
                match views[i].length <= 12 {
                    true => *by_view
                        .entry(views[i].as_u128())
                        .or_insert_with(|| insert(s)),
                    false => insert(s),
                }
            }));
        }
    }
    let ids = UInt32Chunked::from_iter_options(ca.name().clone(), codes.into_iter());
    Categorical32Chunked::from_cats_and_dtype(ids, dtype.clone())
        .into_series()
        .into_column()
}

/// Makes each column of `df` that is in chunks and passes `glue` contiguous, one column at a
/// time: each replaces its chunks before the next is copied (polars' `rechunk_mut` held the
/// whole frame twice), and the replaced chunks' pages are returned after each, because glibc
/// does not reuse their small blocks for the next column's copy (returned once at the end, a
/// 1,000,000-row audit peaked 70 MB higher).
pub(crate) fn glue_columns(
    df: &mut DataFrame,
    glue: impl Fn(&Column) -> bool,
) -> polars::prelude::PolarsResult<()> {
    let names: Vec<_> = df
        .columns()
        .iter()
        .filter(|c| c.n_chunks() > 1 && glue(c))
        .map(|c| c.name().clone())
        .collect();
    for name in names {
        let glued = df.column(&name)?.rechunk();
        df.with_column(glued)?;
        release_freed_memory();
    }
    Ok(())
}

/// Returns the memory freed so far to the operating system. glibc keeps freed blocks below its
/// (self-raising) mmap threshold in its heaps, so the views a compaction frees would still
/// count in the process's resident memory without it.
pub(crate) fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: malloc_trim only returns unused heap pages; it takes no pointers.
        unsafe {
            malloc_trim(0);
        }
    }
}

fn fingerprints(df: &DataFrame) -> &[u64] {
    df.column(FINGERPRINT_COLUMN)
        .and_then(|c| c.u64())
        .ok()
        .and_then(|ca| ca.cont_slice().ok())
        .expect("a snapshot has one contiguous, null-free _fingerprint column")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_kept_are_numbered_in_order_and_others_are_refused() {
        let kept = Renumbered::new(&[2, 5, 9]);
        assert_eq!([2, 5, 9].map(|r| kept.at(r)), [0, 1, 2]);
        for missing in [0, 3, 10] {
            let refused = std::panic::catch_unwind(|| kept.at(missing));
            assert!(refused.is_err(), "row {missing} was not kept");
        }
    }

    #[test]
    fn digest_ignores_order_but_not_multiplicity() {
        let a = Digest::of(&[1, 2, 3]);
        assert_eq!(a, Digest::of(&[3, 1, 2]));
        assert_ne!(a, Digest::of(&[1, 2, 3, 3]));
        assert_ne!(Digest::of(&[5, 5]), Digest::of(&[]));
        assert_ne!(a, Digest::of(&[1, 2, 4]));
    }
}
