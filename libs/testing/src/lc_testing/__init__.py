"""What tests share: pytest fixtures that start real nats-server and PostgreSQL from their
wheels (`lc_testing.fixtures`), `wait_until` and `free_port`."""

from lc_embedded import free_port
from lc_testing.waiting import wait_until

__all__ = ["free_port", "wait_until"]
