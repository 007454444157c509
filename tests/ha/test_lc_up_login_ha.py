"""`lc up --ha` bound off loopback asks every client for the admin login: its gateway
forwards each request to an lcd child from 127.0.0.1, and the children never trust
loopback (lc up gives them LC_AUTH_TRUST_LOOPBACK=false and refuses the variable).
Marked `ha` (`just test-ha`): the topology takes a while to start.
"""

from __future__ import annotations

import pytest

from lc_testing.addresses import other_address
from tests.lc_up_login import assert_every_client_needs_the_login, bind_off_loopback
from tests.stack_process import Stack

pytestmark = [pytest.mark.ha, pytest.mark.timeout(600)]


def test_lc_up_ha_off_loopback_asks_every_client_for_the_login(stack: Stack) -> None:
    other = other_address()
    if other is None:
        pytest.skip("this machine has no address but loopback to reach lc up from another peer")
    bind_off_loopback(stack)
    stack.args = ["--ha"]
    stack.start_deadline_s = 300.0
    stack.start()
    assert_every_client_needs_the_login(stack, other)
