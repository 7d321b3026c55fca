"""A pytest plugin: the suite's quick profiles without derandomize (the quick example count, and
the examples of ``--hypothesis-seed``), to find a fault its derandomized examples catch by luck.

    pytest -p random_quick --wasm-profile=quick --hypothesis-seed=N ...
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import settings


@pytest.hookimpl(trylast=True)
def pytest_configure(config: Any) -> None:
    for name in ("wasm-conformance-quick", "wasm-conformance-quick-no-shrink"):
        settings.register_profile(name, settings(settings.get_profile(name), derandomize=False))
