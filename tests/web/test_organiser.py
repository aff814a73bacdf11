"""An organiser's walk: log in on the web, publish a campaign, redact an update.

The first organiser of a node has no password until a reset link gives them
one (``tredegar init`` prints such a link; here the API makes it, with the
organiser token). They set it on the web, log in, and then do everything
through the organise pages: launch a campaign, which a visitor of a second
node sees once sync has carried it; post an update on it; and redact the
update, which then leaves the pages of both nodes.
"""

from __future__ import annotations

import re

import aiohttp
import pytest
from playwright.async_api import Page

from tests.network.cluster import init_nodes, start_nodes
from tests.network.conftest import Json, Node, NodeFactory
from tests.web.conftest import Walk, call, eventually

ORGANISER_LOGIN = "organiser"
ORGANISER_PASSWORD = "an injury to one is an injury to all"  # noqa: S105
TITLE = "Stop the Ashvale rent rise"
UPDATE = "Forty households have signed the rent strike pledge."


async def reset_link(session: aiohttp.ClientSession, node: Node) -> str:
    """A one-time link that sets the node's first organiser's password."""
    members = await call(session, node, "GET", "/api/v1/members", expect=200)
    (organiser,) = [m for m in members["members"] if m["role"] == "organiser"]
    made = await call(
        session, node, "POST", f"/api/v1/members/{organiser['id']}/reset", expect=201
    )
    return f"{node.url}/reset/{made['code']}"


async def organiser_logs_in(
    walk: Walk,
    session: aiohttp.ClientSession,
    node: Node,
    *,
    login: str = ORGANISER_LOGIN,
) -> None:
    """Set the first organiser's login and password by a reset link, log in."""
    page = await walk.visit(await reset_link(session, node), "set-password")
    await page.get_by_label("Login name", exact=False).fill(login)
    await page.get_by_label("New password").fill(ORGANISER_PASSWORD)
    await page.get_by_role("button", name="Set my password").click()
    await page.wait_for_load_state("load")
    await walk.check("password-set")
    await page.get_by_label("Login name").fill(login)
    await page.get_by_label("Password").fill(ORGANISER_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_load_state("load")
    assert await page.get_by_role("link", name="Organise").count() == 1, page.url


@pytest.fixture
async def pair(nodes: NodeFactory) -> tuple[Node, Node]:
    """Two running nodes that sync with each other every second."""
    first, second = await init_nodes(nodes, ["first", "second"])
    await start_nodes([(first, []), (second, ["--peer", first.url])])
    return first, second


async def main_text(page: Page) -> str:
    """The text of the page's main content."""
    return await page.locator("main").inner_text()


async def shows(page: Page, text: str) -> bool:
    """Whether the page's main content has ``text``."""
    return text in await main_text(page)


async def shows_not(page: Page, text: str) -> bool:
    """Whether the page's main content lacks ``text``."""
    return text not in await main_text(page)


async def own_campaign(session: aiohttp.ClientSession, node: Node) -> Json | None:
    """The campaign the walk launched, as the node's API has it (or None)."""
    answer = await call(
        session, node, "GET", f"/api/v1/campaigns?feed={node.feed}", expect=200
    )
    found = [c for c in answer["campaigns"] if c["title"] == TITLE]
    return found[0] if found else None


async def publishing_form(walk: Walk, node: Node, heading: str, label: str) -> Page:
    """Open the publishing forms and follow the link to the one called ``heading``."""
    page = await walk.visit(f"{node.url}/organise/publish", "organise-publish")
    await page.get_by_role("link", name=heading).click()
    await page.wait_for_load_state("load")
    await walk.check(label)
    return page


async def send(walk: Walk, label: str) -> None:
    """Send the publishing form; the page says it is published."""
    await walk.page.get_by_role("button", name="Publish", exact=True).click()
    await walk.page.wait_for_load_state("load")
    problems = await walk.page.locator("main .problem").all_inner_texts()
    assert not problems, problems
    await walk.check(label)


async def launch(walk: Walk, node: Node) -> None:
    """Fill in and send the organise page's "launch a campaign" form."""
    page = await publishing_form(walk, node, "Launch a campaign", "campaign-form")
    await page.get_by_label("Title").fill(TITLE)
    await page.get_by_label("Who it is aimed at").fill("Tai Tredegar Housing")
    await page.get_by_label("Demands").fill(
        "Freeze rents for 2027.\nFix the damp in every flat."
    )
    await page.get_by_label("Area").fill("Tredegar")
    await send(walk, "campaign-launched")


async def post_update(walk: Walk, node: Node) -> None:
    """Post an update on the campaign through the organise page's form."""
    page = await publishing_form(walk, node, "Post a campaign update", "update-form")
    await page.get_by_label("Campaign").select_option(label=TITLE)
    await page.get_by_label("The update").fill(UPDATE)
    await send(walk, "update-posted")


async def redact_update(walk: Walk, node: Node) -> None:
    """Find the update among the group's events and redact it, confirming."""
    page = await walk.visit(f"{node.url}/organise/redact", "organise-redact")
    row = page.locator("tbody tr").filter(has_text=UPDATE).first
    await row.get_by_role("link", name=re.compile("^Redact")).click()
    await page.wait_for_load_state("load")
    await walk.check("redact-confirm")
    await page.get_by_label(re.compile("^Why")).fill("Posted before the vote.")
    await page.get_by_role("button", name="Redact it").click()
    await page.wait_for_load_state("load")
    await walk.check("redacted")
    row = page.locator("tbody tr").filter(has_text="campaign.updated").first
    assert UPDATE not in await page.locator("main").inner_text()
    assert "redacted" in await row.inner_text()


async def test_an_organiser_publishes_a_campaign_and_redacts_an_update_on_the_pages(
    pair: tuple[Node, Node], session: aiohttp.ClientSession, walk: Walk
) -> None:
    first, second = pair
    await organiser_logs_in(walk, session, first)
    await walk.visit(f"{first.url}/organise", "organise")

    await launch(walk, first)
    await eventually(
        lambda: has_campaign(session, first), what="the campaign in the first's API"
    )
    campaign = await own_campaign(session, first)
    assert campaign is not None
    await walk.until_shown(
        f"{second.url}/campaigns",
        lambda page: shows(page, TITLE),
        what="the campaign on the second node",
    )
    await walk.check("second-campaigns")

    await post_update(walk, first)
    for node, label in ((first, "first"), (second, "second")):
        await walk.until_shown(
            f"{node.url}/campaigns/{campaign['id']}",
            lambda page: shows(page, UPDATE),
            what=f"the update on the {label} node",
        )
        await walk.check(f"{label}-campaign-with-update")

    await redact_update(walk, first)
    for node, label in ((first, "first"), (second, "second")):
        await walk.until_shown(
            f"{node.url}/campaigns/{campaign['id']}",
            lambda page: shows_not(page, UPDATE),
            what=f"the redacted update to leave the {label} node",
        )
        await walk.check(f"{label}-campaign-after-redaction")
        assert UPDATE not in await walk.page.content()
        assert TITLE in await main_text(walk.page)


async def has_campaign(session: aiohttp.ClientSession, node: Node) -> bool:
    """Whether the node's API lists the walk's campaign."""
    return await own_campaign(session, node) is not None
