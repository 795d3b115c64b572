//! Writing a snapshot in the canonical layout: CSV (plain or gzip) or Parquet.
//!
//! Rows are formatted straight into byte buffers, one buffer per chunk of records, in
//! parallel, and the buffers are written in order: the bytes do not depend on the number of
//! threads. Numbers and dates are formatted by hand, since `format!` per field would cost more
//! than everything else at 10^7 rows. Text is quoted (RFC 4180) only when it needs to be.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use flate2::{Compression, GzBuilder};
use rayon::prelude::*;

use crate::dates::civil_from_days;
use crate::load::IngestedWriter;
use crate::model::{Field, Status};

use super::geography::{Geography, PARTIES};
use super::names::tables;
use super::population::{
    Register, Voter, CHUNK, F_MIDDLE_INITIAL, F_NATIONAL_ID, F_YEAR_ONLY, REASONS, SUFFIXES,
};
use super::{GenerateError, OutputFormat};

/// Chunks formatted before a write: bounds the memory of formatted text to about
/// 16 * 65,536 rows * ~230 bytes = 240 MB.
const CHUNKS_PER_BATCH: usize = 16;

/// The header row: the canonical field names in canonical order.
pub(crate) fn header() -> String {
    let names: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
    names.join(",") + "\n"
}

/// A national id: nine digits, a bijection of the person number (multiplying by 7^10, which is
/// coprime to 900,000,000, permutes the residues), so ids are unique and not sequential.
pub(crate) fn national_id(person: u32) -> u64 {
    100_000_000 + (u64::from(person) * 282_475_249 + 12_345) % 900_000_000
}

/// A ten-digit phone number: a bijection of the phone number index (2,654,435,761 is odd and
/// not a multiple of 5, so coprime to 8 * 10^9), first digit 2-9 as in NANP numbers.
pub(crate) fn phone_number(phone: u32) -> u64 {
    2_000_000_000 + (u64::from(phone) * 2_654_435_761) % 8_000_000_000
}

fn push_digits(buf: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut tmp = [b'0'; 20];
    let mut i = 20;
    while n > 0 || 20 - i < width.max(1) {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    buf.extend_from_slice(&tmp[i..]);
}

fn push_date(buf: &mut Vec<u8>, days: i32) {
    let (y, m, d) = civil_from_days(days);
    push_digits(buf, y.max(0) as u64, 4);
    buf.push(b'-');
    push_digits(buf, u64::from(m), 2);
    buf.push(b'-');
    push_digits(buf, u64::from(d), 2);
}

/// Text, quoted if it holds a delimiter, a quote or a line break.
fn push_text(buf: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        buf.push(b'"');
        for b in s.bytes() {
            if b == b'"' {
                buf.push(b'"');
            }
            buf.push(b);
        }
        buf.push(b'"');
    } else {
        buf.extend_from_slice(s.as_bytes());
    }
}

/// Text shared by many rows, rendered once per snapshot: formatting then copies one string
/// where it would copy five.
pub(crate) struct RowParts<'a> {
    reg: &'a Register,
    geo: &'a Geography,
    /// Per street: `,locality,postcode,region,district,precinct,` (the leading comma closes the
    /// `unit` field).
    street_tails: Vec<String>,
    /// Per (status, reason, party): `,status,reason,party,` after the registration date.
    status_tails: Vec<String>,
}

impl<'a> RowParts<'a> {
    pub(crate) fn new(reg: &'a Register, geo: &'a Geography) -> RowParts<'a> {
        let street_tails = geo
            .streets
            .iter()
            .map(|street| {
                let precinct = &geo.precincts[street.precinct as usize];
                let district = &geo.districts[precinct.district as usize];
                format!(
                    ",{},{},{},{},{},",
                    precinct.locality,
                    precinct.postcode,
                    geo.regions[district.region as usize],
                    district.code,
                    precinct.code
                )
            })
            .collect();
        let mut status_tails = Vec::new();
        for status in Status::ALL {
            for reason in REASONS {
                for party in PARTIES {
                    status_tails.push(format!(",{},{reason},{party},", status.name()));
                }
            }
        }
        RowParts {
            reg,
            geo,
            street_tails,
            status_tails,
        }
    }

    fn status_tail(&self, v: &Voter) -> &str {
        let index = (v.status as usize * REASONS.len() + v.reason as usize) * PARTIES.len()
            + v.party as usize;
        &self.status_tails[index]
    }
}

