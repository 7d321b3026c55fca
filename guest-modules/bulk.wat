;; Guest "bulk": the bulk memory instructions, called with the host's operands.
;;
;; Each of fill, copy, init0 and init1 is one instruction, so a bounds check
;; that fails traps before a byte is written (the bulk memory proposal as
;; merged into the spec). Two passive data segments: $seg0, 32 recognisable
;; bytes, and $seg1, 3 bytes. They are never written to memory at
;; instantiation; the memory starts all zero. The trap exports (unreachable,
;; div_u) give a trap of each kind on demand. The reference model in
;; conformance/model/bulk.py mirrors each export; change both together.
(module
  (memory (export "memory") 1)

  (data $seg0 "passive segment 0:\00\01\02\03\7f\80\fe\ff<end0>")
  (data $seg1 "\d1\d2\d3")

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

  ;; memory.fill: n bytes from d set to the low 8 bits of val
  (func (export "fill") (param $d i32) (param $val i32) (param $n i32)
    (memory.fill (local.get $d) (local.get $val) (local.get $n)))

  ;; memory.copy: n bytes from s to d, as if through a temporary buffer
  (func (export "copy") (param $d i32) (param $s i32) (param $n i32)
    (memory.copy (local.get $d) (local.get $s) (local.get $n)))

  ;; memory.init: n bytes of a passive segment from its offset s to d
  (func (export "init0") (param $d i32) (param $s i32) (param $n i32)
    (memory.init $seg0 (local.get $d) (local.get $s) (local.get $n)))

  (func (export "init1") (param $d i32) (param $s i32) (param $n i32)
    (memory.init $seg1 (local.get $d) (local.get $s) (local.get $n)))

  ;; data.drop: the segment's bytes are gone (its length is 0 from now on)
  (func (export "drop0")
    (data.drop $seg0))

  (func (export "drop1")
    (data.drop $seg1))

  ;; traps of other kinds
  (func (export "unreachable")
    unreachable)

  (func (export "div_u") (param $a i32) (param $b i32) (result i32)
    (i32.div_u (local.get $a) (local.get $b)))
)
