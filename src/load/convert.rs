//! Row conversion: source fields -> typed canonical columns, one fingerprint per row.
//!
//! Both the delimited and the columnar readers end here, so a value means the same whatever
//! file it came from. A row is converted whole or rejected whole: its values are staged and
//! only appended to the column builders once every field has parsed.
//!
//! # Value normalisation (what the fingerprint sees)
//! 1. Surrounding whitespace is trimmed.
//! 2. A trimmed value equal to one of the profile's `null_markers` is missing.
//! 3. The profile's value map for the field, if any, replaces the value (an empty target is
//!    missing). `status` must then be one of `active, inactive, removed, pending` (ASCII case
//!    ignored) or the row is rejected.
//! 4. Dates and timestamps are parsed with the field's format; years must be 1 to 4 digits.
//!    A value that does not parse rejects the row (so `03/07/2019` and `2019-03-07` in two
//!    layouts fingerprint alike, and `31/02/2020` never reaches the engine).
//! 5. Case, inner spacing and punctuation are kept: a case change is a change.
//!
//! The fingerprint is xxh3-64 over, for each present non-missing field in canonical order,
//! the field's index (1 byte), the value's length (4 bytes LE) and its bytes (UTF-8 for text,
//! little-endian `i32` days / year or `i64` milliseconds). Missing and absent fields contribute
//! nothing, so a column that exists on one side only, empty, does not change any fingerprint.

use polars::prelude::{
    Column, Int32Chunked, Int64Chunked, IntoColumn, NewChunkedArray, StringChunkedBuilder, TimeUnit,
};
use xxhash_rust::xxh3::xxh3_64;

use super::{Reject, RejectReason};
use crate::dates::DateFormat;
use crate::model::{Field, FieldKind, Status};
use crate::profile::{ColumnRef, Profile};

/// Which source column feeds each present canonical field.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// (field, source column index), in canonical field order.
    pub sources: Vec<(Field, usize)>,
    /// (field, source columns) of the fields joined from several columns with single spaces,
    /// empty parts skipped (a profile's `{ join = [...] }`).
    pub joins: Vec<(Field, Vec<usize>)>,
    /// (age column, date column) when `birth_year` is derived from an age taken on a date (a
    /// profile's `{ age = ..., on = ... }`).
    pub age_on: Option<(usize, usize)>,
    /// The number of fields every row must have.
    pub width: usize,
    /// `birth_year` is absent in the source but derived from `birth_date`.
    pub derive_birth_year: bool,
    /// Each batch's [`CODED_FIELDS`](crate::snapshot::CODED_FIELDS) are coded as the batch is
    /// finished ([`crate::snapshot::Snapshot::compact`]), so that a load for the audit never
    /// holds the whole snapshot uncoded.
    pub coded: bool,
}

impl Layout {
    /// The canonical fields a loaded snapshot will have, in order.
    pub fn fields(&self) -> Vec<Field> {
        let mut fields: Vec<Field> = self.sources.iter().map(|(f, _)| *f).collect();
        fields.extend(self.joins.iter().map(|(f, _)| *f));
        if self.age_on.is_some() {
            fields.push(Field::BirthYear);
        }
        if self.derive_birth_year {
            fields.push(Field::BirthYear);
        }
        fields.sort();
        fields
    }
}

/// A converted value, as the fingerprint hashes it ([`hash_value`]).
#[derive(Clone, Copy)]
pub(crate) enum Value<'a> {
    Missing,
    Text(&'a str),
    Day(i32),
    Year(i32),
    Millis(i64),
}

/// Per-field conversion plan, resolved once from the profile.
struct Plan<'p> {
    field: Field,
    source: usize,
    /// The columns joined into this field, when it is joined (`source` is then unused).
    parts: Vec<usize>,
    /// (age column, date column) of a `birth_year` derived from an age (`source` unused).
    age_on: Option<(usize, usize)>,
    map: Option<&'p std::collections::BTreeMap<String, String>>,
    format: Option<&'p DateFormat>,
}

/// Rows per conversion task (a batch), for every reader: large enough to amortise a rayon
/// task, small enough that a few batches in flight stay a few MB.
pub(crate) const BATCH_ROWS: usize = 16_384;

/// Converts rows into column builders. One per batch; batches run in parallel.
pub(crate) struct BatchConverter<'p> {
    profile: &'p Profile,
    plans: Vec<Plan<'p>>,
    width: usize,
    /// Some field is joined from several columns.
    joins: bool,
    derive_birth_year: bool,
    builders: Vec<Builder>,
    derived_years: Vec<Option<i32>>,
    fingerprints: Vec<u64>,
    lines: Vec<u64>,
    rejects: Vec<Reject>,
    ranges: Vec<(usize, usize)>,
    hash_buf: Vec<u8>,
    coded: bool,
}

