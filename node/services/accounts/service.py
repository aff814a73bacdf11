"""The account requests of the members' API (``docs/api.md#accounts``).

A caller is a Bearer API token or a session cookie; a cookie must come with
the session's CSRF token on every unsafe method (the web forms carry it),
while a Bearer request needs none, since a browser never adds one by itself.
Organisers manage invites, password links, roles and removals; everyone
reads, exports and erases their own account.
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from node.errors import ForbiddenError, NotFoundError, UnauthorisedError
from node.services.accounts import fields as check
from node.services.accounts.throttle import LoginThrottle
from node.services.clock import Clock
from node.storage.private import (
    Export,
    MemberInfo,
    PrivateStore,
    TokenGrant,
    csrf_token,
)
from protocol import JsonObject, JsonValue

__all__ = ["Accounts", "LoggedIn", "Presented", "password_link"]

HOUR = 3_600_000
#: How long a session lasts from login, in ms.
SESSION_LIFETIME = 30 * 24 * HOUR
#: How long a password link lasts, in ms.
RESET_LIFETIME = 24 * HOUR
INVITE_HOURS, MAX_INVITE_HOURS, MAX_INVITE_USES = 7 * 24, 30 * 24, 1_000

Offload = Callable[..., Awaitable[Any]]
Bearer = Callable[[str | None], Awaitable[TokenGrant]]


@dataclass(frozen=True, slots=True)
class Presented:
    """The credentials a request presents."""

    #: The ``Authorization`` header.
    authorization: str | None
    #: The session cookie's token.
    session: str | None
    #: The ``X-CSRF-Token`` header.
    csrf: str | None
    #: Whether the method changes things (POST, PUT, PATCH, DELETE).
    unsafe: bool


@dataclass(frozen=True, slots=True)
class LoggedIn:
    """A new session: the token for the cookie, and the answer's body."""

    token: str
    max_age: int
    answer: JsonObject


