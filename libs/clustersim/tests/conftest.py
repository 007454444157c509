"""The simulator's own tests run it through the shared `cluster` fixtures."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.import_plugin("lc_testing.cluster")
