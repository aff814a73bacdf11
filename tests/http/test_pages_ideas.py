"""The ideas, proposals, decisions, tasks and pledges pages, in-process."""

from __future__ import annotations

import re

import pytest

from node.web.render import PAGE_CSP
from protocol import JsonObject
from tests.http.conftest import Served
from tests.http.test_pages import (
    CAMPAIGN,
    ESCAPED,
    HOSTILE,
    HTML,
    Peer,
    csrf_of,
    html,
    join,
    meeting,
    publish,
    soon,
)
from tests.protocol.helpers import KEY_B

CONSENT = [
    {"id": "yes", "label": "Yes"},
    {"id": "no", "label": "No"},
    {"id": "abstain", "label": "Abstain"},
    {"id": "block", "label": "Block"},
]


def proposal(**changes: object) -> JsonObject:
    body: JsonObject = {
        "title": "Run a repair café",
        "kind": "consent",
        "options": CONSENT,  # type: ignore[dict-item]
        "closes_at": soon(7),
        "tz": "Europe/London",
    }
    body.update(changes)  # type: ignore[arg-type]
    return body


async def post(node: Served, path: str, data: dict[str, str], status: int = 303) -> str:
    response = await node.client.post(
        path, data=data, headers=HTML, allow_redirects=False
    )
    text = await response.text()
    assert response.status == status, text
    if status == 303:
        return response.headers["Location"]
    assert response.content_type == "text/html"
    return text


# --- layout and empty states ---------------------------------------------------


@pytest.mark.parametrize("path", ["/ideas", "/tasks", "/pledges"])
async def test_the_pages_have_the_layout_and_honest_empty_states(
    node: Served, path: str
) -> None:
    await node.projected()
    response = await node.client.get(path, headers=HTML)
    page = await response.text()
    assert response.status == 200, page
    assert response.headers["Content-Security-Policy"] == PAGE_CSP
    assert page.count("<h1") == 1
    assert 'class="empty"' in page
    for field in re.findall(r'<(?:input|select|textarea)[^>]*id="([^"]+)"', page):
        assert f'for="{field}"' in page, f"no label for {field} on {path}"


async def test_empty_lists_say_so(node: Served) -> None:
    ideas = await html(node, "/ideas")
    assert "No ideas yet" in ideas
    assert "No proposals are open" in ideas
    tasks = await html(node, "/tasks")
    assert "No open tasks" in tasks
    assert "No tasks done yet" in tasks
    assert "No pledge targets yet" in await html(node, "/pledges")
    assert "No ideas match" in await html(node, "/ideas?q=nothing")


async def test_bad_queries_and_ids(node: Served) -> None:
    bad = await html(node, "/ideas?status=maybe&q=buses", status=400)
    assert 'value="buses"' in bad
    assert 'role="alert"' in bad
    await html(node, "/tasks?status=late", status=400)
    await html(node, "/tasks?status=open&after=nonsense", status=400)
    await html(node, "/pledges?kind=gold", status=400)
    unknown = "sha256:" + "A" * 43
    for path in ("/ideas", "/proposals", "/decisions", "/pledges"):
        await html(node, f"{path}/nope", status=400)
        assert "Not found" in await html(node, f"{path}/{unknown}", status=404)


# --- ideas ---------------------------------------------------------------------


async def test_a_member_proposes_an_idea_and_supports_it(node: Served) -> None:
    await join(node)
    form = await html(node, "/ideas")
    csrf = csrf_of(form)
    forged = await post(node, "/ideas", {"csrf": "x", "title": "Buses"}, status=403)
    assert "CSRF" in forged
    empty = await post(
        node, "/ideas", {"csrf": csrf, "title": " ", "text": "Kept <b>"}, status=400
    )
    assert "Kept &lt;b&gt;</textarea>" in empty
    assert 'aria-invalid="true" aria-describedby="title-problem"' in empty
    bad_tags = await post(
        node,
        "/ideas",
        {"csrf": csrf, "title": "Buses", "tags": "ok, not_ok!"},
        status=422,
    )
    assert 'value="ok, not_ok!"' in bad_tags
    assert 'id="tags-problem"' in bad_tags
    where = await post(
        node,
        "/ideas",
        {
            "csrf": csrf,
            "title": "A night bus",
            "tags": "Buses, transport",
            "named": "yes",
        },
    )
    assert where.startswith("/ideas/sha256:")
    page = await html(node, where)
    assert "Your idea is published" in page
    assert "A night bus" in page
    assert "Gwen Member" in page  # she chose to show her name
    assert 'href="/ideas?tag=buses"' in page
    assert "<strong>0</strong> members" in page
    support = f"{where}/support"
    assert await post(node, support, {"csrf": csrf, "support": "yes"}) == where
    page = await html(node, where)
    assert "<strong>1</strong> member of the group supports it" in page
    assert "You support this idea" in page
    assert "1 supporter ·" in await html(node, "/ideas")
    await post(node, support, {"csrf": csrf, "support": "no"})
    page = await html(node, where)
    assert "<strong>0</strong> members" in page
    assert "Support this idea" in page