class Accounts:
    """The account requests of the members' API, on a private store."""

    def __init__(
        self,
        private: PrivateStore,
        *,
        clock: Clock,
        offload: Offload,
        url: str,
        bearer: Bearer,
    ) -> None:
        """Serve accounts of ``private``; ``url`` is the node's public URL."""
        self._private, self._clock, self._offload = private, clock, offload
        self._url, self._bearer = url.rstrip("/"), bearer
        self.throttle = LoginThrottle()
        #: Whether session cookies must be Secure (the node is served by https).
        self.secure_cookies = url.startswith("https:")

    async def caller(self, presented: Presented) -> TokenGrant:
        """Who makes a request: a Bearer token wins over a session cookie.

        Raises:
            UnauthorisedError: No valid token or live session.
            ForbiddenError: A session's unsafe request without its CSRF token.
        """
        if presented.authorization is not None or presented.session is None:
            return await self._bearer(presented.authorization)
        grant: TokenGrant | None = await self._offload(
            self._private.credentials.session, presented.session, now=self._clock()
        )
        if grant is None:
            raise UnauthorisedError("your session has ended: log in again")
        if presented.unsafe:
            _check_csrf(presented.session, presented.csrf)
        return grant

    async def log_in(self, request: JsonValue, address: str) -> LoggedIn:
        """``POST /api/v1/session``: ``{login, password}`` starts a session.

        Raises:
            UnauthorisedError: Wrong login or password.
            LoginThrottledError: Too many failures for the login or address.
        """
        fields = check.fields(request, {"login": str, "password": str})
        login = check.login(fields["login"])
        password = check.password(fields["password"], minimum=1)
        now = self._clock()
        self.throttle.begin(login, address, now)
        issued = await self._offload(
            self._private.credentials.log_in,
            login,
            password,
            now=now,
            expires_at=now + SESSION_LIFETIME,
        )
        if issued is None:
            raise UnauthorisedError("wrong login or password")
        self.throttle.succeeded(login, address)
        answer: JsonObject = {
            "account_id": str(issued.account_id),
            "role": issued.role,
            "csrf_token": issued.csrf_token,
            "expires_at": issued.expires_at,
        }
        return LoggedIn(issued.token, SESSION_LIFETIME // 1000, answer)

    async def log_out(self, session: str | None, csrf: str | None) -> None:
        """``DELETE /api/v1/session``: end the cookie's session (if any).

        Raises:
            ForbiddenError: A session without its CSRF token.
        """
        if session is None:
            return
        _check_csrf(session, csrf)
        await self._offload(
            self._private.credentials.end_session, session, now=self._clock()
        )

    async def create_invite(self, grant: TokenGrant, request: JsonValue) -> JsonObject:
        """``POST /api/v1/invites``: ``{role?, max_uses?, expires_in_hours?}``."""
        _organiser(grant)
        fields = check.fields(
            request, {}, {"role": str, "max_uses": int, "expires_in_hours": int}
        )
        role = check.role(fields.get("role", "member"))
        uses = check.bounded(fields, "max_uses", 1, 1, MAX_INVITE_USES)
        hours = check.bounded(
            fields, "expires_in_hours", INVITE_HOURS, 1, MAX_INVITE_HOURS
        )
        now = self._clock()
        issued = await self._offload(
            self._private.credentials.create_invite,
            role,
            uses,
            expires_at=now + hours * HOUR,
            created_by=grant.account_id,
            now=now,
        )
        await self._audit(grant, "invite_created", issued.invite_id, now)
        return {
            "id": issued.invite_id,
            "code": issued.code,
            "url": f"{self._url}/join/{issued.code}",
            "role": issued.role,
            "max_uses": issued.max_uses,
            "uses_left": issued.uses_left,
            "expires_at": issued.expires_at,
        }

    async def list_invites(self, grant: TokenGrant) -> JsonObject:
        """``GET /api/v1/invites``: every invite, without its code."""
        _organiser(grant)
        invites = await self._offload(self._private.credentials.list_invites)
        return {"invites": [_plain(invite) for invite in invites]}

    async def revoke_invite(self, grant: TokenGrant, invite_id: str) -> None:
        """``DELETE /api/v1/invites/{id}``: withdraw an invite.

        Raises:
            NotFoundError: No invite has that id.
        """
        _organiser(grant)
        now = self._clock()
        credentials = self._private.credentials
        if not await self._offload(credentials.revoke_invite, invite_id, now=now):
            raise NotFoundError("no such invite")
        await self._audit(grant, "invite_revoked", invite_id, now)

    async def accept_invite(self, code: str, request: JsonValue) -> JsonObject:
        """``POST /api/v1/invites/{code}/accept``: join with a login and password."""
        fields = check.fields(
            request, {"display_name": str, "login": str, "password": str}
        )
        member = await self._offload(
            self._private.credentials.accept_invite,
            code,
            login=check.login(fields["login"]),
            display_name=check.display_name(fields["display_name"]),
            password=check.password(fields["password"]),
            now=self._clock(),
        )
        return _member(member)

    async def create_reset(self, grant: TokenGrant, account_id: str) -> JsonObject:
        """``POST /api/v1/members/{id}/reset``: a one-time password link."""
        _organiser(grant)
        now = self._clock()
        issued = await self._offload(
            self._private.credentials.create_reset,
            check.account_id(account_id),
            expires_at=now + RESET_LIFETIME,
            created_by=grant.account_id,
            now=now,
        )
        await self._audit(grant, "password_link_created", account_id, now)
        return {
            "account_id": str(issued.account_id),
            "code": issued.code,
            "url": f"{self._url}/reset/{issued.code}",
            "expires_at": issued.expires_at,
        }

    async def reset_password(self, code: str, request: JsonValue) -> None:
        """``POST /api/v1/reset/{code}``: ``{password, login?}`` sets the password."""
        fields = check.fields(request, {"password": str}, {"login": str})
        login = fields.get("login")
        await self._offload(
            self._private.credentials.reset_password,
            code,
            password=check.password(fields["password"]),
            login=None if login is None else check.login(login),
            now=self._clock(),
        )

    async def list_members(
        self, grant: TokenGrant, *, after: int, limit: int
    ) -> JsonObject:
        """``GET /api/v1/members``: accounts in the order they joined."""
        _organiser(grant)
        found, cursor = await self._offload(
            self._private.members.page, after=after, limit=limit
        )
        return {"members": [_member(m) for m in found], "next": cursor}

    async def change_role(
        self, grant: TokenGrant, account_id: str, request: JsonValue
    ) -> JsonObject:
        """``PATCH /api/v1/members/{id}``: ``{role}``."""
        _organiser(grant)
        role = check.role(check.fields(request, {"role": str})["role"])
        now = self._clock()
        member = await self._offload(
            self._private.members.change_role,
            check.account_id(account_id),
            role,
            now=now,
        )
        await self._audit(grant, f"role_set_{role}", account_id, now)
        return _member(member)

    async def remove_member(self, grant: TokenGrant, account_id: str) -> None:
        """``DELETE /api/v1/members/{id}``: erase another's account."""
        _organiser(grant)
        now = self._clock()
        await self._offload(
            self._private.members.erase,
            check.account_id(account_id),
            now=now,
            keep_an_organiser=True,
        )
        await self._audit(grant, "member_removed", account_id, now)

    async def me(self, grant: TokenGrant) -> JsonObject:
        """``GET /api/v1/me``: the caller's own account."""
        member = await self._offload(self._private.members.info, grant.account_id)
        if member is None:
            raise NotFoundError("your account was removed")
        return _member(member)

    async def export(self, grant: TokenGrant) -> JsonObject:
        """``GET /api/v1/me/export``: everything held about the caller."""
        held: Export = await self._offload(self._private.export, grant.account_id)
        return {
            "account": {**_member(held.member), "password_set": held.password_set},
            "sessions": [_plain(s) for s in held.sessions],
            "invites_created": [_plain(i) for i in held.invites_created],
            "tokens": [_plain(t) for t in held.tokens],
            "audit": [_plain(a) for a in held.audit],
            "rsvps": [_plain(r) for r in held.rsvps],
            "pledges": [_plain(p) for p in held.pledges],
            "supports": [_plain(s) for s in held.supports],
            "votes": [_plain(v) for v in held.votes],
        }

    async def erase_me(self, grant: TokenGrant) -> None:
        """``DELETE /api/v1/me``: erase the caller's account for good."""
        now = self._clock()
        await self._offload(
            self._private.members.erase,
            grant.account_id,
            now=now,
            keep_an_organiser=False,
        )
        await self._audit(grant, "erased", str(grant.account_id), now)

    async def _audit(
        self, grant: TokenGrant, action: str, target: str, now: int
    ) -> None:
        await self._offload(
            self._private.record_audit, str(grant.account_id), action, target, now=now
        )


def password_link(
    private: PrivateStore, url: str, *, now: int, account_id: UUID | None = None
) -> str:
    """A one-time link setting a password (the first organiser's by default).

    Raises:
        NotFoundError: The node has no organiser.
    """
    account_id = account_id or private.members.first_organiser()
    if account_id is None:
        raise NotFoundError(
            "this node has no organiser: make one with "
            "'tredegar token create --role organiser'"
        )
    issued = private.credentials.create_reset(
        account_id, expires_at=now + RESET_LIFETIME, created_by=None, now=now
    )
    private.record_audit("cli", "password_link_created", str(account_id), now=now)
    return f"{url.rstrip('/')}/reset/{issued.code}"


def _plain(value: Any) -> JsonObject:
    fields = dataclasses.asdict(value)
    return {k: str(v) if isinstance(v, UUID) else v for k, v in fields.items()}


def _member(member: MemberInfo) -> JsonObject:
    return {
        "id": str(member.account_id),
        "login": member.login,
        "display_name": member.display_name,
        "role": member.role,
        "joined_at": member.joined_at,
    }


def _organiser(grant: TokenGrant) -> None:
    if grant.role != "organiser":
        raise ForbiddenError("only organisers manage members and invites")


def _check_csrf(session: str, csrf: str | None) -> None:
    # Header values may hold any text (even lone surrogates): compare ASCII only.
    if csrf is None or not csrf.isascii():
        raise ForbiddenError("send the session's CSRF token in X-CSRF-Token")
    if not hmac.compare_digest(csrf, csrf_token(session)):
        raise ForbiddenError("send the session's CSRF token in X-CSRF-Token")
