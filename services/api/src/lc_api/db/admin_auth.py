"""Admin authentication: Argon2id password check, sessions, HTTP Basic, login rate limit.

v1 has one shared admin (`LC_AUTH_USERNAME` / `LC_AUTH_PASSWORD`). The password is kept
only as an Argon2id hash; every check runs the hash verification (also for a wrong
username) and compares usernames with `hmac.compare_digest`, so timing reveals nothing.
Sessions are random tokens whose SHA-256 is stored in PostgreSQL (shared by replicas),
and so are failed sign-ins, which the login limit counts per client address.
Verified Basic credentials are remembered for a minute by a keyed digest, so scripts do
not pay an Argon2 verification per request.

Built by lcd's runtime (`lc_api.runtime.lcd`); used by `lc_api.api.deps.require_admin`
and the auth routes.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.ext.asyncio import AsyncEngine

from lc_api.db.tables import admin_sessions, login_failures

BASIC_CACHE_S = 60.0
LIMITER_LOCK_SPACE = 0x6C63  # first key of the limiter's advisory locks ("lc")


class TooManyFailures(Exception):
    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"retry after {retry_after_s:.0f}s")
        self.retry_after_s = retry_after_s


class LoginLimiter:
    """Failed sign-ins per client address within a sliding window, in PostgreSQL, so every
    lcd replica behind the Ingress sees the same count.

    An attempt records its failure before the password is checked and withdraws it on
    success, so parallel guesses count against each other while the slow Argon2 checks
    run: at most `max_failures` checks start per client and window.
    """

    def __init__(self, engine: AsyncEngine, max_failures: int, window_s: float) -> None:
        self._engine = engine
        self._max = max_failures
        self._window = timedelta(seconds=window_s)

    async def attempt(self, client_key: str) -> None:
        """Admit one check for `client_key`, counted as failed until `succeeded`; or raise
        TooManyFailures with the wait."""
        recent = (
            sa.select(login_failures.c.failed_at)
            .where(
                login_failures.c.client_key == client_key,
                login_failures.c.failed_at > sa.func.now() - self._window,
            )
            .order_by(login_failures.c.failed_at.desc())
            .limit(self._max)
            .subquery()
        )
        async with self._engine.begin() as conn:
            # Attempts of one client take turns (replicas included), so each one counts
            # every failure recorded before it.
            await conn.execute(
                sa.select(
                    sa.func.pg_advisory_xact_lock(LIMITER_LOCK_SPACE, sa.func.hashtext(client_key))
                )
            )
            earlier, wait = (
                await conn.execute(
                    sa.select(
                        sa.func.count(),
                        sa.func.extract(
                            "epoch", sa.func.min(recent.c.failed_at) + self._window - sa.func.now()
                        ),
                    ).select_from(recent)
                )
            ).one()
            if earlier < self._max:
                await conn.execute(login_failures.insert().values(client_key=client_key))
                return
        raise TooManyFailures(max(0.0, float(wait or 0.0)))

    async def succeeded(self, client_key: str) -> None:
        """The client proved who it is: forget its failures."""
        async with self._engine.begin() as conn:
            await conn.execute(
                login_failures.delete().where(login_failures.c.client_key == client_key)
            )

    async def purge_expired(self) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                login_failures.delete().where(
                    login_failures.c.failed_at < sa.func.now() - self._window
                )
            )
        return int(result.rowcount or 0)


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

    def _basic_digest(self, header_value: str) -> bytes:
        return hmac.new(self._cache_key, header_value.encode(), hashlib.sha256).digest()

    def recently_verified(self, header_value: str) -> str | None:
        """The username of `Basic ...` credentials verified within the last minute."""
        expiry = self._basic_ok.get(self._basic_digest(header_value))
        if expiry is not None and expiry > time.monotonic():
            return self._username.decode()
        return None

    async def verify_basic(self, header_value: str) -> str | None:
        """The username of valid `Basic ...` credentials, else None (an Argon2 check every
        time: callers ask `recently_verified` first)."""
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
        self._basic_ok[self._basic_digest(header_value)] = time.monotonic() + BASIC_CACHE_S
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
