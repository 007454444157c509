"""List, then watch, one kind of Kubernetes object, forever: the reflector loop.

Who calls it: the reconciler (the Models and Deployments it owns) and the fleet aggregator
(the engine's GPUs and Models). Each brings a `WatchSource` over its own client; the loop
itself does no I/O of its own, so it depends on no Kubernetes client library.
"""

from lc_kubewatch.reflector import (
    Backoff,
    Obj,
    ObjectSink,
    Reflector,
    WatchError,
    WatchGone,
    WatchSource,
    WatchStats,
)

__all__ = [
    "Backoff",
    "Obj",
    "ObjectSink",
    "Reflector",
    "WatchError",
    "WatchGone",
    "WatchSource",
    "WatchStats",
]
