"""A visitor's walks: a meeting near a place, the keyboard, hostile text.

A visitor has no account: they look for a meeting near a place, open it and
add it to their calendar; they move through the pages with the keyboard; and
what another group wrote reaches them as text, never as markup or script.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import icalendar
import pytest
from playwright.async_api import Page

from tests.network.cluster import init_nodes, start_nodes
from tests.network.conftest import Json, Node, NodeFactory
from tests.web.conftest import Walk, api_has, eventually, publish

LONDON = ZoneInfo("Europe/London")
#: Tredegar's town centre, in micro-degrees.
TREDEGAR = {"lat_e6": 51_772_510, "lon_e6": -3_246_790}
#: Glasgow: far from Tredegar.
GLASGOW = {"lat_e6": 55_864_240, "lon_e6": -4_251_810}
#: A group name that would run script if a page put it out unescaped.
HOSTILE = '<script>alert("name")</script><img src=x onerror=alert("img")>'
#: A meeting title that would run script too.
HOSTILE_TITLE = '"><svg onload=alert("title")> Rent strike'


def local_ms(day: date, hour: int) -> int:
    """Milliseconds since the epoch of ``hour``:00 in London on ``day``."""
    return int(datetime.combine(day, time(hour), tzinfo=LONDON).timestamp()) * 1000


def meeting(title: str, where: Json, days: int) -> Json:
    """A public meeting ``days`` from today, 19:00 to 21:00 London time."""
    day = datetime.now(LONDON).date() + timedelta(days=days)
    return {
        "title": title,
        "kind": "public_meeting",
        "starts_at": local_ms(day, 19),
        "ends_at": local_ms(day, 21),
        "tz": "Europe/London",
        "place": where,
        "description": "Bring a neighbour. Tea and Welsh cakes.",
    }


async def based_in_tredegar(session: aiohttp.ClientSession, node: Node) -> None:
    """Give the node's group a base in Tredegar (so "Tredegar" is a place here)."""
    profile = {
        "name": "Tredegar Tenants",
        "area": "Tredegar",
        "place": {"name": "Tredegar", **TREDEGAR},
    }
    await publish(session, node, "group.profile_set", profile)


async def test_a_visitor_finds_a_meeting_near_a_place_and_adds_it_to_a_calendar(
    nodes: NodeFactory, session: aiohttp.ClientSession, walk: Walk
) -> None:
    node = nodes.init("home", group="Tredegar Tenants")
    await based_in_tredegar(session, node)
    hall = {"name": "Workmen's Hall, Tredegar", **TREDEGAR}
    near = await publish(
        session, node, "meeting.scheduled", meeting("Rent strike teach-in", hall, 3)
    )
    far_place = {"name": "Govanhill Baths, Glasgow", **GLASGOW}
    far = await publish(
        session, node, "meeting.scheduled", meeting("Glasgow baths rally", far_place, 4)
    )
    await eventually(
        lambda: api_has(session, node, f"/api/v1/meetings/{far}"),
        what="the meetings to be projected",
    )

    page = await walk.visit(f"{node.url}/meetings", "meetings")
    field = page.get_by_label("Near a place", exact=True)
    await field.fill("Tredegar")
    await field.press("Enter")
    await page.wait_for_load_state("load")
    await walk.check("meetings-near-tredegar")
    assert await page.get_by_text("Rent strike teach-in").count() >= 1
    assert await page.get_by_text("Glasgow baths rally").count() == 0

    await page.get_by_role("link", name=re.compile("Rent strike teach-in")).click()
    await page.wait_for_url(re.compile(re.escape(near.split(":")[1])))
    await walk.check("meeting")
    await expect_map_link(page)
    link = page.locator('a[href$=".ics"]').first
    async with page.expect_download() as downloading:
        await link.click()
    download = await downloading.value
    path = await download.path()
    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    events = list(calendar.walk("VEVENT"))
    assert {str(event["UID"]) for event in events} >= {f"{near}@tredegar"}
    assert "Rent strike teach-in" in {str(event["SUMMARY"]) for event in events}


