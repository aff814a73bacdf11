"""The know-how read model: a question asked by one feed, answered by a second
and marked helpful by a third, in either arrival order; self-marks; guides
and their versions; advisers near a group's base; redaction, blocked feeds,
filters and paging."""

from __future__ import annotations

from typing import Any

import pytest

from node.projections import InvalidCursorError
from node.projections import knowhow_queries as knowhow
from node.projections.geo import Near
from protocol import Event, JsonObject, JsonValue, SigningKey, sign
from tests.node.conftest import KEY_C, Node, body
from tests.protocol.helpers import KEY_A, KEY_B, T0

TREDEGAR: JsonObject = {"name": "Tredegar", "lat_e6": 51_772_200, "lon_e6": -3_246_600}
CARDIFF: JsonObject = {"name": "Cardiff", "lat_e6": 51_481_600, "lon_e6": -3_179_100}
ANSWER_KEYS = {
    "id", "feed", "group", "text", "author_display_name", "adviser",
    "in_reply_to", "helpful", "marked_by", "posted_at",
}  # fmt: skip


class Pending:
    """Signs a feed's events now and stores them when the test says."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key
        self.events: list[Event] = []
        self.stored = 0

    def sign(self, event_type: str, content: JsonObject) -> Event:
        previous = self.events[-1] if self.events else None
        seq = len(self.events) + 1
        event = sign(self.key, previous, T0 + seq * 1000, event_type, content)
        self.events.append(event)
        return event

    def store(self, node: Node) -> None:
        """Store the events signed since the last call."""
        assert node.store.append(self.events[self.stored :])
        self.stored = len(self.events)


def items(value: JsonValue) -> list[dict[str, Any]]:
    assert isinstance(value, list)
    return [item for item in value if isinstance(item, dict)]


class Thread:
    """A asks; B answers (and marks its own answer); C answers, marks B's
    answer twice; A marks B's answer and replies to it."""

    def __init__(self) -> None:
        a, b, c = Pending(KEY_A), Pending(KEY_B), Pending(KEY_C)
        self.a, self.b, self.c = a, b, c
        a.sign("group.profile_set", body("group.profile_set", name="Tredegar"))
        b.sign("group.profile_set", body("group.profile_set", name="Ebbw Vale"))
        c.sign("group.profile_set", body("group.profile_set", name="Rhymney"))
        self.question = a.sign("question.asked", body("question.asked"))
        self.answer_b = b.sign(
            "answer.posted", body("answer.posted", question=self.question.id)
        )
        b.sign("answer.marked_helpful", self.mark(self.answer_b))
        self.answer_c = c.sign(
            "answer.posted",
            {"question": self.question.id, "text": "Try your councillor first."},
        )
        c.sign("answer.marked_helpful", self.mark(self.answer_b))
        self.mark_c = c.sign("answer.marked_helpful", self.mark(self.answer_b))
        a.sign("answer.marked_helpful", self.mark(self.answer_b))
        self.reply = a.sign(
            "answer.posted",
            {
                "question": self.question.id,
                "text": "Thank you: we sent it today.",
                "in_reply_to": self.answer_b.id,
            },
        )

    def mark(self, answer: Event) -> JsonObject:
        return {"answer": answer.id, "question": self.question.id}

    def feeds(self, forwards: bool) -> list[Pending]:
        return [self.a, self.b, self.c] if forwards else [self.c, self.b, self.a]


def question(node: Node, thread: Thread, **kwargs: Any) -> JsonObject | None:
    found: JsonObject | None = node.readmodels.query(
        knowhow.get_question, thread.question.id, **kwargs
    )
    return found


@pytest.mark.parametrize("forwards", [True, False], ids=["asked-first", "marks-first"])
def test_a_question_answered_and_marked_across_three_feeds(
    node: Node, forwards: bool
) -> None:
    thread = Thread()
    for pending in thread.feeds(forwards):
        pending.store(node)
        node.drain()
    found = question(node, thread)
    assert found is not None
    assert found["group"] == {"feed": KEY_A.feed, "name": "Tredegar"}
    assert (found["answered"], found["answer_count"]) == (True, 3)
    answers = items(found["answers"])
    assert all(set(answer) == ANSWER_KEYS for answer in answers)
    # Best first: B's (marked by A and C, its own mark not counted), then oldest.
    assert [a["id"] for a in answers] == [
        thread.answer_b.id,
        thread.answer_c.id,
        thread.reply.id,
    ]
    best = answers[0]
    assert best["helpful"] == 2
    assert best["marked_by"] == sorted(
        [
            {"feed": KEY_A.feed, "name": "Tredegar"},
            {"feed": KEY_C.feed, "name": "Rhymney"},
        ],
        key=lambda group: str(group["feed"]),
    )
    assert best["group"] == {"feed": KEY_B.feed, "name": "Ebbw Vale"}
    assert best["author_display_name"] == "Cllr Eluned Morgan"
    assert answers[2]["in_reply_to"] == thread.answer_b.id
    listed = node.readmodels.query(knowhow.list_questions)
    assert [q["id"] for q in items(listed["questions"])] == [thread.question.id]


def test_redactions_of_answers_marks_and_questions(node: Node) -> None:
    thread = Thread()
    thread.c.sign("event.redacted", {"id": thread.mark_c.id})
    thread.b.sign("event.redacted", {"id": thread.answer_b.id})
    for pending in thread.feeds(True):
        pending.store(node)
    node.drain()
    found = question(node, thread)
    assert found is not None
    answers = items(found["answers"])
    assert [a["id"] for a in answers] == [thread.answer_c.id, thread.reply.id]
    # The reply's parent is gone: it stands on its own.
    assert answers[1]["in_reply_to"] is None
    assert "Environmental Information" not in str(found)
    thread.c.sign("event.redacted", {"id": thread.answer_c.id})
    thread.a.sign("event.redacted", {"id": thread.question.id})
    thread.c.store(node)
    thread.a.store(node)
    node.drain()
    assert question(node, thread) is None
    assert items(node.readmodels.query(knowhow.list_questions)["questions"]) == []


