"""tests/ha: the platform on a NATS JetStream cluster, with replicas of every process."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.import_plugin("lc_testing.cluster")