async def test_an_unnamed_idea_shows_a_member(node: Served) -> None:
    await join(node)
    csrf = csrf_of(await html(node, "/ideas"))
    where = await post(node, "/ideas", {"csrf": csrf, "title": "Litter pick"})
    page = await html(node, where)
    assert "by a member" in page
    assert "Gwen Member" not in page
    assert "Gwen Member" not in await html(node, "/ideas")


async def test_a_visitor_sees_but_cannot_act(node: Served) -> None:
    idea = await publish(node, "idea.proposed", {"title": "Community fridge"})
    opened = await publish(node, "proposal.opened", proposal(idea=idea))
    target = await publish(
        node,
        "pledge.target_set",
        {"title": "Fridge fund", "kind": "money", "target_pence": 20000},
    )
    page = await html(node, f"/ideas/{idea}")
    assert "Community fridge" in page
    assert f'href="/login?next=/ideas/{idea}"' in page
    assert f"/login?next=/proposals/{opened}" in await html(
        node, f"/proposals/{opened}"
    )
    assert f"/login?next=/pledges/{target}" in await html(node, f"/pledges/{target}")
    for path, data in (
        ("/ideas", {"title": "Mine"}),
        (f"/ideas/{idea}/support", {"support": "yes"}),
        (f"/proposals/{opened}/vote", {"choice": "yes"}),
        (f"/proposals/{opened}/vote/withdraw", {}),
        (f"/proposals/{opened}/decide", {}),
        (f"/pledges/{target}/pledge", {"pounds": "5"}),
        (f"/pledges/{target}/withdraw", {}),
    ):
        text = await post(node, path, {"csrf": "x", **data}, status=401)
        assert "Log in" in text, path
    assert "Mine" not in await html(node, "/ideas")


# --- proposals and votes ---------------------------------------------------------


async def test_a_member_votes_changes_and_withdraws(node: Served) -> None:
    opened = await publish(node, "proposal.opened", proposal())
    await join(node)
    path = f"/proposals/{opened}"
    page = await html(node, path)
    assert 'type="radio" id="choice-yes"' in page
    assert "Decide now" not in page  # members do not decide
    csrf = csrf_of(page)
    none = await post(node, f"{path}/vote", {"csrf": csrf, "reason": "hmm"}, 400)
    assert "hmm</textarea>" in none
    assert 'id="choice-problem"' in none
    wrong = await post(node, f"{path}/vote", {"csrf": csrf, "choice": "maybe"}, 422)
    assert "choice-problem" in wrong
    await post(node, f"{path}/vote", {"csrf": "x", "choice": "yes"}, status=403)
    reason = "Repairs save money"
    data = {"csrf": csrf, "choice": "yes", "reason": reason}
    assert await post(node, f"{path}/vote", data) == path
    page = await html(node, path)
    assert "Your vote is saved" in page
    assert "You voted <strong>Yes</strong>" in page
    assert 'id="choice-yes" name="choice" value="yes" checked' in page
    assert f"Your reason: {reason}" in page
    await post(node, f"{path}/vote", {"csrf": csrf, "choice": "no"})
    assert "You voted <strong>No</strong>" in await html(node, path)
    await post(node, f"{path}/vote/withdraw", {"csrf": csrf})
    page = await html(node, path)
    assert "You voted" not in page
    assert "Your vote is withdrawn" in page
    refused = await post(node, f"{path}/decide", {"csrf": csrf}, status=403)
    assert "organisers" in refused


