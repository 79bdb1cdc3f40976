//! The process heap: handing the pages glibc keeps after a burst of frees back to the OS.

/// Returns the free heap pages glibc keeps to the kernel (after a burst of closed sessions, or a
/// query that used much memory), so the process's resident size falls back to what it uses.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn release_free() {
    // SAFETY: malloc_trim has no preconditions; it takes glibc's arena locks itself and only
    // returns free pages to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators return memory on their own terms.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free() {}
