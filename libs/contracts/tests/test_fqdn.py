from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lc_contracts.fqdn import challenge_record_name, normalise_fqdn


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("chat.acme.com", "chat.acme.com"),
        ("Chat.ACME.com.", "chat.acme.com"),
        ("  chat.acme.com  ", "chat.acme.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ],
)
def test_names_are_normalised(raw: str, canonical: str) -> None:
    assert normalise_fqdn(raw) == canonical


@pytest.mark.parametrize(
    "raw",
    [
        "",
        ".",
        "localhost",
        "*.acme.com",
        "-a.acme.com",
        "a..com",
        "10.0.0.1",
        "a" * 64 + ".com",
        "a_b.com",
        3,
    ],
)
def test_bad_names_are_rejected(raw: object) -> None:
    with pytest.raises(ValueError):
        normalise_fqdn(raw)


@given(st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10}){1,3}\.[a-z]{2,6}", fullmatch=True))
def test_normalising_is_idempotent(name: str) -> None:
    once = normalise_fqdn(name.upper() + ".")
    assert normalise_fqdn(once) == once == name


def test_challenge_record() -> None:
    assert challenge_record_name("chat.acme.com") == "_lc-challenge.chat.acme.com"
