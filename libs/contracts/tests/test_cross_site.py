"""The pure cross-site checks shared by lcd and lc-proxy."""

from __future__ import annotations

import pytest

from lc_contracts.cross_site import (
    JSON,
    MULTIPART,
    AllowedHosts,
    check_request,
    parse_host_list,
    split_host,
)

LOCAL = AllowedHosts.of([], "127.0.0.1")
INGRESS = AllowedHosts.of(["console.acme.com", "*.lc.acme.com"], "0.0.0.0")


def status(
    method: str = "POST",
    host: str | None = "127.0.0.1:8080",
    origin: str | None = None,
    content_type: str | None = JSON,
    has_body: bool = True,
    allowed: AllowedHosts = LOCAL,
    accepted: frozenset[str] = frozenset({JSON}),
) -> int | None:
    refusal = check_request(method, host, origin, content_type, has_body, allowed, accepted)
    return None if refusal is None else refusal.status


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:8080", "localhost:8080", "LOCALHOST", "[::1]:8080", "127.1.2.3", "localhost."],
)
def test_loopback_hosts_are_allowed(host: str) -> None:
    assert status(host=host) is None


@pytest.mark.parametrize(
    "host", [None, "", "attacker.example", "127.0.0.1.attacker.example:8080", "[::1", "a:b", "a@b"]
)
def test_other_hosts_are_421(host: str | None) -> None:
    assert status(host=host) == 421


def test_configured_names_and_wildcards_and_the_bind_address() -> None:
    assert status(host="console.acme.com", allowed=INGRESS) is None
    assert status(host="a.lc.acme.com:443", allowed=INGRESS) is None
    assert status(host="lc.acme.com", allowed=INGRESS) == 421
    assert status(host="0.0.0.0", allowed=INGRESS) == 421
    on_lan = AllowedHosts.of([], "192.168.1.5")
    assert status(host="192.168.1.5:8080", allowed=on_lan) is None


@pytest.mark.parametrize(
    ("origin", "host", "expected"),
    [
        ("http://127.0.0.1:8080", "127.0.0.1:8080", None),
        ("https://console.acme.com", "console.acme.com", None),
        ("https://console.acme.com:443", "console.acme.com", None),
        ("http://console.acme.com", "console.acme.com:80", None),
        ("http://127.0.0.1:5173", "127.0.0.1:8080", 403),
        ("https://attacker.example", "127.0.0.1:8080", 403),
        ("null", "127.0.0.1:8080", 403),
        ("file://", "127.0.0.1:8080", 403),
        ("http://127.0.0.1:notaport", "127.0.0.1:8080", 403),
    ],
)
def test_a_browser_origin_must_be_the_servers_own(
    origin: str, host: str, expected: int | None
) -> None:
    allowed = AllowedHosts.of(["console.acme.com"], "127.0.0.1")
    assert status(origin=origin, host=host, allowed=allowed) == expected
    assert status(method="GET", origin=origin, host=host, allowed=allowed) == expected


def test_writes_need_json_reads_and_bodiless_writes_do_not() -> None:
    assert status(content_type="text/plain") == 415
    assert status(content_type="application/x-www-form-urlencoded") == 415
    assert status(content_type=None) == 415
    assert status(content_type="application/json; charset=utf-8") is None
    assert status(method="PATCH", content_type="application/merge-patch+json") is None
    assert status(method="DELETE", content_type=None, has_body=False) is None
    assert status(method="POST", content_type="text/plain", has_body=False) == 415
    assert status(method="GET", content_type="text/plain") is None


def test_multipart_only_where_the_caller_accepts_it() -> None:
    multipart = "multipart/form-data; boundary=x"
    assert status(content_type=multipart) == 415
    assert status(content_type=multipart, accepted=frozenset({JSON, MULTIPART})) is None


def test_host_list_setting() -> None:
    assert parse_host_list(" console.acme.com, *.acme.com ,") == ["console.acme.com", "*.acme.com"]
    assert parse_host_list("::1,[::1]") == ["::1", "[::1]"]
    for bad in ("https://console.acme.com", "console.acme.com:8080", "acme.com/x"):
        with pytest.raises(ValueError, match="LC_ALLOWED_HOSTS"):
            parse_host_list(bad)


def test_split_host() -> None:
    assert split_host("Example.COM:8080") == ("example.com", 8080)
    assert split_host("[::1]") == ("::1", None)
    assert split_host("x:0") is None
