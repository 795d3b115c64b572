//! Delimited text (CSV, TSV, any one-byte delimiter) into converted batches, on every core.
//!
//! The text is cut into batches of [`BATCH_ROWS`] records by a quote-aware pre-scan
//! ([`batch_starts`]), then each batch is split into fields with the `csv` crate (quoted fields
//! may hold delimiters and newlines; `\n`, `\r\n` and `\r` all end a record), typed and
//! fingerprinted on its own rayon task. The layout is resolved once from the header (or, for
//! headerless files, from the profile's positions and the first row's width).
//!
//! The pre-scan visits only quote characters and line breaks, so it runs at memory speed on
//! one core while the splitting, which copies every field, runs on all of them. It follows the
//! `csv` reader's own state machine for where a record starts, and each batch's reader checks
//! it: a batch that does not hold exactly the records the pre-scan promised sends the whole
//! input through one reader instead (the one-thread path), so a disagreement can cost time but
//! never a row. The fuzz target `split_csv` compares the two on arbitrary bytes.

use std::path::Path;

use rayon::prelude::*;

use super::convert::{checked_fields, BatchConverter, ConvertedBatch, Layout, BATCH_ROWS};
use super::table::{raw_text, LoadedTable, SourceText};
use super::{LoadError, Progress};
use crate::model::Field;
use crate::profile::{ColumnRef, JoinPart, Profile};

/// Records of one batch, copied out of the reader.
struct RecordBatch {
    /// All fields of all records, back to back.
    data: Vec<u8>,
    /// End offset in `data` of every field.
    ends: Vec<usize>,
    /// Per record: (first field index in `ends`, field count, line, byte start, byte end).
    records: Vec<(usize, usize, u64, usize, usize)>,
}

pub(crate) fn read(
    text: Vec<u8>,
    encoding: &'static str,
    path: &Path,
    profile: &Profile,
    progress: &dyn Progress,
    coded: bool,
) -> Result<LoadedTable, LoadError> {
    let batching = Batching {
        rows: BATCH_ROWS,
        parallel: true,
        coded,
    };
    read_in_batches(text, encoding, path, profile, progress, batching)
}

/// How [`read_in_batches`] converts: records per batch, on every core or on one, and whether
/// each batch's repeating text fields are coded as it is finished ([`Layout::coded`]).
#[derive(Clone, Copy)]
struct Batching {
    rows: usize,
    parallel: bool,
    coded: bool,
}

/// [`read`] with `batching.rows` records per batch; `parallel: false` takes the one-thread
/// path.
fn read_in_batches(
    text: Vec<u8>,
    encoding: &'static str,
    path: &Path,
    profile: &Profile,
    progress: &dyn Progress,
    batching: Batching,
) -> Result<LoadedTable, LoadError> {
    let Batching {
        rows: batch_rows,
        parallel,
        coded,
    } = batching;
    progress.start(text.len() as u64);
    let io_err = |e: csv::Error| LoadError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    };
    let mut rdr = reader(profile.delimiter, profile.quote, &text[..]);
    let mut record = csv::ByteRecord::new();
    let (layout, unmapped, body) = if profile.header {
        if !rdr.read_byte_record(&mut record).map_err(io_err)? {
            return Err(LoadError::Empty {
                path: path.to_path_buf(),
            });
        }
        let names = record
            .iter()
            .map(|f| std::str::from_utf8(f).map(|s| s.trim().to_string()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| LoadError::HeaderEncoding {
                path: path.to_path_buf(),
            })?;
        let (layout, unmapped) = resolve_layout(Some(&names), names.len(), profile, path)?;
        (layout, unmapped, rdr.position().byte() as usize)
    } else {
        // Headerless: the first row's width is the file's width.
        let width = if rdr.read_byte_record(&mut record).map_err(io_err)? {
            record.len()
        } else {
            0
        };
        let (layout, unmapped) = resolve_layout(None, width, profile, path)?;
        (layout, unmapped, 0)
    };
    let layout = Layout { coded, ..layout };
    let body = body.min(text.len());
    let first_line = 1 + count_breaks(&text, 0, body);
    let parsed = match parallel {
        true => in_parallel(
            &text,
            (body, first_line),
            batch_rows,
            &layout,
            profile,
            progress,
        )
        .map_err(io_err)?,
        false => None,
    };
    let (parsed, rows_read) = match parsed {
        Some(parsed) => parsed,
        None => {
            let whole = parse_range(
                &text,
                (body, first_line),
                text.len(),
                batch_rows,
                &layout,
                profile,
            );
            progress.advance((text.len() - body) as u64);
            whole.map_err(io_err)?
        }
    };
    let ranges = parsed
        .iter()
        .flat_map(|b: &ConvertedBatch| b.ranges.iter().copied())
        .collect();
    Ok(LoadedTable {
        batches: parsed,
        text: Some(SourceText { text, ranges }),
        encoding,
        rows_read,
        layout,
        unmapped,
    })
}

