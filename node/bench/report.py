"""Sizes of a run, one result row per scenario, and the printed table."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["SIZES", "Row", "Sizes", "percentile", "table"]


@dataclass(frozen=True, slots=True)
class Sizes:
    """How big each scenario is: ``full`` is the issue's, ``quick`` a tenth."""

    name: str
    events: int  # held by the node of catch-up, query, memory and start
    feeds: int  # those events' feeds
    publish: int  # events published in the publish scenario
    clients: int  # concurrent publishers
    spread_nodes: int
    spread_rounds: int  # new events timed per topology
    sync_feeds: int  # feeds the two agreeing peers of in-sync hold
    query_clients: int
    query_seconds: float  # load time per route


SIZES = {
    "full": Sizes("full", 100_000, 100, 10_000, 32, 10, 20, 1000, 50, 10.0),
    "quick": Sizes("quick", 10_000, 100, 1_000, 32, 10, 4, 100, 50, 1.5),
    "smoke": Sizes("smoke", 200, 10, 64, 8, 3, 1, 10, 8, 0.3),
}


@dataclass(slots=True)
class Row:
    """One scenario's result, as printed and written to ``--json``.

    For rate scenarios ``rate`` and ``baseline`` are events per second and
    ``ratio`` is rate / baseline (goal: at least ``goal``). For latency
    scenarios they are seconds and ``ratio`` is measured / baseline (goal: at
    most ``goal``). Absolute-goal rows have ``baseline`` and ``ratio`` null
    and compare ``value`` (in ``unit``) with ``goal``.
    """

    name: str
    unit: str
    rate: float | None
    baseline: float | None
    ratio: float | None
    value: float
    goal: float
    higher_is_better: bool
    sizes: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)
    #: Whether the goal's other conditions hold (in-sync: one request).
    also_met: bool = True
    machine: dict[str, Any] = field(default_factory=dict)

    @property
    def met(self) -> bool:
        """Whether the goal is met."""
        measured = self.ratio if self.ratio is not None else self.value
        if not self.also_met:
            return False
        if self.higher_is_better:
            return measured >= self.goal
        return measured <= self.goal

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the row."""
        value = asdict(self)
        value["met"] = self.met
        return value


def percentile(values: list[float], share: float) -> float:
    """The ``share`` (0..1) percentile of ``values`` (nearest rank)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value * 1000:.1f} ms"
    if unit == "bytes":
        return f"{value / 2**20:.1f} MiB" if value >= 2**20 else f"{value:.0f} B"
    return f"{value:,.0f} {unit}"


def table(rows: list[Row]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| scenario | measured | baseline | ratio | goal | met? |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        sign = ">=" if row.higher_is_better else "<="
        goal = (
            f"ratio {sign} {row.goal:g}"
            if row.ratio is not None
            else f"{sign} {_figure(row.goal, row.unit)}"
        )
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}"
        lines.append(
            f"| {row.name} | {_figure(row.value, row.unit)} "
            f"| {_figure(row.baseline, row.unit)} | {ratio} | {goal} "
            f"| {'yes' if row.met else 'NO'} |"
        )
    return "\n".join(lines)
