;; Guest "strings": UTF-8 text crossing the boundary, and results coming back.
;;
;; Layout: page 0 is the host's scratch space; page 1 holds the greeting at
;; 0x10000 and the allocator's heap from 0x10040 to the end of memory.
;;
;; The allocator is a counting bump allocator: alloc(n) returns the next
;; 8-aligned address with n bytes free below the end of memory, or 0 when
;; there is none (it never grows memory); dealloc counts the block as freed, and
;; when no block is live the heap starts again at its base.
;;
;; The reference model in conformance/model/guests.py mirrors each export
;; exactly; change both together.
(module
  (memory (export "memory") 2)
  (global $heap_base i32 (i32.const 0x10040))
  (global $bump (mut i32) (i32.const 0x10040))
  (global $live (mut i32) (i32.const 0))
  (data (i32.const 0x10000) "hello from wasm")

  (func (export "size") (result i32)
    memory.size)

  (func (export "grow") (param $delta i32) (result i32)
    (memory.grow (local.get $delta)))

  ;; UTF-8 code points in [ptr, ptr+len): bytes that are not 10xxxxxx
  (func (export "count_codepoints") (param $ptr i32) (param $len i32) (result i32)
    (local $count i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $len)))
        (if (i32.ne (i32.and (i32.load8_u (local.get $ptr)) (i32.const 0xc0)) (i32.const 0x80))
          (then (local.set $count (i32.add (local.get $count) (i32.const 1)))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
        (local.set $len (i32.sub (local.get $len) (i32.const 1)))
        (br $next)))
    (local.get $count))

  ;; ASCII a-z to A-Z in place; every other byte (UTF-8 included) is left alone
  (func $ascii_upper (export "ascii_upper") (param $ptr i32) (param $len i32)
    (local $byte i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $len)))
        (local.set $byte (i32.load8_u (local.get $ptr)))
        (if (i32.lt_u (i32.sub (local.get $byte) (i32.const 0x61)) (i32.const 26))
          (then (i32.store8 (local.get $ptr) (i32.sub (local.get $byte) (i32.const 0x20)))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
        (local.set $len (i32.sub (local.get $len) (i32.const 1)))
        (br $next))))

  ;; copy min(len, cap) bytes from src to out, lowest address first; return len,
  ;; so that the host sees a truncation
  (func $copy_out (export "copy_out")
    (param $src i32) (param $len i32) (param $out i32) (param $cap i32) (result i32)
    (local $n i32)
    (local.set $n (select (local.get $len) (local.get $cap)
                          (i32.lt_u (local.get $len) (local.get $cap))))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (i32.store8 (local.get $out) (i32.load8_u (local.get $src)))
        (local.set $src (i32.add (local.get $src) (i32.const 1)))
        (local.set $out (i32.add (local.get $out) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $len))

  ;; the seed's get_greeting(out_ptr, out_cap) -> len
  (func (export "get_greeting") (param $out i32) (param $cap i32) (result i32)
    (call $copy_out (i32.const 0x10000) (i32.const 15) (local.get $out) (local.get $cap)))

  (func $alloc (export "alloc") (param $n i32) (result i32)
    (local $ptr i32)
    ;; round the bump pointer up to 8
    (local.set $ptr (i32.and (i32.add (global.get $bump) (i32.const 7)) (i32.const -8)))
    ;; fits when n <= memory end - ptr (unsigned; ptr never passes the end)
    (if (i32.gt_u (local.get $n)
                  (i32.sub (i32.mul (memory.size) (i32.const 0x10000)) (local.get $ptr)))
      (then (return (i32.const 0))))
    (global.set $bump (i32.add (local.get $ptr) (local.get $n)))
    (global.set $live (i32.add (global.get $live) (i32.const 1)))
    (local.get $ptr))

  (func (export "dealloc") (param $ptr i32) (param $n i32)
    (if (i32.eqz (global.get $live)) (then (return)))
    (global.set $live (i32.sub (global.get $live) (i32.const 1)))
    (if (i32.eqz (global.get $live))
      (then (global.set $bump (global.get $heap_base)))))

  ;; a module-allocated result: a block [len: u32 little-endian][len bytes] holding
  ;; the ASCII-uppercased copy of [ptr, ptr+len); returns the block, or 0 when
  ;; the allocator has no room. The host reads it, then deallocs 4 + len bytes.
  (func (export "upper_alloc") (param $ptr i32) (param $len i32) (result i32)
    (local $block i32)
    (local.set $block (call $alloc (i32.add (local.get $len) (i32.const 4))))
    (if (i32.eqz (local.get $block)) (then (return (i32.const 0))))
    (i32.store (local.get $block) (local.get $len))
    (drop (call $copy_out (local.get $ptr) (local.get $len)
                          (i32.add (local.get $block) (i32.const 4)) (local.get $len)))
    (call $ascii_upper (i32.add (local.get $block) (i32.const 4)) (local.get $len))
    (local.get $block))
)