async def expect_map_link(page: Page) -> None:
    """The meeting page links to OpenStreetMap at the meeting's coordinates."""
    link = page.locator('a[href*="openstreetmap.org"]').first
    href = await link.get_attribute("href")
    assert href is not None
    assert "51.77251" in href, href
    assert "-3.24679" in href, href


@pytest.mark.without_csp
async def test_a_hostile_group_name_from_another_feed_renders_as_text(
    nodes: NodeFactory, session: aiohttp.ClientSession, walk: Walk
) -> None:
    # The browser ignores the pages' CSP here: escaping alone must hold.
    home, other = await init_nodes(nodes, ["home", "other"])
    await start_nodes([(home, []), (other, ["--peer", home.url])])
    await publish(session, other, "group.profile_set", {"name": HOSTILE})
    where = {"name": HOSTILE, **TREDEGAR}
    met = await publish(
        session, other, "meeting.scheduled", meeting(HOSTILE_TITLE, where, 2)
    )

    async def arrived() -> bool:
        async with session.get(f"{home.url}/api/v1/groups/{other.feed}") as response:
            named = response.status == 200 and (await response.json())["name"]
        return named == HOSTILE and await api_has(
            session, home, f"/api/v1/meetings/{met}"
        )

    await eventually(arrived, what="the hostile group and meeting on the home node")
    for path, label, text in (
        ("/", "home", HOSTILE),
        ("/network", "network", HOSTILE),
        (f"/groups/{other.feed}", "hostile-group", HOSTILE),
        (f"/meetings/{met}", "hostile-meeting", HOSTILE_TITLE),
    ):
        page = await walk.visit(f"{home.url}{path}", label)
        assert text in await page.locator("main").inner_text(), path
        assert await page.locator("main script, main img").count() == 0, path
    assert walk.dialogs == [], walk.dialogs


async def focused(page: Page) -> Json:
    """What has the keyboard focus: its tag, name, label, and whether in nav."""
    described: Json = await page.evaluate(
        """() => {
            const el = document.activeElement;
            const label = el.labels && el.labels.length ? el.labels[0].innerText : "";
            return {
                tag: el.tagName.toLowerCase(),
                type: el.getAttribute("type") || "",
                name: el.getAttribute("name") || "",
                text: (el.innerText || "").trim(),
                label: label.trim(),
                in_nav: el.closest("nav") !== null,
                href: el.getAttribute("href") || "",
            };
        }"""
    )
    return described


async def tab_until_submit(page: Page) -> list[Json]:
    """Press Tab from where the focus is until a submit button has it."""
    seen: list[Json] = []
    for _ in range(40):
        await page.keyboard.press("Tab")
        seen.append(await focused(page))
        if seen[-1]["tag"] == "button" or seen[-1]["type"] == "submit":
            return seen
    pytest.fail(f"Tab never reached a submit button: {seen}")


async def test_the_keyboard_reaches_the_nav_and_the_login_form_in_order(
    nodes: NodeFactory, walk: Walk
) -> None:
    node = nodes.init("home", group="Tredegar Tenants")
    page = await walk.visit(f"{node.url}/login", "login")
    seen = await tab_until_submit(page)
    assert seen[0]["href"] == "#main", f"the first stop is not the skip link: {seen}"
    nav = [stop["text"] for stop in seen if stop["in_nav"]]
    assert nav == [
        "Home",
        "Network",
        "Meetings",
        "Campaigns",
        "Ideas",
        "Know-how",
        "Mutual aid",
        "Log in",
    ], seen
    last_nav = max(n for n, stop in enumerate(seen) if stop["in_nav"])
    form = [stop["name"] or stop["text"] for stop in seen[last_nav + 1 :]]
    assert form == ["login", "password", "Log in"], seen

    # The skip link takes the focus past the header, straight to the form.
    await page.reload()
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    assert await page.evaluate("() => document.activeElement.id") == "main"
    assert [stop["name"] or stop["text"] for stop in await tab_until_submit(page)] == [
        "login",
        "password",
        "Log in",
    ]
