//! The process heap: handing the pages the allocator keeps after a burst of frees back to the OS.

/// Returns the free pages mimalloc (the binary's allocator) keeps to the kernel, after a burst of
/// closed sessions or a query that used much memory, so the process's resident size falls back
/// to what it uses. Without mimalloc installed (the test binaries) it has nothing to collect.
pub fn release_free() {
    // SAFETY: mi_collect has no preconditions; `force` also purges the pages other threads freed.
    unsafe { libmimalloc_sys::mi_collect(true) };
}
