"""The verifier's pure core: no I/O, no clocks, no frameworks.

- `challenge`  compares published TXT records with a challenge token (constant time)
- `lookup`     what a DNS lookup can return, and what it means for verification
- `policy`     timing knobs: back-off, expiry window, re-verification, loss threshold
- `state`      one domain's verification state, evolved from its events
- `decisions`  what to do next for a domain, and which events a check outcome produces
"""