async def test_an_organiser_decides_and_the_counts_show_no_names(
    node: Served,
) -> None:
    opened = await publish(node, "proposal.opened", proposal())
    path = f"/proposals/{opened}"
    await join(node)
    csrf = csrf_of(await html(node, path))
    reason = "My private reason"
    await post(node, f"{path}/vote", {"csrf": csrf, "choice": "yes", "reason": reason})
    await join(node, "Owain Organiser", "owain", role="organiser")
    page = await html(node, path)
    assert "Decide now" in page
    csrf = csrf_of(page)
    await post(node, f"{path}/vote", {"csrf": csrf, "choice": "block"})
    decided = await post(
        node, f"{path}/decide", {"csrf": csrf, "text": "We start in May"}
    )
    assert decided.startswith("/decisions/sha256:")
    decision = await html(node, decided)
    assert "Blocked" in decision
    assert "We start in May" in decision
    shown = await html(node, path)
    assert "Decision: Blocked" in shown
    assert "Voting has closed" in shown
    assert "Decide now" not in shown
    again = await post(node, f"{path}/decide", {"csrf": csrf}, status=409)
    assert "decided already" in again
    late = await post(node, f"{path}/vote", {"csrf": csrf, "choice": "yes"}, 409)
    assert 'role="alert"' in late
    await node.client.post("/logout", data={"csrf": csrf})
    for public in (decided, path, "/ideas"):
        page = await html(node, public)
        for private in ("Gwen Member", "Owain Organiser", reason):
            assert private not in page, public


async def test_a_ranking_vote_keeps_the_places(node: Served) -> None:
    options = [
        {"id": "bus", "label": "A minibus"},
        {"id": "bikes", "label": "Bike loans"},
        {"id": "lifts", "label": "Lift sharing"},
    ]
    opened = await publish(
        node, "proposal.opened", proposal(kind="rank", options=options)
    )
    path = f"/proposals/{opened}"
    await join(node)
    page = await html(node, path)
    assert '<select id="rank-bus" name="rank-bus">' in page
    csrf = csrf_of(page)
    clash = {"csrf": csrf, "rank-bus": "1", "rank-bikes": "1"}
    refused = await post(node, f"{path}/vote", clash, status=400)
    assert "different place" in refused
    assert refused.count('value="1" selected') == 2
    nothing = await post(node, f"{path}/vote", {"csrf": csrf}, status=400)
    assert "rank at least one" in nothing
    far = await post(node, f"{path}/vote", {"csrf": csrf, "rank-bus": "9"}, 400)
    assert 'aria-describedby="rank-bus-problem"' in far
    assert 'id="rank-bus-problem"' in far
    assert "between 1 and 3" in far
    data = {"csrf": csrf, "rank-lifts": "1", "rank-bus": "2"}
    await post(node, f"{path}/vote", data)
    page = await html(node, path)
    assert re.search(r"<ol><li>Lift sharing</li><li>A minibus</li></ol>", page)
    assert '<option value="2" selected>2</option>' in page


async def test_another_groups_proposal_shows_without_a_vote_form(
    node: Served,
) -> None:
    peer = Peer(node, KEY_B, "Cwmbran Renters")
    opened = peer.publish("proposal.opened", proposal(title="Their proposal"))
    await join(node)
    page = await html(node, f"/proposals/{opened.id}")
    assert "Their proposal" in page
    assert "vote on its proposals on their own group" in page
    assert 'name="choice"' not in page
    csrf = csrf_of(page)
    await post(
        node, f"/proposals/{opened.id}/vote", {"csrf": csrf, "choice": "yes"}, 404
    )


# --- decisions and tasks -----------------------------------------------------------


