//! Parquet page headers, checked before polars reads the pages.
//!
//! A Parquet column chunk is a run of pages, each a thrift `PageHeader` followed by the
//! (usually compressed) page bytes. polars-parquet trusts what a page header declares: it
//! casts a page's value count to `usize` and reserves a validity bitmap for that many values
//! (a negative count asked for about 2.3e18 bytes, and the process aborted: fuzz input
//! `tests/fuzz/regressions/load_csv/parquet-page-negative-value-count`), sizes its
//! decompression buffer from the declared uncompressed size, and reserves a dictionary from
//! the dictionary page's value count. So every page header polars will read is read here
//! first, without decompressing anything, and checked:
//!
//! - page sizes (compressed, uncompressed) and value, null and row counts are not negative;
//! - the page (header and compressed bytes) lies within its column chunk, hence the file;
//! - data pages (v1 and v2) hold, summed, no more values than the column chunk declares
//!   (which the footer check bounds by memory), and v2 pages no more rows than the row group;
//! - a v2 page has no more nulls or rows than values, and its level bytes fit in the page;
//! - a dictionary page has no more values than its uncompressed bytes (every plain-encoded
//!   dictionary value takes at least one byte);
//! - the uncompressed sizes of all pages, summed over the file, fit in memory
//!   ([`Limits::max_bytes`]).
//!
//! The pages are walked as polars-parquet's `PageReader` walks them (polars reads each chunk
//! from its footer byte range, page after page while the data pages seen hold fewer values
//! than the chunk declares), and each header is decoded with the same thrift definitions and
//! protocol polars-parquet's `read_page_header` uses (`polars-parquet-format`), so the headers
//! checked are the headers polars then reads. A file polars could read fine is refused only if
//! its pages contradict its footer. The cost is one pass over the headers of the bytes already
//! in memory; page contents are skipped, not read.

use std::ops::Range;

use polars_parquet_format::thrift::protocol::TCompactInputProtocol;
use polars_parquet_format::{PageHeader, PageType};

use super::memory::{gib, Limits};

/// What the footer declares about one column chunk, for walking its pages.
#[derive(Clone, Debug)]
pub(crate) struct ChunkPages {
    /// Where the chunk's pages lie in the file (its dictionary page first, if it has one).
    pub range: Range<u64>,
    /// Values the chunk declares (not negative: the footer check ran first).
    pub values: i64,
    /// Rows in the chunk's row group.
    pub rows: u64,
}

/// Checks every page header of every chunk (see the module documentation).
pub(crate) fn check(
    file: &[u8],
    chunks: impl Iterator<Item = ChunkPages>,
    limits: &Limits,
) -> Result<(), String> {
    let mut uncompressed = 0u64;
    for (c, chunk) in chunks.enumerate() {
        let bytes = usize::try_from(chunk.range.start)
            .ok()
            .zip(usize::try_from(chunk.range.end).ok())
            .and_then(|(start, end)| file.get(start..end))
            .ok_or_else(|| {
                format!(
                    "column chunk {} extends beyond the end of the file (truncated?)",
                    c + 1
                )
            })?;
        let (mut pos, mut values, mut rows) = (0usize, 0i64, 0u64);
        let mut page = 0usize;
        while values < chunk.values {
            page += 1;
            let at = format!("column chunk {}, page {page}", c + 1);
            let rest = &bytes[pos..];
            if rest.is_empty() {
                return Err(format!(
                    "column chunk {}: its pages end after {values} of the {} values it declares",
                    c + 1,
                    chunk.values
                ));
            }
            let (header, header_len) =
                read_header(rest).map_err(|e| format!("{at}: the page header is corrupt ({e})"))?;
            let (compressed, size) = (header.compressed_page_size, header.uncompressed_page_size);
            if compressed < 0 || size < 0 {
                return Err(format!("{at} declares a negative page size"));
            }
            if compressed as usize > rest.len() - header_len {
                return Err(format!("{at} extends beyond its column chunk (truncated?)"));
            }
            uncompressed = uncompressed.saturating_add(size as u64);
            if uncompressed > limits.max_bytes() {
                return Err(format!(
                    "declares more page data than the {} of memory available",
                    gib(limits.max_bytes())
                ));
            }
            let negative = || format!("{at} declares a negative value, null or row count");
            match header.type_ {
                PageType::DATA_PAGE => {
                    let h = header
                        .data_page_header
                        .as_ref()
                        .ok_or_else(|| format!("{at} is a data page without a data page header"))?;
                    if h.num_values < 0 {
                        return Err(negative());
                    }
                    values += i64::from(h.num_values);
                }
                PageType::DATA_PAGE_V2 => {
                    let h = header.data_page_header_v2.as_ref().ok_or_else(|| {
                        format!("{at} is a v2 data page without a v2 data page header")
                    })?;
                    let levels = [
                        h.definition_levels_byte_length,
                        h.repetition_levels_byte_length,
                    ];
                    if [h.num_values, h.num_nulls, h.num_rows]
                        .iter()
                        .chain(&levels)
                        .any(|n| *n < 0)
                    {
                        return Err(negative());
                    }
                    if h.num_nulls > h.num_values || h.num_rows > h.num_values {
                        return Err(format!("{at} declares more nulls or rows than values"));
                    }
                    if i64::from(levels[0]) + i64::from(levels[1]) > i64::from(compressed) {
                        return Err(format!("{at} declares levels longer than the page"));
                    }
                    values += i64::from(h.num_values);
                    rows += h.num_rows as u64;
                    if rows > chunk.rows {
                        return Err(format!(
                            "column chunk {}: its pages declare more rows than its row group ({})",
                            c + 1,
                            chunk.rows
                        ));
                    }
                }
                PageType::DICTIONARY_PAGE => {
                    let h = header.dictionary_page_header.as_ref().ok_or_else(|| {
                        format!("{at} is a dictionary page without a dictionary page header")
                    })?;
                    if h.num_values < 0 {
                        return Err(negative());
                    }
                    if h.num_values > size {
                        return Err(format!(
                            "{at} declares more dictionary values than its {size} bytes hold"
                        ));
                    }
                }
                other => return Err(format!("{at} has an unsupported page type ({})", other.0)),
            }
            if values > chunk.values {
                return Err(format!(
                    "column chunk {}: its pages declare more values than the chunk ({})",
                    c + 1,
                    chunk.values
                ));
            }
            pos += header_len + compressed as usize;
        }
    }
    Ok(())
}

