"""nats-server and PostgreSQL from their wheels, as child processes on loopback: what
`lc up` runs on embedded defaults and what the test fixtures start (`lc_testing`)."""

from lc_embedded.nats_cluster import EmbeddedNatsCluster
from lc_embedded.servers import (
    EmbeddedNats,
    EmbeddedPostgres,
    EmbeddedServerError,
    free_port,
)

__all__ = [
    "EmbeddedNats",
    "EmbeddedNatsCluster",
    "EmbeddedPostgres",
    "EmbeddedServerError",
    "free_port",
]
