"""A member decides with the group, and a meeting page that follows its counts live.

An invited member logs in on the web and, through the pages alone, supports
an idea, votes on the proposal made of it (then changes the vote) and
pledges hours to a target on condition that someone else pledges too. The
organiser sets the scene through the API, as a script would; what the pages
did is checked where the group publishes it (counts only, never a name).

And a meeting's page, left open, takes in new RSVP counts as the group
publishes them, through server-sent events, without being reloaded.
"""

from __future__ import annotations

import json
import time

import aiohttp
from playwright.async_api import Page

from tests.network.conftest import Json, Node, NodeFactory
from tests.web.conftest import (
    WITHIN_SECONDS,
    Walk,
    api_has,
    call,
    eventually,
    publish,
)
from tests.web.test_visitor import TREDEGAR, meeting

LOGIN = "gwenllian"
PASSWORD = "play on the green all summer"  # noqa: S105
DISPLAY_NAME = "Gwenllian Price"
IDEA_TITLE = "A summer play scheme on the green"
PROPOSAL_TITLE = "Run the play scheme in August"
TARGET_TITLE = "Volunteer hours for the play scheme"
REASON = "My two would be there every morning."
DAY_MS = 24 * 3600 * 1000


def now_ms() -> int:
    """Now, in milliseconds since the epoch."""
    return int(time.time() * 1000)


def consent_proposal(idea: str) -> Json:
    """A consent proposal made of ``idea``, open for a day."""
    options = [
        {"id": "yes", "label": "Yes, run it"},
        {"id": "no", "label": "Not this year"},
        {"id": "abstain", "label": "Abstain"},
        {"id": "block", "label": "Block"},
    ]
    return {
        "title": PROPOSAL_TITLE,
        "text": "Four weeks of mornings; the hall is booked for wet days.",
        "kind": "consent",
        "options": options,
        "closes_at": now_ms() + DAY_MS,
        "tz": "Europe/London",
        "idea": idea,
    }


def hours_target() -> Json:
    """A target of sixty volunteer hours, open for four weeks."""
    return {
        "title": TARGET_TITLE,
        "kind": "time",
        "text": "Mornings for four weeks: we need people every day.",
        "target_hours": 60,
        "closes_at": now_ms() + 28 * DAY_MS,
    }


async def member_logs_in(walk: Walk, url: str, login: str, password: str) -> None:
    """Log in on ``url``'s login page; the page after it is checked."""
    page = await walk.visit(f"{url}/login", "login")
    await page.get_by_label("Login name").fill(login)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_load_state("load")
    assert await page.get_by_role("button", name="Log out").count() == 1, page.url


async def invited_member(session: aiohttp.ClientSession, node: Node) -> None:
    """An invite made by the organiser, accepted by the new member (by the API)."""
    invite = await call(session, node, "POST", "/api/v1/invites", {}, expect=201)
    joining = {"display_name": DISPLAY_NAME, "login": LOGIN, "password": PASSWORD}
    async with session.post(
        f"{node.url}/api/v1/invites/{invite['code']}/accept", json=joining
    ) as response:
        assert response.status == 201, await response.text()


async def scene(session: aiohttp.ClientSession, node: Node) -> tuple[str, str, str]:
    """An idea, a proposal made of it and an hours target; their ids."""
    idea = await call(
        session,
        node,
        "POST",
        "/api/v1/ideas",
        {"title": IDEA_TITLE, "text": "Games, lunch and trips for the kids."},
        expect=201,
    )
    proposal = await publish(
        session, node, "proposal.opened", consent_proposal(idea["id"])
    )
    target = await publish(session, node, "pledge.target_set", hours_target())
    for path in (f"/api/v1/proposals/{proposal}", f"/api/v1/pledge-targets/{target}"):
        await projected(session, node, path)
    return idea["id"], proposal, target


async def projected(session: aiohttp.ClientSession, node: Node, path: str) -> None:
    """Wait (with a deadline) until ``GET path`` answers 200 on ``node``."""
    await eventually(lambda: api_has(session, node, path), what=f"{path} projected")


