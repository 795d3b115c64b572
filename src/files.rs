//! Files written whole or not at all, readable by their owner only.
//!
//! Every artefact (reports, change logs, ingested snapshots, rejects files) is written to a
//! temporary name beside its path and renamed into place, so an interrupted run leaves the
//! previous complete file or none. This is the bottom layer of writing: `report`, `snapshot`,
//! `load` and `diff` use it, and it uses none of them. [`free_bytes`] says whether a file
//! system has room for what a run will write.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A write that failed, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot write", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomically_with(path, |w| w.write_all(bytes))
}

/// Writes `path` as [`write_atomically`] does, from `write`, which streams into a buffered
/// temporary file: a large artefact (a 10^7-voter report) is never held whole in memory. A
/// failed `write` leaves no temporary behind.
pub fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), WriteError> {
    let err = |source| WriteError {
        path: path.to_path_buf(),
        source,
    };
    let tmp = temp_name(path);
    let file = create_private(&tmp).map_err(err)?;
    let mut buffered = std::io::BufWriter::with_capacity(1 << 20, file);
    let written = write(&mut buffered)
        .and_then(|()| buffered.into_inner().map_err(|e| e.into_error()))
        .and_then(|file| file.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
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

/// Removes temporary files a killed earlier run left behind (`NAME.tmpPID`).
pub fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some((_, pid)) = name.rsplit_once(".tmp") {
            if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// The bytes an unprivileged process may still write to the file system of `dir`, where the
/// system says (`statvfs`); `None` elsewhere, and then the file is tried.
pub fn free_bytes(dir: &Path) -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        // SAFETY: statvfs reads the path, a NUL-terminated string that outlives the call, and
        // writes only into the struct it is given.
        let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statvfs(path.as_ptr(), &mut stat) } != 0 {
            return None;
        }
        // Both are 32 bits on some targets.
        #[allow(clippy::useless_conversion)]
        Some(u64::from(stat.f_bavail).saturating_mul(u64::from(stat.f_frsize)))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        None
    }
}