async def test_a_decision_page_follows_the_chain(node: Served) -> None:
    idea = await publish(node, "idea.proposed", {"title": "Repair café"})
    opened = await publish(node, "proposal.opened", proposal(idea=idea))
    decided = await publish(
        node,
        "proposal.decided",
        {
            "proposal": opened,
            "result": "yes",
            "counts": [
                {"option": "yes", "votes": 3},
                {"option": "no", "votes": 1},
            ],
            "voters": 4,
            "eligible": 9,
        },
    )
    done = await publish(
        node, "task.created", {"title": "Book the hall", "decision": decided}
    )
    await publish(
        node,
        "task.created",
        {"title": "Find fixers", "decision": decided, "owner_display_name": "Ifor"},
    )
    await publish(node, "task.completed", {"task": done, "note": "Booked"})
    await publish(
        node, "meeting.scheduled", meeting(title="First café", decision=decided)
    )
    page = await html(node, f"/decisions/{decided}")
    assert "Decision: Run a repair café" in page
    assert f'href="/ideas/{idea}">Repair café</a>' in page
    assert f'href="/proposals/{opened}"' in page
    assert "Agreed" in page
    assert '<progress id="decision-progress" max="2" value="1"' in page
    assert "1 of 2 tasks done" in page
    assert "owner: a member" in page
    assert "owner: Ifor" in page
    assert ">Done</span>" in page
    assert "Booked" in page
    assert "First café" in page
    assert "4 voted of 9" in page
    tasks = await html(node, "/tasks")
    open_part = tasks.split('id="tasks-open"', 1)[1].split('id="tasks-done"', 1)[0]
    assert "Find fixers" in open_part
    assert "Book the hall" not in open_part
    assert "Book the hall" in await html(node, "/tasks?status=done")
    assert "Find fixers" not in await html(node, "/tasks?status=done")
    proposal_page = await html(node, f"/proposals/{opened}")
    assert "Decision: Agreed" in proposal_page
    idea_page = await html(node, f"/ideas/{idea}")
    assert f'href="/decisions/{decided}"' in idea_page


async def test_redacted_and_blocked_things_disappear(node: Served) -> None:
    idea = await publish(node, "idea.proposed", {"title": "Secret garden"})
    task = await publish(node, "task.created", {"title": "Dig the beds"})
    fund: JsonObject = {"title": "Seed fund", "kind": "money", "target_pence": 500}
    target = await publish(node, "pledge.target_set", fund)
    opened = await publish(node, "proposal.opened", proposal())
    result: JsonObject = {
        "proposal": opened,
        "voters": 0,
        "counts": [],
        "text": "Dig deep",
    }
    decided = await publish(node, "proposal.decided", result)
    peer = Peer(node, KEY_B, "Blocked Renters")
    peer.publish("idea.proposed", {"title": "Blocked idea"})
    peer.publish("task.created", {"title": "Blocked task"})
    theirs = peer.publish("pledge.target_set", {**fund, "title": "Blocked fund"})
    assert "Secret garden" in await html(node, "/ideas")
    assert "Blocked task" in await html(node, "/tasks")
    assert "Blocked fund" in await html(node, "/pledges")
    assert "Dig deep" in await html(node, f"/decisions/{decided}")
    for redacted in (idea, task, target, decided):
        await publish(node, "event.redacted", {"id": redacted})
    node.services.store.federation.block(KEY_B.feed, "feed", now=1)
    for path in ("/ideas", "/tasks", "/pledges", f"/proposals/{opened}"):
        page = await html(node, path)
        for gone in ("Secret garden", "Dig the beds", "Seed fund", "Dig deep"):
            assert gone not in page, path
        assert "Blocked" not in page, path
    await html(node, f"/ideas/{idea}", status=404)
    await html(node, f"/pledges/{target}", status=404)
    await html(node, f"/pledges/{theirs.id}", status=404)
    await html(node, f"/decisions/{decided}", status=404)


# --- escaping ----------------------------------------------------------------------


async def test_hostile_text_from_another_feed_renders_as_text(node: Served) -> None:
    peer = Peer(node, KEY_B, HOSTILE)
    idea = peer.publish("idea.proposed", {"title": HOSTILE, "text": HOSTILE})
    options = [{"id": "a", "label": HOSTILE}, {"id": "b", "label": "Plain"}]
    opened = peer.publish(
        "proposal.opened",
        proposal(
            title=HOSTILE,
            text=HOSTILE,
            kind="choose_one",
            options=options,
            idea=idea.id,
        ),
    )
    decided = peer.publish(
        "proposal.decided",
        {
            "proposal": opened.id,
            "result": "a",
            "text": HOSTILE,
            "voters": 1,
            "counts": [{"option": "a", "votes": 1}],
        },
    )
    peer.publish(
        "task.created",
        {
            "title": HOSTILE,
            "text": HOSTILE,
            "owner_display_name": HOSTILE,
            "decision": decided.id,
        },
    )
    campaign = peer.publish("campaign.launched", CAMPAIGN)
    target = peer.publish(
        "pledge.target_set",
        {
            "title": HOSTILE,
            "text": HOSTILE,
            "kind": "skills",
            "skills": [HOSTILE],
            "subject": campaign.id,
        },
    )
    for path in (
        "/ideas",
        f"/ideas/{idea.id}",
        f"/proposals/{opened.id}",
        f"/decisions/{decided.id}",
        "/tasks",
        "/pledges",
        f"/pledges/{target.id}",
        f"/campaigns/{campaign.id}",
    ):
        page = await html(node, path)
        assert HOSTILE not in page, path
        assert ESCAPED in page, path


