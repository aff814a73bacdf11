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
        self.pulled = Counter(
            "tredegar_events_pulled",
            "Events pulled from peers and stored, by peer.",
            ["peer"],
            registry=self.registry,
        )
        self.refused = Counter(
            "tredegar_events_refused",
            "Events or answers refused from peers, by peer and reason.",
            ["peer", "reason"],
            registry=self.registry,
        )
        self.peers_up = Gauge(
            "tredegar_peers_up",
            "Peers that answered the last round.",
            registry=self.registry,
        )
        self.peers_down = Gauge(
            "tredegar_peers_down",
            "Peers that failed the last round.",
            registry=self.registry,
        )
        self.forks = Counter(
            "tredegar_forks_found", "New fork proofs kept.", registry=self.registry
        )
        self.feed_lag = Gauge(
            "tredegar_feed_lag",
            "Events a peer holds of a feed that this node does not (last round).",
            ["feed"],
            registry=self.registry,
        )
        self.projected_position = Gauge(
            "tredegar_projected_position",
            "Position read models have reached.",
            registry=self.registry,
        )
