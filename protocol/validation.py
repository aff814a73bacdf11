"""Checking event bodies against their types' JSON Schemas.

See ``docs/protocol.md#event-types``. The schemas live in ``schemas/events/``
as draft-07 JSON Schema; the protocol never reads files, so the caller loads
them (``schemas.load_event_schemas()``) and hands them to :class:`BodyValidator`,
which checks each schema and compiles it once.

fastjsonschema compiles each schema to Python code: about 10 µs a body
against 150 µs for jsonschema, which matters when a node catches up on
100,000 events. Only when a body fails does jsonschema walk it again, to name
the failing field in the refusal (tests check both agree).

A node applies these checks when it publishes (refusing ``schema`` and
``unknown-type``) and before it projects a received event; a received event
that fails them is still stored and relayed (``docs/protocol.md#relaying``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import fastjsonschema
import jsonschema
from jsonschema.exceptions import best_match

from protocol.errors import SchemaViolationError, UnknownEventTypeError
from protocol.event import Event
from protocol.types import JsonObject, JsonValue

__all__ = ["BodyValidator"]


class BodyValidator:
    """Validates bodies of known event types against their compiled schemas."""

    def __init__(self, schemas: Mapping[str, Mapping[str, JsonValue]]) -> None:
        """Check and compile the schemas.

        Args:
            schemas: Event type name → its body's JSON Schema (draft-07).

        Raises:
            jsonschema.SchemaError: A schema is not valid draft-07.
        """
        self._schemas = dict(schemas)
        self._validators: dict[str, jsonschema.Draft7Validator] = {}
        # Compiled on first use: compiling all of them costs a third of a
        # second, which a command that validates one profile need not pay.
        self._compiled: dict[str, Callable[[JsonValue], object]] = {}
        for event_type, schema in schemas.items():
            jsonschema.Draft7Validator.check_schema(schema)
            self._validators[event_type] = jsonschema.Draft7Validator(schema)

    @property
    def types(self) -> frozenset[str]:
        """The event types this validator knows."""
        return frozenset(self._validators)

    def knows(self, event_type: str) -> bool:
        """Tell whether a schema is known for ``event_type``.

        Args:
            event_type: A type name.

        Returns:
            True when the type has a schema.
        """
        return event_type in self._validators

    def validate(self, event_type: str, body: JsonObject) -> None:
        """Check a body against its type's schema.

        Args:
            event_type: The type name.
            body: The body.

        Raises:
            UnknownEventTypeError: No schema for the type.
            SchemaViolationError: The body fails the schema; ``field_path``
                says where.
        """
        compiled = self._compiled.get(event_type)
        if compiled is None:
            schema = self._schemas.get(event_type)
            if schema is None:
                raise UnknownEventTypeError(
                    f"no such event type: {event_type!r}", field_path="type"
                )
            compiled = self._compiled[event_type] = fastjsonschema.compile(dict(schema))
        try:
            compiled(body)
        except fastjsonschema.JsonSchemaException as failure:
            self._refuse(event_type, body, str(failure))

    def _refuse(self, event_type: str, body: JsonObject, fallback: str) -> None:
        validator = self._validators[event_type]
        if validator.is_valid(body):  # the two validators disagree: refuse anyway
            raise SchemaViolationError(f"body: {fallback}", field_path="body")
        error = best_match(validator.iter_errors(body))
        path = ".".join(str(part) for part in error.absolute_path)
        where = f"body.{path}" if path else "body"
        message = error.message
        if len(message) > 300:  # never echo a huge value back
            message = message[:300] + "…"
        raise SchemaViolationError(f"{where}: {message}", field_path=where)

    def validate_event(self, event: Event) -> None:
        """Check a held event's body, unless it was redacted.

        Args:
            event: The event.

        Raises:
            UnknownEventTypeError: No schema for its type.
            SchemaViolationError: Its body fails the schema.
        """
        if not self.knows(event.type):
            raise UnknownEventTypeError(
                f"no such event type: {event.type!r}",
                field_path="type",
                event_id=event.id,
            )
        if event.body is not None:
            self.validate(event.type, event.body)
