"""The event body schemas in ``schemas/events/`` keep the contract of DESIGN §3.

One schema per event type of the catalogue, JSON Schema draft-07 keywords only,
closed objects, a bound on every string, array and integer, no floats; and the
sample bodies in ``sample_bodies`` validate (or, the invalid ones, do not).
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest
from jsonschema import Draft7Validator

from tests.protocol.sample_bodies import (
    INVALID_BODIES,
    MORE_SAMPLE_BODIES,
    SAMPLE_BODIES,
    Body,
    JsonValue,
)

SCHEMA_DIR = Path(__file__).parents[2] / "schemas" / "events"
MAX_BODY_BYTES = 65536

EVENT_TYPES = (
    "group.profile_set",
    "group.activity_reported",
    "network.formed",
    "network.joined",
    "network.left",
    "network.decision_opened",
    "network.delegate_vote_cast",
    "network.decision_made",
    "meeting.scheduled",
    "meeting.updated",
    "meeting.cancelled",
    "meeting.occurrence_changed",
    "meeting.agenda_item_added",
    "meeting.attendance_counted",
    "meeting.minutes_recorded",
    "tour.announced",
    "campaign.launched",
    "campaign.updated",
    "campaign.action_called",
    "campaign.endorsed",
    "campaign.co_owner_added",
    "campaign.outcome_declared",
    "idea.proposed",
    "idea.support_counted",
    "proposal.opened",
    "proposal.decided",
    "task.created",
    "task.completed",
    "guide.published",
    "adviser.listed",
    "question.asked",
    "answer.posted",
    "answer.marked_helpful",
    "need.posted",
    "offer.posted",
    "need.met",
    "offer.withdrawn",
    "pledge.target_set",
    "pledge.totals_reported",
    "event.redacted",
    "feed.moved",
)

DRAFT7_KEYWORDS = frozenset(
    {
        "$schema", "$id", "$ref", "$comment", "title", "description", "default",
        "readOnly", "writeOnly", "examples", "multipleOf", "maximum",
        "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength",
        "pattern", "additionalItems", "items", "maxItems", "minItems", "uniqueItems",
        "contains", "maxProperties", "minProperties", "required",
        "additionalProperties", "definitions", "properties", "patternProperties",
        "dependencies", "propertyNames", "const", "enum", "type", "format",
        "contentMediaType", "contentEncoding", "if", "then", "else", "allOf",
        "anyOf", "oneOf", "not",
    }
)  # fmt: skip
# Draft-07 keywords our schemas must not use: ids tie a schema to a URL, and
# `format` is not enforced by validators (use `pattern`).
BANNED_KEYWORDS = frozenset({"$id", "format"})

# Keywords whose value is a map of names to subschemas.
_NAMED_SUBSCHEMAS = ("properties", "patternProperties", "definitions")
# Keywords whose value is one subschema describing a value's shape.
_SHAPE_SUBSCHEMA = ("items", "additionalItems", "additionalProperties")
# Keywords whose subschemas only add conditions to a shape given elsewhere.
_CONDITION_SUBSCHEMA = ("not", "if", "then", "else", "contains", "propertyNames")
_CONDITION_SUBSCHEMAS = ("allOf", "anyOf", "oneOf")

Schema = dict[str, JsonValue]


@dataclass(frozen=True, slots=True)
class SchemaNode:
    """A subschema found in a schema file, with where it was found."""

    path: str
    schema: Schema
    # True when reached through a combinator or conditional: such a subschema
    # narrows a shape declared elsewhere and need not repeat its type or bounds.
    is_condition: bool

    @property
    def types(self) -> list[str]:
        declared = self.schema.get("type")
        if isinstance(declared, str):
            return [declared]
        if isinstance(declared, list):
            return [name for name in declared if isinstance(name, str)]
        return []


def walk(
    schema: JsonValue, path: str = "#", *, is_condition: bool = False
) -> Iterator[SchemaNode]:
    """Visit ``schema`` and every subschema below it, depth first."""
    if not isinstance(schema, dict):
        return  # boolean schemas (e.g. additionalProperties: false) have no keys
    yield SchemaNode(path, schema, is_condition=is_condition)
    for keyword, value in schema.items():
        where = f"{path}/{keyword}"
        if keyword in _NAMED_SUBSCHEMAS and isinstance(value, dict):
            for name, sub in value.items():
                yield from walk(sub, f"{where}/{name}", is_condition=is_condition)
        elif keyword in _SHAPE_SUBSCHEMA:
            items = value if isinstance(value, list) else [value]
            for index, sub in enumerate(items):
                sub_path = f"{where}/{index}" if isinstance(value, list) else where
                yield from walk(sub, sub_path, is_condition=is_condition)
        elif keyword in _CONDITION_SUBSCHEMA:
            yield from walk(value, where, is_condition=True)
        elif keyword in _CONDITION_SUBSCHEMAS and isinstance(value, list):
            for index, sub in enumerate(value):
                yield from walk(sub, f"{where}/{index}", is_condition=True)
        elif keyword == "dependencies" and isinstance(value, dict):
            for name, sub in value.items():
                yield from walk(sub, f"{where}/{name}", is_condition=True)


def _refuse_float(text: str) -> NoReturn:
    raise AssertionError(f"float literal {text} in a schema")


def _load(path: Path) -> Schema:
    value = json.loads(path.read_text(encoding="utf-8"), parse_float=_refuse_float)
    assert isinstance(value, dict), f"{path.name} is not a JSON object"
    return value


def _schema(event_type: str) -> Schema:
    path = SCHEMA_DIR / f"{event_type}.json"
    assert path.is_file(), f"missing schema file {path}"
    return _load(path)


def _validator(event_type: str) -> Draft7Validator:
    return Draft7Validator(_schema(event_type))


def _errors(event_type: str, body: Body) -> list[str]:
    return [error.message for error in _validator(event_type).iter_errors(body)]


def canonical_bytes(body: Body) -> bytes:
    """Sorted compact JSON: the canonical encoding for the subset events use."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode()


