"""The web pages, in-process: HTML, escaping, forms, CSRF, empty states, headers."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import orjson
import pytest

from node.web.keys import STREAMS
from node.web.render import PAGE_CSP
from protocol import Event, JsonObject, SigningKey, sign
from tests.http.conftest import Served
from tests.protocol.helpers import KEY_B, T0

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
HTML = {"Accept": "text/html"}
HOUR = 3_600_000
PASSWORD = "correct horse battery"  # noqa: S105 (a test account)


class Peer:
    """Another group's feed, its events stored as if synced."""

    def __init__(self, node: Served, key: SigningKey, name: str) -> None:
        self.node, self.key, self.head = node, key, None
        self.publish("group.profile_set", {"name": name, "area": name})

    def publish(self, event_type: str, body: JsonObject) -> Event:
        head: Event | None = self.head
        seq = 1 if head is None else head.seq + 1
        event = sign(self.key, head, T0 + seq * 1000, event_type, body)
        assert self.node.services.store.append([event])
        self.head = event  # type: ignore[assignment]
        return event


async def publish(node: Served, event_type: str, body: JsonObject) -> str:
    response = await node.client.post(
        "/api/v1/events",
        data=orjson.dumps({"type": event_type, "body": body}),
        headers=node.organiser,
    )
    assert response.status == 201, await response.text()
    return str((await response.json())["id"])


