"""Cross-site and DNS-rebinding requests refused before lc-proxy looks at anything else.

The rules are `lc_contracts.cross_site`'s, shared with lcd: 421 for a `Host` the proxy
does not answer for (loopback, its bind address, `LC_ALLOWED_HOSTS`), 403 for a browser
on another origin, 415 for a POST whose body is neither JSON nor multipart (uploads).
OpenAI SDKs send JSON and no `Origin`, so they pass. Errors are OpenAI-shaped.

Who calls it: `ProxyApp` for every HTTP request, first thing. Pure but for the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from lc_contracts.cross_site import JSON, MULTIPART, AllowedHosts, check_asgi_request
from lc_proxy.openai_errors import ProxyError

ACCEPTED_MEDIA: Final = frozenset({JSON, MULTIPART})
_CODES: Final = {
    421: "misdirected_request",
    403: "cross_origin_request",
    415: "unsupported_media_type",
}


def refusal(scope: Mapping[str, Any], allowed: AllowedHosts) -> ProxyError | None:
    """The error to answer `scope` with instead of serving it, or None."""
    found = check_asgi_request(scope, allowed, ACCEPTED_MEDIA)
    if found is None:
        return None
    return ProxyError(found.status, found.detail, code=_CODES.get(found.status, found.reason))
