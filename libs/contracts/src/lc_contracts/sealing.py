"""Project secret values sealed with the platform key (`LC_SECRET_KEY`): AES-256-GCM.

Only ciphertext travels: lcd seals a value before its `secret.set` event is built, the
event stream and the audit log keep the sealed form, and the reconciler opens it to write
the Kubernetes Secret. The key never leaves the processes configured with it. The
associated data binds a ciphertext to its project and secret name, so a sealed value
copied onto another secret does not open. `key_id` (a digest of the key, not the key)
tells a process started with another key which key it lacks.

Who calls it: lcd's secret commands (seal), the reconciler (open), the settings of both
(`SecretKey.parse`). Pure: the nonce is the only randomness.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lc_contracts.base import Contract

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12


class SealedValue(Contract):
    """What an event carries instead of a secret's value."""

    key_id: str
    nonce: str  # base64
    ciphertext: str  # base64, GCM tag included


class SealingError(Exception):
    """A sealed value that does not open with this key (another key, or tampered)."""


def generate_key() -> str:
    """A new platform key, as `LC_SECRET_KEY` holds it (URL-safe base64 of 32 bytes)."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


@dataclass(frozen=True, repr=False)
class SecretKey:
    _key: bytes

    def __repr__(self) -> str:
        return f"SecretKey(id={self.key_id})"

    @classmethod
    def parse(cls, text: str) -> SecretKey:
        """The key in `LC_SECRET_KEY`; ValueError that says how to make one."""
        try:
            raw = base64.urlsafe_b64decode(text.strip().encode() + b"=" * (-len(text.strip()) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != KEY_BYTES:
            raise ValueError(
                f"LC_SECRET_KEY must be {KEY_BYTES} random bytes in URL-safe base64; make one "
                "with: python -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).decode())'"
            )
        return cls(raw)

    @property
    def key_id(self) -> str:
        return hashlib.sha256(b"lc-secret-key|" + self._key).hexdigest()[:16]

    def seal(self, project_slug: str, name: str, value: str) -> SealedValue:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self._key).encrypt(nonce, value.encode(), _bound_to(project_slug, name))
        return SealedValue(
            key_id=self.key_id,
            nonce=base64.b64encode(nonce).decode(),
            ciphertext=base64.b64encode(sealed).decode(),
        )

    def open(self, project_slug: str, name: str, sealed: SealedValue) -> str:
        if sealed.key_id != self.key_id:
            raise SealingError(
                f"secret '{name}' of project '{project_slug}' was sealed with key "
                f"{sealed.key_id}, not with this LC_SECRET_KEY ({self.key_id})"
            )
        try:
            plain = AESGCM(self._key).decrypt(
                base64.b64decode(sealed.nonce),
                base64.b64decode(sealed.ciphertext),
                _bound_to(project_slug, name),
            )
        except (InvalidTag, binascii.Error, ValueError):
            raise SealingError(
                f"secret '{name}' of project '{project_slug}' does not open: tampered with, "
                "or sealed for another secret"
            ) from None
        return plain.decode()


def _bound_to(project_slug: str, name: str) -> bytes:
    return f"lc-secret|{project_slug}|{name}".encode()
