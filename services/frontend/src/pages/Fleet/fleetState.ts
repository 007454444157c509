/**
 * The Fleet page's state, folded from `GET /fleet` and the `/fleet/stream` SSE messages:
 * the stream first sends the full view, then changes (one GPU upserted or removed).
 */
import type { Fleet, FleetSummary, Gpu } from "../../api/types";

export function summarise(gpus: readonly Gpu[]): FleetSummary {
  const s: FleetSummary = {
    total: gpus.length,
    healthy: 0,
    degraded: 0,
    unhealthy: 0,
    memoryTotalMiB: 0,
    memoryAvailableMiB: 0,
    byProduct: {},
    byNode: {},
  };
  for (const g of gpus) {
    const h = g.health.toLowerCase();
    if (h === "healthy") s.healthy++;
    else if (h === "degraded") s.degraded++;
    else s.unhealthy++;
    s.memoryTotalMiB += g.memoryTotalMiB;
    s.memoryAvailableMiB += g.memoryAvailableMiB;
    s.byProduct[g.product] = (s.byProduct[g.product] ?? 0) + 1;
    s.byNode[g.node] = (s.byNode[g.node] ?? 0) + 1;
  }
  return s;
}

function isGpu(v: unknown): v is Gpu {
  return v !== null && typeof v === "object" && typeof (v as Gpu).uuid === "string" && typeof (v as Gpu).node === "string";
}

function isFleet(v: unknown): v is Fleet {
  return v !== null && typeof v === "object" && Array.isArray((v as Fleet).gpus);
}

const REMOVAL = /delet|remov/i;

/** The fleet after one stream message; unknown messages leave it as it was. */
export function applyFleetMessage(fleet: Fleet | null, event: string, data: unknown): Fleet | null {
  if (isFleet(data)) {
    return { gpus: data.gpus, summary: data.summary ?? summarise(data.gpus) };
  }
  if (data === null || typeof data !== "object") return fleet;
  const o = data as Record<string, unknown>;
  const current = fleet?.gpus ?? [];
  const removed = REMOVAL.test(event) || REMOVAL.test(String(o.type ?? o.op ?? o.change ?? "")) || o.deleted === true || o.removed === true;
  const gpu = isGpu(o.gpu) ? o.gpu : isGpu(data) ? data : null;
  const uuid = gpu?.uuid ?? (typeof o.uuid === "string" ? o.uuid : null);
  if (!uuid) return fleet;
  let gpus: Gpu[];
  if (removed) gpus = current.filter((g) => g.uuid !== uuid);
  else if (gpu) {
    const i = current.findIndex((g) => g.uuid === uuid);
    gpus = i < 0 ? [...current, gpu] : current.map((g) => (g.uuid === uuid ? gpu : g));
  } else return fleet;
  return { gpus, summary: summarise(gpus) };
}

export interface NodeGroup {
  node: string;
  gpus: Gpu[];
}

export function groupByNode(gpus: readonly Gpu[]): NodeGroup[] {
  const map = new Map<string, Gpu[]>();
  for (const g of gpus) {
    const list = map.get(g.node) ?? [];
    list.push(g);
    map.set(g.node, list);
  }
  return [...map.entries()]
    .sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))
    .map(([node, list]) => ({ node, gpus: list.sort((a, b) => a.index - b.index) }));
}
