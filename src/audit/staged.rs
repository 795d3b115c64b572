//! Delimited exports ingested before the audit, for registers whose audit does not fit in
//! memory otherwise (issue #16).
//!
//! The audit reads an ingested Parquet file a window at a time (its first snapshot's diff, its
//! latest's dedupe and, within a tight `--memory-limit`, its latest's scan and diff), but a
//! CSV export it must load whole: an audit of two exports of 100M voters asks for far more
//! than a 24 GiB machine has. So where the binary's plan does not fit, each delimited export
//! is first ingested a piece at a time ([`load::ingest_in_pieces`]) into a scratch directory,
//! and the audit reads the copies. The copies are what the export holds (the same rows,
//! fingerprints and lines), but their provenance is not: the report must name the export, its
//! SHA-256 and its load (rows read, rejected, and the rejects themselves, which the record
//! rules read for repeated voter ids). [`Staged`] carries the export's, and the audit gives
//! it wherever it would give the copy's; the artefacts are the audit of the exports'.

use std::path::{Path, PathBuf};

use super::{AuditError, AuditInput, LoadedInput};
use crate::load::{self, LoadReport, Progress};
use crate::profile::Profile;

/// A delimited export read from its ingested copy: the export's provenance.
#[derive(Clone, Debug)]
pub struct Staged {
    /// The ingested copy the audit reads.
    pub copy: PathBuf,
    /// The export, as named on the command line.
    pub export: PathBuf,
    /// SHA-256 of the export's bytes, hex.
    pub sha256: String,
    /// The export's load: what a whole-file load of it reports.
    pub report: LoadReport,
}

/// Ingests every delimited export among `inputs` into `dir` (which must exist), a piece of
/// `piece_bytes` at a time, and points its input at the copy. Inputs that are not delimited
/// text in a byte encoding (columnar files, UTF-16) are left as they are.
pub fn stage_exports(
    inputs: &mut [AuditInput],
    profile: &Profile,
    dir: &Path,
    piece_bytes: usize,
    progress: &dyn Progress,
) -> Result<Vec<Staged>, AuditError> {
    let mut staged = Vec::new();
    for (k, input) in inputs.iter_mut().enumerate() {
        if !is_export(&input.path) {
            continue;
        }
        let stem = input.path.file_stem().unwrap_or_default().to_string_lossy();
        let copy = dir.join(format!("{k}-{stem}.parquet"));
        let export = input.path.as_path();
        // The export is read twice, for its rows and for its hash, at once.
        let (ingested, sha256) = std::thread::scope(|scope| {
            let sha256 = scope.spawn(|| load::sha256_of_file(export));
            let ingested = load::ingest_in_pieces(export, profile, &copy, piece_bytes, progress);
            (
                ingested,
                sha256.join().expect("the hashing thread does not panic"),
            )
        });
        let Some(ingested) = ingested? else {
            continue;
        };
        staged.push(Staged {
            copy: copy.clone(),
            export: input.path.clone(),
            sha256: sha256?,
            report: ingested.report,
        });
        input.path = copy;
    }
    Ok(staged)
}

/// Whether `path` is named as delimited text: an export that [`stage_exports`] ingests.
pub fn is_export(path: &Path) -> bool {
    load::InputFormat::by_name(path) == load::InputFormat::Delimited
}

/// The export `path` is the ingested copy of, if it is one.
pub fn export_of<'a>(staged: &'a [Staged], path: &Path) -> Option<&'a Staged> {
    staged.iter().find(|s| s.copy == path)
}

/// Gives `loaded`, read from a copy, the export's provenance.
pub(super) fn as_export(staged: &[Staged], loaded: &mut LoadedInput) {
    if let Some(s) = export_of(staged, &loaded.input.path) {
        loaded.sha256 = s.sha256.clone();
        loaded.report = s.report.clone();
    }
}

/// Names the exports instead of their copies, once nothing more is read.
pub(super) fn name_exports(staged: &[Staged], loaded: &mut [LoadedInput]) {
    for input in loaded {
        if let Some(s) = export_of(staged, &input.input.path) {
            input.input.path = s.export.clone();
        }
    }
}

/// `work` on the ingested file `path` given its load report, with the file's provenance: its
/// SHA-256, computed on a thread of its own meanwhile, and that report; or, for a copy, its
/// export's.
pub(super) fn with_provenance<T>(
    path: &Path,
    staged: &[Staged],
    work: impl FnOnce(&LoadReport) -> Result<T, AuditError>,
) -> Result<(String, LoadReport, T), AuditError> {
    if let Some(s) = export_of(staged, path) {
        let done = work(&s.report)?;
        return Ok((s.sha256.clone(), s.report.clone(), done));
    }
    std::thread::scope(|scope| {
        let sha256 = scope.spawn(|| load::sha256_of_file(path));
        let done = load::ingested_report(path)
            .map_err(AuditError::from)
            .and_then(|report| Ok((work(&report)?, report)));
        let sha256 = sha256.join().expect("the hashing thread does not panic");
        let (done, report) = done?;
        Ok((sha256?, report, done))
    })
}
