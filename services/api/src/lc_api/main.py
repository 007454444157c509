"""The `lcd` console script: validate settings, then serve `create_app` with uvicorn."""

from __future__ import annotations

import argparse

import uvicorn

from lc_api.api.socket_peer import served_app
from lc_api.server import create_app
from lc_api.settings import ApiSettings
from lc_runtime.logs import configure_logging
from lc_runtime.settings_loading import load_settings

# Longer than any client's or load balancer's idle timeout (httpx 5 s, cloud LBs 60 s):
# with uvicorn's default of 5 s a client could send a request on a connection in the
# very moment the server closed it, and see the connection dropped (httpx.ReadError).
KEEP_ALIVE_S = 75


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="lcd", description="LiquidCompute control-plane API")
    parser.add_argument("--host", help="bind address (LC_BIND_HOST)")
    parser.add_argument("--port", type=int, help="TCP port (LC_BIND_PORT)")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    overrides: dict[str, object] = {}
    if args.host:
        overrides["bind_host"] = args.host
    if args.port:
        overrides["bind_port"] = args.port
    settings = load_settings(ApiSettings, "lcd", **overrides)
    configure_logging(args.log_level)
    uvicorn.run(
        # X-Forwarded-For from LC_TRUSTED_PROXIES is believed inside `served_app`, after
        # the socket's own peer is recorded for LC_AUTH_TRUST_LOOPBACK.
        served_app(create_app(settings), settings.trusted_proxies),
        host=settings.bind_host,
        port=settings.bind_port,
        log_level=args.log_level,
        log_config=None,
        proxy_headers=False,
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
    )


if __name__ == "__main__":
    main()
