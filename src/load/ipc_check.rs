//! Checks the structure of an Arrow IPC file before polars reads it.
//!
//! polars' IPC reader trusts the lengths in the file: it allocates a buffer's declared length
//! (`Vec::with_capacity` in polars-arrow's `read_uncompressed_bytes`), a compressed buffer's
//! declared decompressed length and a Null column's declared length before reading anything,
//! so a corrupt or hostile length of 1.7e18 aborts the process (found by the `load_csv` fuzz
//! target; input in `tests/fuzz/regressions/load_csv/`). Here the footer and every dictionary
//! and record batch message are parsed with the same flatbuffer definitions polars uses
//! (`polars-arrow-format`), and every length is checked against the file and against
//! [`Limits`] (see `memory.rs` for how those are chosen). What passes can still be corrupt in
//! ways polars reports as errors or panics (caught in `columnar.rs`); it can no longer make
//! polars allocate more than the machine has.
//!
//! Only the IPC *file* format is accepted (`ARROW1` at both ends, a footer indexing the
//! messages): that is what polars' `IpcReader` reads. An IPC *stream* has no footer and is
//! refused here with a message saying so.

use polars_arrow_format::ipc::planus::ReadAsRoot;
use polars_arrow_format::ipc::{BlockRef, FooterRef, MessageHeaderRef, MessageRef, RecordBatchRef};

use super::memory::{gib, Limits, ROW_COST};

const MAGIC: &[u8] = b"ARROW1";
/// `ARROW1` and two bytes of padding open the file.
const HEAD: usize = 8;
/// The footer's length (i32) and `ARROW1` close the file.
const TAIL: usize = 10;
/// Marks the start of an encapsulated message (since Arrow 0.15); older files omit it.
const CONTINUATION: [u8; 4] = [0xFF; 4];
/// A compressed buffer starts with its decompressed length as an i64 (-1: stored as is).
const LENGTH_PREFIX: i64 = 8;

/// What the file declares, summed over its messages, against the limits.
struct Totals<'l> {
    limits: &'l Limits,
    bytes: u64,
    values: u64,
    rows: u64,
}