/// What a batch produced: accepted rows as canonical columns (canonical order, no
/// `_fingerprint`), their fingerprints and source lines, and the rejected rows.
pub(crate) struct ConvertedBatch {
    pub columns: Vec<Column>,
    pub fingerprints: Vec<u64>,
    pub lines: Vec<u64>,
    pub rejects: Vec<Reject>,
    /// Source byte range of each accepted row.
    pub ranges: Vec<(usize, usize)>,
}

enum Builder {
    Text(StringChunkedBuilder),
    Day(Vec<Option<i32>>),
    Year(Vec<Option<i32>>),
    Millis(Vec<Option<i64>>),
}

impl<'p> BatchConverter<'p> {
    pub fn new(profile: &'p Profile, layout: &Layout, capacity: usize) -> Self {
        assert!(
            layout.sources.len() <= Field::ALL.len(),
            "a layout maps each canonical field at most once"
        );
        let mut plans: Vec<Plan> = layout
            .sources
            .iter()
            .map(|&(field, source)| (field, source, Vec::new(), None))
            .chain(
                layout
                    .joins
                    .iter()
                    .map(|(f, parts)| (*f, 0, parts.clone(), None)),
            )
            .chain(
                layout
                    .age_on
                    .map(|a| (Field::BirthYear, 0, Vec::new(), Some(a))),
            )
            .map(|(field, source, parts, age_on)| Plan {
                field,
                source,
                parts,
                age_on,
                map: profile.values.get(&field),
                format: match (age_on, profile.columns.get(&field)) {
                    (Some(_), Some(ColumnRef::AgeOn { format, .. })) => Some(format),
                    _ => profile.date_formats.get(&field),
                },
            })
            .collect();
        plans.sort_by_key(|p| p.field);
        let joins = !layout.joins.is_empty();
        let builders = plans
            .iter()
            .map(|p| match p.field.kind() {
                FieldKind::Text | FieldKind::Status => {
                    Builder::Text(StringChunkedBuilder::new(p.field.name().into(), capacity))
                }
                FieldKind::Date => Builder::Day(Vec::with_capacity(capacity)),
                FieldKind::Year => Builder::Year(Vec::with_capacity(capacity)),
                FieldKind::Timestamp => Builder::Millis(Vec::with_capacity(capacity)),
            })
            .collect();
        BatchConverter {
            profile,
            coded: layout.coded,
            plans,
            width: layout.width,
            joins,
            derive_birth_year: layout.derive_birth_year,
            builders,
            derived_years: Vec::new(),
            fingerprints: Vec::with_capacity(capacity),
            lines: Vec::with_capacity(capacity),
            rejects: Vec::new(),
            ranges: Vec::with_capacity(capacity),
            hash_buf: Vec::with_capacity(512),
        }
    }

    /// Converts one row given as its source fields (raw bytes, not yet trimmed or decoded).
    /// `raw` renders the row as it appeared in the source, for the rejects file; it is only
    /// called for a rejected row.
    /// `range` is the row's byte range in the source text (kept for accepted rows).
    pub fn push_row<'r, F: SourceFields<'r> + ?Sized>(
        &mut self,
        fields: &F,
        line: u64,
        range: (usize, usize),
        raw: impl FnOnce() -> String,
    ) {
        let mut staged = [Value::Missing; Field::ALL.len()];
        let staged = &mut staged[..self.plans.len()];
        // The joined fields' text lives here, for the staged values to borrow.
        let joined = if fields.count() != self.width {
            Err(RejectReason::FieldCount {
                expected: self.width,
                found: fields.count(),
            })
        } else if self.joins {
            join(&self.plans, fields)
        } else {
            Ok(Vec::new())
        };
        let staged_ok = match &joined {
            Ok(joined) => stage(self.profile, &self.plans, fields, joined, staged),
            Err(reason) => Err(reason.clone()),
        };
        match staged_ok {
            Ok(()) => {
                self.commit(staged, line);
                self.ranges.push(range);
            }
            Err(reason) => self.rejects.push(Reject {
                line,
                reason,
                raw: raw(),
            }),
        }
    }

