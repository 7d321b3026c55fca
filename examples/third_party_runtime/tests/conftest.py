# The wasm_runtime fixture and the --wasm-* options come from wasm-memory-conformance's pytest
# plugin, which its installation registers; nothing to declare here.
