"""lc-proxy: the OpenAI-compatible /v1 aggregator."""