    fn commit(&mut self, staged: &[Value<'_>], line: u64) {
        self.hash_buf.clear();
        let derived_year = self.derive_birth_year.then(|| {
            self.plans
                .iter()
                .zip(staged)
                .find_map(|(p, v)| match (p.field, v) {
                    (Field::BirthDate, Value::Day(d)) => Some(crate::dates::civil_from_days(*d).0),
                    _ => None,
                })
        });
        let mut year_pending = derived_year;
        for ((plan, value), builder) in self.plans.iter().zip(staged).zip(&mut self.builders) {
            // A derived birth_year sits between birth_date and sex in canonical order.
            if plan.field > Field::BirthYear {
                if let Some(year) = year_pending.take() {
                    hash_value(&mut self.hash_buf, Field::BirthYear, year.map(Value::Year));
                }
            }
            hash_value(&mut self.hash_buf, plan.field, Some(*value));
            match (builder, *value) {
                (Builder::Text(b), Value::Text(s)) => b.append_value(s),
                (Builder::Text(b), _) => b.append_null(),
                (Builder::Day(b), Value::Day(d)) => b.push(Some(d)),
                (Builder::Day(b), _) => b.push(None),
                (Builder::Year(b), Value::Year(y)) => b.push(Some(y)),
                (Builder::Year(b), _) => b.push(None),
                (Builder::Millis(b), Value::Millis(ms)) => b.push(Some(ms)),
                (Builder::Millis(b), _) => b.push(None),
            }
        }
        if let Some(year) = year_pending {
            hash_value(&mut self.hash_buf, Field::BirthYear, year.map(Value::Year));
        }
        if let Some(year) = derived_year {
            self.derived_years.push(year);
        }
        self.fingerprints.push(xxh3_64(&self.hash_buf));
        self.lines.push(line);
    }

    pub fn finish(self) -> ConvertedBatch {
        let mut columns: Vec<(Field, Column)> = self
            .plans
            .iter()
            .zip(self.builders)
            .map(|(plan, b)| (plan.field, finish_builder(plan.field, b)))
            .collect();
        if self.derive_birth_year {
            columns.push((
                Field::BirthYear,
                finish_builder(Field::BirthYear, Builder::Year(self.derived_years)),
            ));
            columns.sort_by_key(|(f, _)| *f);
        }
        let mut columns: Vec<Column> = columns.into_iter().map(|(_, c)| c).collect();
        if self.coded {
            crate::snapshot::code_columns(&mut columns);
        }
        ConvertedBatch {
            columns,
            fingerprints: self.fingerprints,
            lines: self.lines,
            rejects: self.rejects,
            ranges: self.ranges,
        }
    }
}

/// The text of every joined field of a row, one per plan (empty for the others): the
/// non-empty parts, trimmed, joined with single spaces.
fn join<'r, F: SourceFields<'r> + ?Sized>(
    plans: &[Plan<'_>],
    fields: &F,
) -> Result<Vec<String>, RejectReason> {
    let mut joined = vec![String::new(); plans.len()];
    for (plan, out) in plans.iter().zip(&mut joined) {
        for &part in &plan.parts {
            let text = fields.text(part, plan.field)?;
            if !text.is_empty() {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(text);
            }
        }
    }
    Ok(joined)
}

/// A row's source fields as the converter reads them: each one's text, trimmed, or the row's
/// reject reason naming `field` when it is not valid UTF-8 or holds a NUL byte.
pub(crate) trait SourceFields<'r> {
    fn count(&self) -> usize;
    fn text(&self, i: usize, field: Field) -> Result<&'r str, RejectReason>;
}

/// Raw bytes, each field checked as it is read.
impl<'r> SourceFields<'r> for [&'r [u8]] {
    fn count(&self) -> usize {
        self.len()
    }

    fn text(&self, i: usize, field: Field) -> Result<&'r str, RejectReason> {
        field_text(self[i], field)
    }
}

/// Fields already checked, all of a row at once ([`checked_fields`]).
impl<'r> SourceFields<'r> for [&'r str] {
    fn count(&self) -> usize {
        self.len()
    }

    fn text(&self, i: usize, _: Field) -> Result<&'r str, RejectReason> {
        Ok(self[i].trim())
    }
}

/// The fields of a record whose texts lie back to back in `data`, each ending at its offset
/// in `ends`, checked all at once: `false` unless `data` is valid UTF-8 without a NUL byte
/// and every end falls between two characters, when each field passes [`field_text`]'s check
/// on its own (a cut between two characters leaves both sides valid). On `false` the caller
/// checks the fields one by one, which finds the field a reject names.
///
/// One check a record instead of one a field: the fields' UTF-8 and NUL checks, a few bytes
/// each, were a quarter of the conversion's samples (perf, 10,000,000-row CSV).
pub(crate) fn checked_fields<'r>(data: &'r [u8], ends: &[usize], out: &mut Vec<&'r str>) -> bool {
    out.clear();
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    if memchr::memchr(0, data).is_some() {
        return false;
    }
    let mut from = 0;
    for &to in ends {
        match text.get(from..to) {
            Some(field) => out.push(field),
            None => return false,
        }
        from = to;
    }
    true
}

