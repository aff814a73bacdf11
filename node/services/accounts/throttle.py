"""Counting failed logins, per login name and per client address.

Failures are counted over a sliding window: over the limit, even a right
password is refused with ``rate-limited`` and the seconds to wait. An attempt
counts as a failure from the moment it starts, so many parallel guesses
cannot slip past the limit; a success then clears its login's count and does
not count against the address, but never clears the address's earlier
failures, or one account of their own would let an attacker reset them. The
counts live in memory and are touched only on the event loop.
"""

from __future__ import annotations

from node.errors import RateLimitedError

__all__ = ["LoginThrottle", "LoginThrottledError"]


class LoginThrottledError(RateLimitedError):
    """Too many failed logins; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LoginThrottle:
    """Failed logins per login name and per address, in a sliding window."""

    def __init__(
        self, *, per_login: int = 5, per_address: int = 20, window: int = 900_000
    ) -> None:
        """Allow ``per_login`` and ``per_address`` failures per ``window`` ms."""
        self._limits = {"login": per_login, "address": per_address}
        self._window = window
        self._failures: dict[tuple[str, str], list[int]] = {}

    def begin(self, login: str, address: str, now: int) -> None:
        """Count an attempt as a failure until it succeeds.

        Raises:
            LoginThrottledError: The login or the address is over its limit.
        """
        if len(self._failures) > 10_000:
            for key in list(self._failures):
                self._wait(key, now)
        keys = (("login", login), ("address", address))
        wait = max(self._wait(key, now) for key in keys)
        if wait > 0:
            raise LoginThrottledError(
                "too many failed logins: try again later", -(-wait // 1000)
            )
        for key in keys:
            self._failures.setdefault(key, []).append(now)

    def succeeded(self, login: str, address: str) -> None:
        """The attempt was right: forget the login's failures."""
        self._failures.pop(("login", login), None)
        if attempts := self._failures.get(("address", address)):
            attempts.pop()

    def _wait(self, key: tuple[str, str], now: int) -> int:
        recent = [t for t in self._failures.get(key, ()) if t > now - self._window]
        if recent:
            self._failures[key] = recent
        else:
            self._failures.pop(key, None)
        limit = self._limits[key[0]]
        return 0 if len(recent) < limit else recent[-limit] + self._window - now
