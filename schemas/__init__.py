"""The JSON Schemas of Tredegar's wire format, shipped as package data.

``envelope.json`` describes the wire event; ``events/<type>.json`` describes
the body of each event type; ``openapi.yaml`` describes the node's HTTP
interface (served at ``/api/v1/openapi.yaml``). The protocol never reads
files: the node calls :func:`load_event_schemas` once at startup and hands
the result to ``protocol.BodyValidator``.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["load_envelope_schema", "load_event_schemas", "load_openapi"]


def load_event_schemas() -> dict[str, dict[str, Any]]:
    """Read every event type's body schema.

    Returns:
        Event type name → its schema.
    """
    folder = resources.files(__name__) / "events"
    schemas: dict[str, dict[str, Any]] = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            schemas[entry.name.removesuffix(".json")] = json.loads(
                entry.read_text("utf-8")
            )
    return schemas


def load_envelope_schema() -> dict[str, Any]:
    """Read the schema of the wire event.

    Returns:
        The schema.
    """
    text = (resources.files(__name__) / "envelope.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_openapi() -> bytes:
    """Read the OpenAPI description of the node's HTTP interface.

    Returns:
        The YAML text, as bytes.
    """
    return (resources.files(__name__) / "openapi.yaml").read_bytes()
