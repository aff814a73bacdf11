"""The organisers' pages, in-process: permissions, CSRF, round trips, escaping."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from node.web.render import PAGE_CSP
from protocol import sign
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
    publish,
)
from tests.protocol.helpers import KEY_B, T0

PAGES = [
    "/organise",
    "/organise/members",
    "/organise/one-to-ones",
    "/organise/cases",
    "/organise/activity",
    "/organise/publish",
    "/organise/publish/meeting",
    "/organise/publish/campaign",
    "/organise/publish/update",
    "/organise/publish/guide",
    "/organise/publish/need",
    "/organise/publish/offer",
    "/organise/publish/question",
    "/organise/publish/any",
    "/organise/redact",
    "/organise/peers",
]
FORMS = [
    "/organise/invites",
    "/organise/invites/abcdef012345/revoke",
    "/organise/members/00000000-0000-0000-0000-000000000000/role",
    "/organise/members/00000000-0000-0000-0000-000000000000/remove",
    "/organise/members/00000000-0000-0000-0000-000000000000/reset",
    "/organise/one-to-ones",
    "/organise/one-to-ones/00000000-0000-0000-0000-000000000000/follow-ups",
    "/organise/cases",
    "/organise/cases/00000000-0000-0000-0000-000000000000/actions",
    "/organise/cases/00000000-0000-0000-0000-000000000000/close",
    "/organise/activity",
    "/organise/publish/guide",
    "/organise/publish/any",
    "/organise/redact/sha256:" + "A" * 43,
    "/organise/peers/add",
    "/organise/peers/block",
    "/organise/peers/unblock",
]


async def organiser(node: Served) -> str:
    """Sign in as an organiser; the CSRF token its forms carry."""
    await join(node, "Owain Organiser", "owain", role="organiser")
    return csrf_of(await html(node, "/organise"))


async def post(
    node: Served, path: str, fields: dict[str, str], status: int = 303
) -> Any:
    response = await node.client.post(
        path, data=fields, headers=HTML, allow_redirects=False
    )
    text = await response.text()
    assert response.status == status, text
    return response


async def api(node: Served, path: str) -> Any:
    await node.projected()
    response = await node.client.get(path, headers=node.organiser)
    assert response.status == 200, await response.text()
    return await response.json()


async def head_seq(node: Served) -> int:
    return int((await api(node, "/health"))["seq"])


# --- who may use them ------------------------------------------------------------


async def test_visitors_are_asked_to_log_in_and_members_refused(node: Served) -> None:
    for path in PAGES:
        await html(node, path, status=401)
    await join(node)
    for path in PAGES:
        page = await html(node, path, status=403)
        assert "only the group&#39;s organisers" in page, path


@pytest.mark.parametrize("path", PAGES)
async def test_every_organiser_page_has_the_layout(node: Served, path: str) -> None:
    await organiser(node)
    response = await node.client.get(path, headers=HTML)
    page = await response.text()
    assert response.status == 200, page
    assert response.headers["Content-Security-Policy"] == PAGE_CSP
    assert page.count("<h1") == 1
    assert 'aria-label="Organiser tools"' in page
    for field in re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page):
        assert f'for="{field}"' in page, f"no label for {field} on {path}"
    for form in re.findall(r'<form method="post".*?</form>', page, re.S):
        assert 'name="csrf"' in form, path


async def test_every_form_refuses_a_forged_token_and_changes_nothing(
    node: Served,
) -> None:
    await organiser(node)
    before = await head_seq(node)
    members = await api(node, "/api/v1/members")
    for path in FORMS:
        fields = {"csrf": "forged", "title": "x", "type": "guide.published"}
        response = await post(node, path, fields, status=403)
        assert response.content_type == "text/html"
    for path in FORMS[:3]:  # without any token
        await post(node, path, {"role": "organiser"}, status=403)
    assert await head_seq(node) == before
    assert await api(node, "/api/v1/members") == members


async def test_a_member_cannot_send_the_forms(node: Served) -> None:
    await join(node)
    csrf = csrf_of(await html(node, "/me"))
    before = await head_seq(node)
    for path in FORMS:
        await post(node, path, {"csrf": csrf, "title": "x"}, status=403)
    assert await head_seq(node) == before


# --- invites and members -----------------------------------------------------------


async def test_invites_are_made_listed_and_revoked(node: Served) -> None:
    csrf = await organiser(node)
    made = await post(node, "/organise/invites", {"csrf": csrf}, status=201)
    assert "/join/" in await made.text()
    invites = (await api(node, "/api/v1/invites"))["invites"]
    live = [i for i in invites if i["revoked_at"] is None and i["uses_left"]]
    page = await html(node, "/organise")
    for invite in live:
        assert f"/organise/invites/{invite['invite_id']}/revoke" in page
    target = live[-1]["invite_id"]
    done = await post(
        node, f"/organise/invites/{target}/revoke", {"csrf": csrf}, status=303
    )
    assert done.headers["Location"] == "/organise?done=invite-revoked"
    assert "The invite is revoked" in await html(node, done.headers["Location"])
    after = {i["invite_id"]: i for i in (await api(node, "/api/v1/invites"))["invites"]}
    assert after[target]["revoked_at"] is not None
    assert f"/organise/invites/{target}/revoke" not in await html(node, "/organise")
    await post(node, "/organise/invites/nope/revoke", {"csrf": csrf}, status=404)


async def member_id(node: Served, login: str) -> str:
    members = (await api(node, "/api/v1/members"))["members"]
    return next(str(m["id"]) for m in members if m["login"] == login)


async def test_roles_password_links_and_removal(node: Served) -> None:
    await join(node, "Gwen <b>Member</b>", "gwen")
    csrf = await organiser(node)
    gwen = await member_id(node, "gwen")
    page = await html(node, "/organise/members")
    assert "Gwen &lt;b&gt;Member&lt;/b&gt;" in page
    assert "<b>Member</b>" not in page
    base = f"/organise/members/{gwen}"
    await post(node, f"{base}/role", {"csrf": csrf, "role": "organiser"})
    members = (await api(node, "/api/v1/members"))["members"]
    assert {m["login"]: m["role"] for m in members}["gwen"] == "organiser"
    bad = await post(node, f"{base}/role", {"csrf": csrf, "role": "boss"}, status=400)
    assert "role must be one of" in await bad.text()
    link = await post(node, f"{base}/reset", {"csrf": csrf}, status=201)
    assert "/reset/" in await link.text()
    kept = await post(node, f"{base}/remove", {"csrf": csrf}, status=400)
    assert "tick the box" in await kept.text()
    assert await member_id(node, "gwen") == gwen
    await post(node, f"{base}/remove", {"csrf": csrf, "confirm": "yes"})
    logins = [m["login"] for m in (await api(node, "/api/v1/members"))["members"]]
    assert "gwen" not in logins
    await post(node, f"{base}/remove", {"csrf": csrf, "confirm": "yes"}, status=404)


# --- 1-to-1s, cases and the activity report ------------------------------------------


async def test_a_one_to_one_is_recorded_and_followed_up(node: Served) -> None:
    csrf = await organiser(node)
    refused = await post(
        node,
        "/organise/one-to-ones",
        {"csrf": csrf, "person": "", "notes": "Keeps bees"},
        status=422,
    )
    assert "Keeps bees" in await refused.text()
    made = await post(
        node,
        "/organise/one-to-ones",
        {
            "csrf": csrf,
            "person": "Dai <i>Bevan</i>",
            "held_on": "2026-02-03",
            "interests": "buses, the library",
            "follow_up": "Invite to the tenants' meeting",
        },
    )
    location = made.headers["Location"]
    page = await html(node, location)
    assert "Dai &lt;i&gt;Bevan&lt;/i&gt;" in page
    held = (await api(node, "/api/v1/one-to-ones"))["one_to_ones"][0]
    assert held["interests"] == ["buses", "the library"]
    assert held["held_at"] == 1_770_076_800_000  # 2026-02-03
    path = location.split("?")[0] + "/follow-ups"
    await post(node, path, {"csrf": csrf, "text": "Lend the rent guide"})
    await post(node, path, {"csrf": csrf, "number": "1"})
    held = (await api(node, "/api/v1/one-to-ones"))["one_to_ones"][0]
    assert [f["done"] for f in held["follow_ups"]] == [True, False]
    assert "Dai" in await html(node, "/organise/one-to-ones?q=bevan")


async def test_a_case_is_opened_acted_on_and_closed(node: Served) -> None:
    csrf = await organiser(node)
    made = await post(
        node,
        "/organise/cases",
        {"csrf": csrf, "person": "Mrs Price", "problem": "Damp", "category": "housing"},
    )
    base = made.headers["Location"].split("?")[0]
    await post(node, f"{base}/actions", {"csrf": csrf, "text": "Wrote to landlord"})
    refused = await post(
        node, f"{base}/close", {"csrf": csrf, "outcome": " "}, status=422
    )
    assert "outcome" in await refused.text()
    await post(node, f"{base}/close", {"csrf": csrf, "outcome": "Fixed <em>now</em>"})
    case = (await api(node, "/api/v1/cases"))["cases"][0]
    assert case["status"] == "closed"
    assert [a["text"] for a in case["actions"]] == ["Wrote to landlord"]
    page = await html(node, base)
    assert "Fixed &lt;em&gt;now&lt;/em&gt;" in page
    assert "Mrs Price" in await html(node, "/organise/cases?status=closed")
    assert "No case matches" in await html(node, "/organise/cases?status=open")
    await post(node, f"{base}/reopen", {"csrf": csrf})
    assert (await api(node, "/api/v1/cases"))["cases"][0]["status"] == "open"
    await html(node, "/organise/cases/not-a-case", status=404)


async def test_the_activity_report_publishes_exactly_what_was_shown(
    node: Served,
) -> None:
    csrf = await organiser(node)
    preview = await html(node, "/organise/activity")
    fields = dict(
        re.findall(r'type="hidden" name="([a-z_]+)" value="([^"]*)"', preview)
    )
    assert int(fields["ends_at"]) - int(fields["starts_at"]) == 30 * 86_400_000
    assert fields["members"] == "2"  # the first organiser and Owain
    stale = {**fields, "csrf": csrf, "members": "7"}
    changed = await post(node, "/organise/activity", stale, status=409)
    assert "changed meanwhile" in await changed.text()
    before = await head_seq(node)
    assert await head_seq(node) == before
    await post(node, "/organise/activity", {**fields, "csrf": csrf})
    feed = node.services.key.feed
    reports = (await api(node, f"/api/v1/groups/{feed}/activity"))["reports"]
    assert reports[0]["members"] == 2
    assert reports[0]["starts_at"] == int(fields["starts_at"])
    bad = await html(node, "/organise/activity?from=2026-02-01&to=2026-01-01", 400)
    assert 'aria-invalid="true"' in bad


# --- publishing --------------------------------------------------------------------


def london(text: str) -> int:
    moment = datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Europe/London"))
    return int(moment.timestamp() * 1000)


MEETING = {
    "title": "Advice surgery",
    "kind": "advice_surgery",
    "starts": "2026-07-07T18:30",
    "ends": "2026-07-07T20:00",
    "tz": "Europe/London",
    "recurrence": "monthly_weekday",
    "place": "Workmen's Hall",
    "lat": "51.776",
    "lon": "-3.087",
    "capacity": "30",
    "online_url": "",
}


async def published_id(response: Any) -> str:
    location = response.headers["Location"]
    found = re.search(r"event=(sha256:[A-Za-z0-9_-]{43})", location)
    assert found is not None, location
    return found.group(1)


async def test_a_meeting_is_published_in_the_groups_local_time(node: Served) -> None:
    csrf = await organiser(node)
    form = await html(node, "/organise/publish/meeting")
    assert 'value="Europe/London"' in form
    made = await post(node, "/organise/publish/meeting", {**MEETING, "csrf": csrf})
    event_id = await published_id(made)
    assert event_id in await html(node, made.headers["Location"])
    held = await api(node, f"/api/v1/events/{event_id}")
    body = held["body"]
    assert body["starts_at"] == london("2026-07-07T18:30")  # BST, UTC+1
    assert body["recurrence"] == {"freq": "monthly", "by_day": ["1TU"]}
    assert body["place"] == {
        "name": "Workmen's Hall",
        "lat_e6": 51_776_000,
        "lon_e6": -3_087_000,
    }
    assert body["capacity"] == 30
    assert "online_url" not in body


async def test_a_refused_meeting_keeps_what_was_typed(node: Served) -> None:
    csrf = await organiser(node)
    before = await head_seq(node)
    backwards = {**MEETING, "csrf": csrf, "ends": "2026-07-07T17:00"}
    page = await (await post(node, "/organise/publish/meeting", backwards, 400)).text()
    assert 'value="Advice surgery"' in page
    assert 'id="ends"' in page
    assert 'aria-invalid="true"' in page
    hostile = {**MEETING, "csrf": csrf, "title": HOSTILE, "kind": "rave"}
    page = await (await post(node, "/organise/publish/meeting", hostile, 422)).text()
    assert ESCAPED in page
    assert HOSTILE not in page
    assert 'aria-describedby="kind-problem"' in page
    zone = {**MEETING, "csrf": csrf, "tz": "Mars/Olympus"}
    page = await (await post(node, "/organise/publish/meeting", zone, 400)).text()
    assert "time zone" in page
    assert await head_seq(node) == before


async def test_a_campaign_and_its_update(node: Served) -> None:
    csrf = await organiser(node)
    fields = {
        "csrf": csrf,
        "title": "Save the Estate",
        "target_name": "Torfaen Council",
        "target_kind": "council",
        "demands": "No demolition\r\n\r\nA ballot first\n",
        "area": "Pontypool",
    }
    launched = await published_id(
        await post(node, "/organise/publish/campaign", fields)
    )
    campaign = await api(node, f"/api/v1/campaigns/{launched}")
    assert campaign["demands"] == ["No demolition", "A ballot first"]
    form = await html(node, "/organise/publish/update")
    assert f'value="{launched}"' in form
    update = {"csrf": csrf, "campaign": launched, "text": "Forty signed"}
    await post(node, "/organise/publish/update", update)
    campaign = await api(node, f"/api/v1/campaigns/{launched}")
    assert [u["text"] for u in campaign["updates"]] == ["Forty signed"]
    empty = {**fields, "demands": ""}
    page = await (await post(node, "/organise/publish/campaign", empty, 422)).text()
    assert 'id="demands"' in page
    assert 'aria-describedby="demands-hint demands-problem"' in page


COMMON = [
    ("guide", {"title": "Street stalls", "text": "Bring a table."}, "guide.published"),
    (
        "need",
        {"title": "Lifts to the food bank", "category": "transport"},
        "need.posted",
    ),
    (
        "offer",
        {"title": "Cots", "category": "goods", "place": "Blaenavon"},
        "offer.posted",
    ),
    (
        "question",
        {"title": "How to ballot?", "tags": "housing, ballot"},
        "question.asked",
    ),
]


@pytest.mark.parametrize(("kind", "fields", "event_type"), COMMON)
async def test_the_common_forms_publish(
    node: Served, kind: str, fields: dict[str, str], event_type: str
) -> None:
    csrf = await organiser(node)
    event_id = await published_id(
        await post(node, f"/organise/publish/{kind}", {**fields, "csrf": csrf})
    )
    held = await api(node, f"/api/v1/events/{event_id}")
    assert held["type"] == event_type
    assert held["body"]["title"] == fields["title"]


async def test_any_event_is_checked_against_its_schema(node: Served) -> None:
    csrf = await organiser(node)
    form = await html(node, "/organise/publish/any")
    assert '<option value="pledge.target_set"' in form
    before = await head_seq(node)
    typed = '{"title": "Rota <b>", "text": 5}'
    fields = {"csrf": csrf, "type": "guide.published", "body": typed}
    page = await (await post(node, "/organise/publish/any", fields, 422)).text()
    assert "body.text" in page
    assert "{&#34;title&#34;: &#34;Rota &lt;b&gt;&#34;, &#34;text&#34;: 5}" in page
    broken = {**fields, "body": '{"title": '}
    page = await (await post(node, "/organise/publish/any", broken, 400)).text()
    assert "not JSON" in page
    unknown = {**fields, "type": "meeting.partied", "body": "{}"}
    await post(node, "/organise/publish/any", unknown, 422)
    assert await head_seq(node) == before
    good = {**fields, "body": '{"title": "Rota", "text": "Tuesdays"}'}
    event_id = await published_id(await post(node, "/organise/publish/any", good))
    assert (await api(node, f"/api/v1/events/{event_id}"))["body"]["text"] == "Tuesdays"
    await html(node, "/organise/publish/nothing", status=404)


# --- redaction -------------------------------------------------------------------


async def test_an_own_event_is_redacted_after_confirming(node: Served) -> None:
    csrf = await organiser(node)
    launched = await publish(node, "campaign.launched", {**CAMPAIGN, "title": HOSTILE})
    listing = await html(node, "/organise/redact")
    assert ESCAPED in listing
    assert HOSTILE not in listing
    assert f'href="/organise/redact/{launched}"' in listing
    confirm = await html(node, f"/organise/redact/{launched}")
    assert ESCAPED in confirm
    await post(node, f"/organise/redact/{launched}", {"csrf": csrf, "reason": "Asked"})
    await node.projected()
    gone = await node.client.get(f"/api/v1/campaigns/{launched}")
    assert gone.status == 404
    held = await api(node, f"/api/v1/events/{launched}")
    assert "body" not in held
    listing = await html(node, "/organise/redact")
    assert ESCAPED not in listing
    assert "redacted" in listing
    again = await post(node, f"/organise/redact/{launched}", {"csrf": csrf}, 409)
    assert "already redacted" in await again.text()


async def test_other_feeds_events_cannot_be_redacted_here(node: Served) -> None:
    csrf = await organiser(node)
    theirs = Peer(node, KEY_B, "Cwmbran Renters").publish("campaign.launched", CAMPAIGN)
    await html(node, f"/organise/redact/{theirs.id}", status=404)
    await post(node, f"/organise/redact/{theirs.id}", {"csrf": csrf}, status=404)
    await html(node, "/organise/redact/nope", status=400)


async def test_the_redaction_list_is_paged_newest_first(node: Served) -> None:
    await organiser(node)
    for number in range(25):
        await publish(node, "question.asked", {"title": f"Question {number}"})
    first = await html(node, "/organise/redact")
    assert first.index("Question 24") < first.index("Question 5")
    assert "Question 4" not in first
    older = re.search(r'href="\?before=([0-9]+)"', first)
    assert older is not None
    second = await html(node, f"/organise/redact?before={older.group(1)}")
    assert "Question 4" in second
    assert "Question 24" not in second


# --- peers -----------------------------------------------------------------------


async def test_peers_are_added_and_shown_escaped(node: Served) -> None:
    csrf = await organiser(node)
    assert "No peers yet" in await html(node, "/organise/peers")
    hostile = "http://127.0.0.1:9/<script>alert(1)</script>"
    await post(node, "/organise/peers/add", {"csrf": csrf, "url": hostile})
    page = await html(node, "/organise/peers")
    assert "http://127.0.0.1:9/&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert HOSTILE not in page
    peers = node.services.store.federation.peers()
    assert [p.url for p in peers] == [hostile]
    refused = {"csrf": csrf, "url": "javascript:alert(1)"}
    page = await (await post(node, "/organise/peers/add", refused, 400)).text()
    assert 'value="javascript:alert(1)"' in page
    assert 'aria-invalid="true"' in page


async def test_feeds_and_peers_are_blocked_and_unblocked(node: Served) -> None:
    csrf = await organiser(node)
    Peer(node, KEY_B, "Cwmbran Renters")
    await html(node, f"/groups/{KEY_B.feed}")
    await post(node, "/organise/peers/block", {"csrf": csrf, "target": KEY_B.feed})
    await html(node, f"/groups/{KEY_B.feed}", status=404)
    page = await html(node, "/organise/peers")
    assert f'name="target" value="{KEY_B.feed}"' in page
    await post(node, "/organise/peers/unblock", {"csrf": csrf, "target": KEY_B.feed})
    await html(node, f"/groups/{KEY_B.feed}")
    await post(
        node, "/organise/peers/unblock", {"csrf": csrf, "target": KEY_B.feed}, 404
    )
    own = {"csrf": csrf, "target": node.services.key.feed}
    await post(node, "/organise/peers/block", own, status=409)
    bad = {"csrf": csrf, "target": "somewhere"}
    page = await (await post(node, "/organise/peers/block", bad, 400)).text()
    assert 'value="somewhere"' in page
    await post(
        node, "/organise/peers/block", {"csrf": csrf, "target": "https://x.example"}
    )
    assert node.services.store.federation.blocked() == {"https://x.example"}


async def test_forks_and_sync_lag_are_shown(node: Served) -> None:
    await organiser(node)
    peer = Peer(node, KEY_B, "Cwmbran Renters")
    profile = peer.head
    first = peer.publish("question.asked", {"title": "One"})
    other = sign(KEY_B, profile, T0 + 9_000, "question.asked", {"title": "Two"})
    assert other.seq == first.seq
    assert other.id != first.id
    node.services.store.federation.record_fork(first, other, now=T0)
    page = await html(node, "/organise/peers")
    assert first.id in page
    assert other.id in page
    assert "No forks held" not in page
    assert "Every event stored is shown" in page
    url = str(node.client.make_url("")).rstrip("/")
    node.services.store.federation.add_peer(url, origin="operator", now=T0)
    checked = await html(node, "/organise/peers?lag=check")
    assert "in step" in checked, checked


# --- the stylesheet -------------------------------------------------------------------


async def test_organise_pages_use_only_the_nodes_own_assets(node: Served) -> None:
    await organiser(node)
    for path in ("/organise/peers", "/organise/publish/meeting"):
        page = await html(node, path)
        assert "<script>" not in page
        assert "style=" not in page
