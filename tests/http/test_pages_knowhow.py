"""The know-how and mutual-aid pages, in-process: listings, threads across
feeds in either arrival order, organisers' forms, CSRF, permissions,
escaping of hostile text, redaction, blocked feeds and empty states."""

from __future__ import annotations

import re

import pytest

from protocol import JsonObject, JsonValue, SigningKey
from tests.http.conftest import Served
from tests.http.test_pages import (
    ESCAPED,
    HOSTILE,
    HTML,
    Peer,
    csrf_of,
    html,
    join,
    publish,
)
from tests.node.conftest import KEY_C
from tests.protocol.helpers import KEY_B

KEY_D = SigningKey.from_seed(bytes(range(96, 128)))
UNHELD = "sha256:" + "A" * 43
QUESTION: JsonObject = {"title": "How do we get a stock condition survey?"}
GUIDE: JsonObject = {
    "title": "Running a street stall",
    "summary": "Tables, leaflets and a clipboard.",
    "text": "Pick a busy corner.\n\nBring a flask.",
    "tags": ["stalls"],
}
ADVISER: JsonObject = {
    "display_name": "Cllr Eluned Morgan",
    "role": "county councillor",
    "topics": ["planning"],
    "about": "Twelve years on the planning committee.",
}


def place(name: str, lat_e6: int, lon_e6: int) -> JsonObject:
    return {"name": name, "lat_e6": lat_e6, "lon_e6": lon_e6}


TREDEGAR = place("Tredegar", 51_772_200, -3_246_600)
RHYMNEY = place("Rhymney", 51_759_000, -3_286_000)
CARDIFF = place("Cardiff", 51_481_600, -3_179_100)


def aid(title: str, where: JsonObject, **more: JsonValue) -> JsonObject:
    return {"title": title, "category": "transport", "place": where, **more}


def labelled(page: str) -> None:
    for field in re.findall(r'<(?:input|select|textarea)[^>]*id="([^"]+)"', page):
        assert f'for="{field}"' in page, f"no label for {field}"


# --- layout and empty states ----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "empty"),
    [
        ("/guides", "No guides yet"),
        ("/questions", "No questions yet"),
        ("/advisers", "No advisers listed yet"),
        ("/mutual-aid", "No needs posted yet"),
    ],
)
async def test_empty_pages_say_so(node: Served, path: str, empty: str) -> None:
    page = await html(node, path)
    assert empty in page
    assert page.count("<h1") == 1
    labelled(page)


async def test_hostile_text_from_another_feed_renders_as_text(node: Served) -> None:
    peer = Peer(node, KEY_B, HOSTILE)
    guide = peer.publish("guide.published", {**GUIDE, "title": HOSTILE})
    asked = peer.publish("question.asked", {"title": HOSTILE, "text": HOSTILE})
    peer.publish("answer.posted", {"question": asked.id, "text": HOSTILE})
    peer.publish("adviser.listed", {**ADVISER, "display_name": HOSTILE})
    need = peer.publish("need.posted", aid(HOSTILE, TREDEGAR, text=HOSTILE))
    offer = peer.publish("offer.posted", aid(HOSTILE, RHYMNEY))
    for path in (
        "/guides",
        f"/guides/{guide.id}",
        "/questions",
        f"/questions/{asked.id}",
        "/advisers",
        "/mutual-aid",
        f"/needs/{need.id}",
        f"/offers/{offer.id}",
    ):
        page = await html(node, path)
        assert HOSTILE not in page, path
        assert ESCAPED in page, path


async def test_bad_and_unknown_ids(node: Served) -> None:
    for path in ("/guides", "/questions", "/needs", "/offers"):
        await html(node, f"{path}/nope", status=400)
        await html(node, f"{path}/{UNHELD}", status=404)


# --- guides and advisers -----------------------------------------------------------


