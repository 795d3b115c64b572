//! Fixed-width text: every record one line, every field a span of characters (some states
//! publish their registers so, the layout document giving each column's start and length).
//!
//! A line is cut by character positions, not bytes, so a Latin-1 name decoded to two UTF-8
//! bytes does not shift the columns after it. A line shorter than a span gives an empty
//! value (exports often drop trailing blanks); characters past the last span are ignored.
//! Blank lines are not rows; `\n` and `\r\n` end a line. A field joined from several spans
//! (an address published as parts) is cut span by span and joined as delimited parts are.
//! Rows are converted in batches on every core, with the same conversion, fingerprints and
//! rejects as delimited text.

use std::path::Path;

use rayon::prelude::*;

use super::convert::{BatchConverter, ConvertedBatch, Layout, BATCH_ROWS};
use super::table::{raw_text, LoadedTable, SourceText};
use super::{LoadError, Progress};
use crate::model::Field;
use crate::profile::{ColumnRef, JoinPart, Profile};

pub(crate) fn read(
    text: Vec<u8>,
    encoding: &'static str,
    path: &Path,
    profile: &Profile,
    progress: &dyn Progress,
) -> Result<LoadedTable, LoadError> {
    progress.start(text.len() as u64);
    let (cuts, layout) = spans_of(profile);
    if !layout.sources.iter().any(|(f, _)| *f == Field::VoterId) {
        return Err(LoadError::MissingColumn {
            path: path.to_path_buf(),
            field: "voter_id",
            column: "a { start, length } span in the profile".into(),
        });
    }
    // (line number, byte start, byte end) of every non-blank line after the header.
    let mut lines = Vec::new();
    let mut start = 0;
    let mut number = 0u64;
    while start < text.len() {
        let end = memchr::memchr(b'\n', &text[start..]).map_or(text.len(), |i| start + i);
        number += 1;
        let mut body_end = end;
        if body_end > start && text[body_end - 1] == b'\r' {
            body_end -= 1;
        }
        let header = profile.header && number == 1;
        if !header
            && text[start..body_end]
                .iter()
                .any(|b| !b.is_ascii_whitespace())
        {
            lines.push((number, start, body_end));
        }
        start = end + 1;
    }
    let batches: Vec<ConvertedBatch> = lines
        .par_chunks(BATCH_ROWS)
        .map(|chunk| {
            let mut conv = BatchConverter::new(profile, &layout, chunk.len());
            let mut fields: Vec<&[u8]> = Vec::with_capacity(cuts.len());
            for &(line, s, e) in chunk {
                cut(&text[s..e], &cuts, &mut fields);
                conv.push_row(&fields[..], line, (s, e), || raw_text(&text, s, e));
            }
            conv.finish()
        })
        .collect();
    progress.advance(text.len() as u64);
    let ranges = batches
        .iter()
        .flat_map(|b| b.ranges.iter().copied())
        .collect();
    Ok(LoadedTable {
        batches,
        rows_read: lines.len() as u64,
        text: Some(SourceText { text, ranges }),
        encoding,
        layout,
        unmapped: Vec::new(),
    })
}

/// The spans to cut from every line, as (first character, character count), and the layout
/// that maps them onto canonical fields: one span per field, or several for a joined field.
fn spans_of(profile: &Profile) -> (Vec<(usize, usize)>, Layout) {
    let mut cuts = Vec::new();
    let mut sources = Vec::new();
    let mut joins = Vec::new();
    // In canonical field order (the profile's columns are a BTreeMap by field).
    for (&field, column) in &profile.columns {
        match column {
            ColumnRef::Span { start, length } => {
                sources.push((field, cuts.len()));
                cuts.push((start - 1, *length));
            }
            ColumnRef::Join(parts) => {
                let mut indices = Vec::new();
                for part in parts {
                    if let JoinPart::Span { start, length } = part {
                        indices.push(cuts.len());
                        cuts.push((start - 1, *length));
                    }
                }
                joins.push((field, indices));
            }
            // A fixed-width profile has spans only (checked when it is parsed).
            _ => {}
        }
    }
    let has = |f: Field| sources.iter().any(|(g, _)| *g == f) || joins.iter().any(|(g, _)| *g == f);
    let derive_birth_year = !has(Field::BirthYear) && has(Field::BirthDate);
    let layout = Layout {
        width: cuts.len(),
        sources,
        joins,
        age_on: None,
        derive_birth_year,
        coded: false,
    };
    (cuts, layout)
}

/// The spans of one line, by character position (by byte when the line is not UTF-8: the
/// conversion then rejects the field that holds the bad bytes).
fn cut<'t>(line: &'t [u8], spans: &[(usize, usize)], fields: &mut Vec<&'t [u8]>) {
    fields.clear();
    // The byte offset of every character, for a line that is not plain ASCII.
    let offsets: Option<Vec<usize>> = match std::str::from_utf8(line) {
        Ok(s) if !s.is_ascii() => Some(s.char_indices().map(|(b, _)| b).collect()),
        _ => None,
    };
    for &(first, count) in spans {
        let (from, to) = match &offsets {
            Some(at) => {
                let byte_at = |k: usize| at.get(k).copied().unwrap_or(line.len());
                (byte_at(first), byte_at(first + count))
            }
            None => (first.min(line.len()), (first + count).min(line.len())),
        };
        fields.push(&line[from..to]);
    }
}
