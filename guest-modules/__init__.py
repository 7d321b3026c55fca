"""The guest modules: hand-written WAT, assembled to the committed ``.wasm`` beside it.

Every runtime loads the same bytes. ``build.py`` assembles them again; a test
checks that it gives identical bytes.
"""

from pathlib import Path

GUEST_DIR = Path(__file__).resolve().parent