# ---- the catalogue ---------------------------------------------------------


def test_one_schema_file_per_event_type() -> None:
    files = {path.name for path in SCHEMA_DIR.iterdir()}
    assert files == {f"{event_type}.json" for event_type in EVENT_TYPES}
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES)) == 41


def test_samples_cover_every_event_type() -> None:
    assert set(SAMPLE_BODIES) == set(EVENT_TYPES)
    assert set(INVALID_BODIES) == set(EVENT_TYPES)
    assert all(INVALID_BODIES.values())
    assert set(MORE_SAMPLE_BODIES) <= set(EVENT_TYPES)


# ---- the shape of each schema ----------------------------------------------


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_is_a_valid_draft7_schema(event_type: str) -> None:
    Draft7Validator.check_schema(_schema(event_type))


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_header(event_type: str) -> None:
    schema = _schema(event_type)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["title"] == event_type
    description = schema.get("description")
    assert isinstance(description, str)
    assert description.strip()
    assert schema["type"] == "object"


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_uses_only_draft7_keywords(event_type: str) -> None:
    for node in walk(_schema(event_type)):
        unknown = set(node.schema) - DRAFT7_KEYWORDS
        assert not unknown, f"{node.path}: not draft-07 keywords: {sorted(unknown)}"
        banned = set(node.schema) & BANNED_KEYWORDS
        assert not banned, f"{node.path}: banned keywords: {sorted(banned)}"
        if node.path != "#":
            assert "$schema" not in node.schema, node.path
        ref = node.schema.get("$ref")
        if ref is not None:
            assert isinstance(ref, str)
            assert ref.startswith("#/definitions/"), f"{node.path}: non-local $ref"


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_shape_declares_its_type(event_type: str) -> None:
    for node in walk(_schema(event_type)):
        if node.is_condition or "$ref" in node.schema:
            continue
        assert node.types, f"{node.path}: no type"


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_no_number_type(event_type: str) -> None:
    for node in walk(_schema(event_type)):
        assert "number" not in node.types, f"{node.path}: floats are not allowed"


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_objects_are_closed(event_type: str) -> None:
    for node in walk(_schema(event_type)):
        if "object" not in node.types:
            continue
        assert node.schema.get("additionalProperties") is False, node.path
        required = node.schema.get("required")
        assert isinstance(required, list), f"{node.path}: no required list"
        properties = node.schema.get("properties", {})
        assert isinstance(properties, dict)
        assert set(map(str, required)) <= set(properties), node.path


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_value_is_bounded(event_type: str) -> None:
    for node in walk(_schema(event_type)):
        if "string" in node.types:
            assert isinstance(node.schema.get("maxLength"), int), node.path
        if "array" in node.types:
            assert isinstance(node.schema.get("maxItems"), int), node.path
        if "integer" in node.types:
            assert isinstance(node.schema.get("minimum"), int), node.path
            assert isinstance(node.schema.get("maximum"), int), node.path


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_property_is_described(event_type: str) -> None:
    for node in walk(_schema(event_type)):
        properties = node.schema.get("properties")
        if node.is_condition or not isinstance(properties, dict):
            continue
        for name, sub in properties.items():
            assert isinstance(sub, dict)
            description = sub.get("description")
            assert isinstance(description, str), f"{node.path}/properties/{name}"
            assert description.strip(), f"{node.path}/properties/{name}"


