"""The self-tests' own Hypothesis settings, as any project that uses the plugin sets its own.

The plugin loads the suite's profile only for the suite (or ``--wasm-profile``); the self-tests
of ``tests/`` run alone take these: no deadline (a test may start a driver process, on a busy
machine), Hypothesis' default number of examples. ``--hypothesis-profile`` still overrides them.
"""

from hypothesis import HealthCheck, settings

settings.register_profile("self-tests", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("self-tests")
