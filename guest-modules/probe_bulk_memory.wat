;; Feature probe: bulk memory instructions (memory.fill, memory.copy).
(module
  (memory (export "memory") 1)
  (func (export "fill") (param $ptr i32) (param $len i32) (param $value i32)
    (memory.fill (local.get $ptr) (local.get $value) (local.get $len)))
  (func (export "copy") (param $dst i32) (param $src i32) (param $len i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $len))))
