;; Feature probe: two memories in one module (multi-memory).
(module
  (memory (export "memory") 1)
  (memory (export "memory1") 1)
  (func (export "store_in_second") (param $addr i32) (param $value i32)
    (i32.store8 1 (local.get $addr) (local.get $value)))
  (func (export "load_from_second") (param $addr i32) (result i32)
    (i32.load8_u 1 (local.get $addr))))
