;; Guest "scalars": every scalar type stored and loaded at a host-chosen address.
;;
;; Floats cross the call boundary as their bit patterns (i32/i64, through
;; reinterpret), so that what is checked is memory's byte order and nothing
;; else: loads, stores and reinterpretations preserve every bit, NaN payloads
;; included. The echo_* exports pass floats as floats, for the finding whether
;; a host keeps NaN payloads across a call; the *_at ones also store the float
;; they return where the host reads it as raw bytes, so that a NaN payload lost
;; in the host's value type is told apart from one the runtime changed.
;; The reference model in conformance/model/guests.py mirrors each export.
(module
  (memory (export "memory") 1)

  (func (export "store_i8") (param $addr i32) (param $v i32)
    (i32.store8 (local.get $addr) (local.get $v)))
  (func (export "store_i16") (param $addr i32) (param $v i32)
    (i32.store16 (local.get $addr) (local.get $v)))
  (func (export "store_i32") (param $addr i32) (param $v i32)
    (i32.store (local.get $addr) (local.get $v)))
  (func (export "store_i64") (param $addr i32) (param $v i64)
    (i64.store (local.get $addr) (local.get $v)))
  (func (export "store_f32") (param $addr i32) (param $bits i32)
    (f32.store (local.get $addr) (f32.reinterpret_i32 (local.get $bits))))
  (func (export "store_f64") (param $addr i32) (param $bits i64)
    (f64.store (local.get $addr) (f64.reinterpret_i64 (local.get $bits))))

  (func (export "load_i8_s") (param $addr i32) (result i32)
    (i32.load8_s (local.get $addr)))
  (func (export "load_i8_u") (param $addr i32) (result i32)
    (i32.load8_u (local.get $addr)))
  (func (export "load_i16_s") (param $addr i32) (result i32)
    (i32.load16_s (local.get $addr)))
  (func (export "load_i16_u") (param $addr i32) (result i32)
    (i32.load16_u (local.get $addr)))
  (func (export "load_i32") (param $addr i32) (result i32)
    (i32.load (local.get $addr)))
  (func (export "load_i64") (param $addr i32) (result i64)
    (i64.load (local.get $addr)))
  (func (export "load_f32") (param $addr i32) (result i32)
    (i32.reinterpret_f32 (f32.load (local.get $addr))))
  (func (export "load_f64") (param $addr i32) (result i64)
    (i64.reinterpret_f64 (f64.load (local.get $addr))))

  ;; floats as floats across the call boundary
  (func (export "echo_f32") (param $x f32) (result f32)
    (local.get $x))
  (func (export "echo_f64") (param $x f64) (result f64)
    (local.get $x))
  (func (export "f32_bits") (param $x f32) (result i32)
    (i32.reinterpret_f32 (local.get $x)))
  (func (export "f64_bits") (param $x f64) (result i64)
    (i64.reinterpret_f64 (local.get $x)))
  (func (export "f32_from_bits") (param $bits i32) (result f32)
    (f32.reinterpret_i32 (local.get $bits)))
  (func (export "f64_from_bits") (param $bits i64) (result f64)
    (f64.reinterpret_i64 (local.get $bits)))

  ;; the float made from its bits, stored at $addr and returned: memory shows
  ;; what the runtime holds, the result what reached the host
  (func (export "f32_from_bits_at") (param $addr i32) (param $bits i32) (result f32)
    (local $x f32)
    (local.set $x (f32.reinterpret_i32 (local.get $bits)))
    (f32.store (local.get $addr) (local.get $x))
    (local.get $x))
  (func (export "f64_from_bits_at") (param $addr i32) (param $bits i64) (result f64)
    (local $x f64)
    (local.set $x (f64.reinterpret_i64 (local.get $bits)))
    (f64.store (local.get $addr) (local.get $x))
    (local.get $x))
)
