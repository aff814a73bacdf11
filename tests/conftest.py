"""Settings shared by every test.

Hypothesis: tests never fail on a timing (a loaded CI machine is slow), so the
deadline and the health checks that measure time are off; everything else
Hypothesis checks stays on.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "tredegar",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("tredegar")
