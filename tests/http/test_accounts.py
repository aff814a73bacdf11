"""The account routes in-process: invites, sessions, links, members, my data."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest
from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestServer
from argon2 import PasswordHasher

from node.cli import main
from node.http.app import AccessLogger, create_app
from node.services.runtime import NodeServices
from tests.http.conftest import ClientFactory, Served, make_settings

PASSWORD = "a long enough password"  # noqa: S105
NAME = "Mair Ogwen-Private"
HOUR = 3_600_000
INVITES, SESSION, ME = "/api/v1/invites", "/api/v1/session", "/api/v1/me"


class Site:
    """A node under test with a clock to move, spoken to as different people."""

    node: Served
    org: dict[str, str]

    def __init__(self) -> None:
        self.now = 1_700_000_000_000

    def clock(self) -> int:
        return self.now

    async def call(
        self, method: str, path: str, body: object = None, **headers: str
    ) -> tuple[int, Any]:
        data = body if isinstance(body, bytes | None) else orjson.dumps(body)
        response = await self.node.client.request(
            method, path, data=data, headers=headers
        )
        text = await response.read()
        if response.status >= 400:
            assert response.content_type == "application/problem+json"
        return response.status, orjson.loads(text) if text else None

    async def status(
        self, method: str, path: str, body: object = None, **headers: str
    ) -> int:
        return (await self.call(method, path, body, **headers))[0]

    async def join(self, login: str = "mair", role: str = "member") -> Any:
        _, invite = await self.call("POST", INVITES, {"role": role}, **self.org)
        body = {"display_name": NAME, "login": login, "password": PASSWORD}
        path = f"{INVITES}/{invite['code']}/accept"
        status, member = await self.call("POST", path, body)
        assert status == 201, member
        return member

    async def log_in(self, login: str, password: str = PASSWORD) -> dict[str, str]:
        body = orjson.dumps({"login": login, "password": password})
        response = await self.node.client.post(SESSION, data=body)
        assert response.status == 200, await response.text()
        token = response.cookies["tredegar_session"].value
        csrf = (await response.json())["csrf_token"]
        return {"Cookie": f"tredegar_session={token}", "X-CSRF-Token": csrf}

    def stored(self) -> int | None:
        return self.node.services.private._app.recorder.max_notification_id()


async def start(
    tmp_path: Path, factory: ClientFactory, **overrides: object
) -> AsyncIterator[Site]:
    settings, made = make_settings(tmp_path, **overrides)
    site = Site()
    services = NodeServices.open(settings, clock=site.clock)
    services.private.credentials._hasher = PasswordHasher(1, 8, 1)  # cheap argon2id
    server = TestServer(create_app(settings, services))
    await server.start_server(access_log_class=AccessLogger, access_log=LOG)
    # Cookies go by hand: one client speaks for many people.
    client = await factory(server, cookie_jar=DummyCookieJar())
    node = Served(client, services, made, settings)
    site.node, site.org = node, node.organiser
    yield site
    await client.close()
    services.close()


LOG = logging.getLogger("node.access")


@pytest.fixture
async def site(tmp_path: Path, aiohttp_client: ClientFactory) -> AsyncIterator[Site]:
    async for started in start(tmp_path, aiohttp_client):
        yield started


async def test_from_invite_to_session_and_out(site: Site) -> None:
    status, invite = await site.call("POST", INVITES, {}, **site.org)
    assert status == 201
    assert invite["url"] == f"{site.node.settings.url}/join/{invite['code']}"
    assert (invite["role"], invite["uses_left"], invite["max_uses"]) == ("member", 1, 1)
    member = await site.join()
    assert set(member) == {"id", "login", "display_name", "role", "joined_at"}
    body = orjson.dumps({"login": "MAIR", "password": PASSWORD})
    response = await site.node.client.post(SESSION, data=body)
    cookie = response.headers["Set-Cookie"]
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000"):
        assert attribute in cookie
    assert "Secure" not in cookie
    assert response.headers["Cache-Control"] == "no-store"
    browser = await site.log_in("mair")
    assert await site.call("GET", ME, **browser) == (200, member)
    status, held = await site.call("GET", ME + "/export", **browser)
    assert held["account"] == {**member, "password_set": True}
    assert len(held["sessions"]) == 2
    assert await site.status("DELETE", SESSION, **browser) == 204
    assert await site.status("GET", ME, **browser) == 401


async def test_https_nodes_send_secure_cookies(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    async for site in start(tmp_path, aiohttp_client, public_url="https://t.example"):
        await site.join()
        body = orjson.dumps({"login": "mair", "password": PASSWORD})
        response = await site.node.client.post(SESSION, data=body)
        assert "Secure" in response.headers["Set-Cookie"]


async def test_cookie_requests_that_change_things_need_the_csrf_token(
    site: Site,
) -> None:
    await site.join("boss", "organiser")
    browser = await site.log_in("boss")
    cookie_only = {"Cookie": browser["Cookie"]}
    for headers in (cookie_only, {**cookie_only, "X-CSRF-Token": "forged"}):
        status, problem = await site.call("POST", INVITES, {}, **headers)
        assert (status, problem["code"]) == (403, "forbidden")
        assert await site.status("DELETE", ME, **headers) == 403
        assert await site.status("DELETE", SESSION, **headers) == 403
    assert await site.status("GET", INVITES, **cookie_only) == 200
    assert await site.status("POST", INVITES, {}, **browser) == 201
    assert await site.status("POST", INVITES, {}, **site.org) == 201
    junk = {"Cookie": "tredegar_session=tds_" + "A" * 43}
    assert await site.status("GET", ME, **junk) == 401


A = "/api/v1/invites/{code}/accept"
R = "/api/v1/reset/{reset}"
M = "/api/v1/members/{member}"
LOGIN = {"login": "mair", "password": PASSWORD}
NEWCOMER = {"display_name": "New", "login": "newcomer", "password": PASSWORD}

# fmt: off
ROUTES = [  # method, path, body, statuses for a visitor, a member, an organiser
    ("POST", "/api/v1/invites", {}, (401, 403, 201)),
    ("GET", "/api/v1/invites", None, (401, 403, 200)),
    ("DELETE", "/api/v1/invites/{invite}", None, (401, 403, 204)),
    ("POST", A, NEWCOMER, (201, 201, 201)),
    ("POST", "/api/v1/session", LOGIN, (200, 200, 200)),
    ("DELETE", "/api/v1/session", None, (204, 204, 204)),
    ("POST", M + "/reset", None, (401, 403, 201)),
    ("POST", R, {"password": "x" * 10}, (204, 204, 204)),
    ("GET", "/api/v1/members", None, (401, 403, 200)),
    ("PATCH", M, {"role": "organiser"}, (401, 403, 200)),
    ("DELETE", M, None, (401, 403, 204)),
    ("GET", "/api/v1/me", None, (401, 200, 200)),
    ("GET", "/api/v1/me/export", None, (401, 200, 200)),
    ("DELETE", "/api/v1/me", None, (401, 204, 204)),
]
# fmt: on


async def fixtures(site: Site) -> dict[str, str]:
    """A member, an invite, a password link and the organiser's id, for paths."""
    member = await site.join()
    _, invite = await site.call("POST", INVITES, {}, **site.org)
    path = f"/api/v1/members/{member['id']}/reset"
    _, reset = await site.call("POST", path, **site.org)
    _, me = await site.call("GET", ME, **site.org)
    return {
        "invite": invite["id"],
        "code": invite["code"],
        "member": member["id"],
        "reset": reset["code"],
        "organiser": me["id"],
    }


