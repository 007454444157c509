"""Compiles Services into Kubernetes objects and reports their status."""