def test_blocked_answerers_and_the_answered_filter(node: Node) -> None:
    thread = Thread()
    lonely = thread.a.sign("question.asked", {"title": "Who prints leaflets cheaply?"})
    for pending in thread.feeds(True):
        pending.store(node)
    node.drain()

    def ids(**kwargs: Any) -> list[Any]:
        page = node.readmodels.query(knowhow.list_questions, **kwargs)
        return [q["id"] for q in items(page["questions"])]

    assert ids(answered=True) == [thread.question.id]
    assert ids(answered=False) == [lonely.id]
    blocked = [KEY_B.feed, KEY_C.feed]
    assert ids(answered=True, blocked=blocked) == []
    found = question(node, thread, blocked=blocked)
    assert found is not None
    assert KEY_B.feed not in str(found)
    assert KEY_C.feed not in str(found)
    assert [a["id"] for a in items(found["answers"])] == [thread.reply.id]
    assert question(node, thread, blocked=[KEY_A.feed]) is None
    assert ids(tag="foi") == [thread.question.id]
    assert ids(q="LEAFLETS cheaply") == [lonely.id]
    assert ids(feed=KEY_B.feed) == []
    assert ids(network=thread.question.body["network"]) == [thread.question.id]  # type: ignore[index]


def test_guides_show_their_newest_version(node: Node) -> None:
    a, b = Pending(KEY_A), Pending(KEY_B)
    a.sign("group.profile_set", body("group.profile_set", name="Tredegar"))
    first = a.sign(
        "guide.published",
        {"title": "Running a stall", "text": "Bring a table.", "tags": ["stalls"]},
    )
    second = a.sign(
        "guide.published",
        {"title": "Running a stall", "text": "Bring two tables.", "replaces": first.id,
         "tags": ["stalls"]},
    )  # fmt: skip
    # Another feed cannot replace A's guide.
    b.sign("guide.published", {"title": "Mine now", "text": "x", "replaces": second.id})
    for pending in (b, a):
        pending.store(node)
    node.drain()

    def ids(**kwargs: Any) -> list[Any]:
        page = node.readmodels.query(knowhow.list_guides, **kwargs)
        return [g["id"] for g in items(page["guides"])]

    assert ids() == [second.id, b.events[0].id]
    assert ids(tag="stalls") == [second.id]
    assert ids(q="two TABLES") == [second.id]
    assert ids(feed=KEY_B.feed) == [b.events[0].id]
    old = node.readmodels.query(knowhow.get_guide, first.id)
    assert old is not None
    assert (old["replaced_by"], old["text"]) == (second.id, "Bring a table.")
    assert old["group"] == {"feed": KEY_A.feed, "name": "Tredegar"}
    page = node.readmodels.query(knowhow.list_guides, limit=1)
    assert page["next"] is not None
    rest = node.readmodels.query(knowhow.list_guides, limit=1, after=str(page["next"]))
    assert [g["id"] for g in items(rest["guides"])] == [b.events[0].id]
    with pytest.raises(InvalidCursorError):
        node.readmodels.query(knowhow.list_guides, after="bm90IGEgY3Vyc29y")
    a.sign("event.redacted", {"id": second.id})
    a.store(node)
    node.drain()
    assert ids(feed=KEY_A.feed) == [first.id]
    assert node.readmodels.query(knowhow.get_guide, second.id) is None


def test_advisers_through_their_group_near_its_base(node: Node) -> None:
    a, b = Pending(KEY_A), Pending(KEY_B)
    a.sign(
        "group.profile_set", body("group.profile_set", name="Tredegar", place=TREDEGAR)
    )
    b.sign(
        "group.profile_set", body("group.profile_set", name="Cardiff", place=CARDIFF)
    )
    eluned = a.sign("adviser.listed", body("adviser.listed"))
    dai = b.sign(
        "adviser.listed",
        {"display_name": "Dai Jones", "topics": ["benefits"], "role": "organiser"},
    )
    for pending in (a, b):
        pending.store(node)
    node.drain()

    def listing(**kwargs: Any) -> list[dict[str, Any]]:
        return items(node.readmodels.query(knowhow.list_advisers, **kwargs)["advisers"])

    everyone = listing()
    assert [x["id"] for x in everyone] == [eluned.id, dai.id]
    assert everyone[0]["group"] == {
        "feed": KEY_A.feed,
        "name": "Tredegar",
        "how_to_join": "Come to the surgery on a Tuesday morning and ask for us.",
    }
    assert [x["id"] for x in listing(topic="benefits")] == [dai.id]
    assert [x["id"] for x in listing(q="planning gwent")] == [eluned.id]
    near = Near(TREDEGAR["lat_e6"], TREDEGAR["lon_e6"], 10)  # type: ignore[arg-type]
    [close] = listing(near=near)
    assert (close["id"], close["distance_km"]) == (eluned.id, 0.0)
    assert [x["id"] for x in listing(blocked=[KEY_A.feed])] == [dai.id]
    first = node.readmodels.query(knowhow.list_advisers, limit=1)
    rest = node.readmodels.query(
        knowhow.list_advisers, limit=1, after=str(first["next"])
    )
    assert [x["id"] for x in items(rest["advisers"])] == [dai.id]
    # Consent withdrawn: the group redacts the listing.
    a.sign("event.redacted", {"id": eluned.id})
    a.store(node)
    node.drain()
    assert [x["id"] for x in listing()] == [dai.id]
    assert "Eluned" not in str(listing())
