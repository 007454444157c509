"""VerifierSettings from the environment: parsing, defaults, fail-fast validation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from lc_domain_verifier import VerifierSettings
from lc_domain_verifier.settings import Nameserver, parse_nameserver


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("LC_"):
            monkeypatch.delenv(name)


def test_defaults_use_the_system_resolvers_and_the_product_timings() -> None:
    settings = VerifierSettings()
    assert settings.dns_nameservers == []
    policy = settings.policy()
    assert policy.expiry == timedelta(hours=72)
    assert policy.reverify_interval == timedelta(days=1)
    assert policy.lost_after == 3
    assert settings.ingress_cname_target is None


def test_everything_is_read_from_lc_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "LC_NATS_URL": "nats://127.0.0.1:4333",
        "LC_DNS_NAMESERVERS": "127.0.0.1:5353, [::1]:53,10.0.0.1",
        "LC_DNS_TIMEOUT_S": "2.5",
        "LC_DOMAIN_RECHECK_INITIAL_S": "10",
        "LC_DOMAIN_RECHECK_FACTOR": "3",
        "LC_DOMAIN_RECHECK_MAX_S": "600",
        "LC_DOMAIN_EXPIRY_H": "24",
        "LC_DOMAIN_REVERIFY_INTERVAL_S": "3600",
        "LC_DOMAIN_REVERIFY_RETRY_S": "60",
        "LC_DOMAIN_LOST_AFTER": "5",
        "LC_INGRESS_CNAME_TARGET": "Ingress.Example.NET.",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = VerifierSettings()
    assert settings.nats_url == "nats://127.0.0.1:4333"
    assert settings.dns_nameservers == [
        Nameserver("127.0.0.1", 5353),
        Nameserver("::1", 53),
        Nameserver("10.0.0.1", 53),
    ]
    assert settings.dns_timeout_s == 2.5
    assert settings.ingress_cname_target == "ingress.example.net"
    policy = settings.policy()
    assert policy.recheck_initial == timedelta(seconds=10)
    assert policy.recheck_factor == 3
    assert policy.recheck_max == timedelta(minutes=10)
    assert policy.expiry == timedelta(hours=24)
    assert policy.reverify_interval == timedelta(hours=1)
    assert policy.reverify_retry == timedelta(minutes=1)
    assert policy.lost_after == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", Nameserver("127.0.0.1", 53)),
        ("127.0.0.1:8053", Nameserver("127.0.0.1", 8053)),
        ("[::1]", Nameserver("::1", 53)),
        ("[2001:db8::1]:5353", Nameserver("2001:db8::1", 5353)),
        ("2001:db8::1", Nameserver("2001:db8::1", 53)),
    ],
)
def test_nameserver_forms(text: str, expected: Nameserver) -> None:
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize(
    "text",
    ["dns.example.com:53", "127.0.0.1:0", "127.0.0.1:70000", "127.0.0.1:x", "[::1", "[::1]x"],
)
def test_bad_nameservers_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"must be|is not"):
        parse_nameserver(text)


def test_a_bad_variable_fails_at_start_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LC_DNS_NAMESERVERS", "resolver.example:53")
    with pytest.raises(ValidationError, match="dns_nameservers"):
        VerifierSettings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LC_DNS_TIMEOUT_S", "0"),
        ("LC_DOMAIN_LOST_AFTER", "0"),
        ("LC_DOMAIN_EXPIRY_H", "-1"),
        ("LC_DOMAIN_RECHECK_FACTOR", "0.5"),
        ("LC_DOMAIN_RECHECK_MAX_S", "1"),
        ("LC_INGRESS_CNAME_TARGET", "not a host"),
    ],
)
def test_out_of_range_values_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        VerifierSettings()


def test_the_nameserver_string_form_round_trips() -> None:
    for text in ["127.0.0.1:5353", "[::1]:53"]:
        assert str(parse_nameserver(text)) == text


def test_keyword_strings_are_parsed_like_the_environment() -> None:
    # `lc up` passes the simulator's address as one string, or "" for the system's.
    assert VerifierSettings(dns_nameservers="127.0.0.1:5353").dns_nameservers == [
        Nameserver("127.0.0.1", 5353)
    ]
    assert VerifierSettings(dns_nameservers="").dns_nameservers == []
