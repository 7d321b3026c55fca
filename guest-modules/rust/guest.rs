//! Rust guest: the seed's boundary idioms (alloc and dealloc on Vec, get_greeting, a #[repr(C)] Point).
//!
//! Built by guest-modules/build_native.py for wasm32-unknown-unknown as a
//! cdylib with `-C panic=abort`; the module has no imports. Memory comes from
//! the standard library's allocator (dlmalloc on wasm32), reached through
//! `Vec::with_capacity` / `Vec::from_raw_parts` exactly as the seed shows.
//! No export panics on valid input: nothing here unwraps or indexes out of range.

use std::mem;
use std::ptr;

const GREETING: &[u8] = b"hello from wasm";

/// A block of `size` bytes owned by the caller until `dealloc(ptr, size)`.
/// The bytes are not initialised (memory reused after a free keeps old bytes).
#[no_mangle]
pub extern "C" fn alloc(size: usize) -> *mut u8 {
    let mut buf: Vec<u8> = Vec::with_capacity(size);
    let p = buf.as_mut_ptr();
    mem::forget(buf);
    p
}

/// Frees a block from `alloc(size)`; `size` must be the size it was allocated with.
///
/// # Safety
/// `ptr` must come from `alloc(size)` (or `upper_alloc`, with `size = len + 4`)
/// and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn dealloc(ptr: *mut u8, size: usize) {
    drop(Vec::from_raw_parts(ptr, 0, size));
}

/// Copies min(len, out_cap) bytes of the greeting to `out_ptr`; returns the full length.
///
/// # Safety
/// `[out_ptr, out_ptr + out_cap)` must be writable.
#[no_mangle]
pub unsafe extern "C" fn get_greeting(out_ptr: *mut u8, out_cap: usize) -> usize {
    let n = GREETING.len().min(out_cap);
    ptr::copy_nonoverlapping(GREETING.as_ptr(), out_ptr, n);
    GREETING.len()
}

/// Field order and padding as in C: x at offset 0, y at offset 4, size 8, align 4.
#[repr(C)]
pub struct Point {
    pub x: i32,
    pub y: i32,
}

/// x + y, wrapping on overflow.
///
/// # Safety
/// `p` must point to 8 readable, 4-aligned bytes.
#[no_mangle]
pub unsafe extern "C" fn point_sum(p: *const Point) -> i32 {
    let point = &*p;
    point.x.wrapping_add(point.y)
}

#[no_mangle]
pub extern "C" fn point_size() -> usize {
    mem::size_of::<Point>()
}

#[no_mangle]
pub extern "C" fn point_align() -> usize {
    mem::align_of::<Point>()
}

/// Stores a Point at `p`.
///
/// # Safety
/// `p` must point to 8 writable, 4-aligned bytes.
#[no_mangle]
pub unsafe extern "C" fn point_write(p: *mut Point, x: i32, y: i32) {
    ptr::write(p, Point { x, y });
}

/// A module-allocated result: [len: u32 little-endian][the bytes, ASCII-uppercased].
/// The block is `len + 4` bytes from `alloc`; the host frees it with
/// `dealloc(block, len + 4)`. Returns null if `len + 4` overflows.
///
/// # Safety
/// `[ptr, ptr + len)` must be readable.
#[no_mangle]
pub unsafe extern "C" fn upper_alloc(ptr: *const u8, len: usize) -> *mut u8 {
    let total = match len.checked_add(4) {
        Some(t) => t,
        None => return ptr::null_mut(),
    };
    let block = alloc(total);
    let header = (len as u32).to_le_bytes();
    ptr::copy_nonoverlapping(header.as_ptr(), block, 4);
    let body = block.add(4);
    let mut i = 0;
    while i < len {
        *body.add(i) = (*ptr.add(i)).to_ascii_uppercase();
        i += 1;
    }
    block
}

/// memory.size of memory 0, in 64 KiB pages.
#[no_mangle]
pub extern "C" fn memory_pages() -> usize {
    core::arch::wasm32::memory_size(0)
}