async def test_guides_by_tag_newest_version_and_redaction(node: Served) -> None:
    first = await publish(node, "guide.published", GUIDE)
    newer = await publish(
        node,
        "guide.published",
        {**GUIDE, "title": "Stalls, revised", "replaces": first},
    )
    listing = await html(node, "/guides?tag=stalls")
    assert f'href="/guides/{newer}"' in listing
    assert f'href="/guides/{first}"' not in listing
    assert "No guides match" in await html(node, "/guides?tag=elections")
    old = await html(node, f"/guides/{first}")
    assert f'href="/guides/{newer}"' in old  # a newer version
    assert "<p>Pick a busy corner.</p>" in old  # paragraphs
    await publish(node, "event.redacted", {"id": newer})
    await html(node, f"/guides/{newer}", status=404)
    assert "Stalls, revised" not in await html(node, "/guides")


async def test_advisers_by_topic_and_place_contact_through_the_group(
    node: Served,
) -> None:
    peer = Peer(node, KEY_B, "Ebbw Vale Tenants")
    peer.publish(
        "group.profile_set",
        {
            "name": "Ebbw Vale Tenants",
            "how_to_join": "Come to the Tuesday surgery.",
            "place": TREDEGAR,
        },
    )
    peer.publish("adviser.listed", ADVISER)
    page = await html(node, "/advisers?topic=planning")
    assert "Cllr Eluned Morgan" in page
    assert "Come to the Tuesday surgery." in page
    assert f'href="/groups/{KEY_B.feed}"' in page
    assert "No advisers match" in await html(node, "/advisers?topic=housing")
    near = await html(node, "/advisers?lat=51.77&lon=-3.25&within_km=5")
    assert "km away" in near
    far = await html(node, "/advisers?lat=53.4&lon=-2.9&within_km=5")
    assert "Cllr Eluned Morgan" not in far
    bad = await html(node, "/advisers?topic=planning&lat=95&lon=0", status=400)
    assert 'value="planning"' in bad


# --- questions and answers ----------------------------------------------------------


async def test_answers_thread_across_feeds_in_either_order(node: Served) -> None:
    asker, b, c = (
        Peer(node, KEY_B, "Ebbw Vale"),
        Peer(node, KEY_C, "Rhymney"),
        Peer(node, KEY_D, "Cwm"),
    )
    # C's reply and mark arrive before the answer they name, and B's answer
    # before the question.
    early = b.publish("answer.posted", {"question": UNHELD, "text": "Orphan"})
    asked = asker.publish("question.asked", {**QUESTION, "tags": ["council"]})
    answer = b.publish(
        "answer.posted", {"question": asked.id, "text": "Use the EIR, not FOI."}
    )
    c.publish(
        "answer.posted",
        {"question": asked.id, "text": "It worked for us.", "in_reply_to": answer.id},
    )
    c.publish("answer.marked_helpful", {"answer": answer.id, "question": asked.id})
    page = await html(node, f"/questions/{asked.id}")
    assert early.id not in page
    first = page.index("Use the EIR, not FOI.")
    assert first < page.index("It worked for us.")
    assert 'class="answer depth-1"' in page
    assert f'href="#answer-{answer.id}"' in page
    assert "Helpful to 1 group" in page
    assert "Cwm" in page
    answered = await html(node, "/questions?answered=yes")
    assert f'href="/questions/{asked.id}"' in answered
    waiting = await html(node, "/questions?answered=no")
    assert f'href="/questions/{asked.id}"' not in waiting
    bad = await html(node, "/questions?answered=maybe&q=survey", status=400)
    assert 'value="survey"' in bad
    assert 'aria-invalid="true"' in bad


