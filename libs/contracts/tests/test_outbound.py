"""The SSRF decision: every refused range, IPv4 hidden in IPv6 forms, the allow-list, and
the form of a target URL."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lc_contracts.outbound import (
    TargetRefused,
    address_refusal,
    check_url,
    first_allowed,
    parse_networks,
)

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("::1", "loopback"),
    ("10.0.0.1", "private"),
    ("172.31.255.1", "private"),
    ("192.168.0.1", "private"),
    ("fd12::1", "unique local"),
    ("169.254.169.254", "cloud metadata"),
    ("fe80::1", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("224.0.0.251", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("0.0.0.0", "this network"),
    ("::", "unspecified"),
    ("198.18.0.1", "benchmarking"),
    ("192.0.2.1", "private"),  # documentation (Python counts it private)
    ("::ffff:10.0.0.1", "inside the IPv6"),
    ("::ffff:127.0.0.1", "inside the IPv6"),
    ("64:ff9b::a9fe:a9fe", "inside the IPv6"),  # NAT64 of 169.254.169.254
    ("2002:a00:1::", "inside the IPv6"),  # 6to4 of 10.0.0.1
]


@pytest.mark.parametrize(("address", "why"), REFUSED)
def test_refused_ranges(address: str, why: str) -> None:
    reason = address_refusal(ipaddress.ip_address(address))
    assert reason is not None
    assert why in reason


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "100.128.0.1"])
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


def test_the_allow_list_opens_only_its_networks() -> None:
    allowed = parse_networks("127.0.0.0/8, 10.20.0.0/16")
    assert address_refusal(ipaddress.ip_address("127.0.0.1"), allowed) is None
    assert address_refusal(ipaddress.ip_address("10.20.3.4"), allowed) is None
    assert address_refusal(ipaddress.ip_address("10.21.0.1"), allowed) is not None
    assert address_refusal(ipaddress.ip_address("::ffff:10.20.3.4"), allowed) is None
    assert address_refusal(ipaddress.ip_address("169.254.169.254"), allowed) is not None
    with pytest.raises(ValueError, match="not a network"):
        parse_networks("10.0.0.0/33")


def test_one_refused_address_refuses_the_name() -> None:
    public, private = ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.1")
    assert first_allowed([public]) == public
    with pytest.raises(TargetRefused, match=r"10\.0\.0\.1"):
        first_allowed([public, private])
    with pytest.raises(TargetRefused, match="no address"):
        first_allowed([])


@given(st.ip_addresses(v=4, network="10.0.0.0/8"))
def test_every_rfc1918_address_is_refused(address: ipaddress.IPv4Address) -> None:
    assert address_refusal(address) is not None
    assert address_refusal(ipaddress.ip_address(f"::ffff:{address}")) is not None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/", "https://"),
        ("http://example.com/", "https://"),
        ("https://u:p@example.com/", "credentials"),
        ("https:///x", "no host"),
        ("https://example.com:70000/", "does not parse"),
        ("https://exa mple.com/", "whitespace"),
        ("https://example.com/" + "a" * 2100, "longer"),
    ],
)
def test_url_forms_refused(url: str, message: str) -> None:
    with pytest.raises(TargetRefused, match=message):
        check_url(url)


def test_url_forms_accepted() -> None:
    target = check_url("https://Hooks.Example.com./in")
    assert (target.scheme, target.host, target.port) == ("https", "hooks.example.com", 443)
    assert check_url("http://127.0.0.1:8080/x").literal == ipaddress.ip_address("127.0.0.1")
    assert check_url("http://localhost/x").port == 80
    assert check_url("http://example.com/", allow_http=True).scheme == "http"
    assert check_url("https://[::1]:9/").literal == ipaddress.ip_address("::1")
