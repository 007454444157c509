"""TXT comparison: joined strings, every record, constant-time comparison."""

from __future__ import annotations

import hmac
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lc_domain_verifier.domain import challenge
from lc_domain_verifier.domain.challenge import challenge_matches, record_value

TOKEN = "q3JYb2WcZlq1mO8vTn2bX9fK1uA7sE4rP0dH6gC5iL8"
tokens = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    min_size=22,
    max_size=64,
)


def test_a_record_holding_the_token_matches() -> None:
    assert challenge_matches([(TOKEN.encode(),)], TOKEN)


def test_a_record_holding_another_value_does_not_match() -> None:
    assert not challenge_matches([(b"something-else",)], TOKEN)
    assert not challenge_matches([(TOKEN[:-1].encode(),)], TOKEN)
    assert not challenge_matches([((TOKEN + "x").encode(),)], TOKEN)


def test_no_records_do_not_match() -> None:
    assert not challenge_matches([], TOKEN)
    assert not challenge_matches([()], TOKEN)


def test_a_record_split_into_strings_is_joined_without_separators() -> None:
    assert record_value((b"ab", b"cd", b"ef")) == b"abcdef"
    assert challenge_matches([(TOKEN[:10].encode(), TOKEN[10:].encode())], TOKEN)


def test_strings_of_different_records_are_never_joined() -> None:
    assert not challenge_matches([(TOKEN[:10].encode(),), (TOKEN[10:].encode(),)], TOKEN)


def test_the_token_may_be_any_one_of_several_records() -> None:
    records = [(b"v=spf1 -all",), (b"google-site-verification=xyz",), (TOKEN.encode(),)]
    assert challenge_matches(records, TOKEN)


def test_surrounding_blanks_are_ignored_but_inner_ones_are_not() -> None:
    assert challenge_matches([(b"  " + TOKEN.encode() + b"\n",)], TOKEN)
    assert not challenge_matches([(TOKEN[:5].encode() + b" " + TOKEN[5:].encode(),)], TOKEN)


def test_case_matters_in_the_token() -> None:
    assert not challenge_matches([(TOKEN.upper().encode(),)], TOKEN)


def test_every_record_is_compared_even_after_a_match(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bytes] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append(a)
        return real(a, b)

    monkeypatch.setattr(challenge.hmac, "compare_digest", counting)
    records = [(TOKEN.encode(),), (b"other",), (b"third",)]
    assert challenge_matches(records, TOKEN)
    assert len(calls) == 3


@settings(deadline=None)
@given(token=tokens, cuts=st.lists(st.integers(min_value=0, max_value=64), max_size=6))
def test_any_split_of_the_token_matches(token: str, cuts: list[int]) -> None:
    points = sorted({min(c, len(token)) for c in cuts} | {0, len(token)})
    strings = tuple(token[a:b].encode() for a, b in itertools.pairwise(points))
    assert challenge_matches([strings], token)


@settings(deadline=None)
@given(
    token=tokens, other=st.binary(max_size=80), noise=st.lists(st.binary(max_size=40), max_size=4)
)
def test_only_the_exact_token_matches(token: str, other: bytes, noise: list[bytes]) -> None:
    records = [(n,) for n in noise if n.strip(b" \t\r\n") != token.encode()]
    expected = other.strip(b" \t\r\n") == token.encode()
    assert challenge_matches([*records, (other,)], token) is expected
