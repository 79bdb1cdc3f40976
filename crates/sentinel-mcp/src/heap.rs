//! The process heap: handing the pages the allocator keeps after a burst of frees back to the OS.

/// Returns the free pages mimalloc (the binary's allocator) keeps to the kernel, after a burst of
/// closed sessions or a query that used much memory, so the process's resident size falls back
/// to what it uses. Without mimalloc installed (the test binaries) it has nothing to collect.
pub fn release_free() {
    // SAFETY: mi_collect has no preconditions; `force` also purges the pages other threads freed.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

/// mimalloc through its plain entry points wherever they suffice. The `mimalloc` crate's
/// allocator calls `mi_malloc_aligned` for every allocation, whose alignment checks and slower
/// fallback cost about 3 k instructions a `tools/call` (about 66 allocations); every block
/// mimalloc hands out is a whole number of machine words from a word-aligned start, so an
/// alignment of at most a word needs no checks.
pub struct Mimalloc;

/// The alignment every mimalloc block has.
const WORD: usize = std::mem::size_of::<usize>();

// SAFETY: each method forwards to the mimalloc function of the same contract; a layout whose
// alignment a plain block may not have goes to the aligned form.
unsafe impl std::alloc::GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        use libmimalloc_sys::{mi_malloc, mi_malloc_aligned};
        // SAFETY: any size is valid; the aligned form gets a power-of-two alignment.
        unsafe {
            match layout.align() <= WORD {
                true => mi_malloc(layout.size()),
                false => mi_malloc_aligned(layout.size(), layout.align()),
            }
        }
        .cast()
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        use libmimalloc_sys::{mi_zalloc, mi_zalloc_aligned};
        // SAFETY: as `alloc`.
        unsafe {
            match layout.align() <= WORD {
                true => mi_zalloc(layout.size()),
                false => mi_zalloc_aligned(layout.size(), layout.align()),
            }
        }
        .cast()
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _: std::alloc::Layout) {
        // SAFETY: `ptr` came from this allocator (GlobalAlloc's contract); mi_free takes any block.
        unsafe { libmimalloc_sys::mi_free(ptr.cast()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        use libmimalloc_sys::{mi_realloc, mi_realloc_aligned};
        // SAFETY: `ptr` came from this allocator with `layout`'s alignment, which the new block
        // keeps.
        unsafe {
            match layout.align() <= WORD {
                true => mi_realloc(ptr.cast(), new_size),
                false => mi_realloc_aligned(ptr.cast(), new_size, layout.align()),
            }
        }
        .cast()
    }
}

#[cfg(test)]
mod tests {
    use std::alloc::{GlobalAlloc, Layout};

    use super::Mimalloc;

    /// Every size and alignment gets a block with that alignment, which keeps it and its
    /// contents through growing and shrinking, and a zeroed block is zero.
    #[test]
    fn blocks_have_their_alignment_through_realloc_and_zeroed_blocks_are_zero() {
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1, 3, 7, 8, 13, 24, 40, 100, 1000, 5000, 70_000, 1 << 20] {
                let layout = Layout::from_size_align(size, align).expect("a valid layout");
                let aligned = |p: *mut u8| !p.is_null() && (p as usize).is_multiple_of(align);
                // SAFETY: a non-zero size; every block is freed with its layout.
                unsafe {
                    let p = Mimalloc.alloc(layout);
                    assert!(aligned(p), "{size} {align}");
                    p.write_bytes(0xA5, size);
                    let q = Mimalloc.realloc(p, layout, size * 3);
                    assert!(aligned(q), "{size} {align} grown");
                    assert!((0..size).all(|i| *q.add(i) == 0xA5), "{size} {align} grown");
                    let grown = Layout::from_size_align(size * 3, align).expect("a valid layout");
                    let r = Mimalloc.realloc(q, grown, size.div_ceil(2));
                    assert!(aligned(r), "{size} {align} shrunk");
                    assert!((0..size.div_ceil(2)).all(|i| *r.add(i) == 0xA5));
                    let shrunk = Layout::from_size_align(size.div_ceil(2), align).expect("valid");
                    Mimalloc.dealloc(r, shrunk);
                    let z = Mimalloc.alloc_zeroed(layout);
                    assert!(aligned(z), "{size} {align} zeroed");
                    assert!((0..size).all(|i| *z.add(i) == 0), "{size} {align} zeroed");
                    Mimalloc.dealloc(z, layout);
                }
            }
        }
    }
}
