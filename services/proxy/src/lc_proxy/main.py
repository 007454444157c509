"""The `lc-proxy` console script: read `LC_*` settings, configure logs, serve with uvicorn.

Who calls it: operators and the container image (`lc-proxy`); `lc up` embeds
`create_app` in its own server instead.
"""

from __future__ import annotations

import logging
import sys

import uvicorn
from pydantic import ValidationError

from lc_proxy.app import create_app
from lc_proxy.settings import ProxySettings
from lc_runtime.logs import configure_logging


def configure_proxy_logging(settings: ProxySettings) -> None:
    configure_logging(settings.proxy_log_level, settings.proxy_log_format)
    if not settings.proxy_access_log:
        logging.getLogger("lc_proxy.access").setLevel(logging.WARNING)


def main() -> None:
    try:
        settings = ProxySettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        sys.exit(f"lc-proxy: invalid setting LC_{where.upper()}: {first['msg']}")
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
