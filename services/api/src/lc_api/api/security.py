"""Admin authentication: Argon2id password check, sessions, HTTP Basic, login rate limit.

v1 has one shared admin (`LC_AUTH_USERNAME` / `LC_AUTH_PASSWORD`). The password is kept
only as an Argon2id hash; every check runs the hash verification (also for a wrong
username) and compares usernames with `hmac.compare_digest`, so timing reveals nothing.
Sessions are random tokens whose SHA-256 is stored in PostgreSQL (shared by replicas).
Verified Basic credentials are remembered for a minute by a keyed digest, so scripts do
not pay an Argon2 verification per request.

Built in lcd's lifespan; used by `lc_api.api.deps.require_admin` and the auth routes.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time
from collections import deque
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.ext.asyncio import AsyncEngine

from lc_api.db.tables import admin_sessions

SESSION_COOKIE = "lc_session"
BASIC_CACHE_S = 60.0


class LoginLimiter:
    """Failed attempts per client within a sliding window; over the limit → retry after."""

    def __init__(self, max_failures: int, window_s: float) -> None:
        self._max = max_failures
        self._window = window_s
        self._failures: dict[str, deque[float]] = {}

    def _prune(self, key: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and now - failures[0] > self._window:
            failures.popleft()
        return failures

    def retry_after(self, key: str) -> float | None:
        """Seconds until `key` may try again, or None when it may now."""
        now = time.monotonic()
        failures = self._prune(key, now)
        if len(failures) < self._max:
            if not failures:
                self._failures.pop(key, None)
            return None
        return max(0.0, self._window - (now - failures[0]))

    def failed(self, key: str) -> None:
        self._prune(key, time.monotonic()).append(time.monotonic())

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)


class Authenticator:
    def __init__(
        self,
        username: str,
        password: str,
        engine: AsyncEngine,
        *,
        session_ttl_s: int,
        limiter: LoginLimiter,
    ) -> None:
        self._hasher = PasswordHasher()  # Argon2id with the library's current parameters
        self._username = username.encode()
        self._hash = self._hasher.hash(password)
        self._engine = engine
        self._ttl = timedelta(seconds=session_ttl_s)
        self._cache_key = secrets.token_bytes(32)
        self._basic_ok: dict[bytes, float] = {}
        self.limiter = limiter

    def _verify_sync(self, username: str, password: str) -> bool:
        user_ok = hmac.compare_digest(username.encode(), self._username)
        try:
            password_ok: bool = self._hasher.verify(self._hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            password_ok = False
        return user_ok and password_ok

    async def verify(self, username: str, password: str) -> bool:
        # Argon2 is deliberately slow: keep it off the event loop.
        return await asyncio.to_thread(self._verify_sync, username, password)

    async def verify_basic(self, header_value: str) -> str | None:
        """The username of valid `Basic ...` credentials, else None."""
        digest = hmac.new(self._cache_key, header_value.encode(), hashlib.sha256).digest()
        expiry = self._basic_ok.get(digest)
        if expiry is not None and expiry > time.monotonic():
            return self._username.decode()
        scheme, _, encoded = header_value.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        username, sep, password = decoded.partition(":")
        if not sep or not await self.verify(username, password):
            return None
        if len(self._basic_ok) > 10_000:
            self._basic_ok.clear()
        self._basic_ok[digest] = time.monotonic() + BASIC_CACHE_S
        return username

    @staticmethod
    def _token_hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    async def open_session(self, username: str) -> tuple[str, datetime]:
        token = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + self._ttl
        async with self._engine.begin() as conn:
            await conn.execute(
                admin_sessions.delete().where(admin_sessions.c.expires_at < sa.func.now())
            )
            await conn.execute(
                admin_sessions.insert().values(
                    token_hash=self._token_hash(token), username=username, expires_at=expires
                )
            )
        return token, expires

    async def session_user(self, token: str) -> str | None:
        async with self._engine.connect() as conn:
            user = await conn.scalar(
                sa.select(admin_sessions.c.username).where(
                    admin_sessions.c.token_hash == self._token_hash(token),
                    admin_sessions.c.expires_at > sa.func.now(),
                )
            )
        return str(user) if user is not None else None

    async def close_session(self, token: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                admin_sessions.delete().where(
                    admin_sessions.c.token_hash == self._token_hash(token)
                )
            )
