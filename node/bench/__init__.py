"""``tredegar bench``: how close a node gets to what the machine can do.

Each scenario runs real ``tredegar run`` processes on loopback and measures a
rate or a time beside a baseline measured in the same run (what the machine
does with the same primitives and none of the node), so every figure is a
ratio that holds on a noisy machine. Scenarios with an absolute goal (memory,
start, in-sync) report a value and the goal only. See ``docs/performance.md``.
"""

from __future__ import annotations

__all__ = ["SCENARIOS"]

#: The scenarios, in the order they run and are printed.
SCENARIOS = ("publish", "catch-up", "spread", "in-sync", "query", "memory", "start")
