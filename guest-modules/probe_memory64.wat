;; Feature probe: a 64-bit memory (memory64). A runtime without it rejects the module.
(module
  (memory (export "memory") i64 1)
  (func (export "size") (result i64) memory.size)
  (func (export "load_u8") (param $addr i64) (result i32)
    (i32.load8_u (local.get $addr))))
