"""Checking casework requests, and shaping the records answered.

A request is a JSON object with only the keys a route allows, each of its
kind: a wrong key or kind is ``malformed`` (400); a value out of its bounds
(an empty name, a text too long, too many follow-ups, a time before 1970)
is ``schema`` (422). What is stored is what the answer shows, so the shapes
of the sealed content and of the answers are kept together here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from node.errors import ConflictError, ForbiddenError
from node.storage.private import StoredRecord, TokenGrant
from protocol import JsonObject, JsonValue, MalformedError, SchemaViolationError

__all__ = [
    "CHANGE_CASE",
    "CHANGE_ONE_TO_ONE",
    "MAX_ACTIONS",
    "MAX_FOLLOW_UPS",
    "MAX_TIME",
    "NEW_CASE",
    "NEW_ONE_TO_ONE",
    "STATUSES",
    "account_field",
    "case_answer",
    "checked",
    "follow_ups",
    "has_open_follow_ups",
    "matches",
    "one_to_one_answer",
    "organiser_only",
    "page",
    "record_id",
    "settle_outcome",
]

MAX_TIME = 253_370_764_800_000  # the year 9999, as ``Time`` in the OpenAPI file
MAX_FOLLOW_UPS, MAX_INTERESTS, MAX_ACTIONS = 50, 20, 500
#: The longest text of each field, in characters.
LENGTHS = {
    "person": 200,
    "notes": 10_000,
    "problem": 10_000,
    "category": 100,
    "next_step": 1_000,
    "outcome": 5_000,
    "text": 5_000,
    "interest": 100,
}
#: The kinds of field: text, nullable text, time, nullable time, a list of
#: texts, a list of follow-ups, a list of follow-up numbers.
TEXT, TEXT_OR_NULL, TIME, TIME_OR_NULL = "text", "text?", "time", "time?"
TEXTS, FOLLOW_UPS, NUMBERS = "texts", "follow_ups", "numbers"
_CURSOR = re.compile(r"([0-9]{1,15})\.([0-9a-f]{32})")

#: The fields of each request and their kinds.
NEW_ONE_TO_ONE = {
    "person": TEXT,
    "held_at": TIME,
    "interests": TEXTS,
    "notes": TEXT,
    "follow_ups": FOLLOW_UPS,
    "member": TEXT,
}
CHANGE_ONE_TO_ONE = {
    "person": TEXT,
    "held_at": TIME,
    "interests": TEXTS,
    "notes": TEXT_OR_NULL,
    "member": TEXT_OR_NULL,
    "add_follow_ups": FOLLOW_UPS,
    "follow_ups_done": NUMBERS,
    "follow_ups_reopened": NUMBERS,
}
NEW_CASE = {
    "person": TEXT,
    "problem": TEXT,
    "category": TEXT,
    "opened_at": TIME,
    "next_step": TEXT,
    "next_step_at": TIME,
    "member": TEXT,
}
CHANGE_CASE = {
    "person": TEXT,
    "problem": TEXT,
    "category": TEXT_OR_NULL,
    "next_step": TEXT_OR_NULL,
    "next_step_at": TIME_OR_NULL,
    "member": TEXT_OR_NULL,
    "status": TEXT,
    "outcome": TEXT_OR_NULL,
}
STATUSES = ("open", "closed")


def checked(
    request: JsonValue, kinds: Mapping[str, str], required: Iterable[str] = ()
) -> dict[str, Any]:
    """The request's fields, checked against their kinds and bounds.

    Raises:
        MalformedError: Not an object, an unknown or missing key, a wrong kind.
        SchemaViolationError: A value out of its bounds.
    """
    if not isinstance(request, dict):
        raise MalformedError("send a JSON object")
    for name in request:
        if name not in kinds:
            raise MalformedError(f"unknown field {name!r}", field_path=name)
    for name in required:
        if name not in request:
            raise MalformedError(f"{name} is required", field_path=name)
    return {name: _value(name, kinds[name], value) for name, value in request.items()}


def _value(name: str, kind: str, value: JsonValue) -> Any:
    if value is None and kind in (TEXT_OR_NULL, TIME_OR_NULL):
        return None
    if kind in (TEXT, TEXT_OR_NULL):
        return _text(name, value, LENGTHS.get(name, 5_000))
    if kind in (TIME, TIME_OR_NULL):
        return _time(name, value)
    if kind == TEXTS:
        items = _list(name, value, MAX_INTERESTS)
        return [_text(name, item, LENGTHS["interest"]) for item in items]
    if kind == NUMBERS:
        return [_number(name, item) for item in _list(name, value, MAX_FOLLOW_UPS)]
    return [_follow_up(name, item) for item in _list(name, value, MAX_FOLLOW_UPS)]


def _text(name: str, value: JsonValue, longest: int) -> str:
    if not isinstance(value, str):
        raise MalformedError(f"{name} must be text", field_path=name)
    text = value.strip()
    if not 1 <= len(text) <= longest:
        raise SchemaViolationError(
            f"{name} must be 1 to {longest} characters", field_path=name
        )
    return text


def _time(name: str, value: JsonValue) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedError(f"{name} must be ms since the epoch", field_path=name)
    if not 0 <= value <= MAX_TIME:
        raise SchemaViolationError(
            f"{name} must be from 0 to {MAX_TIME}", field_path=name
        )
    return value


def _number(name: str, value: JsonValue) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedError(f"{name} holds follow-up numbers", field_path=name)
    if not 1 <= value <= MAX_FOLLOW_UPS:
        raise SchemaViolationError(f"no follow-up {value}", field_path=name)
    return value


def _list(name: str, value: JsonValue, longest: int) -> list[JsonValue]:
    if not isinstance(value, list):
        raise MalformedError(f"{name} must be a list", field_path=name)
    if len(value) > longest:
        raise SchemaViolationError(
            f"{name} holds at most {longest} items", field_path=name
        )
    return value


def _follow_up(name: str, value: JsonValue) -> dict[str, Any]:
    given = checked(value, {"text": TEXT, "due_at": TIME}, ("text",))
    return {"text": given["text"], "due_at": given.get("due_at"), "done_at": None}


def follow_ups(held: list[dict[str, Any]], given: Mapping[str, Any], now: int) -> None:
    """Add, tick off and reopen follow-ups in ``held`` as ``given`` asks.

    Raises:
        SchemaViolationError: A number that is no follow-up, or too many.
    """
    held += given.get("add_follow_ups", [])
    if len(held) > MAX_FOLLOW_UPS:
        raise SchemaViolationError(
            f"a 1-to-1 has at most {MAX_FOLLOW_UPS} follow-ups",
            field_path="add_follow_ups",
        )
    for name, done_at in (("follow_ups_done", now), ("follow_ups_reopened", None)):
        for number in given.get(name, []):
            if number > len(held):
                raise SchemaViolationError(f"no follow-up {number}", field_path=name)
            if (held[number - 1]["done_at"] is None) != (done_at is None):
                held[number - 1]["done_at"] = done_at


def organiser_only(grant: TokenGrant) -> None:
    """Let only the group's organisers through.

    Raises:
        ForbiddenError: Not an organiser.
    """
    if grant.role != "organiser":
        raise ForbiddenError("1-to-1s and casework are for the group's organisers")


def account_field(text: str | None) -> str | None:
    """A linked member's account id in its usual form (None stays None).

    Raises:
        SchemaViolationError: Not an account id.
    """
    if text is None:
        return None
    try:
        return str(UUID(text))
    except ValueError:
        raise SchemaViolationError(
            "member must be a member's account id", field_path="member"
        ) from None


def record_id(text: str) -> UUID | None:
    """A record id from a path, or None when it cannot be one."""
    if len(text) > 36:
        return None
    try:
        return UUID(text)
    except ValueError:
        return None


def one_to_one_answer(record: StoredRecord) -> JsonObject:
    """A 1-to-1 as organisers read it."""
    content = record.content
    held: list[dict[str, Any]] = content.get("follow_ups", [])
    items: list[JsonValue] = [
        {
            "number": number,
            "text": item["text"],
            "due_at": item["due_at"],
            "done": item["done_at"] is not None,
            "done_at": item["done_at"],
        }
        for number, item in enumerate(held, start=1)
    ]
    return {
        "id": str(record.id),
        "person": content["person"],
        "member": content.get("member"),
        "held_at": record.at,
        "interests": list(content.get("interests", [])),
        "notes": content.get("notes"),
        "follow_ups": items,
        "open_follow_ups": sum(item["done_at"] is None for item in held),
        **_made(record),
    }


def case_answer(record: StoredRecord) -> JsonObject:
    """A case as organisers read it."""
    content = record.content
    actions: list[JsonValue] = [
        {"text": a["text"], "at": a["at"]} for a in content.get("actions", [])
    ]
    closed = record.status == "closed"
    return {
        "id": str(record.id),
        "person": content["person"],
        "member": content.get("member"),
        "problem": content["problem"],
        "category": content.get("category"),
        "opened_at": record.at,
        "status": record.status,
        "closed_at": record.status_at if closed else None,
        "outcome": content.get("outcome") if closed else None,
        "next_step": content.get("next_step"),
        "next_step_at": content.get("next_step_at"),
        "actions": actions,
        **_made(record),
    }


def _made(record: StoredRecord) -> JsonObject:
    return {
        "created_by": record.created_by,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def matches(words: str | None, *texts: object) -> bool:
    """Whether every word of ``words`` is in one of the texts, in any case."""
    if not words:
        return True
    found = "\n".join(_flat(texts)).casefold()
    return all(word in found for word in words.casefold().split())


def _flat(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _flat(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _flat(item)


def page(
    records: list[StoredRecord], after: str | None, limit: int
) -> tuple[list[StoredRecord], str | None]:
    """A page of records, latest first (held or opened), from a cursor.

    Raises:
        MalformedError: A cursor this node did not hand out.
    """
    ordered = sorted(records, key=lambda r: (-r.at, r.id.hex))
    if after is not None:
        found = _CURSOR.fullmatch(after)
        if found is None:
            raise MalformedError(
                "not a cursor this node handed out", field_path="after"
            )
        mark = (-int(found[1]), found[2])
        ordered = [r for r in ordered if (-r.at, r.id.hex) > mark]
    chosen = ordered[:limit]
    more = len(ordered) > limit
    return chosen, f"{chosen[-1].at}.{chosen[-1].id.hex}" if more else None


def has_open_follow_ups(record: StoredRecord) -> bool:
    """Whether a 1-to-1 has a follow-up not yet done."""
    return any(item["done_at"] is None for item in record.content.get("follow_ups", []))


def settle_outcome(
    content: dict[str, Any],
    record: StoredRecord,
    given: dict[str, Any],
    status: str | None,
) -> None:
    """Set a case's outcome as a change of status allows.

    Raises:
        SchemaViolationError: Closing without an outcome.
        ConflictError: An outcome for a case that stays open or is reopened.
    """
    closing = status == "closed" or (status is None and record.status == "closed")
    if status == "open":
        if given.get("outcome") is not None:
            raise ConflictError("a case being reopened takes no outcome")
        content["outcome"] = None
    elif closing:
        if "outcome" in given:
            content["outcome"] = given["outcome"]
        if not content.get("outcome"):
            raise SchemaViolationError(
                "a closed case needs an outcome", field_path="outcome"
            )
    elif given.get("outcome") is not None:
        raise ConflictError("an open case has no outcome yet: close it with one")
