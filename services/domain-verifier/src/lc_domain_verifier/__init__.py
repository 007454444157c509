"""Checks custom-domain TXT challenges and publishes the outcome as domain events.

Public surface: `VerifierSettings` (configuration) and `run(settings)` (the worker, until
cancelled); the console script `lc-domain-verifier` wraps both.
"""

from lc_domain_verifier.main import run
from lc_domain_verifier.settings import VerifierSettings

__all__ = ["VerifierSettings", "run"]