async def test_an_organiser_answers_and_marks_helpful(node: Served) -> None:
    asker, other = Peer(node, KEY_B, "Ebbw Vale"), Peer(node, KEY_C, "Rhymney")
    asked = asker.publish("question.asked", QUESTION)
    theirs = other.publish("answer.posted", {"question": asked.id, "text": "Ask!"})
    path = f"/questions/{asked.id}"
    await join(node, "Owain Organiser", "owain", role="organiser")
    page = await html(node, path)
    assert f'action="{path}/answers"' in page
    assert f'value="{theirs.id}"' in page  # the mark button's answer
    forged = await node.client.post(
        f"{path}/answers", data={"csrf": "forged", "text": "Hello"}, headers=HTML
    )
    assert forged.status == 403
    assert "CSRF" in await forged.text()
    sent = await node.client.post(
        f"{path}/answers",
        data={"csrf": csrf_of(page), "text": "We did this in 2024.", "in_reply_to": ""},
        allow_redirects=False,
    )
    assert sent.status == 303, await sent.text()
    assert sent.headers["Location"].startswith(f"{path}#answer-sha256:")
    marked = await node.client.post(
        f"{path}/helpful",
        data={"csrf": csrf_of(page), "answer": theirs.id},
        allow_redirects=False,
    )
    assert marked.status == 303, await marked.text()
    shown = await html(node, path)
    assert "We did this in 2024." in shown
    assert "Helpful to 1 group: " in shown
    assert "Blaenavon Tenants</a>" in shown.split("Helpful to 1 group", 1)[1]
    assert f'name="answer" value="{theirs.id}"' not in shown  # marked once
    again = await node.client.post(
        f"{path}/helpful", data={"csrf": csrf_of(page), "answer": theirs.id}
    )
    assert again.status == 409
    assert "Owain Organiser" not in shown  # the organiser's name stays here


async def test_a_refused_answer_keeps_what_was_typed(node: Served) -> None:
    asked = Peer(node, KEY_B, "Ebbw Vale").publish("question.asked", QUESTION)
    path = f"/questions/{asked.id}"
    await join(node, "Owain Organiser", "owain", role="organiser")
    page = await html(node, path)
    refused = await node.client.post(
        f"{path}/answers",
        data={
            "csrf": csrf_of(page),
            "text": "Keep <this>",
            "author_display_name": "Owain",
            "in_reply_to": UNHELD,
        },
    )
    text = await refused.text()
    assert refused.status == 400, text
    assert "Keep &lt;this&gt;</textarea>" in text
    assert 'value="Owain"' in text
    assert "reply to one of the answers" in text
    empty = await node.client.post(
        f"{path}/answers", data={"csrf": csrf_of(page), "text": "  "}
    )
    assert empty.status == 400
    assert "write your answer" in await empty.text()


async def test_only_organisers_answer(node: Served) -> None:
    asked = Peer(node, KEY_B, "Ebbw Vale").publish("question.asked", QUESTION)
    path = f"/questions/{asked.id}"
    await node.projected()
    visitor = await node.client.post(
        f"{path}/answers", data={"text": "Hi"}, headers=HTML
    )
    assert visitor.status == 401
    assert f"/login?next={path}" in await html(node, path)
    await join(node)
    page = await html(node, path)
    assert f'action="{path}/answers"' not in page
    member = await node.client.post(
        f"{path}/answers", data={"csrf": csrf_of(page), "text": "Hi"}, headers=HTML
    )
    assert member.status == 403
    await node.projected()
    assert "No answers yet" in await html(node, path)
    missing = await node.client.post(
        f"/questions/{UNHELD}/answers", data={"csrf": csrf_of(page), "text": "Hi"}
    )
    assert missing.status in (403, 404)


# --- mutual aid ----------------------------------------------------------------------


async def test_needs_and_offers_matched_nearest_first(node: Served) -> None:
    b, c = Peer(node, KEY_B, "Rhymney Aid"), Peer(node, KEY_C, "Cardiff Aid")
    need = await publish(node, "need.posted", aid("Lift to hospital", TREDEGAR))
    far = c.publish("offer.posted", aid("Car in Cardiff", CARDIFF))
    near = b.publish("offer.posted", aid("Car in Rhymney", RHYMNEY, need=need))
    b.publish("offer.posted", {**aid("Spare beds", RHYMNEY), "category": "housing"})
    listing = await html(node, "/mutual-aid")
    assert f'href="/needs/{need}"' in listing
    assert f'href="/offers/{near.id}"' in listing
    only = await html(node, "/mutual-aid?kind=offer&category=housing")
    assert "Spare beds" in only
    assert "Car in Rhymney" not in only
    assert "Lift to hospital" not in only
    page = await html(node, f"/needs/{need}?within_km=25")
    matches = page.split('id="h-matches"', 1)[1]
    assert "Car in Rhymney" in matches
    assert "Car in Cardiff" not in matches  # about 33 km away
    wide = (await html(node, f"/needs/{need}?within_km=100")).split(
        'id="h-matches"', 1
    )[1]
    assert wide.index("Car in Rhymney") < wide.index("Car in Cardiff")
    assert "km away" in wide
    assert "Rhymney Aid" in page.split('id="h-offers"', 1)[1]
    offer = await html(node, f"/offers/{near.id}")
    assert f'href="/needs/{need}"' in offer
    assert "Contact through the group" in offer
    assert far.id in (await html(node, "/mutual-aid?status=open"))
    bad = await html(node, "/mutual-aid?category=gold&q=car", status=400)
    assert 'value="car"' in bad


