"""Prometheus metrics of one node, in a registry of its own (not the global one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["Metrics"]


class Metrics:
    """The node's counters, gauges and histograms."""

    def __init__(self) -> None:
        """Create the metrics in a fresh registry."""
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tredegar_http_requests",
            "HTTP requests answered, by route and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "tredegar_http_request_seconds",
            "Time to answer HTTP requests, by route.",
            ["route"],
            registry=self.registry,
        )
        self.published = Counter(
            "tredegar_events_published",
            "Events the node signed into its own feed.",
            registry=self.registry,
        )
        self.stored = Counter(
            "tredegar_events_stored",
            "Events stored, own and replicated.",
            registry=self.registry,
        )
        self.own_seq = Gauge(
            "tredegar_own_feed_seq", "Head seq of the own feed.", registry=self.registry
        )
        self.log_position = Gauge(
            "tredegar_log_position",
            "Position of the last event stored.",
            registry=self.registry,
        )
        self.projected_position = Gauge(
            "tredegar_projected_position",
            "Position read models have reached.",
            registry=self.registry,
        )