/// Formats one record as a CSV line.
pub(crate) fn push_row(buf: &mut Vec<u8>, row: &RowParts, v: &Voter) {
    let (reg, geo) = (row.reg, row.geo);
    let o = reg.override_of(v);
    let missing = o.map_or(0, |o| o.missing);
    let has = |f: Field| missing & (1 << f.index()) == 0;
    let t = tables();
    let street = &geo.streets[v.street as usize];

    buf.push(b'V');
    push_digits(buf, u64::from(v.id), 9);
    buf.push(b',');
    if v.flags & F_NATIONAL_ID != 0 && has(Field::NationalId) {
        push_digits(buf, national_id(v.person), 9);
    }
    buf.push(b',');
    push_text(buf, reg.given_name(v));
    buf.push(b',');
    if has(Field::MiddleName) {
        match o.and_then(|o| o.middle.as_deref()) {
            Some(m) => push_text(buf, m),
            None if v.middle == 0 => {}
            None if v.flags & F_MIDDLE_INITIAL != 0 => {
                buf.push(t.given[v.middle as usize].as_bytes()[0])
            }
            None => push_text(buf, &t.given[v.middle as usize]),
        }
    }
    buf.push(b',');
    push_text(buf, reg.family_name(v));
    buf.push(b',');
    buf.extend_from_slice(SUFFIXES[v.suffix as usize].as_bytes());
    buf.push(b',');
    let birth_known = has(Field::BirthDate);
    if birth_known && v.flags & F_YEAR_ONLY == 0 {
        push_date(buf, v.birth);
    }
    buf.push(b',');
    if birth_known {
        push_digits(buf, civil_from_days(v.birth).0.max(0) as u64, 4);
    }
    buf.push(b',');
    buf.push(if v.sex == 0 { b'F' } else { b'M' });
    buf.push(b',');
    // address_line, house_number, street, unit
    push_digits(buf, u64::from(v.house_number), 1);
    buf.push(b' ');
    buf.extend_from_slice(street.name.as_bytes());
    if v.unit != 0 {
        buf.extend_from_slice(b" APT ");
        push_digits(buf, u64::from(v.unit), 1);
    }
    buf.push(b',');
    push_digits(buf, u64::from(v.house_number), 1);
    buf.push(b',');
    buf.extend_from_slice(street.name.as_bytes());
    buf.push(b',');
    if v.unit != 0 {
        buf.extend_from_slice(b"APT ");
        push_digits(buf, u64::from(v.unit), 1);
    }
    buf.extend_from_slice(row.street_tails[v.street as usize].as_bytes());
    push_date(buf, v.registered);
    buf.extend_from_slice(row.status_tail(v).as_bytes());
    if v.phone != 0 {
        push_digits(buf, phone_number(v.phone), 10);
    }
    buf.push(b',');
    if v.email != 0 {
        // Lowercase letters, digits, '.' and '@': never needs quoting.
        reg.emails[v.email as usize].write_to(buf);
    }
    buf.push(b',');
    if v.changed_at != 0 {
        let day = (v.changed_at / 86_400) as i32;
        let s = v.changed_at % 86_400;
        push_date(buf, day);
        buf.push(b'T');
        push_digits(buf, u64::from(s / 3600), 2);
        buf.push(b':');
        push_digits(buf, u64::from(s / 60 % 60), 2);
        buf.push(b':');
        push_digits(buf, u64::from(s % 60), 2);
        buf.push(b',');
        buf.extend_from_slice(geo.operators[v.changed_by as usize].as_bytes());
    } else {
        buf.push(b',');
    }
    buf.push(b'\n');
}

