"""Who may call lc-proxy: the holders of the API keys in `LC_PROXY_API_KEYS`.

Every OpenAI SDK sends its key as `Authorization: Bearer <key>`, so an app needs nothing
but the right `api_key` and `base_url`. The keys are kept only as SHA-256 digests; a
request's key is hashed and compared with each digest in constant time. Without keys,
every request is let in, which the settings allow only on loopback or when told that
something in front of the proxy authenticates every request.

Who calls it: the ASGI app, before answering `/v1/*` and `/metrics` (`/healthz` stays
open for the kubelet's probes). Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

MIN_KEY_LENGTH = 20


def parse_keys(raw: str) -> list[str]:
    """The keys of a comma-separated list; ValueError for one that is too short to be secret."""
    keys = [key.strip() for key in raw.split(",") if key.strip()]
    if not keys:
        raise ValueError("LC_PROXY_API_KEYS holds no key")
    for index, key in enumerate(keys, 1):
        if len(key) < MIN_KEY_LENGTH or any(c.isspace() for c in key):
            raise ValueError(
                f"LC_PROXY_API_KEYS: key {index} is shorter than {MIN_KEY_LENGTH} characters "
                "or holds whitespace; generate keys with e.g. `openssl rand -hex 24`"
            )
    return keys


class ApiKeys:
    def __init__(self, keys: Iterable[str]) -> None:
        self._digests = [hashlib.sha256(key.encode()).digest() for key in keys]

    @property
    def required(self) -> bool:
        return bool(self._digests)

    def allows(self, authorization: bytes | None) -> bool:
        """Whether an `Authorization` header value carries one of the keys."""
        if not self._digests:
            return True
        if not authorization:
            return False
        scheme, _, token = authorization.strip().partition(b" ")
        token = token.strip()
        if scheme.lower() != b"bearer" or not token:
            return False
        digest = hashlib.sha256(token).digest()
        found = False
        for known in self._digests:  # no early exit: the time taken says nothing
            found |= hmac.compare_digest(known, digest)
        return found