/// Decodes the page header at the start of `bytes` as polars-parquet does (thrift compact
/// protocol), returning it and its length in bytes. The protocol's allocation budget is eight
/// times the bytes left: the protocol charges at most that for data actually present (eight
/// bytes per list element, which takes at least one), so only a header declaring strings or
/// lists longer than the chunk is refused by it.
pub(super) fn read_header(bytes: &[u8]) -> Result<(PageHeader, usize), String> {
    let mut reader = bytes;
    let mut protocol = TCompactInputProtocol::new(&mut reader, bytes.len().saturating_mul(8));
    let header = PageHeader::read_from_in_protocol(&mut protocol).map_err(|e| e.to_string())?;
    Ok((header, bytes.len() - reader.len()))
}

#[cfg(test)]
mod tests {
    use polars_parquet_format::thrift::protocol::TCompactOutputProtocol;
    use polars_parquet_format::{
        DataPageHeader, DataPageHeaderV2, DictionaryPageHeader, Encoding, PageHeader, PageType,
    };

    use super::*;

    /// A page: its header (sizes as given) followed by `data` bytes of zeros.
    struct Page {
        header: PageHeader,
        data: usize,
    }

    fn page(type_: PageType, compressed: i32, uncompressed: i32) -> PageHeader {
        PageHeader {
            type_,
            uncompressed_page_size: uncompressed,
            compressed_page_size: compressed,
            crc: None,
            data_page_header: None,
            index_page_header: None,
            dictionary_page_header: None,
            data_page_header_v2: None,
        }
    }

    fn v1(values: i32, compressed: i32, uncompressed: i32) -> Page {
        let mut header = page(PageType::DATA_PAGE, compressed, uncompressed);
        header.data_page_header = Some(DataPageHeader {
            num_values: values,
            encoding: Encoding::PLAIN,
            definition_level_encoding: Encoding::RLE,
            repetition_level_encoding: Encoding::RLE,
            statistics: None,
        });
        Page {
            header,
            data: compressed.max(0) as usize,
        }
    }

    fn v2(values: i32, nulls: i32, rows: i32, levels: i32, compressed: i32) -> Page {
        let mut header = page(PageType::DATA_PAGE_V2, compressed, compressed);
        header.data_page_header_v2 = Some(DataPageHeaderV2 {
            num_values: values,
            num_nulls: nulls,
            num_rows: rows,
            encoding: Encoding::PLAIN,
            definition_levels_byte_length: levels,
            repetition_levels_byte_length: 0,
            is_compressed: None,
            statistics: None,
        });
        Page {
            header,
            data: compressed.max(0) as usize,
        }
    }

    fn dict(values: i32, compressed: i32, uncompressed: i32) -> Page {
        let mut header = page(PageType::DICTIONARY_PAGE, compressed, uncompressed);
        header.dictionary_page_header = Some(DictionaryPageHeader {
            num_values: values,
            encoding: Encoding::PLAIN,
            is_sorted: None,
        });
        Page {
            header,
            data: compressed.max(0) as usize,
        }
    }

