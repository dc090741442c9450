"""A webhook POST: the signed body to a subscriber's URL, once, without redirects.

Invariants owned here:
- Only a 2xx answer counts as delivered. Redirects are not followed (a subscriber's URL is the
  one an admin registered). Any other status, a timeout or a connection failure is a failure to
  retry, with a one-line reason (the status, or the error), never the response body.
- Each attempt is signed afresh (`delivery.signing.headers_for`): the same `webhook-id`, the
  attempt's own timestamp.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from delivery.signing import headers_for

__all__ = ["USER_AGENT", "PostFailed", "post"]

USER_AGENT = "Huiquan-Ledger-Webhooks/1"


class PostFailed(Exception):
    """Raised when the subscriber did not answer 2xx."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def post(url: str, secret: str, msg_id: str, body: bytes, *, timeout: float = 10.0) -> int:
    """POST `body` (JSON) to `url`, signed; the status.

    Raises:
        PostFailed: not a 2xx, or no answer.
    """
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **headers_for(secret, msg_id, body),
    }
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as err:
        raise PostFailed(f"HTTP {err.code}") from err
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise PostFailed(f"{type(err).__name__}: {reason}") from err
    if not 200 <= status < 300:
        raise PostFailed(f"HTTP {status}")
    return status
