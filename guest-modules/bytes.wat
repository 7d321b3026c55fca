;; Guest "bytes": byte arrays crossing the boundary as ptr/len.
;;
;; Every export touches memory one byte at a time, in address order, so a
;; ptr/len that reaches past the end traps at the first byte outside memory,
;; after the bytes before it were touched. The reference model in
;; conformance/model/guests.py mirrors each export exactly; change both together.
(module
  (memory (export "memory") 1)

  ;; memory.size in pages
  (func (export "size") (result i32)
    memory.size)

  ;; memory.grow: the old size in pages, or -1
  (func (export "grow") (param $delta i32) (result i32)
    (memory.grow (local.get $delta)))

  (func (export "load_u8") (param $addr i32) (result i32)
    (i32.load8_u (local.get $addr)))

  (func (export "store_u8") (param $addr i32) (param $value i32)
    (i32.store8 (local.get $addr) (local.get $value)))

  ;; FNV-1a (32-bit) of the bytes [ptr, ptr+len), read in order
  (func (export "checksum") (param $ptr i32) (param $len i32) (result i32)
    (local $hash i32)
    (local.set $hash (i32.const 0x811c9dc5))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $len)))
        (local.set $hash
          (i32.mul
            (i32.xor (local.get $hash) (i32.load8_u (local.get $ptr)))
            (i32.const 0x01000193)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
        (local.set $len (i32.sub (local.get $len) (i32.const 1)))
        (br $next)))
    (local.get $hash))

  ;; copy len bytes from src to dst, lowest address first (load, then store)
  (func (export "copy") (param $src i32) (param $len i32) (param $dst i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $len)))
        (i32.store8 (local.get $dst) (i32.load8_u (local.get $src)))
        (local.set $src (i32.add (local.get $src) (i32.const 1)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
        (local.set $len (i32.sub (local.get $len) (i32.const 1)))
        (br $next))))

  ;; set len bytes from ptr to the low 8 bits of value, lowest address first
  (func (export "fill") (param $ptr i32) (param $len i32) (param $value i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $len)))
        (i32.store8 (local.get $ptr) (local.get $value))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
        (local.set $len (i32.sub (local.get $len) (i32.const 1)))
        (br $next))))

  ;; reverse [ptr, ptr+len) in place: for k < len/2 swap ptr+k and ptr+len-1-k,
  ;; loading both bytes before storing either
  (func (export "reverse") (param $ptr i32) (param $len i32)
    (local $lo i32) (local $hi i32) (local $a i32) (local $b i32)
    (local.set $lo (local.get $ptr))
    (local.set $hi (i32.sub (i32.add (local.get $ptr) (local.get $len)) (i32.const 1)))
    (local.set $len (i32.shr_u (local.get $len) (i32.const 1)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $len)))
        (local.set $a (i32.load8_u (local.get $lo)))
        (local.set $b (i32.load8_u (local.get $hi)))
        (i32.store8 (local.get $lo) (local.get $b))
        (i32.store8 (local.get $hi) (local.get $a))
        (local.set $lo (i32.add (local.get $lo) (i32.const 1)))
        (local.set $hi (i32.sub (local.get $hi) (i32.const 1)))
        (local.set $len (i32.sub (local.get $len) (i32.const 1)))
        (br $next))))
)