    /// A file of one column chunk holding `pages`, behind 4 bytes of magic, declaring
    /// `values` values in a row group of `rows` rows; the chunk ends `slack` bytes short of
    /// its pages (negative: beyond them).
    fn file(pages: Vec<Page>, values: i64, rows: u64, slack: i64) -> (Vec<u8>, ChunkPages) {
        let mut bytes = b"PAR1".to_vec();
        for p in pages {
            let mut protocol = TCompactOutputProtocol::new(&mut bytes);
            p.header
                .write_to_out_protocol(&mut protocol)
                .expect("write a page header");
            bytes.resize(bytes.len() + p.data, 0);
        }
        let end = (bytes.len() as i64 - slack) as u64;
        bytes.resize(bytes.len().max(end as usize), 0);
        let chunk = ChunkPages {
            range: 4..end,
            values,
            rows,
        };
        (bytes, chunk)
    }

    fn run(pages: Vec<Page>, values: i64, rows: u64) -> Result<(), String> {
        let (bytes, chunk) = file(pages, values, rows, 0);
        check(&bytes, [chunk].into_iter(), &Limits { memory: 1 << 20 })
    }

    #[test]
    fn consistent_pages_pass() {
        // A dictionary page (3 values in 12 bytes), then v1 and v2 data pages: 10 values.
        let pages = vec![dict(3, 12, 12), v1(4, 20, 30), v2(6, 2, 6, 1, 9)];
        assert_eq!(run(pages, 10, 10), Ok(()));
        // No pages for a chunk of no values.
        assert_eq!(run(vec![], 0, 0), Ok(()));
    }

    #[test]
    fn pages_contradicting_their_chunk_or_memory_are_refused() {
        let refused = |pages: Vec<Page>, values: i64, needle: &str| {
            let err = run(pages, values, values as u64).unwrap_err();
            assert!(err.contains(needle), "{err}");
        };
        // The fuzz finding: a v1 data page declaring a negative value count.
        refused(vec![v1(-5, 8, 8)], 3, "page 1 declares a negative value");
        refused(
            vec![v1(3, 8, 8), v1(-1, 8, 8)],
            4,
            "page 2 declares a negative value",
        );
        refused(vec![v1(3, -8, 8)], 3, "negative page size");
        refused(vec![v1(3, 8, -8)], 3, "negative page size");
        refused(vec![dict(-1, 8, 8), v1(3, 8, 8)], 3, "negative value");
        refused(vec![v2(3, -1, 3, 0, 8)], 3, "negative value");
        refused(vec![v2(3, 0, -3, 0, 8)], 3, "negative value");
        refused(vec![v2(3, 0, 3, -1, 8)], 3, "negative value");
        // Counts beyond the chunk, the row group or the page itself.
        refused(vec![v1(4, 8, 8)], 3, "more values than the chunk (3)");
        refused(
            vec![v1(2, 8, 8), v1(2, 8, 8)],
            3,
            "more values than the chunk",
        );
        refused(vec![v2(3, 4, 3, 0, 8)], 3, "more nulls or rows than values");
        refused(vec![v2(3, 0, 4, 0, 8)], 5, "more nulls or rows than values");
        refused(vec![v2(3, 0, 3, 9, 8)], 3, "levels longer than the page");
        refused(
            vec![dict(9, 8, 8), v1(3, 8, 8)],
            3,
            "more dictionary values",
        );
        // 1 MiB of memory: two pages of 600 KiB uncompressed are too much.
        refused(
            vec![v1(1, 8, 600 << 10), v1(2, 8, 600 << 10)],
            3,
            "more page data than",
        );
        // Pages that run out before the chunk's values, or a header that is not thrift.
        refused(vec![v1(2, 8, 8)], 3, "pages end after 2 of the 3 values");
        let mut garbage = v1(3, 0, 0);
        garbage.header.type_ = PageType(7);
        refused(vec![garbage], 3, "unsupported page type (7)");
    }

    #[test]
    fn pages_beyond_their_chunk_or_the_file_are_refused() {
        let limits = Limits { memory: 1 << 20 };
        // The chunk ends 4 bytes before its only page does.
        let (bytes, chunk) = file(vec![v1(3, 8, 8)], 3, 3, 4);
        let err = check(&bytes, [chunk].into_iter(), &limits).unwrap_err();
        assert!(
            err.contains("page 1 extends beyond its column chunk"),
            "{err}"
        );
        // The chunk's range runs past the end of the file.
        let (bytes, mut chunk) = file(vec![v1(3, 8, 8)], 3, 3, 0);
        chunk.range.end += 1;
        let err = check(&bytes, [chunk].into_iter(), &limits).unwrap_err();
        assert!(err.contains("beyond the end of the file"), "{err}");
        // A chunk that starts with bytes that are not a page header.
        let (mut bytes, chunk) = file(vec![v1(3, 8, 8)], 3, 3, 0);
        bytes[4] = 0xff;
        let err = check(&bytes, [chunk].into_iter(), &limits).unwrap_err();
        assert!(err.contains("page 1: the page header is corrupt"), "{err}");
    }
}