# --- pledges -----------------------------------------------------------------------


async def test_a_member_pledges_money_on_the_campaign_target(node: Served) -> None:
    campaign = await publish(node, "campaign.launched", CAMPAIGN)
    target = await publish(
        node,
        "pledge.target_set",
        {
            "title": "Coach fund",
            "kind": "money",
            "target_pence": 10000,
            "subject": campaign,
            "closes_at": soon(30),
        },
    )
    shown = await html(node, f"/campaigns/{campaign}")
    assert "Coach fund" in shown
    assert '<progress id="pledge-progress-1" max="1000" value="0"' in shown
    assert "£0 of £100 (0%)" in shown
    await join(node)
    path = f"/pledges/{target}"
    page = await html(node, path)
    assert 'id="pounds"' in page
    assert f'href="/campaigns/{campaign}"' in page
    csrf = csrf_of(page)
    bad = await post(node, f"{path}/pledge", {"csrf": csrf, "pounds": "12.505"}, 400)
    assert 'value="12.505"' in bad
    assert 'id="pounds-problem"' in bad
    await post(node, f"{path}/pledge", {"csrf": "x", "pounds": "5"}, status=403)
    assert (
        await post(node, f"{path}/pledge", {"csrf": csrf, "pounds": "£12.50"}) == path
    )
    page = await html(node, path)
    assert "Your pledge is saved" in page
    assert "You pledged <strong>£12.50</strong>" in page
    assert 'value="12.50"' in page
    assert "£12.50 of £100 (12%), from 1 pledger" in page
    assert "It counts in the totals" in page
    data = {"csrf": csrf, "pounds": "20", "others": "5"}
    await post(node, f"{path}/pledge", data)
    page = await html(node, path)
    assert "only if 5 others pledge too" in page
    assert "It does not count yet" in page
    assert "£0 of £100" in page
    await post(node, f"{path}/withdraw", {"csrf": csrf})
    page = await html(node, path)
    assert "You pledged" not in page
    assert "Your pledge is withdrawn" in page
    for public in (path, f"/campaigns/{campaign}", "/pledges"):
        assert "Gwen Member" not in await html(node, public)


async def test_pledges_of_hours_and_skills(node: Served) -> None:
    hours = await publish(
        node,
        "pledge.target_set",
        {"title": "Leafleting", "kind": "time", "target_hours": 40},
    )
    skills = await publish(
        node,
        "pledge.target_set",
        {
            "title": "Help at the fair",
            "kind": "skills",
            "skills": ["driving", "cooking"],
        },
    )
    closed = await publish(
        node,
        "pledge.target_set",
        {"title": "Old fund", "kind": "time", "target_hours": 5, "closes_at": 1},
    )
    await join(node)
    csrf = csrf_of(await html(node, "/pledges"))
    none = await post(node, f"/pledges/{hours}/pledge", {"csrf": csrf}, status=400)
    assert 'id="hours-problem"' in none
    await post(node, f"/pledges/{hours}/pledge", {"csrf": csrf, "hours": "4"})
    assert "4 of 40 hours (10%)" in await html(node, f"/pledges/{hours}")
    nothing = await post(node, f"/pledges/{skills}/pledge", {"csrf": csrf}, 400)
    assert "tick at least one skill" in nothing
    await post(node, f"/pledges/{skills}/pledge", {"csrf": csrf, "skill-1": "yes"})
    page = await html(node, f"/pledges/{skills}")
    assert "You pledged <strong>cooking</strong>" in page
    assert 'id="skill-1" name="skill-1" value="yes" checked' in page
    assert "1 skill of the 2 wanted" in page
    page = await html(node, f"/pledges/{closed}")
    assert "Pledging has closed" in page
    refused = await post(
        node, f"/pledges/{closed}/pledge", {"csrf": csrf, "hours": "1"}, status=409
    )
    assert 'role="alert"' in refused
