;; Guest "multi": three memories with limits of their own (multi-memory).
;;
;;   memory 0  exported as "memory"  min 1, no maximum
;;   memory 1                        min 1, max 2
;;   memory 2                        min 0, max 1
;;
;; For each memory k: load_u8_k, store_u8_k, grow_k, size_k and fill_k (one
;; memory.fill). Only memory 0 is exported, so the host reaches the others
;; through these calls alone. The reference model in conformance/model/multi.py
;; mirrors each export; change both together.
(module
  (memory $m0 (export "memory") 1)
  (memory $m1 1 2)
  (memory $m2 0 1)

  (func (export "load_u8_0") (param $addr i32) (result i32)
    (i32.load8_u $m0 (local.get $addr)))
  (func (export "load_u8_1") (param $addr i32) (result i32)
    (i32.load8_u $m1 (local.get $addr)))
  (func (export "load_u8_2") (param $addr i32) (result i32)
    (i32.load8_u $m2 (local.get $addr)))

  (func (export "store_u8_0") (param $addr i32) (param $value i32)
    (i32.store8 $m0 (local.get $addr) (local.get $value)))
  (func (export "store_u8_1") (param $addr i32) (param $value i32)
    (i32.store8 $m1 (local.get $addr) (local.get $value)))
  (func (export "store_u8_2") (param $addr i32) (param $value i32)
    (i32.store8 $m2 (local.get $addr) (local.get $value)))

  ;; memory.grow: the old size in pages, or -1
  (func (export "grow_0") (param $delta i32) (result i32)
    (memory.grow $m0 (local.get $delta)))
  (func (export "grow_1") (param $delta i32) (result i32)
    (memory.grow $m1 (local.get $delta)))
  (func (export "grow_2") (param $delta i32) (result i32)
    (memory.grow $m2 (local.get $delta)))

  ;; memory.size in pages
  (func (export "size_0") (result i32)
    (memory.size $m0))
  (func (export "size_1") (result i32)
    (memory.size $m1))
  (func (export "size_2") (result i32)
    (memory.size $m2))

  ;; memory.fill: n bytes from d set to the low 8 bits of val
  (func (export "fill_0") (param $d i32) (param $val i32) (param $n i32)
    (memory.fill $m0 (local.get $d) (local.get $val) (local.get $n)))
  (func (export "fill_1") (param $d i32) (param $val i32) (param $n i32)
    (memory.fill $m1 (local.get $d) (local.get $val) (local.get $n)))
  (func (export "fill_2") (param $d i32) (param $val i32) (param $n i32)
    (memory.fill $m2 (local.get $d) (local.get $val) (local.get $n)))
)
