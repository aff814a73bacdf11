"""Members' accounts: invites, passwords, sessions, roles, export and erasure.

``service`` holds :class:`Accounts`, the rules of DESIGN §6 for the account
requests of the members' API; ``fields`` checks their bodies; ``throttle``
counts failed logins. The accounts themselves are in
``node.storage.private``.
"""

from node.services.accounts.service import (
    RESET_LIFETIME,
    SESSION_LIFETIME,
    Accounts,
    LoggedIn,
    Presented,
    password_link,
)
from node.services.accounts.throttle import LoginThrottle, LoginThrottledError

__all__ = [
    "RESET_LIFETIME",
    "SESSION_LIFETIME",
    "Accounts",
    "LoggedIn",
    "LoginThrottle",
    "LoginThrottledError",
    "Presented",
    "password_link",
]