@pytest.mark.parametrize("who", [0, 1, 2], ids=["visitor", "member", "organiser"])
@pytest.mark.parametrize(("method", "path", "body", "codes"), ROUTES)
async def test_who_may_call_each_route(
    site: Site, who: int, method: str, path: str, body: object, codes: tuple[int, ...]
) -> None:
    path = path.format(**await fixtures(site))
    member = {"Authorization": f"Bearer {site.node.token('member')}"}
    status, answer = await site.call(method, path, body, **[{}, member, site.org][who])
    assert status == codes[who], answer
    if status >= 400:
        assert answer["code"] == {401: "unauthorised", 403: "forbidden"}[status]


def joining(**changes: str) -> bytes:
    return orjson.dumps({"display_name": "A", "login": "abc", **changes})


OK = "long enough!"
BIG = b'{"role": "' + b"x" * 20_000 + b'"}'
HUGE = b'{"role": "' + b"x" * 300_000 + b'"}'
# fmt: off
BAD = [  # method, path, data, status, code (all as the organiser)
    ("POST", "/api/v1/invites", b"{", 400, "malformed"),
    ("POST", "/api/v1/invites", b"", 400, "malformed"),
    ("POST", "/api/v1/invites", b"[]", 400, "malformed"),
    ("POST", "/api/v1/invites", b'{"role": "admin"}', 422, "schema"),
    ("POST", "/api/v1/invites", b'{"max_uses": 0}', 422, "schema"),
    ("POST", "/api/v1/invites", b'{"max_uses": true}', 400, "malformed"),
    ("POST", "/api/v1/invites", b'{"max_uses": 1.5}', 400, "non-canonical"),
    ("POST", "/api/v1/invites", b'{"expires_in_hours": 721}', 422, "schema"),
    ("POST", "/api/v1/invites", b'{"colour": "red"}', 400, "malformed"),
    ("POST", "/api/v1/invites", b'{"role": "x", "role": "y"}', 400, "non-canonical"),
    ("POST", "/api/v1/invites", BIG, 413, "too-large"),
    ("POST", "/api/v1/invites", HUGE, 413, "too-large"),
    ("DELETE", "/api/v1/invites/0123456789ab", None, 404, "not-found"),
    ("DELETE", "/api/v1/invites/nonsense", None, 404, "not-found"),
    ("POST", A, b'{"login": "abc"}', 400, "malformed"),
    ("POST", A, joining(login="a b c", password=OK), 422, "schema"),
    ("POST", A, joining(password="x" * 9), 422, "schema"),
    ("POST", A, joining(display_name=" ", password=OK), 422, "schema"),
    ("POST", A, joining(display_name="A\u202e", password=OK), 422, "schema"),
    ("POST", A, joining(login="mair", password=OK), 409, "conflict"),
    ("POST", A.format(code="A" * 43), joining(password=OK), 404, "not-found"),
    ("POST", "/api/v1/session", b'{"login": "mair"}', 400, "malformed"),
    ("POST", "/api/v1/session", b'{"login": "mair", "password": 7}', 400, "malformed"),
    ("POST", "/api/v1/session", orjson.dumps({**LOGIN, "password": OK}), 401,
     "unauthorised"),
    ("POST", "/api/v1/session", b'{"login": "x", "password": "y"}', 422, "schema"),
    ("POST", "/api/v1/members/not-an-id/reset", None, 404, "not-found"),
    ("POST", f"/api/v1/members/{UUID(int=0)}/reset", None, 404, "not-found"),
    ("POST", R.format(reset="A" * 43), b'{"password": "long enough!"}', 404,
     "not-found"),
    ("POST", R, b'{"password": "long enough!", "login": "mair2"}', 422, "schema"),
    ("POST", R, b'{"password": "' + b"x" * 1001 + b'"}', 422, "schema"),
    ("GET", "/api/v1/members?limit=0", None, 400, "malformed"),
    ("PATCH", M, b'{"role": "boss"}', 422, "schema"),
    ("PATCH", M, b"{}", 400, "malformed"),
    ("PATCH", "/api/v1/members/{organiser}", b'{"role": "member"}', 409, "conflict"),
    ("DELETE", "/api/v1/members/{organiser}", None, 409, "conflict"),
    ("PUT", "/api/v1/me", None, 405, "method-not-allowed"),
]
# fmt: on


