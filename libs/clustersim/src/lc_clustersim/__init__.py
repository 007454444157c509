"""Kubernetes API emulator, simulated GreenThread engine, cert-manager and DNS zone. A development and test tool."""
