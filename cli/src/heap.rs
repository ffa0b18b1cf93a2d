//! Heap set-up for one short run of `koaljac`.
//!
//! A check of 10,000 tasks touches about 40 MB of fresh heap, and on a
//! virtual machine every 4 KiB page's first touch is a fault costing
//! microseconds: half of such a run was spent in the kernel. So before any
//! work, glibc's malloc is told to reserve its heap in one 1 GiB step (address
//! space only: pages are backed when first touched) and to serve large
//! blocks (the token vector, the output) from that heap rather than from
//! fresh mappings, and that heap is marked for transparent huge pages.
//! About 12,000 faults become about a thousand, and a check of 10,000 tasks
//! runs 1.5x faster (`bench/check.sh`). This is what
//! `GLIBC_TUNABLES=glibc.malloc.hugetlb=1` with a large `top_pad` does, set
//! from inside because tunables are read only from the environment. (Marking
//! the parser threads' arenas as well, through a global allocator, measured
//! no better.)
//!
//! Only on Linux with glibc; elsewhere nothing. It cannot fail in a way that
//! matters: a refused call leaves malloc's defaults, and huge pages change
//! how memory is backed, never its contents.

/// Sets malloc up and marks the main heap; call first thing in `main`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn prepare() {
    use std::ffi::c_int;
    /// How far the heap grows at a time: enough for a check of 100,000
    /// tasks, whose heap would otherwise grow past the marked part.
    const STEP: c_int = 1 << 30;
    /// The largest block served from the heap: glibc's maximum.
    const LARGEST_HEAP_BLOCK: c_int = 32 << 20;
    /// A transparent huge page on x86-64 and aarch64.
    const HUGE_PAGE: usize = 2 << 20;
    // SAFETY: mallopt only sets malloc's parameters; malloc/free pair up on a
    // block nothing else sees; sbrk(0) only reads the program break; madvise
    // covers heap pages this process owns and only advises on their backing.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, STEP);
        libc::mallopt(libc::M_TRIM_THRESHOLD, STEP);
        libc::mallopt(libc::M_MMAP_THRESHOLD, LARGEST_HEAP_BLOCK);
        // Make malloc take its first step now, so it can be marked.
        let probe = libc::malloc(1 << 20);
        if probe.is_null() {
            return;
        }
        let end = libc::sbrk(0) as usize;
        libc::free(probe);
        let start = (probe as usize).next_multiple_of(HUGE_PAGE);
        if end > start {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn prepare() {}