async def main_text(page: Page) -> str:
    """The text of the page's main content."""
    return await page.locator("main").inner_text()


async def read_json(session: aiohttp.ClientSession, node: Node, path: str) -> Json:
    """``GET path`` with the organiser token; its JSON (which must be 200)."""
    return await call(session, node, "GET", path, expect=200)


async def supporters_are(
    session: aiohttp.ClientSession, node: Node, idea: str, expected: int
) -> bool:
    """Whether the idea's published support count is ``expected``."""
    answer = await read_json(session, node, f"/api/v1/ideas/{idea}")
    return bool(answer["supporters"] == expected)


async def votes_are(
    session: aiohttp.ClientSession, node: Node, proposal: str, expected: Json
) -> bool:
    """Whether the proposal's counts (for organisers) are ``expected``."""
    answer = await read_json(session, node, f"/api/v1/proposals/{proposal}/votes")
    counts = {str(c["option"]): c["votes"] for c in answer["counts"]}
    return all(counts.get(option, 0) == n for option, n in expected.items())


async def support(
    walk: Walk, node: Node, session: aiohttp.ClientSession, idea: str
) -> None:
    """Find the idea on /ideas, open it, support it: the count goes to one."""
    page = await walk.visit(f"{node.url}/ideas", "ideas")
    assert IDEA_TITLE in await main_text(page)
    await page.get_by_role("link", name=IDEA_TITLE).first.click()
    await page.wait_for_load_state("load")
    await walk.check("idea")
    await page.get_by_role("button", name="Support this idea").click()
    await page.wait_for_load_state("load")
    await walk.check("idea-supported")
    assert "You support this idea." in await main_text(page)
    await eventually(
        lambda: supporters_are(session, node, idea, 1), what="one supporter published"
    )


async def vote(walk: Walk, choice: str, button: str) -> None:
    """Choose ``choice`` in the proposal's vote form and send it."""
    await walk.page.get_by_label(choice, exact=True).check()
    await walk.page.get_by_role("button", name=button, exact=True).click()
    await walk.page.wait_for_load_state("load")


async def my_vote(page: Page) -> str:
    """What the proposal's page says of the member's vote."""
    return await page.locator("#proposal-vote .notice").inner_text()


async def vote_and_change(
    walk: Walk, node: Node, session: aiohttp.ClientSession, proposal: str
) -> None:
    """Vote yes with a reason, then change the vote to "not this year"."""
    page = await walk.visit(f"{node.url}/proposals/{proposal}", "proposal")
    assert PROPOSAL_TITLE in await main_text(page)
    await page.get_by_label("Your reason", exact=False).fill(REASON)
    await vote(walk, "Yes, run it", "Vote")
    await walk.check("proposal-voted")
    assert "You voted Yes, run it." in await my_vote(page)
    assert REASON in await my_vote(page)
    await eventually(
        lambda: votes_are(session, node, proposal, {"yes": 1, "no": 0}),
        what="the yes counted",
    )
    await vote(walk, "Not this year", "Change my vote")
    await walk.check("proposal-vote-changed")
    assert "You voted Not this year." in await my_vote(page)
    await eventually(
        lambda: votes_are(session, node, proposal, {"yes": 0, "no": 1}),
        what="the vote changed to no",
    )


async def pledged(session: aiohttp.ClientSession, node: Node, target: str) -> Json:
    """The target's public progress."""
    answer = await read_json(session, node, f"/api/v1/pledge-targets/{target}")
    progress: Json = answer["progress"]
    return progress


