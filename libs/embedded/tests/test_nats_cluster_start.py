"""A NATS cluster whose node finds a picked port taken when it binds starts again on new
ports (the nodes started first dial the others from ephemeral ports, one of which may
be a port picked for a node not yet bound)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from lc_embedded import nats_cluster
from lc_embedded.nats_cluster import EmbeddedNatsCluster
from lc_embedded.servers import free_port


def test_a_port_taken_before_its_node_binds_it_is_picked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        picks = iter([free_port(), port])  # the first node's route port: already in use

        def pick(host: str = "127.0.0.1") -> int:
            return next(picks, None) or free_port(host)

        monkeypatch.setattr(nats_cluster, "free_port", pick)
        cluster = EmbeddedNatsCluster(tmp_path, size=3)
        try:
            cluster.start()
            assert all(cluster.healthy(name) for name in cluster.nodes)
            assert port not in {ports.route for ports in cluster._ports.values()}
        finally:
            cluster.stop()