/// The batches of [`batch_starts`], each split and converted on its own task; `None` when a
/// batch does not hold exactly the records the pre-scan promised (then the caller reads the
/// text with one reader).
fn in_parallel(
    text: &[u8],
    body: (usize, u64),
    batch_rows: usize,
    layout: &Layout,
    profile: &Profile,
    progress: &dyn Progress,
) -> Result<Option<(Vec<ConvertedBatch>, u64)>, csv::Error> {
    let starts = batch_starts(text, body, profile, batch_rows);
    let ends: Vec<usize> = starts
        .iter()
        .skip(1)
        .map(|s| s.0)
        .chain([text.len()])
        .collect();
    let parts: Vec<(Vec<ConvertedBatch>, u64)> = starts
        .par_iter()
        .zip(&ends)
        .map(|(&start, &end)| {
            let part = parse_range(text, start, end, batch_rows, layout, profile);
            progress.advance((end - start.0) as u64);
            part
        })
        .collect::<Result<_, _>>()?;
    // Every batch but the last must hold exactly `batch_rows` records, in one piece.
    let agreed = parts.iter().enumerate().all(|(i, (batches, read))| {
        batches.len() <= 1 && (i + 1 == parts.len() || *read == batch_rows as u64)
    });
    Ok(agreed.then(|| {
        let rows_read = parts.iter().map(|p| p.1).sum();
        (parts.into_iter().flat_map(|p| p.0).collect(), rows_read)
    }))
}

fn reader(delimiter: u8, quote: u8, text: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .quote(quote)
        .has_headers(false)
        .flexible(true)
        .from_reader(text)
}

/// Splits `text[start.0..end]` into records with one reader, converting every `batch_rows`
/// of them into a batch; returns the batches and the records read. `start` is the byte where
/// the range starts and its line.
fn parse_range(
    text: &[u8],
    start: (usize, u64),
    end: usize,
    batch_rows: usize,
    layout: &Layout,
    profile: &Profile,
) -> Result<(Vec<ConvertedBatch>, u64), csv::Error> {
    let base = start.0;
    let mut rdr = reader(profile.delimiter, profile.quote, &text[base..end]);
    let mut record = csv::ByteRecord::new();
    let mut lines = LineCounter {
        pos: base,
        line: start.1,
    };
    let mut batches = Vec::new();
    let mut batch = new_batch(batch_rows);
    let mut rows_read = 0u64;
    while rdr.read_byte_record(&mut record)? {
        let record_end = base + rdr.position().byte() as usize;
        let at = record.position().map(|p| base + p.byte() as usize);
        let (record_start, line) = lines.record_start(text, at, record_end);
        let first = batch.ends.len();
        let offset = batch.data.len();
        batch.data.extend_from_slice(record.as_slice());
        let mut prev = 0;
        for field in record.iter() {
            prev += field.len();
            batch.ends.push(offset + prev);
        }
        batch
            .records
            .push((first, record.len(), line, record_start, record_end));
        rows_read += 1;
        if batch.records.len() == batch_rows {
            batches.push(convert_batch(&batch, text, layout, profile));
            batch = new_batch(batch_rows);
        }
    }
    if !batch.records.is_empty() {
        batches.push(convert_batch(&batch, text, layout, profile));
    }
    Ok((batches, rows_read))
}

