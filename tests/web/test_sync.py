"""Walks across sync: a campaign reaches a peer's pages; events arrive live.

Two real nodes peer with each other. An organiser of the first group launches
a campaign and posts an update; a visitor of the second node sees both on its
pages once sync has carried them; when the group redacts the update, it leaves
the pages of both nodes. And the home page, left open, shows a new event as
it is stored, through server-sent events, without being reloaded.
"""

from __future__ import annotations

import aiohttp
import pytest
from playwright.async_api import Page

from tests.network.cluster import init_nodes, start_nodes
from tests.network.conftest import Json, Node, NodeFactory
from tests.web.conftest import WITHIN_SECONDS, Walk, api_has, eventually, publish

UPDATE = "Forty households have signed the rent strike pledge."


def campaign() -> Json:
    """A tenants' campaign against a rent rise."""
    return {
        "title": "Stop the Ashvale rent rise",
        "target": {"name": "Tai Tredegar Housing", "kind": "landlord"},
        "demands": ["Freeze rents for 2027.", "Fix the damp in every flat."],
        "area": "Tredegar",
        "description": "The landlord wants 9% more for the same damp flats.",
    }


@pytest.fixture
async def pair(nodes: NodeFactory) -> tuple[Node, Node]:
    """Two running nodes that sync with each other every second."""
    first, second = await init_nodes(nodes, ["first", "second"])
    await start_nodes([(first, []), (second, ["--peer", first.url])])
    return first, second


async def shows(page: Page, text: str) -> bool:
    """Whether the page's main content has ``text``."""
    return text in await page.locator("main").inner_text()


async def test_a_campaign_reaches_the_second_node_and_a_redacted_update_leaves_both(
    pair: tuple[Node, Node], session: aiohttp.ClientSession, walk: Walk
) -> None:
    first, second = pair
    launched = await publish(session, first, "campaign.launched", campaign())
    title = campaign()["title"]
    await walk.until_shown(
        f"{second.url}/campaigns",
        lambda page: shows(page, title),
        what="the campaign on the second node",
    )
    await walk.check("second-campaigns")
    update = await publish(
        session, first, "campaign.updated", {"campaign": launched, "text": UPDATE}
    )
    for node, label in ((first, "first"), (second, "second")):
        await walk.until_shown(
            f"{node.url}/campaigns/{launched}",
            lambda page: shows(page, UPDATE),
            what=f"the update on the {label} node",
        )
        await walk.check(f"{label}-campaign-with-update")

    await publish(session, first, "event.redacted", {"id": update})
    for node, label in ((first, "first"), (second, "second")):
        await walk.until_shown(
            f"{node.url}/campaigns/{launched}",
            lambda page: shows_not(page, UPDATE),
            what=f"the redacted update to leave the {label} node",
        )
        await walk.check(f"{label}-campaign-after-redaction")
        assert UPDATE not in await walk.page.content()
        assert title in await walk.page.locator("main").inner_text()


async def shows_not(page: Page, text: str) -> bool:
    """Whether the page has answered and its main content lacks ``text``."""
    return not await shows(page, text)


async def test_the_home_page_shows_a_new_event_live(
    nodes: NodeFactory, session: aiohttp.ClientSession, walk: Walk
) -> None:
    node = nodes.init("home", group="Tredegar Tenants")
    page = await walk.visit(f"{node.url}/", "home")
    await page.evaluate("() => { window.stillTheSamePage = true; }")
    assert not await shows(page, campaign()["title"])
    launched = await publish(session, node, "campaign.launched", campaign())
    await eventually(
        lambda: api_has(session, node, f"/api/v1/campaigns/{launched}"),
        what="the campaign to be projected",
    )
    await page.get_by_text(campaign()["title"]).first.wait_for(
        timeout=WITHIN_SECONDS * 1000
    )
    assert await page.evaluate("() => window.stillTheSamePage === true"), (
        "the home page was reloaded instead of updated"
    )
    await walk.check("home-live")
