"""`lcd` as a child process on servers started by the test, for the faults that kill it."""

from __future__ import annotations

from pathlib import Path

import httpx

from .child import Child


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


class Lcd(Child):
    def __init__(self, nats_url: str, database_url: str, log: Path) -> None:
        def settings(port: int) -> dict[str, str]:
            return {
                "LC_NATS_URL": nats_url,
                "LC_DATABASE_URL": database_url,
                "LC_BIND_HOST": "127.0.0.1",
                "LC_BIND_PORT": str(port),
            }

        super().__init__(
            "lc_api.main", settings, log, is_ready=_ready, args=["--log-level", "warning"]
        )

    def start(self) -> Lcd:
        super().start()
        return self
