"""Which objects go with a deleted one: everything in a deleted namespace, and every
object whose ownerReferences name a deleted owner. Pure: the store removes what these
return (and, as each removal is a deletion too, asks again for its dependents).

Who calls it: `ObjectStore` when it removes an object.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from lc_clustersim.kubeapi.resources import ResourceCatalog, ResourceKey, ResourceType
from lc_clustersim.kubeapi.stored import StoredObject

Buckets = Mapping[ResourceKey, Mapping[tuple[str, str], StoredObject]]


def namespace_contents(
    catalog: ResourceCatalog, objects: Buckets, namespace: str
) -> Iterator[tuple[ResourceType, StoredObject]]:
    """Every namespaced object in `namespace`."""
    for rt in catalog:
        if not rt.namespaced:
            continue
        bucket = objects.get(rt.key, {})
        for stored in [o for (ns, _), o in bucket.items() if ns == namespace]:
            yield rt, stored


def dependents(
    catalog: ResourceCatalog, objects: Buckets, owner_uid: str | None
) -> Iterator[tuple[ResourceType, StoredObject]]:
    """Every object with an ownerReference to `owner_uid`."""
    if not owner_uid:
        return
    for rt in catalog:
        for stored in list(objects.get(rt.key, {}).values()):
            refs = stored.metadata.get("ownerReferences") or []
            if any(ref.get("uid") == owner_uid for ref in refs):
                yield rt, stored
