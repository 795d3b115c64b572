//! Large buffers read at random, on 2 MiB pages.
//!
//! A candidate pair reads its second record anywhere in the register: at 100,000,000 voters
//! the records are 9.4 GiB, 2.5 million pages of 4 KiB, far more than the processor's
//! translation buffer holds, so nearly every pair may wait for a page-table walk as well as
//! for the record. `perf` of the 100M audit's dedupe put 58% of its samples on the
//! comparisons' prefetch of a record (session 27), and random reads of 96-byte rows on this
//! VM took 108 ns on small pages and 66 ns on huge ones at that size (a C loop; 45 and 28 ns
//! at 10M rows). On 2 MiB pages the records are about 4,800 pages, whose table stays in the
//! caches. Linux gives them to a range that asks
//! (`madvise(MADV_HUGEPAGE)`) when transparent huge pages are `madvise` or `always` (the
//! common defaults); elsewhere, or when the kernel says no, the buffer stays on small pages
//! and nothing else changes.

/// Asks for the allocation of `v` (its capacity, used or not) to be backed by huge pages.
/// Best called before the pages are first written, so that they are huge from the start.
pub(crate) fn advise_huge<T>(v: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let bytes = v.capacity() * std::mem::size_of::<T>();
        // Below one huge page there is nothing to gain.
        if bytes < 2 << 20 {
            return;
        }
        let start = v.as_ptr() as usize;
        let (from, to) = (start.next_multiple_of(PAGE), (start + bytes) / PAGE * PAGE);
        if to > from {
            // SAFETY: the range lies inside the vector's own allocation, page-aligned, and
            // MADV_HUGEPAGE changes only how the kernel backs it, never its contents. A
            // failure (no transparent huge pages) leaves it as it was.
            unsafe {
                libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}