/// A source field's text, trimmed: valid UTF-8 without NUL bytes, else the row's reject
/// reason naming `field`.
fn field_text(bytes: &[u8], field: Field) -> Result<&str, RejectReason> {
    let text = std::str::from_utf8(bytes).map_err(|_| RejectReason::InvalidUtf8 { field })?;
    if text.contains('\0') {
        return Err(RejectReason::NulByte { field });
    }
    Ok(text.trim())
}

/// Converts a row of the layout's width (checked by the caller) into `staged`.
fn stage<'a, 'r: 'a, F: SourceFields<'r> + ?Sized>(
    profile: &'a Profile,
    plans: &[Plan<'a>],
    fields: &F,
    joined: &'a [String],
    staged: &mut [Value<'a>],
) -> Result<(), RejectReason> {
    for (i, (plan, slot)) in plans.iter().zip(staged.iter_mut()).enumerate() {
        if let Some((age, on)) = plan.age_on {
            *slot = year_from_age(profile, plan, fields, (age, on))?;
            continue;
        }
        if !plan.parts.is_empty() {
            *slot = convert_value(profile, plan, &joined[i])?;
            continue;
        }
        let text = fields.text(plan.source, plan.field)?;
        *slot = convert_value(profile, plan, text)?;
        if plan.field == Field::VoterId && matches!(slot, Value::Missing) {
            return Err(RejectReason::EmptyVoterId);
        }
    }
    Ok(())
}

fn finish_builder(field: Field, builder: Builder) -> Column {
    let name = field.name().into();
    match builder {
        Builder::Text(b) => b.finish().into_column(),
        Builder::Day(v) => Int32Chunked::from_iter_options(name, v.into_iter())
            .into_date()
            .into_column(),
        Builder::Year(v) => Int32Chunked::from_iter_options(name, v.into_iter()).into_column(),
        Builder::Millis(v) => Int64Chunked::from_iter_options(name, v.into_iter())
            .into_datetime(TimeUnit::Milliseconds, None)
            .into_column(),
    }
}

/// Appends one field's part of a row fingerprint to `buf` (see the module docs). Public to the
/// crate for a fingerprint taken away from the loader that must equal its (`cluster`).
pub(crate) fn hash_value(buf: &mut Vec<u8>, field: Field, value: Option<Value<'_>>) {
    let mut put = |bytes: &[u8]| {
        buf.push(field.index() as u8);
        buf.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        buf.extend_from_slice(bytes);
    };
    match value {
        None | Some(Value::Missing) => {}
        Some(Value::Text(s)) => put(s.as_bytes()),
        Some(Value::Day(d)) | Some(Value::Year(d)) => put(&d.to_le_bytes()),
        Some(Value::Millis(ms)) => put(&ms.to_le_bytes()),
    }
}

/// Whether `text` is one of the profile's null markers. Lengths are compared first, and an
/// empty value matches the empty marker without a byte comparison: most profiles' only marker is
/// the empty one, and calling `bcmp` for every empty value was 14% of a CSV load's CPU (perf,
/// 1,000,000 generated rows).
fn is_null_marker(profile: &Profile, text: &str) -> bool {
    profile
        .null_markers
        .iter()
        .any(|m| m.len() == text.len() && (text.is_empty() || m == text))
}

fn convert_value<'a>(
    profile: &'a Profile,
    plan: &Plan<'a>,
    text: &'a str,
) -> Result<Value<'a>, RejectReason> {
    if is_null_marker(profile, text) {
        return Ok(Value::Missing);
    }
    let text = match plan.map.and_then(|m| m.get(text)) {
        Some(mapped) if mapped.is_empty() => return Ok(Value::Missing),
        Some(mapped) => mapped.as_str(),
        None => text,
    };
    let field = plan.field;
    match field.kind() {
        FieldKind::Text => Ok(Value::Text(text)),
        FieldKind::Status => Status::ALL
            .iter()
            .find(|s| s.name().eq_ignore_ascii_case(text))
            .map(|s| Value::Text(s.name()))
            .ok_or(RejectReason::UnknownStatus),
        FieldKind::Date => plan
            .format
            .and_then(|f| f.parse_date(text))
            .map(Value::Day)
            .ok_or_else(|| RejectReason::BadDate {
                field,
                format: plan
                    .format
                    .map(|f| f.as_str().to_string())
                    .unwrap_or_default(),
            }),
        FieldKind::Timestamp => plan
            .format
            .and_then(|f| f.parse_timestamp(text))
            .map(Value::Millis)
            .ok_or_else(|| RejectReason::BadDate {
                field,
                format: plan
                    .format
                    .map(|f| f.as_str().to_string())
                    .unwrap_or_default(),
            }),
        FieldKind::Year => parse_year(text)
            .map(Value::Year)
            .ok_or(RejectReason::BadYear),
    }
}

