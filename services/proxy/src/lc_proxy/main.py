"""The `lc-proxy` console script: read `LC_*` settings, configure logs, serve with uvicorn.

Who calls it: operators and the container image (`lc-proxy`); `lc up` embeds
`create_app` in its own server instead.
"""

from __future__ import annotations

import logging
import sys

import uvicorn

from lc_proxy.app import create_app
from lc_proxy.settings import ProxySettings
from lc_runtime.logs import configure_logging
from lc_runtime.settings_loading import load_settings


def configure_proxy_logging(settings: ProxySettings) -> None:
    configure_logging(settings.proxy_log_level, settings.proxy_log_format)
    if not settings.proxy_access_log:
        logging.getLogger("lc_proxy.access").setLevel(logging.WARNING)


def main() -> None:
    settings = load_settings(ProxySettings, "lc-proxy")
    configure_proxy_logging(settings)
    uvicorn.run(
        create_app(settings),
        host=settings.proxy_host,
        port=settings.proxy_port,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
        date_header=False,
    )


if __name__ == "__main__":
    main()
