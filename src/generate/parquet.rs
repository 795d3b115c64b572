//! Parquet output: the canonical CSV bytes handed to the loader's converter, so that a
//! Parquet snapshot holds exactly what the CSV one would (one code path defines the types).

use std::path::Path;

use super::GenerateError;

/// Converts canonical CSV bytes to a Parquet file at `out`.
pub(crate) fn csv_to_parquet(csv: &[u8], out: &Path) -> Result<(), GenerateError> {
    let name = out.with_extension("csv");
    crate::load::canonical_csv_to_parquet(csv, &name.to_string_lossy(), out).map_err(|source| {
        GenerateError::Parquet {
            path: out.to_path_buf(),
            source: Box::new(source),
        }
    })
}
