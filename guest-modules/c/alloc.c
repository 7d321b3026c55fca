/* C guest: wasi-libc's malloc/free (dlmalloc) and a per-request arena.
 *
 * Built by guest-modules/build_native.py with
 *   clang --target=wasm32-wasi -nostartfiles -Wl,--no-entry
 * The module has no imports: nothing here reaches a WASI call.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT(name) __attribute__((export_name(name)))

EXPORT("c_malloc")
void *c_malloc(size_t n) {
    return malloc(n);
}

EXPORT("c_free")
void c_free(void *ptr) {
    free(ptr);
}

/* memset(ptr, byte, n) */
EXPORT("c_fill")
void c_fill(void *ptr, size_t n, int byte) {
    memset(ptr, byte, n);
}

/* FNV-1a (32-bit) of [ptr, ptr + n), the same as bytes.wat's checksum. */
EXPORT("c_checksum")
uint32_t c_checksum(const unsigned char *ptr, size_t n) {
    uint32_t hash = 0x811c9dc5u;
    for (size_t i = 0; i < n; i++) {
        hash ^= ptr[i];
        hash *= 0x01000193u;
    }
    return hash;
}

/* Per-request arena: a static 64 KiB buffer and a bump offset. Allocations are
 * 8-aligned; one that does not fit returns 0 and leaves the arena as it was.
 * c_arena_reset() frees everything at once. */
#define ARENA_SIZE 65536u

static _Alignas(8) unsigned char arena[ARENA_SIZE];
static size_t arena_used;

EXPORT("c_arena_reset")
void c_arena_reset(void) {
    arena_used = 0;
}

EXPORT("c_arena_alloc")
void *c_arena_alloc(size_t n) {
    size_t start = (arena_used + 7u) & ~(size_t)7u;
    if (start > ARENA_SIZE || n > ARENA_SIZE - start) {
        return 0;
    }
    arena_used = start + n;
    return &arena[start];
}

/* memory.size of memory 0, in 64 KiB pages. */
EXPORT("memory_pages")
uint32_t memory_pages(void) {
    return (uint32_t)__builtin_wasm_memory_size(0);
}