/// Line breaks in `text[from..to]` as [`LineCounter`] counts them: every `\n`, and every `\r`
/// not followed by one.
pub(super) fn count_breaks(text: &[u8], from: usize, to: usize) -> u64 {
    memchr::memchr2_iter(b'\n', b'\r', &text[from..to])
        .filter(|&i| text[from + i] == b'\n' || text.get(from + i + 1) != Some(&b'\n'))
        .count() as u64
}

/// Where every `every`-th record from `from` (a byte and its line) starts, as the `csv` reader
/// would find them: the byte of its first character and the line it is on.
///
/// Only quotes and line breaks are visited. A record starts at the first byte after a line
/// break (blank lines are skipped). Outside quotes, a quote opens a quoted field only at the
/// start of a field (after a delimiter or a line break, or the record's first byte): elsewhere
/// it is a plain character. Inside, a doubled quote is one quote and a single one closes the
/// field; line breaks inside are part of the field but still count as lines. This is the
/// `csv` reader's state machine (csv-core's `StartRecord`, `StartField`, `InField`,
/// `InQuotedField` and `InDoubleEscapedQuote`) reduced to what decides where records start.
fn batch_starts(
    text: &[u8],
    from: (usize, u64),
    profile: &Profile,
    every: usize,
) -> Vec<(usize, u64)> {
    let (delimiter, quote) = (profile.delimiter, profile.quote);
    let mut starts = Vec::new();
    if matches!(quote, b'\n' | b'\r') || matches!(delimiter, b'\n' | b'\r') || delimiter == quote {
        // Not a layout the reduced state machine covers: one range, one reader.
        starts.push(from);
        return starts;
    }
    let (mut line, mut records) = (from.1, 0usize);
    // Where the next record may start (after the last line break outside quotes).
    let mut next = from.0;
    let (mut in_record, mut in_quotes) = (false, false);
    let mut skip = 0; // the second quote of a doubled quote, already handled
    let mut begin = |at: usize, line: u64, records: &mut usize| {
        if records.is_multiple_of(every) {
            starts.push((at, line));
        }
        *records += 1;
    };
    for i in memchr::memchr3_iter(quote, b'\n', b'\r', &text[from.0..]).map(|i| from.0 + i) {
        if i < skip {
            continue;
        }
        let byte = text[i];
        if !in_record && i > next {
            // Ordinary bytes before this one: a record started at `next`.
            begin(next, line, &mut records);
            in_record = true;
        }
        if byte == quote {
            if in_quotes {
                if text.get(i + 1) == Some(&quote) {
                    skip = i + 2;
                } else {
                    in_quotes = false;
                }
            } else if !in_record {
                begin(i, line, &mut records);
                (in_record, in_quotes) = (true, true);
            } else if matches!(text[i - 1], b'\n' | b'\r') || text[i - 1] == delimiter {
                in_quotes = true;
            }
            continue;
        }
        // A line break.
        if byte == b'\n' || text.get(i + 1) != Some(&b'\n') {
            line += 1;
        }
        if !in_quotes {
            in_record = false;
            next = i + 1;
        }
    }
    if !in_record && next < text.len() {
        begin(next, line, &mut records);
    }
    if starts.is_empty() {
        starts.push(from);
    }
    starts
}

/// Where a record starts: its first byte and its line.
pub type RecordStart = (usize, u64);

/// Every record start of `text` from `from` (see [`batch_starts`]), for reading a text in
/// pieces (`pieces.rs`).
pub(super) fn record_starts(text: &[u8], from: RecordStart, profile: &Profile) -> Vec<RecordStart> {
    batch_starts(text, from, profile, 1)
}

