"""A member's walk: accept an invite, log in, answer a meeting's RSVP.

The organiser makes the invite through the API (as a script would); the new
member does everything else in the browser: joins, logs out and in again,
and says whether they are coming. The counts on the meeting's page follow
their answers once the group has published them.
"""

from __future__ import annotations

import aiohttp
from playwright.async_api import Page

from tests.network.conftest import NodeFactory
from tests.web.conftest import Walk, api_has, call, eventually, publish
from tests.web.test_visitor import TREDEGAR, meeting

LOGIN = "ffionbevan"
PASSWORD = "the rent is too damn high"  # noqa: S105
DISPLAY_NAME = "Ffion Bevan"


async def counts(page: Page) -> tuple[str, str, str]:
    """The yes, maybe and no counts of the meeting's (first) date on its page."""
    cells = page.locator("#meeting-counts tbody tr").first.locator("td")
    yes, maybe, no = [(await cells.nth(n).inner_text()).strip() for n in range(3)]
    return yes, maybe, no


async def answer(walk: Walk, choice: str) -> None:
    """Choose ``choice`` (Yes, Maybe, No) in the RSVP form and send it."""
    await walk.page.get_by_label(choice, exact=True).check()
    await walk.page.get_by_role("button", name="Send my answer").click()
    await walk.page.wait_for_load_state("load")


async def log_in(walk: Walk, url: str) -> None:
    """Log in on the login page at ``url`` as the new member."""
    page = await walk.visit(url, "login")
    await page.get_by_label("Login name").fill(LOGIN)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_load_state("load")


async def test_an_invited_member_accepts_logs_in_and_rsvps(
    nodes: NodeFactory, session: aiohttp.ClientSession, walk: Walk
) -> None:
    node = nodes.init("home", group="Tredegar Tenants")
    hall = {"name": "Workmen's Hall, Tredegar", **TREDEGAR}
    body = {**meeting("Rent strike teach-in", hall, 3), "capacity": 40}
    met = await publish(session, node, "meeting.scheduled", body)
    invite = await call(session, node, "POST", "/api/v1/invites", {}, expect=201)
    await eventually(
        lambda: api_has(session, node, f"/api/v1/meetings/{met}"),
        what="the meeting to be projected",
    )

    page = await walk.visit(f"{node.url}/invite/{invite['code']}", "invite")
    await page.get_by_label("Your name, as the group sees it").fill(DISPLAY_NAME)
    await page.get_by_label("Login name").fill(LOGIN)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Join").click()
    await page.wait_for_load_state("load")
    await walk.check("joined")
    await page.get_by_role("button", name="Log out").click()
    await page.wait_for_load_state("load")
    assert await page.get_by_role("link", name="Log in").count() == 1

    await log_in(walk, f"{node.url}/login")
    await walk.check("logged-in")
    assert await page.get_by_role("button", name="Log out").count() == 1
    await walk.visit(f"{node.url}/me", "my-data")
    assert DISPLAY_NAME in await page.locator("main").inner_text()

    url = f"{node.url}/meetings/{met}"
    await walk.visit(url, "meeting-before-rsvp")
    assert await counts(page) == ("0", "0", "0")
    await answer(walk, "Yes")
    assert "You said yes" in await page.locator("main").inner_text()
    await walk.until_shown(
        url, lambda p: has_counts(p, ("1", "0", "0")), what="one yes on the page"
    )
    await walk.check("meeting-after-rsvp")
    await answer(walk, "Maybe")
    await walk.until_shown(
        url, lambda p: has_counts(p, ("0", "1", "0")), what="the yes become a maybe"
    )


async def has_counts(page: Page, expected: tuple[str, str, str]) -> bool:
    """Whether the meeting page shows ``expected`` yes, maybe and no counts."""
    return await counts(page) == expected
