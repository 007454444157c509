"""LC_STREAM_REPLICAS: streams are created with the configured copies, and an existing
stream with another count is refused with the command that rescales it."""

from __future__ import annotations

import pytest
from nats.js import JetStreamContext

from lc_eventstore import StreamConfigConflict, provision_streams
from lc_eventstore.connection import server_urls


async def test_a_different_replica_count_is_refused_with_the_command_that_changes_it(
    jetstream: JetStreamContext,
) -> None:
    await provision_streams(jetstream, replicas=1)
    assert (await jetstream.stream_info("LC_EVENTS")).config.num_replicas == 1
    with pytest.raises(StreamConfigConflict) as refused:
        await provision_streams(jetstream, replicas=3)
    message = str(refused.value)
    assert "replicas are 1, LC_STREAM_REPLICAS asks for 3" in message
    assert "nats stream edit LC_EVENTS --replicas 3" in message
    assert "LC_STREAM_REPLICAS=1" in message
    # Nothing was rescaled behind the operator's back.
    assert (await jetstream.stream_info("LC_EVENTS")).config.num_replicas == 1
    await provision_streams(jetstream, replicas=1)


def test_a_nats_url_may_list_the_servers_of_a_cluster() -> None:
    assert server_urls("nats://a:4222") == ["nats://a:4222"]
    assert server_urls("nats://a:4222, nats://b:4223,nats://c:4224,") == [
        "nats://a:4222",
        "nats://b:4223",
        "nats://c:4224",
    ]
