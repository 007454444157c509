"""Cluster simulator: a Kubernetes API emulator, the simulated GreenThread engine with
OpenAI-compatible model servers, cert-manager, an ingress load balancer and a DNS zone.

A development and test tool; production talks to a real cluster. Entry points:
`ClusterSim`/`SimConfig` (in-process), `SimulatedUpstream` (one model server),
`lc_clustersim.cli.main` (`lc sim ...`) and the pytest fixtures in `lc_testing.cluster`.
"""

from lc_clustersim.sim import ClusterSim, SimConfig
from lc_clustersim.upstream import SimulatedUpstream, UpstreamFaults, UpstreamStats

__all__ = ["ClusterSim", "SimConfig", "SimulatedUpstream", "UpstreamFaults", "UpstreamStats"]
