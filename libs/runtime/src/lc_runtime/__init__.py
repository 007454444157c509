"""Process plumbing every service shares; the standard library and prometheus_client only.

- `lc_runtime.logs`: `configure_logging` (JSON lines in production, readable text in a
  terminal) and `bind(...)`, which puts fields such as the event id, subject and sequence
  on every line logged while a worker handles one event.
- `lc_runtime.supervision`: `run_restarting`, the loop that restarts a background task
  after it fails.
- `lc_runtime.probes`: `Probes` (what readiness means for one worker, its `FoldProgress`)
  and the small HTTP server of `/healthz`, `/readyz` and Prometheus `/metrics`.

A library rather than part of `lc_contracts`: contracts describe what travels between
services; this decides how a process writes to stderr and keeps its tasks alive.
"""
