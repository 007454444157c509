"""The reconciler's pure core: compile specs into manifests, fold events into the desired
state, derive status from observed objects, plan prunes. No I/O, no framework imports."""