# ---- the samples -----------------------------------------------------------


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_sample_body_is_valid(event_type: str) -> None:
    bodies = [SAMPLE_BODIES[event_type], *MORE_SAMPLE_BODIES.get(event_type, [])]
    for body in bodies:
        assert _errors(event_type, body) == []


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_sample_body_fits_in_an_event(event_type: str) -> None:
    bodies = [SAMPLE_BODIES[event_type], *MORE_SAMPLE_BODIES.get(event_type, [])]
    for body in bodies:
        assert len(canonical_bytes(body)) <= MAX_BODY_BYTES


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_invalid_bodies_are_refused(event_type: str) -> None:
    validator = _validator(event_type)
    for index, body in enumerate(INVALID_BODIES[event_type]):
        assert not validator.is_valid(body), f"INVALID_BODIES[{event_type!r}][{index}]"


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_unknown_field_is_refused(event_type: str) -> None:
    body = {**SAMPLE_BODIES[event_type], "member_email": "someone@example.org"}
    assert not _validator(event_type).is_valid(body)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_each_required_field_is_needed(event_type: str) -> None:
    schema = _schema(event_type)
    validator = Draft7Validator(schema)
    sample = SAMPLE_BODIES[event_type]
    required = schema["required"]
    assert isinstance(required, list)
    for key in map(str, required):
        assert key in sample, f"the sample lacks required field {key}"
        body = {name: value for name, value in sample.items() if name != key}
        assert not validator.is_valid(body), f"valid without {key}"


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_float_in_place_of_an_integer_is_refused(event_type: str) -> None:
    validator = _validator(event_type)
    sample = SAMPLE_BODIES[event_type]
    for key, value in sample.items():
        if isinstance(value, int) and not isinstance(value, bool):
            body = {**sample, key: value + 0.5}
            assert not validator.is_valid(body), f"{key} accepted a float"


def test_walker_visits_every_kind_of_subschema() -> None:
    schema: Schema = {
        "type": "object",
        "properties": {"a": {"$ref": "#/definitions/d"}},
        "definitions": {"d": {"type": "array", "items": {"type": "integer"}}},
        "anyOf": [{"required": ["a"]}],
        "if": {"properties": {"a": {"const": [1]}}},
        "then": {"not": {"required": ["b"]}},
        "dependencies": {"a": {"required": ["c"]}, "b": ["a"]},
    }
    visited = {node.path: node.is_condition for node in walk(schema)}
    assert visited == {
        "#": False,
        "#/properties/a": False,
        "#/definitions/d": False,
        "#/definitions/d/items": False,
        "#/anyOf/0": True,
        "#/if": True,
        "#/if/properties/a": True,
        "#/then": True,
        "#/then/not": True,
        "#/dependencies/a": True,
    }


def test_the_fast_and_the_reference_validator_agree() -> None:
    import schemas
    from protocol import BodyValidator, SchemaViolationError

    loaded = schemas.load_event_schemas()
    validator = BodyValidator(loaded)
    for event_type, body in SAMPLE_BODIES.items():
        validator.validate(event_type, body)  # type: ignore[arg-type]
    for event_type, bodies in INVALID_BODIES.items():
        reference = Draft7Validator(loaded[event_type])
        for body in bodies:
            if not reference.is_valid(body):
                with pytest.raises(SchemaViolationError):
                    validator.validate(event_type, body)  # type: ignore[arg-type]
