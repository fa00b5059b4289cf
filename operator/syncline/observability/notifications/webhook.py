"""POSTing one webhook body, one attempt at a time.

The URL comes from a Secret (its path and query often are the token: Slack's
``/services/T…/B…/…``, Teams' ``sig=…``), so messages name the scheme and host only.
Redirects are not followed (a webhook that moved must be updated in its Secret, and a
redirect would replay the body elsewhere). 5xx, 429, 408 and network errors may pass:
they are retried; any other answer is final.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from syncline.observability.notifications.delivery import DeliveryError

RETRYABLE_STATUSES = frozenset({408, 429})
USER_AGENT = "syncline-notifications/1"


def webhook_target(url: str) -> str | None:
    """``https://host[:port]`` of a usable http(s) URL; None when it is not one."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.hostname}{f':{port}' if port else ''}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx is then raised as an HTTPError, and is final


_OPENER = urllib.request.build_opener(_NoRedirects)


def post_json(url: str, body: dict[str, Any], timeout: float) -> str:
    """POST ``body``; what the receiver answered, or DeliveryError."""
    target = webhook_target(url) or "the webhook"
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked: http(s) only
        url.strip(),
        data=data,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as err:
        retry = err.code >= 500 or err.code in RETRYABLE_STATUSES
        raise DeliveryError(f"{target} answered HTTP {err.code}", retryable=retry) from None
    except urllib.error.URLError as err:
        reason = err.reason
        if isinstance(reason, TimeoutError):
            raise DeliveryError(
                f"{target} did not answer in {timeout:g}s", retryable=True
            ) from None
        if isinstance(reason, ssl.SSLCertVerificationError):
            detail = f"{target} presented a certificate that is not trusted"
            raise DeliveryError(f"{detail} ({reason.verify_message})", retryable=False) from None
        text = getattr(reason, "strerror", None) or str(reason)
        raise DeliveryError(f"cannot reach {target}: {text}", retryable=True) from None
    except TimeoutError:
        raise DeliveryError(f"{target} did not answer in {timeout:g}s", retryable=True) from None
    except OSError as err:  # reset while reading the answer, and the like
        detail = f"{target}: {err.strerror or type(err).__name__}"
        raise DeliveryError(detail, retryable=True) from None
    return f"{target} answered HTTP {status}"
