"""lc-proxy: the OpenAI-compatible /v1 aggregator.

Public entry points: `create_app(settings)` (the ASGI app), `ProxySettings` (its `LC_*`
settings) and the `lc-proxy` console script (`lc_proxy.main:main`).
"""

from lc_proxy.app import ProxyApp, create_app
from lc_proxy.settings import ProxySettings

__all__ = ["ProxyApp", "ProxySettings", "create_app"]