/// The year of the date in `on` minus the whole years in `age`; missing when either is.
fn year_from_age<'r, F: SourceFields<'r> + ?Sized>(
    profile: &Profile,
    plan: &Plan<'_>,
    fields: &F,
    (age, on): (usize, usize),
) -> Result<Value<'static>, RejectReason> {
    let text = |i| -> Result<Option<&str>, RejectReason> {
        let t = fields.text(i, plan.field)?;
        Ok((!is_null_marker(profile, t)).then_some(t))
    };
    let (Some(age), Some(on)) = (text(age)?, text(on)?) else {
        return Ok(Value::Missing);
    };
    let years: i32 =
        match !age.is_empty() && age.len() <= 3 && age.bytes().all(|b| b.is_ascii_digit()) {
            true => age.parse().expect("1 to 3 ASCII digits"),
            false => return Err(RejectReason::BadAge),
        };
    if years > 150 {
        return Err(RejectReason::BadAge);
    }
    let day = plan
        .format
        .and_then(|f| f.parse_date(on))
        .ok_or_else(|| RejectReason::BadDate {
            field: plan.field,
            format: plan
                .format
                .map(|f| f.as_str().to_string())
                .unwrap_or_default(),
        })?;
    Ok(Value::Year(crate::dates::civil_from_days(day).0 - years))
}

fn parse_year(text: &str) -> Option<i32> {
    (!text.is_empty() && text.len() <= 4 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().expect("1 to 4 ASCII digits parse as i32"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The fields of `fields` laid back to back, as the delimited reader holds a record.
    fn laid_out(fields: &[Vec<u8>]) -> (Vec<u8>, Vec<usize>) {
        let mut data = Vec::new();
        let mut ends = Vec::new();
        for f in fields {
            data.extend_from_slice(f);
            ends.push(data.len());
        }
        (data, ends)
    }

    #[test]
    fn a_cut_inside_a_character_is_not_checked_whole() {
        // "é" is C3 A9: the record is valid UTF-8, but each field on its own is not.
        let (data, ends) = laid_out(&[b"ab\xC3".to_vec(), b"\xA9cd".to_vec()]);
        assert!(std::str::from_utf8(&data).is_ok());
        let mut out = Vec::new();
        assert!(!checked_fields(&data, &ends, &mut out));
        let (data, ends) = laid_out(&[b"x\0".to_vec(), b"y".to_vec()]);
        assert!(!checked_fields(&data, &ends, &mut out));
        let (data, ends) = laid_out(&["Ñúñez ".as_bytes().to_vec(), Vec::new(), b"1".to_vec()]);
        assert!(checked_fields(&data, &ends, &mut out));
        assert_eq!(out, ["Ñúñez ", "", "1"]);
    }

    proptest! {
        /// Checked all at once, the fields pass exactly when each passes the one-field check,
        /// and give the same texts.
        #[test]
        fn the_whole_record_check_agrees_with_each_field(
            fields in prop::collection::vec(
                prop::collection::vec(
                    prop::sample::select(vec![b'a', b' ', 0, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xFF]),
                    0..6,
                ),
                1..5,
            )
        ) {
            let (data, ends) = laid_out(&fields);
            let mut out = Vec::new();
            let one_by_one: Vec<Result<&str, RejectReason>> = fields
                .iter()
                .map(|f| field_text(f, Field::GivenName))
                .collect();
            let all_pass = one_by_one.iter().all(Result::is_ok);
            prop_assert_eq!(checked_fields(&data, &ends, &mut out), all_pass);
            if all_pass {
                let trimmed: Vec<&str> = (0..out.len())
                    .map(|i| out[..].text(i, Field::GivenName).expect("checked"))
                    .collect();
                let expected: Vec<&str> = one_by_one.into_iter().map(|r| r.expect("ok")).collect();
                prop_assert_eq!(trimmed, expected);
            }
        }
    }
}