def soon(days: int = 3) -> int:
    return (int(time.time() * 1000) // HOUR + days * 24) * HOUR


def meeting(**changes: object) -> JsonObject:
    body: dict[str, Any] = {
        "title": "Tenants' meeting",
        "kind": "public_meeting",
        "starts_at": soon(),
        "ends_at": soon() + 2 * HOUR,
        "tz": "Europe/London",
        "place": {"name": "Workmen's Hall", "lat_e6": 51_776_000, "lon_e6": -3_087_000},
        "capacity": 40,
    }
    body.update(changes)
    return body


CAMPAIGN: JsonObject = {
    "title": "Save the Estate",
    "target": {"name": "Torfaen Council", "kind": "council"},
    "demands": ["No demolition without a ballot"],
}


async def html(node: Served, path: str, status: int = 200) -> str:
    await node.projected()
    response = await node.client.get(path, headers=HTML)
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == "text/html"
    return text


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


async def join(
    node: Served, name: str = "Gwen Member", login: str = "gwen", role: str = "member"
) -> None:
    """A member joins through an invite page and is logged in by the cookie jar."""
    invite = await node.client.post(
        "/api/v1/invites", data=orjson.dumps({"role": role}), headers=node.organiser
    )
    code = (await invite.json())["code"]
    form = await html(node, f"/join/{code}")
    response = await node.client.post(
        f"/invite/{code}",
        data={
            "csrf": csrf_of(form),
            "display_name": name,
            "login": login,
            "password": PASSWORD,
        },
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    assert response.headers["Location"] == "/me"
    cookie = response.cookies["tredegar_session"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


# --- layout, headers, empty states ------------------------------------------


@pytest.mark.parametrize(
    "path", ["/", "/network", "/meetings", "/campaigns", "/login", "/invite/abc"]
)
async def test_every_page_has_the_layout_and_headers(node: Served, path: str) -> None:
    await node.projected()
    response = await node.client.get(path, headers=HTML)
    page = await response.text()
    assert response.status == 200, page
    assert response.headers["Content-Security-Policy"] == PAGE_CSP
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert '<html lang="en">' in page
    assert page.count("<h1") == 1
    assert 'href="#main"' in page
    assert '<main id="main"' in page
    assert "Blaenavon Tenants" in page  # the group's name in the header
    assert "Log in" in page
    for field in re.findall(r'<input[^>]*id="([^"]+)"', page):
        assert f'for="{field}"' in page, f"no label for {field} on {path}"


async def test_empty_states_are_honest(node: Served) -> None:
    home = await html(node, "/")
    assert "No meetings in the next 90 days" in home
    assert "No live campaigns right now" in home
    assert "No other group" in home
    assert "No meetings in the next 90 days match" in await html(node, "/meetings")
    assert "No campaigns match" in await html(node, "/campaigns")


async def test_the_stylesheet_and_scripts_are_served(node: Served) -> None:
    for path in ("/static/style.css", "/static/live.js", "/static/near.js"):
        response = await node.client.get(path)
        assert response.status == 200, path


# --- escaping -----------------------------------------------------------------


async def test_hostile_text_from_another_feed_renders_as_text(node: Served) -> None:
    peer = Peer(node, KEY_B, HOSTILE)
    launched = peer.publish("campaign.launched", {**CAMPAIGN, "title": HOSTILE})
    held = peer.publish("meeting.scheduled", meeting(title=HOSTILE))
    for path in (
        "/",
        "/network",
        f"/groups/{KEY_B.feed}",
        "/meetings",
        f"/meetings/{held.id}",
        "/campaigns",
        f"/campaigns/{launched.id}",
    ):
        page = await html(node, path)
        assert HOSTILE not in page, path
        assert ESCAPED in page, path


# --- the directory ------------------------------------------------------------


async def test_the_network_page_finds_groups(node: Served) -> None:
    Peer(node, KEY_B, "Cwmbran Renters")
    page = await html(node, "/network?q=cwmbran")
    assert f'href="/groups/{KEY_B.feed}"' in page
    assert "Blaenavon Tenants" not in page.split("<main", 1)[1].split("Networks")[0]
    group = await html(node, f"/groups/{KEY_B.feed}")
    assert "Cwmbran Renters" in group
    assert f"/groups/{KEY_B.feed}/calendar.ics" in group


async def test_a_bad_search_keeps_what_was_typed(node: Served) -> None:
    page = await html(node, "/network?q=tenants&lat=91&lon=0", status=400)
    assert 'value="tenants"' in page
    assert "lat must be" in page
    unknown = await html(node, "/network?near=Nowhere-on-Sea", status=404)
    assert 'value="Nowhere-on-Sea"' in unknown
    assert 'role="alert"' in unknown


# --- meetings -----------------------------------------------------------------


async def test_a_meeting_is_listed_shown_and_added_to_a_calendar(
    node: Served,
) -> None:
    meeting_id = await publish(node, "meeting.scheduled", meeting())
    listing = await html(node, "/meetings")
    assert f'href="/meetings/{meeting_id}"' in listing
    page = await html(node, f"/meetings/{meeting_id}")
    assert "Workmen&#39;s Hall" in page
    assert "openstreetmap.org" in page
    assert "40 of 40 left" in page
    assert f'href="/login?next=/meetings/{meeting_id}"' in page  # visitors log in
    ics = await node.client.get(f"/meetings/{meeting_id}.ics")
    assert ics.status == 200
    assert ics.content_type == "text/calendar"
    calendar = await ics.text()
    assert f"UID:{meeting_id}@tredegar" in calendar
    assert calendar.count("BEGIN:VEVENT") == 1


async def test_meetings_filters_and_refusals(node: Served) -> None:
    await publish(node, "meeting.scheduled", meeting())
    await publish(node, "meeting.scheduled", meeting(title="Book club", kind="social"))
    page = await html(node, "/meetings?kind=social")
    assert "Book club" in page
    assert "Tenants&#39; meeting" not in page
    bad = await html(node, "/meetings?from=2026-13-40&q=books", status=400)
    assert 'value="books"' in bad
    assert 'aria-invalid="true"' in bad
    near = await html(node, "/meetings?lat=51.776&lon=-3.087&within_km=5")
    assert "Tenants&#39; meeting" in near
    assert "km away" in near


async def test_a_bad_meeting_id_is_malformed_and_an_unknown_one_not_found(
    node: Served,
) -> None:
    api = await node.client.get("/meetings/nope")
    assert api.status == 400
    assert api.content_type == "application/problem+json"
    assert (await api.json())["code"] == "malformed"
    page = await html(node, "/meetings/nope", status=400)
    assert page.count("<h1") == 1
    assert "malformed" in page
    unknown = "sha256:" + "A" * 43
    assert "Not found" in await html(node, f"/meetings/{unknown}", status=404)
    assert (await node.client.get(f"/meetings/{unknown}.ics")).status == 404
    assert "Not found" in await html(node, "/no-such-page", status=404)
    api = await node.client.get("/no-such-page")
    assert api.content_type == "application/problem+json"
    wrong = await node.client.put("/meetings", headers=HTML)
    assert wrong.status == 405
    assert wrong.content_type == "text/html"
    assert "GET" in wrong.headers["Allow"]


async def test_a_member_rsvps_with_the_form(node: Served) -> None:
    meeting_id = await publish(node, "meeting.scheduled", meeting())
    await join(node)
    page = await html(node, f"/meetings/{meeting_id}")
    path = f"/meetings/{meeting_id}/rsvp"
    forged = await node.client.post(
        path, data={"csrf": "forged", "answer": "yes"}, headers=HTML
    )
    assert forged.status == 403
    assert "CSRF" in await forged.text()
    await node.projected()
    assert "40 of 40 left" in await html(node, f"/meetings/{meeting_id}")
    sent = await node.client.post(
        path, data={"csrf": csrf_of(page), "answer": "yes"}, allow_redirects=False
    )
    assert sent.status == 303
    assert sent.headers["Location"] == f"/meetings/{meeting_id}"
    shown = await html(node, f"/meetings/{meeting_id}")
    assert "You said <strong>yes</strong>" in shown
    assert "Your answer is saved" in shown  # the flash message
    assert "39 of 40 left" in shown
    assert "Gwen Member" not in shown  # names stay private


async def test_a_visitor_cannot_rsvp(node: Served) -> None:
    meeting_id = await publish(node, "meeting.scheduled", meeting())
    await node.projected()
    response = await node.client.post(
        f"/meetings/{meeting_id}/rsvp", data={"answer": "yes"}, headers=HTML
    )
    text = await response.text()
    assert response.status == 401, text
    assert response.content_type == "text/html", text
    assert "Log in" in text


# --- campaigns ----------------------------------------------------------------


async def test_campaign_pages_and_redaction(node: Served) -> None:
    campaign_id = await publish(node, "campaign.launched", CAMPAIGN)
    update: JsonObject = {
        "campaign": campaign_id,
        "title": "Ballot won",
        "text": "We did it",
    }
    update_id = await publish(node, "campaign.updated", update)
    peer = Peer(node, KEY_B, "Cwmbran Renters")
    peer.publish("campaign.endorsed", {"campaign": campaign_id, "statement": "Yes!"})
    page = await html(node, f"/campaigns/{campaign_id}")
    assert "No demolition without a ballot" in page
    assert "We did it" in page
    assert "Cwmbran Renters" in page
    assert 'id="campaign-pledges"' in page
    assert "We did it" in await html(node, "/")  # latest updates
    assert "Save the Estate" in await html(node, "/campaigns?status=live")
    await publish(node, "event.redacted", {"id": update_id})
    assert "We did it" not in await html(node, f"/campaigns/{campaign_id}")
    assert "We did it" not in await html(node, "/")


# --- accounts -----------------------------------------------------------------


async def test_login_keeps_the_login_and_refuses_a_forged_form(node: Served) -> None:
    await join(node)
    await node.client.post("/logout", data={"csrf": csrf_of(await html(node, "/me"))})
    form = await html(node, "/login")
    wrong = await node.client.post(
        "/login",
        data={"csrf": csrf_of(form), "login": "gwen", "password": "not it at all"},
        headers=HTML,
    )
    text = await wrong.text()
    assert wrong.status == 401
    assert 'value="gwen"' in text
    assert "not it at all" not in text
    forged = await node.client.post(
        "/login", data={"csrf": "x", "login": "gwen", "password": PASSWORD}
    )
    assert forged.status == 403
    right = await node.client.post(
        "/login",
        data={
            "csrf": csrf_of(form),
            "login": "gwen",
            "password": PASSWORD,
            "next": "//evil.example/",
        },
        allow_redirects=False,
    )
    assert right.status == 303
    assert right.headers["Location"] == "/"
    assert "Gwen Member" in await html(node, "/me")


async def test_an_invite_form_keeps_what_was_typed(node: Served) -> None:
    invite = await node.client.post(
        "/api/v1/invites", data=b"{}", headers=node.organiser
    )
    code = (await invite.json())["code"]
    form = await html(node, f"/invite/{code}")
    response = await node.client.post(
        f"/invite/{code}",
        data={
            "csrf": csrf_of(form),
            "display_name": "Ifor <b>",
            "login": "ifor",
            "password": "short",
        },
    )
    page = await response.text()
    assert response.status == 422
    assert 'value="Ifor &lt;b&gt;"' in page
    assert 'value="ifor"' in page
    assert 'value="short"' not in page
    gone = await node.client.post(
        "/invite/unknown-code",
        data={
            "csrf": csrf_of(form),
            "display_name": "A",
            "login": "abc",
            "password": PASSWORD,
        },
    )
    assert gone.status == 404


async def test_my_data_export_and_erasure(node: Served) -> None:
    assert "Log in" in await html(node, "/me", status=401)
    await join(node)
    me = await html(node, "/me")
    assert "Gwen Member" in me
    export = await node.client.get("/me/export")
    assert export.status == 200
    assert "attachment" in export.headers["Content-Disposition"]
    assert (await export.json())["account"]["display_name"] == "Gwen Member"
    confirm = await html(node, "/me/erase")
    kept = await node.client.post(
        "/me/erase", data={"csrf": csrf_of(confirm), "confirm": "yes please"}
    )
    assert kept.status == 400
    assert 'value="yes please"' in await kept.text()
    erased = await node.client.post(
        "/me/erase",
        data={"csrf": csrf_of(confirm), "confirm": "Erase my account"},
        allow_redirects=False,
    )
    assert erased.status == 303
    assert "Your account and personal data are erased" in await html(node, "/")
    await html(node, "/me", status=401)


async def test_logout_needs_the_sessions_csrf(node: Served) -> None:
    await join(node)
    refused = await node.client.post("/logout", data={"csrf": "x"}, headers=HTML)
    assert refused.status == 403
    assert "Gwen Member" in await html(node, "/me")
    csrf = csrf_of(await html(node, "/me"))
    done = await node.client.post("/logout", data={"csrf": csrf}, allow_redirects=False)
    assert done.status == 303
    await html(node, "/me", status=401)


# --- live updates -------------------------------------------------------------


async def read_until(response: Any, marker: bytes) -> bytes:
    seen = b""
    while marker not in seen:
        chunk = await asyncio.wait_for(response.content.readany(), 5)
        assert chunk, seen
        seen += chunk
    return seen


async def test_the_stream_announces_new_events(node: Served) -> None:
    response = await node.client.get("/events/stream")
    assert response.status == 200
    assert response.content_type == "text/event-stream"
    await read_until(response, b"retry:")
    meeting_id = await publish(node, "meeting.scheduled", meeting())
    seen = await read_until(response, meeting_id.encode())
    line = seen.split(b"data: ", 1)[1].split(b"\n", 1)[0]
    notice = orjson.loads(line)
    assert notice == {
        "type": "meeting.scheduled",
        "id": meeting_id,
        "feed": node.services.key.feed,
    }
    response.close()


async def test_streams_are_bounded(node: Served) -> None:
    node.client.app[STREAMS].limit = 0
    response = await node.client.get("/events/stream")
    assert response.status == 429
    assert (await response.json())["code"] == "rate-limited"


async def test_the_stream_ends_on_shutdown(node: Served) -> None:
    response = await node.client.get("/events/stream")
    await read_until(response, b"retry:")
    await node.client.app[STREAMS].close()
    assert await asyncio.wait_for(response.content.read(), 5) == b""
    refused = await node.client.get("/events/stream")
    assert refused.status == 503


# --- organisers ---------------------------------------------------------------


async def test_only_organisers_make_invites_on_the_organise_page(
    node: Served,
) -> None:
    await html(node, "/organise", status=401)
    await join(node)
    assert "Organise" not in await html(node, "/organise", status=403)
    member_csrf = csrf_of(await html(node, "/me"))
    refused = await node.client.post(
        "/organise/invites", data={"csrf": member_csrf, "role": "organiser"}
    )
    assert refused.status == 403
    await join(node, "Owain Organiser", "owain", role="organiser")
    form = await html(node, "/organise")
    made = await node.client.post(
        "/organise/invites", data={"csrf": csrf_of(form), "max_uses": "3"}
    )
    page = await made.text()
    assert made.status == 201
    assert "/join/" in page
    assert "3 times" in page
    bad = await node.client.post(
        "/organise/invites", data={"csrf": csrf_of(form), "max_uses": "many"}
    )
    assert bad.status == 400
    assert 'value="many"' in await bad.text()


async def test_blocked_feeds_never_appear(node: Served) -> None:
    peer = Peer(node, KEY_B, "Blocked Renters")
    peer.publish("campaign.launched", {**CAMPAIGN, "title": "Blocked campaign"})
    peer.publish("meeting.scheduled", meeting(title="Blocked meeting"))
    assert "Blocked campaign" in await html(node, "/")
    node.services.store.federation.block(KEY_B.feed, "feed", now=1)
    for path in ("/", "/network", "/meetings", "/campaigns"):
        page = await html(node, path)
        assert "Blocked" not in page, path
    await html(node, f"/groups/{KEY_B.feed}", status=404)
