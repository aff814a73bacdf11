"""The tours and network decisions pages, in-process: stops across feeds in
either arrival order, votes by group, the tally and the result, organisers'
vote and decide forms, CSRF, permissions and escaping."""

from __future__ import annotations

from protocol import JsonObject, sign
from tests.http.conftest import Served
from tests.http.test_pages import (
    ESCAPED,
    HOSTILE,
    HOUR,
    HTML,
    Peer,
    csrf_of,
    html,
    join,
    meeting,
    publish,
    soon,
)
from tests.node.conftest import KEY_C
from tests.protocol.helpers import KEY_B

UNHELD = "sha256:" + "A" * 43
OPTIONS = [
    {"id": "tredegar", "label": "Tredegar Institute"},
    {"id": "ebbw-vale", "label": "Ebbw Vale Library"},
]


def tour(**changes: object) -> JsonObject:
    body: JsonObject = {
        "title": "Homes not demolition",
        "starts_at": soon(1),
        "ends_at": soon(20),
        "tz": "Europe/London",
    }
    body.update(changes)  # type: ignore[arg-type]
    return body


async def test_tours_list_and_stops_across_feeds(node: Served) -> None:
    assert "No tours coming up" in await html(node, "/tours")
    host, announcer = Peer(node, KEY_B, "Ebbw Vale"), Peer(node, KEY_C, "Rhymney")
    # C's tour is signed but arrives after B's stop that names it.
    assert announcer.head is not None
    announced = sign(
        KEY_C,
        announcer.head,
        announcer.head.ts + 1000,
        "tour.announced",
        tour(hosts=[KEY_B.feed, node.made.feed]),
    )
    late = host.publish(
        "meeting.scheduled",
        meeting(
            title="Second stop",
            tour=announced.id,
            starts_at=soon(5),
            ends_at=soon(5) + HOUR,
            tz="America/New_York",
        ),
    )
    assert node.services.store.append([announced])
    ours = await publish(
        node, "meeting.scheduled", meeting(title="Blaenavon stop", tour=announced.id)
    )
    listing = await html(node, "/tours")
    assert f'href="/tours/{announced.id}"' in listing
    page = await html(node, f"/tours/{announced.id}")
    assert f'href="/meetings/{ours}"' in page
    assert f'href="/meetings/{late.id}"' in page
    assert page.index("Blaenavon stop") < page.index("Second stop")
    assert "EST" in page  # the stop's own zone
    assert f'href="/groups/{KEY_B.feed}"' in page
    await html(node, "/tours/nope", status=400)
    await html(node, f"/tours/{UNHELD}", status=404)


async def test_a_tour_from_another_feed_is_escaped(node: Served) -> None:
    peer = Peer(node, KEY_B, HOSTILE)
    announced = peer.publish("tour.announced", tour(title=HOSTILE))
    for path in ("/tours", f"/tours/{announced.id}"):
        page = await html(node, path)
        assert HOSTILE not in page
        assert ESCAPED in page


async def network_with_decision(
    node: Served, closes_in: int = HOUR
) -> tuple[str, str, Peer]:
    """This node convenes a network that B joins, with an open decision."""
    network = await publish(
        node, "network.formed", {"name": "Gwent Valleys", "kind": "regional"}
    )
    b = Peer(node, KEY_B, "Ebbw Vale")
    b.publish("network.joined", {"network": network})
    decision = await publish(
        node,
        "network.decision_opened",
        {
            "network": network,
            "title": "Where is the spring conference?",
            "kind": "choose_one",
            "options": OPTIONS,  # type: ignore[dict-item]
            "closes_at": node.services.clock() + closes_in,
            "tz": "Europe/London",
        },
    )
    return network, decision, b