async def pledge_if_another(
    walk: Walk, node: Node, session: aiohttp.ClientSession, target: str
) -> None:
    """Pledge four hours if one other pledges: counted once the organiser does."""
    page = await walk.visit(f"{node.url}/pledges/{target}", "pledge-target")
    assert TARGET_TITLE in await main_text(page)
    await page.get_by_label("Hours", exact=True).fill("4")
    await page.get_by_label("Only if this many others pledge too").fill("1")
    await page.get_by_role("button", name="Pledge", exact=True).click()
    await page.wait_for_load_state("load")
    await walk.check("pledged-on-condition")
    mine = await page.locator("#pledge-mine .notice").inner_text()
    assert "only if 1 other pledge too" in mine, mine
    assert "It does not count yet" in mine, mine
    # Nobody else has pledged: the condition holds the pledge back.
    assert (await pledged(session, node, target))["pledgers"] == 0
    await call(
        session,
        node,
        "PUT",
        f"/api/v1/pledge-targets/{target}/pledge",
        {"hours": 2},
        expect=200,
    )

    async def both_count() -> bool:
        progress = await pledged(session, node, target)
        return bool(progress["pledgers"] == 2 and progress["total_hours"] == 6)

    await eventually(both_count, what="both pledges to count")
    await walk.until_shown(
        page.url,
        lambda p: shown_progress(p, 2),
        what="both pledges counted on the target's page",
    )
    await walk.check("pledge-counted")


async def nothing_private_published(session: aiohttp.ClientSession, node: Node) -> None:
    """The group's feed holds the counts, never the member's name or reason."""
    answer = await read_json(session, node, f"/api/v1/events?feed={node.feed}")
    types = {event["type"] for event in answer["events"]}
    assert {"idea.support_counted", "pledge.totals_reported"} <= types, types
    published = json.dumps(answer)
    for private in (DISPLAY_NAME, LOGIN, REASON):
        assert private not in published, private


async def shown_progress(page: Page, pledgers: int) -> bool:
    """Whether the target's page counts ``pledgers`` and the member's pledge."""
    progress = await page.locator("#pledge-progress").inner_text()
    mine = await page.locator("#pledge-mine .notice").inner_text()
    return f"from {pledgers} pledgers" in progress and "It counts" in mine


async def test_a_member_supports_an_idea_votes_and_pledges_on_the_pages(
    nodes: NodeFactory, session: aiohttp.ClientSession, walk: Walk
) -> None:
    node = nodes.init("home", group="Tredegar Tenants")
    await invited_member(session, node)
    idea, proposal, target = await scene(session, node)
    await member_logs_in(walk, node.url, LOGIN, PASSWORD)
    await support(walk, node, session, idea)
    await vote_and_change(walk, node, session, proposal)
    await pledge_if_another(walk, node, session, target)
    await nothing_private_published(session, node)


# --- a meeting's counts, live -----------------------------------------------------


async def yes_count(page: Page) -> str:
    """The yes count of the meeting's first date, as its page shows it."""
    cell = page.locator("#meeting-counts tbody tr").first.locator("td").first
    return (await cell.inner_text()).strip()


async def test_an_open_meeting_page_takes_in_new_counts_live(
    nodes: NodeFactory, session: aiohttp.ClientSession, walk: Walk
) -> None:
    node = nodes.init("home", group="Tredegar Tenants")
    hall = {"name": "Workmen's Hall, Tredegar", **TREDEGAR}
    met = await publish(
        session, node, "meeting.scheduled", meeting("Rent strike teach-in", hall, 3)
    )
    await eventually(
        lambda: api_has(session, node, f"/api/v1/meetings/{met}"),
        what="the meeting to be projected",
    )
    page = await walk.visit(f"{node.url}/meetings/{met}", "meeting-before")
    await page.evaluate("() => { window.stillTheSamePage = true; }")
    assert await yes_count(page) == "0"
    # The organiser answers by the API: the group publishes its new counts.
    await call(
        session,
        node,
        "PUT",
        f"/api/v1/meetings/{met}/rsvp",
        {"answer": "yes"},
        expect=200,
    )
    await page.wait_for_function(
        """() => {
            const cell = document.querySelector("#meeting-counts tbody tr td");
            return cell !== null && cell.innerText.trim() === "1";
        }""",
        timeout=WITHIN_SECONDS * 1000,
    )
    assert await page.evaluate("() => window.stillTheSamePage === true"), (
        "the meeting page was reloaded instead of updated"
    )
    await walk.check("meeting-live")