/// Where the first record of `text` ends, line break included, as the `csv` reader finds it:
/// the end of a header.
pub(super) fn first_record_end(text: &[u8], profile: &Profile) -> usize {
    let mut rdr = reader(profile.delimiter, profile.quote, text);
    let mut record = csv::ByteRecord::new();
    match rdr.read_byte_record(&mut record) {
        Ok(true) => (rdr.position().byte() as usize).min(text.len()),
        _ => text.len(),
    }
}

/// The record starts of [`batch_starts`] and those one `csv` reader finds reading the whole
/// text: every `every`-th record's byte and line, both ways. For the `split_csv` fuzz target
/// and the tests, which require the two to be equal.
#[doc(hidden)]
pub fn batch_starts_both_ways(
    text: &[u8],
    delimiter: u8,
    quote: u8,
    every: usize,
) -> (Vec<RecordStart>, Vec<RecordStart>) {
    // The csv reader drops a byte-order mark at the very start; the loader never gives it one
    // (decoding drops it), so neither does this comparison.
    let text = text.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(text);
    let profile = Profile {
        delimiter,
        quote,
        ..Profile::canonical()
    };
    let every = every.max(1);
    let scanned = batch_starts(text, (0, 1), &profile, every);
    let mut rdr = reader(delimiter, quote, text);
    let mut record = csv::ByteRecord::new();
    let mut lines = LineCounter { pos: 0, line: 1 };
    let mut read = Vec::new();
    let mut k = 0usize;
    while rdr.read_byte_record(&mut record).unwrap_or(false) {
        let end = rdr.position().byte() as usize;
        let start = lines.record_start(text, record.position().map(|p| p.byte() as usize), end);
        if k.is_multiple_of(every) {
            read.push(start);
        }
        k += 1;
    }
    if read.is_empty() {
        read.push((0, 1));
    }
    (scanned, read)
}

/// Line numbers of records, counted from the text itself.
///
/// The csv reader's position counts only `\n`, so in a file whose rows end in a bare `\r` (old
/// Mac exports, or one pasted row among `\r\n` rows) every later row would be numbered too
/// low, down to every row of a `\r`-only file on line 1. Rows end at `\n`, `\r\n` and `\r`
/// alike, so lines are counted the same way: from one record's start to the next, quoted line
/// breaks included, as an editor shows them.
struct LineCounter {
    /// Where the previous record started (the range's start before the first).
    pos: usize,
    /// The line `pos` is on.
    line: u64,
}

