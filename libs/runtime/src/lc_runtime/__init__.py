"""Process plumbing every service shares; standard library only.

- `lc_runtime.logs`: `configure_logging` (JSON lines in production, readable text in a
  terminal) and `bind(...)`, which puts fields such as the event id, subject and sequence
  on every line logged while a worker handles one event.
- `lc_runtime.supervision`: `run_restarting`, the loop that restarts a background task
  after it fails.

A library rather than part of `lc_contracts`: contracts describe what travels between
services; this decides how a process writes to stderr and keeps its tasks alive.
"""
