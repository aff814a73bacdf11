"""The know-how read model: guides, advisers, and questions answered across groups.

- ``guide.published`` is a guide; a later one from the same feed naming it
  in ``replaces`` is its new version, and listings show only the newest.
- ``adviser.listed`` lists someone who offers advice, by the display name
  they agreed to; contact goes through the listing group (its name and how
  to join are shown, never an address). The group redacts the listing when
  consent is withdrawn, and it is gone.
- ``question.asked`` is a question of one group to the network.
  ``answer.posted`` (from any feed, usually another group's) names the
  question it answers and, for a reply, the answer it replies to;
  ``answer.marked_helpful`` names an answer. Both are stored keyed by their
  own id and indexed by what they name, held or not (:mod:`.knowhow_sql`),
  so they count in whichever order events arrive. A mark counts once per
  group and answer, never from the answering group itself. A question is
  answered once another group has answered it.

A redaction deletes the row its target made. Blocked feeds are passed in by
the caller and left out of every answer (their guides, listings, questions,
answers and marks). The queries are in :mod:`.knowhow_queries`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import orjson

from node.projections import knowhow_sql as sql
from node.projections.model import Projected
from node.storage.feeds import redaction_target
from node.storage.sqldb import Cursor
from protocol import Event, JsonObject, JsonValue

__all__ = ["apply", "create", "finish", "reset"]


def create(cursor: Cursor) -> None:
    """Create the know-how tables."""
    for statement in sql.CREATE:
        cursor.execute(statement)


def apply(cursor: Cursor, item: Projected) -> None:
    """Store a valid know-how event; forget what a redaction's target made."""
    event = item.event
    target = redaction_target(event)
    if target is not None:
        for statement in sql.DELETE:
            cursor.execute(statement, (target, event.feed))
    if not item.is_valid or event.body is None:
        return
    body, at = event.body, (event.id, item.position)
    if event.type == "guide.published":
        cursor.execute(sql.INSERT_GUIDE, _guide(item.position, event, body))
    elif event.type == "adviser.listed":
        cursor.execute(sql.INSERT_ADVISER, _adviser(item.position, event, body))
    elif event.type == "question.asked":
        cursor.execute(sql.INSERT_QUESTION, _question(item.position, event, body))
    elif event.type == "answer.posted":
        text = orjson.dumps(body).decode()
        cursor.execute(
            sql.INSERT_ANSWER, (*at, body["question"], event.feed, event.ts, text)
        )
    elif event.type == "answer.marked_helpful":
        cursor.execute(sql.INSERT_MARK, (*at, body["answer"], event.feed, event.ts))


def _guide(position: int, event: Event, body: JsonObject) -> dict[str, object]:
    tags = body.get("tags") or []
    words = [body["title"], body.get("summary"), body["text"], *_strings(tags)]
    return {
        "id": event.id,
        "position": position,
        "feed": event.feed,
        "seq": event.seq,
        "ts": event.ts,
        "title": body["title"],
        "summary": body.get("summary"),
        "text": body["text"],
        "tags": orjson.dumps(tags).decode(),
        "replaces": body.get("replaces"),
        "match_text": _match(words),
    }


def _adviser(position: int, event: Event, body: JsonObject) -> dict[str, object]:
    name = str(body["display_name"])
    keys = ("role", "about", "area")
    words = [name, *(body.get(key) for key in keys), *_strings(body["topics"])]
    return {
        "id": event.id,
        "position": position,
        "feed": event.feed,
        "ts": event.ts,
        "display_name": name,
        **{key: body.get(key) for key in keys},
        "topics": orjson.dumps(body["topics"]).decode(),
        "sort_name": name.casefold(),
        "match_text": _match(words),
    }


def _question(position: int, event: Event, body: JsonObject) -> dict[str, object]:
    tags = body.get("tags") or []
    return {
        "id": event.id,
        "position": position,
        "feed": event.feed,
        "ts": event.ts,
        "title": body["title"],
        "text": body.get("text"),
        "tags": orjson.dumps(tags).decode(),
        "network": body.get("network"),
        "match_text": _match([body["title"], body.get("text"), *_strings(tags)]),
    }


def _strings(value: JsonValue) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _match(parts: Iterable[JsonValue]) -> str:
    return "\n".join(p for p in parts if isinstance(p, str)).casefold()


def finish(cursor: Cursor, items: Sequence[Projected]) -> None:
    """Nothing to tidy per batch."""


def reset(cursor: Cursor) -> None:
    """Drop the know-how tables and create them empty."""
    for statement in sql.DROP:
        cursor.execute(statement)
    create(cursor)