async def test_a_network_decision_voted_and_decided(node: Served) -> None:
    network, decision, b = await network_with_decision(node)
    b.publish(
        "network.delegate_vote_cast",
        {"decision": decision, "choice": "ebbw-vale", "reason": HOSTILE},
    )
    path = f"/network-decisions/{decision}"
    page = await html(node, path)
    assert "Tally so far" in page
    assert "Ebbw Vale Library</strong> leads" in page
    assert ESCAPED in page
    assert HOSTILE not in page
    assert f'action="{path}/vote"' not in page  # a visitor
    listing = await html(node, f"/networks/{network}/decisions")
    assert f'href="{path}"' in listing
    assert f'href="/networks/{network}/decisions"' in await html(
        node, f"/networks/{network}"
    )

    await join(node, "Owain Organiser", "owain", role="organiser")
    page = await html(node, path)
    assert f'action="{path}/vote"' in page
    assert f'action="{path}/decide"' not in page  # still open
    forged = await node.client.post(
        f"{path}/vote", data={"csrf": "forged", "choice": "tredegar"}, headers=HTML
    )
    assert forged.status == 403
    bad = await node.client.post(
        f"{path}/vote", data={"csrf": csrf_of(page), "choice": "x", "reason": "Ours"}
    )
    assert bad.status == 400
    assert "Ours</textarea>" in await bad.text()
    sent = await node.client.post(
        f"{path}/vote",
        data={"csrf": csrf_of(page), "choice": "tredegar", "reason": "Ours."},
        allow_redirects=False,
    )
    assert sent.status == 303, await sent.text()
    shown = await html(node, path)
    assert "Our group voted <strong>Tredegar Institute</strong>" in shown
    assert "nothing leads yet" in shown  # one each

    now = node.services.clock()
    node.services.clock = lambda: now + 2 * HOUR
    closed = await html(node, path)
    assert f'action="{path}/vote"' not in closed
    assert f'action="{path}/decide"' in closed
    decided = await node.client.post(
        f"{path}/decide",
        data={"csrf": csrf_of(closed), "text": "A tie: we talk again."},
        allow_redirects=False,
    )
    assert decided.status == 303, await decided.text()
    result = await html(node, path)
    assert "A tie: we talk again." in result
    assert "No option won" in result
    assert f'action="{path}/decide"' not in result
    again = await node.client.post(f"{path}/decide", data={"csrf": csrf_of(closed)})
    assert again.status == 409


async def test_members_and_other_groups_cannot_act(node: Served) -> None:
    _, decision, _ = await network_with_decision(node)
    path = f"/network-decisions/{decision}"
    await node.projected()
    visitor = await node.client.post(
        f"{path}/vote", data={"choice": "tredegar"}, headers=HTML
    )
    assert visitor.status == 401
    await join(node)
    page = await html(node, path)
    assert "organisers cast its vote" in page
    member = await node.client.post(
        f"{path}/vote", data={"csrf": csrf_of(page), "choice": "tredegar"}
    )
    assert member.status == 403
    # C convenes a network this group is not in: no vote and no decide.
    c = Peer(node, KEY_C, "Rhymney")
    theirs = c.publish("network.formed", {"name": "Rhymney Valley", "kind": "regional"})
    opened = c.publish(
        "network.decision_opened",
        {
            "network": theirs.id,
            "title": "Theirs",
            "kind": "choose_one",
            "options": OPTIONS,  # type: ignore[dict-item]
            "closes_at": 1,
        },
    )
    await join(node, "Owain Organiser", "owain", role="organiser")
    other = await html(node, f"/network-decisions/{opened.id}")
    assert "/vote" not in other
    assert "/decide" not in other
    refused = await node.client.post(
        f"/network-decisions/{opened.id}/decide", data={"csrf": csrf_of(other)}
    )
    assert refused.status == 403
    await html(node, "/network-decisions/nope", status=400)
    await html(node, f"/network-decisions/{UNHELD}", status=404)
    await html(node, f"/networks/{UNHELD}/decisions", status=404)


async def test_a_ranked_vote_from_the_form(node: Served) -> None:
    network, _, _ = await network_with_decision(node)
    decision = await publish(
        node,
        "network.decision_opened",
        {
            "network": network,
            "title": "Rank the halls",
            "kind": "rank",
            "options": OPTIONS,  # type: ignore[dict-item]
            "closes_at": node.services.clock() + HOUR,
        },
    )
    path = f"/network-decisions/{decision}"
    await join(node, "Owain Organiser", "owain", role="organiser")
    page = await html(node, path)
    assert 'for="rank-ebbw-vale"' in page
    same = await node.client.post(
        f"{path}/vote",
        data={"csrf": csrf_of(page), "rank-tredegar": "1", "rank-ebbw-vale": "1"},
    )
    assert same.status == 400
    assert "a different place" in await same.text()
    sent = await node.client.post(
        f"{path}/vote",
        data={"csrf": csrf_of(page), "rank-tredegar": "2", "rank-ebbw-vale": "1"},
        allow_redirects=False,
    )
    assert sent.status == 303, await sent.text()
    shown = await html(node, path)
    after = "\N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK}"
    assert f"voted <strong>Ebbw Vale Library {after} Tredegar Institute" in shown
