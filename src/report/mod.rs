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
pub mod incidents;
pub mod redact;
pub mod scan;

use std::path::Path;

pub(crate) use crate::files::temp_name;
pub use crate::files::{create_private, write_atomically, write_atomically_with, WriteError};
use crate::load::Reject;
use redact::Redactor;

/// What the report needs beyond the audit result: how the run was asked for.
pub struct RunInfo<'a> {
    pub command_line: &'a [String],
    /// ISO 8601 UTC, e.g. `2026-11-22T03:00:00Z`.
    pub as_of: &'a str,
    pub profile_name: &'a str,
    pub profile_text: &'a str,
    pub calendar: Option<(&'a Path, &'a str)>,
    pub deceased: Option<(&'a Path, String)>,
    pub configuration: String,
    pub redactor: Option<&'a Redactor>,
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

/// Writes a CSV file row by row through [`write_atomically_with`]: never held whole in memory.
pub(crate) fn write_csv(
    path: &Path,
    rows: impl FnOnce(&mut csv::Writer<&mut dyn std::io::Write>) -> csv::Result<()>,
) -> Result<(), WriteError> {
    write_atomically_with(path, |out| {
        let mut w = csv::Writer::from_writer(out);
        rows(&mut w)?;
        w.flush()
    })
}

/// The rejects file of a load: `line,reason,raw`, one row per rejected source row, in source
/// order. It holds the raw rows (personal data) for case work; reasons never do.
pub fn write_rejects_csv(path: &Path, rejects: &[Reject]) -> Result<(), WriteError> {
    write_csv(path, |w| {
        w.write_record(["line", "reason", "raw"])?;
        for r in rejects {
            let reason = r.reason.to_string();
            w.write_record([
                r.line.to_string().as_str(),
                &safe_cell(&reason),
                &safe_cell(&r.raw),
            ])?;
        }
        Ok(())
    })
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