async def test_an_organiser_marks_the_groups_need_met(node: Served) -> None:
    need = await publish(node, "need.posted", aid("Lift to hospital", TREDEGAR))
    offer = Peer(node, KEY_B, "Rhymney Aid").publish(
        "offer.posted", aid("Car in Rhymney", RHYMNEY)
    )
    path = f"/needs/{need}"
    assert f'action="{path}/met"' not in await html(node, path)  # a visitor
    await join(node, "Owain Organiser", "owain", role="organiser")
    page = await html(node, path)
    assert f'action="{path}/met"' in page
    forged = await node.client.post(
        f"{path}/met", data={"csrf": "forged", "offer": offer.id}, headers=HTML
    )
    assert forged.status == 403
    bad = await node.client.post(
        f"{path}/met", data={"csrf": csrf_of(page), "offer": "nope", "note": "Ta"}
    )
    assert bad.status == 400
    assert "Ta</textarea>" in await bad.text()
    done = await node.client.post(
        f"{path}/met",
        data={"csrf": csrf_of(page), "offer": offer.id, "note": "Thank you!"},
        allow_redirects=False,
    )
    assert done.status == 303, await done.text()
    shown = await html(node, path)
    assert "Thank you!" in shown
    assert f'href="/offers/{offer.id}"' in shown
    assert f'action="{path}/met"' not in shown
    again = await node.client.post(f"{path}/met", data={"csrf": csrf_of(page)})
    assert again.status == 409


async def test_another_groups_need_is_not_ours_to_mark(node: Served) -> None:
    theirs = Peer(node, KEY_B, "Rhymney Aid").publish(
        "need.posted", aid("Lift to hospital", RHYMNEY)
    )
    path = f"/needs/{theirs.id}"
    await node.projected()
    visitor = await node.client.post(f"{path}/met", data={}, headers=HTML)
    assert visitor.status == 401
    await join(node, "Owain Organiser", "owain", role="organiser")
    page = await html(node, path)
    assert f'action="{path}/met"' not in page
    refused = await node.client.post(f"{path}/met", data={"csrf": csrf_of(page)})
    assert refused.status == 403


async def test_redacted_and_blocked_never_appear(node: Served) -> None:
    peer = Peer(node, KEY_B, "Blocked Aid")
    gone = peer.publish("offer.posted", aid("Redacted car", RHYMNEY))
    peer.publish("event.redacted", {"id": gone.id})
    need = await publish(node, "need.posted", aid("Lift to hospital", TREDEGAR))
    assert "Redacted car" not in await html(node, f"/needs/{need}")
    await html(node, f"/offers/{gone.id}", status=404)
    guide = peer.publish("guide.published", {**GUIDE, "title": "Blocked guide"})
    asked = peer.publish("question.asked", {"title": "Blocked question"})
    peer.publish("offer.posted", aid("Blocked car", RHYMNEY))
    assert "Blocked guide" in await html(node, "/guides")
    node.services.store.federation.block(KEY_B.feed, "feed", now=1)
    for path in ("/guides", "/questions", "/mutual-aid", f"/needs/{need}"):
        assert "Blocked" not in await html(node, path), path
    await html(node, f"/guides/{guide.id}", status=404)
    await html(node, f"/questions/{asked.id}", status=404)
