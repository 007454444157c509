"""Open a Kubernetes API client from the fleet settings.

Who calls it: `main.run`. A kubeconfig named in the settings wins; otherwise the pod's
service account when running in a cluster, else the user's default kubeconfig.
"""

from __future__ import annotations

from kubernetes_asyncio import config
from kubernetes_asyncio.client import ApiClient, Configuration
from kubernetes_asyncio.config import ConfigException

from lc_fleet.settings import FleetSettings


async def open_api_client(settings: FleetSettings) -> ApiClient:
    """A client with its own configuration (the library's global one is left alone)."""
    configuration = Configuration()
    if settings.kubeconfig is not None:
        await config.load_kube_config(
            config_file=str(settings.kubeconfig),
            context=settings.kube_context,
            client_configuration=configuration,
        )
    else:
        try:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except ConfigException:
            await config.load_kube_config(
                context=settings.kube_context, client_configuration=configuration
            )
    return ApiClient(configuration=configuration)
