"""Where a delivered message sits in its stream, read from its ack subject."""

from __future__ import annotations

import pytest

from lc_eventstore.reader import stream_position


def test_the_classic_ack_subject() -> None:
    reply = "$JS.ACK.LC_EVENTS.Xy7.1.4127.4127.1795786160123456789.38"
    assert stream_position(reply) == (4127, 38)


def test_the_ack_subject_with_a_domain_and_an_account_hash() -> None:
    reply = "$JS.ACK.hub.ACCHASH.LC_STATUS.Xy7.2.99.12.1795786160123456789.0.r4nd0m"
    assert stream_position(reply) == (99, 0)


@pytest.mark.parametrize("reply", ["", "_INBOX.abc.1", "$JS.ACK.LC_EVENTS.c.1.x.2.3.4"])
def test_anything_else_is_refused(reply: str) -> None:
    with pytest.raises(ValueError):
        stream_position(reply)
