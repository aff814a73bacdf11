"""The know-how routes: a question from another group answered here and marked
helpful by a third (the marks and answer before the question), guides,
advisers contacted through their group, redaction, blocked feeds and hostile
parameters."""

from __future__ import annotations

from typing import Any

from protocol import sign
from tests.http.conftest import Served
from tests.http.test_delegates_api import UNHELD, publish, request
from tests.http.test_openapi import check_answer, quick_places
from tests.node.conftest import KEY_C, Author, body
from tests.protocol.helpers import KEY_B, T0


async def test_a_question_answered_here_and_marked_by_a_third_group(
    node: Served,
) -> None:
    store = node.services.store
    asker, marker = Author(KEY_B, store), Author(KEY_C, store)
    asker.profile(name="Ebbw Vale")
    marker.profile(name="Rhymney")
    # The question is signed by B now but reaches this node last.
    question = sign(
        KEY_B, asker.head, T0 + 5000, "question.asked", body("question.asked")
    )
    answer = await publish(
        node,
        "answer.posted",
        {
            "question": question.id,
            "text": "Use the Environmental Information Regulations.",
        },
    )
    marker.publish("answer.marked_helpful", {"answer": answer["id"]})
    marker.publish("answer.marked_helpful", {"answer": answer["id"]})
    await publish(node, "answer.marked_helpful", {"answer": answer["id"]})  # own
    await node.projected()
    await request(node, "GET", f"/api/v1/questions/{question.id}", 404)
    assert store.append([question])
    await node.projected()

    url = f"/api/v1/questions/{question.id}"
    shown = await check_answer(
        await node.client.get(url), "/api/v1/questions/{id}", status=200
    )
    assert shown["group"] == {"feed": KEY_B.feed, "name": "Ebbw Vale"}
    assert (shown["answered"], shown["answer_count"]) == (True, 1)
    [reply] = shown["answers"]
    assert reply["group"] == {"feed": node.made.feed, "name": "Blaenavon Tenants"}
    assert (reply["helpful"], reply["marked_by"]) == (
        1,
        [{"feed": KEY_C.feed, "name": "Rhymney"}],
    )
    page = await check_answer(
        await node.client.get("/api/v1/questions", params={"answered": "true"}),
        "/api/v1/questions",
        status=200,
    )
    assert [q["id"] for q in page["questions"]] == [question.id]
    unanswered = await request(node, "GET", "/api/v1/questions?answered=false", 200)
    assert unanswered["questions"] == []

    node.services.store.federation.block(KEY_C.feed, "feed", now=1)
    shown = await request(node, "GET", url, 200)
    assert shown["answers"][0]["helpful"] == 0
    assert KEY_C.feed not in str(shown)
    node.services.store.federation.unblock(KEY_C.feed)

    await publish(node, "event.redacted", {"id": answer["id"]})
    await node.projected()
    shown = await request(node, "GET", url, 200)
    assert (shown["answers"], shown["answered"]) == ([], False)
    assert "Environmental" not in str(shown)


async def test_guides_and_advisers(node: Served) -> None:
    quick_places(node)
    other = Author(KEY_B, node.services.store)
    other.profile(name="Ebbw Vale", how_to_join="Ring the centre.")
    first = await publish(
        node, "guide.published", {"title": "Street stalls", "text": "One table."}
    )
    second = await publish(
        node,
        "guide.published",
        {"title": "Street stalls", "text": "Two tables.", "tags": ["stalls"],
         "replaces": first["id"]},
    )  # fmt: skip
    listed = other.publish("adviser.listed", body("adviser.listed"))
    await node.projected()
    page = await check_answer(
        await node.client.get("/api/v1/guides"), "/api/v1/guides", status=200
    )
    assert [g["id"] for g in page["guides"]] == [second["id"]]
    old = await check_answer(
        await node.client.get(f"/api/v1/guides/{first['id']}"),
        "/api/v1/guides/{id}",
        status=200,
    )
    assert old["replaced_by"] == second["id"]
    advisers = await check_answer(
        await node.client.get("/api/v1/advisers", params={"topic": "planning"}),
        "/api/v1/advisers",
        status=200,
    )
    [adviser] = advisers["advisers"]
    assert adviser["group"] == {
        "feed": KEY_B.feed,
        "name": "Ebbw Vale",
        "how_to_join": "Ring the centre.",
    }
    near = await request(node, "GET", "/api/v1/advisers?near=Tredegar&within_km=5", 200)
    assert [a["id"] for a in near["advisers"]] == [listed.id]
    # An address can never be published with a listing.
    with_address = {**body("adviser.listed"), "email": "eluned@example.org"}
    refused = {"type": "adviser.listed", "body": with_address}
    await request(node, "POST", "/api/v1/events", 422, refused)
    # Consent withdrawn: the listing group redacts it.
    other.redact(listed)
    await node.projected()
    assert (await request(node, "GET", "/api/v1/advisers", 200))["advisers"] == []


async def test_hostile_parameters(node: Served) -> None:
    quick_places(node)
    refusals = [
        ("/api/v1/guides?limit=x", 400),
        ("/api/v1/guides?limit=0", 400),
        ("/api/v1/guides?feed=ed25519:nope", 400),
        ("/api/v1/guides?after=bm90IGEgY3Vyc29y", 400),
        ("/api/v1/guides?after=%FF%FE", 400),
        ("/api/v1/guides?q=" + "x" * 201, 400),
        ("/api/v1/guides?tag=" + "x" * 33, 400),
        ("/api/v1/guides/nope", 400),
        (f"/api/v1/guides/{UNHELD}", 404),
        ("/api/v1/advisers?lat=51.7", 400),
        ("/api/v1/advisers?lat=91&lon=0", 400),
        ("/api/v1/advisers?near=Nowhere%20at%20all", 404),
        ("/api/v1/advisers?within_km=5", 400),
        ("/api/v1/advisers?after=WyJhIl0", 400),
        ("/api/v1/questions?answered=maybe", 400),
        ("/api/v1/questions?network=sha256:short", 400),
        ("/api/v1/questions?after=WzEsMiwzXQ", 400),
        ("/api/v1/questions/nope", 400),
        (f"/api/v1/questions/{UNHELD}", 404),
    ]
    wrong = []
    for url, status in refusals:
        response = await node.client.get(url)
        if response.status != status:
            wrong.append(f"{url}: {response.status} {await response.text()}")
        elif response.content_type != "application/problem+json":
            wrong.append(f"{url}: {response.content_type}")
    assert not wrong, "\n".join(wrong)
    page: dict[str, Any] = await request(
        node, "GET", "/api/v1/questions?limit=9999", 200
    )
    assert page == {"questions": [], "next": None}
