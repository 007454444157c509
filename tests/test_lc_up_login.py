"""`lc up` bound off loopback asks every client for the admin login, and refuses to start
with lcd's LC_AUTH_TRUST_LOOPBACK (meant for a cluster pod behind a port-forward), which
would make whatever reaches lcd from loopback the admin. The same under `--ha`, whose
gateway forwards every request from loopback: `tests/ha/test_lc_up_login_ha.py`.
"""

from __future__ import annotations

import pytest

from lc_testing.addresses import other_address

from .lc_up_login import assert_every_client_needs_the_login, bind_off_loopback
from .stack_process import Stack


def test_lc_up_off_loopback_asks_every_client_for_the_login(stack: Stack) -> None:
    other = other_address()
    if other is None:
        pytest.skip("this machine has no address but loopback to reach lc up from another peer")
    bind_off_loopback(stack)
    stack.start()
    assert_every_client_needs_the_login(stack, other)


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_lc_up_refuses_lcds_loopback_trust(stack: Stack, host: str) -> None:
    bind_off_loopback(stack)
    stack.env |= {"LC_HOST": host, "LC_AUTH_TRUST_LOOPBACK": "true"}
    with pytest.raises(AssertionError, match="LC_AUTH_TRUST_LOOPBACK is for lcd in a Kubernetes"):
        stack.start()
    assert stack.proc is not None
    assert stack.proc.returncode == 2
