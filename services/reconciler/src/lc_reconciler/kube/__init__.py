"""Adapters to the Kubernetes API (kubernetes-asyncio): generic resource calls, error
classification and watches. The only package that performs Kubernetes I/O."""
