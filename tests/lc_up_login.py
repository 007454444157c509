"""What the lc-up login tests share: an `lc up` bound off loopback with the admin login,
and the check that every client, this machine's included, must send it.

Callers: `tests/test_lc_up_login.py` (one process), `tests/ha/test_lc_up_login_ha.py`
(`--ha`, whose gateway reaches each lcd from loopback).
"""

from __future__ import annotations

import time

import httpx

from .stack_process import Stack

ADMIN = ("admin", "correct horse battery staple")
PROXY_KEY = "lc-" + "k" * 40
FLEET = "/api/v1/fleet"
FLEET_LOADED_S = 60.0


def bind_off_loopback(stack: Stack) -> None:
    stack.env = {
        "LC_HOST": "0.0.0.0",
        "LC_AUTH_USERNAME": ADMIN[0],
        "LC_AUTH_PASSWORD": ADMIN[1],
        "LC_PROXY_API_KEYS": PROXY_KEY,
    }


def assert_every_client_needs_the_login(stack: Stack, other: str) -> None:
    """No credentials: 401 from this machine's other address and from loopback (a local
    user, or the gateway's own forwarding, is nobody's admin); the login: 200."""
    for address in (other, "127.0.0.1"):
        url = f"http://{address}:{stack.port}{FLEET}"
        # A loopback name passes the Host check everywhere: what is asked is the login.
        headers = {"Host": "localhost"}
        answer = httpx.get(url, headers=headers, timeout=10)
        assert answer.status_code == 401, (address, answer.status_code, answer.text)
        assert answer.json()["type"].endswith("/unauthorized")
        # With the login: 200 once the fleet feed has read LC_STATUS (503 until then).
        deadline = time.monotonic() + FLEET_LOADED_S
        while (
            answer := httpx.get(url, headers=headers, auth=ADMIN, timeout=10)
        ).status_code == 503:
            assert time.monotonic() < deadline, f"the fleet still loading after {FLEET_LOADED_S}s"
            time.sleep(0.1)
        assert answer.status_code == 200, (address, answer.status_code, answer.text)
