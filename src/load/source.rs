//! Opening an input: decompression, format detection and text decoding.
//!
//! This is the only place that reads input files. It hands the rest of the loader either a
//! UTF-8 byte buffer of delimited text (possibly with invalid bytes, which become row rejects
//! downstream) or a columnar file's bytes.

use std::io::Read;
use std::path::Path;

use encoding_rs::{UTF_16BE, UTF_16LE, WINDOWS_1252};

use super::LoadError;
use crate::profile::Encoding;

/// What an input turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    Delimited,
    Parquet,
    ArrowIpc,
}

impl InputFormat {
    /// The format a file's name says (`.gz` ignored): `.parquet`; `.arrow`, `.ipc` or
    /// `.feather`; else delimited text. The bytes, when read, win over the name.
    pub fn by_name(path: &Path) -> InputFormat {
        let name = path.to_string_lossy().to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        if name.ends_with(".parquet") {
            InputFormat::Parquet
        } else if [".arrow", ".ipc", ".feather"]
            .iter()
            .any(|e| name.ends_with(e))
        {
            InputFormat::ArrowIpc
        } else {
            InputFormat::Delimited
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            InputFormat::Delimited => "delimited text",
            InputFormat::Parquet => "parquet",
            InputFormat::ArrowIpc => "arrow ipc",
        }
    }
}

/// A whole input in memory, decompressed.
pub(crate) struct RawInput {
    pub bytes: Vec<u8>,
    pub format: InputFormat,
    pub gzipped: bool,
}

pub(crate) const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
pub(crate) const PARQUET_MAGIC: &[u8] = b"PAR1";
const ARROW_MAGIC: &[u8] = b"ARROW1";

pub(crate) fn read_input(path: &Path) -> Result<RawInput, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    classify(bytes, path)
}

/// Hex SHA-256 of a file's bytes, read a piece at a time.
pub fn sha256_of_file(path: &Path) -> Result<String, LoadError> {
    use sha2::{Digest as _, Sha256};
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut piece = vec![0u8; 8 << 20];
    let mut hasher = Sha256::new();
    loop {
        let n = read_full(&mut file, &mut piece).map_err(io)?;
        hasher.update(&piece[..n]);
        if n < piece.len() {
            return Ok(hex(&hasher.finalize()));
        }
    }
}

/// Hex SHA-256 of bytes: how reports identify their inputs and the artefacts they list.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest as _, Sha256};
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads until `buf` is full or the input ends; the bytes read.
pub(super) fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Decompresses and detects the format of bytes that came from `path` (used in messages and
/// for the extension fallback).
pub(crate) fn classify(bytes: Vec<u8>, path: &Path) -> Result<RawInput, LoadError> {
    let (bytes, gzipped) = if bytes.starts_with(GZIP_MAGIC) {
        let mut out = Vec::with_capacity(bytes.len() * 4);
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .map_err(|source| LoadError::Gzip {
                path: path.to_path_buf(),
                source,
            })?;
        (out, true)
    } else {
        (bytes, false)
    };
    let named = InputFormat::by_name(path);
    let format = if bytes.starts_with(PARQUET_MAGIC) || named == InputFormat::Parquet {
        InputFormat::Parquet
    } else if bytes.starts_with(ARROW_MAGIC) || named == InputFormat::ArrowIpc {
        InputFormat::ArrowIpc
    } else {
        InputFormat::Delimited
    };
    Ok(RawInput {
        bytes,
        format,
        gzipped,
    })
}

/// Turns delimited text in the profile's encoding into UTF-8 bytes.
///
/// A byte-order mark wins over the profile (it is unambiguous). UTF-8 input is passed through
/// unvalidated, so that one bad byte rejects one row rather than the file. A UTF-8 profile
/// meeting text that is plainly UTF-16 without a BOM (every other byte NUL) is an error that
/// says which encoding to declare, rather than a file of garbage rows.
pub(crate) fn decode_text(
    bytes: Vec<u8>,
    encoding: Encoding,
    path: &Path,
) -> Result<(Vec<u8>, &'static str), LoadError> {
    let utf16 = |enc: &'static encoding_rs::Encoding, skip: usize, name| {
        let (text, _) = enc.decode_without_bom_handling(&bytes[skip..]);
        (text.into_owned().into_bytes(), name)
    };
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Ok((bytes[3..].to_vec(), "utf-8 (bom)"));
    }
    if bytes.starts_with(&[0xFF, 0xFE]) {
        return Ok(utf16(UTF_16LE, 2, "utf-16le (bom)"));
    }
    if bytes.starts_with(&[0xFE, 0xFF]) {
        return Ok(utf16(UTF_16BE, 2, "utf-16be (bom)"));
    }
    match encoding {
        Encoding::Utf8 => {
            if let Some(guess) = looks_like_utf16(&bytes) {
                return Err(LoadError::Encoding {
                    path: path.to_path_buf(),
                    why: format!(
                        "the text looks like UTF-16 without a byte-order mark; declare encoding = \"{guess}\" in the profile"
                    ),
                });
            }
            Ok((bytes, "utf-8"))
        }
        Encoding::Latin1 => {
            let (text, _) = WINDOWS_1252.decode_without_bom_handling(&bytes);
            Ok((text.into_owned().into_bytes(), "latin-1"))
        }
        Encoding::Utf16Le => Ok(utf16(UTF_16LE, 0, "utf-16le")),
        Encoding::Utf16Be => Ok(utf16(UTF_16BE, 0, "utf-16be")),
        Encoding::Utf16 => match looks_like_utf16(&bytes) {
            Some("utf-16be") => Ok(utf16(UTF_16BE, 0, "utf-16be")),
            _ => Ok(utf16(UTF_16LE, 0, "utf-16le")),
        },
    }
}

