"""Sealing project secrets with the platform key."""

from __future__ import annotations

import pytest

from lc_contracts.events import SecretSet, build, shown
from lc_contracts.sealing import SealingError, SecretKey, generate_key

KEY = SecretKey.parse(generate_key())


def test_a_sealed_value_opens_only_for_its_project_and_name() -> None:
    sealed = KEY.seal("default", "hf-token", "hf_value")
    assert "hf_value" not in sealed.model_dump_json()
    assert KEY.open("default", "hf-token", sealed) == "hf_value"
    assert KEY.seal("default", "hf-token", "hf_value").nonce != sealed.nonce
    for slug, name in (("other", "hf-token"), ("default", "other")):
        with pytest.raises(SealingError, match="does not open"):
            KEY.open(slug, name, sealed)
    first = "B" if sealed.ciphertext[0] == "A" else "A"  # a character that differs
    tampered = sealed.model_copy(update={"ciphertext": first + sealed.ciphertext[1:]})
    with pytest.raises(SealingError):
        KEY.open("default", "hf-token", tampered)


def test_another_key_is_named_not_tried() -> None:
    sealed = KEY.seal("default", "hf-token", "hf_value")
    other = SecretKey.parse(generate_key())
    with pytest.raises(SealingError, match=KEY.key_id):
        other.open("default", "hf-token", sealed)


def test_keys_must_be_32_random_bytes() -> None:
    for bad in ("", "short", "!" * 44, generate_key()[:-4]):
        with pytest.raises(ValueError, match="LC_SECRET_KEY"):
            SecretKey.parse(bad)
    assert "SecretKey(id=" in repr(KEY)


def test_the_audit_view_of_an_event_leaves_the_seal_out() -> None:
    payload = SecretSet(
        project_slug="default",
        name="hf-token",
        version=1,
        sealed=KEY.seal("default", "hf-token", "v"),
    )
    envelope = build(payload, subject="lc.events.secret.default.hf-token", source="test")
    assert "sealed" in envelope.data
    assert shown(envelope).data == {"projectSlug": "default", "name": "hf-token", "version": 1}
