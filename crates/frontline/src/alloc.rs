//! The global allocator: mimalloc, entered through its plain `mi_malloc`
//! whenever the alignment asked for is one every mimalloc block has anyway.
//!
//! The `mimalloc` crate sends every allocation through `mi_malloc_aligned`,
//! whose alignment handling cost about 40 instructions more per call than
//! the plain entry — and a scan request makes three dozen allocations.

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// Every mimalloc block is aligned to the machine word.
const WORD: usize = std::mem::size_of::<usize>();

/// Whether a plain mimalloc block of `layout.size()` bytes is aligned enough:
/// every block is word-aligned, and a block whose size is a multiple of 16 is
/// 16-aligned (its size class is then a multiple of 16 too, and pages start
/// 16-aligned).
fn plain(layout: Layout) -> bool {
    layout.align() <= WORD || (layout.align() == 16 && layout.size().is_multiple_of(16))
}

/// mimalloc, taking its plain entry points when alignment allows.
pub struct Mi;

// SAFETY: each method returns memory from mimalloc that satisfies `layout`
// (see `plain`), or null on failure, and frees only what mimalloc returned.
unsafe impl GlobalAlloc for Mi {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if plain(layout) {
            mi::mi_malloc(layout.size()).cast()
        } else {
            mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if plain(layout) {
            mi::mi_zalloc(layout.size()).cast()
        } else {
            mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        mi::mi_free(ptr.cast::<c_void>());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // The new block keeps the old alignment: check it against the new size.
        match Layout::from_size_align(new_size, layout.align()) {
            Ok(new) if plain(new) => mi::mi_realloc(ptr.cast(), new_size).cast(),
            _ => mi::mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{plain, Mi};
    use std::alloc::{GlobalAlloc, Layout};

    #[test]
    fn every_block_has_the_alignment_asked_for() {
        let a = Mi;
        for align in [1, 2, 4, 8, 16, 32, 64, 128, 4096] {
            for size in [1, 7, 8, 15, 16, 24, 31, 48, 80, 100, 144, 1000, 4096, 70_000] {
                let Ok(layout) = Layout::from_size_align(size, align) else { continue };
                // SAFETY: a non-zero size; the block is freed with the same allocator.
                unsafe {
                    for zeroed in [false, true] {
                        let p = if zeroed { a.alloc_zeroed(layout) } else { a.alloc(layout) };
                        assert!(!p.is_null());
                        assert_eq!(p as usize % align, 0, "size {size} align {align}");
                        if zeroed {
                            assert!(std::slice::from_raw_parts(p, size).iter().all(|b| *b == 0));
                        }
                        let grown = a.realloc(p, layout, size * 3 + 5);
                        assert_eq!(grown as usize % align, 0, "grown: size {size} align {align}");
                        a.dealloc(grown, Layout::from_size_align(size * 3 + 5, align).expect("layout"));
                    }
                }
            }
        }
    }

    #[test]
    fn only_word_or_sixteen_byte_multiples_take_the_plain_entry() {
        let l = |size, align| Layout::from_size_align(size, align).expect("layout");
        assert!(plain(l(24, 8)) && plain(l(1, 1)) && plain(l(32, 16)) && plain(l(48, 16)));
        assert!(!plain(l(24, 16)) && !plain(l(64, 32)) && !plain(l(4096, 4096)));
    }
}