/// Header rows are ASCII in every layout we know, so UTF-16 text has a NUL in every other byte
/// of its first line. Looks at the first 64 code units.
fn looks_like_utf16(bytes: &[u8]) -> Option<&'static str> {
    let head = &bytes[..bytes.len().min(128) & !1];
    if head.len() < 4 {
        return None;
    }
    let pairs = head.len() / 2;
    let even_nul = head.iter().step_by(2).filter(|&&b| b == 0).count();
    let odd_nul = head.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
    // Nine in ten code units with a NUL high byte: text, not a stray NUL in a UTF-8 file.
    if odd_nul * 10 >= pairs * 9 && even_nul == 0 {
        Some("utf-16le")
    } else if even_nul * 10 >= pairs * 9 && odd_nul == 0 {
        Some("utf-16be")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
    }

    #[test]
    fn a_files_hash_is_the_sha256_of_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        // A published-style check value: `printf 'voter_id,given_name\n1,ANA\n' | sha256sum`.
        let small = dir.path().join("small.csv");
        std::fs::write(&small, "voter_id,given_name\n1,ANA\n").unwrap();
        assert_eq!(
            sha256_of_file(&small).unwrap(),
            "822b652d117565f60dd6c461afe8520c3dca5c8afd96114cd7e60b1d9a623be5"
        );
        // Several pieces and a short last one, against the digest of the whole buffer at once.
        let bytes: Vec<u8> = (0..(8 << 20) * 2 + 12_345u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let large = dir.path().join("large.bin");
        std::fs::write(&large, &bytes).unwrap();
        assert_eq!(sha256_of_file(&large).unwrap(), sha256_hex(&bytes));
        // Empty and missing files.
        let empty = dir.path().join("empty.csv");
        std::fs::write(&empty, "").unwrap();
        assert_eq!(sha256_of_file(&empty).unwrap(), sha256_hex(b""));
        assert!(sha256_of_file(&dir.path().join("missing.csv")).is_err());
    }

    #[test]
    fn bom_wins_over_profile() {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(utf16le("voter_id\nV1\n"));
        let (text, enc) = decode_text(bytes, Encoding::Latin1, Path::new("x")).unwrap();
        assert_eq!(text, b"voter_id\nV1\n");
        assert_eq!(enc, "utf-16le (bom)");
    }

    #[test]
    fn utf16_without_bom_under_utf8_profile_is_a_clear_error() {
        let err = decode_text(
            utf16le("voter_id,given_name\n"),
            Encoding::Utf8,
            Path::new("f.csv"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("utf-16le"), "{err}");
    }

    #[test]
    fn latin1_decodes_accents() {
        let (text, _) = decode_text(b"Jos\xe9".to_vec(), Encoding::Latin1, Path::new("x")).unwrap();
        assert_eq!(String::from_utf8(text).unwrap(), "José");
    }

    #[test]
    fn formats_by_magic_and_extension() {
        let p = Path::new("a.bin");
        assert_eq!(
            classify(b"PAR1xxxx".to_vec(), p).unwrap().format,
            InputFormat::Parquet
        );
        assert_eq!(
            classify(b"ARROW1xx".to_vec(), p).unwrap().format,
            InputFormat::ArrowIpc
        );
        assert_eq!(
            classify(Vec::new(), Path::new("t.parquet")).unwrap().format,
            InputFormat::Parquet
        );
        assert_eq!(
            classify(b"a,b\n".to_vec(), p).unwrap().format,
            InputFormat::Delimited
        );
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let mut gz = Vec::new();
        {
            use std::io::Write;
            let mut enc = flate2::write::GzEncoder::new(&mut gz, flate2::Compression::default());
            enc.write_all(&b"voter_id\nV1\n".repeat(1000)).unwrap();
        }
        gz.truncate(gz.len() / 2);
        assert!(matches!(
            classify(gz, Path::new("x.csv.gz")),
            Err(LoadError::Gzip { .. })
        ));
    }
}