@pytest.mark.parametrize(("method", "path", "data", "status", "code"), BAD)
async def test_bad_requests_are_refused_and_store_nothing(
    site: Site, method: str, path: str, data: bytes | None, status: int, code: str
) -> None:
    path = path.format(**await fixtures(site))
    before = site.stored()
    answer = await site.call(method, path, data, **site.org)
    assert (answer[0], answer[1]["code"]) == (status, code)
    assert site.stored() == before


async def test_invites_used_expired_or_withdrawn(site: Site) -> None:
    two = {"max_uses": 2, "expires_in_hours": 1}
    _, invite = await site.call("POST", INVITES, two, **site.org)
    for login, status in (("one", 201), ("two", 201), ("three", 409)):
        body = {"display_name": login, "login": login, "password": PASSWORD}
        path = f"{INVITES}/{invite['code']}/accept"
        assert await site.status("POST", path, body) == status
    _, invite = await site.call("POST", INVITES, two, **site.org)
    site.now += HOUR
    body = {"display_name": "Late", "login": "late", "password": PASSWORD}
    path = f"{INVITES}/{invite['code']}/accept"
    status, problem = await site.call("POST", path, body)
    assert (status, problem["code"]) == (409, "conflict")
    assert "expired" in problem["detail"]
    path = f"{INVITES}/{invite['id']}"
    assert await site.status("DELETE", path, **site.org) == 204
    _, listed = await site.call("GET", INVITES, **site.org)
    assert [i["uses_left"] for i in listed["invites"]] == [0, 2]
    assert listed["invites"][1]["revoked_at"] == site.now
    assert "code" not in listed["invites"][0]


async def test_failed_logins_are_throttled(site: Site) -> None:
    await site.join()
    wrong = {"login": "mair", "password": "not the password"}
    for _ in range(5):
        assert await site.status("POST", SESSION, wrong) == 401
    body = orjson.dumps({"login": "mair", "password": PASSWORD})
    response = await site.node.client.post(SESSION, data=body)
    assert response.status == 429
    assert response.headers["Retry-After"] == "900"
    assert (await response.json())["code"] == "rate-limited"
    site.now += 15 * 60_000
    await site.log_in("mair")  # the window has passed; a success resets
    for _ in range(4):
        assert await site.status("POST", SESSION, wrong) == 401
    await site.log_in("mair")
    for _ in range(4):
        assert await site.status("POST", SESSION, wrong) == 401
    for i in range(12):  # one address, many logins: 8 + 12 = 20 failures
        guess = {"login": f"guess{i}", "password": "not the password"}
        assert await site.status("POST", SESSION, guess) == 401
    other = {"login": "other", "password": "x"}
    assert await site.status("POST", SESSION, other) == 429