impl Totals<'_> {
    fn add_bytes(&mut self, n: u64) -> Result<(), String> {
        self.bytes = self.bytes.saturating_add(n);
        if self.bytes > self.limits.max_bytes() {
            return Err(format!(
                "declares more column data than the {} of memory available",
                gib(self.limits.max_bytes())
            ));
        }
        Ok(())
    }

    fn add_values(&mut self, n: u64) -> Result<(), String> {
        self.values = self.values.saturating_add(n);
        if self.values > self.limits.max_values() {
            return Err(format!(
                "declares more values than fit in the {} of memory available (at least a byte each)",
                gib(self.limits.memory)
            ));
        }
        Ok(())
    }

    fn add_rows(&mut self, n: u64) -> Result<(), String> {
        self.rows = self.rows.saturating_add(n);
        if self.rows > self.limits.max_rows() {
            return Err(format!(
                "declares more rows than fit in the {} of memory available (at least {ROW_COST} bytes each)",
                gib(self.limits.memory)
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dictionary,
    Record,
}

/// Checks an Arrow IPC file; the error says what is wrong, in one line, quoting no values.
pub(crate) fn check(bytes: &[u8], limits: &Limits) -> Result<(), String> {
    let len = bytes.len();
    if len < HEAD + TAIL || !bytes.starts_with(MAGIC) || !bytes.ends_with(MAGIC) {
        let stream = bytes.starts_with(&CONTINUATION);
        return Err(if stream {
            "this is an Arrow IPC stream; only the IPC file format is read (write it as a file)"
                .into()
        } else {
            "the ARROW1 magic bytes are missing at the start or the end (truncated?)".into()
        });
    }
    let footer_len = i32::from_le_bytes(bytes[len - TAIL..len - 6].try_into().expect("4 bytes"));
    let footer_start = usize::try_from(footer_len)
        .ok()
        .and_then(|n| (len - TAIL).checked_sub(n))
        .filter(|&start| start >= HEAD)
        .ok_or("the footer length does not fit the file (truncated?)")?;
    let footer = FooterRef::read_as_root(&bytes[footer_start..len - TAIL])
        .map_err(|_| "the footer is not a valid Arrow IPC footer")?;
    // Messages lie between the leading magic and the footer.
    let data = &bytes[..footer_start];
    let mut totals = Totals {
        limits,
        bytes: 0,
        values: 0,
        rows: 0,
    };
    let bad_footer = |_| "the footer's block list is not valid".to_string();
    if let Some(blocks) = footer.dictionaries().map_err(bad_footer)? {
        for (i, block) in blocks.iter().enumerate() {
            let what = format!("dictionary batch {}", i + 1);
            check_block(data, block, Kind::Dictionary, &mut totals)
                .map_err(|why| format!("{what}: {why}"))?;
        }
    }
    let blocks = footer
        .record_batches()
        .map_err(bad_footer)?
        .ok_or("the footer lists no record batches")?;
    for (i, block) in blocks.iter().enumerate() {
        let what = format!("record batch {}", i + 1);
        check_block(data, block, Kind::Record, &mut totals)
            .map_err(|why| format!("{what}: {why}"))?;
    }
    Ok(())
}

/// One block of the footer: the message it points to and the lengths in that message.
fn check_block(
    data: &[u8],
    block: BlockRef<'_>,
    kind: Kind,
    totals: &mut Totals,
) -> Result<(), String> {
    let (offset, meta_len, body_len) = (
        block.offset(),
        i64::from(block.meta_data_length()),
        block.body_length(),
    );
    if offset < HEAD as i64 || meta_len < 0 || body_len < 0 {
        return Err("the footer gives it a negative offset or length".into());
    }
    let end = offset
        .checked_add(meta_len)
        .and_then(|e| e.checked_add(body_len))
        .filter(|&e| e <= data.len() as i64)
        .ok_or("extends beyond the end of the file (truncated?)")?;
    let (offset, body_start, end) = (offset as usize, (offset + meta_len) as usize, end as usize);
    let meta = &data[offset..body_start];
    let body = &data[body_start..end];

    // The encapsulated message: [continuation marker], i32 length, flatbuffer, padding.
    let (prefix, declared) = match meta {
        [0xFF, 0xFF, 0xFF, 0xFF, a, b, c, d, ..] => (8, i32::from_le_bytes([*a, *b, *c, *d])),
        [a, b, c, d, ..] if meta[..4] != CONTINUATION => (4, i32::from_le_bytes([*a, *b, *c, *d])),
        _ => return Err("its message header is cut short".into()),
    };
    let flatbuffer = usize::try_from(declared)
        .ok()
        .and_then(|n| meta.get(prefix..prefix + n))
        .ok_or("its message header is longer than the block the footer gives it")?;
    let message = MessageRef::read_as_root(flatbuffer)
        .map_err(|_| "its message header is not a valid Arrow IPC message")?;
    let bad = |_| "its message header is not a valid Arrow IPC message".to_string();
    let message_body = message.body_length().map_err(bad)?;
    if message_body < 0 || message_body > body_len {
        return Err("its message declares a body longer than the block the footer gives it".into());
    }
    let body = &body[..message_body as usize];
    let batch = match (kind, message.header().map_err(bad)?) {
        (Kind::Record, Some(MessageHeaderRef::RecordBatch(batch))) => batch,
        (Kind::Dictionary, Some(MessageHeaderRef::DictionaryBatch(dict))) => dict
            .data()
            .map_err(bad)?
            .ok_or("the dictionary message holds no data")?,
        (Kind::Record, _) => return Err("the message is not a record batch".into()),
        (Kind::Dictionary, _) => return Err("the message is not a dictionary batch".into()),
    };
    check_batch(batch, body, kind, totals)
}

/// The lengths of one record batch (or a dictionary's values) against its body and the limits.
fn check_batch(
    batch: RecordBatchRef<'_>,
    body: &[u8],
    kind: Kind,
    totals: &mut Totals,
) -> Result<(), String> {
    let bad = |_| "its message header is not a valid Arrow IPC message".to_string();
    let length = batch.length().map_err(bad)?;
    let length = u64::try_from(length).map_err(|_| "declares a negative number of rows")?;
    if kind == Kind::Record {
        totals.add_rows(length)?;
    }
    let nodes = batch
        .nodes()
        .map_err(bad)?
        .ok_or("its message lists no field nodes")?;
    for (i, node) in nodes.iter().enumerate() {
        let (values, nulls) = (node.length(), node.null_count());
        if values < 0 || nulls < 0 || nulls > values {
            return Err(format!(
                "field node {} declares a negative length or more nulls than values",
                i + 1
            ));
        }
        totals.add_values(values as u64)?;
    }
    let compressed = batch.compression().map_err(bad)?.is_some();
    let buffers = batch
        .buffers()
        .map_err(bad)?
        .ok_or("its message lists no buffers")?;
    for (i, buffer) in buffers.iter().enumerate() {
        let (offset, length) = (buffer.offset(), buffer.length());
        let what = i + 1;
        let end = offset
            .checked_add(length)
            .filter(|&e| offset >= 0 && length >= 0 && e <= body.len() as i64)
            .ok_or_else(|| format!("buffer {what} lies outside its message body"))?;
        let decoded = if compressed && length > 0 {
            if length < LENGTH_PREFIX {
                return Err(format!(
                    "compressed buffer {what} is shorter than its 8-byte length prefix"
                ));
            }
            let start = offset as usize;
            let prefix = body[start..start + 8].try_into().expect("8 bytes");
            match i64::from_le_bytes(prefix) {
                -1 => length - LENGTH_PREFIX,
                n if n < 0 => {
                    return Err(format!(
                        "compressed buffer {what} declares a negative decompressed length"
                    ))
                }
                n => n,
            }
        } else {
            end - offset
        };
        totals.add_bytes(decoded as u64).map_err(|why| {
            format!("buffer {what} takes the file past its bound: the file {why}")
        })?;
    }
    if let Some(counts) = batch.variadic_buffer_counts().map_err(bad)? {
        for count in counts.iter() {
            if count < 0 || count as u64 > buffers.len() as u64 {
                return Err("declares more variadic buffers than it has".into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::{df, IpcWriter, SerWriter};

    fn limits() -> Limits {
        Limits { memory: 1 << 30 }
    }

    /// A small IPC file written by polars: two string columns, one with a null.
    fn sample() -> Vec<u8> {
        let mut df = df!(
            "voter_id" => ["V1", "V2", "V3"],
            "given_name" => [Some("Ann"), None, Some("Cy")],
        )
        .expect("a frame");
        let mut out = Vec::new();
        IpcWriter::new(&mut out)
            .finish(&mut df)
            .expect("write IPC to memory");
        out
    }

    /// Every (offset, length) pair of the first record batch's buffers, where the pair's
    /// bytes sit in the file (found by searching the message header for them), and where the
    /// buffer itself starts in the file.
    fn buffer_positions(bytes: &[u8]) -> Vec<(i64, i64, usize, usize)> {
        let len = bytes.len();
        let footer_len = i32::from_le_bytes(bytes[len - 10..len - 6].try_into().unwrap());
        let footer =
            FooterRef::read_as_root(&bytes[len - 10 - footer_len as usize..len - 10]).unwrap();
        let block = footer.record_batches().unwrap().unwrap().get(0).unwrap();
        let start = block.offset() as usize;
        let body = start + block.meta_data_length() as usize;
        let meta = &bytes[start..body];
        let message = MessageRef::read_as_root(&meta[8..]).unwrap();
        let Some(MessageHeaderRef::RecordBatch(batch)) = message.header().unwrap() else {
            panic!("a record batch");
        };
        batch
            .buffers()
            .unwrap()
            .unwrap()
            .iter()
            .map(|b| {
                let mut pair = b.offset().to_le_bytes().to_vec();
                pair.extend(b.length().to_le_bytes());
                let at = meta
                    .windows(16)
                    .position(|w| w == pair)
                    .expect("pair found");
                (
                    b.offset(),
                    b.length(),
                    start + at,
                    body + b.offset() as usize,
                )
            })
            .collect()
    }

    #[test]
    fn a_file_polars_writes_passes() {
        assert_eq!(check(&sample(), &limits()), Ok(()));
    }

    #[test]
    fn missing_magic_and_streams_are_refused() {
        let mut bytes = sample();
        bytes.truncate(bytes.len() / 2);
        let err = check(&bytes, &limits()).unwrap_err();
        assert!(err.contains("magic bytes are missing"), "{err}");

        // An IPC stream opens with a message: continuation marker, length, flatbuffer.
        let mut stream = vec![0xFF, 0xFF, 0xFF, 0xFF, 16, 0, 0, 0];
        stream.extend([0; 24]);
        let err = check(&stream, &limits()).unwrap_err();
        assert!(err.contains("IPC stream"), "{err}");
    }

    #[test]
    fn a_footer_length_beyond_the_file_is_refused() {
        let mut bytes = sample();
        let at = bytes.len() - 10;
        bytes[at..at + 4].copy_from_slice(&i32::MAX.to_le_bytes());
        let err = check(&bytes, &limits()).unwrap_err();
        assert!(err.contains("footer length"), "{err}");
    }

    #[test]
    fn a_buffer_longer_than_its_body_is_refused() {
        let mut bytes = sample();
        // The largest buffer, so its pair's bytes are unambiguous; its length becomes 1.7e18.
        let (_, _, at, _) = *buffer_positions(&bytes)
            .iter()
            .max_by_key(|(_, l, _, _)| *l)
            .unwrap();
        bytes[at + 8..at + 16].copy_from_slice(&(3i64 << 59).to_le_bytes());
        let err = check(&bytes, &limits()).unwrap_err();
        assert!(err.starts_with("record batch 1: buffer "), "{err}");
        assert!(err.ends_with("lies outside its message body"), "{err}");
    }

    #[test]
    fn compressed_buffers_are_checked_by_their_declared_length() {
        let mut df = df!("voter_id" => ["V1", "V2", "V3"], "n" => [1i64, 2, 3]).unwrap();
        let mut bytes = Vec::new();
        IpcWriter::new(&mut bytes)
            .with_compression(Some(polars::prelude::IpcCompression::default()))
            .finish(&mut df)
            .unwrap();
        assert_eq!(check(&bytes, &limits()), Ok(()));
        let (_, _, _, start) = *buffer_positions(&bytes)
            .iter()
            .find(|(_, l, _, _)| *l >= 8)
            .expect("a compressed buffer");
        let with_prefix = |n: i64| {
            let mut b = bytes.clone();
            b[start..start + 8].copy_from_slice(&n.to_le_bytes());
            b
        };
        let err = check(&with_prefix(1 << 60), &limits()).unwrap_err();
        assert!(err.contains("more column data than the 1.0 GiB"), "{err}");
        let err = check(&with_prefix(-2), &limits()).unwrap_err();
        assert!(err.contains("negative decompressed length"), "{err}");
        // -1: stored uncompressed, the rest of the buffer is the data.
        assert_eq!(check(&with_prefix(-1), &limits()), Ok(()));
    }

    #[test]
    fn declared_data_beyond_memory_is_refused() {
        let bytes = sample();
        let err = check(&bytes, &Limits { memory: 16 }).unwrap_err();
        assert!(err.contains("memory available"), "{err}");
    }
}