impl LineCounter {
    /// Where a record really starts, and its line, from the reader's record position `at` (a
    /// byte of `text`). That position can point at the line terminator (or blank lines) before
    /// the record; those are skipped.
    fn record_start(&mut self, text: &[u8], at: Option<usize>, end: usize) -> (usize, u64) {
        let mut start = at.unwrap_or(0).max(self.pos);
        while start < end && matches!(text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        self.line += count_breaks(text, self.pos, start);
        self.pos = start;
        (start, self.line)
    }
}

fn new_batch(rows: usize) -> RecordBatch {
    RecordBatch {
        data: Vec::new(),
        ends: Vec::new(),
        records: Vec::with_capacity(rows.min(BATCH_ROWS)),
    }
}

fn convert_batch(
    batch: &RecordBatch,
    text: &[u8],
    layout: &Layout,
    profile: &Profile,
) -> ConvertedBatch {
    let mut conv = BatchConverter::new(profile, layout, batch.records.len());
    let mut fields: Vec<&[u8]> = Vec::with_capacity(layout.width);
    let mut checked: Vec<&str> = Vec::with_capacity(layout.width);
    let mut ends: Vec<usize> = Vec::with_capacity(layout.width);
    for &(first, count, line, start, end) in &batch.records {
        let raw = || raw_text(text, start, end);
        let from = if first == 0 { 0 } else { batch.ends[first - 1] };
        let record_ends = &batch.ends[first..first + count];
        let data = &batch.data[from..record_ends.last().map_or(from, |&e| e)];
        ends.clear();
        ends.extend(record_ends.iter().map(|&e| e - from));
        if checked_fields(data, &ends, &mut checked) {
            conv.push_row(&checked[..], line, (start, end), raw);
            continue;
        }
        fields.clear();
        let mut at = 0;
        for &to in &ends {
            fields.push(&data[at..to]);
            at = to;
        }
        conv.push_row(&fields[..], line, (start, end), raw);
    }
    conv.finish()
}

/// Resolves which source column feeds each canonical field. `header` is `None` for headerless
/// files, whose profile must give positions.
pub(crate) fn resolve_layout(
    header: Option<&[String]>,
    width: usize,
    profile: &Profile,
    path: &Path,
) -> Result<(Layout, Vec<String>), LoadError> {
    let position_of = |name: &str| -> Result<Option<usize>, LoadError> {
        let Some(header) = header else {
            return Ok(None);
        };
        let mut hits = header
            .iter()
            .enumerate()
            .filter(|(_, h)| h.eq_ignore_ascii_case(name))
            .map(|(i, _)| i);
        match (hits.next(), hits.next()) {
            (Some(first), Some(second)) => Err(LoadError::DuplicateColumn {
                path: path.to_path_buf(),
                column: name.to_string(),
                first: first + 1,
                second: second + 1,
            }),
            (first, _) => Ok(first),
        }
    };
    let mut sources = Vec::new();
    let mut joins: Vec<(Field, Vec<usize>)> = Vec::new();
    let mut age_on = None;
    if profile.columns.is_empty() {
        for field in Field::ALL {
            if let Some(i) = position_of(field.name())? {
                sources.push((field, i));
            }
        }
    } else {
        for (&field, column) in &profile.columns {
            let found = match column {
                ColumnRef::Names(names) => {
                    let mut found = None;
                    for name in names {
                        if let Some(i) = position_of(name)? {
                            found = Some(i);
                            break;
                        }
                    }
                    found
                }
                ColumnRef::Position(p) => (*p <= width).then(|| p - 1),
                // Spans cut lines of fixed-width text (`fixed.rs`), never delimited fields.
                ColumnRef::Span { .. } => None,
                ColumnRef::AgeOn { age, on, .. } => {
                    if let (Some(a), Some(o)) = (position_of(age)?, position_of(on)?) {
                        age_on = Some((a, o));
                    }
                    continue;
                }
                ColumnRef::Join(join) => {
                    let mut parts = Vec::new();
                    for part in join {
                        match part {
                            JoinPart::Name(name) => parts.extend(position_of(name)?),
                            JoinPart::Position(p) if *p <= width => parts.push(p - 1),
                            JoinPart::Position(_) => {
                                return Err(LoadError::MissingColumn {
                                    path: path.to_path_buf(),
                                    field: field.name(),
                                    column: format!("{part}, but rows have {width} columns"),
                                })
                            }
                            // Spans cut fixed-width lines (`fixed.rs`); a profile never mixes.
                            JoinPart::Span { .. } => {}
                        }
                    }
                    if !parts.is_empty() {
                        joins.push((field, parts));
                    }
                    continue;
                }
            };
            match found {
                Some(i) => sources.push((field, i)),
                None if field == Field::VoterId => {}
                None if matches!(column, ColumnRef::Position(_)) => {
                    return Err(LoadError::MissingColumn {
                        path: path.to_path_buf(),
                        field: field.name(),
                        column: format!("{column}, but rows have {width} columns"),
                    })
                }
                None => {}
            }
        }
    }
    if !sources.iter().any(|(f, _)| *f == Field::VoterId) {
        let column = profile
            .columns
            .get(&Field::VoterId)
            .map_or_else(|| "voter_id".to_string(), ToString::to_string);
        return Err(LoadError::MissingColumn {
            path: path.to_path_buf(),
            field: "voter_id",
            column,
        });
    }
    sources.sort();
    let has = |f: Field| {
        sources.iter().any(|(g, _)| *g == f)
            || joins.iter().any(|(g, _)| *g == f)
            || (f == Field::BirthYear && age_on.is_some())
    };
    let derive_birth_year = !has(Field::BirthYear) && has(Field::BirthDate);
    let unmapped = header
        .map(|h| {
            h.iter()
                .enumerate()
                .filter(|(i, _)| {
                    !sources.iter().any(|(_, s)| s == i)
                        && !joins.iter().any(|(_, parts)| parts.contains(i))
                        && age_on.is_none_or(|(a, o)| a != *i && o != *i)
                })
                .map(|(_, name)| name.clone())
                .collect()
        })
        .unwrap_or_default();
    Ok((
        Layout {
            sources,
            joins,
            age_on,
            width,
            derive_birth_year,
            coded: false,
        },
        unmapped,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{NoProgress, Reject};
    use proptest::prelude::*;

    /// Texts made of the bytes that matter to splitting: quotes, delimiters, every line break.
    fn texts() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                Just(b'a'),
                Just(b','),
                Just(b'"'),
                Just(b'\n'),
                Just(b'\r'),
                Just(b' ')
            ],
            0..80,
        )
    }