async def test_a_password_link_sets_a_password_and_ends_sessions(site: Site) -> None:
    member = await site.join()
    browser = await site.log_in("mair")
    path = f"/api/v1/members/{member['id']}/reset"
    status, link = await site.call("POST", path, **site.org)
    assert (status, link["url"]) == (
        201,
        f"{site.node.settings.url}/reset/{link['code']}",
    )
    reset = f"/api/v1/reset/{link['code']}"
    assert await site.status("POST", reset, {"password": "a new password"}) == 204
    assert await site.status("POST", reset, {"password": "a new password"}) == 409
    assert await site.status("GET", ME, **browser) == 401
    await site.log_in("mair", "a new password")
    _, late = await site.call("POST", path, **site.org)
    site.now += 24 * HOUR
    reset = f"/api/v1/reset/{late['code']}"
    assert await site.status("POST", reset, {"password": PASSWORD}) == 409


async def test_roles_removal_and_erasure(site: Site) -> None:
    member = await site.join()
    browser = await site.log_in("mair")
    token = {"Authorization": f"Bearer {site.node.token('member')}"}
    assert await site.status("GET", "/api/v1/members", **browser) == 403
    path = f"/api/v1/members/{member['id']}"
    _, promoted = await site.call("PATCH", path, {"role": "organiser"}, **site.org)
    assert promoted["role"] == "organiser"
    _, page = await site.call("GET", "/api/v1/members?limit=500", **browser)
    names = [m["display_name"] for m in page["members"]]
    assert names == ["First organiser", NAME, "A member"]
    assert await site.status("DELETE", path, **site.org) == 204
    assert await site.status("GET", ME, **browser) == 401
    _, page = await site.call("GET", "/api/v1/members", **site.org)
    assert NAME not in orjson.dumps(page).decode()
    assert await site.status("DELETE", ME, **token) == 204
    assert await site.status("GET", ME, **token) == 401
    again = await site.join()  # the login is free once its owner is erased
    assert again["id"] != member["id"]
    browser = await site.log_in("mair")
    response = await site.node.client.delete(ME, headers=browser)
    assert response.status == 204
    assert "Max-Age=0" in response.headers["Set-Cookie"]
    login = {"login": "mair", "password": PASSWORD}
    assert await site.status("POST", SESSION, login) == 401


async def test_init_and_organiser_link_let_the_first_organiser_log_in(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    link = site.node.made.password_link
    assert link.startswith(f"{site.node.settings.url}/reset/")
    reset = "/api/v1/reset/" + link.rsplit("/", 1)[1]
    assert await site.status("POST", reset, {"password": PASSWORD}) == 422
    body = {"password": PASSWORD, "login": "gwen"}
    assert await site.status("POST", reset, body) == 204
    _, me = await site.call("GET", ME, **await site.log_in("gwen"))
    assert (me["display_name"], me["role"]) == ("First organiser", "organiser")
    data = str(site.node.settings.data_dir)
    assert main(["organiser-link", "--data", data, "--json"]) == 0
    url = orjson.loads(capsys.readouterr().out)["url"]
    reset = "/api/v1/reset/" + url.rsplit("/", 1)[1]
    assert await site.status("POST", reset, {"password": "a fresh password"}) == 204
    await site.log_in("gwen", "a fresh password")


async def test_no_names_passwords_or_codes_in_logs_or_public_answers(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _, invite = await site.call("POST", INVITES, {}, **site.org)
    body = {"display_name": NAME, "login": "mair", "password": PASSWORD}
    await site.call("POST", f"{INVITES}/{invite['code']}/accept", body)
    await site.call("POST", SESSION, {"login": "mair", "password": "wrong password"})
    browser = await site.log_in("mair")
    await site.call("GET", ME + "/export", **browser)
    await site.call("DELETE", ME, **browser)
    logged = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert "/api/v1/invites/{code}/accept" in logged  # the access log ran
    for secret in (NAME, "mair", PASSWORD, invite["code"], browser["X-CSRF-Token"]):
        assert secret not in logged
    for path in ("/api/v1/events", "/api/v1/search?q=Mair", "/api/v1/groups"):
        assert NAME not in await (await site.node.client.get(path)).text()
