"""Login throttling: failed attempts counted per login name and per client address.

Invariants owned here:
- Only failures count, and they count the same for a login that exists and one that does not,
  so the throttle says nothing about which logins exist.
- Once either count is over its limit (`CONSOLE_LOGIN_LIMIT_PER_USER`,
  `CONSOLE_LOGIN_LIMIT_PER_ADDRESS`), attempts are refused without checking the password.
- The counters live where the API's failed-authentication counter lives
  (`RATELIMIT_STORAGE_URI`: per process with `memory://`, shared with a Redis URI).
"""

from __future__ import annotations

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

__all__ = ["LoginThrottle"]


class LoginThrottle:
    def __init__(self, storage_uri: str, per_user: str, per_address: str) -> None:
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self.per_user = parse(per_user)
        self.per_address = parse(per_address)

    def _items(self, login: str, address: str) -> list[tuple[object, str, str]]:
        return [
            (self.per_user, "console-login-user", login.strip().casefold()[:200]),
            (self.per_address, "console-login-address", address[:64]),
        ]

    def allowed(self, login: str, address: str) -> bool:
        """Whether another attempt may be checked now."""
        return all(
            self.limiter.test(limit, scope, ident)  # type: ignore[arg-type]
            for limit, scope, ident in self._items(login, address)
        )

    def failed(self, login: str, address: str) -> None:
        for limit, scope, ident in self._items(login, address):
            self.limiter.hit(limit, scope, ident)  # type: ignore[arg-type]

    def succeeded(self, login: str) -> None:
        self.limiter.clear(self.per_user, "console-login-user", login.strip().casefold()[:200])