    proptest! {
        #[test]
        fn the_pre_scan_finds_the_records_the_reader_finds(text in texts(), every in 1usize..4) {
            let (scanned, read) = batch_starts_both_ways(&text, b',', b'"', every);
            prop_assert_eq!(scanned, read);
        }
    }

    /// Everything a load keeps from the text, batch by batch boundaries aside.
    type Rows = (u64, Vec<Reject>, Vec<(usize, usize)>, Vec<u64>, Vec<u64>);

    fn rows(table: &LoadedTable) -> Rows {
        let mut rejects: Vec<Reject> = table
            .batches
            .iter()
            .flat_map(|b| b.rejects.clone())
            .collect();
        rejects.sort_by_key(|r| r.line);
        let all = |f: fn(&ConvertedBatch) -> &Vec<u64>| {
            table
                .batches
                .iter()
                .flat_map(|b| f(b).clone())
                .collect::<Vec<u64>>()
        };
        (
            table.rows_read,
            rejects,
            table.text.as_ref().unwrap().ranges.clone(),
            all(|b| &b.fingerprints),
            all(|b| &b.lines),
        )
    }

    #[test]
    fn batches_in_parallel_load_what_one_reader_loads() {
        // Quoted line breaks, a bare `\r`, `\r\n`, blank lines, a stray quote inside a field,
        // a row of the wrong width and an unterminated last row.
        let text = "voter_id,given_name,family_name\r\n\
                    V1,ANNA,\"SMITH\nJONES\"\n\
                    V2,BO\"B,LEE\r\
                    V3,\"CARL \"\"C\"\"\",KIM\r\n\
                    \n\n\
                    V4,DORA\n\
                    V5,EVE,\"O,NEIL\"\r\n\
                    V6,FAY,\"MORE\r\nLINES\"\n\
                    V7,GUS,WU";
        let profile = Profile::canonical();
        let load = |batch_rows, parallel| {
            let text = text.as_bytes().to_vec();
            read_in_batches(
                text,
                "utf-8",
                Path::new("t.csv"),
                &profile,
                &NoProgress,
                Batching {
                    rows: batch_rows,
                    parallel,
                    coded: false,
                },
            )
            .unwrap()
        };
        let serial = load(BATCH_ROWS, false);
        assert_eq!(serial.rows_read, 7);
        let layout = &serial.layout;
        for batch_rows in 1..=8 {
            let body = text.find('\n').unwrap();
            let split = in_parallel(
                text.as_bytes(),
                (body, 1),
                batch_rows,
                layout,
                &profile,
                &NoProgress,
            );
            assert!(
                split.unwrap().is_some(),
                "the pre-scan and the batches agree"
            );
            let parallel = load(batch_rows, true);
            assert_eq!(parallel.batches.len(), 7usize.div_ceil(batch_rows));
            assert_eq!(
                rows(&parallel),
                rows(&serial),
                "{batch_rows} rows per batch"
            );
        }
    }
}
