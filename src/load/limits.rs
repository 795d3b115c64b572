//! Bounds on what a columnar file may declare, checked before polars allocates from it.
//!
//! Parquet and Arrow IPC files carry lengths (rows, values, buffer sizes, decompressed sizes)
//! that polars' readers trust: they allocate what the file declares before reading it, and an
//! allocation that fails aborts the process, which no `catch_unwind` can turn into an error. A
//! hostile file declaring 1.7e18 bytes must therefore be refused before polars sees it.
//!
//! The bounds come from one quantity, the memory the machine has to give: what the file
//! declares must fit in it, or loading it could not succeed anyway.
//! - **Bytes**: the column data a file declares (buffer lengths, decompressed lengths, the
//!   uncompressed sizes of Parquet column chunks), summed over the whole file, must not exceed
//!   the memory available, since polars materialises all of it.
//! - **Values**: a field node or column chunk declares a count of values; every value costs
//!   at least one byte once loaded (the loader renders each one as text), so the count summed
//!   over the file must not exceed the available bytes. This catches Null columns, which store
//!   nothing in the file and cost memory only once read.
//! - **Rows**: every loaded row costs the loader at least [`ROW_COST`] bytes (its fingerprint
//!   and its line number, 8 bytes each), so rows summed over the file must not exceed the
//!   available bytes divided by that.

/// Memory assumed when `/proc/meminfo` cannot be read (not Linux, or /proc not mounted):
/// 16 GiB, a large workstation. Any real export fits; 1.7e18 bytes does not.
pub(crate) const FALLBACK_MEMORY: u64 = 16 << 30;

/// Bytes each loaded row costs at the least: its fingerprint and line number (`u64` each).
pub(crate) const ROW_COST: u64 = 16;

/// The bounds for one load.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Bytes of memory a load may count on.
    pub memory: u64,
}

impl Limits {
    /// The bounds on this machine now: `MemAvailable` from `/proc/meminfo` (the kernel's
    /// estimate of memory that can be allocated without swapping), else [`FALLBACK_MEMORY`].
    pub fn of_machine() -> Limits {
        Limits {
            memory: crate::limits::available_memory().unwrap_or(FALLBACK_MEMORY),
        }
    }

    /// Column data bytes a file may declare in total.
    pub fn max_bytes(&self) -> u64 {
        self.memory
    }

    /// Values (field-node lengths, column-chunk value counts) a file may declare in total.
    pub fn max_values(&self) -> u64 {
        self.memory
    }

    /// Rows a file may declare in total.
    pub fn max_rows(&self) -> u64 {
        self.memory / ROW_COST
    }
}

pub(crate) use crate::limits::gib;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_has_some_memory() {
        let limits = Limits::of_machine();
        assert!(limits.memory > 0);
        assert_eq!(limits.max_rows(), limits.memory / 16);
    }
}
