//! Writers of the artefacts people and pipelines keep.
//!
//! Only this module formats engine results for outside readers. Every file is written to a
//! temporary name and renamed into place, so an interrupted run leaves the previous complete
//! file or none. CSV cells that a spreadsheet would run as a formula are neutralised.

pub mod audit;
pub mod dedupe;
pub mod diff;
pub mod findings;
pub mod html;
pub mod redact;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::load::Reject;

/// A write that failed, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot write", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// A CSV cell that cannot run as a spreadsheet formula: a value starting with `=`, `+`, `-`,
/// `@`, tab or carriage return gets a leading apostrophe (the OWASP "CSV injection" advice).
/// Voter-supplied text is hostile input: a name can be `=HYPERLINK(...)`.
pub fn safe_cell(value: &str) -> std::borrow::Cow<'_, str> {
    match value.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{value}").into(),
        _ => value.into(),
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let err = |source| WriteError {
        path: path.to_path_buf(),
        source,
    };
    let tmp = temp_name(path);
    let mut file = create_private(&tmp).map_err(err)?;
    file.write_all(bytes).map_err(err)?;
    file.sync_all().map_err(err)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(err)
}

/// Creates (truncating) a file readable and writable by its owner only: reports hold voter ids
/// and, unredacted, personal data.
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Where a file is written before it is renamed to `path`: beside it (the same file system, so
/// the rename is atomic), named after this process.
pub(crate) fn temp_name(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp{}", std::process::id()));
    path.with_file_name(name)
}

/// The rejects file of a load: `line,reason,raw`, one row per rejected source row, in source
/// order. It holds the raw rows (personal data) for case work; reasons never do.
pub fn write_rejects_csv(path: &Path, rejects: &[Reject]) -> Result<(), WriteError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let row_err = |e: csv::Error| WriteError {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    };
    w.write_record(["line", "reason", "raw"]).map_err(row_err)?;
    for r in rejects {
        let reason = r.reason.to_string();
        w.write_record([
            r.line.to_string().as_str(),
            &safe_cell(&reason),
            &safe_cell(&r.raw),
        ])
        .map_err(row_err)?;
    }
    let bytes = w.into_inner().map_err(|e| WriteError {
        path: path.to_path_buf(),
        source: e.into_error(),
    })?;
    write_atomically(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_prefixes_are_neutralised() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("-1+2"), "'-1+2");
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("O'Brien"), "O'Brien");
        assert_eq!(safe_cell(""), "");
    }
}
