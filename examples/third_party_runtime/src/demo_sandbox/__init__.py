"""demo-sandbox: run a WebAssembly module and move bytes in and out of its memory, carefully."""

from demo_sandbox.sandbox import OutOfBounds, Sandbox, SandboxTrap

__all__ = ["OutOfBounds", "Sandbox", "SandboxTrap"]