/// Writes the register as one snapshot file; returns the number of rows.
pub(crate) fn write_snapshot(
    reg: &Register,
    geo: &Geography,
    format: OutputFormat,
    path: &Path,
) -> Result<usize, GenerateError> {
    let io = |source| GenerateError::Io {
        path: path.to_path_buf(),
        source,
    };
    match format {
        OutputFormat::Csv => {
            let file = File::create(path).map_err(io)?;
            let mut out = BufWriter::with_capacity(1 << 20, file);
            write_rows(reg, geo, &mut out).map_err(io)?;
            out.flush().map_err(io)?;
        }
        OutputFormat::CsvGz => {
            let file = File::create(path).map_err(io)?;
            // mtime 0 and no file name: identical bytes on every run.
            let mut gz = GzBuilder::new().mtime(0).write(
                BufWriter::with_capacity(1 << 20, file),
                Compression::default(),
            );
            write_rows(reg, geo, &mut gz).map_err(io)?;
            gz.finish().map_err(io)?.flush().map_err(io)?;
        }
        OutputFormat::Parquet => {
            // Converted a batch at a time, so a 10^8-row snapshot never has all its text in
            // memory.
            let parquet_err = |source| GenerateError::Parquet {
                path: path.to_path_buf(),
                source: Box::new(source),
            };
            let parts = RowParts::new(reg, geo);
            let mut out = IngestedWriter::create(path, &path.with_extension("csv"));
            for batch in reg.voters.chunks(CHUNK * CHUNKS_PER_BATCH) {
                let mut text = header().into_bytes();
                for buffer in format_batch(batch, &parts) {
                    text.extend_from_slice(&buffer);
                }
                out.write_piece(text).map_err(parquet_err)?;
            }
            out.finish().map_err(parquet_err)?;
        }
    }
    Ok(reg.voters.len())
}

/// Formats batches of rows in parallel while a second thread writes the previous batch, so
/// that the system call copy into the page cache overlaps with formatting.
fn write_rows(
    reg: &Register,
    geo: &Geography,
    out: &mut (impl Write + Send),
) -> std::io::Result<()> {
    out.write_all(header().as_bytes())?;
    let parts = RowParts::new(reg, geo);
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<Vec<u8>>>(1);
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> std::io::Result<()> {
            for buffers in receiver {
                for buf in &buffers {
                    out.write_all(buf)?;
                }
            }
            Ok(())
        });
        for batch in reg.voters.chunks(CHUNK * CHUNKS_PER_BATCH) {
            if sender.send(format_batch(batch, &parts)).is_err() {
                // The writer stopped on an error; it reports it below.
                break;
            }
        }
        drop(sender);
        writer.join().expect("the writer thread does not panic")
    })
}

/// Formats a batch of rows, one buffer per chunk of [`CHUNK`] records, in parallel.
fn format_batch(batch: &[Voter], parts: &RowParts) -> Vec<Vec<u8>> {
    batch
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut buf = Vec::with_capacity(chunk.len() * 240);
            for v in chunk {
                push_row(&mut buf, parts, v);
            }
            buf
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_zero_padded() {
        let mut b = Vec::new();
        push_digits(&mut b, 42, 9);
        push_digits(&mut b, 0, 1);
        push_digits(&mut b, 12345, 2);
        assert_eq!(b, b"000000042012345");
        let mut d = Vec::new();
        push_date(&mut d, crate::dates::days_from_civil(1800, 1, 1));
        assert_eq!(d, b"1800-01-01");
    }

    #[test]
    fn text_is_quoted_only_when_needed() {
        let mut b = Vec::new();
        push_text(&mut b, "O'BRIEN");
        b.push(b'|');
        push_text(&mut b, "=HYPERLINK(\"x\",\"y\")");
        assert_eq!(b, b"O'BRIEN|\"=HYPERLINK(\"\"x\"\",\"\"y\"\")\"");
    }

    #[test]
    fn ids_and_phones_are_unique() {
        let ids: std::collections::HashSet<u64> = (1..100_000).map(national_id).collect();
        assert_eq!(ids.len(), 99_999);
        assert!(ids
            .iter()
            .all(|&i| (100_000_000..1_000_000_000).contains(&i)));
        let phones: std::collections::HashSet<u64> = (1..100_000).map(phone_number).collect();
        assert_eq!(phones.len(), 99_999);
    }
}
