"""What the private store answers: frozen values, never secrets kept at rest.

A secret (token, invite code, reset code, session token) appears only in the
``Issued…`` value that creates it, once; everything listed later names it by
a public id, the first 12 hex digits of its SHA-256.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

__all__ = [
    "AuditRecord",
    "Export",
    "HeldPledge",
    "IdeaSupport",
    "InviteInfo",
    "IssuedCode",
    "IssuedInvite",
    "IssuedSession",
    "IssuedToken",
    "MemberInfo",
    "NamedRsvp",
    "Pledge",
    "Rsvp",
    "RsvpCounts",
    "SessionInfo",
    "TokenGrant",
    "TokenInfo",
    "Vote",
]


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token; ``token`` is the secret, shown once and never stored."""

    token: str
    token_id: str
    role: str
    account_id: UUID


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What a valid API token or session lets its bearer act as.

    ``token_id`` is the public id of the token, or of the session's token.
    """

    account_id: UUID
    role: str
    token_id: str


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as listed to operators: never its secret or its hash."""

    token_id: str
    role: str
    label: str
    account_id: UUID
    created_at: int
    revoked_at: int | None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit log entry."""

    actor: str
    action: str
    target: str
    at: int


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """An account as its owner and organisers see it.

    ``login`` is None until a password is first set (accounts made by
    ``init`` or for scripts); ``display_name`` is None once erased.
    """

    account_id: UUID
    login: str | None
    display_name: str | None
    role: str
    joined_at: int


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    """A new invite; ``code`` is its secret, shown once."""

    code: str
    invite_id: str
    role: str
    max_uses: int
    uses_left: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class InviteInfo:
    """An invite as listed to organisers."""

    invite_id: str
    role: str
    max_uses: int
    uses_left: int
    created_at: int
    expires_at: int
    created_by: UUID | None
    revoked_at: int | None


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """A new one-time password-setting code; shown once."""

    code: str
    account_id: UUID
    expires_at: int


@dataclass(frozen=True, slots=True)
class IssuedSession:
    """A new session: the cookie's token and its CSRF token, shown once."""

    token: str
    csrf_token: str
    account_id: UUID
    role: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A session as its owner sees it in an export: never its token."""

    created_at: int
    expires_at: int
    revoked_at: int | None


@dataclass(frozen=True, slots=True)
class Rsvp:
    """One of a member's answers to a meeting (or one occurrence of it)."""

    meeting: str
    occurrence_starts_at: int | None
    answer: str
    at: int


@dataclass(frozen=True, slots=True)
class NamedRsvp:
    """An answer with who gave it, as only the node's organisers see it."""

    account_id: UUID
    display_name: str | None
    occurrence_starts_at: int | None
    answer: str


@dataclass(frozen=True, slots=True)
class RsvpCounts:
    """How many current members answered yes, maybe and no."""

    yes: int = 0
    maybe: int = 0
    no: int = 0


@dataclass(frozen=True, slots=True)
class Pledge:
    """A member's pledge to a target: one amount of the target's kind.

    ``others``: counted only once that many other members pledge too (None:
    unconditional).
    """

    target: str
    pence: int | None
    hours: int | None
    skills: tuple[str, ...]
    others: int | None
    at: int


@dataclass(frozen=True, slots=True)
class HeldPledge:
    """A current member's pledge; the name only where organisers see it."""

    account_id: UUID
    display_name: str | None
    pledge: Pledge


@dataclass(frozen=True, slots=True)
class IdeaSupport:
    """An idea a member supports (the event id of its ``idea.proposed``)."""

    idea: str
    at: int


@dataclass(frozen=True, slots=True)
class Vote:
    """A member's vote on a proposal: a choice or a ranking, and a reason."""

    proposal: str
    choice: str | None
    ranking: list[str] | None
    reason: str | None
    at: int


@dataclass(frozen=True, slots=True)
class Export:
    """Everything the node holds about one account."""

    member: MemberInfo
    password_set: bool
    sessions: list[SessionInfo]
    invites_created: list[InviteInfo]
    tokens: list[TokenInfo]
    audit: list[AuditRecord]
    rsvps: list[Rsvp] = field(default_factory=list)
    pledges: list[Pledge] = field(default_factory=list)
    supports: list[IdeaSupport] = field(default_factory=list)
    votes: list[Vote] = field(default_factory=list)
