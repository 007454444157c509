"""A Kubernetes API server emulator: a pure object store and an aiohttp HTTP layer."""
